/*
 * props.c: the property table, resolution with sources (local, default,
 * inherited from X, received, -) and validation of set/inherit, following
 * zfsprops(7) for the properties snapseal has.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "compress/compress.h"
#include "pool/pool.h"

#define FS SS_PF_FS
#define SN SS_PF_SNAP
#define BM SS_PF_BOOKMARK
#define RO SS_PF_READONLY
#define NUM SS_PF_NUMBER
#define SZ (SS_PF_SIZE | SS_PF_NUMBER)

static const struct ss_propdef table[] = {
	{ "type", "TYPE", RO | FS | SN | BM },
	{ "creation", "CREATION", RO | FS | SN | BM },
	{ "used", "USED", RO | SZ | FS | SN },
	{ "available", "AVAIL", RO | SZ | FS },
	{ "referenced", "REFER", RO | SZ | FS | SN },
	{ "compressratio", "RATIO", RO | FS | SN },
	{ "mountpoint", "MOUNTPOINT", SS_PF_INHERIT | FS },
	{ "compression", "COMPRESS", SS_PF_INHERIT | FS },
	{ "createtxg", "CREATETXG", RO | NUM | FS | SN | BM },
	{ "guid", "GUID", RO | NUM | FS | SN | BM },
	{ "written", "WRITTEN", RO | SZ | SN },
	{ "logicalreferenced", "LREFER", RO | SZ | FS | SN },
	{ "snapshot_count", "SSCOUNT", RO | NUM | FS },
	{ "encryption", "ENCRYPTION", SS_PF_CREATEONLY | FS | SN | BM },
	{ "keylocation", "KEYLOCATION", FS },
	{ "keyformat", "KEYFORMAT", SS_PF_CREATEONLY | FS },
	{ "pbkdf2iters", "PBKDF2ITERS", SS_PF_CREATEONLY | NUM | FS },
	{ "encryptionroot", "ENCROOT", RO | SS_PF_CRYPT | FS | SN },
	{ "keystatus", "KEYSTATUS", RO | SS_PF_CRYPT | FS | SN },
	{ "name", "NAME", RO | SS_PF_HIDDEN | FS | SN | BM },
	{ "receive_resume_token", "RESUMETOK", RO | SS_PF_HIDDEN | FS },
};

const struct ss_propdef *
ss_prop_table(size_t *n)
{
	*n = sizeof(table) / sizeof(table[0]);
	return table;
}

const struct ss_propdef *
ss_prop_find(const char *name)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (!strcmp(table[i].name, name))
			return &table[i];
	return NULL;
}

int
ss_prop_is_user(const char *name)
{
	const char *c = strchr(name, ':');

	if (c == NULL || c == name || c[1] == '\0' || strlen(name) > 255)
		return 0;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == ':' || *p == '-' || *p == '_' || *p == '.'))
			return 0;
	return 1;
}

/* ---------- helpers ---------- */

static void
setv(struct ss_propval *v, int source, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
setv(struct ss_propval *v, int source, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->value, sizeof(v->value), fmt, ap);
	va_end(ap);
	memcpy(v->exact, v->value, sizeof(v->exact));
	v->source = source;
	v->applies = 1;
}

void
ss_nicenum(uint64_t n, char *out, size_t len)
{
	static const char units[] = "BKMGTPE";
	int i = 0;
	double d = (double)n;

	if (n < 1024) {
		snprintf(out, len, "%lluB", (unsigned long long)n);
		return;
	}
	while (d >= 1024 && i < 6) {
		d /= 1024;
		i++;
	}
	if (d < 10)
		snprintf(out, len, "%.2f%c", d, units[i]);
	else if (d < 100)
		snprintf(out, len, "%.1f%c", d, units[i]);
	else
		snprintf(out, len, "%.0f%c", d, units[i]);
}

static void
setsize(struct ss_propval *v, uint64_t n)
{
	ss_nicenum(n, v->value, sizeof(v->value));
	snprintf(v->exact, sizeof(v->exact), "%llu", (unsigned long long)n);
	v->source = SS_SOURCE_NONE;
	v->applies = 1;
}


