/*
 * entry.c: encoding and bounded decoding of directory objects, and the
 * object load/store helpers shared by snapshot and restore.
 * Layout in docs/format.md ("Directory objects").
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
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
ss_ent_encode_v1(const struct ss_ent *e, struct ss_buf *b)
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

/* ent_check(e): the rules every decoded entry follows. */
static int
ent_check(const struct ss_ent *e)
{
	if (!name_ok(e->name, e->namelen))
		return ss_err(SS_ECORRUPT, "directory entry has an unsafe name");
	if (e->type < SS_FT_REG || e->type > SS_FT_BLK ||
	    e->ckind > SS_CK_INLINE || e->mode > 07777 ||
	    e->mtime_nsec >= 1000000000u || e->ctime_nsec >= 1000000000u)
		return ss_err(SS_ECORRUPT, "directory entry has invalid fields");
	if (e->ckind == SS_CK_INLINE && (e->type != SS_FT_REG ||
	    e->size == 0 || e->size > SS_INLINE_MAX))
		return ss_err(SS_ECORRUPT, "directory entry is inconsistent");
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
ent_decode_v1(struct ss_rd *rd, struct ss_ent *e)
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
	if (e->ckind != SS_CK_NONE) {	/* version 1: 1 to 3 */
		const uint8_t *p = ss_rd_bytes(rd, SS_ID_LEN);

		if (p)
			memcpy(e->cid.b, p, SS_ID_LEN);
	}
	e->target = (const char *)ss_rd_str16(rd, &e->targetlen);
	e->xattrs = ss_rd_str32(rd, SS_XATTRS_MAX, &e->xattrslen);
	if (rd->err)
		return ss_err(SS_ECORRUPT, "directory entry truncated");
	if (e->ckind == SS_CK_INLINE)	/* version 2 only */
		return ss_err(SS_ECORRUPT, "directory entry has invalid fields");
	return ent_check(e);
}

/*
 * Version 2 stores the entries by columns: all the names, then all the
 * kinds, then every numeric field in turn (the ones that vary little
 * between neighbours as differences from the entry before), the places
 * of the content IDs among the header's references, the symlink targets
 * and the xattrs.  Numbers are varints (docs/format.md, 6.1).
 */
enum { F_MODE, F_UID, F_GID, F_MTIME, F_MNSEC, F_CTIME, F_CNSEC, F_INO,
	F_SIZE, F_HLGROUP, F_RDEV, F_SUBTREE, F_COUNT };

/* field_delta(f): ${f} is stored as a difference from the entry before. */
static int
field_delta(int f)
{
	return f == F_UID || f == F_GID || f == F_MTIME || f == F_CTIME ||
	    f == F_INO;
}

static uint64_t
field_get(const struct ss_ent *e, int f)
{
	switch (f) {
	case F_MODE: return e->mode;
	case F_UID: return e->uid;
	case F_GID: return e->gid;
	case F_MTIME: return (uint64_t)e->mtime_sec;
	case F_MNSEC: return e->mtime_nsec;
	case F_CTIME: return (uint64_t)e->ctime_sec;
	case F_CNSEC: return e->ctime_nsec;
	case F_INO: return e->ino;
	case F_SIZE: return e->size;
	case F_HLGROUP: return e->hlgroup;
	case F_RDEV: return e->rdev;
	default: return e->subtree;
	}
}

/* field_set(e, f, v): 0, or -1 if ${v} does not fit the field. */
static int
field_set(struct ss_ent *e, int f, uint64_t v)
{
	uint32_t *p32 = NULL;

	switch (f) {
	case F_MODE: p32 = &e->mode; break;
	case F_UID: p32 = &e->uid; break;
	case F_GID: p32 = &e->gid; break;
	case F_MNSEC: p32 = &e->mtime_nsec; break;
	case F_CNSEC: p32 = &e->ctime_nsec; break;
	case F_MTIME: e->mtime_sec = (int64_t)v; break;
	case F_CTIME: e->ctime_sec = (int64_t)v; break;
	case F_INO: e->ino = v; break;
	case F_SIZE: e->size = v; break;
	case F_HLGROUP: e->hlgroup = v; break;
	case F_RDEV: e->rdev = v; break;
	default: e->subtree = v; break;
	}
	if (p32 == NULL)
		return 0;
	if (v > UINT32_MAX)
		return -1;
	*p32 = (uint32_t)v;
	return 0;
}

/* zigzag: small differences of either sign give small varints. */
static uint64_t
zz_enc(uint64_t d)
{
	return (d << 1) ^ (0 - (d >> 63));
}

static uint64_t
zz_dec(uint64_t u)
{
	return (u >> 1) ^ (0 - (u & 1));
}

static int
id_order(const void *a, const void *b)
{
	return ss_id_cmp(a, b);
}

