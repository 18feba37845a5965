/*
 * destroy.c: destroying snapshots and datasets, and USED accounting (which
 * is a destroy done in a savepoint and rolled back).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool/space.h"

/* ---------- selecting snapshots ---------- */

static long
find_snap(const struct ss_snap *v, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(v[i].name) == len && !strncmp(v[i].name, name, len))
			return (long)i;
	return -1;
}

/*
 * select_item(v, n, item, len, sel, strict): mark the snapshots one item of
 * a destroy spec names: "a", "a%b", "%b", "a%".  Missing names are an
 * error when ${strict}.
 */
static int
select_item(const struct ss_snap *v, size_t n, const char *item, size_t len,
    char *sel, int strict)
{
	const char *pct = memchr(item, '%', len);
	long from, to;

	if (pct == NULL) {
		from = to = find_snap(v, n, item, len);
	} else {
		size_t fl = (size_t)(pct - item), tl = len - fl - 1;

		from = fl ? find_snap(v, n, item, fl) : 0;
		to = tl ? find_snap(v, n, pct + 1, tl) : (long)n - 1;
	}
	if (from < 0 || to < 0) {
		if (strict)
			return ss_err(SS_ENOENT, "could not find any snapshots"
			    " to destroy; check snapshot names.");
		return 0;
	}
	if (from > to)
		return ss_err(SS_EINVAL, "snapshot range '%.*s' is reversed",
		    (int)len, item);
	for (long i = from; i <= to; i++)
		sel[i] = 1;
	return 0;
}

