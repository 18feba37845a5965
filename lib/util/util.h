/*
 * util: errors, growable buffers, bounded decoding, little-endian helpers,
 * durable file operations.  Depends on nothing but libc.
 */
#ifndef SS_UTIL_H
#define SS_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "snapseal.h"

/* ---------- errors ---------- */

/*
 * ss_err(code, fmt, ...): record a one-line detail for the error ${code}
 * (thread-local, overwrites the previous one) and return ${code}, so that
 * "return ss_err(SS_ENOENT, "dataset '%s' does not exist", n);" is the idiom.
 * The detail must never contain key material.
 */
int ss_err(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ss_err_errno(code, fmt, ...): as ss_err, appending ": strerror(errno)". */
int ss_err_errno(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ss_errmsg(): the detail of the last error recorded on this thread ("" if none). */
const char *ss_errmsg(void);

/* ss_errclear(): forget the last error detail. */
void ss_errclear(void);

/* ss_strerror(code): a short generic text for an SS_E* code. */
const char *ss_strerror(int code);

/* ss_errno_code(e): map an errno value to an SS_E* code (ENOSPC -> SS_ENOSPC...). */
int ss_errno_code(int e);

/* ---------- memory ---------- */

/* Allocation wrappers: return NULL on failure (never abort). */
void *ss_malloc(size_t n);
void *ss_calloc(size_t n, size_t size);
void *ss_realloc(void *p, size_t n);
char *ss_strdup(const char *s);
/*
 * ss_grow(pp, cap, n, size): make room for element ${n} of the array whose
 * pointer is at ${pp} (a T **) holding *${cap} elements of ${size} bytes,
 * doubling it (from 16) when full.  0 or SS_ENOMEM (the array is intact).
 */
int ss_grow(void *pp, size_t *cap, size_t n, size_t size);
/* ss_asprintf(fmt, ...): newly allocated formatted string or NULL. */
char *ss_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---------- growable byte buffer ---------- */

struct ss_buf {
	uint8_t *p;
	size_t len;
	size_t cap;
};

#define SS_BUF_INIT { NULL, 0, 0 }

/* ss_buf_reserve(b, n): ensure room for ${n} more bytes.  0 or SS_ENOMEM. */
int ss_buf_reserve(struct ss_buf *b, size_t n);
int ss_buf_put(struct ss_buf *b, const void *p, size_t n);
int ss_buf_put_u8(struct ss_buf *b, uint8_t v);
int ss_buf_put_u16(struct ss_buf *b, uint16_t v);	/* little-endian */
int ss_buf_put_u32(struct ss_buf *b, uint32_t v);	/* little-endian */
int ss_buf_put_u64(struct ss_buf *b, uint64_t v);	/* little-endian */
/* ss_buf_put_str16(b, s, n): u16 length then ${n} bytes (n <= 65535). */
int ss_buf_put_str16(struct ss_buf *b, const void *s, size_t n);
/* ss_buf_put_str32(b, s, n): u32 length then ${n} bytes. */
int ss_buf_put_str32(struct ss_buf *b, const void *s, size_t n);
/*
 * ss_buf_put_varint(b, v): ${v} in LEB128 (7 bits a byte, least
 * significant first, the high bit set on every byte but the last): 1 to
 * 10 bytes, always the shortest.
 */
int ss_buf_put_varint(struct ss_buf *b, uint64_t v);
/* ss_buf_put_vstr(b, s, n): varint length then ${n} bytes. */
int ss_buf_put_vstr(struct ss_buf *b, const void *s, size_t n);
void ss_buf_reset(struct ss_buf *b);	/* len = 0, keeps memory */
void ss_buf_free(struct ss_buf *b);	/* frees memory, b reusable */
/* ss_all_zero(p, n): 1 if the ${n} bytes at ${p} are all zero (or n is 0). */
int ss_all_zero(const void *p, size_t n);

/*
 * ss_zero_pages(): SS_ZERO_PAGES_LEN zero bytes, mapped once per process
 * from the kernel's zero page (nothing resident), READ-ONLY: a source for
 * runs of zeros to hash or write.  NULL if the mapping failed.
 */
#define SS_ZERO_PAGES_LEN (8u * 1024 * 1024)
uint8_t *ss_zero_pages(void);

/* ss_buf_wipe(b): overwrite the whole allocation with zeros, then free. */
void ss_buf_wipe(struct ss_buf *b);

/* ---------- bounded reader for untrusted bytes ---------- */

/*
 * A reader over ${len} bytes at ${p}.  Every get checks the remaining length
 * first; on underflow it sets ${err} to SS_ECORRUPT, returns zeros, and all
 * later gets fail too, so a decoder can read a whole record and check
 * rd.err once at the end.
 */
struct ss_rd {
	const uint8_t *p;
	size_t len;
	size_t off;
	int err;
};

void ss_rd_init(struct ss_rd *r, const void *p, size_t len);
uint8_t ss_rd_u8(struct ss_rd *r);
uint16_t ss_rd_u16(struct ss_rd *r);
uint32_t ss_rd_u32(struct ss_rd *r);
uint64_t ss_rd_u64(struct ss_rd *r);
/* ss_rd_bytes(r, n): pointer to the next ${n} bytes (borrowed) or NULL. */
const uint8_t *ss_rd_bytes(struct ss_rd *r, size_t n);
/* ss_rd_str16(r, &n): u16 length-prefixed bytes, pointer borrowed, or NULL. */
const uint8_t *ss_rd_str16(struct ss_rd *r, size_t *n);
/* ss_rd_str32(r, max, &n): u32 length-prefixed bytes, length <= ${max}. */
const uint8_t *ss_rd_str32(struct ss_rd *r, size_t max, size_t *n);
/*
 * ss_rd_varint(r): a LEB128 value as ss_buf_put_varint writes it; one not
 * in its shortest form, or beyond 64 bits, is an error (SS_ECORRUPT), so
 * that a value has exactly one encoding.
 */
uint64_t ss_rd_varint(struct ss_rd *r);
/* ss_rd_vstr(r, max, &n): varint length-prefixed bytes, length <= ${max}. */
const uint8_t *ss_rd_vstr(struct ss_rd *r, size_t max, size_t *n);
static inline size_t
ss_rd_left(const struct ss_rd *r)
{
	return r->err ? 0 : r->len - r->off;
}

/* ---------- little-endian ---------- */

static inline void
ss_le16enc(void *p, uint16_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
}
static inline void
ss_le32enc(void *p, uint32_t v)
{
	uint8_t *b = p;
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}
static inline void
ss_le64enc(void *p, uint64_t v)
{
	uint8_t *b = p;
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t
ss_le16dec(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)(b[0] | (b[1] << 8));
}
static inline uint32_t
ss_le32dec(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) |
	    ((uint32_t)b[3] << 24);
}
static inline uint64_t
ss_le64dec(const void *p)
{
	return (uint64_t)ss_le32dec(p) | ((uint64_t)ss_le32dec((const uint8_t *)p + 4) << 32);
}

/* ---------- hex ---------- */

/* ss_hex_encode(p, n, out): writes 2n chars and a NUL into ${out}. */
void ss_hex_encode(const void *p, size_t n, char *out);
/* ss_hex_decode(s, slen, out, outlen): exact length; 0 or SS_EINVAL. */
int ss_hex_decode(const char *s, size_t slen, uint8_t *out, size_t outlen);

/* ---------- files ---------- */

/*
 * ss_write_file_atomic(path, p, n, mode): write ${n} bytes to a temporary
 * file beside ${path}, fsync it, rename it over ${path}, fsync the directory.
 * On failure ${path} is untouched and the temporary is removed.
 */
int ss_write_file_atomic(const char *path, const void *p, size_t n, int mode);

/* ss_read_file(path, max, out): read a whole file of at most ${max} bytes. */
int ss_read_file(const char *path, size_t max, struct ss_buf *out);

/* ss_fsync_dir(path): fsync the directory ${path}. */
int ss_fsync_dir(const char *path);

/* ss_fsync_parent(path): fsync the directory containing ${path}. */
int ss_fsync_parent(const char *path);

/* ss_mkdir_p(path, mode): create ${path} and missing parents. */
int ss_mkdir_p(const char *path, int mode);

/* ss_rm_rf(path): remove a tree (does not follow symlinks).  0 if absent. */
int ss_rm_rf(const char *path);
/* ss_rm_rf_at(dfd, name, path): ss_rm_rf of ${name} in ${dfd}. */
int ss_rm_rf_at(int dfd, const char *name, const char *path);

/* ss_write_all(fd, p, n) / ss_pread_all(fd, p, n, off): loop over short I/O. */
int ss_write_all(int fd, const void *p, size_t n);
int ss_pwrite_all(int fd, const void *p, size_t n, uint64_t off);
int ss_pread_all(int fd, void *p, size_t n, uint64_t off);
/*
 * ss_dio_aligned(fd, align): 1 if the file system says (statx
 * STATX_DIOALIGN) that direct I/O on ${fd} works with memory, offsets and
 * lengths that are multiples of ${align}; 0 if not or if it cannot say.
 */
int ss_dio_aligned(int fd, unsigned align);

/*
 * ss_crashpoint(name): for crash tests.  When SNAPSEAL_CRASHPOINT is
 * "NAME" or "NAME:N", the process kills itself with SIGKILL the first (or
 * Nth) time it passes the point called NAME, exactly as a power cut or
 * kill -9 would stop it there.  Without it, SNAPSEAL_STOPPOINT=NAME stops
 * the process (SIGSTOP) at each pass, for a test to act and continue it.
 * Both are read once, at the first point passed.
 */
void ss_crashpoint(const char *name);

/* ss_now_ns(): wall-clock time in nanoseconds since the epoch. */
int64_t ss_now_ns(void);

/* ss_random_u64(): 64 random bits from the OS CSPRNG (getrandom). Non-zero. */
uint64_t ss_random_u64(void);

/* ss_path_join(a, b): newly allocated "a/b" (or NULL). */
char *ss_path_join(const char *a, const char *b);

#endif /* SS_UTIL_H */