static int
wrapped_of(struct ss_pool *p, const struct ss_ds *ds, struct ss_wrapped *w)
{
	struct ss_buf b = SS_BUF_INIT;
	int r;

	if ((r = ss_cat_key_get(p->cat, ds->encroot, &b)) == 0)
		r = ss_wrapped_decode(b.p, b.len, w);
	ss_buf_free(&b);
	return r;
}

/*
 * local_or_inherited(p, ds, name, v, dflt): a property set on ${ds} or an
 * ancestor.  Mountpoints inherit with the relative path appended.
 */
static int
local_or_inherited(struct ss_pool *p, const struct ss_ds *ds,
    const char *name, struct ss_propval *v, const char *dflt)
{
	struct ss_ds cur, next;
	char *val = NULL;
	int r, first = 1;

	memset(&cur, 0, sizeof(cur));
	if ((r = ss_cat_ds_get_id(p->cat, ds->id, &cur)) != 0)
		return r;
	for (;;) {
		int src = SS_SRC_LOCAL;

		r = ss_cat_prop_get(p->cat, cur.id, name, src, &val);
		if (r == SS_ENOENT) {
			src = SS_SRC_RECEIVED;
			r = ss_cat_prop_get(p->cat, cur.id, name, src, &val);
		}
		if (r == 0) {
			const char *rest = ds->name + strlen(cur.name);

			if (!strcmp(name, "mountpoint") && *rest &&
			    strcmp(val, "none"))
				setv(v, SS_SOURCE_LOCAL, "%s%s",
				    strcmp(val, "/") ? val : "", rest);
			else
				setv(v, SS_SOURCE_LOCAL, "%s", val);
			if (!first) {
				v->source = SS_SOURCE_INHERITED;
				snprintf(v->from, sizeof(v->from), "%s",
				    cur.name);
			} else if (src == SS_SRC_RECEIVED)
				v->source = SS_SOURCE_RECEIVED;
			break;
		}
		if (r != SS_ENOENT || cur.parent == 0)
			break;
		if ((r = ss_cat_ds_get_id(p->cat, cur.parent, &next)) != 0)
			break;
		ss_ds_clear(&cur);
		cur = next;
		first = 0;
	}
	if (r == SS_ENOENT) {
		r = 0;
		if (dflt)
			setv(v, SS_SOURCE_DEFAULT, "%s", dflt);
		else if (!strcmp(name, "mountpoint"))
			setv(v, SS_SOURCE_DEFAULT, "/%s", ds->name);
		else
			setv(v, SS_SOURCE_NONE, "-");
	}
	free(val);
	ss_ds_clear(&cur);
	return r;
}

/* ---------- getters ---------- */

typedef int (*getter)(struct ss_pool *, const struct ss_obj_ref *,
    struct ss_propval *);

static int
get_type(struct ss_pool *p, const struct ss_obj_ref *o, struct ss_propval *v)
{
	setv(v, SS_SOURCE_NONE, "%s", o->kind == SS_SNAP ? "snapshot" :
	    o->kind == SS_BOOKMARK ? "bookmark" : "filesystem");
	return 0;
}

static int
get_creation(struct ss_pool *p, const struct ss_obj_ref *o,
    struct ss_propval *v)
{
	time_t t = o->kind ? (time_t)(o->snap.creation_ns / 1000000000) :
	    (time_t)o->ds.creation;
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(v->value, sizeof(v->value), "%a %b %e %H:%M %Y", &tm);
	snprintf(v->exact, sizeof(v->exact), "%lld", (long long)t);
	v->source = SS_SOURCE_NONE;
	v->applies = 1;
	return 0;
}

