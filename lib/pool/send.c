/*
 * send.c: a stream of a dataset's snapshots (docs/stream-format.md).
 *
 * Objects travel in post-order (references first), minus what the base of
 * an incremental already holds.  In a raw stream, and for an unencrypted
 * dataset, they travel exactly as stored and sending needs no key.  A
 * non-raw stream of an encrypted dataset is decrypted: each object is
 * opened (authenticated) with the dataset's keys and sent unencrypted,
 * named by a keyed stream identifier instead of its content, so that the
 * sender never has to hash unchanged data again to send an incremental.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compress/compress.h"
#include "pool/space.h"
#include "stream/stream.h"
#include "tree/tree.h"

#define REC_OVERHEAD (SS_STREAM_RECHDR + SS_SUM_LEN)
#define PF_BYTES (16u << 20)	/* cold packs: bytes announced ahead */
#define PF_KIDS 512u		/* ... children looked up at a time */
#define PF_GAP (128u << 10)	/* ... unless this close after the last */

struct sender {
	struct ss_pool *p;
	const struct ss_send_opts *o;
	struct ss_packr *pr;
	struct ss_swriter *w;	/* NULL for a dry run (-n) */
	uint64_t pf_pack, pf_end;	/* the record prefetch looked at last */
	struct ss_idset *base;	/* reachable from the base snapshot */
	struct ss_idset *sent;
	struct ss_buf obj, rec;
	uint64_t objects, bytes, est;
	uint64_t skip;		/* send -t: objects the receiver holds */
	int resumed;		/* send -t */
	uint64_t bflags;	/* the stream's flags, RESUMED left out */
	int raw, dry;
	/* decrypted send of an encrypted dataset */
	int mapped;		/* the current dataset's objects go decrypted */
	int64_t keyroot;	/* encryption root whose keys are below */
	struct ss_keyset ks;
	uint8_t k_sid[SS_KEY_LEN];
	uint8_t rkey[SS_KEY_LEN];	/* the pool's resume-tag secret */
	struct ss_objctx *open, *plain;
	struct ss_buf pt, out;
	/* progress */
	const char *cur_ds, *cur_snap, *cur_from;
	char fromname[SS_NAME_MAX + 2];
};

/* ---------- records ---------- */

static int
record(struct sender *s, uint8_t type, const void *p, size_t n)
{
	s->est += REC_OVERHEAD + n;
	return s->w ? ss_sw_record(s->w, type, p, n) : 0;
}

static uint64_t
sent_bytes(const struct sender *s)
{
	return s->w ? ss_sw_bytes(s->w) : s->est;
}

static void
event(struct sender *s, int what, uint64_t bytes)
{
	struct ss_send_event ev;

	if (s->o->cb == NULL)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.what = what;
	ev.ds = s->cur_ds;
	ev.snap = s->cur_snap;
	ev.from = s->cur_from;
	ev.bytes = bytes;
	s->o->cb(s->o->arg, &ev);
}

static int
put_snaprec(struct ss_buf *b, const char *rel, const struct ss_snap *s,
    const struct ss_id *root, uint64_t from)
{
	int r = 0;

	ss_buf_reset(b);
	r |= ss_buf_put_str16(b, rel, strlen(rel));
	r |= ss_buf_put_u8(b, SS_SNAP);
	r |= ss_buf_put_u64(b, s->guid);
	r |= ss_buf_put_str16(b, s->name, strlen(s->name));
	r |= ss_buf_put_u64(b, (uint64_t)s->creation_ns);
	r |= ss_buf_put(b, root->b, SS_ID_LEN);
	r |= ss_buf_put_u64(b, s->prev_guid);
	r |= ss_buf_put(b, s->mac, SS_HASH_LEN);
	r |= ss_buf_put_u64(b, from);
	r |= ss_buf_put_u64(b, s->referenced);
	r |= ss_buf_put_u64(b, s->logical);
	r |= ss_buf_put_u64(b, s->nfiles);
	return r ? SS_ENOMEM : 0;
}

/* ---------- decrypted objects ---------- */

/* sid(s, id, out): the stream identifier of a stored identifier. */
static int
sid(void *arg, const uint8_t *id, struct ss_id *out)
{
	const struct sender *s = arg;

	return ss_hmac_sha256(s->k_sid, SS_KEY_LEN, id, SS_ID_LEN, out->b);
}

/* sid_key(ks, k_sid): the key of stream identifiers. */
static int
sid_key(const struct ss_keyset *ks, uint8_t k_sid[SS_KEY_LEN])
{
	static const char label[] = "snapseal v1 send-id";

	return ss_hmac_sha256(ks->k_id, SS_KEY_LEN, label, sizeof(label),
	    k_sid);
}

/*
 * resume_tag(key, flags, ds, from, to, dsname, snap, tag): what every
 * DATASET record carries so that "send -t" can tell a token made from one
 * of this pool's streams from one a server edited: the receiver writes the
 * token, and must not be able to change what is sent again (its flags,
 * which turn a raw send into a plaintext one or add properties, its
 * dataset, snapshot or base; OpenZFS issue 14153).  Names are covered as
 * well as guids, since a copy received within the pool keeps the guids of
 * its original.  ${key} is the sending pool's own secret, so raw sends,
 * which may run without a dataset key, are covered too.
 */
