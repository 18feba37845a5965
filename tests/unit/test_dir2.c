/*
 * test_dir2: what is version 2's own in directory objects (lib/tree/
 * entry.c, docs/format.md 6.1): the varint count, the content IDs named by
 * their place in the header refs and the digest of those refs, files
 * inline; then file maps (6.2) and the remapping of both (lib/tree/
 * remap.c).  The tests both versions share are in test_tree.c.
 */
#include "dirtest.h"

/* ---------- version 2 ---------- */

/* dec_refs(p, n, refs, nrefs): ss_dir_decode's result with these refs. */
static int
dec_refs(const uint8_t *p, size_t n, const struct ss_id *refs, size_t nrefs)
{
	struct ss_buf keep = SS_BUF_INIT;
	int r;

	ss_buf_put(&keep, g_refs.p, g_refs.len);
	ss_buf_reset(&g_refs);
	ss_buf_put(&g_refs, refs, nrefs * SS_ID_LEN);
	r = decode_rc(p, n);
	ss_buf_reset(&g_refs);
	ss_buf_put(&g_refs, keep.p, keep.len);
	ss_buf_free(&keep);
	return r;
}

/* test_v2_header: version 2's count is a varint, bounded the same way. */
static void
test_v2_header(void)
{
	struct ss_buf b = SS_BUF_INIT, m = SS_BUF_INIT;
	struct ss_ent v[2];

	v[0] = mkent("a", SS_FT_REG);
	v[1] = mkent("b", SS_FT_LNK);
	enc_dir(v, 2, &b);
	ok(b.len > 34 && b.p[0] == 2 && b.p[33] == 2,
	    "v2: version 2, the digest of the references, then the count as"
	    " a one-byte varint");
	for (uint8_t c = 0; c < 4; c++) {
		if (c == 2)
			continue;
		ss_buf_reset(&m);
		ss_buf_put(&m, b.p, b.len);
		m.p[33] = c;
		is_int(decode_rc(m.p, m.len), SS_ECORRUPT,
		    "v2: rejects count %u for 2 entries", c);
	}
	/* 2 as a two-byte varint: not the shortest form */
	ss_buf_reset(&m);
	ss_buf_put(&m, b.p, 33);
	ss_buf_put_u8(&m, 0x82);
	ss_buf_put_u8(&m, 0x00);
	ss_buf_put(&m, b.p + 34, b.len - 34);
	is_int(decode_rc(m.p, m.len), SS_ECORRUPT,
	    "v2: rejects an overlong count");
	ss_buf_reset(&m);
	ss_buf_put(&m, b.p, 33);
	ss_buf_put_varint(&m, UINT64_MAX);
	ss_buf_put(&m, b.p + 34, b.len - 34);
	is_int(decode_rc(m.p, m.len), SS_ECORRUPT,
	    "v2: rejects count 2^64-1 (no huge allocation)");
	ss_buf_free(&b);
	ss_buf_free(&m);
}

/*
 * test_v2_refs: a version 2 entry names its content by its place among
 * the header's references: the object holds no ID of its own.
 */
static void
test_v2_refs(void)
{
	struct ss_buf b = SS_BUF_INIT;
	struct ss_ent v[4];
	struct ss_id r3[3];
	struct dec x;
	int good;

	v[0] = mkent("a", SS_FT_REG);
	v[1] = mkent("b", SS_FT_REG);
	v[2] = mkent("c", SS_FT_DIR);
	v[3] = mkent("d", SS_FT_FIFO);
	memset(v[0].cid.b, 0x90, SS_ID_LEN);
	memset(v[1].cid.b, 0x10, SS_ID_LEN);	/* same as... */
	memset(v[2].cid.b, 0x10, SS_ID_LEN);	/* ...this one */
	enc_dir(v, 4, &b);
	ok(g_refs.len == 2 * SS_ID_LEN && g_refs.p[0] == 0x10 &&
	    g_refs.p[SS_ID_LEN] == 0x90,
	    "v2: references are the sorted, unique content IDs");
	good = memmem(b.p, b.len, v[0].cid.b, 8) == NULL &&
	    memmem(b.p, b.len, v[1].cid.b, 8) == NULL;
	ok(good, "v2: the payload holds no content ID");
	dec_open(&x, b.p, b.len);
	good = x.r == 0 && x.d.n == 4 && ent_eq(&v[0], &x.d.ents[0]) &&
	    ent_eq(&v[1], &x.d.ents[1]) && ent_eq(&v[2], &x.d.ents[2]);
	ok(good, "v2: each entry decodes to its own content ID");
	dec_close(&x);
	dec_open(&x, b.p, b.len);
	ok(x.r == 0, "v2: decodes with its own references");
	dec_close(&x);
	/* the payload (so the ID) commits to the references */
	memset(r3[0].b, 0x10, SS_ID_LEN);
	is_int(dec_refs(b.p, b.len, r3, 1), SS_EAUTH,
	    "v2: rejects fewer references than it was made with");
	is_int(dec_refs(b.p, b.len, r3, 0), SS_EAUTH,
	    "v2: rejects no references");
	memset(r3[1].b, 0x50, SS_ID_LEN);
	memset(r3[2].b, 0x90, SS_ID_LEN);
	is_int(dec_refs(b.p, b.len, r3, 3), SS_EAUTH,
	    "v2: rejects a reference more");
	memset(r3[1].b, 0x91, SS_ID_LEN);
	is_int(dec_refs(b.p, b.len, r3, 2), SS_EAUTH,
	    "v2: rejects one reference changed (same places, same payload)");
	ss_buf_free(&b);
	/* a place past the references, the digest made to match */
	v[2] = mkent("c", SS_FT_FIFO);
	enc_dir(v, 2, &b);	/* refs 0x10, 0x90: places 1 and 0 */
	good = b.len > 6 && b.p[b.len - 6] == 1 && b.p[b.len - 5] == 0;
	if (good)
		b.p[b.len - 6] = 2;
	ok(good && decode_rc(b.p, b.len) == SS_ECORRUPT,
	    "v2: rejects a place past the references");
	ss_buf_free(&b);
}