static int
get_used(struct ss_pool *p, const struct ss_obj_ref *o, struct ss_propval *v)
{
	uint64_t n = 0;
	int r = o->kind ? ss_snap_used(p, &o->snap, &n) :
	    ss_ds_used(p, &o->ds, &n);

	if (r == 0)
		setsize(v, n);
	else if (r != SS_ENOMEM) {
		/* a read-only catalog cannot run the dry-run destroy */
		setv(v, SS_SOURCE_NONE, "-");
		ss_errclear();
		r = 0;
	}
	return r;
}

static int
get_avail(struct ss_pool *p, const struct ss_obj_ref *o, struct ss_propval *v)
{
	struct statvfs vfs;

	if (statvfs(p->dir, &vfs) != 0)
		return ss_err_errno(SS_EIO, "statvfs");
	setsize(v, (uint64_t)vfs.f_bavail * vfs.f_frsize);
	return 0;
}

/* snap_of(p, o, s): the snapshot whose statistics describe ${o}. */
static int
snap_of(struct ss_pool *p, const struct ss_obj_ref *o, struct ss_snap *s)
{
	if (o->kind) {
		*s = o->snap;
		s->name = NULL;
		return 0;
	}
	return ss_ds_latest(p, &o->ds, s);
}

static int
get_snapstat(struct ss_pool *p, const struct ss_obj_ref *o,
    struct ss_propval *v, int which)
{
	struct ss_snap s;
	int r = snap_of(p, o, &s);

	if (r == SS_ENOENT)
		memset(&s, 0, sizeof(s));
	else if (r != 0)
		return r;
	if (which == 0)
		setsize(v, s.referenced);
	else if (which == 1)
		setsize(v, s.logical);
	else if (which == 2)
		setsize(v, s.written);
	else {
		double ratio = s.referenced ? (double)s.logical /
		    (double)s.referenced : 1.0;

		if (ratio < 1.0)
			ratio = 1.0;
		setv(v, SS_SOURCE_NONE, "%.2fx", ratio);
		snprintf(v->exact, sizeof(v->exact), "%.2f", ratio);
	}
	ss_snap_clear(&s);
	return 0;
}

static int
get_refer(struct ss_pool *p, const struct ss_obj_ref *o, struct ss_propval *v)
{
	return get_snapstat(p, o, v, 0);
}

static int
get_lrefer(struct ss_pool *p, const struct ss_obj_ref *o, struct ss_propval *v)
{
	return get_snapstat(p, o, v, 1);
}

static int
get_written(struct ss_pool *p, const struct ss_obj_ref *o,
    struct ss_propval *v)
{
	return get_snapstat(p, o, v, 2);
}

static int
get_ratio(struct ss_pool *p, const struct ss_obj_ref *o, struct ss_propval *v)
{
	return get_snapstat(p, o, v, 3);
}

static int
get_mountpoint(struct ss_pool *p, const struct ss_obj_ref *o,
    struct ss_propval *v)
{
	return local_or_inherited(p, &o->ds, "mountpoint", v, NULL);
}

static int
get_compression(struct ss_pool *p, const struct ss_obj_ref *o,
    struct ss_propval *v)
{
	return local_or_inherited(p, &o->ds, "compression", v, "zstd");
}

static int
get_txg(struct ss_pool *p, const struct ss_obj_ref *o, struct ss_propval *v)
{
	setv(v, SS_SOURCE_NONE, "%llu", (unsigned long long)(o->kind ?
	    o->snap.createtxg : o->ds.createtxg));
	return 0;
}

static int
get_guid(struct ss_pool *p, const struct ss_obj_ref *o, struct ss_propval *v)
{
	setv(v, SS_SOURCE_NONE, "%llu", (unsigned long long)(o->kind ?
	    o->snap.guid : o->ds.guid));
	return 0;
}

static int
get_sscount(struct ss_pool *p, const struct ss_obj_ref *o,
    struct ss_propval *v)
{
	struct ss_snap *s = NULL;
	size_t n = 0;
	int r = ss_cat_snap_list(p->cat, o->ds.id, SS_SNAP, &s, &n);

	if (r == 0)
		setv(v, SS_SOURCE_NONE, "%zu", n);
	ss_snap_list_free(s, n);
	return r;
}

