/*
 * snap.c: capture a live directory into objects.
 *
 * Walk depth-first; entries of a directory are sorted by name (bytes).
 * A regular file whose (size, mtime, ctime, inode) equal those of the same
 * name in the previous snapshot reuses that entry's content reference and
 * extended attributes without being read.  Otherwise its data regions
 * (SEEK_DATA/SEEK_HOLE: holes are not read nor stored) are cut into chunks
 * by the content-defined chunker; one chunk covering the whole file is
 * referenced directly, anything else through a file map object.  A file
 * whose size, mtime or ctime moves while it is read is read again, and the
 * snapshot fails with SS_ECHANGED if it keeps changing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "tree/tree.h"

#define READ_BLOCK (4u * 1024 * 1024)
#define CHANGE_RETRIES 3

/* One extent of a file map. */
struct fext {
	uint64_t off;
	uint32_t len;
	struct ss_id id;
};

/* What a file's content became. */
struct fcontent {
	uint8_t ckind;
	struct ss_id cid;
};

/* The extents of one file; stored sizes go to *acc (the entry's subtree). */
struct fmap {
	struct fext *v;
	size_t n, cap;
	uint64_t *acc;
};

static void
twarn(struct ss_tree *t, const char *what, const char *path)
{
	char *m = ss_asprintf("%s %s", what, path);

	if (m && t->warn)
		t->warn(t->warnarg, m);
	free(m);
}


static int
fmap_add(struct fmap *m, uint64_t off, uint32_t len, const struct ss_id *id)
{
	if (ss_grow(&m->v, &m->cap, m->n, sizeof(*m->v)) != 0)
		return SS_ENOMEM;
	m->v[m->n].off = off;
	m->v[m->n].len = len;
	m->v[m->n].id = *id;
	m->n++;
	return 0;
}

static int
store_chunk(struct ss_tree *t, struct fmap *m, uint64_t off,
    const uint8_t *p, size_t n)
{
	struct ss_id id;
	int r;

	if ((r = ss_tree_store(t, SS_OT_CHUNK, p, n, NULL, 0, &id, m->acc)))
		return r;
	return fmap_add(m, off, (uint32_t)n, &id);
}

/*
 * read_region(t, fd, off, end, m): chunk the data region [off, end).
 * A region that ends early (file shrank) is SS_ECHANGED.
 */
static int
read_region(struct ss_tree *t, int fd, uint64_t off, uint64_t end,
    struct fmap *m)
{
	size_t start = 0, have = 0, cap = 2 * SS_CHUNK_MAX;
	uint64_t pos = off, cutoff = off;
	int r;

	if ((r = ss_buf_reserve(&t->io, cap)) != 0)
		return r;
	while (pos < end || have > 0) {
		/* refill when less than one maximal chunk is buffered */
		if (pos < end && have < SS_CHUNK_MAX) {
			memmove(t->io.p, t->io.p + start, have);
			start = 0;
			while (pos < end && have < cap) {
				size_t want = cap - have;
				ssize_t got;

				if (want > READ_BLOCK)
					want = READ_BLOCK;
				if (want > end - pos)
					want = (size_t)(end - pos);
				got = pread(fd, t->io.p + have, want, (off_t)pos);
				if (got < 0)
					return ss_err_errno(ss_errno_code(errno),
					    "read");
				if (got == 0)
					return ss_err(SS_ECHANGED, "file shrank"
					    " while being read");
				have += (size_t)got;
				pos += (uint64_t)got;
				t->bytes_read += (uint64_t)got;
			}
		}
		size_t cut = ss_chunker_cut(t->ch, t->io.p + start, have,
		    pos >= end);
		if (cut == 0)
			return ss_err(SS_EIO, "chunker wants more data than"
			    " fits its buffer");
		if ((r = store_chunk(t, m, cutoff, t->io.p + start, cut)) != 0)
			return r;
		start += cut;
		have -= cut;
		cutoff += cut;
	}
	return 0;
}

