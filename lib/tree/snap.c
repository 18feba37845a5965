/*
 * snap.c: capture a live directory into objects: the walker.
 *
 * The walk is depth-first; the entries of a directory are sorted by name
 * (bytes).  The scanners (scan.c, scanq.c) have listed and stat'ed each
 * directory before the walker gets there, and decided per entry: a regular file
 * whose (size, inode, mtime, ctime) equal those of the same name in the
 * previous snapshot keeps that entry's content and xattrs without being
 * read; a small changed one was read whole already; the walker reads the
 * others (sfile.c).  A file's data regions (SEEK_DATA/SEEK_HOLE: holes
 * are neither read nor stored), read ahead by the reader (sread.c), are
 * cut into chunks by the content-defined chunker, each chunk copied into a
 * buffer of its own that is handed to the sealing pipeline (pipe.c); one
 * chunk covering the whole file is referenced directly, anything else
 * through a file map object.  A file whose size, mtime or ctime moves
 * while it is read is read again, and the snapshot fails with SS_ECHANGED
 * if it keeps changing.
 *
 * File maps and directory objects are encoded when the pipeline drains
 * to them (marks), once every ID and stored size they hold is known; a
 * directory object equal to the previous snapshot's is reused as it is.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "tree/scan.h"

static void
twarn(struct ss_tree *t, const char *what, const char *dir, const char *name)
{
	char *m = ss_asprintf("%s %s/%s", what, dir, name);

	if (m && t->warn)
		t->warn(t->warnarg, m);
	free(m);
}

/* reraise(r, msg): an error a scanner recorded, raised on this thread. */
static int
reraise(int r, const char *msg)
{
	return ss_err(r, "%s", msg ? msg : ss_strerror(r));
}

#ifndef RWF_DONTCACHE
#define RWF_DONTCACHE 0x00000080	/* Linux 6.14 */
#endif

static int nodontcache;		/* the kernel refused RWF_DONTCACHE */

/*
 * ss_snap_pread(fd, buf, n, off): pread, leaving no page cache behind that
 * was not there before (RWF_DONTCACHE, where the kernel has it): a backup
 * reads everything once, and neither evicts what others use nor makes
 * the kernel find fresh pages for every block it reads.
 */
ssize_t
ss_snap_pread(int fd, void *buf, size_t n, uint64_t off)
{
	struct iovec v = { buf, n };
	ssize_t k;

	if (!__atomic_load_n(&nodontcache, __ATOMIC_RELAXED)) {
		k = preadv2(fd, &v, 1, (off_t)off, RWF_DONTCACHE);
		if (k >= 0 || (errno != EOPNOTSUPP && errno != EINVAL))
			return k;
		__atomic_store_n(&nodontcache, 1, __ATOMIC_RELAXED);
	}
	return pread(fd, buf, n, (off_t)off);
}

int
ss_snap_open(int dirfd, const char *name)
{
	/*
	 * O_NONBLOCK: a file replaced by a FIFO since it was stat'ed would
	 * otherwise block the open until a writer came (regular files
	 * ignore it); the caller's fstat then sees it is no regular file.
	 * A regular file under another's write lease (a Samba oplock, an
	 * NFS delegation) refuses it with EWOULDBLOCK: that open waits
	 * for the lease to be given back, as any reader's does.
	 */
	int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
	int fd = openat(dirfd, name, flags | O_NOATIME);

	if (fd < 0 && errno == EPERM)	/* O_NOATIME on another's file */
		fd = openat(dirfd, name, flags);
	if (fd < 0 && errno == EWOULDBLOCK)
		fd = openat(dirfd, name, flags & ~O_NONBLOCK);
	return fd;
}

int
ss_snap_same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_size == b->st_size && a->st_ino == b->st_ino &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

void
ss_snap_fill_stat(struct ss_ent *e, const struct stat *st)
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
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * ss_tree_read_xattrs(fd, path, out): encode every extended attribute
 * (sorted by name) of the open file ${fd}, or of ${path} (not followed) if
 * fd < 0.
 */
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

/* ---------- directories ---------- */

/*
 * dir_done(t, arg): every entry of the walked directory ${arg} has its
 * ID and size: encode its object and store it, or reuse the previous
 * snapshot's when it is the same.
 */
static int
dir_done(struct ss_tree *t, void *arg)
{
	struct ss_snode *d = arg;
	struct ss_buf *b = ss_pipe_scratch(t);
	const struct ss_ent **v = NULL;
	struct ss_id *refs = NULL, id;
	uint64_t sum = 0, len = 0;
	size_t cnt = 0, nrefs = 0;
	int r;

	if ((v = ss_calloc(d->n + 1, sizeof(*v))) == NULL) {
		r = SS_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].e.type == 0)	/* left out */
			continue;
		v[cnt++] = &d->v[i].e;
		sum += d->v[i].e.subtree;
	}
	if ((r = ss_dir_encode(v, cnt, b, &refs, &nrefs)) != 0)
		goto out;
	if (b->len > SS_OBJ_MAX) {
		r = ss_tree_path_err(ss_err(SS_ERANGE, "directory too large"),
		    d->path);
		goto out;
	}
	if (d->haveprev && b->len == d->prev.raw.len &&
	    memcmp(b->p, d->prev.raw.p, b->len) == 0) {
		id = d->previd;
		len = d->prevlen;
	} else if ((r = ss_pipe_store(t, SS_OT_DIR, b->p, b->len, refs,
	    (uint32_t)nrefs, &id, &len)) != 0)
		goto out;
	*d->idout = id;
	*d->accout += sum + len;
