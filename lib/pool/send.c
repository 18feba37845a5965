/*
 * send.c: a stream of a dataset's snapshots (docs/stream-format.md).
 *
 * Objects of a raw stream, and of an unencrypted dataset, travel exactly as
 * stored, in post-order (references first), minus what the base snapshot
 * of an incremental already holds.  Sending needs no key for them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool/space.h"
#include "stream/stream.h"
#include "tree/tree.h"

/* ---------- payload helpers ---------- */

static int
put_snaprec(struct ss_buf *b, const char *rel, const struct ss_snap *s,
    uint64_t from)
{
	int r = 0;

	r |= ss_buf_put_str16(b, rel, strlen(rel));
	r |= ss_buf_put_u8(b, (uint8_t)s->kind);
	r |= ss_buf_put_u64(b, s->guid);
	r |= ss_buf_put_str16(b, s->name, strlen(s->name));
	r |= ss_buf_put_u64(b, (uint64_t)s->creation_ns);
	r |= ss_buf_put(b, s->root.b, SS_ID_LEN);
	r |= ss_buf_put_u64(b, s->prev_guid);
	r |= ss_buf_put(b, s->mac, SS_HASH_LEN);
	r |= ss_buf_put_u64(b, from);
	r |= ss_buf_put_u64(b, s->referenced);
	r |= ss_buf_put_u64(b, s->logical);
	r |= ss_buf_put_u64(b, s->nfiles);
	return r ? SS_ENOMEM : 0;
}

/* ---------- send ---------- */

struct sender {
	struct ss_pool *p;
	struct ss_packr *pr;
	struct ss_swriter *w;
	struct ss_idset *base;	/* reachable from the base snapshot */
	struct ss_idset *sent;
	struct ss_buf obj, rec;
	uint64_t objects, bytes;
	int raw;
};

/* read_refs(s, id, row, refs, &n): an object's stored bytes and refs. */
static int
read_obj(struct sender *s, const struct ss_id *id, struct ss_objhdr *h)
{
	struct ss_objrow row;
	int r;

	if ((r = ss_cat_obj_get(s->p->cat, id, &row)) == SS_ENOENT)
		return ss_err(SS_ECORRUPT, "an object of the snapshot is missing"
		    " from the pool");
	if (r != 0 || (r = ss_packr_read(s->pr, id, &row.loc, &s->obj)) != 0)
		return r;
	return ss_obj_parse(id, s->obj.p, s->obj.len, h);
}

/* A frame of the post-order walk: an object and its references. */
struct frame {
	struct ss_id id;
	uint8_t *refs;
	uint32_t n, next;
};

static int
push_frame(struct sender *s, struct frame **st, size_t *n, size_t *cap,
    const struct ss_id *id)
{
	struct ss_objhdr h;
	struct frame *f;
	int r;

	if (*n >= 1000000)
		return ss_err(SS_ECORRUPT, "object references nest too deeply"
		    " (a cycle?)");
	if (ss_grow(st, cap, *n, sizeof(**st)) != 0)
		return SS_ENOMEM;
	if ((r = read_obj(s, id, &h)) != 0)
		return r;
	f = &(*st)[(*n)++];
	memset(f, 0, sizeof(*f));
	f->id = *id;
	f->n = h.nrefs;
	if (h.nrefs && (f->refs = ss_malloc((size_t)h.nrefs * SS_ID_LEN)) == NULL)
		return SS_ENOMEM;
	if (h.nrefs)
		memcpy(f->refs, h.refs, (size_t)h.nrefs * SS_ID_LEN);
	return 0;
}

/* emit(s, id): one OBJECT record with the stored bytes of ${id}. */
static int
emit(struct sender *s, const struct ss_id *id)
{
	struct ss_objhdr h;
	int r;

	if ((r = read_obj(s, id, &h)) != 0)
		return r;
	ss_buf_reset(&s->rec);
	if (ss_buf_put(&s->rec, id->b, SS_ID_LEN) ||
	    ss_buf_put_u32(&s->rec, (uint32_t)s->obj.len) ||
	    ss_buf_put(&s->rec, s->obj.p, s->obj.len))
		return SS_ENOMEM;
	s->objects++;
	s->bytes += s->obj.len;
	return ss_sw_record(s->w, SS_REC_OBJECT, s->rec.p, s->rec.len);
}

/*
 * visit(s, id, mark_only, st, n, cap): a leaf (no references, known from
 * the index without reading it) is marked or emitted at once; an interior
 * object is pushed so that its children come first.
 */
