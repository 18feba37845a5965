/*
 * space.c: releasing objects and reclaiming their space.
 *
 * Reference counts: an object's count is the number of stored objects that
 * reference it plus the number of snapshots whose root it is.  Releasing a
 * root decrements it; an object reaching zero is removed from the index and
 * releases its own references, read from its visible header (no key
 * needed).  The freed byte ranges are punched out of the packs after the
 * catalog transaction commits, and packs left with no live object are
 * deleted.  A crash between the two leaves unreferenced bytes that
 * ss_pool_gc() finds by comparing the packs with the index.
 *
 * Dry runs (destroy -n, USED) do the same inside a savepoint that is rolled
 * back, but count the references they drop in memory (struct ss_refmap),
 * so that the index is only read: the figure is exactly what a real
 * destroy would free, without an index write per object.
 */
#include <stdlib.h>
#include <string.h>

#include "pool/space.h"

int
ss_freelist_add(struct ss_freelist *f, uint64_t pack, uint64_t off,
    uint32_t objlen)
{
	if (ss_grow(&f->v, &f->cap, f->n, sizeof(*f->v)) != 0)
		return SS_ENOMEM;
	f->v[f->n].pack = pack;
	f->v[f->n].off = off;
	f->v[f->n].len = objlen;
	f->n++;
	f->bytes += objlen;
	return 0;
}

/* ---------- a dry run's reference counts ---------- */

/* One object a dry run dropped references to: its row, the count left. */
struct refent {
	struct ss_id id;
	struct ss_objrow row;	/* row.refs: the references left */
	uint64_t refs;		/* ... and the count in the index */
	int used;
};

/*
 * Open addressing on the ID's first bytes (IDs are uniform).  Past
 * DRY_SLOTS (about 40 MB of table), or without memory, the counts so far
 * are written into the savepoint and the dry run goes on there.  The
 * tests lower the limit with SNAPSEAL_DRY_SLOTS (a power of two, 8 or
 * more) to take that path on a small pool.
 */
#define DRY_SLOTS (1u << 19)
#define DRY_SLOTS_MIN 8u

struct ss_refmap {
	struct refent *v;
	size_t cap, n;		/* cap: a power of two, at most half full */
	size_t max;		/* the largest cap */
};

static size_t
ref_slot(const struct ss_refmap *m, const struct ss_id *id)
{
	uint64_t h;
	size_t i;

	memcpy(&h, id->b, sizeof(h));
	for (i = (size_t)h & (m->cap - 1); m->v[i].used &&
	    memcmp(m->v[i].id.b, id->b, SS_ID_LEN) != 0;
	    i = (i + 1) & (m->cap - 1))
		;
	return i;
}

static int
ref_grow(struct ss_refmap *m)
{
	struct ss_refmap g = { NULL, m->cap ? 2 * m->cap :
	    m->max < 1024 ? m->max : 1024, m->n, m->max };

	if ((g.v = ss_calloc(g.cap, sizeof(*g.v))) == NULL)
		return SS_ENOMEM;
	for (size_t i = 0; i < m->cap; i++)
		if (m->v[i].used)
			g.v[ref_slot(&g, &m->v[i].id)] = m->v[i];
	free(m->v);
	*m = g;
	return 0;
}

static void
ref_free(struct ss_refmap *m)
{
	if (m != NULL)
		free(m->v);
	free(m);
}

void
ss_freelist_dry(struct ss_freelist *f)
{
	const char *e = getenv("SNAPSEAL_DRY_SLOTS");
	unsigned long v = e ? strtoul(e, NULL, 10) : 0;

	if ((f->dry = ss_calloc(1, sizeof(*f->dry))) == NULL) {
		ss_errclear();	/* the index's way, in the savepoint */
		return;
	}
	f->dry->max = DRY_SLOTS;
	if (v >= DRY_SLOTS_MIN && v < DRY_SLOTS && (v & (v - 1)) == 0)
		f->dry->max = v;
	if (ref_grow(f->dry) != 0) {
		ref_free(f->dry);
		f->dry = NULL;
		ss_errclear();
	}
}

