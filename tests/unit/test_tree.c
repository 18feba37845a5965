/*
 * test_tree: directory objects (lib/tree/entry.c, docs/format.md 6.1), in
 * version 2 (written) and version 1 (still read): the same tests run on
 * both, then the checks of each version's own fields.
 * Round trips of every entry type; every reader bound rejected (unsafe
 * names, order, version, count, truncation at every length, trailing
 * bytes, type/content combinations, mode, nanoseconds, symlink targets,
 * xattr size); a sweep of every bit flip of a small valid object; and
 * ss_dir_find.  Every decode reads from a heap copy of exactly the encoded
 * length, so ASan reports a read one byte too far.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tree/rwrite.h"
#include "tree/tree.h"
#include "tap.h"

/* ---------- helpers ---------- */

/* mkent(name, type): a valid entry of ${type}, content kind to match. */
static struct ss_ent
mkent(const char *name, uint8_t type)
{
	struct ss_ent e;

	memset(&e, 0, sizeof(e));
	e.name = name;
	e.namelen = strlen(name);
	e.type = type;
	e.mode = type == SS_FT_DIR ? 0755 : 0644;
	e.uid = 1000;
	e.gid = 100;
	e.mtime_sec = 1700000000 + (int64_t)e.namelen;
	e.mtime_nsec = 5;
	e.ctime_sec = 1700000001;
	e.ctime_nsec = 999999999;
	e.ino = 77;
	switch (type) {
	case SS_FT_REG:
		e.ckind = SS_CK_CHUNK;
		e.size = 10;
		break;
	case SS_FT_DIR:
		e.ckind = SS_CK_DIR;
		break;
	case SS_FT_LNK:
		e.target = "target";
		e.targetlen = 6;
		break;
	case SS_FT_CHR:
	case SS_FT_BLK:
		e.rdev = 0x0801;
		break;
	}
	if (e.ckind != SS_CK_NONE) {
		memset(e.cid.b, 0xc0 | type, SS_ID_LEN);
		e.subtree = 4096;
	}
	return e;
}

/* The version the shared tests write, and the header references of the
 * last version 2 object written (what its decode is given). */
static uint8_t g_ver = SS_DIR_VERSION;
static struct ss_buf g_refs = SS_BUF_INIT;

/* enc_dir_v(version, count, v, n, b): a version 1 object, count as given. */
static void
enc_dir_v(uint8_t version, uint32_t count, const struct ss_ent *v, size_t n,
    struct ss_buf *b)
{
	int r = 0;

	ss_buf_reset(b);
	r |= ss_buf_put_u8(b, version);
	r |= ss_buf_put_u32(b, count);
	for (size_t i = 0; i < n; i++)
		r |= ss_ent_encode_v1(&v[i], b);
	if (r != 0) {
		printf("Bail out! cannot encode a directory\n");
		exit(1);
	}
}

/* enc_dir(v, n, b): the object of ${v} in version g_ver. */
static void
enc_dir(const struct ss_ent *v, size_t n, struct ss_buf *b)
{
	const struct ss_ent **pv = calloc(n + 1, sizeof(*pv));
	struct ss_id *refs = NULL;
	size_t nrefs = 0;

	if (g_ver == SS_DIR_VERSION_V1) {
		enc_dir_v(SS_DIR_VERSION_V1, (uint32_t)n, v, n, b);
		free(pv);
		return;
	}
	for (size_t i = 0; pv != NULL && i < n; i++)
		pv[i] = &v[i];
	ss_buf_reset(b);
	ss_buf_reset(&g_refs);
	if (pv == NULL || ss_dir_encode(pv, n, b, &refs, &nrefs) != 0 ||
	    ss_buf_put(&g_refs, refs, nrefs * SS_ID_LEN) != 0) {
		printf("Bail out! cannot encode a directory\n");
		exit(1);
	}
	free(refs);
	free(pv);
}

/*
 * refs_used(d): every header reference is named by an entry, as
 * ss_tree_load_dir checks after decoding (else the object is refused).
 */