static int
select_snaps(const struct ss_snap *v, size_t n, const char *spec, char *sel,
    int strict)
{
	const char *p = spec;
	int r = 0;

	while (r == 0) {
		size_t len = strcspn(p, ",");

		if (len == 0)
			return ss_err(SS_EINVAL, "empty snapshot name in '%s'",
			    spec);
		r = select_item(v, n, p, len, sel, strict);
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	return r;
}

/* ---------- releasing ---------- */

static int
drop_snap(struct ss_pool *p, const struct ss_snap *s, struct ss_freelist *f)
{
	int r;

	if ((r = ss_cat_snap_del(p->cat, s->id)) != 0)
		return r;
	return s->kind == SS_SNAP ? ss_release(p, &s->root, f) : 0;
}

/*
 * drop_all(p, ds, f, cb, arg): every snapshot and bookmark of a dataset,
 * and what a partial receive into it keeps.
 */
static int
drop_all(struct ss_pool *p, const struct ss_ds *ds, struct ss_freelist *f,
    ss_destroy_cb cb, void *arg)
{
	struct ss_snap *v = NULL;
	size_t n = 0;
	char *full;
	int r;

	if ((r = ss_cat_snap_list(p->cat, ds->id, 0, &v, &n)) != 0)
		return r;
	for (size_t i = n; i > 0 && r == 0; i--) {
		if (cb && (full = ss_asprintf("%s%c%s", ds->name,
		    v[i - 1].kind == SS_SNAP ? '@' : '#', v[i - 1].name))) {
			cb(arg, full);
			free(full);
		}
		r = drop_snap(p, &v[i - 1], f);
	}
	ss_snap_list_free(v, n);
	/* the objects a saved partial receive holds (receive -s) */
	return r == 0 ? ss_resume_release(p, ds->id, f) : r;
}

/* begin, or a savepoint with ${f} a dry run's; and the matching end */
static int
txn_begin(struct ss_pool *p, int dry, struct ss_freelist *f)
{
	if (!dry)
		return ss_cat_begin(p->cat);
	ss_freelist_dry(f);
	return ss_cat_savepoint(p->cat);
}

static int
txn_end(struct ss_pool *p, int dry, int r, struct ss_freelist *f)
{
	if (dry) {
		ss_cat_rollback_savepoint(p->cat);
		return r;
	}
	if (r == 0) {
		ss_crashpoint("destroy-released");
		r = ss_cat_commit(p->cat);
	}
	if (r != 0)
		ss_cat_rollback(p->cat);
	else {
		ss_crashpoint("destroy-committed");
		ss_reclaim(p, f);
	}
	return r;
}

/* ---------- snapshots ---------- */

static int
destroy_in(struct ss_pool *p, const struct ss_ds *ds, const char *spec,
    int strict, int *found, struct ss_freelist *f, ss_destroy_cb cb, void *arg)
{
	struct ss_snap *v = NULL;
	size_t n = 0;
	char *sel = NULL, *full;
	int r;

	if ((r = ss_cat_snap_list(p->cat, ds->id, SS_SNAP, &v, &n)) != 0)
		return r;
	if ((sel = ss_calloc(n + 1, 1)) == NULL) {
		r = SS_ENOMEM;
		goto out;
	}
	if ((r = select_snaps(v, n, spec, sel, strict)) != 0)
		goto out;
	for (size_t i = 0; i < n && r == 0; i++) {
		if (!sel[i])
			continue;
		*found = 1;
		if (cb && (full = ss_asprintf("%s@%s", ds->name, v[i].name))) {
			cb(arg, full);
			free(full);
		}
		r = drop_snap(p, &v[i], f);
	}
out:
	free(sel);
	ss_snap_list_free(v, n);
	return r;
}

int
ss_snap_destroy(struct ss_pool *p, const char *dsname, const char *spec,
    int flags, uint64_t *freed, ss_destroy_cb cb, void *arg)
{
	int dry = (flags & SS_DESTROY_DRYRUN) != 0, found = 0, r;
	struct ss_freelist f;
	struct ss_ds *v = NULL;
	size_t n = 0;

	memset(&f, 0, sizeof(f));
	if (flags & SS_DESTROY_RECURSIVE)
		r = ss_cat_ds_list(p->cat, dsname, &v, &n);
	else if ((v = ss_calloc(1, sizeof(*v))) == NULL)
		r = SS_ENOMEM;
	else if ((r = ss_cat_ds_get(p->cat, dsname, v)) == 0)
		n = 1;
	if (r == SS_ENOENT || (r == 0 && n == 0))
		r = ss_err(SS_ENOENT, "dataset does not exist");
	if (r == 0 && (r = txn_begin(p, dry, &f)) == 0) {
		for (size_t i = 0; i < n && r == 0; i++)
			r = destroy_in(p, &v[i], spec,
			    !(flags & SS_DESTROY_RECURSIVE), &found, &f, cb, arg);
		if (r == 0 && !found)
			r = ss_err(SS_ENOENT, "could not find any snapshots to"
			    " destroy; check snapshot names.");
		r = txn_end(p, dry, r, &f);
	}
	if (freed)
		*freed = f.bytes;
	ss_freelist_free(&f);
	ss_ds_list_free(v, n);
	return r;
}

/* ---------- datasets ---------- */

/*
 * children_list(p, v, n, out, len, &count): the names a non-recursive
 * destroy of v[0] refuses to take along: its snapshots and descendants.
 * Bookmarks hold no data and go with their dataset, as in zfs.
 */
static int
children_list(struct ss_pool *p, const struct ss_ds *v, size_t n, char *out,
    size_t len, size_t *count)
{
	struct ss_snap *s = NULL;
	size_t ns = 0, o = 0;
	int r;

	out[0] = '\0';
	*count = 0;
	if ((r = ss_cat_snap_list(p->cat, v[0].id, SS_SNAP, &s, &ns)) != 0)
		return r;
	for (size_t i = 0; i < ns + n - 1; i++, (*count)++)
		if (o + 4 < len)
			o += (size_t)snprintf(out + o, len - o, "%s%s%s%s",
			    *count ? ", " : "", i < ns ? v[0].name : "",
			    i < ns ? "@" : "",
			    i < ns ? s[i].name : v[i - ns + 1].name);
	ss_snap_list_free(s, ns);
	return 0;
}

int
ss_ds_destroy(struct ss_pool *p, const char *name, int flags,
    uint64_t *freed, ss_destroy_cb cb, void *arg)
{
	int dry = (flags & SS_DESTROY_DRYRUN) != 0, r;
	struct ss_freelist f;
	struct ss_ds *v = NULL;
	size_t n = 0;
	char kids[512];

	memset(&f, 0, sizeof(f));
	if ((r = ss_name_check(name, SS_NAME_DS)) != 0)
		return r;
	if ((r = ss_cat_ds_list(p->cat, name, &v, &n)) != 0)
		return r;
	if (n == 0 || strcmp(v[0].name, name)) {
		r = ss_err(SS_ENOENT, "dataset does not exist");
		goto out;
	}
	if (v[0].parent == 0) {
		r = ss_err(SS_EINVAL, "operation does not apply to pools; use"
		    " 'snapseal pool destroy'");
		goto out;
	}
	if (!(flags & SS_DESTROY_RECURSIVE)) {
		size_t nkids;

		if ((r = children_list(p, v, n, kids, sizeof(kids), &nkids)))
			goto out;
		if (nkids) {
			r = ss_err(SS_EBUSY, "filesystem has children (%s);"
			    " use '-r' to destroy them", kids);
			goto out;
		}
	}
	if ((r = txn_begin(p, dry, &f)) != 0)
		goto out;
	for (size_t i = n; i > 0 && r == 0; i--) {
		if (cb)
			cb(arg, v[i - 1].name);
		if ((r = drop_all(p, &v[i - 1], &f, cb, arg)) == 0 && !dry)
			r = ss_cat_ds_del(p->cat, v[i - 1].id);
	}
	r = txn_end(p, dry, r, &f);
	for (size_t i = 0; r == 0 && !dry && i < n; i++) {
		char desc[64];

		if (v[i].encroot != v[i].id)
			continue;
		ss_keyring_desc(p->guid, v[i].guid, desc);
		ss_keyring_del(desc);
		ss_errclear();
	}
	if (freed)
		*freed = f.bytes;
out:
	ss_freelist_free(&f);
	ss_ds_list_free(v, n);
	return r;
}

/* ---------- USED ---------- */

int
ss_snap_used(struct ss_pool *p, const struct ss_snap *s, uint64_t *used)
{
	struct ss_freelist f;
	int r;

	memset(&f, 0, sizeof(f));
	ss_freelist_dry(&f);
	if ((r = ss_cat_savepoint(p->cat)) != 0) {
		ss_freelist_free(&f);
		return r;
	}
	r = drop_snap(p, s, &f);
	ss_cat_rollback_savepoint(p->cat);
	*used = f.bytes;
	ss_freelist_free(&f);
	return r;
}

int
ss_ds_used(struct ss_pool *p, const struct ss_ds *ds, uint64_t *used)
{
	struct ss_freelist f;
	struct ss_ds *v = NULL;
	size_t n = 0;
	int r;

	memset(&f, 0, sizeof(f));
	if ((r = ss_cat_ds_list(p->cat, ds->name, &v, &n)) != 0)
		return r;
	ss_freelist_dry(&f);
	if ((r = ss_cat_savepoint(p->cat)) == 0) {
		for (size_t i = 0; i < n && r == 0; i++)
			r = drop_all(p, &v[i], &f, NULL, NULL);
		ss_cat_rollback_savepoint(p->cat);
	}
	*used = f.bytes;
	ss_freelist_free(&f);
	ss_ds_list_free(v, n);
	return r;
}