static int
visit(struct sender *s, const struct ss_id *id, int mark_only,
    struct frame **st, size_t *n, size_t *cap)
{
	struct ss_idset *seen = mark_only ? s->base : s->sent;
	struct ss_objrow row;
	int r;

	if ((!mark_only && ss_idset_has(s->base, id->b)) ||
	    ss_idset_has(seen, id->b))
		return 0;
	if ((r = ss_cat_obj_get(s->p->cat, id, &row)) == SS_ENOENT)
		return ss_err(SS_ECORRUPT, "an object of the snapshot is missing"
		    " from the pool");
	if (r != 0)
		return r;
	if (row.nchild > 0)
		return push_frame(s, st, n, cap, id);
	if ((r = ss_idset_add(seen, id->b)) < 0)
		return r;
	return mark_only ? 0 : emit(s, id);
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

	r = visit(s, root, mark_only, &st, &n, &cap);
	while (r == 0 && n > 0) {
		struct frame *f = &st[n - 1];

		if (f->next < f->n) {
			struct ss_id c;

			memcpy(c.b, f->refs + (size_t)f->next++ * SS_ID_LEN,
			    SS_ID_LEN);
			r = visit(s, &c, mark_only, &st, &n, &cap);
			continue;
		}
		/* all children are out: now the object itself */
		struct ss_id id = f->id;

		free(f->refs);
		n--;
		if ((r = ss_idset_add(seen, id.b)) > 0)
			r = mark_only ? 0 : emit(s, &id);
	}
	for (size_t i = 0; i < n; i++)
		free(st[i].refs);
	free(st);
	return r < 0 ? r : 0;
}

/*
 * dataset_record(p, ds, rel, top, b): the DATASET record.  The wrapped key
 * travels with the top of the stream and with every dataset that is its
 * own encryption root; the others name their root's guid only.
 */
static int
dataset_record(struct ss_pool *p, const struct ss_ds *ds, const char *rel,
    int top, struct ss_buf *b)
{
	struct ss_buf key = SS_BUF_INIT;
	struct ss_ds root;
	int withkey = ds->encroot && (top || ds->encroot == ds->id), r = 0;

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
	r |= ss_buf_put_u32(b, 0);	/* no properties without -p/-R */
	if (r != 0)
		r = SS_ENOMEM;
out:
	ss_buf_free(&key);
	ss_ds_clear(&root);
	return r;
}

/*
 * send_dataset(s, o, ds, rel, top, upto, base): the DATASET record of
 * ${ds} and its snapshots: with ${base}, only ${upto} incrementally; in a
 * replication stream, every snapshot up to the one named like ${upto}.
 */
static int
send_dataset(struct sender *s, const struct ss_ds *ds, const char *rel,
    int top, const struct ss_snap *upto, const struct ss_snap *base,
    int replicate)
{
	struct ss_snap *v = NULL, one;
	size_t n = 0;
	uint64_t from = base ? base->guid : 0;
	int r;

	if ((r = dataset_record(s->p, ds, rel, top, &s->rec)) != 0 ||
	    (r = ss_sw_record(s->w, SS_REC_DATASET, s->rec.p, s->rec.len)))
		return r;
	if (!replicate) {
		v = &one;
		one = *upto;
		n = 1;
	} else if ((r = ss_cat_snap_list(s->p->cat, ds->id, SS_SNAP, &v,
	    &n)) != 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++) {
		if (v[i].createtxg > upto->createtxg)
			break;
		if (base && v[i].createtxg <= base->createtxg)
			continue;	/* -I: the receiver has these */
		if ((r = walk(s, &v[i].root, 0)) != 0)
			break;
		ss_buf_reset(&s->rec);
		if ((r = put_snaprec(&s->rec, rel, &v[i], from)) == 0)
			r = ss_sw_record(s->w, SS_REC_SNAPSHOT, s->rec.p,
			    s->rec.len);
		from = v[i].guid;
	}
	if (replicate)
		ss_snap_list_free(v, n);
	return r;
}

/* send_tree(s, o): a replication stream of o's dataset and descendants. */
static int
send_tree(struct sender *s, const struct ss_obj_ref *o)
{
	struct ss_ds *v = NULL;
	struct ss_snap upto;
	size_t n = 0, tl = strlen(o->ds.name);
	int r;

	if ((r = ss_cat_ds_list(s->p->cat, o->ds.name, &v, &n)) != 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++) {
		const char *rel = v[i].name + tl + (i ? 1 : 0);

		r = ss_cat_snap_get(s->p->cat, v[i].id, o->snap.name, SS_SNAP,
		    &upto);
		if (r == SS_ENOENT) {
			r = ss_err(SS_ENOENT, "'%s@%s' does not exist (take"
			    " the snapshot with snapshot -r)", v[i].name,
			    o->snap.name);
			break;
		}
		if (r == 0 && v[i].encroot && !s->raw)
			r = ss_err(SS_ENOTSUP, "'%s' is encrypted: use -w",
			    v[i].name);
		if (r == 0)
			r = send_dataset(s, &v[i], rel, i == 0, &upto, NULL, 1);
		ss_snap_clear(&upto);
	}
	ss_ds_list_free(v, n);
	return r;
}