static int
read_extents(struct ss_tree *t, int fd, uint64_t size, struct fmap *m)
{
	uint64_t off = 0;
	int r;

	while (off < size) {
		off_t data = lseek(fd, (off_t)off, SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO)
			break;
		if (data < 0) {	/* no SEEK_DATA: one region */
			data = (off_t)off;
			hole = (off_t)size;
		} else if ((hole = lseek(fd, data, SEEK_HOLE)) < 0)
			hole = (off_t)size;
		if ((uint64_t)hole > size)
			hole = (off_t)size;
		if ((uint64_t)data >= size)
			break;
		if ((r = read_region(t, fd, (uint64_t)data, (uint64_t)hole,
		    m)) != 0)
			return r;
		off = (uint64_t)hole;
	}
	return 0;
}

/* fmap_finish(t, m, size, c): turn extents into a content reference. */
static int
fmap_finish(struct ss_tree *t, struct fmap *m, uint64_t size,
    struct fcontent *c)
{
	struct ss_buf b = SS_BUF_INIT;
	struct ss_id *refs = NULL;
	int r = 0;

	memset(c, 0, sizeof(*c));
	if (m->n == 0)
		return 0;
	if (m->n == 1 && m->v[0].off == 0 && m->v[0].len == size) {
		c->ckind = SS_CK_CHUNK;
		c->cid = m->v[0].id;
		return 0;
	}
	if (m->n > (SS_OBJ_MAX - 16) / (12 + SS_ID_LEN))
		return ss_err(SS_ERANGE, "file has too many chunks");
	if ((refs = ss_calloc(m->n, sizeof(*refs))) == NULL)
		return SS_ENOMEM;
	r |= ss_buf_put_u8(&b, SS_FILE_VERSION);
	r |= ss_buf_put_u64(&b, size);
	r |= ss_buf_put_u32(&b, (uint32_t)m->n);
	for (size_t i = 0; i < m->n; i++) {
		r |= ss_buf_put_u64(&b, m->v[i].off);
		r |= ss_buf_put_u32(&b, m->v[i].len);
		r |= ss_buf_put(&b, m->v[i].id.b, SS_ID_LEN);
		refs[i] = m->v[i].id;
	}
	if (r == 0)
		r = ss_tree_store(t, SS_OT_FILE, b.p, b.len, refs,
		    (uint32_t)m->n, &c->cid, m->acc);
	else
		r = SS_ENOMEM;
	if (r == 0)
		c->ckind = SS_CK_FILE;
	free(refs);
	ss_buf_wipe(&b);
	return r;
}

static int
same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_size == b->st_size && a->st_ino == b->st_ino &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/*
 * ss_tree_read_xattrs(fd, path, out): encode every extended attribute (sorted by
 * name) of the open file ${fd}, or of ${path} (not followed) if fd < 0.
 */
static int cmp_names(const void *a, const void *b);