static int
refs_used(const struct ss_dir *d)
{
	struct ss_id *ids = calloc(d->n + 1, sizeof(*ids));
	size_t n = 0;
	int good;

	if (g_ver == SS_DIR_VERSION_V1 || ids == NULL) {
		free(ids);
		return 1;
	}
	for (size_t i = 0; i < d->n; i++)
		if (ss_ck_has_id(d->ents[i].ckind))
			ids[n++] = d->ents[i].cid;
	n = ss_ids_sort_unique(ids, n);
	good = n * SS_ID_LEN == g_refs.len &&
	    (n == 0 || memcmp(ids, g_refs.p, g_refs.len) == 0);
	free(ids);
	return good;
}

/*
 * struct dec: a decoded directory over a private, exactly sized copy of the
 * bytes (the entries point into it).
 */
struct dec {
	uint8_t *copy;
	struct ss_dir d;
	int r;
};

static void
dec_open(struct dec *x, const uint8_t *p, size_t n)
{
	memset(x, 0, sizeof(*x));
	if ((x->copy = malloc(n > 0 ? n : 1)) == NULL) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
	if (n > 0)
		memcpy(x->copy, p, n);
	x->r = ss_dir_decode(x->copy, n, g_refs.p, g_refs.len / SS_ID_LEN,
	    &x->d);
	/* A rejected object leaves no entries behind. */
	if (x->r != 0 && (x->d.n != 0 || x->d.ents != NULL)) {
		printf("#   rejected decode left %zu entries\n", x->d.n);
		x->r = 1;
	}
}

static void
dec_close(struct dec *x)
{
	ss_dir_free(&x->d);
	free(x->copy);
	x->copy = NULL;
}

/* decode_rc(p, n): ss_dir_decode's result (1: broke the failure contract). */
static int
decode_rc(const uint8_t *p, size_t n)
{
	struct dec x;
	int r;

	dec_open(&x, p, n);
	r = x.r;
	dec_close(&x);
	return r;
}

