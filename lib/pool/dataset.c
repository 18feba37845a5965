/*
 * dataset.c: resolving names, creating datasets (with encryption roots as
 * zfs create does) and the key operations load-key, unload-key, change-key.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pool/pool.h"

void
ss_obj_ref_clear(struct ss_obj_ref *ref)
{
	ss_ds_clear(&ref->ds);
	ss_snap_clear(&ref->snap);
	ref->kind = 0;
}

int
ss_resolve(struct ss_pool *p, const char *name, struct ss_obj_ref *ref)
{
	const char *sep = strpbrk(name, "@#");
	char *ds = sep ? ss_asprintf("%.*s", (int)(sep - name), name) :
	    ss_strdup(name);
	int r;

	memset(ref, 0, sizeof(*ref));
	if (ds == NULL)
		return SS_ENOMEM;
	r = ss_cat_ds_get(p->cat, ds, &ref->ds);
	if (r == SS_ENOENT)
		r = ss_err(SS_ENOENT, "dataset does not exist");
	if (r == 0 && sep) {
		ref->kind = *sep == '@' ? SS_SNAP : SS_BOOKMARK;
		r = ss_cat_snap_get(p->cat, ref->ds.id, sep + 1, ref->kind,
		    &ref->snap);
		if (r == SS_ENOENT)
			r = ss_err(SS_ENOENT, "%s does not exist",
			    ref->kind == SS_SNAP ? "snapshot" : "bookmark");
	}
	free(ds);
	if (r != 0)
		ss_obj_ref_clear(ref);
	return r;
}

int
ss_ds_latest(struct ss_pool *p, const struct ss_ds *ds, struct ss_snap *s)
{
	struct ss_snap *v = NULL;
	size_t n = 0;
	int r;

	memset(s, 0, sizeof(*s));
	if ((r = ss_cat_snap_list(p->cat, ds->id, SS_SNAP, &v, &n)) != 0)
		return r;
	if (n == 0)
		r = SS_ENOENT;
	else {
		*s = v[n - 1];
		v[n - 1].name = NULL;
	}
	ss_snap_list_free(v, n);
	return r;
}

int
ss_ds_mountpoint(struct ss_pool *p, const struct ss_ds *ds, char **path)
{
	struct ss_obj_ref o;
	struct ss_propval v;
	int r;

	memset(&o, 0, sizeof(o));
	o.ds = *ds;
	if ((r = ss_prop_get(p, &o, "mountpoint", &v)) != 0)
		return r;
	*path = ss_strdup(v.value);
	return *path ? 0 : SS_ENOMEM;
}

/* ---------- keys ---------- */

static void
desc_of(struct ss_pool *p, uint64_t root_guid, char desc[64])
{
	ss_keyring_desc(p->guid, root_guid, desc);
}

static int
root_of(struct ss_pool *p, const struct ss_ds *ds, struct ss_ds *root)
{
	return ss_cat_ds_get_id(p->cat, ds->encroot, root);
}

int
ss_ds_keystatus(struct ss_pool *p, const struct ss_ds *ds)
{
	struct ss_ds root;
	uint8_t mk[SS_KEY_LEN];
	char desc[64];
	int r;

	if (ds->encroot == 0)
		return 0;
	if (root_of(p, ds, &root) != 0)
		return 2;
	desc_of(p, root.guid, desc);
	ss_ds_clear(&root);
	r = ss_keyring_get(desc, mk);
	ss_cleanse(mk, sizeof(mk));
	ss_errclear();
	return r == 0 ? 1 : 2;
}