static int
get_encryption(struct ss_pool *p, const struct ss_obj_ref *o,
    struct ss_propval *v)
{
	if (o->ds.encroot)
		setv(v, SS_SOURCE_NONE, "aes-256-gcm");
	else
		setv(v, SS_SOURCE_DEFAULT, "off");
	return 0;
}

static int
get_keylocation(struct ss_pool *p, const struct ss_obj_ref *o,
    struct ss_propval *v)
{
	char *val = NULL;
	int r;

	if (o->ds.encroot != o->ds.id) {
		setv(v, SS_SOURCE_DEFAULT, "none");
		return 0;
	}
	r = ss_cat_prop_get(p->cat, o->ds.id, "keylocation", SS_SRC_LOCAL,
	    &val);
	if (r == SS_ENOENT) {
		setv(v, SS_SOURCE_LOCAL, "prompt");
		return 0;
	}
	if (r == 0)
		setv(v, SS_SOURCE_LOCAL, "%s", val);
	free(val);
	return r;
}

static int
get_keyformat(struct ss_pool *p, const struct ss_obj_ref *o,
    struct ss_propval *v)
{
	struct ss_wrapped w;
	int r;

	if (!o->ds.encroot) {
		setv(v, SS_SOURCE_DEFAULT, "none");
		return 0;
	}
	if ((r = wrapped_of(p, &o->ds, &w)) == 0)
		setv(v, SS_SOURCE_NONE, "%s", ss_keyformat_name(w.keyformat));
	return r;
}

static int
get_pbkdf2iters(struct ss_pool *p, const struct ss_obj_ref *o,
    struct ss_propval *v)
{
	struct ss_wrapped w;
	int r;

	if (!o->ds.encroot) {
		setv(v, SS_SOURCE_DEFAULT, "0");
		return 0;
	}
	if ((r = wrapped_of(p, &o->ds, &w)) == 0)
		setv(v, w.iters ? SS_SOURCE_NONE : SS_SOURCE_DEFAULT, "%llu",
		    (unsigned long long)w.iters);
	return r;
}

static int
get_encroot(struct ss_pool *p, const struct ss_obj_ref *o,
    struct ss_propval *v)
{
	struct ss_ds root;
	int r;

	if (!o->ds.encroot) {
		setv(v, SS_SOURCE_NONE, "-");
		v->applies = 0;
		return 0;
	}
	if ((r = ss_cat_ds_get_id(p->cat, o->ds.encroot, &root)) == 0)
		setv(v, SS_SOURCE_NONE, "%s", root.name);
	ss_ds_clear(&root);
	return r;
}

static int
get_keystatus(struct ss_pool *p, const struct ss_obj_ref *o,
    struct ss_propval *v)
{
	int ks = ss_ds_keystatus(p, &o->ds);

	setv(v, SS_SOURCE_NONE, "%s", ks == 1 ? "available" :
	    ks == 2 ? "unavailable" : "-");
	v->applies = ks != 0;
	return 0;
}

static int
get_name(struct ss_pool *p, const struct ss_obj_ref *o, struct ss_propval *v)
{
	if (o->kind)
		setv(v, SS_SOURCE_NONE, "%s%c%s", o->ds.name,
		    o->kind == SS_SNAP ? '@' : '#', o->snap.name);
	else
		setv(v, SS_SOURCE_NONE, "%s", o->ds.name);
	return 0;
}

static int
get_resume_token(struct ss_pool *p, const struct ss_obj_ref *o,
    struct ss_propval *v)
{
	char *t = NULL;
	int r = ss_resume_token(p, &o->ds, &t);

	if (r == SS_ENOENT) {
		setv(v, SS_SOURCE_NONE, "-");
		return 0;
	}
	if (r == 0)
		setv(v, SS_SOURCE_NONE, "%s", t);
	free(t);
	return r;
}

