/*
 * sstool: entry point, command table and the small helpers every command
 * shares.  See tests/README.md for the commands and their output formats.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sstool.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *usage;
} commands[] = {
	{ "gen", st_cmd_gen, "gen DIR SEED [NFILES]" },
	{ "randfile", st_cmd_randfile,
	    "randfile PATH SIZE SEED [random|text|zero]" },
	{ "digest", st_cmd_digest, "digest DIR" },
	{ "flip", st_cmd_flip, "flip FILE OFFSET [XORBYTE]" },
	{ "grepall", st_cmd_grepall, "grepall DIR STRING" },
	{ "stattree", st_cmd_stattree, "stattree DIR THREADS" },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static int
usage(FILE *f)
{
	fprintf(f, "usage:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  sstool %s\n", commands[i].usage);
	return f == stdout ? ST_OK : ST_ERR;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help"))
		return usage(stdout);
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(argv[1], commands[i].name))
			continue;
		int r = commands[i].fn(argc - 1, argv + 1);

		if (fflush(stdout) != 0 || ferror(stdout))
			return st_errno("writing stdout");
		return r;
	}
	st_err("unknown command '%s'", argv[1]);
	return usage(stderr);
}

/* ---------- errors and memory ---------- */

static void __attribute__((format(printf, 1, 0)))
vwarn(const char *fmt, va_list ap, int e)
{
	fflush(stdout);
	fputs("sstool: ", stderr);
	vfprintf(stderr, fmt, ap);
	if (e)
		fprintf(stderr, ": %s", strerror(e));
	fputc('\n', stderr);
}

int
st_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap, 0);
	va_end(ap);
	return ST_ERR;
}

int
st_errno(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap, e);
	va_end(ap);
	return ST_ERR;
}

void *
st_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL) {
		st_err("out of memory (%zu bytes)", n);
		exit(ST_ERR);
	}
	return p;
}

char *
st_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(st_xmalloc(n), s, n);
}

char *
st_join(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	char *p = st_xmalloc(na + nb + 2);

	memcpy(p, a, na);
	if (nb == 0) {
		p[na] = '\0';
		return p;
	}
	p[na] = '/';
	memcpy(p + na + 1, b, nb + 1);
	return p;
}

/* ---------- parsing and printing ---------- */

int
st_parse_u64(const char *s, int suffix, uint64_t *out)
{
	unsigned long long v;
	char *end;
	unsigned shift = 0;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0)
		return -1;
	if (suffix && *end != '\0' && end[1] == '\0') {
		switch (*end) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		case 't': case 'T': shift = 40; break;
		default: return -1;
		}
		end++;
	}
	if (*end != '\0' || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

void
st_escape(FILE *f, const void *p, size_t n, const char *extra)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		if (b[i] < 0x21 || b[i] > 0x7e || b[i] == '\\' ||
		    strchr(extra, b[i]) != NULL)
			fprintf(f, "\\x%02x", b[i]);
		else
			putc(b[i], f);
	}
}

int
st_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}
