/*
 * chunk/chunk.c: FastCDC (Xia et al., USENIX ATC 2016) with normalized
 * chunking, level 2.
 *
 * Gear hash: h = (h << 1) + G[byte], 64 bits.  Bit k of h depends only on
 * the last k + 1 bytes, so the masks use the top bits (a window of at
 * least 40 bytes for every mask bit).  With avg = 2^b, a cut is declared
 * after byte i when (h & mask) == 0, where mask has b + 2 bits for
 * chunk offsets below avg (cuts are rarer there) and b - 2 bits at and
 * above avg (cuts are likelier), which narrows the size distribution
 * around avg.  Hashing starts at offset min: no cut can fall below it, so
 * those bytes are skipped outright.
 *
 * Gear table: 256 64-bit words, HKDF-SHA256 expand of the 32-byte seed
 * (info "snapseal gear v1 keyed"), or with no seed of a fixed public label
 * (info "snapseal gear v1 public").  Little-endian words.
 */
#include <stdlib.h>
#include <string.h>

#include "chunk/chunk.h"
#include "crypto/crypto.h"
#include "util/util.h"

#define SS_GEAR_N 256
#define SS_NC_LEVEL 2

static const char ss_gear_label[] = "snapseal FastCDC gear table";
static const char ss_info_keyed[] = "snapseal gear v1 keyed";
static const char ss_info_public[] = "snapseal gear v1 public";

struct ss_chunker {
	uint64_t gear[SS_GEAR_N];
	uint64_t mask_s;	/* b + 2 bits: below avg */
	uint64_t mask_l;	/* b - 2 bits: at and above avg */
	uint32_t min, avg, max;
};

/* ss_top_mask(bits): a mask of the ${bits} (1..64) most significant bits. */
static uint64_t
ss_top_mask(unsigned bits)
{
	if (bits == 0 || bits > 64)
		return 0;
	return ~(uint64_t)0 << (64 - bits);
}

static int
ss_gear_derive(const uint8_t *seed, uint64_t gear[SS_GEAR_N])
{
	uint8_t raw[SS_GEAR_N * 8];
	int r;

	if (seed != NULL)
		r = ss_hkdf(seed, 32, NULL, 0, ss_info_keyed,
		    sizeof(ss_info_keyed) - 1, raw, sizeof(raw));
	else
		r = ss_hkdf((const uint8_t *)ss_gear_label,
		    sizeof(ss_gear_label) - 1, NULL, 0, ss_info_public,
		    sizeof(ss_info_public) - 1, raw, sizeof(raw));
	if (r == 0)
		for (size_t i = 0; i < SS_GEAR_N; i++)
			gear[i] = ss_le64dec(raw + 8 * i);
	ss_cleanse(raw, sizeof(raw));
	return r;
}

struct ss_chunker *
ss_chunker_new(const uint8_t *seed, uint32_t min, uint32_t avg,
    uint32_t max)
{
	struct ss_chunker *c;
	unsigned bits = 0;

	if (min < 64 || min >= avg || avg >= max || (avg & (avg - 1)) != 0) {
		ss_err(SS_EINVAL, "chunker sizes %u/%u/%u are invalid", min,
		    avg, max);
		return NULL;
	}
	while (((uint32_t)1 << bits) < avg)
		bits++;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		ss_err(SS_ENOMEM, "out of memory");
		return NULL;
	}
	if (ss_gear_derive(seed, c->gear) != 0) {
		ss_chunker_free(c);
		return NULL;
	}
	c->mask_s = ss_top_mask(bits + SS_NC_LEVEL);
	c->mask_l = ss_top_mask(bits - SS_NC_LEVEL);
	c->min = min;
	c->avg = avg;
	c->max = max;
	return c;
}

void
ss_chunker_free(struct ss_chunker *c)
{
	if (c == NULL)
		return;
	/* a keyed table is secret: it predicts where boundaries fall */
	ss_cleanse(c, sizeof(*c));
	free(c);
}

size_t
ss_chunker_cut(const struct ss_chunker *c, const uint8_t *p, size_t n,
    int eof)
{
	const uint64_t *g = c->gear;
	uint64_t h = 0, mask;
	size_t i, mid, lim;

	if (n == 0)
		return 0;
	lim = n < c->max ? n : c->max;
	if (lim > c->min) {
		mid = c->avg < lim ? c->avg : lim;
		mask = c->mask_s;
		for (i = c->min; i < mid; i++) {
			h = (h << 1) + g[p[i]];
			if ((h & mask) == 0)
				return i + 1;
		}
		mask = c->mask_l;
		for (; i < lim; i++) {
			h = (h << 1) + g[p[i]];
			if ((h & mask) == 0)
				return i + 1;
		}
	}
	if (n >= c->max)
		return c->max;
	return eof ? n : 0;
}

void
ss_chunker_begin(struct ss_chunkst *st)
{
	st->h = 0;
	st->pos = 0;
	st->cut = 0;
}

/*
 * gear_scan(c, h, p, from, to, mask, &at): hash bytes [from, to) of the
 * chunk (at p[0] is byte ${from}); 1 with *at = the chunk length if a cut
 * falls there.
 */
static inline int
gear_scan(const struct ss_chunker *c, uint64_t *hp, const uint8_t *p,
    size_t from, size_t to, uint64_t mask, size_t *at)
{
	const uint64_t *g = c->gear;
	const uint8_t *q = p - from;
	uint64_t h = *hp;

	for (size_t i = from; i < to; i++) {
		h = (h << 1) + g[q[i]];
		if ((h & mask) == 0) {
			*hp = h;
			*at = i + 1;
			return 1;
		}
	}
	*hp = h;
	return 0;
}

size_t
ss_chunker_feed(const struct ss_chunker *c, struct ss_chunkst *st,
    const uint8_t *p, size_t n)
{
	size_t pos = st->pos, end, at, lim;

	st->cut = 0;
	if (pos >= c->max)
		return 0;
	lim = n < c->max - pos ? pos + n : c->max;
	end = pos;
	/* no cut below min: those bytes are not even hashed */
	if (end < c->min)
		end = lim < c->min ? lim : c->min;
	if (end < lim && end < c->avg &&
	    gear_scan(c, &st->h, p + (end - pos), end,
	    lim < c->avg ? lim : c->avg, c->mask_s, &at))
		goto cut;
	if (end < c->avg)
		end = lim < c->avg ? lim : c->avg;
	if (end < lim && gear_scan(c, &st->h, p + (end - pos), end, lim,
	    c->mask_l, &at))
		goto cut;
	st->pos = lim;
	if (lim == c->max)
		st->cut = 1;
	return lim - pos;
cut:
	st->pos = at;
	st->cut = 1;
	return at - pos;
}
