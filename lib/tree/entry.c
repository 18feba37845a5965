/*
 * entry.c: encoding and bounded decoding of directory objects, and the
 * object load/store helpers shared by snapshot and restore.
 * Layout in docs/format.md ("Directory objects").
 */
#include <stdlib.h>
#include <string.h>

#include "tree/tree.h"

int
ss_tree_path_err(int r, const char *path)
{
	char *m = ss_strdup(ss_errmsg());

	r = ss_err(r, "%s: %s", path, m && *m ? m : ss_strerror(r));
	free(m);
	return r;
}

void
ss_tree_init(struct ss_tree *t)
{
	memset(t, 0, sizeof(*t));
}

void
ss_tree_release(struct ss_tree *t)
{
	ss_buf_free(&t->obj);
	ss_buf_free(&t->hrefs);
	free(t->newids);
	t->newids = NULL;
	ss_buf_wipe(&t->pt);
	ss_buf_wipe(&t->io);
	ss_cleanse(t->k_fp, sizeof(t->k_fp));
	t->fp_on = 0;
}

void
ss_dir_free(struct ss_dir *d)
{
	if (d == NULL)
		return;
	ss_buf_wipe(&d->raw);
	free(d->ents);
	d->ents = NULL;
	d->n = 0;
}

int
ss_ent_encode(const struct ss_ent *e, struct ss_buf *b)
{
	int r = 0;

	r |= ss_buf_put_str16(b, e->name, e->namelen);
	r |= ss_buf_put_u8(b, e->type);
	r |= ss_buf_put_u8(b, e->ckind);
	r |= ss_buf_put_u32(b, e->mode);
	r |= ss_buf_put_u32(b, e->uid);
	r |= ss_buf_put_u32(b, e->gid);
	r |= ss_buf_put_u64(b, (uint64_t)e->mtime_sec);
	r |= ss_buf_put_u32(b, e->mtime_nsec);
	r |= ss_buf_put_u64(b, (uint64_t)e->ctime_sec);
	r |= ss_buf_put_u32(b, e->ctime_nsec);
	r |= ss_buf_put_u64(b, e->ino);
	r |= ss_buf_put_u64(b, e->size);
	r |= ss_buf_put_u64(b, e->hlgroup);
	r |= ss_buf_put_u64(b, e->rdev);
	r |= ss_buf_put_u64(b, e->subtree);
	if (e->ckind != SS_CK_NONE)
		r |= ss_buf_put(b, e->cid.b, SS_ID_LEN);
	r |= ss_buf_put_str16(b, e->target, e->targetlen);
	r |= ss_buf_put_str32(b, e->xattrs, e->xattrslen);
	return r ? SS_ENOMEM : 0;
}

/* name_ok(p, n): a single path component that cannot escape. */
static int
name_ok(const char *p, size_t n)
{
	if (n == 0 || n > 255)
		return 0;
	if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
		return 0;
	return memchr(p, '/', n) == NULL && memchr(p, '\0', n) == NULL;
}

static int
ent_decode(struct ss_rd *rd, struct ss_ent *e)
{
	memset(e, 0, sizeof(*e));
	e->name = (const char *)ss_rd_str16(rd, &e->namelen);
	e->type = ss_rd_u8(rd);
	e->ckind = ss_rd_u8(rd);
	e->mode = ss_rd_u32(rd);
	e->uid = ss_rd_u32(rd);
	e->gid = ss_rd_u32(rd);
	e->mtime_sec = (int64_t)ss_rd_u64(rd);
	e->mtime_nsec = ss_rd_u32(rd);
	e->ctime_sec = (int64_t)ss_rd_u64(rd);
	e->ctime_nsec = ss_rd_u32(rd);
	e->ino = ss_rd_u64(rd);
	e->size = ss_rd_u64(rd);
	e->hlgroup = ss_rd_u64(rd);
	e->rdev = ss_rd_u64(rd);
	e->subtree = ss_rd_u64(rd);
	if (e->ckind != SS_CK_NONE) {
		const uint8_t *p = ss_rd_bytes(rd, SS_ID_LEN);

		if (p)
			memcpy(e->cid.b, p, SS_ID_LEN);
	}
	e->target = (const char *)ss_rd_str16(rd, &e->targetlen);
	e->xattrs = ss_rd_str32(rd, SS_XATTRS_MAX, &e->xattrslen);
	if (rd->err)
		return ss_err(SS_ECORRUPT, "directory entry truncated");
	if (!name_ok(e->name, e->namelen))
		return ss_err(SS_ECORRUPT, "directory entry has an unsafe name");
	if (e->type < SS_FT_REG || e->type > SS_FT_BLK ||
	    e->ckind > SS_CK_DIR || e->mode > 07777 ||
	    e->mtime_nsec >= 1000000000u || e->ctime_nsec >= 1000000000u)
		return ss_err(SS_ECORRUPT, "directory entry has invalid fields");
	if ((e->type == SS_FT_DIR) != (e->ckind == SS_CK_DIR) ||
	    (e->type != SS_FT_REG && e->type != SS_FT_DIR &&
	    e->ckind != SS_CK_NONE) ||
	    (e->type == SS_FT_LNK) != (e->targetlen > 0))
		return ss_err(SS_ECORRUPT, "directory entry is inconsistent");
	if (e->targetlen && memchr(e->target, '\0', e->targetlen))
		return ss_err(SS_ECORRUPT, "symlink target contains NUL");
	return 0;
}

