/*
 * util/fs.c: durable file operations (atomic replace, fsync of
 * directories), whole-file reads, mkdir -p, rm -rf without following
 * symlinks, loops over short reads and writes, and whether a file takes
 * direct I/O.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/stat.h>		/* STATX_DIOALIGN, before sys/stat.h */
#include <sys/stat.h>

#include "util/util.h"

#define SS_TMP_TRIES 16

int
ss_write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = write(fd, b, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return ss_err_errno(ss_errno_code(errno), "write");
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

int
ss_pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = pwrite(fd, b, n, (off_t)off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return ss_err_errno(ss_errno_code(errno), "pwrite");
		}
		b += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

int
ss_dio_aligned(int fd, unsigned align)
{
	struct statx st;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &st) != 0 ||
	    !(st.stx_mask & STATX_DIOALIGN) || st.stx_dio_mem_align == 0 ||
	    st.stx_dio_offset_align == 0 ||
	    align % st.stx_dio_mem_align != 0 ||
	    align % st.stx_dio_offset_align != 0)
		return 0;
	return 1;
}

/* A read that ends before ${n} bytes means the file is short: SS_ECORRUPT. */
int
ss_pread_all(int fd, void *p, size_t n, uint64_t off)
{
	uint8_t *b = p;

	while (n > 0) {
		ssize_t r = pread(fd, b, n, (off_t)off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return ss_err_errno(ss_errno_code(errno), "pread");
		}
		if (r == 0)
			return ss_err(SS_ECORRUPT, "unexpected end of file at "
			    "offset %llu", (unsigned long long)off);
		b += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

int
ss_fsync_dir(const char *path)
{
	int fd, r = 0;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return ss_err_errno(ss_errno_code(errno), "open directory "
		    "'%s'", path);
	if (fsync(fd) != 0 && errno != EINVAL)
		r = ss_err_errno(ss_errno_code(errno), "fsync directory '%s'",
		    path);
	close(fd);
	return r;
}

int
ss_fsync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int r;

	if (slash == NULL)
		return ss_fsync_dir(".");
	if (slash == path)
		return ss_fsync_dir("/");
	if ((dir = strndup(path, (size_t)(slash - path))) == NULL)
		return ss_err(SS_ENOMEM, "out of memory");
	r = ss_fsync_dir(dir);
	free(dir);
	return r;
}

/*
 * ss_write_file_atomic: the temporary is "${path}.tmp.<16 hex digits>",
 * created with O_EXCL so concurrent writers never share one.  ${mode} is
 * subject to the umask.
 */
int
ss_write_file_atomic(const char *path, const void *p, size_t n, int mode)
{
	char *tmp = NULL;
	int fd = -1, r, i;

	for (i = 0; i < SS_TMP_TRIES; i++) {
		free(tmp);
		tmp = ss_asprintf("%s.tmp.%016llx", path,
		    (unsigned long long)ss_random_u64());
		if (tmp == NULL) {
			r = ss_err(SS_ENOMEM, "out of memory");
			goto out;
		}
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    (mode_t)mode);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0) {
		r = ss_err_errno(ss_errno_code(errno), "create '%s'", tmp);
		free(tmp);
		tmp = NULL;	/* nothing of ours to remove */
		goto out;
	}
	if ((r = ss_write_all(fd, p, n)) != 0) {
		ss_err_errno(r, "write '%s'", tmp);
		goto out;
	}
	if (fsync(fd) != 0) {
		r = ss_err_errno(ss_errno_code(errno), "fsync '%s'", tmp);
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		r = ss_err_errno(ss_errno_code(errno), "close '%s'", tmp);
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		r = ss_err_errno(ss_errno_code(errno), "rename to '%s'", path);
		goto out;
	}
	free(tmp);
	tmp = NULL;
	r = ss_fsync_parent(path);
out:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	return r;
}

/*
 * ss_read_file(path, max, out): replaces the contents of ${out} (out->len
 * is reset first) with the whole file.  SS_ERANGE if it exceeds ${max}.
 */
