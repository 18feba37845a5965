/*
 * test_compress: round trips, early abort, and hostile input (every
 * truncation, a sweep of bit flips, wrong output sizes) for lz4 and zstd.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "compress/compress.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t
next(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void
fill_random(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)next();
}

static void
fill_text(uint8_t *p, size_t n)
{
	static const char *words[] = { "snapshot ", "dataset ", "pool ",
	    "the ", "encrypted ", "incremental ", "stream ", "of ", "a ",
	    "backup\n", "receive ", "send " };
	size_t i = 0;

	while (i < n) {
		const char *w = words[next() % 12];

		for (; *w != '\0' && i < n; w++)
			p[i++] = (uint8_t)*w;
	}
}

static const char *
algo_name(int algo)
{
	return algo == SS_COMP_LZ4 ? "lz4" : "zstd";
}

/*
 * Compress and decompress ${n} bytes into exact-size heap buffers (so that
 * ASan sees any overrun); return the algorithm used, or -1 on failure.
 */
static int
round_trip(int algo, int level, const uint8_t *p, size_t n, size_t *clen)
{
	struct ss_buf out = SS_BUF_INIT;
	uint8_t *src = NULL, *dst = malloc(n ? n : 1);
	int used, r = -1;

	ss_buf_put(&out, "PFX", 3);	/* results are appended */
	if (ss_compress(algo, level, p, n, &out, &used) != 0)
		goto out;
	*clen = out.len - 3;
	if (used == SS_COMP_OFF) {
		r = out.len == 3 ? SS_COMP_OFF : -1;
		goto out;
	}
	if (memcmp(out.p, "PFX", 3) != 0 || *clen > n - n / 32)
		goto out;
	src = malloc(*clen);
	memcpy(src, out.p + 3, *clen);
	if (ss_decompress(used, src, *clen, dst, n) != 0 ||
	    memcmp(dst, p, n) != 0)
		goto out;
	r = used;
out:
	free(src);
	free(dst);
	ss_buf_free(&out);
	return r;
}

static void
test_round_trips(void)
{
	static const size_t sizes[] = { 64, 4096, 65537, 1 << 20 };
	static const int algos[] = { SS_COMP_LZ4, SS_COMP_ZSTD };
	uint8_t *p = malloc(1 << 22);
	size_t clen;

	for (size_t a = 0; a < 2; a++) {
		int algo = algos[a];

		for (size_t s = 0; s < 4; s++) {
			size_t n = sizes[s];

			memset(p, 0, n);
			is_int(round_trip(algo, 3, p, n, &clen), algo,
			    "%s: %zu zero bytes compress (to %zu)",
			    algo_name(algo), n, clen);
			fill_text(p, n);
			if (n >= 4096)	/* 64 bytes of text do not shrink */
				is_int(round_trip(algo, 3, p, n, &clen), algo,
				    "%s: %zu bytes of text compress (to %zu)",
				    algo_name(algo), n, clen);
			fill_random(p, n);
			is_int(round_trip(algo, 3, p, n, &clen), SS_COMP_OFF,
			    "%s: %zu random bytes stored as is",
			    algo_name(algo), n);
		}
	}
	fill_text(p, 100000);
	for (int level = 1; level <= 19; level += 9)
		is_int(round_trip(SS_COMP_ZSTD, level, p, 100000, &clen),
		    SS_COMP_ZSTD, "zstd-%d round trip (to %zu)", level, clen);

	/*
	 * Early abort: compressible data with a random middle is refused
	 * by the probe, although the whole would compress.
	 */
	fill_text(p, 1 << 20);
	fill_random(p + (1 << 19) - 40000, 80000);
	is_int(round_trip(SS_COMP_LZ4, 0, p, 1 << 20, &clen), SS_COMP_OFF,
	    "lz4 probe of a random middle gives up");
	is_int(round_trip(SS_COMP_ZSTD, 3, p, 1 << 20, &clen), SS_COMP_OFF,
	    "zstd probe of a random middle gives up");

	/* the probe passes but the whole does not shrink by 1/32 */
	fill_random(p, 1 << 22);
	memset(p + (1 << 21) - 50000, 0, 100000);
	is_int(round_trip(SS_COMP_LZ4, 0, p, 1 << 22, &clen), SS_COMP_OFF,
	    "lz4: 2%% gain is not enough");
	is_int(round_trip(SS_COMP_ZSTD, 3, p, 1 << 22, &clen), SS_COMP_OFF,
	    "zstd: 2%% gain is not enough");
	free(p);
}

static void
test_args(void)
{
	struct ss_buf out = SS_BUF_INIT;
	uint8_t z[100] = { 0 }, d[100];
	int used = -1;

	is_int(ss_compress(SS_COMP_OFF, 0, z, 100, &out, &used), 0, "off");
	ok(used == SS_COMP_OFF && out.len == 0, "off appends nothing");
	is_int(ss_compress(7, 0, z, 100, &out, &used), SS_EINVAL,
	    "unknown algorithm");
	is_int(ss_compress(SS_COMP_ZSTD, 0, z, 100, &out, &used), SS_EINVAL,
	    "zstd level 0");
	is_int(ss_compress(SS_COMP_ZSTD, 20, z, 100, &out, &used), SS_EINVAL,
	    "zstd level 20");
	is_int(ss_compress(SS_COMP_LZ4, 0, z, 0, &out, &used), 0, "empty");
	ok(used == SS_COMP_OFF && out.len == 0, "empty input stored");
	is_int(ss_decompress(SS_COMP_OFF, z, 100, d, 100), 0, "off copies");
	is_int(ss_decompress(SS_COMP_OFF, z, 99, d, 100), SS_ECORRUPT,
	    "off with a size mismatch");
	is_int(ss_decompress(3, z, 100, d, 100), SS_ECORRUPT,
	    "decompress unknown algorithm");
	is_int(ss_decompress(SS_COMP_LZ4, z, 0, d, 100), SS_ECORRUPT,
	    "lz4 empty input");
	is_int(ss_decompress(SS_COMP_ZSTD, z, 0, d, 100), SS_ECORRUPT,
	    "zstd empty input");
	is_int(ss_decompress(SS_COMP_ZSTD, z, 100, d, 100), SS_ECORRUPT,
	    "zstd zeros");
	ss_buf_free(&out);
}