int
ss_tree_read_xattrs(int fd, const char *path, struct ss_buf *out)
{
	const char **v = NULL;
	char *names = NULL, *val = NULL;
	ssize_t nl;
	int r = 0;

	ss_buf_reset(out);
	nl = fd >= 0 ? flistxattr(fd, NULL, 0) : llistxattr(path, NULL, 0);
	if (nl <= 0)
		return nl < 0 && errno != ENOTSUP && errno != ENOSYS ?
		    ss_err_errno(SS_EIO, "list extended attributes") : 0;
	if ((names = ss_malloc((size_t)nl + 1)) == NULL ||
	    (val = ss_malloc(SS_XATTR_MAX)) == NULL) {
		r = SS_ENOMEM;
		goto out;
	}
	nl = fd >= 0 ? flistxattr(fd, names, (size_t)nl) :
	    llistxattr(path, names, (size_t)nl);
	if (nl < 0) {
		r = ss_err_errno(SS_ECHANGED, "list extended attributes");
		goto out;
	}
	names[nl] = '\0';
	/* sorted by name, so that equal attribute sets encode equally */
	size_t cnt = 0;
	for (char *p = names; p < names + nl; p += strlen(p) + 1)
		cnt++;
	if ((v = ss_calloc(cnt + 1, sizeof(*v))) == NULL) {
		r = SS_ENOMEM;
		goto out;
	}
	cnt = 0;
	for (char *p = names; p < names + nl; p += strlen(p) + 1)
		if (*p)
			v[cnt++] = p;
	if (cnt > 1)
		qsort(v, cnt, sizeof(*v), cmp_names);
	for (size_t i = 0; i < cnt && r == 0; i++) {
		ssize_t vl = fd >= 0 ? fgetxattr(fd, v[i], val, SS_XATTR_MAX) :
		    lgetxattr(path, v[i], val, SS_XATTR_MAX);

		if (vl < 0) {
			if (errno == ENODATA)
				continue;
			r = ss_err_errno(SS_EIO, "read extended attribute %s",
			    v[i]);
			break;
		}
		if (ss_buf_put_str16(out, v[i], strlen(v[i])) ||
		    ss_buf_put_str32(out, val, (size_t)vl))
			r = SS_ENOMEM;
	}
	if (r == 0 && out->len > SS_XATTRS_MAX)
		r = ss_err(SS_ERANGE, "extended attributes too large");
out:
	free(v);
	free(names);
	free(val);
	return r;
}

/*
 * read_xattrs_at(dirfd, name, out): the xattrs of a symlink, fifo or device
 * (which cannot be opened), through /proc/self/fd so that the path stays
 * short however deep the tree is; the last component is not followed.
 */
static int
read_xattrs_at(int dirfd, const char *name, struct ss_buf *out)
{
	char *p = ss_asprintf("/proc/self/fd/%d/%s", dirfd, name);
	int r;

	if (p == NULL)
		return SS_ENOMEM;
	r = ss_tree_read_xattrs(-1, p, out);
	free(p);
	return r;
}

/* capture_file: read one regular file (retrying while it changes). */
static int
capture_file(struct ss_tree *t, int dirfd, const char *name, const char *path,
    struct stat *st, struct ss_buf *xa, struct fcontent *c, uint64_t *acc)
{
	struct stat a, b;
	struct fmap m;
	int fd = -1, r = 0;

	for (int attempt = 0; attempt < CHANGE_RETRIES; attempt++) {
		/* what a failed attempt stored is orphaned, not counted */
		if (attempt > 0 && (r = ss_pipe_drain(t)) != 0)
			break;
		*acc = 0;
		memset(&m, 0, sizeof(m));
		m.acc = acc;
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NOATIME |
		    O_CLOEXEC);
		if (fd < 0 && errno == EPERM)
			fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW |
			    O_CLOEXEC);
		if (fd < 0)
			return ss_tree_path_err(ss_err_errno(ss_errno_code(errno),
			    "cannot open"), path);
		if (fstat(fd, &a) != 0 || !S_ISREG(a.st_mode)) {
			r = ss_err(SS_ECHANGED, "replaced while being read");
			goto next;
		}
		if ((r = read_extents(t, fd, (uint64_t)a.st_size, &m)) != 0)
			goto next;
		if ((r = ss_tree_read_xattrs(fd, path, xa)) != 0)
			goto next;
		if (fstat(fd, &b) != 0 || !same_stat(&a, &b)) {
			r = ss_err(SS_ECHANGED, "file changed while being read");
			goto next;
		}
		r = fmap_finish(t, &m, (uint64_t)a.st_size, c);
		*st = a;
next:
		free(m.v);
		close(fd);
		if (r != SS_ECHANGED)
			break;
	}
	return r ? ss_tree_path_err(r, path) : 0;
}

