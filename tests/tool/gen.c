/*
 * gen and randfile: deterministic test data.
 *
 * gen DIR SEED [NFILES] draws, in this order and from one generator seeded
 * by SEED: the directory tree (about NFILES/6 directories, depth <= 5),
 * then for each file its directory, name, kind (5% empty, 6% a byte-exact
 * duplicate of an earlier file, 6% an earlier file with more lines
 * appended, the rest new text), size (mostly under 4 KiB, up to 64 KiB),
 * mode and mtime, and finally the directory mtimes.  Changing that order
 * changes every generated tree: don't, or tests' recorded digests break.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sstool.h"

#define GEN_MAX_DEPTH 5
#define GEN_MAX_SIZE (64 * 1024)

struct gen_dir {
	char *rel;
	int depth;
};

struct gen_file {
	uint64_t seed;		/* content generator seed */
	size_t size;
};

/* fill_text(seed, buf, size): ${size} bytes of text lines from ${seed}. */
static void
fill_text(uint64_t seed, char *buf, size_t size)
{
	struct st_rng r;
	char line[ST_LINE_MAX];
	size_t off = 0;

	st_rng_seed64(&r, seed);
	while (off < size) {
		size_t n = st_text_line(&r, line);

		if (n > size - off)
			n = size - off;
		memcpy(buf + off, line, n);
		off += n;
	}
}

static struct timespec
draw_time(struct st_rng *r)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(1500000000 + st_rng_below(r, 200000000));
	ts.tv_nsec = (long)(1 + st_rng_below(r, 999999999));
	return ts;
}

static int
set_times(const char *path, struct timespec mt)
{
	struct timespec ts[2] = { mt, mt };

	if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) != 0)
		return st_errno("utimensat %s", path);
	return 0;
}

static int
write_file(const char *path, const char *buf, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0)
		return st_errno("create %s", path);
	if (st_write_all(fd, buf, n) != 0 || fchmod(fd, mode) != 0) {
		st_errno("write %s", path);
		close(fd);
		return ST_ERR;
	}
	if (close(fd) != 0)
		return st_errno("close %s", path);
	return 0;
}

static size_t
draw_size(struct st_rng *r)
{
	uint64_t k = st_rng_below(r, 100);

	if (k < 60)
		return 1 + st_rng_below(r, 4096);
	if (k < 90)
		return 4096 + st_rng_below(r, 12 * 1024);
	return 16 * 1024 + st_rng_below(r, GEN_MAX_SIZE - 16 * 1024 + 1);
}

static const char *const exts[] = { "c", "h", "c", "h", "md", "txt", "sh",
	"py", "mk", "json" };

/* make_dirs(r, root, dirs, ndirs): draw and create the directories. */
static int
make_dirs(struct st_rng *r, const char *root, struct gen_dir *dirs,
    size_t ndirs)
{
	dirs[0].rel = st_xstrdup("");
	dirs[0].depth = 0;
	for (size_t i = 1; i < ndirs; i++) {
		size_t p = (size_t)st_rng_below(r, i);
		char name[64], *path;

		if (dirs[p].depth >= GEN_MAX_DEPTH)
			p = 0;
		snprintf(name, sizeof(name), "%s%zu", st_rng_word(r), i);
		dirs[i].rel = *dirs[p].rel ? st_join(dirs[p].rel, name) :
		    st_xstrdup(name);
		dirs[i].depth = dirs[p].depth + 1;
		path = st_join(root, dirs[i].rel);
		if (mkdir(path, 0700) != 0) {
			st_errno("mkdir %s", path);
			free(path);
			return ST_ERR;
		}
		free(path);
	}
	return 0;
}

/* make_file(r, root, dirs, ndirs, files, i, buf): draw and write file i. */
static int
make_file(struct st_rng *r, const char *root, const struct gen_dir *dirs,
    size_t ndirs, struct gen_file *files, size_t i, char *buf)
{
	const struct gen_dir *d = &dirs[st_rng_below(r, ndirs)];
	const char *ext = exts[st_rng_below(r, sizeof(exts) / sizeof(*exts))];
	uint64_t kind = st_rng_below(r, 100);
	char name[64], *rel, *path;
	mode_t mode;
	struct timespec mt;
	int ret;

	snprintf(name, sizeof(name), "%s_%zu.%s", st_rng_word(r), i, ext);
	files[i].seed = st_rng_next(r);
	files[i].size = draw_size(r);
	if (kind < 5) {
		files[i].size = 0;
	} else if (kind < 11 && i > 0) {
		files[i] = files[st_rng_below(r, i)];
	} else if (kind < 17 && i > 0) {
		files[i] = files[st_rng_below(r, i)];
		files[i].size += 1 + st_rng_below(r, 8192);
		if (files[i].size > GEN_MAX_SIZE)
			files[i].size = GEN_MAX_SIZE;
	}
	mode = !strcmp(ext, "sh") ? 0755 : 0644;
	mt = draw_time(r);
	fill_text(files[i].seed, buf, files[i].size);
	rel = *d->rel ? st_join(d->rel, name) : st_xstrdup(name);
	path = st_join(root, rel);
	ret = write_file(path, buf, files[i].size, mode);
	if (ret == 0)
		ret = set_times(path, mt);
	free(path);
	free(rel);
	return ret;
}