/* ref_place(refs, n, id): where ${id} is in the sorted ${refs}. */
static size_t
ref_place(const struct ss_id *refs, size_t n, const struct ss_id *id)
{
	const struct ss_id *at = bsearch(id, refs, n, sizeof(*refs), id_order);

	return at != NULL ? (size_t)(at - refs) : n;	/* always found */
}

int
ss_dir_encode(const struct ss_ent *const *v, size_t n, struct ss_buf *b,
    struct ss_id **refsp, size_t *nrefsp)
{
	struct ss_id *refs = ss_calloc(n + 1, sizeof(*refs));
	uint8_t digest[SS_HASH_LEN];
	size_t nrefs = 0;
	int r = 0;

	*refsp = NULL;
	*nrefsp = 0;
	if (refs == NULL)
		return SS_ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (ss_ck_has_id(v[i]->ckind))
			refs[nrefs++] = v[i]->cid;
	nrefs = ss_ids_sort_unique(refs, nrefs);
	if ((r = ss_sha256(refs, nrefs * SS_ID_LEN, digest)) != 0) {
		free(refs);
		return r;
	}
	r |= ss_buf_put_u8(b, SS_DIR_VERSION);
	r |= ss_buf_put(b, digest, sizeof(digest));
	r |= ss_buf_put_varint(b, n);
	for (size_t i = 0; i < n; i++)
		r |= ss_buf_put_vstr(b, v[i]->name, v[i]->namelen);
	for (size_t i = 0; i < n; i++)
		r |= ss_buf_put_u8(b, (uint8_t)(v[i]->type | v[i]->ckind << 4));
	for (int f = 0; f < F_COUNT; f++) {
		uint64_t prev = 0, x;

		for (size_t i = 0; i < n; i++) {
			x = field_get(v[i], f);
			r |= ss_buf_put_varint(b, field_delta(f) ?
			    zz_enc(x - prev) : x);
			prev = x;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (ss_ck_has_id(v[i]->ckind))
			r |= ss_buf_put_varint(b, ref_place(refs, nrefs,
			    &v[i]->cid));
	for (size_t i = 0; i < n; i++)
		if (v[i]->ckind == SS_CK_INLINE)
			r |= ss_buf_put(b, v[i]->data, (size_t)v[i]->size);
	for (size_t i = 0; i < n; i++)
		r |= ss_buf_put_vstr(b, v[i]->target, v[i]->targetlen);
	for (size_t i = 0; i < n; i++)
		r |= ss_buf_put_vstr(b, v[i]->xattrs, v[i]->xattrslen);
	if (r != 0) {
		free(refs);
		return SS_ENOMEM;
	}
	*refsp = refs;
	*nrefsp = nrefs;
	return 0;
}

/* dir_decode_v2(rd, cnt, refs, nrefs, e): the columns of ${cnt} entries. */
static int
dir_decode_v2(struct ss_rd *rd, size_t cnt, const uint8_t *refs,
    size_t nrefs, struct ss_ent *e)
{
	uint64_t k;

	for (size_t i = 0; i < cnt; i++)
		e[i].name = (const char *)ss_rd_vstr(rd, 255, &e[i].namelen);
	for (size_t i = 0; i < cnt; i++) {
		k = ss_rd_u8(rd);
		e[i].type = k & 0x0f;
		e[i].ckind = (uint8_t)(k >> 4);
	}
	for (int f = 0; f < F_COUNT; f++) {
		uint64_t prev = 0, x;

		for (size_t i = 0; i < cnt; i++) {
			x = ss_rd_varint(rd);
			if (field_delta(f))
				x = prev + zz_dec(x);
			if (field_set(&e[i], f, x) != 0)
				return ss_err(SS_ECORRUPT, "directory entry has"
				    " invalid fields");
			prev = x;
		}
	}
	for (size_t i = 0; i < cnt; i++) {
		if (!ss_ck_has_id(e[i].ckind))
			continue;
		k = ss_rd_varint(rd);
		if (rd->err == 0 && k >= nrefs)
			return ss_err(SS_ECORRUPT, "directory entry names a"
			    " reference the object does not have");
		if (rd->err == 0)
			memcpy(e[i].cid.b, refs + k * SS_ID_LEN, SS_ID_LEN);
	}
	for (size_t i = 0; i < cnt; i++) {
		if (e[i].ckind != SS_CK_INLINE)
			continue;
		if (e[i].size == 0 || e[i].size > SS_INLINE_MAX)
			return ss_err(SS_ECORRUPT, "directory entry is"
			    " inconsistent");
		e[i].data = ss_rd_bytes(rd, (size_t)e[i].size);
	}
	for (size_t i = 0; i < cnt; i++)
		e[i].target = (const char *)ss_rd_vstr(rd, 65535,
		    &e[i].targetlen);
	for (size_t i = 0; i < cnt; i++)
		e[i].xattrs = ss_rd_vstr(rd, SS_XATTRS_MAX, &e[i].xattrslen);
	if (rd->err)
		return ss_err(SS_ECORRUPT, "directory entry truncated");
	for (size_t i = 0; i < cnt; i++) {
		int r = ent_check(&e[i]);

		if (r != 0)
			return r;
	}
	return 0;
}

/*
 * refs_match(rd, refs, nrefs): a version 2 object names its content by
 * places in its header refs, so its payload (and with it its ID) commits
 * to them through their SHA-256, which must be the one read here.
 */
static int
refs_match(struct ss_rd *rd, const uint8_t *refs, size_t nrefs)
{
	const uint8_t *want = ss_rd_bytes(rd, SS_HASH_LEN);
	uint8_t got[SS_HASH_LEN];
	int r;

	if (want == NULL)
		return ss_err(SS_ECORRUPT, "directory object truncated");
	if ((r = ss_sha256(nrefs ? refs : (const uint8_t *)"",
	    nrefs * SS_ID_LEN, got)) != 0)
		return r;
	if (memcmp(got, want, SS_HASH_LEN) != 0)
		return ss_err(SS_EAUTH, "object references do not match its"
		    " contents");
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
ss_dir_decode(const uint8_t *p, size_t n, const uint8_t *refs, size_t nrefs,
    struct ss_dir *d)
{
	struct ss_rd rd;
	uint64_t cnt;
	uint8_t version;
	int r = 0;

	d->ents = NULL;
	d->n = 0;
	ss_rd_init(&rd, p, n);
	version = ss_rd_u8(&rd);
	if (version != SS_DIR_VERSION && version != SS_DIR_VERSION_V1)
		return ss_err(SS_ECORRUPT, "unknown directory object version");
	if (version == SS_DIR_VERSION &&
	    (r = refs_match(&rd, refs, nrefs)) != 0)
		return r;
	cnt = version == SS_DIR_VERSION_V1 ? ss_rd_u32(&rd) :
	    ss_rd_varint(&rd);
	/* no entry takes fewer than 16 bytes in either version */
	if (rd.err || cnt > n / 16)
		return ss_err(SS_ECORRUPT, "directory entry count out of bounds");
	if (cnt && (d->ents = ss_calloc(cnt, sizeof(*d->ents))) == NULL)
		return SS_ENOMEM;
	if (version == SS_DIR_VERSION)
		r = dir_decode_v2(&rd, cnt, refs, nrefs, d->ents);
	for (size_t i = 0; i < cnt && r == 0; i++) {
		if (version == SS_DIR_VERSION_V1 &&
		    (r = ent_decode_v1(&rd, &d->ents[i])) != 0)
			break;
		if (i > 0 && name_cmp(d->ents[i - 1].name,
		    d->ents[i - 1].namelen, d->ents[i].name,
		    d->ents[i].namelen) >= 0)
			r = ss_err(SS_ECORRUPT, "directory entries out of order");
	}
	if (r == 0 && ss_rd_left(&rd) != 0)
		r = ss_err(SS_ECORRUPT, "trailing bytes in directory object");
	if (r != 0) {
		free(d->ents);
		d->ents = NULL;
		return r;
	}
	d->n = cnt;
	return 0;
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
		if (ss_ck_has_id(d->ents[i].ckind))
			ids[n++] = d->ents[i].cid;
	r = ss_tree_check_refs(t, ids, n);
	free(ids);
	return r;
}

/*
 * dir_decoded(t, d, r): the directory object just loaded into d->raw (if r
 * is 0), decoded against its header refs, and its refs checked; on any
 * error ${d} is freed.
 */
static int
dir_decoded(struct ss_tree *t, struct ss_dir *d, int r)
{
	if (r == 0 && (r = ss_dir_decode(d->raw.p, d->raw.len, t->hrefs.p,
	    t->hrefs.len / SS_ID_LEN, d)) == 0)
		r = check_refs(t, d);
	if (r != 0)
		ss_dir_free(d);
	return r;
}

int
ss_tree_load_dir(struct ss_tree *t, const struct ss_id *id, struct ss_dir *d)
{
	memset(d, 0, sizeof(*d));
	return dir_decoded(t, d, ss_tree_load(t, id, SS_OT_DIR, &d->raw));
}

int
ss_tree_load_dir_at(struct ss_tree *t, const struct ss_id *id,
    const struct ss_loc *loc, struct ss_dir *d)
{
	memset(d, 0, sizeof(*d));
	return dir_decoded(t, d, ss_tree_load_at(t, id, loc, SS_OT_DIR,
	    &d->raw));
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
