/*
 * recv.c: receive a stream (docs/stream-format.md).
 *
 * The receiver checks every object's checksum and identifier and that
 * everything a snapshot references is present before the one transaction
 * that makes it visible commits.  Objects of raw streams, and of
 * unencrypted datasets received as unencrypted, are stored as they came.
 * The others are "remapped": opened, their references rewritten through a
 * persistent identifier map, and stored under this pool's identifiers:
 * an unencrypted stream received under an encrypted parent (the article's
 * migration, sealed again under the parent's keys) and a decrypted stream
 * of an encrypted dataset (named by stream identifiers, not by content).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compress/compress.h"
#include "pool/space.h"
#include "stream/stream.h"
#include "tree/tree.h"

#define MAX_PROPS 1024

/*
 * A remapping context: one per identifier domain, that is per encryption
 * root for encrypted destinations and per dataset for unencrypted ones.
 */
struct remap {
	int64_t domain;		/* idmap key: encryption root or dataset id */
	int enc;		/* destination is encrypted */
	struct ss_keyset ks;
	struct ss_objctx *plain;
	struct ss_tree t;
	struct ss_buf pt, out;
};

/* One dataset of the stream and where it landed. */
struct rds {
	char *rel;		/* relative name in the stream ("" = top) */
	struct ss_ds ds;
	struct remap *rm;	/* objects are remapped, NULL if stored as is */
	int named;		/* stream identifiers are names, not hashes */
	int created;		/* this receive created the dataset */
	uint64_t keyowner;	/* root guid its wrapped key binds, or 0 */
};

/* A snapshot this receive added (undone into a hold by a saved state). */
struct added {
	int64_t id;
	struct ss_id root;
};

struct receiver {
	struct ss_pool *p;
	const struct ss_recv_opts *o;
	struct ss_sreader *rd;
	struct ss_packw *pw;
	const char *target;
	struct rds *v;
	size_t n;
	struct remap **rm;
	size_t nrm, caprm;
	struct ss_freelist freed;	/* snapshots -F rolled back */
	int raw, replication, props;
	uint64_t objects, bytes, skipped;
	/* receive -s and resumed streams */
	struct ss_begin begin;
	struct ss_token tk;	/* what a saved state would say */
	struct ss_resume prev;	/* the state a resumed stream continues */
	int resuming, cut;
	struct ss_id *stored;	/* objects this receive stored */
	size_t nstored, capstored;
	struct added *added;
	size_t nadded, capadded;
};

struct prop {
	const uint8_t *name, *value;
	size_t nl, vl;
};

struct dsrec {
	char rel[256];
	char to[256];		/* the snapshot this dataset's part ends at */
	uint64_t guid, rootguid, from, toguid;
	uint8_t tag[SS_HASH_LEN];	/* the sending pool's resume tag */
	int haskey;
	const uint8_t *key;
	size_t keylen;
	struct prop *props;
	uint32_t nprops;
};

/* parse_props(rd, d): 0, 1 if the list is invalid, or SS_ENOMEM. */
static int
parse_props(struct ss_rd *rd, struct dsrec *d)
{
	d->nprops = ss_rd_u32(rd);
	if (rd->err || d->nprops > MAX_PROPS)
		return 1;
	if (d->nprops && (d->props = ss_calloc(d->nprops,
	    sizeof(*d->props))) == NULL)
		return SS_ENOMEM;
	for (uint32_t i = 0; i < d->nprops; i++) {
		struct prop *q = &d->props[i];
		uint8_t src;

		q->name = ss_rd_str16(rd, &q->nl);
		q->value = ss_rd_str16(rd, &q->vl);
		src = ss_rd_u8(rd);
		if (rd->err || q->nl == 0 || q->nl > 255 || q->vl > 8191 ||
		    memchr(q->name, '\0', q->nl) ||
		    memchr(q->value, '\0', q->vl) || src < SS_SRC_LOCAL ||
		    src > SS_SRC_RECEIVED)
			return 1;
	}
	return 0;
}

