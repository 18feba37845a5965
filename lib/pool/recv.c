/*
 * recv.c: receive a stream (docs/stream-format.md).
 *
 * The receiver checks every object's checksum and identifier and that
 * everything a snapshot references is present before the one transaction
 * that makes it visible commits.  Streams of unencrypted data received
 * under an encrypted parent are sealed again under the parent's keys.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool/space.h"
#include "stream/stream.h"
#include "tree/tree.h"

/* One dataset of the stream and where it landed. */
struct rds {
	char *rel;		/* relative name in the stream ("" = top) */
	struct ss_ds ds;
	int created;
	int reseal;		/* plain stream sealed again under our keys */
	uint64_t keyowner;	/* root guid its wrapped key binds, or 0 */
};

/*
 * Re-sealing an unencrypted stream into an encrypted dataset (the
 * article's migration): objects are opened with the plain context (their
 * SHA-256 identifiers checked), their references rewritten through the
 * identifier map, and stored under the encryption root's keys.
 */
struct reseal {
	int64_t root;		/* encryption root the keys belong to */
	struct ss_keyset ks;
	struct ss_objctx *plain;
	struct ss_tree t;
	struct ss_buf pt, out;
};

struct receiver {
	struct ss_pool *p;
	struct ss_sreader *rd;
	struct ss_packw *pw;
	const char *target;
	struct rds *v;
	size_t n;
	int raw, replication;
	uint64_t objects, bytes, skipped;
	struct reseal *rs;
};

struct dsrec {
	char rel[256];
	uint64_t guid, rootguid;
	int haskey;
	const uint8_t *key;
	size_t keylen;
};

static int
parse_dataset(const uint8_t *p, size_t n, struct dsrec *d)
{
	const uint8_t *rel;
	struct ss_rd rd;
	size_t nl;

	memset(d, 0, sizeof(*d));
	ss_rd_init(&rd, p, n);
	rel = ss_rd_str16(&rd, &nl);
	d->guid = ss_rd_u64(&rd);
	d->rootguid = ss_rd_u64(&rd);
	d->haskey = ss_rd_u8(&rd);
	if (d->haskey) {
		d->keylen = 108;
		d->key = ss_rd_bytes(&rd, d->keylen);
	}
	if (ss_rd_u32(&rd) != 0 || rd.err || ss_rd_left(&rd) != 0 ||
	    d->haskey > 1 || (d->haskey && d->rootguid == 0) || nl > 200 ||
	    memchr(rel, '\0', nl))
		return ss_err(SS_ECORRUPT, "invalid dataset record in stream");
	memcpy(d->rel, rel, nl);
	d->rel[nl] = '\0';
	return 0;
}

static void
reseal_free(struct reseal *rs)
{
	if (rs == NULL)
		return;
	ss_keyset_wipe(&rs->ks);
	ss_objctx_free(rs->plain);
	ss_objctx_free(rs->t.oc);
	ss_tree_release(&rs->t);
	ss_buf_wipe(&rs->pt);
	ss_buf_wipe(&rs->out);
	free(rs);
}

/* reseal_setup(rc, e): the keys and contexts for dataset ${e}. */
static int
reseal_setup(struct receiver *rc, struct rds *e)
{
	struct reseal *rs;
	int r;

	if (rc->rs && rc->rs->root == e->ds.encroot)
		return 0;
	if (rc->rs)
		return ss_err(SS_ENOTSUP, "a stream re-sealed under two"
		    " encryption roots is not supported");
	if ((rs = ss_calloc(1, sizeof(*rs))) == NULL)
		return SS_ENOMEM;
	rc->rs = rs;
	rs->root = e->ds.encroot;
	if ((r = ss_ds_keyset(rc->p, &e->ds, &rs->ks)) != 0)
		return r == SS_ENOKEY ? ss_err(SS_ENOKEY, "inherited key must"
		    " be loaded (%s)", ss_errmsg()) : r;
	ss_tree_init(&rs->t);
	rs->t.cat = rc->p->cat;
	rs->t.pw = rc->pw;
	rs->plain = ss_objctx_new(NULL, NULL, 0, 0);
	rs->t.oc = ss_objctx_new(rs->ks.k_id, rs->ks.k_obj, 2, 3);
	if (rs->plain == NULL || rs->t.oc == NULL)
		return SS_ENOMEM;
	return 0;
}

