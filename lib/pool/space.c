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
 * Dry runs (destroy -n, USED) do the same inside a savepoint and roll it
 * back, so the figure is exactly what a real destroy would free.
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

void
ss_freelist_free(struct ss_freelist *f)
{
	free(f->v);
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
		if ((r = ss_cat_obj_ref(p->cat, &id, -1, &now)) != 0)
			break;
		if (now > 0)
			continue;
		if ((r = ss_cat_obj_get(p->cat, &id, &row)) != 0)
			break;
		if (row.nchild > 0 && (r = push_children(p, &id, &row, &buf,
		    &st, &n, &cap)) != 0)
			break;
		if ((r = ss_cat_obj_del(p->cat, &id)) != 0)
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