static int
parse_dataset(const uint8_t *p, size_t n, struct dsrec *d)
{
	const uint8_t *rel, *to, *tag;
	struct ss_rd rd;
	size_t nl, tl;
	int r;

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
	d->from = ss_rd_u64(&rd);
	d->toguid = ss_rd_u64(&rd);
	to = ss_rd_str16(&rd, &tl);
	if ((tag = ss_rd_bytes(&rd, SS_HASH_LEN)) != NULL)
		memcpy(d->tag, tag, SS_HASH_LEN);
	if ((r = parse_props(&rd, d)) < 0)
		return r;
	if (r != 0 || rd.err || ss_rd_left(&rd) != 0 || d->haskey > 1 ||
	    (d->haskey && d->rootguid == 0) || d->guid == 0 || nl > 200 ||
	    memchr(rel, '\0', nl) || tl == 0 || tl > 255 ||
	    memchr(to, '\0', tl))
		return ss_err(SS_ECORRUPT, "invalid dataset record in stream");
	memcpy(d->rel, rel, nl);
	d->rel[nl] = '\0';
	memcpy(d->to, to, tl);
	d->to[tl] = '\0';
	return 0;
}

/* ---------- remapping ---------- */

static void
remap_free(struct remap *rm)
{
	if (rm == NULL)
		return;
	ss_keyset_wipe(&rm->ks);
	ss_objctx_free(rm->plain);
	ss_objctx_free(rm->t.oc);
	ss_tree_release(&rm->t);
	ss_buf_wipe(&rm->pt);
	ss_buf_wipe(&rm->out);
	free(rm);
}

/* dest_compression(p, ds, comp, level): the dataset's compression. */
static int
dest_compression(struct ss_pool *p, const struct ss_ds *ds, int *comp,
    int *level)
{
	struct ss_obj_ref o;
	struct ss_propval *v;
	int r;

	if ((v = ss_malloc(sizeof(*v))) == NULL)
		return SS_ENOMEM;
	memset(&o, 0, sizeof(o));
	o.ds = *ds;
	if ((r = ss_prop_get(p, &o, "compression", v)) == 0 &&
	    ss_comp_parse(v->value, comp, level) != 0)
		r = ss_err(SS_ECORRUPT, "invalid compression '%s'", v->value);
	free(v);
	return r;
}

/* remap_setup(rc, e): the remapping context of dataset ${e}'s domain. */
static int
remap_setup(struct receiver *rc, struct rds *e)
{
	int64_t domain = e->ds.encroot ? e->ds.encroot : e->ds.id;
	struct remap *rm;
	int r, comp = SS_COMP_ZSTD, level = 3;

	for (size_t i = 0; i < rc->nrm; i++)
		if (rc->rm[i]->domain == domain) {
			e->rm = rc->rm[i];
			return 0;
		}
	if (ss_grow(&rc->rm, &rc->caprm, rc->nrm, sizeof(*rc->rm)) != 0)
		return SS_ENOMEM;
	if ((rm = ss_calloc(1, sizeof(*rm))) == NULL)
		return SS_ENOMEM;
	rc->rm[rc->nrm++] = rm;
	e->rm = rm;
	rm->domain = domain;
	rm->enc = e->ds.encroot != 0;
	if (rm->enc && (r = ss_ds_keyset(rc->p, &e->ds, &rm->ks)) != 0)
		return r == SS_ENOKEY ? ss_err(SS_ENOKEY, "inherited key must"
		    " be loaded (%s)", ss_errmsg()) : r;
	if ((r = dest_compression(rc->p, &e->ds, &comp, &level)) != 0)
		return r;
	ss_tree_init(&rm->t);
	rm->t.cat = rc->p->cat;
	rm->t.pw = rc->pw;
	rm->plain = ss_objctx_new(NULL, NULL, 0, 0);
	rm->t.oc = rm->enc ? ss_objctx_new(rm->ks.k_id, rm->ks.k_obj, comp,
	    level) : ss_objctx_new(NULL, NULL, comp, level);
	if (rm->plain == NULL || rm->t.oc == NULL)
		return SS_ENOMEM;
	return 0;
}

/*
 * map_key(rm, src, out): the idmap key of a source identifier.  For an
 * encrypted destination it is keyed with K_id, so that the catalog never
 * holds plaintext hashes that would let someone confirm a known file.
 */
static int
map_key(const struct remap *rm, const uint8_t *src, struct ss_id *out)
{
	uint8_t buf[6 + SS_ID_LEN];

	if (!rm->enc) {
		memcpy(out->b, src, SS_ID_LEN);
		return 0;
	}
	memcpy(buf, "idmap:", 6);
	memcpy(buf + 6, src, SS_ID_LEN);
	return ss_hmac_sha256(rm->ks.k_id, SS_KEY_LEN, buf, sizeof(buf),
	    out->b);
}