static int
resume_tag(const uint8_t key[SS_KEY_LEN], uint64_t flags, uint64_t ds,
    uint64_t from, uint64_t to, const char *dsname, const char *snap,
    uint8_t tag[SS_HASH_LEN])
{
	struct ss_buf b = SS_BUF_INIT;
	int r = 0;

	r |= ss_buf_put(&b, "resume", 6);
	r |= ss_buf_put_u64(&b, flags);
	r |= ss_buf_put_u64(&b, ds);
	r |= ss_buf_put_u64(&b, from);
	r |= ss_buf_put_u64(&b, to);
	r |= ss_buf_put_str16(&b, dsname, strlen(dsname));
	r |= ss_buf_put_str16(&b, snap, strlen(snap));
	r = r ? SS_ENOMEM : ss_hmac_sha256(key, SS_KEY_LEN, b.p, b.len, tag);
	ss_buf_free(&b);
	return r;
}

/* map_setup(s, ds): keys to open ${ds}'s objects, once per root. */
static int
map_setup(struct sender *s, const struct ss_ds *ds)
{
	int r;

	if (s->keyroot == ds->encroot)
		return 0;
	ss_keyset_wipe(&s->ks);
	ss_objctx_free(s->open);
	s->open = NULL;
	s->keyroot = 0;
	if ((r = ss_ds_keyset(s->p, ds, &s->ks)) != 0)
		return r;
	if ((r = sid_key(&s->ks, s->k_sid)) != 0)
		return r;
	if ((s->open = ss_objctx_new(s->ks.k_id, s->ks.k_obj, 0, 0)) == NULL)
		return SS_ENOMEM;
	s->keyroot = ds->encroot;
	return 0;
}

/*
 * decrypt(s, id, h): open the stored object in s->obj and build its
 * decrypted form, named by its stream identifier, into s->out.
 */
static int
decrypt(struct sender *s, const struct ss_id *id, struct ss_id *name)
{
	struct ss_id *refs = NULL;
	uint32_t nrefs = 0;
	uint8_t type;
	int r;

	if ((r = ss_obj_open(s->open, id, s->obj.p, s->obj.len, &type,
	    &s->pt)) != 0)
		return r;
	if ((r = ss_tree_remap(type, s->pt.p, s->pt.len, sid, s, &s->rec,
	    &refs, &nrefs)) == 0 && (r = sid(s, id->b, name)) == 0)
		r = ss_obj_seal(s->plain, name, type, s->rec.p, s->rec.len,
		    refs, nrefs, &s->out);
	free(refs);
	ss_buf_wipe(&s->pt);
	return r;
}

/* ---------- the object walk ---------- */

/*
 * read_obj(s, id, loc, h): the stored bytes of object ${id}, found at
 * ${loc} by the index, into s->obj, parsed.
 */
static int
read_obj(struct sender *s, const struct ss_id *id, const struct ss_loc *loc,
    struct ss_objhdr *h)
{
	int r;

	if ((r = ss_packr_read(s->pr, id, loc, &s->obj)) != 0)
		return r;
	return ss_obj_parse(id, s->obj.p, s->obj.len, h);
}

/* get_row(s, id, row): the index row of an object the walk needs. */
static int
get_row(struct sender *s, const struct ss_id *id, struct ss_objrow *row)
{
	int r;

	if ((r = ss_cat_obj_get(s->p->cat, id, row)) == SS_ENOENT)
		return ss_err(SS_ECORRUPT, "an object of the snapshot is missing"
		    " from the pool");
	return r;
}

/*
 * A frame of the post-order walk: an object and its references.  When the
 * packs are read from the disk, the rows of the next children are looked
 * up ahead and their records announced to the reader (prefetch).
 */
struct frame {
	struct ss_id id;
	struct ss_loc loc;	/* where it is stored, from the index */
	uint8_t *refs;
	uint32_t n, next;
	struct ss_objrow *rows;	/* NULL, or rows[i] of children looked up */
	uint32_t ahead;		/* children [next, ahead) were announced */
	uint64_t abytes;	/* ... their records' bytes */
	int ordered;		/* refs sorted by place, every row looked up */
};

static int
push_frame(struct sender *s, struct frame **st, size_t *n, size_t *cap,
    const struct ss_id *id, const struct ss_loc *loc)
{
	struct ss_objhdr h;
	struct frame *f;
	int r;

	if (*n >= 1000000)
		return ss_err(SS_ECORRUPT, "object references nest too deeply"
		    " (a cycle?)");
	if (ss_grow(st, cap, *n, sizeof(**st)) != 0)
		return SS_ENOMEM;
	if ((r = read_obj(s, id, loc, &h)) != 0)
		return r;
	f = &(*st)[(*n)++];
	memset(f, 0, sizeof(*f));
	f->id = *id;
	f->loc = *loc;
	f->n = h.nrefs;
	if (h.nrefs && (f->refs = ss_malloc((size_t)h.nrefs * SS_ID_LEN)) == NULL)
		return SS_ENOMEM;
	if (h.nrefs)
		memcpy(f->refs, h.refs, (size_t)h.nrefs * SS_ID_LEN);
	return 0;
}