static int
bytes_eq(const void *a, size_t an, const void *b, size_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static int
ent_eq(const struct ss_ent *a, const struct ss_ent *b)
{
	static const struct ss_id zero;

	return bytes_eq(a->name, a->namelen, b->name, b->namelen) &&
	    a->type == b->type && a->ckind == b->ckind &&
	    a->mode == b->mode && a->uid == b->uid && a->gid == b->gid &&
	    a->mtime_sec == b->mtime_sec && a->mtime_nsec == b->mtime_nsec &&
	    a->ctime_sec == b->ctime_sec && a->ctime_nsec == b->ctime_nsec &&
	    a->ino == b->ino && a->size == b->size &&
	    a->hlgroup == b->hlgroup && a->rdev == b->rdev &&
	    a->subtree == b->subtree &&
	    memcmp(a->cid.b, ss_ck_has_id(a->ckind) ? b->cid.b : zero.b,
	    SS_ID_LEN) == 0 &&
	    (a->ckind != SS_CK_INLINE ||
	    bytes_eq(a->data, a->size, b->data, b->size)) &&
	    bytes_eq(a->target, a->targetlen, b->target, b->targetlen) &&
	    bytes_eq(a->xattrs, a->xattrslen, b->xattrs, b->xattrslen);
}

/* roundtrip(v, n): decodes to exactly ${v}, and re-encodes to the bytes. */
static int
roundtrip(const struct ss_ent *v, size_t n)
{
	struct ss_buf b = SS_BUF_INIT, b2 = SS_BUF_INIT;
	struct dec x;
	int good;

	enc_dir(v, n, &b);
	dec_open(&x, b.p, b.len);
	good = x.r == 0 && x.d.n == n;
	for (size_t i = 0; good && i < n; i++)
		good = ent_eq(&v[i], &x.d.ents[i]);
	if (good) {
		enc_dir(x.d.ents, x.d.n, &b2);
		good = bytes_eq(b.p, b.len, b2.p, b2.len);
	}
	if (!good)
		printf("#   decode: %d %s\n", x.r, ss_errmsg());
	dec_close(&x);
	ss_buf_free(&b);
	ss_buf_free(&b2);
	return good;
}

/* reject(v, n): the encoded directory is refused as corrupt. */
static int
reject(const struct ss_ent *v, size_t n)
{
	struct ss_buf b = SS_BUF_INIT;
	int r;

	enc_dir(v, n, &b);
	r = decode_rc(b.p, b.len);
	ss_buf_free(&b);
	if (r != SS_ECORRUPT)
		printf("#   decode returned %d, want SS_ECORRUPT\n", r);
	return r == SS_ECORRUPT;
}

/* reject_mid(e): ${e} between two valid entries is refused (no leak). */
static int
reject_mid(struct ss_ent e)
{
	struct ss_ent v[3];

	v[0] = mkent("", SS_FT_REG);
	v[0].name = "\x01";
	v[0].namelen = 1;
	v[1] = e;
	v[2] = mkent("\xff\xff", SS_FT_FIFO);
	return reject(v, 3) && reject(&e, 1);
}

/* ---------- round trips ---------- */

static void
test_roundtrip_types(void)
{
	static const uint8_t xa[] = {
		6, 0, 'u', 's', 'e', 'r', '.', 'a', 3, 0, 0, 0, 'x', 'y', 'z',
	};
	static const struct { uint8_t type, ckind; const char *what; } k[] = {
		{ SS_FT_REG, SS_CK_NONE, "empty regular file" },
		{ SS_FT_REG, SS_CK_CHUNK, "regular file in one chunk" },
		{ SS_FT_REG, SS_CK_FILE, "regular file with a file map" },
		{ SS_FT_DIR, SS_CK_DIR, "directory" },
		{ SS_FT_LNK, SS_CK_NONE, "symlink" },
		{ SS_FT_FIFO, SS_CK_NONE, "fifo" },
		{ SS_FT_CHR, SS_CK_NONE, "character device" },
		{ SS_FT_BLK, SS_CK_NONE, "block device" },
	};
	struct ss_ent all[8], e;

	for (size_t i = 0; i < 8; i++) {
		char *name = ss_asprintf("e%zu", i);

		e = mkent(name, k[i].type);
		e.ckind = k[i].ckind;
		if (e.ckind == SS_CK_NONE)
			memset(e.cid.b, 0, SS_ID_LEN);
		else
			memset(e.cid.b, 0x10 + (int)i, SS_ID_LEN);
		ok(roundtrip(&e, 1), "round trip: %s", k[i].what);
		/* Extremes of every numeric field, and xattrs. */
		e.mode = 07777;
		e.uid = e.gid = UINT32_MAX;
		e.mtime_sec = INT64_MIN;
		e.ctime_sec = -1;
		e.mtime_nsec = e.ctime_nsec = 999999999;
		e.ino = e.size = e.hlgroup = e.subtree = UINT64_MAX;
		e.rdev = UINT64_MAX - 1;
		e.xattrs = xa;
		e.xattrslen = sizeof(xa);
		ok(roundtrip(&e, 1), "round trip: %s, extreme field values",
		    k[i].what);
		all[i] = e;
		all[i].name = name;
	}
	ok(roundtrip(all, 8), "round trip: one directory with all 8 kinds");
	for (size_t i = 0; i < 8; i++)
		free((char *)all[i].name);
	ok(roundtrip(NULL, 0), "round trip: empty directory");
}

static void
test_accepts_bounds(void)
{
	static char n255[256];
	static uint8_t bigx[SS_XATTRS_MAX];
	struct ss_ent e, v[3];

	memset(n255, 'x', 255);
	e = mkent(n255, SS_FT_REG);
	ok(roundtrip(&e, 1), "accepts a 255-byte name");
	e = mkent("...", SS_FT_REG);
	ok(roundtrip(&e, 1), "accepts the name '...'");
	e = mkent(".a", SS_FT_DIR);
	ok(roundtrip(&e, 1), "accepts the name '.a'");
	e = mkent("\xc3\xa9\n \\", SS_FT_REG);
	ok(roundtrip(&e, 1), "accepts UTF-8, newline, space, backslash");
	v[0] = mkent("a", SS_FT_REG);
	v[1] = mkent("ab", SS_FT_REG);
	v[2] = mkent("b", SS_FT_REG);
	ok(roundtrip(v, 3), "accepts a prefix before a longer name");
	v[0] = mkent("z", SS_FT_REG);
	v[1] = mkent("\xc3\xa9", SS_FT_REG);
	ok(roundtrip(v, 2), "bytes compare unsigned ('z' < 0xc3)");
	e = mkent("t", SS_FT_LNK);
	e.target = "/";
	e.targetlen = 1;
	ok(roundtrip(&e, 1), "accepts a one-byte symlink target");
	e = mkent("x", SS_FT_REG);
	e.xattrs = bigx;
	e.xattrslen = sizeof(bigx);
	ok(roundtrip(&e, 1), "accepts xattrs of exactly SS_XATTRS_MAX");
}

/* ---------- rejections ---------- */

static void
test_reject_names(void)
{
	static char n256[257];
	static const struct {
		const char *p;
		size_t n;
		const char *what;
	} k[] = {
		{ "", 0, "an empty name" },
		{ ".", 1, "'.'" },
		{ "..", 2, "'..'" },
		{ "a/b", 3, "'a/b'" },
		{ "/", 1, "'/'" },
		{ "a/", 2, "'a/'" },
		{ "a\0b", 3, "a name with a NUL inside" },
		{ "\0", 1, "the name NUL" },
		{ "a\0", 2, "a name ending in NUL" },
	};
	struct ss_ent e;

	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		e = mkent("", SS_FT_REG);
		e.name = k[i].p;
		e.namelen = k[i].n;
		ok(reject_mid(e), "rejects %s", k[i].what);
	}
	memset(n256, 'x', 256);
	e = mkent(n256, SS_FT_REG);
	ok(reject_mid(e), "rejects a 256-byte name");
}

