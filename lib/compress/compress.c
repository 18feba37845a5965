/*
 * compress/compress.c: zstd and lz4 with early abort.
 *
 * Compression writes straight into the caller's buffer with the capacity
 * limited to the largest useful size (1/32 smaller than the input), so
 * data that does not compress fails fast inside the compressor and nothing
 * is appended.  The zstd contexts are cached per thread (a pthread key
 * frees them when the thread exits).
 */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <lz4.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "compress/compress.h"

#define SS_PROBE_LEN ((size_t)64 * 1024)
#define SS_ZSTD_LEVEL_DEFAULT 3
#define SS_ZSTD_LEVEL_MAX 19

static pthread_once_t ss_zkey_once = PTHREAD_ONCE_INIT;
static pthread_key_t ss_ckey, ss_dkey;
static int ss_zkey_ok;

static void
ss_free_cctx(void *p)
{
	ZSTD_freeCCtx(p);
}

static void
ss_free_dctx(void *p)
{
	ZSTD_freeDCtx(p);
}

static void
ss_zkey_init(void)
{
	if (pthread_key_create(&ss_ckey, ss_free_cctx) != 0)
		return;
	if (pthread_key_create(&ss_dkey, ss_free_dctx) != 0) {
		pthread_key_delete(ss_ckey);
		return;
	}
	ss_zkey_ok = 1;
}

/* ss_cctx(): this thread's zstd compression context, or NULL. */
static ZSTD_CCtx *
ss_cctx(void)
{
	ZSTD_CCtx *c;

	pthread_once(&ss_zkey_once, ss_zkey_init);
	if (!ss_zkey_ok)
		return NULL;
	if ((c = pthread_getspecific(ss_ckey)) != NULL)
		return c;
	if ((c = ZSTD_createCCtx()) == NULL)
		return NULL;
	if (pthread_setspecific(ss_ckey, c) != 0) {
		ZSTD_freeCCtx(c);
		return NULL;
	}
	return c;
}

/* ss_dctx(): this thread's zstd decompression context, or NULL. */
static ZSTD_DCtx *
ss_dctx(void)
{
	ZSTD_DCtx *d;

	pthread_once(&ss_zkey_once, ss_zkey_init);
	if (!ss_zkey_ok)
		return NULL;
	if ((d = pthread_getspecific(ss_dkey)) != NULL)
		return d;
	if ((d = ZSTD_createDCtx()) == NULL)
		return NULL;
	if (pthread_setspecific(ss_dkey, d) != 0) {
		ZSTD_freeDCtx(d);
		return NULL;
	}
	return d;
}

/* ss_worth(n): the largest compressed size worth keeping for ${n} bytes. */
static size_t
ss_worth(size_t n)
{
	return n - (n + 31) / 32;
}

/*
 * ss_probe(src, n, &r): 1 if a 64 KiB sample from the middle of ${src}
 * shrinks by at least 1/32 under lz4 (or ${n} is too small to sample),
 * else 0 with *${r} = 0, or 0 with *${r} = SS_ENOMEM.
 */
static int
ss_probe(const uint8_t *src, size_t n, int *r)
{
	size_t cap = ss_worth(SS_PROBE_LEN);
	char *tmp;
	int k;

	*r = 0;
	if (n <= SS_PROBE_LEN)
		return 1;
	if ((tmp = malloc(cap)) == NULL) {
		*r = ss_err(SS_ENOMEM, "out of memory");
		return 0;
	}
	k = LZ4_compress_default((const char *)src + (n - SS_PROBE_LEN) / 2,
	    tmp, (int)SS_PROBE_LEN, (int)cap);
	free(tmp);
	return k > 0;
}

static int
ss_compress_zstd(int level, const void *src, size_t n, uint8_t *dst,
    size_t cap, size_t *outlen)
{
	ZSTD_CCtx *c;
	size_t k;

	if ((c = ss_cctx()) == NULL)
		return ss_err(SS_ENOMEM, "cannot create a zstd context");
	k = ZSTD_compressCCtx(c, dst, cap, src, n, level);
	if (ZSTD_isError(k)) {
		*outlen = 0;
		switch (ZSTD_getErrorCode(k)) {
		case ZSTD_error_dstSize_tooSmall:
			return 0;	/* did not compress enough */
		case ZSTD_error_memory_allocation:
			return ss_err(SS_ENOMEM, "zstd: %s",
			    ZSTD_getErrorName(k));
		default:
			return ss_err(SS_EIO, "zstd: %s", ZSTD_getErrorName(k));
		}
	}
	*outlen = k;
	return 0;
}

int
ss_compress(int algo, int level, const void *src, size_t n,
    struct ss_buf *out, int *used)
{
	size_t cap, outlen = 0;
	int r;

