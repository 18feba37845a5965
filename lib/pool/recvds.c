/*
 * recvds.c: the DATASET records of a received stream (see recv.c): where
 * each dataset lands, a new one or an existing one that the stream takes
 * over (-F), continues (an incremental; -F first destroys the snapshots
 * after its base) or resumes (a saved "receive -s"); its wrapped key, and
 * its received properties.  What it shares with recv.c is in recvint.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool/recvint.h"

#define MAX_PROPS 1024

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
		if (rd->err || q->nl == 0 || q->nl > 255 ||
		    q->vl >= SS_PROPVAL_MAX || memchr(q->name, '\0', q->nl) ||
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

/* ---------- datasets ---------- */

struct rds *
ss_recvi_find_rel(struct receiver *rc, const char *rel)
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
		return ss_recvi_remap_setup(rc, e);
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
		r = ss_recvi_remap_setup(rc, e);
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

int
ss_recvi_on_dataset(struct receiver *rc, const uint8_t *p, size_t n)
{
	struct dsrec d;
	struct rds *e, *v;
	char *name;
	int r;

	if ((r = parse_dataset(p, n, &d)) != 0)
		goto out;
	if ((rc->n == 0) != (d.rel[0] == '\0') ||
	    ss_recvi_find_rel(rc, d.rel) || (d.rel[0] && !rc->replication) ||
	    (d.nprops && !rc->props)) {
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

