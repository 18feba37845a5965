/*
 * fuzz_mutate.h: mutations that keep a stream's framing, for the targets
 * whose input is a stream (docs/stream-format.md) after a prefix of
 * ${pre} bytes; their LLVMFuzzerCustomMutator and CustomCrossOver call
 * these.
 *
 * Byte-level mutations of a stream mostly break its framing (a length
 * changed, a record cut), and the checks behind it go unexplored.  These
 * work on whole records: mutate one payload (an OBJECT's stored object
 * with its length field kept right), drop, copy or swap records, or
 * splice two streams at record boundaries; one time in eight, or when the
 * input has fewer than two records, libFuzzer's own mutation instead
 * (which also mutates the prefix).  BEGIN stays first.  Checksums are
 * left stale: the target recomputes them (fuzz_fixup_stream).
 */
#ifndef SS_FUZZ_MUTATE_H
#define SS_FUZZ_MUTATE_H

#include "fuzz.h"

/* libFuzzer's own mutation, callable from a custom mutator. */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);

#define FUZZ_MAXRECS 512
#define FUZZ_REC_EXTRA (SS_STREAM_RECHDR + SS_SUM_LEN)

struct fuzz_rec {
	size_t off, len;	/* offset in the stream; payload length */
};

/* fuzz_split(s, n, v): the whole records of stream ${s}; their count. */
static inline size_t
fuzz_split(const uint8_t *s, size_t n, struct fuzz_rec *v)
{
	size_t off = 0, k = 0, len;

	while (k < FUZZ_MAXRECS && n - off >= FUZZ_REC_EXTRA) {
		len = ss_le32dec(s + off + 4);
		if (len > n - off - FUZZ_REC_EXTRA)
			break;
		v[k].off = off;
		v[k++].len = len;
		off += FUZZ_REC_EXTRA + len;
	}
	return k;
}

/* fuzz_put_rec(b, s, r, pay, len): record ${r} of ${s}, another payload. */
static inline void
fuzz_put_rec(struct ss_buf *b, const uint8_t *s, const struct fuzz_rec *r,
    const uint8_t *pay, size_t len)
{
	uint8_t hdr[SS_STREAM_RECHDR];

	memcpy(hdr, s + r->off, SS_STREAM_RECHDR);
	ss_le32enc(hdr + 4, (uint32_t)len);
	FUZZ_CHECK(ss_buf_put(b, hdr, sizeof(hdr)) == 0);
	FUZZ_CHECK(ss_buf_put(b, pay, len) == 0);
	FUZZ_CHECK(ss_buf_put(b, s + r->off + SS_STREAM_RECHDR + r->len,
	    SS_SUM_LEN) == 0);
}

static inline void
fuzz_put_whole(struct ss_buf *b, const uint8_t *s, const struct fuzz_rec *r)
{
	fuzz_put_rec(b, s, r, s + r->off + SS_STREAM_RECHDR, r->len);
}

/* fuzz_put_mutated(b, s, r, room, seed): ${r} with its payload mutated. */
static inline void
fuzz_put_mutated(struct ss_buf *b, const uint8_t *s,
    const struct fuzz_rec *r, size_t room, unsigned int seed)
{
	static struct ss_buf t;
	size_t skip = 0, n;

	/* an OBJECT's id and length stay; its stored object changes */
	if (s[r->off] == SS_REC_OBJECT && r->len >= SS_ID_LEN + 4 &&
	    seed % 4 != 0)
		skip = SS_ID_LEN + 4;
	if (r->len - skip + room == 0) {
		fuzz_put_whole(b, s, r);
		return;
	}
	ss_buf_reset(&t);
	FUZZ_CHECK(ss_buf_reserve(&t, r->len + room) == 0);
	memcpy(t.p, s + r->off + SS_STREAM_RECHDR, r->len);
	n = skip + LLVMFuzzerMutate(t.p + skip, r->len - skip,
	    r->len - skip + room);
	if (skip)
		ss_le32enc(t.p + SS_ID_LEN, (uint32_t)(n - skip));
	fuzz_put_rec(b, s, r, t.p, n);
}

static inline size_t
fuzz_mutate_records(uint8_t *data, size_t size, size_t max,
    unsigned int seed, size_t pre)
{
	static struct fuzz_rec v[FUZZ_MAXRECS];
	static struct ss_buf b;
	const uint8_t *s = data + pre;
	size_t k, i, j, end, room, n;

	k = size > pre ? fuzz_split(s, size - pre, v) : 0;
	if (k < 2 || seed % 8 == 0 || size > max)
		return LLVMFuzzerMutate(data, size, max);
	seed /= 8;
	end = v[k - 1].off + FUZZ_REC_EXTRA + v[k - 1].len;
	i = 1 + (seed >> 3) % (k - 1);
	j = 1 + (seed >> 13) % (k - 1);
	room = max - size;
	ss_buf_reset(&b);
	FUZZ_CHECK(ss_buf_put(&b, data, pre) == 0);
	for (size_t x = 0; x < k; x++) {
		const struct fuzz_rec *r = &v[x];

		switch (seed % 8) {
		case 0:		/* drop record i */
			if (x != i)
				fuzz_put_whole(&b, s, r);
			break;
		case 1:		/* copy record i after record j */
			fuzz_put_whole(&b, s, r);
			if (x == j && FUZZ_REC_EXTRA + v[i].len <= room)
				fuzz_put_whole(&b, s, &v[i]);
			break;
		case 2:		/* swap records i and j */
			fuzz_put_whole(&b, s, x == i ? &v[j] : x == j ? &v[i] :
			    r);
			break;
		default:	/* mutate the payload of record i */
			if (x == i)
				fuzz_put_mutated(&b, s, r, room, seed >> 20);
			else
				fuzz_put_whole(&b, s, r);
		}
	}
	FUZZ_CHECK(ss_buf_put(&b, s + end, size - pre - end) == 0);
	n = b.len <= max ? b.len : max;
	memcpy(data, b.p, n);
	return n;
}

/* The prefix and records 0..i-1 of one input, then records j.. of another. */
static inline size_t
fuzz_cross_records(const uint8_t *d1, size_t n1, const uint8_t *d2,
    size_t n2, uint8_t *out, size_t max, unsigned int seed, size_t pre)
{
	static struct fuzz_rec v1[FUZZ_MAXRECS], v2[FUZZ_MAXRECS];
	size_t k1, k2, a, b, n;

	if (n1 <= pre || n2 <= pre ||
	    (k1 = fuzz_split(d1 + pre, n1 - pre, v1)) < 2 ||
	    (k2 = fuzz_split(d2 + pre, n2 - pre, v2)) < 2)
		return 0;
	a = v1[1 + seed % (k1 - 1)].off;
	b = v2[1 + (seed >> 8) % (k2 - 1)].off;
	n = pre + a + (n2 - pre - b);
	if (n > max)
		return 0;
	memcpy(out, d1, pre + a);
	memcpy(out + pre + a, d2 + pre + b, n2 - pre - b);
	return n;
}

#endif /* SS_FUZZ_MUTATE_H */