/* map_id(rm, src, dst): a source identifier's local one. */
static int
map_id(void *arg, const uint8_t *src, struct ss_id *dst)
{
	struct remap *rm = arg;
	struct ss_id k;
	int r;

	if ((r = map_key(rm, src, &k)) != 0)
		return r;
	if ((r = ss_cat_idmap_get(rm->t.cat, rm->domain, &k, dst)) == 0)
		return 0;
	return r == SS_ENOENT ? ss_err(SS_ECORRUPT, "stream references an"
	    " object it does not carry") : r;
}

/*
 * note_stored(rc, id, fresh): remember an object the stream delivered.
 * Every object it stored (${fresh}) must be referenced by the end, or the
 * stream is refused (check_orphans); with receive -s, objects found here
 * already are remembered too: a saved state holds them all, so that
 * nothing the resumed stream leaves out can disappear meanwhile.
 */
static int
note_stored(struct receiver *rc, const struct ss_id *id, int fresh)
{
	if (!fresh && !(rc->o->flags & SS_RECV_RESUMABLE))
		return 0;
	if (ss_grow(&rc->stored, &rc->capstored, rc->nstored,
	    sizeof(*rc->stored)) != 0)
		return SS_ENOMEM;
	rc->stored[rc->nstored++] = *id;
	return 0;
}

/* remap_object(rc, e, id, obj, len): open, map, store under our ids. */
static int
remap_object(struct receiver *rc, struct rds *e, const struct ss_id *id,
    const uint8_t *obj, uint32_t len)
{
	struct remap *rm = e->rm;
	struct ss_id nid, key, *refs = NULL;
	uint32_t nrefs = 0;
	uint8_t type;
	int r;

	if ((r = map_key(rm, id->b, &key)) != 0)
		return r;
	if (ss_cat_idmap_get(rc->p->cat, rm->domain, &key, &nid) == 0) {
		rc->skipped++;
		return note_stored(rc, &nid, 0);
	}
	r = e->named ? ss_obj_open_named(rm->plain, id, obj, len, &type,
	    &rm->pt) : ss_obj_open(rm->plain, id, obj, len, &type, &rm->pt);
	if (r == 0)
		r = ss_tree_remap(type, rm->pt.p, rm->pt.len, map_id, rm,
		    &rm->out, &refs, &nrefs);
	if (r == 0)
		r = ss_tree_store(&rm->t, type, rm->out.p, rm->out.len, refs,
		    nrefs, &nid, NULL);
	if (r == 0)
		r = ss_cat_idmap_set(rc->p->cat, rm->domain, &key, &nid);
	if (r == 0)
		r = note_stored(rc, &nid, 1);
	free(refs);
	return r;
}

/* ---------- datasets ---------- */

static struct rds *
find_rel(struct receiver *rc, const char *rel)
{
	for (size_t i = 0; i < rc->n; i++)
		if (!strcmp(rc->v[i].rel, rel))
			return &rc->v[i];
	return NULL;
}

static int
excluded(const struct ss_recv_opts *o, const char *name)
{
	for (size_t i = 0; i < o->nexclude; i++)
		if (!strcmp(o->exclude[i], name))
			return 1;
	return 0;
}

/*
 * apply_props(rc, e, d): a stream with properties replaces the received
 * values of the dataset; -x names are left out (inherited instead).
 * Properties this version cannot take (unknown, or a bad value) are
 * skipped with a warning, as zfs does, rather than failing the receive.
 */
static int
apply_props(struct receiver *rc, struct rds *e, const struct dsrec *d)
{
	int r;

	if (!rc->props)
		return 0;
	if ((r = ss_prop_clear_received(rc->p, &e->ds)) != 0)
		return r;
	for (uint32_t i = 0; i < d->nprops && r == 0; i++) {
		const struct prop *q = &d->props[i];
		char *name = ss_asprintf("%.*s", (int)q->nl, q->name);
		char *val = ss_asprintf("%.*s", (int)q->vl, q->value);

		if (name == NULL || val == NULL)
			r = SS_ENOMEM;
		else if (!excluded(rc->o, name) &&
		    (r = ss_prop_receive(rc->p, &e->ds, name, val)) ==
		    SS_EINVAL) {
			ss_pool_warn(rc->p, "cannot receive %s property on %s:"
			    " %s", name, e->ds.name, ss_errmsg());
			r = 0;
		}
		free(name);
		free(val);
	}
	return r;
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
	if ((r = ss_cat_prop_set(p->cat, e->ds.id, SS_PROP_KEYOWNER,
	    SS_SRC_RECEIVED, hex)) != 0)
		return r;
	return ss_cat_prop_set(p->cat, e->ds.id, "keylocation", SS_SRC_LOCAL,
	    "prompt");
}

