/*
 * rng: xoshiro256** seeded through splitmix64, and a generator of
 * source-like text lines.  Fixed algorithms: the same seed gives the same
 * bytes on every machine and in every future version (tests and benches
 * may record digests of generated data).
 */
#include <stdio.h>
#include <string.h>

#include "sstool.h"

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void
st_rng_seed64(struct st_rng *r, uint64_t v)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&v);
	if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
		r->s[0] = 1;
}

void
st_rng_seed(struct st_rng *r, const char *seed)
{
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a 64 */

	for (const unsigned char *p = (const unsigned char *)seed; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	st_rng_seed64(r, h);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t
st_rng_next(struct st_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

uint64_t
st_rng_below(struct st_rng *r, uint64_t n)
{
	/* Rejection sampling: unbiased, and still deterministic. */
	uint64_t lim = UINT64_MAX - UINT64_MAX % n;
	uint64_t v;

	do
		v = st_rng_next(r);
	while (v >= lim);
	return v % n;
}

static const char *const words[64] = {
	"alloc", "buf", "cache", "chunk", "count", "ctx", "data", "dir",
	"entry", "err", "file", "flags", "free", "hash", "head", "index",
	"init", "item", "key", "len", "list", "lock", "map", "mode",
	"name", "next", "node", "obj", "off", "open", "pack", "parse",
	"path", "pool", "pos", "prev", "read", "ref", "root", "seal",
	"size", "slot", "snap", "state", "stream", "table", "tail", "tree",
	"type", "val", "walk", "write", "zone", "ret", "src", "dst",
	"rec", "hdr", "id", "tmp", "end", "base", "last", "first",
};

const char *
st_rng_word(struct st_rng *r)
{
	return words[st_rng_below(r, 64)];
}

static const char *const tabs = "\t\t\t\t";

size_t
st_text_line(struct st_rng *r, char *out)
{
	const char *in = tabs + 4 - st_rng_below(r, 4);
	const char *a = st_rng_word(r), *b = st_rng_word(r);
	const char *c = st_rng_word(r), *d = st_rng_word(r);
	unsigned num = (unsigned)st_rng_below(r, 4096);
	int n;

	switch (st_rng_below(r, 10)) {
	case 0:
		n = snprintf(out, ST_LINE_MAX, "\n");
		break;
	case 1:
		n = snprintf(out, ST_LINE_MAX, "%s/* %s the %s of %s %s. */\n",
		    in, a, b, c, d);
		break;
	case 2:
		n = snprintf(out, ST_LINE_MAX, "%s%s = %s_%s(%s, %u);\n",
		    in, a, b, c, d, num);
		break;
	case 3:
		n = snprintf(out, ST_LINE_MAX, "%sif (%s->%s < %u) {\n",
		    in, a, b, num);
		break;
	case 4:
		n = snprintf(out, ST_LINE_MAX, "%s}\n", in);
		break;
	case 5:
		n = snprintf(out, ST_LINE_MAX, "%sreturn %s_%s;\n", in, a, b);
		break;
	case 6:
		n = snprintf(out, ST_LINE_MAX,
		    "static int\n%s_%s(struct %s *%s)\n{\n", a, b, c, d);
		break;
	case 7:
		n = snprintf(out, ST_LINE_MAX, "%s%s(%s->%s, \"%s %s %u\");\n",
		    in, a, b, c, d, a, num);
		break;
	default:
		n = snprintf(out, ST_LINE_MAX, "%s %s %s %s, %s %s %s.\n",
		    a, b, c, d, st_rng_word(r), st_rng_word(r), st_rng_word(r));
		break;
	}
	return n < 0 ? 0 : (size_t)n < ST_LINE_MAX ? (size_t)n : ST_LINE_MAX - 1;
}
