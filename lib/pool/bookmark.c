/*
 * bookmark.c: bookmarks (zfs-bookmark(8)).
 *
 * A bookmark is a row of the snaps table (kind SS_BOOKMARK) with its
 * snapshot's guid, createtxg, creation, root, prev_guid and statistics,
 * plus the sorted list of every object identifier the snapshot reached
 * (docs/format.md 3.9).  It holds no reference: destroying the snapshot
 * frees its space, and the bookmark still tells send which objects a
 * receiver of that snapshot holds, so that an incremental can be sent from
 * it.  Nothing here needs a key: the walk reads only the visible headers
 * of interior objects, and leaves are known from the index.
 */
#include <stdlib.h>
#include <string.h>

#include "pool/pool.h"
#include "stream/stream.h"

/* ---------- the objects a snapshot reaches ---------- */

struct reach {
	struct ss_pool *p;
	struct ss_packr *pr;
	struct ss_idset *seen;
	struct ss_id *ids;	/* every identifier reached, once */
	size_t n, cap;
	struct ss_id *stack;	/* to visit */
	size_t ns, scap;
	struct ss_buf obj;
};

static int
reach_push(struct reach *w, const struct ss_id *id)
{
	if (ss_grow(&w->stack, &w->scap, w->ns, sizeof(*w->stack)) != 0)
		return SS_ENOMEM;
	w->stack[w->ns++] = *id;
	return 0;
}

/* reach_one(w, id): record ${id}; push the references of an interior one. */
static int
reach_one(struct reach *w, const struct ss_id *id)
{
	struct ss_objrow row;
	struct ss_objhdr h;
	int r;

	if ((r = ss_idset_add(w->seen, id->b)) <= 0)
		return r;
	if (ss_grow(&w->ids, &w->cap, w->n, sizeof(*w->ids)) != 0)
		return SS_ENOMEM;
	w->ids[w->n++] = *id;
	if ((r = ss_cat_obj_get(w->p->cat, id, &row)) == SS_ENOENT)
		return ss_err(SS_ECORRUPT, "an object of the snapshot is missing"
		    " from the pool");
	if (r != 0 || row.nchild == 0)
		return r;
	if ((r = ss_packr_read(w->pr, id, &row.loc, &w->obj)) != 0 ||
	    (r = ss_obj_parse(id, w->obj.p, w->obj.len, &h)) != 0)
		return r;
	for (uint32_t i = 0; i < h.nrefs && r == 0; i++) {
		struct ss_id c;

		memcpy(c.b, h.refs + (size_t)i * SS_ID_LEN, SS_ID_LEN);
		if (!ss_idset_has(w->seen, c.b))
			r = reach_push(w, &c);
	}
	return r;
}

static int
cmp_id(const void *a, const void *b)
{
	return ss_id_cmp(a, b);
}

/*
 * reach_all(p, root, &ids, &n): every identifier reachable from ${root},
 * sorted ascending (newly allocated).
 */
static int
reach_all(struct ss_pool *p, const struct ss_id *root, struct ss_id **ids,
    size_t *n)
{
	struct reach w;
	int r;

	memset(&w, 0, sizeof(w));
	w.p = p;
	w.pr = ss_pool_packr(p);
	w.seen = ss_idset_new();
	r = w.pr && w.seen ? reach_push(&w, root) : SS_ENOMEM;
	while (r == 0 && w.ns > 0) {
		struct ss_id id = w.stack[--w.ns];

		r = reach_one(&w, &id);
	}
	if (r == 0 && w.n > 1)
		qsort(w.ids, w.n, sizeof(*w.ids), cmp_id);
	ss_idset_free(w.seen);
	free(w.stack);
	ss_buf_free(&w.obj);
	if (r < 0) {
		free(w.ids);
		return r;
	}
	*ids = w.ids;
	*n = w.n;
	return 0;
}

/* ---------- names ---------- */

/* ds_part(name): the length of the dataset part of a full name. */
static size_t
ds_part(const char *name)
{
	return strcspn(name, "@#");
}

/*
 * expand(src, bm, &fsrc, &fbm): full names; exactly one of the two may be
 * abbreviated ("@snap", "#mark", "#new"), and takes the other's dataset.
 */
static int
expand(const char *src, const char *bm, char **fsrc, char **fbm)
{
	int asrc = src[0] == '@' || src[0] == '#', abm = bm[0] == '#';

	*fsrc = *fbm = NULL;
	if (asrc && abm)
		return ss_err(SS_EINVAL, "either source or bookmark must be"
		    " specified as full dataset paths");
	*fsrc = asrc ? ss_asprintf("%.*s%s", (int)ds_part(bm), bm, src) :
	    ss_strdup(src);
	*fbm = abm ? ss_asprintf("%.*s%s", (int)ds_part(src), src, bm) :
	    ss_strdup(bm);
	return *fsrc && *fbm ? 0 : SS_ENOMEM;
}