static void
test_reject_order(void)
{
	struct ss_ent v[3];

	v[0] = mkent("b", SS_FT_REG);
	v[1] = mkent("a", SS_FT_REG);
	ok(reject(v, 2), "rejects entries out of order");
	v[0] = mkent("a", SS_FT_REG);
	v[1] = mkent("a", SS_FT_DIR);
	ok(reject(v, 2), "rejects a duplicated name");
	v[0] = mkent("ab", SS_FT_REG);
	v[1] = mkent("a", SS_FT_REG);
	ok(reject(v, 2), "rejects a longer name before its prefix");
	v[0] = mkent("\xc3\xa9", SS_FT_REG);
	v[1] = mkent("z", SS_FT_REG);
	ok(reject(v, 2), "rejects 0xc3 before 'z' (unsigned order)");
	v[0] = mkent("a", SS_FT_REG);
	v[1] = mkent("c", SS_FT_REG);
	v[2] = mkent("b", SS_FT_REG);
	ok(reject(v, 3), "rejects the third entry out of order");
	v[2] = mkent("c", SS_FT_REG);
	ok(reject(v, 3), "rejects the last entry duplicated");
}

/* test_reject_header: version 1's header (version, u32 count). */
static void
test_reject_header(void)
{
	struct ss_buf b = SS_BUF_INIT;
	struct ss_ent v[2];
	uint8_t vers[] = { 0, 3, 255 };
	int r;

	v[0] = mkent("a", SS_FT_REG);
	v[1] = mkent("b", SS_FT_LNK);
	g_ver = SS_DIR_VERSION_V1;
	for (size_t i = 0; i < sizeof(vers); i++) {
		enc_dir_v(vers[i], 2, v, 2, &b);
		r = decode_rc(b.p, b.len);
		ok(r == SS_ECORRUPT || r == SS_ENOTSUP,
		    "rejects directory version %u (%d)", vers[i], r);
	}
	enc_dir_v(SS_DIR_VERSION_V1, 3, v, 2, &b);
	is_int(decode_rc(b.p, b.len), SS_ECORRUPT,
	    "v1: rejects count one too high");
	enc_dir_v(SS_DIR_VERSION_V1, 1, v, 2, &b);
	is_int(decode_rc(b.p, b.len), SS_ECORRUPT,
	    "v1: rejects count one too low (trailing entry)");
	enc_dir_v(SS_DIR_VERSION_V1, 0, v, 2, &b);
	is_int(decode_rc(b.p, b.len), SS_ECORRUPT,
	    "v1: rejects count 0 with entries");
	enc_dir_v(SS_DIR_VERSION_V1, UINT32_MAX, v, 2, &b);
	is_int(decode_rc(b.p, b.len), SS_ECORRUPT,
	    "v1: rejects count 2^32-1 (no huge allocation)");
	enc_dir_v(SS_DIR_VERSION_V1, 0, NULL, 0, &b);
	is_int(decode_rc(b.p, 4), SS_ECORRUPT, "v1: rejects a 4-byte header");
	is_int(decode_rc(b.p, 0), SS_ECORRUPT, "rejects zero bytes");
	ss_buf_free(&b);
	g_ver = SS_DIR_VERSION;
}