/*
 * map_key(rs, src, out): the idmap key of a source identifier, keyed with
 * K_id, so that the catalog never holds plaintext hashes that would let
 * someone confirm a known file.
 */
static int
map_key(const struct reseal *rs, const uint8_t *src, struct ss_id *out)
{
	uint8_t buf[6 + SS_ID_LEN];

	memcpy(buf, "idmap:", 6);
	memcpy(buf + 6, src, SS_ID_LEN);
	return ss_hmac_sha256(rs->ks.k_id, SS_KEY_LEN, buf, sizeof(buf),
	    out->b);
}

/* map_id(rc, src, dst): a source identifier's local one. */
static int
map_id(struct receiver *rc, const uint8_t *src, struct ss_id *dst)
{
	struct ss_id k;
	int r;

	if ((r = map_key(rc->rs, src, &k)) != 0)
		return r;
	if (ss_cat_idmap_get(rc->p->cat, rc->rs->root, &k, dst) == 0)
		return 0;
	return ss_err(SS_ECORRUPT, "stream references an object it does not"
	    " carry");
}

/* reseal_file(rc, p, n, refs): rewrite a file map's chunk identifiers. */
static int
reseal_file(struct receiver *rc, const uint8_t *p, size_t n,
    struct ss_id **refs, uint32_t *nrefs)
{
	struct ss_buf *out = &rc->rs->out;
	struct ss_rd rd;
	uint32_t cnt;

	ss_rd_init(&rd, p, n);
	(void)ss_rd_u8(&rd);
	(void)ss_rd_u64(&rd);
	cnt = ss_rd_u32(&rd);
	if (rd.err || (uint64_t)cnt * (12 + SS_ID_LEN) != ss_rd_left(&rd))
		return ss_err(SS_ECORRUPT, "invalid file map in stream");
	if ((*refs = ss_calloc(cnt + 1, sizeof(**refs))) == NULL ||
	    ss_buf_put(out, p, n) != 0)
		return SS_ENOMEM;
	for (uint32_t i = 0; i < cnt; i++) {
		size_t off = 13 + (size_t)i * (12 + SS_ID_LEN) + 12;
		int r = map_id(rc, p + off, &(*refs)[i]);

		if (r != 0)
			return r;
		memcpy(out->p + off, (*refs)[i].b, SS_ID_LEN);
	}
	*nrefs = cnt;
	return 0;
}

/* reseal_dir(rc, p, n, refs): rewrite a directory's content identifiers. */
static int
reseal_dir(struct receiver *rc, const uint8_t *p, size_t n,
    struct ss_id **refs, uint32_t *nrefs)
{
	struct ss_buf *out = &rc->rs->out;
	struct ss_dir d;
	int r;

	if ((r = ss_dir_decode(p, n, &d)) != 0)
		return r;
	*nrefs = 0;
	if ((*refs = ss_calloc(d.n + 1, sizeof(**refs))) == NULL ||
	    ss_buf_put_u8(out, SS_DIR_VERSION) ||
	    ss_buf_put_u32(out, (uint32_t)d.n))
		r = SS_ENOMEM;
	for (size_t i = 0; i < d.n && r == 0; i++) {
		struct ss_ent e = d.ents[i];

		if (e.ckind != SS_CK_NONE) {
			if ((r = map_id(rc, e.cid.b, &e.cid)) != 0)
				break;
			(*refs)[(*nrefs)++] = e.cid;
		}
		r = ss_ent_encode(&e, out);
	}
	free(d.ents);
	return r;
}

/* reseal_object(rc, id, obj, len): open plain, map, store sealed. */
static int
reseal_object(struct receiver *rc, const struct ss_id *id,
    const uint8_t *obj, uint32_t len)
{
	struct reseal *rs = rc->rs;
	struct ss_id nid, key, *refs = NULL;
	uint32_t nrefs = 0;
	uint8_t type;
	int r;

	if ((r = map_key(rs, id->b, &key)) != 0)
		return r;
	if (ss_cat_idmap_get(rc->p->cat, rs->root, &key, &nid) == 0) {
		rc->skipped++;
		return 0;
	}
	if ((r = ss_obj_open(rs->plain, id, obj, len, &type, &rs->pt)) != 0)
		return r;
	ss_buf_reset(&rs->out);
	if (type == SS_OT_FILE)
		r = reseal_file(rc, rs->pt.p, rs->pt.len, &refs, &nrefs);
	else if (type == SS_OT_DIR)
		r = reseal_dir(rc, rs->pt.p, rs->pt.len, &refs, &nrefs);
	else
		r = ss_buf_put(&rs->out, rs->pt.p, rs->pt.len);
	if (r == 0)
		r = ss_tree_store(&rs->t, type, rs->out.p, rs->out.len, refs,
		    nrefs, &nid, NULL);
	if (r == 0)
		r = ss_cat_idmap_set(rc->p->cat, rs->root, &key, &nid);
	free(refs);
	return r;
}