out:
	free(v);
	free(refs);
	ss_scan_free(t, d);
	return r;
}

static int walk_dir(struct ss_tree *t, struct ss_snode *d);

static int
walk_child(struct ss_tree *t, struct ss_snode *d, struct ss_sent *se)
{
	struct ss_snode *c = ss_scan_child(t, d, se);

	if (c == NULL)
		return SS_ENOMEM;
	if (c->err)
		return reraise(c->err, c->errmsg);
	ss_snap_fill_stat(&se->e, &c->st);
	if (c->xattrs != NULL && c->xattrs == c->xa.p) {
		/* the entry outlives the node: it takes the xattrs */
		se->xa = c->xa;
		memset(&c->xa, 0, sizeof(c->xa));
	}
	se->e.xattrs = c->xattrs;
	se->e.xattrslen = c->xattrslen;
	c->idout = &se->e.cid;
	c->accout = &se->e.subtree;
	return walk_dir(t, c);
}

/*
 * walk_dir(t, d): visit the scanned directory ${d}; its object is stored
 * when the pipeline drains to it, its ID going to *d->idout and its
 * size, with everything under it, added to *d->accout.
 */
static int
walk_dir(struct ss_tree *t, struct ss_snode *d)
{
	int r = 0;

	if (d->err)
		return reraise(d->err, d->errmsg);
	t->dirs++;
	for (size_t i = 0; i < d->n && r == 0; i++) {
		struct ss_sent *se = &d->v[i];

		if (se->err)
			return reraise(se->err, se->errmsg);
		if (se->e.type == SS_FT_REG) {
			t->files++;
			t->logical += se->lsize;
			t->racy += se->racy;
		}
		switch (se->how) {
		case SE_SOCKET:
			twarn(t, "skipping socket", d->path, se->e.name);
			break;
		case SE_REUSE:
			t->reused++;
			if (se->e.ckind == SS_CK_INLINE)
				r = ss_snap_reuse_inline(t, d, se);
			break;
		case SE_DATA:
			r = ss_snap_store_data(t, d, se);
			break;
		case SE_READ:
			r = ss_snap_capture_file(t, d, se);
			break;
		case SE_DIR:
			r = walk_child(t, d, se);
			break;
		default:
			break;
		}
	}
	if (r != 0)
		return r;
	ss_scan_close(t, d);
	return ss_pipe_mark(t, dir_done, NULL, d, d->acct);
}

int
ss_tree_snapshot(struct ss_tree *t, const char *dir, const struct ss_id *prev,
    struct ss_id *root, uint64_t *refer)
{
	struct ss_dir prevroot = { SS_BUF_INIT, NULL, 0 };
	struct ss_buf b = SS_BUF_INIT, xa = SS_BUF_INIT;
	const struct ss_ent *pe, *root_ent[1];
	struct ss_id *refs = NULL;
	size_t nrefs = 0;
	struct ss_snode *top;
	struct ss_ent e;
	struct stat st;
	int fd, r;

	*refer = 0;
	root_ent[0] = &e;
	memset(&e, 0, sizeof(e));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ss_err_errno(ss_errno_code(errno), "cannot open '%s'",
		    dir);
	if (fstat(fd, &st) != 0) {
		r = ss_err_errno(SS_EIO, "cannot stat '%s'", dir);
		close(fd);
		goto out;
	}
	t->rootdev = st.st_dev;
	ss_pipe_catlock(t);
	r = prev ? ss_tree_load_dir(t, prev, &prevroot) : 0;
	ss_pipe_catunlock(t);
	if (r != 0 || (r = ss_tree_read_xattrs(fd, dir, &xa)) != 0) {
		close(fd);
		goto out;
	}
	pe = ss_dir_find(&prevroot, "@", 1);
	if ((r = ss_scan_root(t, fd, dir, pe && pe->type == SS_FT_DIR ?
	    pe : NULL, &top)) != 0)
		goto out;
	top->idout = &e.cid;
	top->accout = &e.subtree;
	if ((r = walk_dir(t, top)) != 0 || (r = ss_pipe_drain(t)) != 0)
		goto out;
	e.name = "@";
	e.namelen = 1;
	e.type = SS_FT_DIR;
	e.ckind = SS_CK_DIR;
	ss_snap_fill_stat(&e, &st);
	e.xattrs = xa.p;
	e.xattrslen = xa.len;
	if ((r = ss_dir_encode(root_ent, 1, &b, &refs, &nrefs)) != 0)
		goto out;
	*refer = e.subtree;
	r = ss_pipe_store(t, SS_OT_DIR, b.p, b.len, refs, (uint32_t)nrefs,
	    root, refer);
out:
	if (r != 0)
		ss_scan_halt(t);	/* nothing may use prevroot any more */
	ss_dir_free(&prevroot);
	ss_buf_free(&b);
	ss_buf_free(&xa);
	free(refs);
	return r;
}