/*
 * dry_spill(p, f): write the counts of ${f}'s dry run into the index (in
 * the savepoint, which is rolled back) and go on there: releases from
 * now on update the index as a destroy would.
 */
static int
dry_spill(struct ss_pool *p, struct ss_freelist *f)
{
	struct ss_refmap *m = f->dry;
	int r = 0;

	for (size_t i = 0; i < m->cap && r == 0; i++) {
		struct refent *e = &m->v[i];

		if (!e->used || e->row.refs == e->refs)
			continue;
		r = ss_cat_obj_ref(p->cat, &e->id,
		    -(int64_t)(e->refs - e->row.refs), NULL);
		if (r == 0 && e->row.refs == 0)
			r = ss_cat_obj_del(p->cat, &e->id);
	}
	ref_free(m);
	f->dry = NULL;
	return r;
}

/* dry_room(p, f): room in the table for one more object, or spill it. */
static int
dry_room(struct ss_pool *p, struct ss_freelist *f)
{
	struct ss_refmap *m = f->dry;

	if (2 * (m->n + 1) <= m->cap)
		return 0;
	if (2 * m->cap <= m->max && ref_grow(m) == 0)
		return 0;
	ss_errclear();
	return dry_spill(p, f);
}

/*
 * dry_drop(p, m, id, row, &now): ss_cat_obj_ref(id, -1) in memory: the
 * count left, and the object's row; the same errors.  There is room.
 */
static int
dry_drop(struct ss_pool *p, struct ss_refmap *m, const struct ss_id *id,
    struct ss_objrow *row, uint64_t *now)
{
	struct refent *e;
	int r;

	e = &m->v[ref_slot(m, id)];
	if (!e->used) {
		r = ss_cat_obj_get(p->cat, id, &e->row);
		if (r == SS_ENOENT)
			return ss_err(SS_ECORRUPT, "catalog: referenced object"
			    " missing from the index");
		if (r != 0)
			return r;
		e->id = *id;
		e->refs = e->row.refs;
		e->used = 1;
		m->n++;
	}
	if (e->row.refs == 0)
		return ss_err(SS_ECORRUPT, "catalog: negative reference count");
	e->row.refs--;
	*now = e->row.refs;
	*row = e->row;
	return 0;
}

void
ss_freelist_free(struct ss_freelist *f)
{
	free(f->v);
	ref_free(f->dry);
	memset(f, 0, sizeof(*f));
}

/* push(stack, n, cap, id) */
static int
push(struct ss_id **st, size_t *n, size_t *cap, const struct ss_id *id)
{
	if (ss_grow(st, cap, *n, sizeof(**st)) != 0)
		return SS_ENOMEM;
	(*st)[(*n)++] = *id;
	return 0;
}

/* children(p, id, row, stack...): push the references of a dead object. */
static int
push_children(struct ss_pool *p, const struct ss_id *id,
    const struct ss_objrow *row, struct ss_buf *buf, struct ss_id **st,
    size_t *n, size_t *cap)
{
	struct ss_packr *pr = ss_pool_packr(p);
	struct ss_objhdr h;
	char hex[2 * SS_ID_LEN + 1];
	int r;

	if (pr == NULL)
		return SS_ENOMEM;
	if ((r = ss_packr_read(pr, id, &row->loc, buf)) == 0)
		r = ss_obj_parse(id, buf->p, buf->len, &h);
	if (r != 0) {
		ss_id_hex(id, hex);
		ss_pool_warn(p, "object %.16s is damaged (%s); the objects it"
		    " references keep their space (pool scrub lists the"
		    " damage)", hex, ss_errmsg());
		return 0;
	}
	for (uint32_t i = 0; i < h.nrefs; i++) {
		struct ss_id c;

		memcpy(c.b, h.refs + (size_t)i * SS_ID_LEN, SS_ID_LEN);
		if ((r = push(st, n, cap, &c)) != 0)
			return r;
	}
	return 0;
}