	*used = SS_COMP_OFF;
	if (algo == SS_COMP_OFF)
		return 0;
	if (algo != SS_COMP_LZ4 && algo != SS_COMP_ZSTD)
		return ss_err(SS_EINVAL, "unknown compression algorithm %d",
		    algo);
	if (algo == SS_COMP_ZSTD && (level < 1 || level > SS_ZSTD_LEVEL_MAX))
		return ss_err(SS_EINVAL, "zstd level %d out of range", level);
	if ((cap = ss_worth(n)) == 0)
		return 0;
	if (algo == SS_COMP_LZ4 && n > LZ4_MAX_INPUT_SIZE)
		return 0;	/* lz4 cannot take it: store as is */
	if (!ss_probe(src, n, &r))
		return r;
	if ((r = ss_buf_reserve(out, cap)) != 0)
		return r;
	if (algo == SS_COMP_LZ4) {
		int k = LZ4_compress_default(src, (char *)out->p + out->len,
		    (int)n, (int)cap);

		outlen = k > 0 ? (size_t)k : 0;
	} else if ((r = ss_compress_zstd(level, src, n, out->p + out->len,
	    cap, &outlen)) != 0)
		return r;
	if (outlen == 0 || outlen > cap)
		return 0;
	out->len += outlen;
	*used = algo;
	return 0;
}

static int
ss_decompress_zstd(const void *src, size_t n, void *dst, size_t dstlen)
{
	unsigned long long fcs;
	ZSTD_DCtx *d;
	size_t k;

	fcs = ZSTD_getFrameContentSize(src, n);
	if (fcs == ZSTD_CONTENTSIZE_ERROR)
		return ss_err(SS_ECORRUPT, "zstd: not a valid frame");
	if (fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs != dstlen)
		return ss_err(SS_ECORRUPT, "zstd: frame holds %llu bytes, "
		    "want %zu", fcs, dstlen);
	if ((d = ss_dctx()) == NULL)
		return ss_err(SS_ENOMEM, "cannot create a zstd context");
	k = ZSTD_decompressDCtx(d, dst, dstlen, src, n);
	if (ZSTD_isError(k)) {
		if (ZSTD_getErrorCode(k) == ZSTD_error_memory_allocation)
			return ss_err(SS_ENOMEM, "zstd: %s",
			    ZSTD_getErrorName(k));
		return ss_err(SS_ECORRUPT, "zstd: %s", ZSTD_getErrorName(k));
	}
	if (k != dstlen)
		return ss_err(SS_ECORRUPT, "zstd: %zu bytes, want %zu", k,
		    dstlen);
	return 0;
}

int
ss_decompress(int algo, const void *src, size_t n, void *dst,
    size_t dstlen)
{
	int k;

	switch (algo) {
	case SS_COMP_OFF:
		if (n != dstlen)
			return ss_err(SS_ECORRUPT, "stored size %zu, want %zu",
			    n, dstlen);
		if (n > 0)
			memmove(dst, src, n);
		return 0;
	case SS_COMP_LZ4:
		if (n > INT_MAX || dstlen > INT_MAX)
			return ss_err(SS_ECORRUPT, "lz4: block too large");
		k = LZ4_decompress_safe(src, dst, (int)n, (int)dstlen);
		if (k < 0 || (size_t)k != dstlen)
			return ss_err(SS_ECORRUPT, "lz4: invalid block");
		return 0;
	case SS_COMP_ZSTD:
		return ss_decompress_zstd(src, n, dst, dstlen);
	default:
		return ss_err(SS_ECORRUPT, "unknown compression algorithm %d",
		    algo);
	}
}

int
ss_comp_parse(const char *s, int *algo, int *level)
{
	const char *p;
	int v = 0;

	*level = 0;
	if (strcmp(s, "off") == 0) {
		*algo = SS_COMP_OFF;
		return 0;
	}
	if (strcmp(s, "on") == 0 || strcmp(s, "lz4") == 0) {
		*algo = SS_COMP_LZ4;
		return 0;
	}
	if (strcmp(s, "zstd") == 0) {
		*algo = SS_COMP_ZSTD;
		*level = SS_ZSTD_LEVEL_DEFAULT;
		return 0;
	}
	if (strncmp(s, "zstd-", 5) != 0 || s[5] < '1' || s[5] > '9')
		return ss_err(SS_EINVAL, "invalid compression '%s'", s);
	for (p = s + 5; *p >= '0' && *p <= '9' && v <= SS_ZSTD_LEVEL_MAX; p++)
		v = v * 10 + (*p - '0');
	if (*p != '\0' || v > SS_ZSTD_LEVEL_MAX)
		return ss_err(SS_EINVAL, "invalid compression '%s' (zstd "
		    "levels are 1 to %d)", s, SS_ZSTD_LEVEL_MAX);
	*algo = SS_COMP_ZSTD;
	*level = v;
	return 0;
}