/*
 * new_dataset(rc, e, d): create a received dataset.  In a raw stream the
 * top, and every dataset that was an encryption root at the source,
 * becomes an encryption root with the sender's wrapped key; the others
 * inherit from the dataset of the stream that holds their root's key.  A
 * non-raw stream lands unencrypted under an unencrypted parent, and sealed
 * with the parent's key under an encrypted one (zfs receive -x encryption).
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
	if (d->from != 0)
		return ss_err(SS_ENOENT, "destination '%s' does not exist",
		    e->ds.name);
	if (rc->raw && d->rootguid && !d->haskey) {
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
	if (!rc->raw)
		encroot = parent.encroot;
	e->ds.parent = parent.id;
	e->ds.guid = d->guid;
	e->ds.creation = ss_now_ns() / 1000000000;
	e->ds.kind = SS_DS_RECEIVED;
	e->ds.encroot = encroot;
	ss_ds_clear(&parent);
	if ((r = ss_cat_next_txg(p->cat, &e->ds.createtxg)) != 0 ||
	    (r = ss_cat_ds_add(p->cat, &e->ds)) != 0)
		return r;
	e->created = 1;
	if (d->haskey && (r = set_key(rc, e, d)) != 0)
		return r;
	if (!rc->raw && (d->rootguid != 0 || encroot != 0))
		return remap_setup(rc, e);
	return 0;
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

/*
 * rollback_to(rc, e, from): the incremental's base must be a snapshot of
 * the destination; with -F the snapshots taken after it are destroyed
 * (in this transaction), as zfs receive -F rolls back first.
 */
static int
rollback_to(struct receiver *rc, struct rds *e, uint64_t from)
{
	struct ss_snap *v = NULL;
	size_t n = 0, at = 0;
	int found = 0, r;

	if ((r = ss_cat_snap_list(rc->p->cat, e->ds.id, SS_SNAP, &v, &n)))
		return r;
	for (size_t i = 0; i < n && !found; i++)
		if (v[i].guid == from) {
			found = 1;
			at = i;
		}
	if (!found || (at + 1 < n && !(rc->o->flags & SS_RECV_FORCE)))
		r = ss_err(SS_ENOENT, "most recent snapshot of %s does not"
		    " match incremental source%s", e->ds.name, found ?
		    " (use -F to destroy the later snapshots)" : "");
	for (size_t i = n; r == 0 && found && i > at + 1; i--) {
		ss_pool_warn(rc->p, "destroying %s@%s", e->ds.name,
		    v[i - 1].name);
		if ((r = ss_cat_snap_del(rc->p->cat, v[i - 1].id)) == 0)
			r = ss_release(rc->p, &v[i - 1].root, &rc->freed);
	}
	ss_snap_list_free(v, n);
	return r;
}

/*
 * overwrite(rc, e, d): a full stream into an existing dataset.  As zfs:
 * without -F it is refused; with -F only an unencrypted dataset without
 * snapshots is taken over (it gets the stream's identity).
 */
static int
overwrite(struct receiver *rc, struct rds *e, const struct dsrec *d)
{
	struct ss_snap s;
	int r;

	if (!(rc->o->flags & SS_RECV_FORCE))
		return ss_err(SS_EEXIST, "destination '%s' exists; must specify"
		    " -F to overwrite it", e->ds.name);
	if (e->ds.encroot != 0 || d->rootguid != 0)
		return ss_err(SS_EINVAL, "receive -F cannot be used to destroy"
		    " an encrypted dataset or overwrite an unencrypted one"
		    " with an encrypted one");
	if ((r = ss_ds_latest(rc->p, &e->ds, &s)) == 0) {
		r = ss_err(SS_EEXIST, "destination has snapshots (eg. %s@%s);"
		    " must destroy them to overwrite it", e->ds.name, s.name);
		ss_snap_clear(&s);
		return r;
	}
	if (r != SS_ENOENT)
		return r;
	e->ds.guid = d->guid;
	e->ds.kind = SS_DS_RECEIVED;
	return ss_cat_ds_set_guid(rc->p->cat, e->ds.id, d->guid,
	    SS_DS_RECEIVED);
}