static struct rds *
find_rel(struct receiver *rc, const char *rel)
{
	for (size_t i = 0; i < rc->n; i++)
		if (!strcmp(rc->v[i].rel, rel))
			return &rc->v[i];
	return NULL;
}

/* set_key(rc, e, d): make ${e} an encryption root with the stream's key. */
static int
set_key(struct receiver *rc, struct rds *e, const struct dsrec *d)
{
	struct ss_pool *p = rc->p;
	struct ss_wrapped w;
	char hex[32];
	int r;

	if ((r = ss_wrapped_decode(d->key, d->keylen, &w)) != 0 ||
	    (r = ss_cat_ds_set_encroot(p->cat, e->ds.id, e->ds.id)) != 0 ||
	    (r = ss_cat_key_set(p->cat, e->ds.id, d->key, d->keylen)) != 0)
		return r;
	e->ds.encroot = e->ds.id;
	e->keyowner = w.root_guid;
	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)w.root_guid);
	if ((r = ss_cat_prop_set(p->cat, e->ds.id, SS_PROP_KEYOWNER, SS_SRC_RECEIVED,
	    hex)) != 0)
		return r;
	return ss_cat_prop_set(p->cat, e->ds.id, "keylocation", SS_SRC_LOCAL,
	    "prompt");
}

/*
 * new_dataset(rc, e, d): create a received dataset.  The top of a raw
 * stream, and every dataset that was an encryption root at the source,
 * becomes an encryption root with the sender's wrapped key; the others
 * inherit from the dataset of the stream that holds their root's key.
 */
static int
new_dataset(struct receiver *rc, struct rds *e, const struct dsrec *d)
{
	struct ss_pool *p = rc->p;
	struct ss_ds parent;
	char *pname;
	const char *slash = strrchr(e->ds.name, '/');
	int64_t encroot = 0;
	int r;

	if (slash == NULL)
		return ss_err(SS_EEXIST, "destination '%s' exists", e->ds.name);
	if (d->rootguid && !d->haskey) {
		for (size_t i = 0; i < rc->n && !encroot; i++)
			if (rc->v[i].keyowner == d->rootguid)
				encroot = rc->v[i].ds.id;
		if (!encroot)
			return ss_err(SS_ECORRUPT, "stream dataset '%s' has no"
			    " encryption key in the stream", d->rel);
	}
	if ((pname = ss_asprintf("%.*s", (int)(slash - e->ds.name),
	    e->ds.name)) == NULL)
		return SS_ENOMEM;
	r = ss_cat_ds_get(p->cat, pname, &parent);
	free(pname);
	if (r == SS_ENOENT)
		return ss_err(SS_ENOENT, "parent of '%s' does not exist",
		    e->ds.name);
	if (r != 0)
		return r;
	if (d->rootguid == 0 && parent.encroot != 0 && !rc->raw) {
		/*
		 * A non-raw stream under an encrypted parent is sealed again
		 * with the parent's key (zfs receive -x encryption); in a raw
		 * stream an unencrypted dataset stays unencrypted.
		 */
		encroot = parent.encroot;
		e->reseal = 1;
	}
	e->ds.parent = parent.id;
	e->ds.guid = d->guid;
	e->ds.creation = ss_now_ns() / 1000000000;
	e->ds.kind = SS_DS_RECEIVED;
	e->ds.encroot = encroot;
	if ((r = ss_cat_next_txg(p->cat, &e->ds.createtxg)) == 0 &&
	    (r = ss_cat_ds_add(p->cat, &e->ds)) == 0) {
		e->created = 1;
		if (d->haskey)
			r = set_key(rc, e, d);
	}
	ss_ds_clear(&parent);
	if (r == 0 && e->reseal)
		r = reseal_setup(rc, e);
	return r;
}

