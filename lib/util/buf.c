/*
 * util/buf.c: growable byte buffers and the bounded reader for untrusted
 * bytes.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "util/util.h"

#define SS_BUF_MINCAP 64

int
ss_all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	return n == 0 || (b[0] == 0 && memcmp(b, b + 1, n - 1) == 0);
}

static uint8_t *zero_pages;
static pthread_once_t zero_once = PTHREAD_ONCE_INIT;

static void
zero_map(void)
{
	void *p = mmap(NULL, SS_ZERO_PAGES_LEN, PROT_READ, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0);

	zero_pages = p == MAP_FAILED ? NULL : p;
}

uint8_t *
ss_zero_pages(void)
{
	pthread_once(&zero_once, zero_map);
	return zero_pages;
}

int
ss_buf_reserve(struct ss_buf *b, size_t n)
{
	size_t need, cap;
	uint8_t *p;

	if (n > SIZE_MAX - b->len)
		return ss_err(SS_ENOMEM, "buffer size overflow");
	need = b->len + n;
	if (need <= b->cap && b->p != NULL)
		return 0;
	cap = b->cap < SS_BUF_MINCAP ? SS_BUF_MINCAP : b->cap;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if ((p = realloc(b->p, cap)) == NULL)
		return ss_err(SS_ENOMEM, "cannot grow buffer to %zu bytes",
		    cap);
	b->p = p;
	b->cap = cap;
	return 0;
}

int
ss_buf_put(struct ss_buf *b, const void *p, size_t n)
{
	int r;

	if ((r = ss_buf_reserve(b, n)) != 0)
		return r;
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

int
ss_buf_put_u8(struct ss_buf *b, uint8_t v)
{
	return ss_buf_put(b, &v, 1);
}

int
ss_buf_put_u16(struct ss_buf *b, uint16_t v)
{
	uint8_t e[2];

	ss_le16enc(e, v);
	return ss_buf_put(b, e, sizeof(e));
}

int
ss_buf_put_u32(struct ss_buf *b, uint32_t v)
{
	uint8_t e[4];

	ss_le32enc(e, v);
	return ss_buf_put(b, e, sizeof(e));
}

int
ss_buf_put_u64(struct ss_buf *b, uint64_t v)
{
	uint8_t e[8];

	ss_le64enc(e, v);
	return ss_buf_put(b, e, sizeof(e));
}

int
ss_buf_put_varint(struct ss_buf *b, uint64_t v)
{
	uint8_t e[10];
	size_t n = 0;

	while (v >= 0x80) {
		e[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	e[n++] = (uint8_t)v;
	return ss_buf_put(b, e, n);
}

int
ss_buf_put_vstr(struct ss_buf *b, const void *s, size_t n)
{
	int r;

	if ((r = ss_buf_put_varint(b, n)) != 0)
		return r;
	return ss_buf_put(b, s, n);
}

int
ss_buf_put_str16(struct ss_buf *b, const void *s, size_t n)
{
	int r;

	if (n > UINT16_MAX)
		return ss_err(SS_ERANGE, "string of %zu bytes exceeds 65535",
		    n);
	if ((r = ss_buf_reserve(b, 2 + n)) != 0)
		return r;
	ss_buf_put_u16(b, (uint16_t)n);
	return ss_buf_put(b, s, n);
}

int
ss_buf_put_str32(struct ss_buf *b, const void *s, size_t n)
{
	int r;

	if (n > UINT32_MAX)
		return ss_err(SS_ERANGE, "string of %zu bytes exceeds 2^32-1",
		    n);
	if ((r = ss_buf_reserve(b, 4 + n)) != 0)
		return r;
	ss_buf_put_u32(b, (uint32_t)n);
	return ss_buf_put(b, s, n);
}

void
ss_buf_reset(struct ss_buf *b)
{
	b->len = 0;
}

void
ss_buf_free(struct ss_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void
ss_buf_wipe(struct ss_buf *b)
{
	if (b->p != NULL)
		explicit_bzero(b->p, b->cap);
	ss_buf_free(b);
}

/* ---------- bounded reader ---------- */