/* cmp_place(a, b, f): children of ${f} by where they are stored. */
static int
cmp_place(const void *a, const void *b, void *arg)
{
	const struct frame *f = arg;
	uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
	const struct ss_loc *x = &f->rows[i].loc;
	const struct ss_loc *y = &f->rows[j].loc;

	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return memcmp(f->refs + (size_t)i * SS_ID_LEN,
	    f->refs + (size_t)j * SS_ID_LEN, SS_ID_LEN);
}

/*
 * order(s, f): look up every child of ${f} the walk will not skip, and
 * put the children in the order of their records in the packs.  The
 * stream's order is the post-order of the tree, but siblings may come in
 * any order, and the order of the references (by identifier, for a
 * directory) is random on the disk: in pack order, a send reads its packs
 * front to back, which the kernel's read-ahead serves, instead of
 * record by record in both directions.  Records never move while their
 * snapshot exists, so the order is the same when a cut send is resumed.
 * Children to skip, and those not found (visit reports them), keep an
 * empty row and come first.
 */
static int
order(struct sender *s, struct frame *f)
{
	uint32_t *ix;

	f->ordered = 1;
	if (f->rows == NULL &&
	    (f->rows = ss_calloc(f->n, sizeof(*f->rows))) == NULL)
		return SS_ENOMEM;
	for (uint32_t i = 0; i < f->n; i++) {
		struct ss_id c;

		memcpy(c.b, f->refs + (size_t)i * SS_ID_LEN, SS_ID_LEN);
		if (ss_idset_has(s->base, c.b) || ss_idset_has(s->sent, c.b))
			continue;
		if (ss_cat_obj_get(s->p->cat, &c, &f->rows[i]) != 0) {
			memset(&f->rows[i], 0, sizeof(f->rows[i]));
			ss_errclear();
		}
	}
	if (f->n < 2)
		return 0;
	if ((ix = ss_malloc((size_t)f->n * sizeof(*ix))) == NULL)
		return SS_ENOMEM;
	for (uint32_t i = 0; i < f->n; i++)
		ix[i] = i;
	qsort_r(ix, f->n, sizeof(*ix), cmp_place, f);
	/* child j becomes the old child ix[j]: in place, cycle by cycle */
	for (uint32_t i = 0; i < f->n; i++) {
		uint8_t ref[SS_ID_LEN];
		struct ss_objrow row;
		uint32_t j = i, k;

		if (ix[i] == i)
			continue;
		memcpy(ref, f->refs + (size_t)i * SS_ID_LEN, SS_ID_LEN);
		row = f->rows[i];
		while ((k = ix[j]) != i) {
			memcpy(f->refs + (size_t)j * SS_ID_LEN,
			    f->refs + (size_t)k * SS_ID_LEN, SS_ID_LEN);
			f->rows[j] = f->rows[k];
			ix[j] = j;
			j = k;
		}
		memcpy(f->refs + (size_t)j * SS_ID_LEN, ref, SS_ID_LEN);
		f->rows[j] = row;
		ix[j] = j;
	}
	free(ix);
	return 0;
}

/*
 * prefetch(s, f, mark_only): once reads wait for the disk, look up the
 * next children of ${f} (those the walk will not skip) and have the
 * reader start on their records, about PF_BYTES ahead of the walk, so
 * that the disk has work queued while the walk waits for one object.  A
 * failed lookup is left for visit to report.  In an ordered frame, a
 * record that closely follows the one before it in its pack is left to
 * the kernel's read-ahead, which reads it anyway, in large pages: filling
 * the page cache through posix_fadvise costs several times the system
 * time of the reads it saves (a full send of 1 GB, cold: 0.45 s of system
 * time announcing everything, 0.15 s announcing only the jumps).
 */
static int
prefetch(struct sender *s, struct frame *f, int mark_only)
{
	struct ss_idset *seen = mark_only ? s->base : s->sent;
	uint32_t k = 0;

	if (f->abytes >= PF_BYTES / 2 || f->ahead >= f->n ||
	    !ss_packr_cold(s->pr))
		return 0;
	if (f->rows == NULL &&
	    (f->rows = ss_calloc(f->n, sizeof(*f->rows))) == NULL)
		return SS_ENOMEM;
	if (f->ahead < f->next)
		f->ahead = f->next;
	for (; f->ahead < f->n && f->abytes < PF_BYTES && k < PF_KIDS; k++) {
		struct ss_objrow *row = &f->rows[f->ahead];
		struct ss_id c;

		memcpy(c.b, f->refs + (size_t)f->ahead++ * SS_ID_LEN,
		    SS_ID_LEN);
		if (f->ordered) {
			if (row->loc.len == 0)
				continue;
		} else if ((!mark_only && ss_idset_has(s->base, c.b)) ||
		    ss_idset_has(seen, c.b))
			continue;
		else if (ss_cat_obj_get(s->p->cat, &c, row) != 0) {
			memset(row, 0, sizeof(*row));
			ss_errclear();
			continue;
		}
		f->abytes += row->loc.len;
		if (f->ordered && row->loc.pack == s->pf_pack &&
		    row->loc.off >= s->pf_end &&
		    row->loc.off - s->pf_end <= PF_GAP) {
			s->pf_end = row->loc.off + SS_PACK_RECHDR +
			    row->loc.len;
			continue;
		}
		s->pf_pack = row->loc.pack;
		s->pf_end = row->loc.off + SS_PACK_RECHDR + row->loc.len;
		if (!mark_only || row->nchild > 0)
			ss_packr_willneed(s->pr, &row->loc);
	}
	return 0;
}