static const struct {
	const char *name;
	getter fn;
} getters[] = {
	{ "type", get_type }, { "creation", get_creation },
	{ "used", get_used }, { "available", get_avail },
	{ "referenced", get_refer }, { "compressratio", get_ratio },
	{ "mountpoint", get_mountpoint }, { "compression", get_compression },
	{ "createtxg", get_txg }, { "guid", get_guid },
	{ "written", get_written }, { "logicalreferenced", get_lrefer },
	{ "snapshot_count", get_sscount },
	{ "encryption", get_encryption }, { "keylocation", get_keylocation },
	{ "keyformat", get_keyformat }, { "pbkdf2iters", get_pbkdf2iters },
	{ "encryptionroot", get_encroot }, { "keystatus", get_keystatus },
	{ "name", get_name },
	{ "receive_resume_token", get_resume_token },
};

static int
applies(const struct ss_propdef *d, const struct ss_obj_ref *o)
{
	int need = o->kind == SS_SNAP ? SS_PF_SNAP :
	    o->kind == SS_BOOKMARK ? SS_PF_BOOKMARK : SS_PF_FS;

	return (d->flags & need) != 0;
}

int
ss_prop_get(struct ss_pool *p, const struct ss_obj_ref *o, const char *name,
    struct ss_propval *v)
{
	const struct ss_propdef *d = ss_prop_find(name);

	memset(v, 0, sizeof(*v));
	if (d == NULL) {
		if (!ss_prop_is_user(name))
			return ss_err(SS_EINVAL, "bad property list: invalid"
			    " property '%s'", name);
		if (o->kind) {
			setv(v, SS_SOURCE_NONE, "-");
			return 0;
		}
		return local_or_inherited(p, &o->ds, name, v, NULL);
	}
	if (!applies(d, o)) {
		setv(v, SS_SOURCE_NONE, "-");
		v->applies = 0;
		return 0;
	}
	for (size_t i = 0; i < sizeof(getters) / sizeof(getters[0]); i++)
		if (!strcmp(getters[i].name, name))
			return getters[i].fn(p, o, v);
	return ss_err(SS_EINVAL, "property '%s' has no value", name);
}

int
ss_prop_user_names(struct ss_pool *p, const struct ss_obj_ref *o,
    char ***names, size_t *n)
{
	struct ss_ds cur;
	char **all = NULL, **v, **nv;
	size_t cnt = 0, k;
	int64_t id;
	int r = 0;

	*names = NULL;
	*n = 0;
	if (o->kind)
		return 0;
	for (id = o->ds.id; id != 0 && r == 0; id = cur.parent) {
		if ((r = ss_cat_ds_get_id(p->cat, id, &cur)) != 0)
			break;
		v = NULL;
		k = 0;
		r = ss_cat_prop_names(p->cat, id, &v, &k);
		for (size_t i = 0; r == 0 && i < k; i++) {
			size_t j;

			for (j = 0; j < cnt && strcmp(all[j], v[i]); j++)
				;
			if (j < cnt)
				continue;
			if ((nv = ss_realloc(all, (cnt + 1) * sizeof(*nv))) ==
			    NULL) {
				r = SS_ENOMEM;
				break;
			}
			all = nv;
			all[cnt++] = v[i];
			v[i] = NULL;
		}
		ss_strv_free(v, k);
		int64_t parent = cur.parent;
		ss_ds_clear(&cur);
		cur.parent = parent;
	}
	if (r != 0) {
		ss_strv_free(all, cnt);
		return r;
	}
	*names = all;
	*n = cnt;
	return 0;
}

/* ---------- set / inherit ---------- */