/* existing(rc, e, d): a stream dataset that lands on an existing one. */
static int
existing(struct receiver *rc, struct rds *e, const struct dsrec *d)
{
	int r;

	if (rc->raw && (e->ds.encroot != 0) != (d->rootguid != 0))
		return ss_err(SS_EINVAL, "cannot perform raw receive on top of"
		    " an existing unencrypted dataset, or the reverse");
	if (rc->resuming)
		r = 0;		/* checked by the interrupted receive */
	else if (d->from == 0)
		r = overwrite(rc, e, d);
	else if (e->ds.guid != d->guid)
		r = ss_err(SS_EINVAL, "destination '%s' is another dataset"
		    " than the stream's", e->ds.name);
	else
		r = rollback_to(rc, e, d->from);
	if (r == 0 && d->haskey)
		r = update_key(rc, e, d);
	if (r == 0 && !rc->raw && (d->rootguid != 0 || e->ds.encroot != 0))
		r = remap_setup(rc, e);
	return r;
}

/*
 * resume_check(rc, e, d): a dataset with a saved partial receive takes
 * only the stream that continues it (send -t), and that stream only if it
 * is the same one: dataset, base, snapshot and flags.
 */
static int
resume_check(struct receiver *rc, struct rds *e, const struct dsrec *d)
{
	struct ss_token *t = &rc->tk;
	int r;

	r = ss_cat_resume_get(rc->p->cat, e->ds.id, &rc->prev);
	if (r == SS_ENOENT && rc->resuming)
		return ss_err(SS_ENOENT, "'%s' has no resumable receive state",
		    e->ds.name);
	if (r == SS_ENOENT)
		return 0;
	if (r != 0)
		return r;
	if (!rc->resuming)
		return ss_err(SS_EBUSY, "destination '%s' contains"
		    " partially-complete state from receive -s: resume it"
		    " with send -t (receive_resume_token) or abort it with"
		    " receive -A", e->ds.name);
	if ((r = ss_token_unpack(rc->prev.state.p, rc->prev.state.len, t)))
		return r;
	if (t->dsguid != d->guid || t->fromguid != d->from ||
	    t->toguid != d->toguid || t->flags != (rc->begin.flags &
	    ~(uint64_t)SS_STREAMF_RESUMED))
		return ss_err(SS_EINVAL, "the stream does not continue the"
		    " partial receive of '%s'", e->ds.name);
	e->created = rc->prev.created;
	return 0;
}

static int
on_dataset(struct receiver *rc, const uint8_t *p, size_t n)
{
	struct dsrec d;
	struct rds *e, *v;
	char *name;
	int r;

	if ((r = parse_dataset(p, n, &d)) != 0)
		goto out;
	if ((rc->n == 0) != (d.rel[0] == '\0') || find_rel(rc, d.rel) ||
	    (d.rel[0] && !rc->replication) || (d.nprops && !rc->props)) {
		r = ss_err(SS_ECORRUPT, "unexpected dataset record in stream");
		goto out;
	}
	if (d.haskey != 0 && !rc->raw) {
		r = ss_err(SS_ECORRUPT, "dataset record does not match the"
		    " stream's raw flag");
		goto out;
	}
	r = SS_ENOMEM;
	if ((v = ss_realloc(rc->v, (rc->n + 1) * sizeof(*v))) == NULL)
		goto out;
	rc->v = v;
	e = &v[rc->n];
	memset(e, 0, sizeof(*e));
	rc->n++;
	e->named = !rc->raw && d.rootguid != 0;
	if ((e->rel = ss_strdup(d.rel)) == NULL ||
	    (name = ss_asprintf("%s%s%s", rc->target, d.rel[0] ? "/" : "",
	    d.rel)) == NULL)
		goto out;
	if ((r = ss_name_check(name, SS_NAME_DS)) == 0)
		r = ss_cat_ds_get(rc->p->cat, name, &e->ds);
	if (r == SS_ENOENT && rc->resuming) {
		r = ss_err(SS_ENOENT, "'%s' has no resumable receive state",
		    name);
		free(name);
		goto out;
	}
	if (r == SS_ENOENT) {
		e->ds.name = name;
		r = new_dataset(rc, e, &d);
	} else {
		free(name);
		if (r == 0)
			r = resume_check(rc, e, &d);
		if (r == 0)
			r = existing(rc, e, &d);
	}
	if (r == 0)
		r = apply_props(rc, e, &d);
	if (r == 0 && rc->n == 1) {
		rc->tk.flags = rc->begin.flags & ~(uint64_t)SS_STREAMF_RESUMED;
		rc->tk.dsguid = d.guid;
		rc->tk.fromguid = d.from;
		rc->tk.toguid = d.toguid;
		snprintf(rc->tk.ds, sizeof(rc->tk.ds), "%s", rc->begin.name);
		snprintf(rc->tk.snap, sizeof(rc->tk.snap), "%s", d.to);
		memcpy(rc->tk.tag, d.tag, SS_HASH_LEN);
	}
out:
	free(d.props);
	return r;
}