int
ss_ds_keyset(struct ss_pool *p, const struct ss_ds *ds, struct ss_keyset *ks)
{
	struct ss_ds root;
	uint8_t mk[SS_KEY_LEN];
	char desc[64];
	int r;

	memset(ks, 0, sizeof(*ks));
	if (ds->encroot == 0)
		return 1;
	if ((r = root_of(p, ds, &root)) != 0)
		return r;
	desc_of(p, root.guid, desc);
	r = ss_keyring_get(desc, mk);
	if (r == SS_ENOKEY)
		r = ss_err(SS_ENOKEY, "encryption key not loaded for '%s'"
		    " (load it with 'snapseal load-key %s')", root.name,
		    root.name);
	if (r == 0)
		r = ss_keyset_derive(mk, ks);
	ss_cleanse(mk, sizeof(mk));
	ss_ds_clear(&root);
	return r;
}

static int
get_wrapped(struct ss_pool *p, int64_t root, struct ss_wrapped *w)
{
	struct ss_buf b = SS_BUF_INIT;
	int r;

	if ((r = ss_cat_key_get(p->cat, root, &b)) == 0)
		r = ss_wrapped_decode(b.p, b.len, w);
	ss_buf_free(&b);
	return r;
}

static int
put_wrapped(struct ss_pool *p, int64_t root, const struct ss_wrapped *w)
{
	struct ss_buf b = SS_BUF_INIT;
	int r;

	if ((r = ss_wrapped_encode(w, &b)) == 0)
		r = ss_cat_key_set(p->cat, root, b.p, b.len);
	ss_buf_free(&b);
	return r;
}

static int
check_root(struct ss_pool *p, const struct ss_ds *ds, const char *verb)
{
	struct ss_ds root;
	int r;

	if (ds->encroot == 0)
		return ss_err(SS_EINVAL, "'%s' is not encrypted", ds->name);
	if (ds->encroot == ds->id)
		return 0;
	if ((r = root_of(p, ds, &root)) != 0)
		return r;
	r = ss_err(SS_EINVAL, "Keys must be %s for encryption root of '%s'"
	    " (%s).", verb, ds->name, root.name);
	ss_ds_clear(&root);
	return r;
}

static int
keylocation_of(struct ss_pool *p, const struct ss_ds *ds, char **loc)
{
	int r = ss_cat_prop_get(p->cat, ds->id, "keylocation", SS_SRC_LOCAL,
	    loc);

	if (r == SS_ENOENT)
		r = (*loc = ss_strdup("prompt")) ? 0 : SS_ENOMEM;
	return r;
}

uint64_t
ss_ds_key_owner(struct ss_pool *p, const struct ss_ds *ds)
{
	char *v = NULL;
	uint64_t g = ds->guid;

	if (ss_cat_prop_get(p->cat, ds->id, SS_PROP_KEYOWNER, SS_SRC_RECEIVED,
	    &v) == 0)
		g = strtoull(v, NULL, 16);
	free(v);
	ss_errclear();
	return g;
}

/* unwrap_with(p, ds, location, w, mk): read the user's key and unwrap. */
static int
unwrap_with(struct ss_pool *p, const struct ss_ds *ds, const char *location,
    struct ss_wrapped *w, uint8_t mk[SS_KEY_LEN])
{
	struct ss_secret sec;
	uint8_t wk[SS_KEY_LEN];
	char *loc = NULL;
	int r;

	memset(&sec, 0, sizeof(sec));
	if ((r = get_wrapped(p, ds->id, w)) != 0)
		return r;
	if (w->root_guid != ss_ds_key_owner(p, ds))
		return ss_err(SS_EAUTH, "the wrapped key stored for '%s' belongs"
		    " to another dataset: the pool was modified", ds->name);
	if (location == NULL && (r = keylocation_of(p, ds, &loc)) != 0)
		return r;
	if (location == NULL)
		location = loc;
	if ((r = ss_keylocation_valid(location)) != 0 ||
	    (r = ss_key_read(location, w->keyformat, ds->name, 0, &sec)) != 0)
		goto out;
	if ((r = ss_key_wrapping(w->keyformat, &sec, w, wk)) != 0)
		goto out;
	r = ss_key_unwrap(wk, w, mk);
	if (r == SS_EWRONGKEY)
		r = ss_err(SS_EWRONGKEY, "Incorrect key provided for '%s'.",
		    ds->name);
out:
	ss_secret_wipe(&sec);
	ss_cleanse(wk, sizeof(wk));
	free(loc);
	return r;
}