/*
 * Decompress ${n} bytes copied into an exact-size heap buffer into an
 * exact-size heap buffer of ${dstlen}.
 */
static int
try_decompress(int algo, const uint8_t *src, size_t n, size_t dstlen)
{
	uint8_t *s = malloc(n ? n : 1), *d = malloc(dstlen ? dstlen : 1);
	int r;

	memcpy(s, src, n);
	r = ss_decompress(algo, s, n, d, dstlen);
	free(s);
	free(d);
	return r;
}

static void
test_hostile(int algo)
{
	struct ss_buf out = SS_BUF_INIT;
	uint8_t text[3000], *c;
	size_t n;
	int used, bad = 0, corrupt = 0, flips = 0;

	fill_text(text, sizeof(text));
	ss_compress(algo, 3, text, sizeof(text), &out, &used);
	is_int(used, algo, "%s: sample compresses", algo_name(algo));
	c = out.p;
	n = out.len;
	is_int(try_decompress(algo, c, n, sizeof(text)), 0,
	    "%s: sample decompresses", algo_name(algo));
	for (size_t len = 0; len < n; len++)
		if (try_decompress(algo, c, len, sizeof(text)) != SS_ECORRUPT)
			bad++;
	is_int(bad, 0, "%s: all %zu truncations give SS_ECORRUPT",
	    algo_name(algo), n);
	bad = 0;
	for (size_t len = 0; len < sizeof(text) + 100; len++) {
		if (len == sizeof(text))
			continue;
		if (try_decompress(algo, c, n, len) != SS_ECORRUPT)
			bad++;
	}
	is_int(bad, 0, "%s: every wrong output size gives SS_ECORRUPT",
	    algo_name(algo));
	for (size_t i = 0; i < 8 * n; i++) {
		int r;

		c[i / 8] ^= (uint8_t)(1 << (i % 8));
		r = try_decompress(algo, c, n, sizeof(text));
		c[i / 8] ^= (uint8_t)(1 << (i % 8));
		flips++;
		if (r == SS_ECORRUPT)
			corrupt++;
		else if (r != 0)
			bad++;
	}
	is_int(bad, 0, "%s: %d bit flips give 0 or SS_ECORRUPT, no crash",
	    algo_name(algo), flips);
	ok(corrupt > flips / 20, "%s: %d of them detected as SS_ECORRUPT",
	    algo_name(algo), corrupt);
	/* trailing garbage */
	ss_buf_put(&out, "\0\0\0\0", 4);
	is_int(try_decompress(algo, out.p, out.len, sizeof(text)),
	    SS_ECORRUPT, "%s: trailing bytes give SS_ECORRUPT",
	    algo_name(algo));
	ss_buf_free(&out);
}

static void
test_parse(void)
{
	static const struct {
		const char *s;
		int r, algo, level;
	} t[] = {
		{ "off", 0, SS_COMP_OFF, 0 }, { "on", 0, SS_COMP_LZ4, 0 },
		{ "lz4", 0, SS_COMP_LZ4, 0 }, { "zstd", 0, SS_COMP_ZSTD, 3 },
		{ "zstd-1", 0, SS_COMP_ZSTD, 1 },
		{ "zstd-19", 0, SS_COMP_ZSTD, 19 },
		{ "zstd-0", SS_EINVAL, 0, 0 }, { "zstd-20", SS_EINVAL, 0, 0 },
		{ "zstd-03", SS_EINVAL, 0, 0 }, { "zstd-", SS_EINVAL, 0, 0 },
		{ "zstd-1x", SS_EINVAL, 0, 0 },
		{ "zstd-99999999999", SS_EINVAL, 0, 0 },
		{ "gzip", SS_EINVAL, 0, 0 }, { "", SS_EINVAL, 0, 0 },
		{ "LZ4", SS_EINVAL, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int algo = -1, level = -1, r;

		r = ss_comp_parse(t[i].s, &algo, &level);
		ok(r == t[i].r && (r != 0 ||
		    (algo == t[i].algo && level == t[i].level)),
		    "parse '%s'", t[i].s);
	}
}

static void *
thread_main(void *arg)
{
	uint8_t *p = malloc(200000);
	size_t clen;
	intptr_t r;

	fill_text(p, 200000);
	r = round_trip(SS_COMP_ZSTD, 1, p, 200000, &clen) == SS_COMP_ZSTD;
	free(p);
	return (void *)r;
}

int
main(void)
{
	pthread_t th[4];
	void *res;
	int good = 0;

	test_round_trips();
	test_args();
	test_hostile(SS_COMP_LZ4);
	test_hostile(SS_COMP_ZSTD);
	test_parse();
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, thread_main, NULL);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], &res);
		good += res != NULL;
	}
	is_int(good, 4, "per-thread zstd contexts");
	return done_testing();
}