/* test_inline: version 2 keeps the bytes of a small file in its entry. */
static void
test_inline(void)
{
	static uint8_t big[SS_INLINE_MAX + 1];
	struct ss_buf b = SS_BUF_INIT;
	struct ss_ent v[3], e;
	struct dec x;
	int good;

	memset(big, 'q', sizeof(big));
	v[0] = mkent("a", SS_FT_REG);
	v[0].ckind = SS_CK_INLINE;
	memset(v[0].cid.b, 0, SS_ID_LEN);
	v[0].size = 1;
	v[0].data = (const uint8_t *)"!";
	v[0].subtree = 0;
	v[1] = mkent("b", SS_FT_REG);
	v[2] = v[0];
	v[2].name = "c";
	v[2].size = SS_INLINE_MAX;
	v[2].data = big;
	ok(roundtrip(v, 3), "v2: inline files of 1 and %u bytes, beside a"
	    " chunk", SS_INLINE_MAX);
	enc_dir(v, 3, &b);
	ok(g_refs.len == SS_ID_LEN, "v2: an inline file has no reference");
	dec_open(&x, b.p, b.len);
	good = x.r == 0 && x.d.ents[0].data >= x.copy &&
	    x.d.ents[0].data < x.copy + b.len && x.d.ents[0].data[0] == '!';
	ok(good, "v2: inline bytes point into the object");
	dec_close(&x);
	for (size_t k = 1; k < b.len; k++)
		if (decode_rc(b.p, b.len - k) != SS_ECORRUPT) {
			good = 0;
			break;
		}
	ok(good, "v2: every truncation of inline bytes is refused");
	e = v[0];
	e.size = 0;
	ok(reject_mid(e), "v2: rejects an inline file of 0 bytes");
	e = v[2];
	e.size = SS_INLINE_MAX + 1;
	ok(reject_mid(e), "v2: rejects an inline file of %u bytes",
	    SS_INLINE_MAX + 1);
	e = v[0];
	e.type = SS_FT_LNK;
	e.target = "t";
	e.targetlen = 1;
	ok(reject_mid(e), "v2: rejects inline content on a symlink");
	e = v[0];
	e.type = SS_FT_FIFO;
	ok(reject_mid(e), "v2: rejects inline content on a fifo");
	g_ver = SS_DIR_VERSION_V1;
	e = v[0];
	memset(e.cid.b, 0x44, SS_ID_LEN);
	ok(reject_mid(e), "v1: rejects inline content (version 2 only)");
	g_ver = SS_DIR_VERSION;
	ss_buf_free(&b);
}

/* ---------- file maps ---------- */

/* flip_first(arg, id, out): a stand-in for another key's identifiers. */
static int
flip_first(void *arg, const uint8_t *id, struct ss_id *out)
{
	(void)arg;
	memcpy(out->b, id, SS_ID_LEN);
	out->b[0] ^= 0xff;
	return 0;
}

/* file_map(b, ver): a map of 3000 bytes in two extents, 0x10/0x11 IDs. */
static void
file_map(struct ss_buf *b, uint8_t ver)
{
	uint8_t id[SS_ID_LEN], fp[SS_FP_LEN];

	ss_buf_reset(b);
	ss_buf_put_u8(b, ver);
	ss_buf_put_u64(b, 3000);
	ss_buf_put_u32(b, 2);
	for (int i = 0; i < 2; i++) {
		memset(id, 0x10 + i, sizeof(id));
		memset(fp, 0xa0 + i, sizeof(fp));
		ss_buf_put_u64(b, (uint64_t)i * 1000);
		ss_buf_put_u32(b, i == 0 ? 1000 : 2000);
		ss_buf_put(b, id, sizeof(id));
		if (ver == SS_FILE_VERSION_FP)
			ss_buf_put(b, fp, sizeof(fp));
	}
}