/* check_names(src, bm): syntax, same pool, same dataset. */
static int
check_names(const char *src, const char *bm)
{
	char ps[SS_NAME_MAX + 1], pb[SS_NAME_MAX + 1];
	size_t ls = ds_part(src), lb = ds_part(bm);
	int r;

	if (strchr(bm, '#') == NULL)
		return ss_err(SS_EINVAL, "invalid bookmark name '%s': must"
		    " contain a '#'", bm);
	if (src[ls] == '\0')
		return ss_err(SS_EINVAL, "invalid source name '%s': must"
		    " contain a '@' or '#'", src);
	if ((r = ss_name_check(bm, SS_NAME_BOOKMARK)) != 0 ||
	    (r = ss_name_check(src, SS_NAME_SNAP | SS_NAME_BOOKMARK)) != 0)
		return r;
	if ((r = ss_name_pool(src, ps, sizeof(ps))) != 0 ||
	    (r = ss_name_pool(bm, pb, sizeof(pb))) != 0)
		return r;
	if (strcmp(ps, pb) != 0)
		return ss_err(SS_EINVAL, "bookmark is in a different pool");
	if (ls != lb || strncmp(src, bm, ls) != 0)
		return ss_err(SS_EINVAL, "source is not an ancestor of the new"
		    " bookmark's dataset");
	return 0;
}

/* ---------- create ---------- */

/*
 * add_bookmark(p, o, name): the bookmark row ${name} of ${o}'s dataset,
 * a copy of the snapshot or bookmark ${o}, with its object list.
 */
static int
add_bookmark(struct ss_pool *p, const struct ss_obj_ref *o, const char *name)
{
	struct ss_snap b, old;
	struct ss_id *ids = NULL;
	size_t n = 0;
	int r;

	if (ss_cat_snap_get(p->cat, o->ds.id, name, SS_BOOKMARK, &old) == 0) {
		ss_snap_clear(&old);
		return ss_err(SS_EEXIST, "bookmark exists");
	}
	b = o->snap;
	b.id = 0;
	b.name = (char *)name;
	b.kind = SS_BOOKMARK;
	b.written = 0;		/* a bookmark adds nothing to the pool */
	if ((r = ss_cat_snap_add(p->cat, &b)) != 0)
		return r == SS_EEXIST ? ss_err(r, "bookmark exists") : r;
	if (o->kind == SS_BOOKMARK) {
		if ((r = ss_cat_bmids_copy(p->cat, o->snap.id, b.id)) ==
		    SS_ENOENT)
			r = ss_err(SS_ECORRUPT, "bookmark '%s#%s' has no object"
			    " list", o->ds.name, o->snap.name);
		return r;
	}
	if ((r = reach_all(p, &o->snap.root, &ids, &n)) == 0)
		r = ss_cat_bmids_put(p->cat, b.id, ids, n);
	free(ids);
	return r;
}

int
ss_bookmark(struct ss_pool *p, const char *snap, const char *bookmark)
{
	struct ss_obj_ref o;
	char *src = NULL, *bm = NULL;
	int r;

	memset(&o, 0, sizeof(o));
	if ((r = expand(snap, bookmark, &src, &bm)) != 0 ||
	    (r = check_names(src, bm)) != 0)
		goto out;
	if ((r = ss_cat_begin(p->cat)) != 0)
		goto out;
	if ((r = ss_resolve(p, src, &o)) == 0)
		r = add_bookmark(p, &o, strchr(bm, '#') + 1);
	if (r == 0)
		r = ss_cat_commit(p->cat);
	if (r != 0)
		ss_cat_rollback(p->cat);
out:
	ss_obj_ref_clear(&o);
	free(src);
	free(bm);
	return r;
}

/* ---------- destroy ---------- */

int
ss_bookmark_destroy(struct ss_pool *p, const char *name, int flags,
    ss_destroy_cb cb, void *arg)
{
	int dry = (flags & SS_DESTROY_DRYRUN) != 0, r;
	struct ss_obj_ref o;

	memset(&o, 0, sizeof(o));
	if ((r = ss_name_check(name, SS_NAME_BOOKMARK)) != 0)
		return r;
	if ((r = dry ? ss_cat_savepoint(p->cat) : ss_cat_begin(p->cat)) != 0)
		return r;
	if ((r = ss_resolve(p, name, &o)) == 0) {
		if (cb)
			cb(arg, name);
		r = ss_cat_snap_del(p->cat, o.snap.id);
	}
	if (dry)
		ss_cat_rollback_savepoint(p->cat);
	else {
		if (r == 0)
			r = ss_cat_commit(p->cat);
		if (r != 0)
			ss_cat_rollback(p->cat);
	}
	ss_obj_ref_clear(&o);
	return r;
}

/* ---------- the object list ---------- */

static int
add_to_set(void *arg, const struct ss_id *id)
{
	int r = ss_idset_add(arg, id->b);

	return r < 0 ? r : 0;
}

int
ss_bookmark_ids(struct ss_pool *p, const struct ss_snap *bm,
    struct ss_idset *set)
{
	int r;

	if (bm->kind != SS_BOOKMARK)
		return ss_err(SS_EINVAL, "'%s' is not a bookmark", bm->name);
	r = ss_cat_bmids_each(p->cat, bm->id, add_to_set, set);
	if (r == SS_ENOENT)
		r = ss_err(SS_ECORRUPT, "bookmark '%s' has no object list",
		    bm->name);
	return r;
}