static void
test_reject_truncated_trailing(void)
{
	struct ss_buf b = SS_BUF_INIT, t = SS_BUF_INIT;
	struct ss_ent v[3];
	size_t bad = 0, first = 0;
	static const uint8_t tails[][16] = { { 0 }, { 0xff }, { 0 } };
	static const size_t tlen[] = { 1, 1, 16 };

	v[0] = mkent("file", SS_FT_REG);
	v[0].xattrs = (const uint8_t *)"\x01\x00k\x01\x00\x00\x00v";
	v[0].xattrslen = 8;
	v[1] = mkent("link", SS_FT_LNK);
	v[2] = mkent("sub", SS_FT_DIR);
	enc_dir(v, 3, &b);
	for (size_t len = 0; len < b.len; len++) {
		if (decode_rc(b.p, len) != SS_ECORRUPT && bad++ == 0)
			first = len;
	}
	ok(bad == 0, "every truncation (0..%zu bytes) is rejected%s", b.len - 1,
	    bad ? "" : " as corrupt");
	if (bad)
		printf("#   %zu lengths not rejected, first %zu\n", bad, first);
	for (size_t i = 0; i < 3; i++) {
		ss_buf_reset(&t);
		ss_buf_put(&t, b.p, b.len);
		ss_buf_put(&t, tails[i], tlen[i]);
		is_int(decode_rc(t.p, t.len), SS_ECORRUPT,
		    "rejects %zu trailing byte(s) starting 0x%02x", tlen[i],
		    tails[i][0]);
	}
	/* The last entry once more, the count unchanged. */
	ss_buf_reset(&t);
	ss_buf_put(&t, b.p, b.len);
	ss_ent_encode_v1(&v[2], &t);
	is_int(decode_rc(t.p, t.len), SS_ECORRUPT,
	    "rejects a whole trailing entry");
	ss_buf_free(&b);
	ss_buf_free(&t);
}

static void
test_reject_kinds(void)
{
	static const struct { uint8_t type, ckind; const char *what; } k[] = {
		{ 0, SS_CK_NONE, "type 0" },
		{ 7, SS_CK_NONE, "type 7" },
		{ 255, SS_CK_NONE, "type 255" },
		{ SS_FT_REG, 5, "content kind 5" },
		{ SS_FT_REG, 255, "content kind 255" },
		{ SS_FT_REG, SS_CK_DIR, "a regular file with dir content" },
		{ SS_FT_DIR, SS_CK_NONE, "a directory without content" },
		{ SS_FT_DIR, SS_CK_CHUNK, "a directory with a chunk" },
		{ SS_FT_DIR, SS_CK_FILE, "a directory with a file map" },
		{ SS_FT_LNK, SS_CK_CHUNK, "a symlink with a chunk" },
		{ SS_FT_LNK, SS_CK_DIR, "a symlink with directory content" },
		{ SS_FT_FIFO, SS_CK_CHUNK, "a fifo with a chunk" },
		{ SS_FT_CHR, SS_CK_FILE, "a char device with a file map" },
		{ SS_FT_BLK, SS_CK_DIR, "a block device with dir content" },
	};
	struct ss_ent e;

	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		e = mkent("m", SS_FT_REG);
		e.type = k[i].type;
		e.ckind = k[i].ckind;
		if (e.ckind != SS_CK_NONE)
			memset(e.cid.b, 0x33, SS_ID_LEN);
		ok(reject_mid(e), "rejects %s", k[i].what);
	}
	e = mkent("m", SS_FT_LNK);
	e.target = NULL;
	e.targetlen = 0;
	ok(reject_mid(e), "rejects a symlink without a target");
	e = mkent("m", SS_FT_LNK);
	e.target = "a\0b";
	e.targetlen = 3;
	ok(reject_mid(e), "rejects a symlink target with a NUL");
	e = mkent("m", SS_FT_REG);
	e.target = "x";
	e.targetlen = 1;
	ok(reject_mid(e), "rejects a regular file with a target");
	e = mkent("m", SS_FT_DIR);
	e.target = "x";
	e.targetlen = 1;
	ok(reject_mid(e), "rejects a directory with a target");
	e = mkent("m", SS_FT_FIFO);
	e.target = "x";
	e.targetlen = 1;
	ok(reject_mid(e), "rejects a fifo with a target");
}