int
ss_send(struct ss_pool *p, const char *name, const char *from, int flags,
    int fd, struct ss_send_stats *stats)
{
	struct ss_obj_ref o, base;
	struct sender s;
	struct ss_begin b;
	int r;

	memset(&s, 0, sizeof(s));
	memset(&base, 0, sizeof(base));
	s.p = p;
	s.raw = (flags & SS_SEND_RAW) != 0;
	if ((r = ss_resolve(p, name, &o)) != 0)
		return r;
	if (o.kind != SS_SNAP) {
		r = ss_err(SS_EINVAL, "'%s' is not a snapshot", name);
		goto out;
	}
	if (o.ds.encroot && !s.raw) {
		r = ss_err(SS_ENOTSUP, "sending an encrypted dataset without -w"
		    " (decrypted) is not implemented yet; use -w");
		goto out;
	}
	if ((flags & SS_SEND_INTERMEDIATE) && !from) {
		r = ss_err(SS_EINVAL, "-I needs an incremental source");
		goto out;
	}
	if (from && (flags & SS_SEND_REPLICATE)) {
		r = ss_err(SS_ENOTSUP, "incremental replication streams (-R"
		    " with -i or -I) are not implemented yet");
		goto out;
	}
	if (from && (r = ss_send_base(p, &o, from, &base)) != 0)
		goto out;
	s.pr = ss_pool_packr(p);
	s.base = ss_idset_new();
	s.sent = ss_idset_new();
	if (s.pr == NULL || s.base == NULL || s.sent == NULL) {
		r = SS_ENOMEM;
		goto out;
	}
	memset(&b, 0, sizeof(b));
	b.version = SS_STREAM_VERSION;
	b.flags = (s.raw ? SS_STREAMF_RAW : 0) |
	    (from ? SS_STREAMF_INCREMENTAL : 0) |
	    (flags & SS_SEND_REPLICATE ? SS_STREAMF_REPLICATION : 0);
	b.guid = ss_random_u64();
	snprintf(b.name, sizeof(b.name), "%s", o.ds.name);
	if (from && (r = walk(&s, &base.snap.root, 1)) != 0)
		goto out;
	if ((r = ss_sw_open(fd, &b, &s.w)) != 0)
		goto out;
	if (flags & SS_SEND_REPLICATE)
		r = send_tree(&s, &o);
	else
		r = send_dataset(&s, &o.ds, "", 1, &o.snap, from ? &base.snap :
		    NULL, (flags & SS_SEND_INTERMEDIATE) != 0);
	if (r == 0)
		r = ss_sw_end(s.w);
	if (stats) {
		stats->objects = s.objects;
		stats->objbytes = s.bytes;
		stats->bytes = s.w ? ss_sw_bytes(s.w) : 0;
	}
out:
	ss_sw_free(s.w);
	ss_idset_free(s.base);
	ss_idset_free(s.sent);
	ss_buf_free(&s.obj);
	ss_buf_free(&s.rec);
	ss_obj_ref_clear(&o);
	ss_obj_ref_clear(&base);
	return r;
}

/* ss_send_base(p, o, from, base): the -i snapshot ("@s" or "ds@s"). */
int
ss_send_base(struct ss_pool *p, const struct ss_obj_ref *o, const char *from,
    struct ss_obj_ref *base)
{
	char *full;
	int r;

	if (from[0] == '@')
		full = ss_asprintf("%s%s", o->ds.name, from);
	else
		full = ss_strdup(from);
	if (full == NULL)
		return SS_ENOMEM;
	r = ss_resolve(p, full, base);
	if (r == 0 && (base->kind != SS_SNAP || base->ds.id != o->ds.id))
		r = ss_err(SS_EINVAL, "incremental source '%s' must be an"
		    " earlier snapshot of '%s'", from, o->ds.name);
	else if (r == 0 && base->snap.createtxg >= o->snap.createtxg)
		r = ss_err(SS_EINVAL, "incremental source '%s' is not earlier"
		    " than '%s@%s'", from, o->ds.name, o->snap.name);
	free(full);
	return r;
}