static int
name_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	if (c)
		return c;
	return an < bn ? -1 : an > bn;
}

int
ss_dir_decode(const uint8_t *p, size_t n, struct ss_dir *d)
{
	struct ss_rd rd;
	uint32_t cnt;
	int r;

	d->ents = NULL;
	d->n = 0;
	ss_rd_init(&rd, p, n);
	if (ss_rd_u8(&rd) != SS_DIR_VERSION)
		return ss_err(SS_ECORRUPT, "unknown directory object version");
	cnt = ss_rd_u32(&rd);
	if (rd.err || cnt > n / 16)
		return ss_err(SS_ECORRUPT, "directory entry count out of bounds");
	if (cnt && (d->ents = ss_calloc(cnt, sizeof(*d->ents))) == NULL)
		return SS_ENOMEM;
	for (uint32_t i = 0; i < cnt; i++) {
		if ((r = ent_decode(&rd, &d->ents[i])) != 0)
			goto fail;
		if (i > 0 && name_cmp(d->ents[i - 1].name,
		    d->ents[i - 1].namelen, d->ents[i].name,
		    d->ents[i].namelen) >= 0) {
			r = ss_err(SS_ECORRUPT, "directory entries out of order");
			goto fail;
		}
		d->n++;
	}
	if (ss_rd_left(&rd) != 0) {
		r = ss_err(SS_ECORRUPT, "trailing bytes in directory object");
		goto fail;
	}
	return 0;
fail:
	free(d->ents);
	d->ents = NULL;
	d->n = 0;
	return r;
}

