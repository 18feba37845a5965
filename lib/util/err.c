/*
 * util/err.c: thread-local error details, errno mapping, allocation
 * wrappers, hex, clocks and OS randomness.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>

#include "util/util.h"

#define SS_ERRMSG_MAX 8192

static _Thread_local char ss_errbuf[SS_ERRMSG_MAX];

/*
 * Format into a local buffer first: an argument may point into ss_errbuf
 * itself (re-wrapping the previous detail).
 */
static void __attribute__((format(printf, 3, 0)))
ss_err_set(int with_errno, int e, const char *fmt, va_list ap)
{
	char tmp[SS_ERRMSG_MAX];
	int len;

	len = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	if (len < 0) {
		tmp[0] = '\0';
		len = 0;
	}
	if (with_errno && (size_t)len < sizeof(tmp))
		snprintf(tmp + len, sizeof(tmp) - (size_t)len, ": %s",
		    strerror(e));
	memcpy(ss_errbuf, tmp, sizeof(ss_errbuf));
}

int
ss_err(int code, const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	ss_err_set(0, 0, fmt, ap);
	va_end(ap);
	errno = e;
	return code;
}

int
ss_err_errno(int code, const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	ss_err_set(1, e, fmt, ap);
	va_end(ap);
	errno = e;
	return code;
}

const char *
ss_errmsg(void)
{
	return ss_errbuf;
}

void
ss_errclear(void)
{
	ss_errbuf[0] = '\0';
}

const char *
ss_strerror(int code)
{
	switch (code) {
	case SS_OK:		return "success";
	case SS_ENOMEM:		return "out of memory";
	case SS_EIO:		return "I/O error";
	case SS_EINVAL:		return "invalid argument";
	case SS_ENOENT:		return "does not exist";
	case SS_EEXIST:		return "already exists";
	case SS_ECORRUPT:	return "data is corrupt";
	case SS_EAUTH:		return "authentication failed";
	case SS_ENOKEY:		return "key not loaded";
	case SS_EBUSY:		return "busy";
	case SS_ENOSPC:		return "no space left on device";
	case SS_ERANGE:		return "value out of range";
	case SS_ENOTSUP:	return "not supported";
	case SS_ECHANGED:	return "file changed while being read";
	case SS_EPERM:		return "permission denied";
	case SS_EWRONGKEY:	return "wrong key or passphrase";
	default:		return "unknown error";
	}
}

int
ss_errno_code(int e)
{
	switch (e) {
	case ENOSPC:
	case EDQUOT:
		return SS_ENOSPC;
	case ENOENT:
		return SS_ENOENT;
	case EEXIST:
		return SS_EEXIST;
	case EACCES:
	case EPERM:
		return SS_EPERM;
	case ENOMEM:
		return SS_ENOMEM;
	default:
		return SS_EIO;
	}
}

void *
ss_malloc(size_t n)
{
	return malloc(n ? n : 1);
}

void *
ss_calloc(size_t n, size_t size)
{
	if (n == 0 || size == 0)
		return calloc(1, 1);
	return calloc(n, size);
}

void *
ss_realloc(void *p, size_t n)
{
	return realloc(p, n ? n : 1);
}

char *
ss_strdup(const char *s)
{
	return strdup(s);
}

char *
ss_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	return r < 0 ? NULL : s;
}

void
ss_hex_encode(const void *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
ss_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
ss_hex_decode(const char *s, size_t slen, uint8_t *out, size_t outlen)
{
	if (outlen > SIZE_MAX / 2 || slen != 2 * outlen)
		return ss_err(SS_EINVAL, "hex string has length %zu, want %zu",
		    slen, outlen > SIZE_MAX / 2 ? 0 : 2 * outlen);
	for (size_t i = 0; i < outlen; i++) {
		int hi = ss_hexval(s[2 * i]), lo = ss_hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return ss_err(SS_EINVAL, "invalid hex digit");
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int64_t
ss_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

uint64_t
ss_random_u64(void)
{
	uint64_t v = 0;

	while (v == 0) {
		ssize_t r = getrandom(&v, sizeof(v), 0);

		if (r == (ssize_t)sizeof(v))
			continue;
		v = 0;
		/* No kernel CSPRNG: there is nothing safe to return. */
		if (r < 0 && errno != EINTR && errno != EAGAIN)
			abort();
	}
	return v;
}

char *
ss_path_join(const char *a, const char *b)
{
	size_t al = strlen(a);

	if (al == 0)
		return ss_strdup(b);
	if (a[al - 1] == '/')
		return ss_asprintf("%s%s", a, b);
	return ss_asprintf("%s/%s", a, b);
}