int
ss_key_load(struct ss_pool *p, const struct ss_ds *ds, const char *location,
    int dryrun)
{
	struct ss_wrapped w;
	uint8_t mk[SS_KEY_LEN];
	char desc[64];
	int r;

	if ((r = check_root(p, ds, "loaded")) != 0)
		return r;
	if (!dryrun && ss_ds_keystatus(p, ds) == 1)
		return ss_err(SS_EEXIST, "Key already loaded for '%s'.",
		    ds->name);
	if ((r = unwrap_with(p, ds, location, &w, mk)) != 0)
		return r;
	desc_of(p, ds->guid, desc);
	if (!dryrun)
		r = ss_keyring_add(desc, mk);
	ss_cleanse(mk, sizeof(mk));
	return r;
}

int
ss_key_unload(struct ss_pool *p, const struct ss_ds *ds)
{
	char desc[64];
	int r;

	if ((r = check_root(p, ds, "unloaded")) != 0)
		return r;
	desc_of(p, ds->guid, desc);
	r = ss_keyring_del(desc);
	if (r == SS_ENOKEY)
		r = ss_err(SS_ENOKEY, "Key already unloaded for '%s'.",
		    ds->name);
	return r;
}

/* parse_keyprops: keyformat, keylocation, pbkdf2iters from -o pairs. */
static int
parse_keyprops(const struct ss_kv *props, size_t n, int *kf,
    const char **loc, uint64_t *iters, int *have_iters)
{
	for (size_t i = 0; i < n; i++) {
		const char *k = props[i].name, *v = props[i].value;
		char *end;

		if (!strcmp(k, "keyformat")) {
			if (ss_keyformat_parse(v, kf) != 0 || *kf == SS_KF_NONE)
				return ss_err(SS_EINVAL, "invalid keyformat"
				    " '%s'", v);
		} else if (!strcmp(k, "keylocation")) {
			*loc = v;
		} else if (!strcmp(k, "pbkdf2iters")) {
			*iters = strtoull(v, &end, 10);
			if (*v == '\0' || *end != '\0')
				return ss_err(SS_EINVAL, "invalid pbkdf2iters"
				    " '%s'", v);
			*have_iters = 1;
		} else
			return ss_err(SS_EINVAL, "Only keyformat, keylocation"
			    " and pbkdf2iters may be set with this command.");
	}
	return 0;
}

/*
 * new_wrapping(p, name, kf, loc, iters, have_iters, root_guid, mk, w):
 * read a new key from ${loc} and wrap ${mk} with it.
 */
static int
new_wrapping(const char *name, int kf, const char *loc, uint64_t iters,
    int have_iters, uint64_t root_guid, const uint8_t mk[SS_KEY_LEN],
    struct ss_wrapped *w)
{
	struct ss_secret sec;
	int r;

	memset(&sec, 0, sizeof(sec));
	if (kf != SS_KF_PASSPHRASE && have_iters && iters != 0)
		return ss_err(SS_EINVAL, "Cannot specify pbkdf2iters with a"
		    " non-passphrase keyformat.");
	if (kf == SS_KF_PASSPHRASE && !have_iters)
		iters = SS_PBKDF2_DEFAULT;
	if (kf != SS_KF_PASSPHRASE)
		iters = 0;
	if (kf == SS_KF_PASSPHRASE && iters < SS_PBKDF2_MIN)
		return ss_err(SS_EINVAL, "minimum pbkdf2 iterations is %u",
		    SS_PBKDF2_MIN);
	if ((r = ss_keylocation_valid(loc)) != 0)
		return r;
	if (!strcmp(loc, "none"))
		return ss_err(SS_EINVAL, "keylocation must not be 'none' for"
		    " encrypted datasets");
	if ((r = ss_key_read(loc, kf, name, SS_KEYREAD_NEW, &sec)) == 0)
		r = ss_key_new_wrapped(kf, &sec, iters, root_guid, mk, w);
	ss_secret_wipe(&sec);
	return r;
}