static void
test_reject_fields(void)
{
	static uint8_t bigx[SS_XATTRS_MAX + 1];
	struct ss_ent e;

	e = mkent("m", SS_FT_REG);
	e.mode = 010000;
	ok(reject_mid(e), "rejects mode 010000");
	e.mode = UINT32_MAX;
	ok(reject_mid(e), "rejects mode 0xffffffff");
	e = mkent("m", SS_FT_REG);
	e.mtime_nsec = 1000000000;
	ok(reject_mid(e), "rejects mtime_nsec 10^9");
	e.mtime_nsec = UINT32_MAX;
	ok(reject_mid(e), "rejects mtime_nsec 2^32-1");
	e = mkent("m", SS_FT_REG);
	e.ctime_nsec = 1000000000;
	ok(reject_mid(e), "rejects ctime_nsec 10^9");
	e = mkent("m", SS_FT_REG);
	e.xattrs = bigx;
	e.xattrslen = sizeof(bigx);
	ok(reject_mid(e), "rejects xattrs of SS_XATTRS_MAX + 1 bytes");
}

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

/* ---------- mutation sweep ---------- */

/* accepted_canonical(p, n): an accepted mutant re-encodes to itself. */
static int
accepted_canonical(const struct dec *x, const uint8_t *p, size_t n)
{
	struct ss_buf b = SS_BUF_INIT;
	int good;

	enc_dir(x->d.ents, x->d.n, &b);
	good = bytes_eq(b.p, b.len, p, n);
	for (size_t i = 0; good && i < x->d.n; i++)
		good = ss_dir_find(&x->d, x->d.ents[i].name,
		    x->d.ents[i].namelen) == &x->d.ents[i];
	ss_buf_free(&b);
	return good;
}

static void
test_bitflips(void)
{
	struct ss_buf b = SS_BUF_INIT;
	struct ss_ent v[3];
	struct dec x;
	size_t rejected = 0, accepted = 0, wrong = 0, hdr_ok = 0;
	uint8_t *m;

	v[0] = mkent("file", SS_FT_REG);
	v[0].xattrs = (const uint8_t *)"\x01\x00k\x01\x00\x00\x00v";
	v[0].xattrslen = 8;
	v[1] = mkent("link", SS_FT_LNK);
	v[2] = mkent("sub", SS_FT_DIR);
	enc_dir(v, 3, &b);
	m = malloc(b.len);
	for (size_t bit = 0; m != NULL && bit < 8 * b.len; bit++) {
		memcpy(m, b.p, b.len);
		m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		dec_open(&x, m, b.len);
		if ((x.r == 0 && !refs_used(&x.d)) || x.r == SS_EAUTH) {
			rejected++;	/* by the references check */
		} else if (x.r == 0) {
			accepted++;
			if (!accepted_canonical(&x, m, b.len))
				wrong++;
			/* version and count: 1 + 4 bytes; or version, the
			 * references' digest and a one-byte varint */
			if (bit < 8 * (g_ver == SS_DIR_VERSION_V1 ? 5 : 34))
				hdr_ok++;
		} else if (x.r == SS_ECORRUPT)
			rejected++;
		else
			wrong++;
		dec_close(&x);
	}
	ok(m != NULL && wrong == 0 && rejected + accepted == 8 * b.len,
	    "%zu bit flips of a %zu-byte directory: %zu rejected as corrupt, "
	    "%zu accepted (metadata bits) and canonical", 8 * b.len, b.len,
	    rejected, accepted);
	is_int(hdr_ok, 0, "every flip of the version or count is rejected");
	free(m);
	ss_buf_free(&b);
}