int
ss_release(struct ss_pool *p, const struct ss_id *root, struct ss_freelist *f)
{
	struct ss_id *st = NULL, id;
	struct ss_buf buf = SS_BUF_INIT;
	struct ss_objrow row;
	size_t n = 0, cap = 0;
	uint64_t now;
	int r;

	if ((r = push(&st, &n, &cap, root)) != 0)
		return r;
	while (n > 0 && r == 0) {
		id = st[--n];
		if (f->dry != NULL && (r = dry_room(p, f)) != 0)
			break;
		if (f->dry != NULL) {
			if ((r = dry_drop(p, f->dry, &id, &row, &now)) != 0)
				break;
		} else if ((r = ss_cat_obj_ref(p->cat, &id, -1, &now)) != 0)
			break;
		if (now > 0)
			continue;
		if (f->dry == NULL && (r = ss_cat_obj_get(p->cat, &id,
		    &row)) != 0)
			break;
		if (row.nchild > 0 && (r = push_children(p, &id, &row, &buf,
		    &st, &n, &cap)) != 0)
			break;
		if (f->dry == NULL && (r = ss_cat_obj_del(p->cat, &id)) != 0)
			break;
		r = ss_freelist_add(f, row.loc.pack, row.loc.off, row.loc.len);
	}
	free(st);
	ss_buf_free(&buf);
	return r;
}

static int
cmp_pack(const void *a, const void *b)
{
	const struct ss_freed *x = a, *y = b;

	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

void
ss_reclaim(struct ss_pool *p, struct ss_freelist *f)
{
	if (f->n > 1)
		qsort(f->v, f->n, sizeof(*f->v), cmp_pack);
	for (size_t i = 0; i < f->n; i++) {
		ss_crashpoint("destroy-punch");
		if (ss_pack_punch(p->dir, f->v[i].pack, f->v[i].off,
		    f->v[i].len) != 0)
			ss_pool_warn(p, "cannot release space: %s", ss_errmsg());
	}
	ss_gc_packs(p);
	ss_errclear();
}

/*
 * The packs table says which packs hold nothing indexed; deleting a pack
 * is the one step that cannot be undone, so a scan of the whole index
 * must agree first (and repairs the table if it does not).
 */
void
ss_gc_packs(struct ss_pool *p)
{
	uint64_t *packs = NULL, live, wrong = 0;
	size_t n = 0, k = 0;
	char *saved = ss_strdup(ss_errmsg());

	if (!p->writable || ss_pack_list(p->dir, &packs, &n) != 0)
		n = 0;
	for (size_t i = 0; i < n; i++)
		if (ss_cat_pack_live(p->cat, packs[i], &live) == 0 && live == 0)
			packs[k++] = packs[i];
	if (k > 0 && ss_cat_pack_recount(p->cat, &wrong) != 0) {
		ss_pool_warn(p, "cannot check which packs are unused: %s",
		    ss_errmsg());
		k = 0;
	}
	if (wrong > 0)
		ss_pool_warn(p, "the catalog miscounted the objects of %llu"
		    " pack(s); counted again", (unsigned long long)wrong);
	for (size_t i = 0; i < k; i++)
		if (ss_cat_pack_live(p->cat, packs[i], &live) == 0 &&
		    live == 0 && ss_pack_remove(p->dir, packs[i]) != 0)
			ss_pool_warn(p, "cannot remove an unused pack: %s",
			    ss_errmsg());
	free(packs);
	ss_errclear();
	if (saved && *saved)
		ss_err(0, "%s", saved);	/* keep the caller's error detail */
	free(saved);
}