/* set_encroot_subtree: every dataset under ${ds} sharing ${old} -> ${nw}. */
static int
set_encroot_subtree(struct ss_pool *p, const struct ss_ds *ds, int64_t old,
    int64_t nw)
{
	struct ss_ds *v = NULL;
	size_t n = 0;
	int r;

	if ((r = ss_cat_ds_list(p->cat, ds->name, &v, &n)) != 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++)
		if (v[i].encroot == old)
			r = ss_cat_ds_set_encroot(p->cat, v[i].id, nw);
	ss_ds_list_free(v, n);
	return r;
}

int
ss_key_change(struct ss_pool *p, const struct ss_ds *ds,
    const struct ss_kv *props, size_t nprops)
{
	struct ss_wrapped w, nw;
	struct ss_ds root;
	uint8_t mk[SS_KEY_LEN];
	const char *loc = NULL;
	char *curloc = NULL, desc[64], rdesc[64];
	uint64_t iters = 0;
	int kf = 0, have_iters = 0, r;

	memset(&root, 0, sizeof(root));
	if (ds->encroot == 0)
		return ss_err(SS_EINVAL, "'%s' is not encrypted", ds->name);
	if ((r = parse_keyprops(props, nprops, &kf, &loc, &iters,
	    &have_iters)) != 0)
		return r;
	if (ds->encroot != ds->id && kf == 0)
		return ss_err(SS_EINVAL, "Keyformat required for new"
		    " encryption root.");
	if ((r = root_of(p, ds, &root)) != 0)
		return r;
	desc_of(p, root.guid, rdesc);
	if ((r = ss_keyring_get(rdesc, mk)) != 0) {
		r = ss_err(SS_ENOKEY, "Key must be loaded.");
		goto out;
	}
	if ((r = get_wrapped(p, root.id, &w)) != 0)
		goto out;
	if (kf == 0)
		kf = w.keyformat;
	if (!have_iters && kf == w.keyformat && kf == SS_KF_PASSPHRASE) {
		iters = w.iters;
		have_iters = 1;
	}
	if (loc == NULL && ds->encroot == ds->id &&
	    (r = keylocation_of(p, ds, &curloc)) != 0)
		goto out;
	if (loc == NULL)
		loc = curloc ? curloc : "prompt";
	if ((r = new_wrapping(ds->name, kf, loc, iters, have_iters, ds->guid,
	    mk, &nw)) != 0)
		goto out;
	if ((r = ss_cat_begin(p->cat)) != 0)
		goto out;
	if ((r = put_wrapped(p, ds->id, &nw)) != 0 ||
	    (r = ss_cat_prop_del(p->cat, ds->id, SS_PROP_KEYOWNER,
	    SS_SRC_RECEIVED)) != 0 ||
	    (r = ss_cat_prop_set(p->cat, ds->id, "keylocation", SS_SRC_LOCAL,
	    loc)) != 0 ||
	    (ds->encroot != ds->id && (r = set_encroot_subtree(p, ds,
	    ds->encroot, ds->id)) != 0) ||
	    (r = ss_cat_commit(p->cat)) != 0) {
		ss_cat_rollback(p->cat);
		goto out;
	}
	desc_of(p, ds->guid, desc);
	r = ss_keyring_add(desc, mk);
out:
	ss_cleanse(mk, sizeof(mk));
	ss_ds_clear(&root);
	free(curloc);
	return r;
}

/* ---------- create ---------- */

struct cprops {
	int enc;		/* -1 unset, 0 off, 1 on */
	int kf;
	const char *loc;
	uint64_t iters;
	int have_iters;
};