static void
strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* list_dir(fd, &names, &n): sorted names, "." and ".." excluded. */
static int
list_dir(int fd, char ***names, size_t *n)
{
	DIR *d;
	struct dirent *de;
	char **v = NULL, **nv;
	size_t cnt = 0, cap = 0;
	int dfd = dup(fd), r = 0;

	*names = NULL;
	*n = 0;
	if (dfd < 0 || (d = fdopendir(dfd)) == NULL) {
		if (dfd >= 0)
			close(dfd);
		return ss_err_errno(SS_EIO, "cannot read directory");
	}
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (cnt == cap) {
			cap = cap ? 2 * cap : 32;
			if ((nv = ss_realloc(v, cap * sizeof(*v))) == NULL) {
				r = SS_ENOMEM;
				break;
			}
			v = nv;
		}
		if ((v[cnt] = ss_strdup(de->d_name)) == NULL) {
			r = SS_ENOMEM;
			break;
		}
		cnt++;
	}
	if (r == 0 && errno != 0)
		r = ss_err_errno(SS_EIO, "cannot read directory");
	closedir(d);
	if (r != 0) {
		strv_free(v, cnt);
		return r;
	}
	if (cnt > 1)
		qsort(v, cnt, sizeof(*v), cmp_names);
	*names = v;
	*n = cnt;
	return 0;
}

static int
is_skipped(const struct ss_tree *t, const char *path)
{
	for (size_t i = 0; i < t->nskip; i++)
		if (!strcmp(t->skip[i], path))
			return 1;
	return 0;
}

static void
fill_stat(struct ss_ent *e, const struct stat *st)
{
	e->mode = st->st_mode & 07777;
	e->uid = st->st_uid;
	e->gid = st->st_gid;
	e->mtime_sec = st->st_mtim.tv_sec;
	e->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	e->ctime_sec = st->st_ctim.tv_sec;
	e->ctime_nsec = (uint32_t)st->st_ctim.tv_nsec;
	e->ino = st->st_ino;
	e->size = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0;
	e->hlgroup = (!S_ISDIR(st->st_mode) && st->st_nlink > 1) ?
	    st->st_ino : 0;
	e->rdev = (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) ?
	    st->st_rdev : 0;
}

static int
unchanged(const struct ss_ent *p, const struct stat *st)
{
	return p && p->type == SS_FT_REG && p->size == (uint64_t)st->st_size &&
	    p->ino == st->st_ino && p->mtime_sec == st->st_mtim.tv_sec &&
	    p->mtime_nsec == (uint32_t)st->st_mtim.tv_nsec &&
	    p->ctime_sec == st->st_ctim.tv_sec &&
	    p->ctime_nsec == (uint32_t)st->st_ctim.tv_nsec;
}

static int capture_dir(struct ss_tree *t, int fd, const char *path,
    const struct ss_id *prev, struct ss_id *id, uint64_t *acc);

/*
 * One captured entry, owning what its ss_ent points at until the directory
 * object is encoded (after the pipeline has delivered every subtree size).
 */
struct cent {
	struct ss_ent e;
	struct ss_buf xa;
	char *target;
};

/*
 * capture_entry(t, dirfd, name, path, prevdir, c): fill ${c} for one
 * entry.  Returns 1 if the entry is to be left out (a socket).
 */