/* emit(s, id, loc): one OBJECT record for ${id}, stored at ${loc}. */
static int
emit(struct sender *s, const struct ss_id *id, const struct ss_loc *loc)
{
	struct ss_objhdr h;
	struct ss_id name = *id;
	const struct ss_buf *body = &s->obj;
	uint8_t head[SS_ID_LEN + 4];
	int r, fd = -1;

	s->objects++;
	if (s->skip > 0) {
		s->skip--;
		return 0;
	}
	if (s->dry) {
		s->bytes += loc->len;
		s->est += REC_OVERHEAD + SS_ID_LEN + 4 + loc->len;
		event(s, SS_SEV_PROGRESS, s->est);
		return 0;
	}
	if ((r = read_obj(s, id, loc, &h)) != 0)
		return r;
	if (s->mapped) {
		if ((r = decrypt(s, id, &name)) != 0)
			return r;
		body = &s->out;
	} else if ((r = ss_packr_fd(s->pr, loc->pack, &fd)) != 0)
		return r;
	/* the stored bytes as read, or straight from the pack (sendfile) */
	memcpy(head, name.b, SS_ID_LEN);
	ss_le32enc(head + SS_ID_LEN, (uint32_t)body->len);
	s->bytes += body->len;
	s->est += REC_OVERHEAD + sizeof(head) + body->len;
	if (s->w && (r = ss_sw_record2(s->w, SS_REC_OBJECT, head,
	    sizeof(head), body->p, body->len, fd, loc->off +
	    SS_PACK_RECHDR)) != 0)
		return r;
	event(s, SS_SEV_PROGRESS, sent_bytes(s));
	return r;
}

/*
 * visit(s, id, known, mark_only, st, n, cap): a leaf (no references, known
 * from the index without reading it) is marked or emitted at once; an
 * interior object is pushed so that its children come first.  ${known}
 * is its index row if prefetch looked it up, else NULL.
 */
static int
visit(struct sender *s, const struct ss_id *id, const struct ss_objrow *known,
    int mark_only, struct frame **st, size_t *n, size_t *cap)
{
	struct ss_idset *seen = mark_only ? s->base : s->sent;
	struct ss_objrow row;
	int r;

	if ((!mark_only && ss_idset_has(s->base, id->b)) ||
	    ss_idset_has(seen, id->b))
		return 0;
	if (known != NULL && known->loc.len != 0)
		row = *known;
	else if ((r = get_row(s, id, &row)) != 0)
		return r;
	if (row.nchild > 0)
		return push_frame(s, st, n, cap, id, &row.loc);
	if ((r = ss_idset_add(seen, id->b)) < 0)
		return r;
	return mark_only ? 0 : emit(s, id, &row.loc);
}

/*
 * walk(s, root, mark_only): post-order over the objects under ${root} that
 * are neither in s->base nor sent yet; with ${mark_only}, only collect
 * them into s->base (the base snapshot of an incremental).
 */
static int
walk(struct sender *s, const struct ss_id *root, int mark_only)
{
	struct ss_idset *seen = mark_only ? s->base : s->sent;
	struct frame *st = NULL;
	size_t n = 0, cap = 0;
	int r;

	r = visit(s, root, NULL, mark_only, &st, &n, &cap);
	while (r == 0 && n > 0) {
		struct frame *f = &st[n - 1];

		if (f->next < f->n) {
			struct ss_objrow *known = NULL;
			struct ss_id c;
			uint32_t i;

			if (!mark_only && !f->ordered &&
			    (r = order(s, f)) != 0)
				break;
			if ((r = prefetch(s, f, mark_only)) != 0)
				break;
			i = f->next++;
			memcpy(c.b, f->refs + (size_t)i * SS_ID_LEN, SS_ID_LEN);
			if (i < f->ahead)
				f->abytes -= f->rows[i].loc.len;
			if (f->ordered || i < f->ahead)
				known = &f->rows[i];
			/* ${known} is in st, which visit may move: copy it */
			struct ss_objrow row = known ? *known :
			    (struct ss_objrow){ .refs = 0 };

			r = visit(s, &c, known ? &row : NULL, mark_only, &st,
			    &n, &cap);
			continue;
		}
		/* all children are out: now the object itself */
		struct ss_id id = f->id;
		struct ss_loc loc = f->loc;

		free(f->refs);
		free(f->rows);
		n--;
		if ((r = ss_idset_add(seen, id.b)) > 0)
			r = mark_only ? 0 : emit(s, &id, &loc);
	}
	for (size_t i = 0; i < n; i++) {
		free(st[i].refs);
		free(st[i].rows);
	}
	free(st);
	return r < 0 ? r : 0;
}