/* prepare_root(root): create ${root}, or accept it if it is empty. */
static int
prepare_root(const char *root)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if (mkdir(root, 0700) == 0)
		return 0;
	if (errno != EEXIST || (d = opendir(root)) == NULL)
		return st_errno("mkdir %s", root);
	while ((de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n ? st_err("%s: exists and is not empty", root) : 0;
}

int
st_cmd_gen(int argc, char **argv)
{
	struct st_rng r;
	uint64_t nfiles = 100;
	struct gen_dir *dirs = NULL;
	struct gen_file *files = NULL;
	char *buf = NULL;
	size_t ndirs = 0;
	int ret = ST_ERR;

	if (argc < 3 || argc > 4 ||
	    (argc == 4 && (st_parse_u64(argv[3], 0, &nfiles) != 0 ||
	    nfiles > 1000000)))
		return st_err("usage: sstool gen DIR SEED [NFILES <= 1000000]");
	if (prepare_root(argv[1]) != 0)
		return ST_ERR;
	st_rng_seed(&r, argv[2]);
	ndirs = 1 + (size_t)nfiles / 6;
	dirs = st_xmalloc(ndirs * sizeof(*dirs));
	memset(dirs, 0, ndirs * sizeof(*dirs));
	files = st_xmalloc((size_t)(nfiles ? nfiles : 1) * sizeof(*files));
	buf = st_xmalloc(GEN_MAX_SIZE);
	if (make_dirs(&r, argv[1], dirs, ndirs) != 0)
		goto out;
	for (size_t i = 0; i < nfiles; i++)
		if (make_file(&r, argv[1], dirs, ndirs, files, i, buf) != 0)
			goto out;
	/* Last, when no entry will be added: modes and mtimes of the dirs. */
	for (size_t i = 0; i < ndirs; i++) {
		char *path = st_join(argv[1], dirs[i].rel);
		int bad = chmod(path, 0755) != 0 ? st_errno("chmod %s", path) :
		    set_times(path, draw_time(&r));

		free(path);
		if (bad)
			goto out;
	}
	ret = 0;
out:
	for (size_t i = 0; i < ndirs; i++)
		free(dirs[i].rel);
	free(dirs);
	free(files);
	free(buf);
	return ret;
}

/* ---------- randfile ---------- */

enum rf_kind { RF_RANDOM, RF_TEXT, RF_ZERO };

/* rf_fill(r, kind, buf, n, carry, ncarry): next ${n} bytes of the stream. */
static void
rf_fill(struct st_rng *r, enum rf_kind kind, unsigned char *buf, size_t n,
    char *carry, size_t *ncarry)
{
	size_t off = 0;

	if (kind == RF_ZERO) {
		memset(buf, 0, n);
		return;
	}
	if (kind == RF_RANDOM) {
		for (; off + 8 <= n; off += 8) {
			uint64_t v = st_rng_next(r);

			for (int i = 0; i < 8; i++)
				buf[off + i] = (unsigned char)(v >> (8 * i));
		}
		if (off < n) {
			uint64_t v = st_rng_next(r);

			for (int i = 0; off < n; i++)
				buf[off++] = (unsigned char)(v >> (8 * i));
		}
		return;
	}
	/* Text: lines cut at block boundaries continue in the next block. */
	while (off < n) {
		size_t k;

		if (*ncarry == 0)
			*ncarry = st_text_line(r, carry);
		k = *ncarry < n - off ? *ncarry : n - off;
		memcpy(buf + off, carry, k);
		memmove(carry, carry + k, *ncarry - k);
		*ncarry -= k;
		off += k;
	}
}

int
st_cmd_randfile(int argc, char **argv)
{
	enum rf_kind kind = RF_RANDOM;
	struct st_rng r;
	uint64_t size, left;
	unsigned char *buf;
	char carry[ST_LINE_MAX];
	size_t ncarry = 0;
	int fd, ret = 0;

	if (argc == 5 && !strcmp(argv[4], "text"))
		kind = RF_TEXT;
	else if (argc == 5 && !strcmp(argv[4], "zero"))
		kind = RF_ZERO;
	else if (argc == 5 && strcmp(argv[4], "random"))
		argc = 0;
	if ((argc != 4 && argc != 5) || st_parse_u64(argv[2], 1, &size) != 0)
		return st_err("usage: sstool randfile PATH SIZE[K|M|G] SEED "
		    "[random|text|zero]");
	st_rng_seed(&r, argv[3]);
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return st_errno("open %s", argv[1]);
	buf = st_xmalloc(ST_BLOCK);
	for (left = size; left > 0 && ret == 0;) {
		size_t n = left < ST_BLOCK ? (size_t)left : ST_BLOCK;

		rf_fill(&r, kind, buf, n, carry, &ncarry);
		if (st_write_all(fd, buf, n) != 0)
			ret = st_errno("write %s", argv[1]);
		left -= n;
	}
	free(buf);
	if (close(fd) != 0 && ret == 0)
		ret = st_errno("close %s", argv[1]);
	return ret;
}
