/*
 * flip (corrupt one byte in place) and grepall (does a string appear
 * anywhere in a tree: names, contents, symlink targets).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* memmem */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sstool.h"

int
st_cmd_flip(int argc, char **argv)
{
	uint64_t x = 1, uoff;
	long long off;
	unsigned char c;
	struct stat st;
	int fd, r = ST_ERR;
	const char *o = argc > 2 ? argv[2] : "";

	if ((argc != 3 && argc != 4) ||
	    st_parse_u64(o + (*o == '-'), 0, &uoff) != 0 ||
	    uoff > INT64_MAX ||
	    (argc == 4 && (st_parse_u64(argv[3], 0, &x) != 0 || x < 1 ||
	    x > 255)))
		return st_err("usage: sstool flip FILE [-]OFFSET [XORBYTE 1..255]");
	if ((fd = open(argv[1], O_RDWR | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return st_errno("open %s", argv[1]);
	if (fstat(fd, &st) != 0) {
		st_errno("fstat %s", argv[1]);
		goto out;
	}
	off = *o == '-' ? (long long)st.st_size - (long long)uoff :
	    (long long)uoff;
	if (off < 0 || off >= (long long)st.st_size) {
		st_err("%s: offset %s outside the file (size %lld)", argv[1],
		    o, (long long)st.st_size);
		goto out;
	}
	if (pread(fd, &c, 1, (off_t)off) != 1) {
		st_errno("read %s", argv[1]);
		goto out;
	}
	c ^= (unsigned char)x;
	if (pwrite(fd, &c, 1, (off_t)off) != 1) {
		st_errno("write %s", argv[1]);
		goto out;
	}
	r = 0;
out:
	if (close(fd) != 0 && r == 0)
		r = st_errno("close %s", argv[1]);
	return r;
}

/*
 * file_contains(path, s, slen, found): stream the file through a buffer
 * that keeps the last slen-1 bytes, so that a match across two reads is
 * found too.
 */
static char *iobuf;	/* ST_BLOCK + strlen(STRING) bytes */

static int
file_contains(const char *path, const char *s, size_t slen, int *found)
{
	char *buf = iobuf;
	size_t keep = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	int r = 0;

	*found = 0;
	if (fd < 0)
		return st_errno("open %s", path);
	while (!*found && (n = read(fd, buf + keep, ST_BLOCK)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = st_errno("read %s", path);
			break;
		}
		keep += (size_t)n;
		*found = memmem(buf, keep, s, slen) != NULL;
		if (keep >= slen) {
			memmove(buf, buf + keep - (slen - 1), slen - 1);
			keep = slen - 1;
		}
	}
	close(fd);
	return r;
}

static int
entry_contains(const char *root, const struct st_entry *e, const char *s,
    size_t slen, int *found)
{
	char *path = st_join(root, e->rel), *buf = NULL;
	int r = 0;

	*found = memmem(e->rel, strlen(e->rel), s, slen) != NULL;
	if (!*found && S_ISREG(e->st.st_mode)) {
		r = file_contains(path, s, slen, found);
	} else if (!*found && S_ISLNK(e->st.st_mode)) {
		size_t cap = (size_t)e->st.st_size + 1;
		ssize_t n;

		buf = st_xmalloc(cap);
		if ((n = readlink(path, buf, cap)) < 0)
			r = st_errno("readlink %s", path);
		else
			*found = memmem(buf, (size_t)n, s, slen) != NULL;
	}
	free(buf);
	free(path);
	return r;
}

int
st_cmd_grepall(int argc, char **argv)
{
	struct st_tree t;
	size_t slen;
	int r, any = 0;

	if (argc != 3 || (slen = strlen(argv[2])) == 0)
		return st_err("usage: sstool grepall DIR STRING");
	iobuf = st_xmalloc(ST_BLOCK + slen);
	r = st_tree_load(argv[1], &t);
	for (size_t i = 1; r == 0 && i < t.n; i++) {
		int found;

		r = entry_contains(t.root, &t.e[i], argv[2], slen, &found);
		if (r == 0 && found) {
			printf("%s/", t.root);
			st_escape(stdout, t.e[i].rel, strlen(t.e[i].rel), "");
			putchar('\n');
			any = 1;
		}
	}
	st_tree_free(&t);
	free(iobuf);
	iobuf = NULL;
	return r ? r : any ? ST_OK : ST_NO;
}