/* mark_base(s, base): what the receiver of an incremental already holds. */
static int
mark_base(struct sender *s, const struct ss_snap *base)
{
	if (base->kind == SS_BOOKMARK)
		return ss_bookmark_ids(s->p, base, s->base);
	return walk(s, &base->root, 1);
}

/* ---------- datasets ---------- */

/*
 * put_props(p, ds, b): the properties a replication stream (or -p) carries:
 * those set on the dataset itself, locally or by an earlier receive.  Key
 * properties travel in the wrapped key, and keylocation stays behind
 * (the receiver prompts), as in zfs.
 */
static int
put_props(struct ss_pool *p, const struct ss_ds *ds, struct ss_buf *b)
{
	static const char *const fixed[] = { "mountpoint", "compression" };
	char **user = NULL, *val;
	size_t nuser = 0, cnt = 0, at;
	int r;

	if ((r = ss_cat_prop_names(p->cat, ds->id, &user, &nuser)) != 0)
		return r;
	at = b->len;
	r = ss_buf_put_u32(b, 0) ? SS_ENOMEM : 0;
	for (size_t i = 0; i < 2 + nuser && r == 0; i++) {
		const char *name = i < 2 ? fixed[i] : user[i - 2];
		int src = SS_SRC_LOCAL;

		r = ss_cat_prop_get(p->cat, ds->id, name, src, &val);
		if (r == SS_ENOENT) {
			src = SS_SRC_RECEIVED;
			r = ss_cat_prop_get(p->cat, ds->id, name, src, &val);
		}
		if (r == SS_ENOENT) {
			r = 0;
			continue;
		}
		if (r == 0 && (ss_buf_put_str16(b, name, strlen(name)) ||
		    ss_buf_put_str16(b, val, strlen(val)) ||
		    ss_buf_put_u8(b, (uint8_t)src)))
			r = SS_ENOMEM;
		free(val);
		cnt++;
	}
	for (size_t i = 0; i < nuser; i++)
		free(user[i]);
	free(user);
	if (r == 0) {
		uint32_t le = (uint32_t)cnt;

		for (int i = 0; i < 4; i++)
			b->p[at + (size_t)i] = (uint8_t)(le >> (8 * i));
	}
	return r;
}

/*
 * dataset_record(s, ds, rel, top, from, to, props): the DATASET record.  In a
 * raw stream the wrapped key travels with the top of the stream and with
 * every dataset that is its own encryption root; the others name their
 * root's guid only.
 */
static int
dataset_record(struct sender *s, const struct ss_ds *ds, const char *rel,
    int top, uint64_t from, const struct ss_snap *to, int props)
{
	struct ss_pool *p = s->p;
	struct ss_buf key = SS_BUF_INIT, *b = &s->rec;
	struct ss_ds root;
	uint8_t tag[SS_HASH_LEN];
	int withkey, r = 0;

	withkey = s->raw && ds->encroot && (top || ds->encroot == ds->id);
	memset(&root, 0, sizeof(root));
	if (ds->encroot && (r = ss_cat_ds_get_id(p->cat, ds->encroot, &root)))
		return r;
	if (withkey && (r = ss_cat_key_get(p->cat, ds->encroot, &key)))
		goto out;
	ss_buf_reset(b);
	r |= ss_buf_put_str16(b, rel, strlen(rel));
	r |= ss_buf_put_u64(b, ds->guid);
	r |= ss_buf_put_u64(b, ds->encroot ? ss_ds_key_owner(p, &root) : 0);
	r |= ss_buf_put_u8(b, withkey ? 1 : 0);
	if (withkey)
		r |= ss_buf_put(b, key.p, key.len);
	r |= ss_buf_put_u64(b, from);
	r |= ss_buf_put_u64(b, to->guid);
	r |= ss_buf_put_str16(b, to->name, strlen(to->name));
	if (r == 0)
		r = resume_tag(s->rkey, s->bflags, ds->guid, from, to->guid,
		    ds->name, to->name, tag);
	r |= ss_buf_put(b, tag, sizeof(tag));
	if (r != 0)
		r = SS_ENOMEM;
	else if (props)
		r = put_props(p, ds, b);
	else if (ss_buf_put_u32(b, 0))
		r = SS_ENOMEM;
	if (r == 0)
		r = record(s, SS_REC_DATASET, b->p, b->len);
out:
	ss_buf_free(&key);
	ss_ds_clear(&root);
	return r;
}

/* check_mac(s, ds, sn): a decrypted send trusts only authentic records. */
static int
check_mac(struct sender *s, const struct ss_ds *ds, const struct ss_snap *sn)
{
	uint8_t mac[SS_HASH_LEN];
	int r;

	if ((r = ss_snap_mac(&s->ks, ds, sn, mac)) != 0)
		return r;
	if (!ss_ct_eq(mac, sn->mac, SS_HASH_LEN))
		return ss_err(SS_EAUTH, "snapshot record of '%s@%s' failed"
		    " authentication: the pool was modified", ds->name,
		    sn->name);
	return 0;
}

