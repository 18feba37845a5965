/*
 * test_tree: directory objects (lib/tree/entry.c, docs/format.md 6.1), the
 * tests that version 2 (written) and version 1 (still read) share: round
 * trips of every entry type; every reader bound rejected (unsafe names,
 * order, count, truncation at every length, trailing bytes, type/content
 * combinations, mode, nanoseconds, symlink targets, xattr size); a sweep
 * of every bit flip of a small valid object; and ss_dir_find.  Every decode
 * reads from a heap copy of exactly the encoded length, so ASan reports a
 * read one byte too far.  Version 2's own fields: test_dir2.c.
 */
#include "dirtest.h"

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

/* settled(sec, nsec, before): ss_ent_settled of an entry with that ctime. */
static int
settled(int64_t sec, uint32_t nsec, int64_t before)
{
	struct ss_ent e;

	memset(&e, 0, sizeof(e));
	e.ctime_sec = sec;
	e.ctime_nsec = nsec;
	return ss_ent_settled(&e, before);
}

static void
test_settled(void)
{
	const int64_t g = 1000000000LL, c = 1700000000LL * g + 250000000LL;
	const int64_t b = ss_settled_before(c);

	is_int(b, c - 2 * g, "ss_settled_before is two seconds before");
	ok(settled(1699999998, 249999999, b), "a ctime 1 ns before: settled");
	ok(!settled(1699999998, 250000000, b), "a ctime at the limit: racy");
	ok(!settled(1699999999, 0, b) && !settled(1700000000, 0, b),
	    "a ctime within the two seconds: racy");
	ok(!settled(1800000000, 0, b), "a ctime after the snapshot: racy");
	ok(settled(-5, 0, b) && settled(INT64_MIN, 0, b),
	    "a ctime before the epoch: settled");
	ok(!settled(INT64_MAX, 999999999, b), "the largest ctime: racy");
	ok(settled(-2, 999999998, -1 * g - 1) &&
	    !settled(-2, 999999999, -1 * g - 1) &&
	    !settled(-1, 0, -1 * g - 1) && !settled(-2, 999999999, -2 * g),
	    "a limit before the epoch, nanoseconds borrowed");
	is_int(ss_settled_before(INT64_MIN + 5), INT64_MIN,
	    "ss_settled_before does not wrap");
	ok(settled(-9223372037LL, 145224191, INT64_MIN) &&
	    !settled(-9223372037LL, 145224192, INT64_MIN),
	    "the earliest limit, to the nanosecond");
}

int
main(void)
{
	static const uint8_t vers[] = { SS_DIR_VERSION, SS_DIR_VERSION_V1 };

	test_settled();

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
	ss_buf_free(&g_refs);
	return done_testing();
}