static int
check_value(struct ss_pool *p, const struct ss_ds *ds, const char *name,
    const char *value)
{
	int a, l, r;

	if (!strcmp(name, "mountpoint")) {
		if (value[0] != '/' && strcmp(value, "none"))
			return ss_err(SS_EINVAL, "bad mountpoint '%s': must be"
			    " an absolute path or 'none'", value);
		return 0;
	}
	if (!strcmp(name, "compression"))
		return ss_comp_parse(value, &a, &l) ? ss_err(SS_EINVAL,
		    "bad compression '%s': expected off, on, lz4, zstd or"
		    " zstd-1 to zstd-19", value) : 0;
	if (!strcmp(name, "keylocation")) {
		if ((r = ss_keylocation_valid(value)) != 0)
			return r;
		if (ds->encroot == 0 && strcmp(value, "none"))
			return ss_err(SS_EINVAL, "keylocation must be 'none'"
			    " for unencrypted datasets");
		if (ds->encroot != 0 && ds->encroot != ds->id)
			return ss_err(SS_EINVAL, "keylocation can only be set"
			    " on encryption roots (%s inherits its key)",
			    ds->name);
		if (ds->encroot != 0 && !strcmp(value, "none"))
			return ss_err(SS_EINVAL, "keylocation must not be"
			    " 'none' for encrypted datasets");
		return 0;
	}
	if (strlen(value) >= SS_PROPVAL_MAX)
		return ss_err(SS_EINVAL, "property value is too long");
	return 0;
}

int
ss_prop_set(struct ss_pool *p, const struct ss_ds *ds, const char *name,
    const char *value)
{
	const struct ss_propdef *d = ss_prop_find(name);
	int r;

	if (d == NULL && !ss_prop_is_user(name))
		return ss_err(SS_EINVAL, "invalid property '%s'", name);
	if (d && (d->flags & SS_PF_READONLY))
		return ss_err(SS_EINVAL, "'%s' is readonly", name);
	if (d && (d->flags & SS_PF_CREATEONLY))
		return ss_err(SS_EINVAL, "'%s' can only be set at creation%s",
		    name, strcmp(name, "encryption") ? "; use 'snapseal"
		    " change-key' to change it" : "");
	if ((r = check_value(p, ds, name, value)) != 0)
		return r;
	return ss_cat_prop_set(p->cat, ds->id, name, SS_SRC_LOCAL, value);
}

int
ss_prop_inherit(struct ss_pool *p, const struct ss_ds *ds, const char *name)
{
	const struct ss_propdef *d = ss_prop_find(name);

	if (d == NULL && !ss_prop_is_user(name))
		return ss_err(SS_EINVAL, "invalid property '%s'", name);
	if (d && (d->flags & (SS_PF_READONLY | SS_PF_CREATEONLY)))
		return ss_err(SS_EINVAL, "'%s' property cannot be inherited",
		    name);
	if (d && !(d->flags & SS_PF_INHERIT))
		return ss_err(SS_EINVAL, "'%s' property cannot be inherited",
		    name);
	return ss_cat_prop_del(p->cat, ds->id, name, SS_SRC_LOCAL);
}

/* ---------- received properties ---------- */

int
ss_prop_receive(struct ss_pool *p, const struct ss_ds *ds, const char *name,
    const char *value)
{
	const struct ss_propdef *d = ss_prop_find(name);
	int r;

	if (d == NULL ? !ss_prop_is_user(name) : !(d->flags & SS_PF_INHERIT))
		return ss_err(SS_EINVAL, "property '%s' cannot be received",
		    name);
	if ((r = check_value(p, ds, name, value)) != 0)
		return r;
	return ss_cat_prop_set(p->cat, ds->id, name, SS_SRC_RECEIVED, value);
}

int
ss_prop_clear_received(struct ss_pool *p, const struct ss_ds *ds)
{
	char **user = NULL;
	size_t n = 0;
	int r = 0;

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]) && r == 0; i++)
		if (table[i].flags & SS_PF_INHERIT)
			r = ss_cat_prop_del(p->cat, ds->id, table[i].name,
			    SS_SRC_RECEIVED);
	if (r == 0)
		r = ss_cat_prop_names(p->cat, ds->id, &user, &n);
	for (size_t i = 0; i < n; i++) {
		if (r == 0)
			r = ss_cat_prop_del(p->cat, ds->id, user[i],
			    SS_SRC_RECEIVED);
		free(user[i]);
	}
	free(user);
	return r;
}
