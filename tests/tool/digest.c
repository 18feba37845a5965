/*
 * digest: one line per entry of a tree, sorted by path, with everything a
 * faithful snapshot and restore must preserve.  The format is documented
 * in tests/README.md; keep the two in step.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sstool.h"

#define HEXLEN (2 * 32 + 1)

static unsigned char *iobuf;	/* ST_BLOCK bytes, for the whole command */

/* sha256(p, n, hex): one-shot SHA-256 as lower-case hex. */
static int
sha256_hex(const void *p, size_t n, char hex[HEXLEN])
{
	unsigned char md[32];
	unsigned mdlen = 0;

	if (EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) != 1)
		return st_err("EVP_Digest failed");
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* file_sha256(fd, path, hex): SHA-256 of the contents of ${fd}. */
static int
file_sha256(int fd, const char *path, char hex[HEXLEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *buf = iobuf, md[32];
	unsigned mdlen = 0;
	int r = ST_ERR;
	ssize_t n;

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		st_err("EVP_DigestInit_ex failed");
		goto out;
	}
	while ((n = read(fd, buf, ST_BLOCK)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			st_errno("read %s", path);
			goto out;
		}
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			goto out;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
		goto out;
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	return r;
}

/*
 * print_extents(f, fd, path, size): " data=OFF+LEN,..." if the file has a
 * hole (" data=none" if it is all hole); nothing if it is all data or if
 * the filesystem cannot tell (SEEK_DATA unsupported).
 */
static int
print_extents(FILE *f, int fd, const char *path, off_t size)
{
	off_t off = 0, data, hole;
	int n = 0;

	if (size == 0)
		return 0;
	data = lseek(fd, 0, SEEK_DATA);
	if (data < 0 && errno == EINVAL)
		return 0;
	if (data == 0 && lseek(fd, 0, SEEK_HOLE) >= size)
		return 0;
	fputs(" data=", f);
	while (off < size) {
		if ((data = lseek(fd, off, SEEK_DATA)) < 0) {
			if (errno == ENXIO)
				break;
			return st_errno("lseek %s", path);
		}
		if ((hole = lseek(fd, data, SEEK_HOLE)) < 0)
			return st_errno("lseek %s", path);
		if (hole > size)
			hole = size;
		fprintf(f, "%s%lld+%lld", n++ ? "," : "", (long long)data,
		    (long long)(hole - data));
		off = hole;
	}
	if (n == 0)
		fputs("none", f);
	return 0;
}

static int
print_regular(FILE *f, const char *path, const struct stat *st)
{
	char hex[HEXLEN];
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	int r;

	if (fd < 0)
		return st_errno("open %s", path);
	if ((r = file_sha256(fd, path, hex)) == 0) {
		fprintf(f, " sha256=%s", hex);
		r = print_extents(f, fd, path, st->st_size);
	}
	close(fd);
	return r;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* print_xattrs(f, path): " xattr:NAME=SHA256" for each, sorted by name. */
static int
print_xattrs(FILE *f, const char *path)
{
	ssize_t len = llistxattr(path, NULL, 0), vlen;
	char *list = NULL, **names = NULL, *val = NULL, hex[HEXLEN];
	size_t n = 0;
	int r = ST_ERR;

	if (len < 0 && (errno == ENOTSUP || errno == ENODATA))
		return 0;
	if (len < 0)
		return st_errno("llistxattr %s", path);
	if (len == 0)
		return 0;
	list = st_xmalloc((size_t)len);
	if ((len = llistxattr(path, list, (size_t)len)) < 0) {
		st_errno("llistxattr %s", path);	/* changed under us */
		goto out;
	}
	names = st_xmalloc((size_t)len * sizeof(*names));
	for (char *p = list; p < list + len; p += strlen(p) + 1)
		names[n++] = p;
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if ((vlen = lgetxattr(path, names[i], NULL, 0)) < 0) {
			st_errno("lgetxattr %s %s", path, names[i]);
			goto out;
		}
		free(val);
		val = st_xmalloc((size_t)vlen);
		vlen = lgetxattr(path, names[i], val, (size_t)vlen);
		if (vlen < 0) {
			st_errno("lgetxattr %s %s", path, names[i]);
			goto out;
		}
		if (sha256_hex(val, (size_t)vlen, hex) != 0)
			goto out;
		fputs(" xattr:", f);
		st_escape(f, names[i], strlen(names[i]), "=");
		fprintf(f, "=%s", hex);
	}
	r = 0;
out:
	free(val);
	free(names);
	free(list);
	return r;
}

static int
print_symlink(FILE *f, const char *path, const struct stat *st)
{
	size_t cap = (size_t)st->st_size + 1;
	char *buf = st_xmalloc(cap);
	ssize_t n = readlink(path, buf, cap);

	if (n < 0 || (size_t)n >= cap) {
		free(buf);
		return n < 0 ? st_errno("readlink %s", path) :
		    st_err("%s: symlink changed while reading", path);
	}
	fputs(" target=", f);
	st_escape(f, buf, (size_t)n, "");
	free(buf);
	return 0;
}

static char
type_char(mode_t m)
{
	return S_ISREG(m) ? 'f' : S_ISDIR(m) ? 'd' : S_ISLNK(m) ? 'l' :
	    S_ISFIFO(m) ? 'p' : S_ISSOCK(m) ? 's' : S_ISBLK(m) ? 'b' :
	    S_ISCHR(m) ? 'c' : '?';
}

static int
print_entry(FILE *f, const char *root, const struct st_entry *e)
{
	const struct stat *st = &e->st;
	char *path = st_join(root, e->rel);
	int r = 0;

	if (*e->rel)
		st_escape(f, e->rel, strlen(e->rel), "");
	else
		fputc('.', f);
	fprintf(f, " type=%c mode=%04o uid=%lu gid=%lu",
	    type_char(st->st_mode), (unsigned)(st->st_mode & 07777),
	    (unsigned long)st->st_uid, (unsigned long)st->st_gid);
	if (S_ISREG(st->st_mode))
		fprintf(f, " size=%lld", (long long)st->st_size);
	fprintf(f, " mtime=%lld.%09ld", (long long)st->st_mtim.tv_sec,
	    (long)st->st_mtim.tv_nsec);
	if (S_ISBLK(st->st_mode) || S_ISCHR(st->st_mode))
		fprintf(f, " rdev=%u:%u", major(st->st_rdev),
		    minor(st->st_rdev));
	if (S_ISREG(st->st_mode))
		r = print_regular(f, path, st);
	else if (S_ISLNK(st->st_mode))
		r = print_symlink(f, path, st);
	if (r == 0 && e->link)
		fprintf(f, " link=%u", e->link);
	if (r == 0)
		r = print_xattrs(f, path);
	fputc('\n', f);
	free(path);
	return r;
}

int
st_cmd_digest(int argc, char **argv)
{
	struct st_tree t;
	int r;

	if (argc != 2)
		return st_err("usage: sstool digest DIR");
	iobuf = st_xmalloc(ST_BLOCK);
	if ((r = st_tree_load(argv[1], &t)) == 0)
		r = st_tree_links(&t);
	for (size_t i = 0; r == 0 && i < t.n; i++)
		r = print_entry(stdout, t.root, &t.e[i]);
	st_tree_free(&t);
	free(iobuf);
	iobuf = NULL;
	return r;
}