/* ---------- lookup ---------- */

static int
name_sort(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	size_t xn = strlen(x), yn = strlen(y);
	int c = memcmp(x, y, xn < yn ? xn : yn);

	return c ? c : (xn > yn) - (xn < yn);
}

static void
test_find(void)
{
	static const char *fixed[] = { "a", "ab", "abc", "b", "\xc3\xa9",
	    "Z", "~" };
	static const char *absent[] = { "", "0", "aa", "abcd", "abd", "c",
	    "e", "n00x", "n0", "zzz", "\xff", "Y", "[" };
	char *names[64];
	struct ss_ent v[64];
	struct ss_buf b = SS_BUF_INIT;
	struct dec x;
	size_t n = 0, found = 0, wrongly = 0;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		names[n++] = ss_strdup(fixed[i]);
	for (int i = 0; i < 50; i++)
		names[n++] = ss_asprintf("n%02d", i);
	qsort(names, n, sizeof(names[0]), name_sort);
	for (size_t i = 0; i < n; i++)
		v[i] = mkent(names[i], i % 2 ? SS_FT_DIR : SS_FT_REG);
	enc_dir(v, n, &b);
	dec_open(&x, b.p, b.len);
	is_int(x.r, 0, "decode a %zu-entry directory", n);
	for (size_t i = 0; x.r == 0 && i < n; i++)
		if (ss_dir_find(&x.d, names[i], strlen(names[i])) ==
		    &x.d.ents[i])
			found++;
	is_int(found, n, "ss_dir_find finds every entry");
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
		if (ss_dir_find(&x.d, absent[i], strlen(absent[i])) != NULL) {
			printf("#   found absent name '%s'\n", absent[i]);
			wrongly++;
		}
	is_int(wrongly, 0, "ss_dir_find finds no absent name (%zu tried)",
	    sizeof(absent) / sizeof(absent[0]));
	ok(ss_dir_find(&x.d, "abcdef", 3) != NULL &&
	    ss_dir_find(&x.d, "abcdef", 3)->namelen == 3,
	    "ss_dir_find uses the length given, not a NUL");
	ok(ss_dir_find(&x.d, "a\0", 2) == NULL,
	    "ss_dir_find: an embedded NUL is part of the name");
	dec_close(&x);

	enc_dir(NULL, 0, &b);
	dec_open(&x, b.p, b.len);
	ok(x.r == 0 && x.d.n == 0 && ss_dir_find(&x.d, "a", 1) == NULL,
	    "ss_dir_find in an empty directory: NULL");
	dec_close(&x);
	ok(ss_dir_find(NULL, "a", 1) == NULL, "ss_dir_find(NULL): NULL");
	ss_dir_free(NULL);
	ok(1, "ss_dir_free(NULL) is a no-op");
	for (size_t i = 0; i < n; i++)
		free(names[i]);
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
	static const uint8_t vers[] = { SS_DIR_VERSION, SS_DIR_VERSION_V1 };

	for (size_t i = 0; i < sizeof(vers); i++) {
		g_ver = vers[i];
		printf("# directory objects, version %u\n", g_ver);
		test_roundtrip_types();
		test_accepts_bounds();
		test_reject_names();
		test_reject_order();
		test_reject_truncated_trailing();
		test_reject_kinds();
		test_reject_fields();
		test_bitflips();
		test_find();
	}
	g_ver = SS_DIR_VERSION;
	test_reject_header();
	test_v2_header();
	test_v2_refs();
	test_inline();
	test_filemaps();
	test_remap_dirs();
	ss_buf_free(&g_refs);
	return done_testing();
}