/* send_snap(s, ds, rel, sn, from): the objects and record of one snapshot. */
static int
send_snap(struct sender *s, const struct ss_ds *ds, const char *rel,
    const struct ss_snap *sn, const struct ss_snap *from)
{
	struct ss_id root = sn->root;
	uint64_t start = sent_bytes(s);
	char *full;
	int r;

	if ((full = ss_asprintf("%s@%s", ds->name, sn->name)) == NULL)
		return SS_ENOMEM;
	s->cur_ds = ds->name;
	s->cur_snap = full;
	s->cur_from = NULL;
	if (from) {
		snprintf(s->fromname, sizeof(s->fromname), "%c%s",
		    from->kind == SS_BOOKMARK ? '#' : '@', from->name);
		s->cur_from = s->fromname;
	}
	event(s, SS_SEV_BEGIN, start);
	if (s->mapped && (r = check_mac(s, ds, sn)) != 0)
		goto out;
	if ((r = walk(s, &sn->root, 0)) != 0)
		goto out;
	if (s->mapped && (r = sid(s, sn->root.b, &root)) != 0)
		goto out;
	if ((r = put_snaprec(&s->rec, rel, sn, &root, from ? from->guid : 0)))
		goto out;
	if ((r = record(s, SS_REC_SNAPSHOT, s->rec.p, s->rec.len)) == 0)
		event(s, SS_SEV_SNAP, sent_bytes(s) - start);
out:
	s->cur_snap = NULL;
	free(full);
	return r;
}

static int
reset_sets(struct sender *s)
{
	ss_idset_free(s->base);
	ss_idset_free(s->sent);
	s->base = ss_idset_new();
	s->sent = ss_idset_new();
	return s->base && s->sent ? 0 : SS_ENOMEM;
}

/*
 * send_dataset(s, ds, rel, top, upto, base, all): the DATASET record of
 * ${ds} and its snapshots: from ${base} (or from nothing) up to ${upto};
 * only ${upto} unless ${all} (-I, or a replication stream).
 */
static int
send_dataset(struct sender *s, const struct ss_ds *ds, const char *rel,
    int top, const struct ss_snap *upto, const struct ss_snap *base,
    int all)
{
	struct ss_snap *v = NULL;
	const struct ss_snap *from = base;
	size_t n = 0;
	int r;

	s->mapped = !s->raw && ds->encroot != 0;
	if (s->mapped && (r = map_setup(s, ds)) != 0)
		return r;
	/*
	 * A receiver may map decrypted objects per dataset (an unencrypted
	 * destination): an object is then sent again for each dataset.
	 */
	if (s->mapped && s->objects && (r = reset_sets(s)) != 0)
		return r;
	if (base && (r = mark_base(s, base)) != 0)
		return r;
	if ((r = dataset_record(s, ds, rel, top, base ? base->guid : 0, upto,
	    (s->o->flags & (SS_SEND_PROPS | SS_SEND_REPLICATE)) != 0)) != 0)
		return r;
	if (!all)
		return send_snap(s, ds, rel, upto, base);
	if ((r = ss_cat_snap_list(s->p->cat, ds->id, SS_SNAP, &v, &n)) != 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++) {
		if (v[i].createtxg > upto->createtxg)
			break;
		if (base && v[i].createtxg <= base->createtxg)
			continue;	/* the receiver has these */
		r = send_snap(s, ds, rel, &v[i], from);
		from = &v[i];
	}
	ss_snap_list_free(v, n);
	return r;
}

/*
 * send_tree(s, o, base): a replication stream of o's dataset and its
 * descendants.  With a base, each dataset that holds a snapshot (or
 * bookmark) of the base's name is sent incrementally from it, the others
 * (created since) in full.
 */
static int
send_tree(struct sender *s, const struct ss_obj_ref *o,
    const struct ss_obj_ref *base)
{
	struct ss_ds *v = NULL;
	struct ss_snap upto, from;
	size_t n = 0, tl = strlen(o->ds.name);
	int all = !base || (s->o->flags & SS_SEND_INTERMEDIATE), r;

	if ((r = ss_cat_ds_list(s->p->cat, o->ds.name, &v, &n)) != 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++) {
		const char *rel = v[i].name + tl + (i ? 1 : 0);
		int have = 0;

		memset(&from, 0, sizeof(from));
		r = ss_cat_snap_get(s->p->cat, v[i].id, o->snap.name, SS_SNAP,
		    &upto);
		if (r == SS_ENOENT) {
			r = ss_err(SS_ENOENT, "'%s@%s' does not exist (take"
			    " the snapshot with snapshot -r)", v[i].name,
			    o->snap.name);
			break;
		}
		if (r == 0 && base) {
			r = ss_cat_snap_get(s->p->cat, v[i].id, base->snap.name,
			    base->kind, &from);
			have = r == 0 && from.createtxg < upto.createtxg;
			if (r == SS_ENOENT)
				r = 0;
		}
		if (r == 0)
			r = send_dataset(s, &v[i], rel, i == 0, &upto,
			    have ? &from : NULL, have ? all : 1);
		ss_snap_clear(&upto);
		ss_snap_clear(&from);
	}
	ss_ds_list_free(v, n);
	return r;
}