static int
capture_entry(struct ss_tree *t, int dirfd, const char *name,
    const char *path, const struct ss_dir *prevdir, struct cent *c,
    char *tbuf)
{
	const struct ss_ent *p = ss_dir_find(prevdir, name, strlen(name));
	struct ss_ent *e = &c->e;
	struct ss_buf *xa = &c->xa;
	struct stat st;
	struct fcontent fc;
	int r = 0, fd;

	e->name = name;
	e->namelen = strlen(name);
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return ss_tree_path_err(ss_err_errno(ss_errno_code(errno),
		    "cannot stat"), path);
	switch (st.st_mode & S_IFMT) {
	case S_IFREG:
		e->type = SS_FT_REG;
		t->files++;
		t->logical += (uint64_t)st.st_size;
		if (unchanged(p, &st)) {
			e->ckind = p->ckind;
			e->cid = p->cid;
			e->subtree = p->subtree;
			t->reused++;
			if (ss_buf_put(xa, p->xattrs, p->xattrslen))
				return SS_ENOMEM;
			break;
		}
		r = capture_file(t, dirfd, name, path, &st, xa, &fc,
		    &e->subtree);
		if (r != 0)
			return r;
		e->ckind = fc.ckind;
		e->cid = fc.cid;
		break;
	case S_IFDIR:
		e->type = SS_FT_DIR;
		e->ckind = SS_CK_DIR;
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (fd < 0)
			return ss_tree_path_err(ss_err_errno(ss_errno_code(errno),
			    "cannot open directory"), path);
		if (fstat(fd, &st) != 0)
			r = ss_err_errno(SS_EIO, "cannot stat directory");
		else if ((r = ss_tree_read_xattrs(fd, path, xa)) == 0)
			r = capture_dir(t, (st.st_dev != t->rootdev ||
			    is_skipped(t, path)) ? -1 : fd, path,
			    p && p->type == SS_FT_DIR ? &p->cid : NULL,
			    &e->cid, &e->subtree);
		close(fd);
		if (r != 0)
			return r;
		break;
	case S_IFLNK: {
		ssize_t n = readlinkat(dirfd, name, tbuf, 4096);

		if (n <= 0 || n >= 4096)
			return ss_tree_path_err(ss_err_errno(SS_EIO, "cannot read"
			    " symlink"), path);
		if ((c->target = ss_malloc((size_t)n)) == NULL)
			return SS_ENOMEM;
		memcpy(c->target, tbuf, (size_t)n);
		e->type = SS_FT_LNK;
		e->target = c->target;
		e->targetlen = (size_t)n;
		r = read_xattrs_at(dirfd, name, xa);
		break;
	}
	case S_IFIFO:
		e->type = SS_FT_FIFO;
		r = read_xattrs_at(dirfd, name, xa);
		break;
	case S_IFCHR:
	case S_IFBLK:
		e->type = S_ISCHR(st.st_mode) ? SS_FT_CHR : SS_FT_BLK;
		r = read_xattrs_at(dirfd, name, xa);
		break;
	default:
		twarn(t, "skipping socket", path);
		return 1;
	}
	if (r != 0)
		return r < 0 && strncmp(ss_errmsg(), path, strlen(path)) ?
		    ss_tree_path_err(r, path) : r;
	fill_stat(e, &st);
	return 0;
}

static void
cents_free(struct cent *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		ss_buf_free(&v[i].xa);
		free(v[i].target);
	}
	free(v);
}

/*
 * encode_dir(t, v, n, path, b, refs, &nrefs): the directory object of the
 * captured entries (whose sizes must be final), and its references.
 */
static int
encode_dir(struct cent *v, size_t n, const char *path, struct ss_buf *b,
    struct ss_id *refs, size_t *nrefs)
{
	size_t cnt = 0;
	int r;

	*nrefs = 0;
	if ((r = ss_buf_put_u8(b, SS_DIR_VERSION)) != 0 ||
	    (r = ss_buf_put_u32(b, 0)) != 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (v[i].e.type == 0)	/* left out */
			continue;
		v[i].e.xattrs = v[i].xa.p;
		v[i].e.xattrslen = v[i].xa.len;
		if ((r = ss_ent_encode(&v[i].e, b)) != 0)
			return r;
		if (v[i].e.ckind != SS_CK_NONE)
			refs[(*nrefs)++] = v[i].e.cid;
		cnt++;
	}
	if (b->len > SS_OBJ_MAX)
		return ss_tree_path_err(ss_err(SS_ERANGE, "directory too large"), path);
	ss_le32enc(b->p + 1, (uint32_t)cnt);
	return 0;
}

/*
 * capture_dir(t, fd, path, prev, id, acc): store the directory open at
 * ${fd} (fd < 0: record it as empty, for mount points not descended into).
 * Its stored size, and that of everything under it, is added to *${acc}.
 */