void
ss_rd_init(struct ss_rd *r, const void *p, size_t len)
{
	r->p = p;
	r->len = p != NULL ? len : 0;
	r->off = 0;
	r->err = 0;
}

/*
 * ss_rd_take(r, n): pointer to the next ${n} bytes and advance, or NULL
 * (and r->err = SS_ECORRUPT, sticky) if fewer than ${n} remain.
 */
static const uint8_t *
ss_rd_take(struct ss_rd *r, size_t n)
{
	static const uint8_t empty[1];
	const uint8_t *p;

	if (r->err != 0)
		return NULL;
	if (n > r->len - r->off) {
		r->err = SS_ECORRUPT;
		return NULL;
	}
	p = r->p != NULL ? r->p + r->off : empty;
	r->off += n;
	return p;
}

uint8_t
ss_rd_u8(struct ss_rd *r)
{
	const uint8_t *p = ss_rd_take(r, 1);

	return p != NULL ? p[0] : 0;
}

uint16_t
ss_rd_u16(struct ss_rd *r)
{
	const uint8_t *p = ss_rd_take(r, 2);

	return p != NULL ? ss_le16dec(p) : 0;
}

uint32_t
ss_rd_u32(struct ss_rd *r)
{
	const uint8_t *p = ss_rd_take(r, 4);

	return p != NULL ? ss_le32dec(p) : 0;
}

uint64_t
ss_rd_u64(struct ss_rd *r)
{
	const uint8_t *p = ss_rd_take(r, 8);

	return p != NULL ? ss_le64dec(p) : 0;
}

uint64_t
ss_rd_varint(struct ss_rd *r)
{
	uint64_t v = 0;
	const uint8_t *p;

	for (unsigned i = 0; i < 10; i++) {
		if ((p = ss_rd_take(r, 1)) == NULL)
			return 0;
		/* the tenth byte holds bit 63 only; a last byte of 0 is long */
		if ((i == 9 && *p > 1) || (i > 0 && *p == 0))
			break;
		v |= (uint64_t)(*p & 0x7f) << (7 * i);
		if (!(*p & 0x80))
			return v;
	}
	r->err = SS_ECORRUPT;
	return 0;
}

/*
 * rd_bounded(r, len, max, n): the ${len} bytes a length prefix announced,
 * refused (SS_ECORRUPT) beyond ${max}.
 */
static const uint8_t *
rd_bounded(struct ss_rd *r, uint64_t len, size_t max, size_t *n)
{
	const uint8_t *p;

	*n = 0;
	if (r->err == 0 && len > max) {
		r->err = SS_ECORRUPT;
		return NULL;
	}
	if ((p = ss_rd_take(r, (size_t)len)) != NULL)
		*n = (size_t)len;
	return p;
}

const uint8_t *
ss_rd_vstr(struct ss_rd *r, size_t max, size_t *n)
{
	return rd_bounded(r, ss_rd_varint(r), max, n);
}

const uint8_t *
ss_rd_bytes(struct ss_rd *r, size_t n)
{
	return ss_rd_take(r, n);
}

const uint8_t *
ss_rd_str16(struct ss_rd *r, size_t *n)
{
	size_t len = ss_rd_u16(r);
	const uint8_t *p = ss_rd_take(r, len);

	*n = p != NULL ? len : 0;
	return p;
}

const uint8_t *
ss_rd_str32(struct ss_rd *r, size_t max, size_t *n)
{
	return rd_bounded(r, ss_rd_u32(r), max, n);
}

int
ss_grow(void *pp, size_t *cap, size_t n, size_t size)
{
	void *p, *np;
	size_t c;

	if (n < *cap)
		return 0;
	c = *cap ? 2 * *cap : 16;
	if (c <= n)
		c = n + 1;
	memcpy(&p, pp, sizeof(p));
	if ((np = ss_realloc(p, c * size)) == NULL)
		return SS_ENOMEM;
	memcpy(pp, &np, sizeof(np));
	*cap = c;
	return 0;
}