/* ---------- entry points ---------- */

/* ss_send_base(p, o, from, base): the -i source ("@s", "ds@s", "#b"...). */
int
ss_send_base(struct ss_pool *p, const struct ss_obj_ref *o, const char *from,
    struct ss_obj_ref *base)
{
	char *full;
	int r;

	if (from[0] == '@' || from[0] == '#')
		full = ss_asprintf("%s%s", o->ds.name, from);
	else
		full = ss_strdup(from);
	if (full == NULL)
		return SS_ENOMEM;
	r = ss_resolve(p, full, base);
	if (r == 0 && (base->kind == 0 || base->ds.id != o->ds.id))
		r = ss_err(SS_EINVAL, "incremental source '%s' must be an"
		    " earlier snapshot or bookmark of '%s'", from, o->ds.name);
	else if (r == 0 && base->snap.createtxg >= o->snap.createtxg)
		r = ss_err(SS_EINVAL, "incremental source '%s' is not earlier"
		    " than '%s@%s'", from, o->ds.name, o->snap.name);
	free(full);
	return r;
}

static int
send_open(struct sender *s, const struct ss_obj_ref *o, int fd)
{
	struct ss_begin b;

	memset(&b, 0, sizeof(b));
	b.version = SS_STREAM_VERSION;
	b.flags = (s->raw ? SS_STREAMF_RAW : 0) |
	    (s->o->from ? SS_STREAMF_INCREMENTAL : 0) |
	    (s->o->flags & SS_SEND_REPLICATE ? SS_STREAMF_REPLICATION : 0) |
	    (s->o->flags & (SS_SEND_PROPS | SS_SEND_REPLICATE) ?
	    SS_STREAMF_PROPERTIES : 0) |
	    (s->o->flags & SS_SEND_INTERMEDIATE ? SS_STREAMF_INTERMEDIATE : 0);
	s->bflags = b.flags;
	if (s->resumed)
		b.flags |= SS_STREAMF_RESUMED;
	b.guid = ss_random_u64();
	snprintf(b.name, sizeof(b.name), "%s", o->ds.name);
	s->est = REC_OVERHEAD + 46 + strlen(b.name);
	return s->dry ? 0 : ss_sw_open(fd, &b, &s->w);
}

static int
check_args(const struct ss_obj_ref *o, const struct ss_send_opts *opt,
    const char *name)
{
	if (o->kind != SS_SNAP)
		return ss_err(SS_EINVAL, "'%s' is not a snapshot", name);
	if ((opt->flags & SS_SEND_INTERMEDIATE) && !opt->from)
		return ss_err(SS_EINVAL, "-I needs an incremental source");
	if ((opt->flags & SS_SEND_INTERMEDIATE) && opt->from &&
	    strchr(opt->from, '#'))
		return ss_err(SS_EINVAL, "-I cannot start from a bookmark"
		    " (use -i)");
	return 0;
}

/* check_tag(rkey, tk): the token names a stream this pool sent, unedited. */
static int
check_tag(const uint8_t rkey[SS_KEY_LEN], const struct ss_token *tk)
{
	uint8_t tag[SS_HASH_LEN];
	int r;

	if ((r = resume_tag(rkey, tk->flags, tk->dsguid, tk->fromguid,
	    tk->toguid, tk->ds, tk->snap, tag)) == 0 && !ss_ct_eq(tag, tk->tag, SS_HASH_LEN))
		r = ss_err(SS_EAUTH, "the resume token was not made from a"
		    " stream of this pool, or it was modified");
	return r;
}

/*
 * from_token(p, tk, o, name, from): what "send -t" sends again: the same
 * dataset, snapshot and base (by guid, so a snapshot destroyed and taken
 * again under the same name is refused), with the same flags.
 */