static void
test_filemaps(void)
{
	struct ss_buf m = SS_BUF_INIT, out = SS_BUF_INIT;
	struct ss_mext *v = NULL;
	struct ss_id *refs = NULL;
	struct ss_ent e;
	uint32_t n = 0, nrefs = 0;

	memset(&e, 0, sizeof(e));
	e.size = 3000;
	for (uint8_t ver = 1; ver <= 2; ver++) {
		file_map(&m, ver);
		ok(ss_rst_filemap(&m, &e, &v, &n) == 0 && n == 2 &&
		    v[1].off == 1000 && v[1].len == 2000 &&
		    v[1].id.b[0] == 0x11 && v[1].hasfp == (ver == 2) &&
		    (ver == 1 || v[1].fp[15] == 0xa1),
		    "file map version %u reads back", ver);
		free(v);
		v = NULL;
		ss_buf_reset(&out);
		ok(ss_tree_remap(SS_OT_FILE, m.p, m.len, NULL, 0, flip_first,
		    NULL, &out, &refs, &nrefs) == 0 && out.len == 13 + 2 * 44 &&
		    out.p[0] == SS_FILE_VERSION && out.p[13 + 44 + 12] ==
		    (0x11 ^ 0xff) && nrefs == 2,
		    "remap of version %u: version 1, IDs mapped, no"
		    " fingerprints", ver);
		free(refs);
		refs = NULL;
	}
	m.len--;
	is_int(ss_rst_filemap(&m, &e, &v, &n), SS_ECORRUPT,
	    "a version 2 map a byte short is refused");
	ss_buf_reset(&out);
	is_int(ss_tree_remap(SS_OT_FILE, m.p, m.len, NULL, 0, flip_first, NULL,
	    &out, &refs, &nrefs), SS_ECORRUPT, "... and not remapped");
	free(refs);
	refs = NULL;
	m.len++;
	m.p[0] = 3;
	is_int(ss_rst_filemap(&m, &e, &v, &n), SS_ECORRUPT,
	    "a file map of version 3 is refused");
	ss_buf_free(&m);
	ss_buf_free(&out);
}

/*
 * test_remap_dirs: a directory of either version is remapped into version
 * 2, every content ID mapped, its references the mapped IDs.
 */
static void
test_remap_dirs(void)
{
	static const uint8_t vers[] = { SS_DIR_VERSION, SS_DIR_VERSION_V1 };
	struct ss_buf b = SS_BUF_INIT, out = SS_BUF_INIT;
	struct ss_ent v[3];
	struct ss_id *refs = NULL;
	uint32_t nrefs = 0;
	struct dec x;
	int good;

	v[0] = mkent("a", SS_FT_REG);
	v[1] = mkent("l", SS_FT_LNK);
	v[2] = mkent("s", SS_FT_DIR);
	for (size_t k = 0; k < sizeof(vers); k++) {
		g_ver = vers[k];
		enc_dir(v, 3, &b);
		ss_buf_reset(&out);
		good = ss_tree_remap(SS_OT_DIR, b.p, b.len, g_refs.p,
		    g_refs.len / SS_ID_LEN, flip_first, NULL, &out, &refs,
		    &nrefs) == 0 && nrefs == 2 && out.p[0] == SS_DIR_VERSION;
		g_ver = SS_DIR_VERSION;
		ss_buf_reset(&g_refs);
		if (good)
			ss_buf_put(&g_refs, refs, nrefs * SS_ID_LEN);
		dec_open(&x, out.p, out.len);
		good = good && x.r == 0 && x.d.n == 3 &&
		    (x.d.ents[0].cid.b[0] ^ v[0].cid.b[0]) == 0xff &&
		    x.d.ents[0].cid.b[1] == v[0].cid.b[1] &&
		    (x.d.ents[2].cid.b[0] ^ v[2].cid.b[0]) == 0xff &&
		    x.d.ents[1].ckind == SS_CK_NONE && refs_used(&x.d);
		dec_close(&x);
		ok(good, "remap of a version %u directory: version 2, content"
		    " IDs mapped, references the mapped IDs", vers[k]);
		free(refs);
		refs = NULL;
	}
	ss_buf_free(&b);
	ss_buf_free(&out);
}

int
main(void)
{
	g_ver = SS_DIR_VERSION;
	test_v2_header();
	test_v2_refs();
	test_inline();
	test_filemaps();
	test_remap_dirs();
	ss_buf_free(&g_refs);
	return done_testing();
}