static int
capture_dir(struct ss_tree *t, int fd, const char *path,
    const struct ss_id *prev, struct ss_id *id, uint64_t *acc)
{
	struct ss_dir prevdir = { SS_BUF_INIT, NULL, 0 };
	struct ss_buf b = SS_BUF_INIT;
	struct ss_id *refs = NULL;
	struct cent *v = NULL;
	char **names = NULL, *cpath = NULL, *tbuf = NULL;
	size_t n = 0, nrefs = 0;
	int r;

	t->dirs++;
	if (fd >= 0 && (r = list_dir(fd, &names, &n)) != 0)
		return ss_tree_path_err(r, path);
	if (prev && (r = ss_tree_load_dir(t, prev, &prevdir)) != 0)
		goto out;
	if ((refs = ss_calloc(n + 1, sizeof(*refs))) == NULL ||
	    (v = ss_calloc(n + 1, sizeof(*v))) == NULL ||
	    (tbuf = ss_malloc(4096)) == NULL) {
		r = SS_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		free(cpath);
		if ((cpath = ss_path_join(path, names[i])) == NULL) {
			r = SS_ENOMEM;
			goto out;
		}
		r = capture_entry(t, fd, names[i], cpath, &prevdir, &v[i], tbuf);
		if (r == 1)
			memset(&v[i].e, 0, sizeof(v[i].e));
		else if (r != 0)
			goto out;
	}
	/* every subtree size is final once the pipeline has drained */
	if ((r = ss_pipe_drain(t)) != 0 ||
	    (r = encode_dir(v, n, path, &b, refs, &nrefs)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		*acc += v[i].e.subtree;
	r = ss_tree_store(t, SS_OT_DIR, b.p, b.len, refs, (uint32_t)nrefs, id,
	    acc);
out:
	ss_dir_free(&prevdir);
	ss_buf_free(&b);
	cents_free(v, n);
	strv_free(names, n);
	free(refs);
	free(cpath);
	free(tbuf);
	return r;
}

int
ss_tree_snapshot(struct ss_tree *t, const char *dir, const struct ss_id *prev,
    struct ss_id *root, uint64_t *refer)
{
	struct ss_dir prevroot = { SS_BUF_INIT, NULL, 0 };
	struct ss_buf b = SS_BUF_INIT, xa = SS_BUF_INIT;
	struct ss_ent e;
	struct stat st;
	int fd, r;

	*refer = 0;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ss_err_errno(ss_errno_code(errno), "cannot open '%s'",
		    dir);
	if (fstat(fd, &st) != 0) {
		r = ss_err_errno(SS_EIO, "cannot stat '%s'", dir);
		goto out;
	}
	t->rootdev = st.st_dev;
	if (prev && (r = ss_tree_load_dir(t, prev, &prevroot)) != 0)
		goto out;
	memset(&e, 0, sizeof(e));
	const struct ss_ent *pe = ss_dir_find(&prevroot, "@", 1);
	if ((r = ss_tree_read_xattrs(fd, dir, &xa)) != 0)
		goto out;
	if ((r = capture_dir(t, fd, dir, pe && pe->type == SS_FT_DIR ?
	    &pe->cid : NULL, &e.cid, &e.subtree)) != 0)
		goto out;
	if ((r = ss_pipe_drain(t)) != 0)
		goto out;
	e.name = "@";
	e.namelen = 1;
	e.type = SS_FT_DIR;
	e.ckind = SS_CK_DIR;
	fill_stat(&e, &st);
	e.xattrs = xa.p;
	e.xattrslen = xa.len;
	if ((r = ss_buf_put_u8(&b, SS_DIR_VERSION)) != 0 ||
	    (r = ss_buf_put_u32(&b, 1)) != 0 ||
	    (r = ss_ent_encode(&e, &b)) != 0)
		goto out;
	*refer = e.subtree;
	if ((r = ss_tree_store(t, SS_OT_DIR, b.p, b.len, &e.cid, 1, root,
	    refer)) == 0)
		r = ss_pipe_drain(t);
out:
	ss_dir_free(&prevroot);
	ss_buf_free(&b);
	ss_buf_free(&xa);
	close(fd);
	return r;
}