static int
from_token(struct ss_pool *p, const uint8_t rkey[SS_KEY_LEN],
    const struct ss_token *tk, struct ss_send_opts *o, char **name,
    char **from)
{
	struct ss_obj_ref ref;
	struct ss_snap *v = NULL;
	size_t n = 0;
	int r;

	if ((*name = ss_asprintf("%s@%s", tk->ds, tk->snap)) == NULL)
		return SS_ENOMEM;
	if ((r = ss_resolve(p, *name, &ref)) != 0)
		return r;
	if (ref.kind != SS_SNAP || ref.ds.guid != tk->dsguid ||
	    ref.snap.guid != tk->toguid)
		r = ss_err(SS_EINVAL, "'%s' is not the snapshot the resume"
		    " token names (it was destroyed or replaced)", *name);
	if (r == 0 && tk->fromguid &&
	    (r = ss_cat_snap_list(p->cat, ref.ds.id, 0, &v, &n)) == 0) {
		r = ss_err(SS_ENOENT, "the incremental source of the resume"
		    " token no longer exists in '%s'", tk->ds);
		for (size_t i = 0; i < n; i++)
			if (v[i].guid == tk->fromguid) {
				*from = ss_asprintf("%s%c%s", tk->ds,
				    v[i].kind == SS_SNAP ? '@' : '#', v[i].name);
				r = *from ? 0 : SS_ENOMEM;
				break;
			}
		ss_snap_list_free(v, n);
	}
	if (r == 0 && (o->flags & SS_SEND_RAW) && !(tk->flags & SS_STREAMF_RAW))
		r = ss_err(SS_EINVAL, "-w given, but the resume token is not of"
		    " a raw stream");
	if (r == 0)
		r = check_tag(rkey, tk);
	ss_obj_ref_clear(&ref);
	if (tk->flags & SS_STREAMF_REPLICATION)
		r = ss_err(SS_ENOTSUP, "replication streams cannot be resumed");
	o->from = *from;
	o->flags &= SS_SEND_DRYRUN | SS_SEND_COMPRESS;
	o->flags |= (tk->flags & SS_STREAMF_RAW ? SS_SEND_RAW : 0) |
	    (tk->flags & SS_STREAMF_PROPERTIES ? SS_SEND_PROPS : 0) |
	    (tk->flags & SS_STREAMF_INTERMEDIATE ? SS_SEND_INTERMEDIATE : 0);
	return r;
}

int
ss_send(struct ss_pool *p, const char *name, const struct ss_send_opts *opt,
    int fd, struct ss_send_stats *stats)
{
	struct ss_send_opts eff = *opt;
	struct ss_obj_ref o, base;
	struct ss_token tk;
	struct sender s;
	char *tname = NULL, *tfrom = NULL;
	int r;

	memset(&s, 0, sizeof(s));
	memset(&base, 0, sizeof(base));
	memset(&o, 0, sizeof(o));
	if ((r = ss_pool_resume_key(p, s.rkey)) != 0)
		return r;
	/* one snapshot of the catalog, without a lock round per lookup */
	if ((r = ss_cat_begin_read(p->cat)) != 0) {
		ss_cleanse(s.rkey, sizeof(s.rkey));
		return r;
	}
	if (opt->token) {
		if ((r = ss_token_parse(opt->token, &tk)) != 0 ||
		    (r = from_token(p, s.rkey, &tk, &eff, &tname, &tfrom)))
			goto out;
		name = tname;
		s.skip = tk.objects;
		s.resumed = 1;
	}
	opt = &eff;
	s.p = p;
	s.o = opt;
	s.raw = (opt->flags & SS_SEND_RAW) != 0;
	s.dry = (opt->flags & SS_SEND_DRYRUN) != 0;
	if ((r = ss_resolve(p, name, &o)) != 0)
		goto out;
	if ((r = check_args(&o, opt, name)) != 0)
		goto out;
	if (opt->from && (r = ss_send_base(p, &o, opt->from, &base)) != 0)
		goto out;
	s.pr = ss_pool_packr(p);
	s.base = ss_idset_new();
	s.sent = ss_idset_new();
	s.plain = ss_objctx_new(NULL, NULL, opt->flags & SS_SEND_COMPRESS ?
	    SS_COMP_ZSTD : SS_COMP_OFF, 3);
	if (s.pr == NULL || s.base == NULL || s.sent == NULL || !s.plain) {
		r = SS_ENOMEM;
		goto out;
	}
	if ((r = send_open(&s, &o, fd)) != 0)
		goto out;
	if (opt->flags & SS_SEND_REPLICATE)
		r = send_tree(&s, &o, opt->from ? &base : NULL);
	else
		r = send_dataset(&s, &o.ds, "", 1, &o.snap, opt->from ?
		    &base.snap : NULL, (opt->flags & SS_SEND_INTERMEDIATE) != 0);
	if (r == 0 && s.skip)
		r = ss_err(SS_EINVAL, "the resume token counts more objects"
		    " than the stream holds");
	if (r == 0 && s.w)
		r = ss_sw_end(s.w);
	s.est += REC_OVERHEAD + 48;
	if (stats) {
		stats->objects = s.objects;
		stats->objbytes = s.bytes;
		stats->bytes = s.w ? ss_sw_bytes(s.w) : s.est;
	}
out:
	ss_cat_end_read(p->cat);
	ss_sw_free(s.w);
	ss_idset_free(s.base);
	ss_idset_free(s.sent);
	ss_buf_free(&s.obj);
	ss_buf_free(&s.rec);
	ss_buf_wipe(&s.pt);
	ss_buf_free(&s.out);
	ss_keyset_wipe(&s.ks);
	ss_cleanse(s.k_sid, sizeof(s.k_sid));
	ss_cleanse(s.rkey, sizeof(s.rkey));
	ss_objctx_free(s.open);
	ss_objctx_free(s.plain);
	ss_obj_ref_clear(&o);
	ss_obj_ref_clear(&base);
	free(tname);
	free(tfrom);
	return r;
}
