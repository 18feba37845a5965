/*
 * test_chunk: FastCDC bounds, determinism, streaming equivalence,
 * re-synchronisation after an insertion, and keyed tables.
 */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "chunk/chunk.h"

#define BIG ((size_t)32 << 20)
#define MAXCHUNKS 4096

static uint64_t rng;

static uint64_t
next(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void
fill_random(uint8_t *p, size_t n, uint64_t seed)
{
	rng = seed;
	for (size_t i = 0; i + 8 <= n; i += 8) {
		uint64_t v = next();

		memcpy(p + i, &v, 8);
	}
	for (size_t i = n & ~(size_t)7; i < n; i++)
		p[i] = (uint8_t)next();
}

/*
 * Chunk ${n} bytes as a streaming caller would: offer min(left, max) bytes
 * with eof set only when they are the last ones.  Chunk end offsets go to
 * ${ends}; returns the count, or -1 on a contract violation.
 */
static int
chunk_all(const struct ss_chunker *c, const uint8_t *p, size_t n,
    size_t maxlen, size_t *ends, int maxends)
{
	size_t off = 0;
	int k = 0;

	while (off < n) {
		size_t left = n - off, give = left < maxlen ? left : maxlen;
		size_t len = ss_chunker_cut(c, p + off, give, give == left);

		if (len == 0 || len > give || k == maxends)
			return -1;
		off += len;
		ends[k++] = off;
	}
	return k;
}

static void
test_params(void)
{
	uint8_t seed[32] = { 1 };
	struct ss_chunker *c;

	c = ss_chunker_new(NULL, 64, 128, 1024);
	ok(c != NULL, "smallest sizes accepted");
	ss_chunker_free(c);
	ok(ss_chunker_new(NULL, 63, 128, 1024) == NULL, "min < 64 refused");
	ok(ss_chunker_new(NULL, 128, 128, 1024) == NULL, "min = avg refused");
	ok(ss_chunker_new(NULL, 64, 100, 1024) == NULL,
	    "avg not a power of two refused");
	ok(ss_chunker_new(seed, 64, 1024, 1024) == NULL, "avg = max refused");
	ss_chunker_free(NULL);
}

static void
test_small_cases(void)
{
	struct ss_chunker *c = ss_chunker_new(NULL, 64, 256, 1024);
	uint8_t buf[4096];

	fill_random(buf, sizeof(buf), 7);
	is_int(ss_chunker_cut(c, buf, 0, 0), 0, "n = 0");
	is_int(ss_chunker_cut(c, buf, 0, 1), 0, "n = 0 at eof");
	is_int(ss_chunker_cut(c, buf, 10, 0), 0, "short, not eof: need more");
	is_int(ss_chunker_cut(c, buf, 10, 1), 10, "short at eof: all");
	is_int(ss_chunker_cut(c, buf, 64, 1), 64, "exactly min at eof");
	memset(buf, 0, sizeof(buf));
	{
		size_t a = ss_chunker_cut(c, buf, 4096, 0);

		ok(a > 64 && a <= 1024, "zeros: cut in (min, max] (%zu)", a);
	}
	ss_chunker_free(c);
}

static void
test_big(void)
{
	struct ss_chunker *c = ss_chunker_new(NULL, SS_CHUNK_MIN, SS_CHUNK_AVG,
	    SS_CHUNK_MAX);
	uint8_t *p = malloc(BIG + 100);
	size_t *e1 = calloc(MAXCHUNKS, sizeof(size_t));
	size_t *e2 = calloc(MAXCHUNKS, sizeof(size_t));
	int k1, k2, bad = 0, partial_bad = 0, differ;
	size_t prev = 0;

	fill_random(p + 100, BIG, 42);
	k1 = chunk_all(c, p + 100, BIG, SS_CHUNK_MAX, e1, MAXCHUNKS);
	ok(k1 > 1, "32 MiB: %d chunks, mean %zu bytes", k1,
	    k1 > 0 ? BIG / (size_t)k1 : 0);
	for (int i = 0; i < k1; i++) {
		size_t len = e1[i] - prev;

		if (i < k1 - 1 && (len < SS_CHUNK_MIN || len > SS_CHUNK_MAX))
			bad++;
		prev = e1[i];
	}
	is_int(bad, 0, "every chunk but the last is within [min, max]");
	ok(k1 > 0 && e1[k1 - 1] == BIG, "chunks cover the input");
	ok(k1 >= 16 && k1 <= 48, "mean chunk size near avg (%d chunks)", k1);

	/* determinism, and feeding the whole buffer at once changes nothing */
	k2 = chunk_all(c, p + 100, BIG, BIG, e2, MAXCHUNKS);
	ok(k2 == k1 && memcmp(e1, e2, (size_t)k1 * sizeof(size_t)) == 0,
	    "same chunks when offered the whole buffer");

	/* a cut found in a partial window is the cut of the full window */
	prev = 0;
	for (int i = 0; i < k1 - 1; i++) {
		size_t step = SS_CHUNK_MAX / 3 + 12345, got;

		got = ss_chunker_cut(c, p + 100 + prev, step, 0);
		if (got != 0 && got != e1[i] - prev)
			partial_bad++;
		if (got == 0 && e1[i] - prev <= step)
			partial_bad++;
		prev = e1[i];
	}
	is_int(partial_bad, 0, "a partial window yields the same cut or 0");

	/* insert 100 bytes at the start: boundaries re-synchronise */
	fill_random(p, 100, 99);
	k2 = chunk_all(c, p, BIG + 100, SS_CHUNK_MAX, e2, MAXCHUNKS);
	differ = 0;
	for (int i = 0, j = 0; i < k2; i++) {
		while (j < k1 && e1[j] + 100 < e2[i])
			j++;
		if (j == k1 || e1[j] + 100 != e2[i])
			differ++;
	}
	ok(differ <= 2, "after a 100-byte insertion %d of %d boundaries "
	    "are new", differ, k2);
	ok(k2 >= k1 - 2 && k2 <= k1 + 2, "chunk count nearly unchanged");

	/* keyed tables */
	{
		uint8_t s1[32], s2[32];
		struct ss_chunker *c1, *c1b, *c2;
		int ka, kb, kc;
		size_t *e3 = calloc(MAXCHUNKS, sizeof(size_t));

		memset(s1, 0x11, 32);
		memset(s2, 0x11, 32);
		s2[31] ^= 1;
		c1 = ss_chunker_new(s1, SS_CHUNK_MIN, SS_CHUNK_AVG,
		    SS_CHUNK_MAX);
		c1b = ss_chunker_new(s1, SS_CHUNK_MIN, SS_CHUNK_AVG,
		    SS_CHUNK_MAX);
		c2 = ss_chunker_new(s2, SS_CHUNK_MIN, SS_CHUNK_AVG,
		    SS_CHUNK_MAX);
		ka = chunk_all(c1, p + 100, BIG, SS_CHUNK_MAX, e2, MAXCHUNKS);
		kb = chunk_all(c1b, p + 100, BIG, SS_CHUNK_MAX, e3, MAXCHUNKS);
		ok(ka > 0 && ka == kb &&
		    memcmp(e2, e3, (size_t)ka * sizeof(size_t)) == 0,
		    "same seed, same boundaries");
		kc = chunk_all(c2, p + 100, BIG, SS_CHUNK_MAX, e3, MAXCHUNKS);
		ok(kc > 0 && e2[0] != e3[0],
		    "different seeds, different first boundary");
		ok(ka > 0 && e1[0] != e2[0],
		    "a seed differs from the public table");
		ss_chunker_free(c1);
		ss_chunker_free(c1b);
		ss_chunker_free(c2);
		free(e3);
	}

	/* all zeros: equal chunks, all within bounds */
	memset(p, 0, BIG);
	k1 = chunk_all(c, p, BIG, SS_CHUNK_MAX, e1, MAXCHUNKS);
	bad = 0;
	for (int i = 1; i < k1 - 1; i++)
		if (e1[i] - e1[i - 1] != e1[0])
			bad++;
	ok(k1 > 2 && bad == 0 && e1[0] > SS_CHUNK_MIN &&
	    e1[0] <= SS_CHUNK_MAX, "zeros: %d equal chunks of %zu", k1,
	    k1 > 0 ? e1[0] : 0);

	ss_chunker_free(c);
	free(e1);
	free(e2);
	free(p);
}

/* Small parameters on many boundaries: the mean is close to avg. */
static void
test_distribution(void)
{
	struct ss_chunker *c = ss_chunker_new(NULL, 2048, 8192, 65536);
	size_t n = (size_t)8 << 20, *e = calloc(8192, sizeof(size_t));
	uint8_t *p = malloc(n);
	int k;

	fill_random(p, n, 5);
	k = chunk_all(c, p, n, 65536, e, 8192);
	ok(k > 0 && n / (size_t)k > 8192 * 3 / 4 &&
	    n / (size_t)k < 8192 * 3 / 2,
	    "8 KiB average: mean %zu over %d chunks", k > 0 ? n / (size_t)k : 0,
	    k);
	ss_chunker_free(c);
	free(e);
	free(p);
}

/*
 * ss_chunker_feed in pieces of random sizes (1 byte to a few MiB) makes
 * exactly the cuts ss_chunker_cut makes: zeros, random data and text-like
 * data with small parameters and the real ones.
 */
static int
feed_all(const struct ss_chunker *c, const uint8_t *p, size_t n,
    size_t *ends, int maxends, uint64_t seed)
{
	struct ss_chunkst st;
	size_t off = 0;
	int k = 0;

	rng = seed;
	ss_chunker_begin(&st);
	while (off < n) {
		size_t want = 1 + (size_t)(next() % ((next() & 1) ? 17 :
		    (3u << 20)));
		size_t give = want < n - off ? want : n - off;
		size_t used = ss_chunker_feed(c, &st, p + off, give);

		if (used > give || (used < give && !st.cut) || k == maxends)
			return -1;
		off += used;
		if (st.cut) {
			ends[k++] = off;
			ss_chunker_begin(&st);
		}
	}
	if (st.pos > 0) {
		if (k == maxends)
			return -1;
		ends[k++] = off;
	}
	return k;
}

static void
test_feed(void)
{
	struct ss_chunker *big = ss_chunker_new(NULL, SS_CHUNK_MIN,
	    SS_CHUNK_AVG, SS_CHUNK_MAX);
	struct ss_chunker *sm = ss_chunker_new(NULL, 64, 256, 1024);
	size_t n = (size_t)24 << 20;
	uint8_t *p = malloc(n);
	size_t *e1 = calloc(MAXCHUNKS * 64, sizeof(size_t));
	size_t *e2 = calloc(MAXCHUNKS * 64, sizeof(size_t));
	int k1, k2, bad = 0;

	for (int round = 0; round < 3; round++) {
		if (round == 0)
			fill_random(p, n, 11);
		else if (round == 1)
			memset(p, 0, n);
		else
			for (size_t i = 0; i < n; i++)
				p[i] = (uint8_t)("abc def\n"[(i * 7 + i / 13) % 8]);
		for (int s = 0; s < 2; s++) {
			const struct ss_chunker *c = s ? sm : big;
			size_t len = s ? n / 8 : n;

			k1 = chunk_all(c, p, len, s ? 1024 : SS_CHUNK_MAX, e1,
			    MAXCHUNKS * 64);
			k2 = feed_all(c, p, len, e2, MAXCHUNKS * 64,
			    (uint64_t)round * 10 + (uint64_t)s);
			if (k1 <= 0 || k1 != k2 ||
			    memcmp(e1, e2, (size_t)k1 * sizeof(size_t)) != 0)
				bad++;
		}
	}
	is_int(bad, 0, "feeding pieces makes the same cuts as whole buffers");
	ss_chunker_free(big);
	ss_chunker_free(sm);
	free(e1);
	free(e2);
	free(p);
}

int
main(void)
{
	test_params();
	test_feed();
	test_small_cases();
	test_big();
	test_distribution();
	return done_testing();
}
