/*
 * remap.c: rewrite the object identifiers a tree payload names.
 *
 * Identifiers depend on the keys of the dataset that holds an object, so
 * an object that moves between key domains (a decrypted send, a plain
 * stream sealed again under an encrypted parent) must name its children
 * by their identifiers in the new domain.  Directory objects and file maps
 * name children; chunks name none.
 */
#include <stdlib.h>
#include <string.h>

#include "tree/tree.h"

/* remap_file(p, n, map, arg, out, refs, nrefs): a file map's chunk ids. */
static int
remap_file(const uint8_t *p, size_t n, ss_remap_fn map, void *arg,
    struct ss_buf *out, struct ss_id **refs, uint32_t *nrefs)
{
	struct ss_rd rd;
	uint64_t size;
	uint32_t cnt;
	uint8_t ver;
	size_t ext;
	int r;

	ss_rd_init(&rd, p, n);
	ver = ss_rd_u8(&rd);
	size = ss_rd_u64(&rd);
	cnt = ss_rd_u32(&rd);
	ext = ss_filemap_extlen(ver);
	if (rd.err || (ver != SS_FILE_VERSION && ver != SS_FILE_VERSION_FP) ||
	    (uint64_t)cnt * ext != ss_rd_left(&rd))
		return ss_err(SS_ECORRUPT, "invalid file map");
	if ((*refs = ss_calloc((size_t)cnt + 1, sizeof(**refs))) == NULL ||
	    ss_buf_put_u8(out, SS_FILE_VERSION) != 0 ||
	    ss_buf_put_u64(out, size) != 0 || ss_buf_put_u32(out, cnt) != 0)
		return SS_ENOMEM;
	for (uint32_t i = 0; i < cnt; i++) {
		const uint8_t *x = p + 13 + (size_t)i * ext;

		if ((r = map(arg, x + 12, &(*refs)[i])) != 0)
			return r;
		if (ss_buf_put(out, x, 12) != 0 ||
		    ss_buf_put(out, (*refs)[i].b, SS_ID_LEN) != 0)
			return SS_ENOMEM;
	}
	*nrefs = (uint32_t)ss_ids_sort_unique(*refs, cnt);
	return 0;
}

/*
 * remap_dir(p, n, hrefs, nhrefs, map, arg, out, refs, nrefs): a directory's
 * content IDs, written in the current version whatever its own.
 */
static int
remap_dir(const uint8_t *p, size_t n, const uint8_t *hrefs, size_t nhrefs,
    ss_remap_fn map, void *arg, struct ss_buf *out, struct ss_id **refs,
    uint32_t *nrefs)
{
	struct ss_dir d = { SS_BUF_INIT, NULL, 0 };
	const struct ss_ent **v = NULL;
	size_t k = 0;
	int r;

	if ((r = ss_dir_decode(p, n, hrefs, nhrefs, &d)) != 0)
		return r;
	if ((v = ss_calloc(d.n + 1, sizeof(*v))) == NULL)
		r = SS_ENOMEM;
	for (size_t i = 0; i < d.n && r == 0; i++) {
		if (ss_ck_has_id(d.ents[i].ckind))
			r = map(arg, d.ents[i].cid.b, &d.ents[i].cid);
		v[i] = &d.ents[i];
	}
	if (r == 0)
		r = ss_dir_encode(v, d.n, out, refs, &k);
	if (r == 0)
		*nrefs = (uint32_t)k;
	free(v);
	ss_dir_free(&d);	/* decode borrows the payload: d.raw is empty */
	return r;
}

int
ss_tree_remap(uint8_t type, const uint8_t *p, size_t n, const uint8_t *hrefs,
    size_t nhrefs, ss_remap_fn map, void *arg, struct ss_buf *out,
    struct ss_id **refs, uint32_t *nrefs)
{
	int r;

	ss_buf_reset(out);
	*refs = NULL;
	*nrefs = 0;
	switch (type) {
	case SS_OT_FILE:
		r = remap_file(p, n, map, arg, out, refs, nrefs);
		break;
	case SS_OT_DIR:
		r = remap_dir(p, n, hrefs, nhrefs, map, arg, out, refs, nrefs);
		break;
	case SS_OT_CHUNK:
		/* names nothing: ${out} stays empty, ${p} is the result */
		r = nhrefs != 0 ? ss_err(SS_ECORRUPT, "a chunk claims"
		    " references") : 0;
		break;
	default:
		r = ss_err(SS_ECORRUPT, "object of unknown type %u", type);
	}
	if (r != 0) {
		free(*refs);
		*refs = NULL;
	}
	return r;
}