const struct ss_ent *
ss_dir_find(const struct ss_dir *d, const char *name, size_t len)
{
	size_t lo = 0, hi = d ? d->n : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct ss_ent *e = &d->ents[mid];
		int c = name_cmp(e->name, e->namelen, name, len);

		if (c == 0)
			return e;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int
ss_tree_load(struct ss_tree *t, const struct ss_id *id, uint8_t type,
    struct ss_buf *out)
{
	struct ss_objrow row;
	char hex[2 * SS_ID_LEN + 1];
	int r;

	r = ss_cat_obj_get(t->cat, id, &row);
	if (r == SS_ENOENT) {
		ss_id_hex(id, hex);
		return ss_err(SS_ECORRUPT, "object %.16s is missing from the"
		    " pool", hex);
	}
	if (r != 0)
		return r;
	return ss_tree_load_at(t, id, &row.loc, type, out);
}

int
ss_tree_load_at(struct ss_tree *t, const struct ss_id *id,
    const struct ss_loc *loc, uint8_t type, struct ss_buf *out)
{
	struct ss_objhdr h;
	char hex[2 * SS_ID_LEN + 1];
	uint8_t got;
	int r;

	if (t->prlock != NULL)
		pthread_mutex_lock(t->prlock);
	r = ss_packr_read(t->pr, id, loc, &t->obj);
	if (t->prlock != NULL)
		pthread_mutex_unlock(t->prlock);
	if (r != 0)
		return r == SS_ENOENT ? SS_ECORRUPT : r;
	if ((r = ss_obj_open(t->oc, id, t->obj.p, t->obj.len, &got, out)) != 0)
		return r;
	if ((r = ss_obj_parse(id, t->obj.p, t->obj.len, &h)) != 0)
		return r;
	ss_buf_reset(&t->hrefs);
	if (ss_buf_put(&t->hrefs, h.refs, (size_t)h.nrefs * SS_ID_LEN) != 0)
		return SS_ENOMEM;
	if (got != type) {
		ss_id_hex(id, hex);
		return ss_err(SS_ECORRUPT, "object %.16s has type %u, expected"
		    " %u", hex, got, type);
	}
	return 0;
}

int
ss_tree_check_refs(struct ss_tree *t, struct ss_id *ids, size_t n)
{
	n = ss_ids_sort_unique(ids, n);
	if (n * SS_ID_LEN != t->hrefs.len ||
	    (n && memcmp(ids, t->hrefs.p, t->hrefs.len) != 0))
		return ss_err(SS_EAUTH, "object references do not match its"
		    " contents");
	return 0;
}

/* check_refs(t, d): the visible references are exactly the entries'. */
static int
check_refs(struct ss_tree *t, const struct ss_dir *d)
{
	struct ss_id *ids = ss_calloc(d->n + 1, sizeof(*ids));
	size_t n = 0;
	int r;

	if (ids == NULL)
		return SS_ENOMEM;
	for (size_t i = 0; i < d->n; i++)
		if (d->ents[i].ckind != SS_CK_NONE)
			ids[n++] = d->ents[i].cid;
	r = ss_tree_check_refs(t, ids, n);
	free(ids);
	return r;
}

int
ss_tree_load_dir(struct ss_tree *t, const struct ss_id *id, struct ss_dir *d)
{
	int r;

	memset(d, 0, sizeof(*d));
	if ((r = ss_tree_load(t, id, SS_OT_DIR, &d->raw)) == 0 &&
	    (r = ss_dir_decode(d->raw.p, d->raw.len, d)) == 0)
		r = check_refs(t, d);
	if (r != 0)
		ss_dir_free(d);
	return r;
}

int
ss_tree_load_dir_at(struct ss_tree *t, const struct ss_id *id,
    const struct ss_loc *loc, struct ss_dir *d)
{
	int r;

	memset(d, 0, sizeof(*d));
	if ((r = ss_tree_load_at(t, id, loc, SS_OT_DIR, &d->raw)) == 0 &&
	    (r = ss_dir_decode(d->raw.p, d->raw.len, d)) == 0)
		r = check_refs(t, d);
	if (r != 0)
		ss_dir_free(d);
	return r;
}

int
ss_tree_newid(struct ss_tree *t, const struct ss_id *id, uint32_t len,
    uint64_t *acc)
{
	if (ss_grow(&t->newids, &t->capnew, t->nnew, sizeof(*t->newids)))
		return SS_ENOMEM;
	t->newids[t->nnew++] = *id;
	ss_crashpoint("snapshot-object");
	t->objects_new++;
	t->bytes_new += len;
	if (acc)
		*acc += len;
	return 0;
}

int
ss_tree_index(struct ss_tree *t, const struct ss_id *id,
    const struct ss_loc *loc, const struct ss_id *refs, uint32_t nrefs)
{
	struct ss_objrow row = { .loc = *loc, .refs = 0, .nchild = nrefs };
	int r = ss_cat_obj_add(t->cat, id, &row);

	for (uint32_t i = 0; i < nrefs && r == 0; i++)
		r = ss_cat_obj_ref(t->cat, &refs[i], 1, NULL);
	return r;
}

int
ss_tree_store(struct ss_tree *t, uint8_t type, const void *p, size_t n,
    struct ss_id *refs, uint32_t nrefs, struct ss_id *id, uint64_t *acc)
{
	struct ss_objrow row;
	int r;

	if ((r = ss_obj_id(t->oc, type, p, n, id)) != 0)
		return r;
	r = ss_cat_obj_get(t->cat, id, &row);
	if (r == 0) {
		if (acc)
			*acc += row.loc.len;
		return 0;
	}
	if (r != SS_ENOENT)
		return r;
	nrefs = (uint32_t)ss_ids_sort_unique(refs, nrefs);
	if ((r = ss_obj_seal(t->oc, id, type, p, n, refs, nrefs, &t->obj)) != 0)
		return r;
	if ((r = ss_packw_add(t->pw, id, t->obj.p, t->obj.len, &row.loc)) != 0 ||
	    (r = ss_tree_index(t, id, &row.loc, refs, nrefs)) != 0)
		return r;
	return ss_tree_newid(t, id, row.loc.len, acc);
}