int
ss_read_file(const char *path, size_t max, struct ss_buf *out)
{
	struct stat st;
	int fd, r;

	ss_buf_reset(out);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return ss_err_errno(ss_errno_code(errno), "open '%s'", path);
	if (fstat(fd, &st) != 0) {
		r = ss_err_errno(ss_errno_code(errno), "stat '%s'", path);
		goto out;
	}
	if (st.st_size > 0 && (uint64_t)st.st_size > max) {
		r = ss_err(SS_ERANGE, "'%s' is larger than %zu bytes", path,
		    max);
		goto out;
	}
	/* the size is a hint (the file may change): read until EOF */
	if ((r = ss_buf_reserve(out, (size_t)st.st_size + 1)) != 0)
		goto out;
	for (;;) {
		ssize_t n;

		if (out->len == out->cap &&
		    (r = ss_buf_reserve(out, 65536)) != 0)
			goto out;
		n = read(fd, out->p + out->len, out->cap - out->len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = ss_err_errno(ss_errno_code(errno), "read '%s'",
			    path);
			goto out;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		if (out->len > max) {
			r = ss_err(SS_ERANGE, "'%s' is larger than %zu bytes",
			    path, max);
			goto out;
		}
	}
	r = 0;
out:
	if (r != 0)
		out->len = 0;
	close(fd);
	return r;
}

int
ss_mkdir_p(const char *path, int mode)
{
	struct stat st;
	char *p;
	int r = 0;

	if ((p = ss_strdup(path)) == NULL)
		return ss_err(SS_ENOMEM, "out of memory");
	for (char *s = p + 1; ; s++) {
		int last = (*s == '\0');

		if (*s != '/' && !last)
			continue;
		*s = '\0';
		if (mkdir(p, (mode_t)mode) != 0 && errno != EEXIST) {
			r = ss_err_errno(ss_errno_code(errno), "mkdir '%s'", p);
			goto out;
		}
		if (last)
			break;
		*s = '/';
		while (s[1] == '/')
			s++;
	}
	if (stat(path, &st) != 0) {
		r = ss_err_errno(ss_errno_code(errno), "stat '%s'", path);
		goto out;
	}
	if (!S_ISDIR(st.st_mode))
		r = ss_err(SS_EEXIST, "'%s' exists and is not a directory",
		    path);
out:
	free(p);
	return r;
}

/*
 * Never follows symlinks: directories are opened with O_NOFOLLOW and
 * entries are classified with AT_SYMLINK_NOFOLLOW.
 */
int
ss_rm_rf_at(int dfd, const char *name, const char *path)
{
	struct stat st;
	struct dirent *de;
	DIR *d = NULL;
	int fd, r = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			return 0;
		return ss_err_errno(ss_errno_code(errno), "stat '%s'", path);
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dfd, name, 0) != 0 && errno != ENOENT)
			return ss_err_errno(ss_errno_code(errno), "unlink '%s'",
			    path);
		return 0;
	}
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd < 0)
		return ss_err_errno(ss_errno_code(errno), "open '%s'", path);
	if ((d = fdopendir(fd)) == NULL) {
		r = ss_err_errno(ss_errno_code(errno), "opendir '%s'", path);
		close(fd);
		goto out;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if ((r = ss_rm_rf_at(dirfd(d), de->d_name, path)) != 0)
			goto out;
	}
	if (errno != 0) {
		r = ss_err_errno(ss_errno_code(errno), "readdir '%s'", path);
		goto out;
	}
	if (unlinkat(dfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
		r = ss_err_errno(ss_errno_code(errno), "rmdir '%s'", path);
out:
	if (d != NULL)
		closedir(d);
	return r;
}

int
ss_rm_rf(const char *path)
{
	return ss_rm_rf_at(AT_FDCWD, path, path);
}

static const char *crash_env, *stop_env;
static pthread_once_t crash_once = PTHREAD_ONCE_INIT;

static void
crash_init(void)
{
	crash_env = getenv("SNAPSEAL_CRASHPOINT");
	stop_env = crash_env ? NULL : getenv("SNAPSEAL_STOPPOINT");
}

void
ss_crashpoint(const char *name)
{
	static _Thread_local unsigned long hits;
	const char *e;
	size_t n;
	unsigned long want = 1;

	(void)pthread_once(&crash_once, crash_init);
	if ((e = crash_env) == NULL) {
		if (stop_env != NULL && !strcmp(stop_env, name))
			raise(SIGSTOP);
		return;
	}
	n = strlen(name);
	if (strncmp(e, name, n) != 0 || (e[n] != '\0' && e[n] != ':'))
		return;
	if (e[n] == ':')
		want = strtoul(e + n + 1, NULL, 10);
	if (++hits >= want)
		raise(SIGKILL);
}