/*
 * update_key(rc, e, d): a raw incremental carries the source's current
 * wrapped key.  The same master key (same keyguid) rewrapped by change-key
 * replaces ours, so the new user key works here too; another master key is
 * refused, as zfs does.
 */
static int
update_key(struct receiver *rc, struct rds *e, const struct dsrec *d)
{
	struct ss_wrapped in, cur;
	struct ss_buf b = SS_BUF_INIT;
	char hex[32];
	int r;

	if ((r = ss_wrapped_decode(d->key, d->keylen, &in)) != 0 ||
	    (r = ss_cat_key_get(rc->p->cat, e->ds.encroot, &b)) != 0 ||
	    (r = ss_wrapped_decode(b.p, b.len, &cur)) != 0)
		goto out;
	e->keyowner = in.root_guid;
	if (!ss_ct_eq(in.keyguid, cur.keyguid, sizeof(in.keyguid))) {
		r = ss_err(SS_EAUTH, "encryption key does not match existing"
		    " key");
		goto out;
	}
	/*
	 * Same master key.  A dataset inheriting its key (the child of a
	 * replicated tree sent on its own) keeps its root's wrapping.
	 */
	if (e->ds.encroot != e->ds.id ||
	    (b.len == d->keylen && memcmp(b.p, d->key, b.len) == 0))
		goto out;
	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)in.root_guid);
	if ((r = ss_cat_key_set(rc->p->cat, e->ds.id, d->key,
	    d->keylen)) == 0)
		r = ss_cat_prop_set(rc->p->cat, e->ds.id, SS_PROP_KEYOWNER,
		    SS_SRC_RECEIVED, hex);
out:
	ss_buf_free(&b);
	return r;
}

static int
on_dataset(struct receiver *rc, const uint8_t *p, size_t n)
{
	struct dsrec d;
	struct rds *e, *v;
	char *name;
	int r;

	if ((r = parse_dataset(p, n, &d)) != 0)
		return r;
	if ((rc->n == 0) != (d.rel[0] == '\0') || find_rel(rc, d.rel) ||
	    (d.rel[0] && !rc->replication))
		return ss_err(SS_ECORRUPT, "unexpected dataset record in"
		    " stream");
	if (d.haskey != 0 && !rc->raw)
		return ss_err(SS_ECORRUPT, "dataset record does not match the"
		    " stream's raw flag");
	if ((v = ss_realloc(rc->v, (rc->n + 1) * sizeof(*v))) == NULL)
		return SS_ENOMEM;
	rc->v = v;
	e = &v[rc->n];
	memset(e, 0, sizeof(*e));
	rc->n++;
	if ((e->rel = ss_strdup(d.rel)) == NULL ||
	    (name = ss_asprintf("%s%s%s", rc->target, d.rel[0] ? "/" : "",
	    d.rel)) == NULL)
		return SS_ENOMEM;
	if ((r = ss_name_check(name, SS_NAME_DS)) == 0)
		r = ss_cat_ds_get(rc->p->cat, name, &e->ds);
	if (r == SS_ENOENT) {
		e->ds.name = name;
		return new_dataset(rc, e, &d);
	}
	free(name);
	if (r != 0)
		return r;
	if (e->ds.encroot != 0 && d.rootguid == 0 && !rc->raw) {
		e->reseal = 1;	/* an incremental of a migrated dataset */
		return reseal_setup(rc, e);
	}
	if ((e->ds.encroot != 0) != (d.rootguid != 0))
		return ss_err(SS_EINVAL, "cannot perform raw receive on top of"
		    " an existing unencrypted dataset, or the reverse");
	if (e->ds.guid != d.guid)
		return ss_err(SS_EINVAL, "destination '%s' is another dataset"
		    " than the stream's", e->ds.name);
	/* incremental: the base is checked at the snapshot record */
	return d.haskey ? update_key(rc, e, &d) : 0;
}