static int
split_props(const struct ss_kv *props, size_t n, struct cprops *c)
{
	memset(c, 0, sizeof(*c));
	c->enc = -1;
	for (size_t i = 0; i < n; i++) {
		const char *k = props[i].name, *v = props[i].value;
		char *end;

		if (!strcmp(k, "encryption")) {
			if (!strcmp(v, "on") || !strcmp(v, "aes-256-gcm"))
				c->enc = 1;
			else if (!strcmp(v, "off"))
				c->enc = 0;
			else
				return ss_err(SS_EINVAL, "invalid encryption"
				    " '%s': snapseal supports off, on and"
				    " aes-256-gcm", v);
		} else if (!strcmp(k, "keyformat")) {
			if (ss_keyformat_parse(v, &c->kf) != 0)
				return ss_err(SS_EINVAL, "invalid keyformat"
				    " '%s'", v);
		} else if (!strcmp(k, "keylocation")) {
			c->loc = v;
		} else if (!strcmp(k, "pbkdf2iters")) {
			c->iters = strtoull(v, &end, 10);
			if (*v == '\0' || *end != '\0')
				return ss_err(SS_EINVAL, "invalid pbkdf2iters"
				    " '%s'", v);
			c->have_iters = 1;
		}
	}
	return 0;
}

/* new_root(p, ds, c, name): make ${ds} an encryption root with a new MK. */
static int
new_root(struct ss_pool *p, struct ss_ds *ds, const struct cprops *c)
{
	struct ss_wrapped w;
	uint8_t mk[SS_KEY_LEN];
	char desc[64];
	int r;

	if ((r = ss_rand(mk, sizeof(mk))) != 0)
		return r;
	r = new_wrapping(ds->name, c->kf, c->loc ? c->loc : "prompt",
	    c->iters, c->have_iters, ds->guid, mk, &w);
	if (r == 0 && (r = ss_cat_ds_set_encroot(p->cat, ds->id, ds->id)) == 0)
		r = put_wrapped(p, ds->id, &w);
	if (r == 0 && c->loc == NULL)
		r = ss_cat_prop_set(p->cat, ds->id, "keylocation", SS_SRC_LOCAL,
		    "prompt");
	ds->encroot = ds->id;
	if (r == 0) {
		desc_of(p, ds->guid, desc);
		r = ss_keyring_add(desc, mk);
	}
	ss_cleanse(mk, sizeof(mk));
	return r;
}

/* encryption_of(parent, c, &encroot, &newroot): zfs create's matrix. */
static int
encryption_of(const struct ss_ds *parent, const struct cprops *c,
    int64_t *encroot, int *newroot)
{
	int penc = parent->encroot != 0;

	*newroot = 0;
	*encroot = 0;
	if ((c->kf || c->loc || c->have_iters) &&
	    (c->enc == 0 || (c->enc == -1 && !penc)))
		return ss_err(SS_EINVAL, "Encryption must be turned on to set"
		    " encryption properties.");
	if (c->enc == 0)
		return 0;
	if (c->kf) {
		*newroot = 1;
		return 0;
	}
	if (c->loc || c->have_iters || (c->enc == 1 && !penc))
		return ss_err(SS_EINVAL, "Keyformat required for new"
		    " encryption root.");
	*encroot = parent->encroot;
	return 0;
}