/* ---------- objects and snapshots ---------- */

/*
 * sink(arg, type, n): a large OBJECT record of a dataset stored as it came
 * is read straight into the pack writer's buffer, where its object is in
 * place for ss_packw_add (the record's identifier and length take the
 * place of the pack record's header): one copy less.
 */
static uint8_t *
sink(void *arg, uint8_t type, size_t n)
{
	struct receiver *rc = arg;
	uint8_t *p;

	if (type != SS_REC_OBJECT || rc->n == 0 || rc->v[rc->n - 1].rm ||
	    n <= SS_PACK_RECHDR)
		return NULL;
	if (ss_packw_reserve(rc->pw, n - SS_PACK_RECHDR, &p) != 0) {
		ss_errclear();	/* the writer fails again, and says */
		return NULL;
	}
	return p;
}

/* on_object(rc, p, n): store one object after keyless checks. */
static int
on_object(struct receiver *rc, const uint8_t *p, size_t n)
{
	struct ss_objhdr h;
	struct ss_objrow row;
	struct ss_rd rd;
	struct ss_id id;
	struct rds *e;
	const uint8_t *obj;
	uint32_t len;
	int r;

	if (rc->n == 0)
		return ss_err(SS_ECORRUPT, "object before the dataset record");
	e = &rc->v[rc->n - 1];
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
	if (e->rm)
		return remap_object(rc, e, &id, obj, len);
	if (((h.flags & SS_OBJF_ENCRYPTED) != 0) != (e->ds.encroot != 0))
		return ss_err(SS_ECORRUPT, "stream object's encryption does"
		    " not match its dataset");
	if (ss_cat_obj_get(rc->p->cat, &id, NULL) == 0) {
		rc->skipped++;
		return note_stored(rc, &id, 0);
	}
	/*
	 * One statement per reference both checks that it is present and
	 * counts it; a failure undoes the counts with the whole receive.
	 */
	for (uint32_t i = 0; i < h.nrefs; i++) {
		struct ss_id c;

		memcpy(c.b, h.refs + (size_t)i * SS_ID_LEN, SS_ID_LEN);
		if ((r = ss_cat_obj_ref(rc->p->cat, &c, 1, NULL)) != 0)
			return r == SS_ECORRUPT && ss_cat_obj_get(rc->p->cat,
			    &c, NULL) == SS_ENOENT ? ss_err(SS_ECORRUPT,
			    "stream references an object it does not carry") :
			    r;
	}
	if ((r = ss_packw_add(rc->pw, &id, obj, len, &row.loc)) != 0)
		return r;
	row.refs = 0;
	row.nchild = h.nrefs;
	if ((r = ss_cat_obj_add(rc->p->cat, &id, &row)) != 0)
		return r;
	return note_stored(rc, &id, 1);
}

/*
 * check_orphans(rc): an object of the stream that no snapshot reaches
 * would be kept for good (destroy releases from snapshot roots): refuse
 * the stream rather than store garbage a sender chose to leave.
 */