/* on_object(rc, p, n): store one object after keyless checks. */
static int
on_object(struct receiver *rc, const uint8_t *p, size_t n)
{
	struct ss_objhdr h;
	struct ss_objrow row;
	struct ss_rd rd;
	struct ss_id id;
	const uint8_t *obj;
	uint32_t len;
	int r;

	if (rc->n == 0)
		return ss_err(SS_ECORRUPT, "object before the dataset record");
	ss_rd_init(&rd, p, n);
	if ((obj = ss_rd_bytes(&rd, SS_ID_LEN)) != NULL)
		memcpy(id.b, obj, SS_ID_LEN);
	len = ss_rd_u32(&rd);
	obj = ss_rd_bytes(&rd, len);
	if (rd.err || ss_rd_left(&rd) != 0 || obj == NULL)
		return ss_err(SS_ECORRUPT, "invalid object record in stream");
	if ((r = ss_obj_parse(&id, obj, len, &h)) != 0)
		return r;
	rc->objects++;
	rc->bytes += len;
	if (rc->v[rc->n - 1].reseal)
		return reseal_object(rc, &id, obj, len);
	if (((h.flags & SS_OBJF_ENCRYPTED) != 0) !=
	    (rc->v[rc->n - 1].ds.encroot != 0))
		return ss_err(SS_ECORRUPT, "stream object's encryption does"
		    " not match its dataset");
	if (ss_cat_obj_get(rc->p->cat, &id, NULL) == 0) {
		rc->skipped++;
		return 0;
	}
	for (uint32_t i = 0; i < h.nrefs; i++) {
		struct ss_id c;

		memcpy(c.b, h.refs + (size_t)i * SS_ID_LEN, SS_ID_LEN);
		if (ss_cat_obj_get(rc->p->cat, &c, NULL) != 0)
			return ss_err(SS_ECORRUPT, "stream references an object"
			    " it does not carry");
	}
	if ((r = ss_packw_add(rc->pw, &id, obj, len, &row.loc)) != 0)
		return r;
	row.refs = 0;
	row.nchild = h.nrefs;
	if ((r = ss_cat_obj_add(rc->p->cat, &id, &row)) != 0)
		return r;
	for (uint32_t i = 0; i < h.nrefs && r == 0; i++) {
		struct ss_id c;

		memcpy(c.b, h.refs + (size_t)i * SS_ID_LEN, SS_ID_LEN);
		r = ss_cat_obj_ref(rc->p->cat, &c, 1, NULL);
	}
	return r;
}

/* parse_snap(p, n, s, rel, &from): a SNAPSHOT record. */
static int
parse_snap(const uint8_t *p, size_t n, struct ss_snap *s, char rel[256],
    uint64_t *from)
{
	struct ss_rd rd;
	const uint8_t *name, *relp, *b;
	size_t nl, dl;

	memset(s, 0, sizeof(*s));
	ss_rd_init(&rd, p, n);
	relp = ss_rd_str16(&rd, &dl);
	s->kind = ss_rd_u8(&rd);
	s->guid = ss_rd_u64(&rd);
	name = ss_rd_str16(&rd, &nl);
	s->creation_ns = (int64_t)ss_rd_u64(&rd);
	if ((b = ss_rd_bytes(&rd, SS_ID_LEN)) != NULL)
		memcpy(s->root.b, b, SS_ID_LEN);
	s->prev_guid = ss_rd_u64(&rd);
	if ((b = ss_rd_bytes(&rd, SS_HASH_LEN)) != NULL)
		memcpy(s->mac, b, SS_HASH_LEN);
	*from = ss_rd_u64(&rd);
	s->referenced = ss_rd_u64(&rd);
	s->logical = ss_rd_u64(&rd);
	s->nfiles = ss_rd_u64(&rd);
	if (rd.err || ss_rd_left(&rd) != 0 || s->kind != SS_SNAP ||
	    nl == 0 || nl > 255 || dl > 200 || memchr(relp, '\0', dl))
		return ss_err(SS_ECORRUPT, "invalid snapshot record in stream");
	if ((s->name = ss_malloc(nl + 1)) == NULL)
		return SS_ENOMEM;
	memcpy(s->name, name, nl);
	s->name[nl] = '\0';
	memcpy(rel, relp, dl);
	rel[dl] = '\0';
	return 0;
}