static int
create_one(struct ss_pool *p, const char *name, const struct ss_ds *parent,
    const struct ss_kv *props, size_t nprops)
{
	struct ss_ds ds;
	struct cprops c;
	uint64_t txg;
	int newroot, r;

	memset(&ds, 0, sizeof(ds));
	if ((r = split_props(props, nprops, &c)) != 0 ||
	    (r = encryption_of(parent, &c, &ds.encroot, &newroot)) != 0)
		return r;
	if ((r = ss_cat_next_txg(p->cat, &txg)) != 0)
		return r;
	ds.name = (char *)name;
	ds.parent = parent->id;
	ds.guid = ss_random_u64();
	ds.creation = ss_now_ns() / 1000000000;
	ds.createtxg = txg;
	ds.kind = SS_DS_CREATED;
	if ((r = ss_cat_ds_add(p->cat, &ds)) != 0)
		return r == SS_EEXIST ? ss_err(SS_EEXIST, "dataset already"
		    " exists") : r;
	for (size_t i = 0; i < nprops; i++) {
		const char *k = props[i].name;

		if (!strcmp(k, "encryption") || !strcmp(k, "keyformat") ||
		    !strcmp(k, "pbkdf2iters") || !strcmp(k, "keylocation"))
			continue;
		if ((r = ss_prop_set(p, &ds, k, props[i].value)) != 0)
			return r;
	}
	if (newroot && (r = new_root(p, &ds, &c)) != 0)
		return r;
	if (newroot && c.loc)
		r = ss_cat_prop_set(p->cat, ds.id, "keylocation", SS_SRC_LOCAL,
		    c.loc);
	return r;
}

/* validate_props: names and create-time rules before touching anything. */
static int
validate_props(const struct ss_kv *props, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct ss_propdef *d = ss_prop_find(props[i].name);

		if (d == NULL && !ss_prop_is_user(props[i].name))
			return ss_err(SS_EINVAL, "invalid property '%s'",
			    props[i].name);
		if (d && (d->flags & SS_PF_READONLY))
			return ss_err(SS_EINVAL, "'%s' is readonly",
			    props[i].name);
	}
	return 0;
}

static void
make_mountpoint(struct ss_pool *p, const char *name)
{
	struct ss_ds ds;
	char *mp = NULL;

	if (ss_cat_ds_get(p->cat, name, &ds) != 0)
		return;
	if (ss_ds_mountpoint(p, &ds, &mp) == 0 && mp[0] == '/' &&
	    ss_mkdir_p(mp, 0755) != 0)
		ss_pool_warn(p, "cannot create mountpoint '%s': %s", mp,
		    ss_errmsg());
	free(mp);
	ss_ds_clear(&ds);
}

int
ss_ds_create(struct ss_pool *p, const char *name, const struct ss_kv *props,
    size_t nprops, int parents)
{
	struct ss_ds parent;
	char *pname = NULL;
	const char *slash = strrchr(name, '/');
	int r;

	memset(&parent, 0, sizeof(parent));
	if ((r = ss_name_check(name, SS_NAME_DS)) != 0)
		return r;
	if (parents && ss_cat_ds_get(p->cat, name, &parent) == 0) {
		ss_ds_clear(&parent);
		return 0;	/* create -p of an existing dataset: nothing to do */
	}
	if (slash == NULL)
		return ss_err(SS_EEXIST, "dataset already exists (the pool's"
		    " root dataset)");
	if ((r = validate_props(props, nprops)) != 0)
		return r;
	if ((pname = ss_asprintf("%.*s", (int)(slash - name), name)) == NULL)
		return SS_ENOMEM;
	if ((r = ss_cat_begin(p->cat)) != 0)
		goto out;
	r = ss_cat_ds_get(p->cat, pname, &parent);
	if (r == SS_ENOENT && parents) {
		/* create the missing ancestors first, outside this txn */
		ss_cat_rollback(p->cat);
		if ((r = ss_ds_create(p, pname, NULL, 0, 1)) != 0 &&
		    r != SS_EEXIST)
			goto out;
		if ((r = ss_cat_begin(p->cat)) != 0)
			goto out;
		r = ss_cat_ds_get(p->cat, pname, &parent);
	}
	if (r == SS_ENOENT)
		r = ss_err(SS_ENOENT, "parent does not exist");
	if (r == 0 && parent.kind == SS_DS_RECEIVED && 0)
		r = SS_EINVAL;
	if (r == 0)
		r = create_one(p, name, &parent, props, nprops);
	if (r == 0)
		r = ss_cat_commit(p->cat);
	if (r != 0)
		ss_cat_rollback(p->cat);
	else
		make_mountpoint(p, name);
out:
	ss_ds_clear(&parent);
	free(pname);
	return r;
}