static int
check_orphans(struct receiver *rc)
{
	for (size_t i = 0; i < rc->nstored; i++) {
		struct ss_objrow row;
		int r;

		if ((r = ss_cat_obj_get(rc->p->cat, &rc->stored[i], &row)))
			return r;
		if (row.refs == 0)
			return ss_err(SS_ECORRUPT, "stream carries an object"
			    " that no snapshot references");
	}
	return 0;
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

/* check_snap(rc, e, s, from): the snapshot may be added to ${e}. */
static int
check_snap(struct receiver *rc, struct rds *e, const struct ss_snap *s,
    uint64_t from)
{
	struct ss_snap newest, same;
	char *full;
	int r, have;

	full = ss_asprintf("%s@%s", e->ds.name, s->name);
	r = full ? ss_name_check(full, SS_NAME_SNAP) : SS_ENOMEM;
	free(full);
	if (r != 0)
		return r;
	r = ss_ds_latest(rc->p, &e->ds, &newest);
	if (r != 0 && r != SS_ENOENT)
		return r;
	have = r == 0;
	if (from == 0 && have)
		r = ss_err(SS_EEXIST, "destination '%s' exists; must specify"
		    " -F to overwrite it", e->ds.name);
	else if (from != 0 && (!have || newest.guid != from))
		r = ss_err(SS_ENOENT, "most recent snapshot of %s does not"
		    " match incremental source", e->ds.name);
	else if (ss_cat_snap_get(rc->p->cat, e->ds.id, s->name, SS_SNAP,
	    &same) == 0) {
		ss_snap_clear(&same);
		r = ss_err(SS_EEXIST, "destination already exists: %s@%s",
		    e->ds.name, s->name);
	} else if (ss_cat_obj_get(rc->p->cat, &s->root, NULL) != 0)
		r = ss_err(SS_ECORRUPT, "stream references an object it does"
		    " not carry");
	else
		r = 0;
	if (have)
		ss_snap_clear(&newest);
	return r;
}

static int
on_snapshot(struct receiver *rc, const uint8_t *p, size_t n)
{
	struct ss_snap s;
	struct rds *e;
	char rel[256];
	uint64_t from;
	int r;

	if ((r = parse_snap(p, n, &s, rel, &from)) != 0)
		goto out;
	if ((e = find_rel(rc, rel)) == NULL) {
		r = ss_err(SS_ECORRUPT, "snapshot of a dataset the stream did"
		    " not announce");
		goto out;
	}
	if (e->rm && (r = map_id(e->rm, s.root.b, &s.root)) != 0)
		goto out;
	if ((r = check_snap(rc, e, &s, from)) != 0)
		goto out;
	s.ds = e->ds.id;
	s.written = rc->bytes;
	/* remapped here: the record MAC is ours to make */
	if (e->rm && (r = ss_snap_mac(e->rm->enc ? &e->rm->ks : NULL, &e->ds,
	    &s, s.mac)) != 0)
		goto out;
	if ((r = ss_cat_next_txg(rc->p->cat, &s.createtxg)) == 0 &&
	    (r = ss_cat_snap_add(rc->p->cat, &s)) == 0)
		r = ss_cat_obj_ref(rc->p->cat, &s.root, 1, NULL);
	if (r == 0 && (rc->o->flags & SS_RECV_RESUMABLE)) {
		if (ss_grow(&rc->added, &rc->capadded, rc->nadded,
		    sizeof(*rc->added)) != 0)
			r = SS_ENOMEM;
		else
			rc->added[rc->nadded++] = (struct added){ s.id, s.root };
	}
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
		if ((r = ss_sr_next(rc->rd, &type, &p, &n)) != 0) {
			rc->cut = 1;
			return r;
		}
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

/*
 * save_partial(rc): receive -s after the stream broke: keep every object
 * that arrived, each held once by the saved state; snapshots the stream completed
 * are taken back into holds too, since the resumed stream carries them
 * again (it is the same stream without the objects already here).
 */
static int
save_partial(struct receiver *rc)
{
	struct ss_resume st;
	struct rds *e = &rc->v[0];
	uint64_t base = rc->resuming ? rc->tk.objects : 0;
	int r = 0;

	memset(&st, 0, sizeof(st));
	st.created = e->created;
	if (rc->resuming && ss_buf_put(&st.held, rc->prev.held.p,
	    rc->prev.held.len))
		r = SS_ENOMEM;
	for (size_t i = 0; i < rc->nadded && r == 0; i++)
		if ((r = ss_cat_snap_del(rc->p->cat, rc->added[i].id)) == 0 &&
		    ss_buf_put(&st.held, rc->added[i].root.b, SS_ID_LEN))
			r = SS_ENOMEM;
	for (size_t i = 0; i < rc->nstored && r == 0; i++)
		if ((r = ss_cat_obj_ref(rc->p->cat, &rc->stored[i], 1,
		    NULL)) == 0 && ss_buf_put(&st.held, rc->stored[i].b,
		    SS_ID_LEN))
			r = SS_ENOMEM;
	rc->tk.objects = base + rc->objects;
	if (r == 0)
		r = ss_token_pack(&rc->tk, &st.state);
	if (r == 0)
		r = ss_cat_resume_set(rc->p->cat, e->ds.id, &st);
	if (r == 0 && (r = ss_packw_flush(rc->pw)) == 0)
		r = ss_cat_commit(rc->p->cat);
	ss_resume_clear(&st);
	return r;
}

/* set_local(rc): -o PROP=VALUE, as "set" just before the receive. */
static int
set_local(struct receiver *rc)
{
	int r = 0;

	for (size_t i = 0; i < rc->o->nset && r == 0 && rc->n; i++)
		r = ss_prop_set(rc->p, &rc->v[0].ds, rc->o->set[i].name,
		    rc->o->set[i].value);
	return r;
}

static void
receiver_free(struct receiver *rc)
{
	ss_packw_free(rc->pw);
	ss_sr_free(rc->rd);
	for (size_t i = 0; i < rc->nrm; i++)
		remap_free(rc->rm[i]);
	free(rc->rm);
	for (size_t i = 0; i < rc->n; i++) {
		free(rc->v[i].rel);
		ss_ds_clear(&rc->v[i].ds);
	}
	free(rc->v);
	ss_freelist_free(&rc->freed);
	ss_resume_clear(&rc->prev);
	free(rc->stored);
	free(rc->added);
}

int
ss_receive_with(struct ss_pool *p, const char *target, int fd,
    const struct ss_recv_opts *opts, struct ss_recv_stats *stats)
{
	static const struct ss_recv_opts none;
	struct receiver rc;
	struct ss_begin b;
	int r, dry = opts && (opts->flags & SS_RECV_DRYRUN);

	memset(&rc, 0, sizeof(rc));
	rc.p = p;
	rc.o = opts ? opts : &none;
	rc.target = target;
	if ((r = ss_name_check(target, SS_NAME_DS)) != 0)
		return r;
	if ((r = ss_sr_open(fd, &rc.rd, &b)) != 0 || (r = ss_pool_lock(p)))
		goto out;
	rc.begin = b;
	rc.raw = (b.flags & SS_STREAMF_RAW) != 0;
	rc.replication = (b.flags & SS_STREAMF_REPLICATION) != 0;
	rc.props = (b.flags & SS_STREAMF_PROPERTIES) != 0;
	rc.resuming = (b.flags & SS_STREAMF_RESUMED) != 0;
	if (rc.resuming && rc.replication) {
		r = ss_err(SS_ECORRUPT, "a replication stream cannot be"
		    " resumed");
		goto out;
	}
	ss_gc_packs(p);
	if ((r = ss_packw_open(p->dir, &rc.pw)) != 0 ||
	    (r = ss_cat_begin(p->cat)) != 0)
		goto out;
	ss_packw_uncached(rc.pw);	/* a stream is rarely read back soon */
	ss_sr_set_sink(rc.rd, sink, &rc);
	r = receive_records(&rc);
	if (r == 0)
		r = check_orphans(&rc);
	if (r == 0)
		r = set_local(&rc);
	if (r == 0 && rc.resuming)
		r = ss_resume_release(p, rc.v[0].ds.id, &rc.freed);
	if (r == 0 && !dry && (r = ss_packw_flush(rc.pw)) == 0)
		r = ss_cat_commit(p->cat);
	if (r != 0 && rc.cut && rc.n == 1 && !rc.replication && !dry &&
	    (rc.o->flags & SS_RECV_RESUMABLE)) {
		char *msg = ss_strdup(ss_errmsg());

		if (save_partial(&rc) == 0) {
			ss_reclaim(p, &rc.freed);
			ss_err(r, "%s; the partially received state was saved"
			    " (see receive_resume_token)", msg ? msg : "");
			free(msg);
			goto saved;
		}
		free(msg);
	}
	if (r != 0 || dry)
		ss_cat_rollback(p->cat);
	else
		ss_reclaim(p, &rc.freed);
saved:
	if (stats) {
		stats->objects = rc.objects;
		stats->skipped = rc.skipped;
		stats->bytes = ss_sr_bytes(rc.rd);
	}
out:
	if (r != 0 || dry) {
		ss_packw_free(rc.pw);
		rc.pw = NULL;
		ss_gc_packs(p);
	}
	receiver_free(&rc);
	return r;
}

int
ss_receive(struct ss_pool *p, const char *target, int fd,
    struct ss_recv_stats *stats)
{
	return ss_receive_with(p, target, fd, NULL, stats);
}