static int
on_snapshot(struct receiver *rc, const uint8_t *p, size_t n)
{
	struct ss_snap s, newest, same;
	struct rds *e;
	char rel[256], *full;
	uint64_t from;
	int r, have_newest;

	if ((r = parse_snap(p, n, &s, rel, &from)) != 0)
		goto out;
	if ((e = find_rel(rc, rel)) == NULL) {
		r = ss_err(SS_ECORRUPT, "snapshot of a dataset the stream did"
		    " not announce");
		goto out;
	}
	if (e->reseal && (r = map_id(rc, s.root.b, &s.root)) != 0)
		goto out;
	full = ss_asprintf("%s@%s", e->ds.name, s.name);
	r = full ? ss_name_check(full, SS_NAME_SNAP) : SS_ENOMEM;
	free(full);
	if (r != 0)
		goto out;
	r = ss_ds_latest(rc->p, &e->ds, &newest);
	have_newest = r == 0;
	if (r != 0 && r != SS_ENOENT)
		goto out;
	if (from == 0 && have_newest) {
		r = ss_err(SS_EEXIST, "destination '%s' exists; must specify"
		    " -F to overwrite it", e->ds.name);
	} else if (from != 0 && (!have_newest || newest.guid != from)) {
		r = ss_err(SS_ENOENT, "most recent snapshot of %s does not"
		    " match incremental source", e->ds.name);
	} else if (ss_cat_snap_get(rc->p->cat, e->ds.id, s.name, SS_SNAP,
	    &same) == 0) {
		ss_snap_clear(&same);
		r = ss_err(SS_EEXIST, "destination already exists: %s@%s",
		    e->ds.name, s.name);
	} else if (ss_cat_obj_get(rc->p->cat, &s.root, NULL) != 0) {
		r = ss_err(SS_ECORRUPT, "stream references an object it does"
		    " not carry");
	} else {
		s.ds = e->ds.id;
		s.written = rc->bytes;
		/* sealed again here: the record MAC is ours to make */
		if (e->reseal && (r = ss_snap_mac(&rc->rs->ks, &e->ds, &s,
		    s.mac)) != 0)
			goto done;
		if ((r = ss_cat_next_txg(rc->p->cat, &s.createtxg)) == 0 &&
		    (r = ss_cat_snap_add(rc->p->cat, &s)) == 0)
			r = ss_cat_obj_ref(rc->p->cat, &s.root, 1, NULL);
	}
done:
	if (have_newest)
		ss_snap_clear(&newest);
out:
	ss_snap_clear(&s);
	return r;
}

static int
receive_records(struct receiver *rc)
{
	const uint8_t *p;
	size_t n;
	uint8_t type;
	int r, snaps = 0;

	for (;;) {
		if ((r = ss_sr_next(rc->rd, &type, &p, &n)) != 0)
			return r;
		switch (type) {
		case SS_REC_DATASET:
			r = on_dataset(rc, p, n);
			break;
		case SS_REC_OBJECT:
			r = on_object(rc, p, n);
			break;
		case SS_REC_SNAPSHOT:
			r = on_snapshot(rc, p, n);
			snaps++;
			break;
		case SS_REC_END:
			return snaps ? 0 : ss_err(SS_ECORRUPT, "stream holds no"
			    " snapshot");
		default:
			r = ss_err(SS_ECORRUPT, "unexpected record type %u",
			    type);
		}
		if (r != 0)
			return r;
	}
}

int
ss_receive(struct ss_pool *p, const char *target, int fd,
    struct ss_recv_stats *stats)
{
	struct receiver rc;
	struct ss_begin b;
	int r;

	memset(&rc, 0, sizeof(rc));
	rc.p = p;
	rc.target = target;
	if ((r = ss_name_check(target, SS_NAME_DS)) != 0)
		return r;
	if ((r = ss_sr_open(fd, &rc.rd, &b)) != 0)
		return r;
	rc.raw = (b.flags & SS_STREAMF_RAW) != 0;
	rc.replication = (b.flags & SS_STREAMF_REPLICATION) != 0;
	ss_gc_packs(p);
	if ((r = ss_packw_open(p->dir, &rc.pw)) != 0 ||
	    (r = ss_cat_begin(p->cat)) != 0)
		goto out;
	r = receive_records(&rc);
	if (r == 0)
		r = ss_packw_flush(rc.pw);
	if (r == 0)
		r = ss_cat_commit(p->cat);
	if (r != 0)
		ss_cat_rollback(p->cat);
	if (stats) {
		stats->objects = rc.objects;
		stats->skipped = rc.skipped;
		stats->bytes = ss_sr_bytes(rc.rd);
	}
out:
	ss_packw_free(rc.pw);
	if (r != 0)
		ss_gc_packs(p);
	ss_sr_free(rc.rd);
	reseal_free(rc.rs);
	for (size_t i = 0; i < rc.n; i++) {
		free(rc.v[i].rel);
		ss_ds_clear(&rc.v[i].ds);
	}
	free(rc.v);
	return r;
}
