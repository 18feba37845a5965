/*
 * scan.c: scanning one directory for snapshot, ahead of the walker
 * (scanq.c runs the scanners and hands the walker the results).
 *
 * Scanning a directory opens it (relative to its parent's descriptor),
 * reads its stat and, unless its inode, mtime and ctime say they did not
 * change, its xattrs; loads the previous snapshot's object of the same
 * path; lists and sorts its names; and stats every entry.  For each entry
 * it decides what the walker will do (scan.h, SE_*): a regular file whose
 * (size, inode, mtime, ctime) did not change, and whose previous entry is
 * not racy (tree.h, SS_RACY_NS), keeps its previous content and xattrs; a
 * small one that changed is read whole now (the kernel
 * reading the next ones ahead meanwhile), checked against a second fstat
 * as the walker would; a symlink, fifo or device whose
 * inode, mtime and ctime did not change (and is not racy) keeps its
 * previous target and xattrs.  Where the previous objects of its subdirectories are is looked
 * up at once, and the kernel asked to start reading them.
 *
 * Errors are kept in the node or entry and raised by the walker when it
 * reaches it, so a snapshot fails with the same first error as a walk
 * that did everything in order.  Nothing here touches the catalog except
 * the index lookups of previous directory objects, under the catalog lock.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tree/scan.h"

#define DENTS_BUF (64u * 1024)

/* ---------- errors ---------- */

static void
node_fail(struct ss_snode *d, int r)
{
	if (d->err)
		return;
	d->err = r;
	d->errmsg = ss_strdup(ss_errmsg());
}

static void
ent_fail(struct ss_sent *se, int r)
{
	se->err = r;
	se->errmsg = ss_strdup(ss_errmsg());
}

/* path_fail(r, dir, name): ss_tree_path_err with the entry's path. */
static int
path_fail(int r, const char *dir, const char *name)
{
	char *p = ss_path_join(dir, name);

	r = ss_tree_path_err(r, p ? p : name);
	free(p);
	return r;
}

/* ---------- comparisons with the previous snapshot ---------- */

static int
same_ctime(const struct ss_ent *p, const struct stat *st)
{
	return p->ino == st->st_ino && p->ctime_sec == st->st_ctim.tv_sec &&
	    p->ctime_nsec == (uint32_t)st->st_ctim.tv_nsec;
}

/* same_file(p, st): ${st} has the size, inode, mtime and ctime of ${p}. */
static int
same_file(const struct ss_ent *p, const struct stat *st)
{
	return p && p->type == SS_FT_REG &&
	    p->size == (uint64_t)st->st_size && same_ctime(p, st) &&
	    p->mtime_sec == st->st_mtim.tv_sec &&
	    p->mtime_nsec == (uint32_t)st->st_mtim.tv_nsec;
}

/*
 * unchanged_meta(t, p, type, st): what cannot be read through a
 * descriptor (a symlink's target; the xattrs of symlinks, fifos, devices
 * and directories) is what it was: any change to either changes the ctime.
 */
static int
unchanged_meta(const struct ss_tree *t, const struct ss_ent *p, uint8_t type,
    const struct stat *st)
{
	return p && p->type == type && same_ctime(p, st) &&
	    p->mtime_sec == st->st_mtim.tv_sec &&
	    p->mtime_nsec == (uint32_t)st->st_mtim.tv_nsec &&
	    ss_ent_settled(p, t->settled_ns);
}

static int
is_skipped(const struct ss_tree *t, const char *path)
{
	for (size_t i = 0; i < t->nskip; i++)
		if (!strcmp(t->skip[i], path))
			return 1;
	return 0;
}

/* ---------- one entry ---------- */

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

/*
 * Small files are read with the kernel reading the next ones already: a
 * scanner asks for up to PF_AHEAD files of its directory at once
 * (POSIX_FADV_WILLNEED), then copies each in turn, so that a cold tree's
 * small reads overlap instead of waiting one after the other.  What was
 * read ahead is dropped once copied (POSIX_FADV_DONTNEED), as
 * RWF_DONTCACHE would have, but only for a file that had no page cached
 * before (cachestat(2)): a backup neither evicts what others use nor
 * leaves the tree it read in memory.  Where cachestat is missing (Linux
 * before 6.5, which has no RWF_DONTCACHE either, so reads stay cached
 * anyway) files are read ahead and left; a file it refuses (EPERM: since
 * Linux 6.14, one the caller may not write) is not read ahead; any other
 * error turns reading ahead off.
 */
#define PF_AHEAD 16
#define RA_HEAD (2u * 1024 * 1024)	/* sread.c's RD_BLOCK */
#define RA_NODE (8u * 1024 * 1024)

#ifndef SYS_cachestat
#if defined(__alpha__)
#define SYS_cachestat 561
#else
#define SYS_cachestat 451	/* one number on every other architecture */
#endif
#endif

struct pf_range {
	uint64_t off, len;
};

struct pf_cstat {
	uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted,
	    nr_recently_evicted;
};

/* cachestat: untried or working; missing (ENOSYS); refused (no read-ahead) */
enum { CS_YES, CS_MISSING, CS_REFUSED };
static int cs_mode;

/*
 * ahead(fd, len): ask the kernel to read the first ${len} bytes (0: all)
 * of the file ${fd} ahead; SS_RA_*.  Whether it is dropped after depends
 * on the whole file: one with any page cached is left as it is.
 */
static int
ahead(int fd, uint64_t len)
{
	struct pf_range rg = { 0, 0 };	/* the whole file */
	struct pf_cstat cs;
	int m = __atomic_load_n(&cs_mode, __ATOMIC_RELAXED), how = SS_RA_KEEP;

	if (m == CS_YES) {
		if (syscall(SYS_cachestat, fd, &rg, &cs, 0) == 0) {
			if (cs.nr_cache > 0)
				return SS_RA_NONE;	/* read as it is */
			how = SS_RA_DROP;
		} else if (errno == EPERM) {
			/* Linux 6.14: not the caller's to write; or a filter */
			return SS_RA_NONE;
		} else {
			m = errno == ENOSYS ? CS_MISSING : CS_REFUSED;
			__atomic_store_n(&cs_mode, m, __ATOMIC_RELAXED);
		}
	}
	if (m == CS_REFUSED || posix_fadvise(fd, 0, (off_t)len,
	    POSIX_FADV_WILLNEED))
		return SS_RA_NONE;
	return how;
}

/*
 * prefetch(se, buf, fd, how): read the small changed file ${se}, open
 * as ${fd} (read ahead as ${how}, SS_RA_*), whole into ${buf} (its size when
 * the directory was listed), as the walker would: one data region, its
 * xattrs, the same fstat after as before.  Anything else (it changed
 * since, it has holes) leaves it to the walker.  Closes ${fd}.
 */
static void
prefetch(struct ss_sent *se, uint8_t *buf, int fd, int how)
{
	struct stat a, b;
	size_t size = (size_t)se->lsize, got = 0;

	se->how = SE_READ;
	if (fstat(fd, &a) != 0 || !S_ISREG(a.st_mode) ||
	    (uint64_t)a.st_size != se->lsize)
		goto out;
	if (size > 0) {
		off_t data = lseek(fd, 0, SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO)
			goto out;	/* all hole: the walker's map */
		hole = data < 0 ? (off_t)size : lseek(fd, data, SEEK_HOLE);
		if ((data > 0) || (hole >= 0 && (size_t)hole < size))
			goto out;	/* holes: the walker's map */
	}
	while (got < size) {
		ssize_t k = ss_snap_pread(fd, buf + got, size - got, got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			goto out;
		got += (size_t)k;
	}
	if (ss_tree_read_xattrs(fd, NULL, &se->xa) != 0 || fstat(fd, &b) != 0 ||
	    !ss_snap_same_stat(&a, &b)) {
		ss_errclear();
		ss_buf_free(&se->xa);
		goto out;
	}
	ss_snap_fill_stat(&se->e, &a);
	se->e.xattrs = se->xa.p;
	se->e.xattrslen = se->xa.len;
	se->data = buf;
	se->how = SE_DATA;
out:
	if (how == SS_RA_DROP)
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
}

/*
 * prefetch_files(d): read the small changed files of ${d} chosen by
 * scan_entry into one buffer, which lives as long as the node: the
 * sealers are done with every file before the walker drains to the
 * directory's object and frees the node.  Up to PF_AHEAD of them are open
 * and being read ahead at a time (a ring, in entry order); one that cannot
 * be opened is left to the walker, which reports why.
 */
static void
prefetch_files(struct ss_tree *t, struct ss_snode *d)
{
	struct {
		size_t i;
		int fd, how;
	} ring[PF_AHEAD], *p;
	size_t off = 0, next = 0, head = 0, n = 0;
	struct ss_sent *se;

	if (d->fbytes > 0 && (d->fdata = ss_scan_fdata(t, d->fbytes)) == NULL)
		d->fbytes = 0;
	d->acct += d->fbytes;
	for (;;) {
		while (n < PF_AHEAD && next < d->n) {
			se = &d->v[next++];
			if (se->how != SE_DATA || se->err)
				continue;
			if (se->lsize > 0 && d->fdata == NULL) {
				se->how = SE_READ;	/* no memory: the walker */
				continue;
			}
			p = &ring[(head + n++) % PF_AHEAD];
			p->i = next - 1;
			p->fd = ss_snap_open(d->fd, se->e.name);
			p->how = p->fd < 0 || se->lsize == 0 ? SS_RA_NONE :
			    d->light ? se->pfhow : ahead(p->fd, 0);
		}
		if (n == 0)
			break;
		p = &ring[head];
		head = (head + 1) % PF_AHEAD;
		n--;
		se = &d->v[p->i];
		if (p->fd >= 0)
			prefetch(se, d->fdata != NULL ? d->fdata + off : NULL,
			    p->fd, p->how);
		else
			se->how = SE_READ;	/* the walker says why */
		off += (size_t)se->lsize;
	}
}

/*
 * warm(d): have the kernel read ahead, noting for each file whether to
 * drop its pages once it is read (se->pfhow):
 * - in a light scan, the small changed files of ${d} whole: the part of
 *   prefetch_files a light scan does; ss_scan_data copies them;
 * - the start of each changed file the walker reads itself (SE_READ:
 *   larger than a scanner reads, or past its directory's share), its
 *   first reader block (RA_HEAD), up to RA_NODE for the directory: the
 *   reader then starts each from memory instead of waiting for the disk
 *   one file after the other; the walker drops what was read ahead
 *   (ss_snap_capture_file).
 */
static void
warm(struct ss_snode *d)
{
	for (size_t i = 0; i < d->n; i++) {
		struct ss_sent *se = &d->v[i];
		uint64_t len = 0;	/* all */
		int fd;

		if (se->err || se->lsize == 0 || se->pfhow != SS_RA_NONE)
			continue;
		if (se->how == SE_READ) {
			if (d->rabytes >= RA_NODE)
				continue;
			len = se->lsize < RA_HEAD ? se->lsize : RA_HEAD;
			if (len > RA_NODE - d->rabytes)
				len = RA_NODE - d->rabytes;
		} else if (se->how != SE_DATA || !d->light)
			continue;
		if ((fd = ss_snap_open(d->fd, se->e.name)) < 0)
			continue;
		se->pfhow = (uint8_t)ahead(fd, len);
		if (se->pfhow != SS_RA_NONE && se->how == SE_READ)
			d->rabytes += (size_t)len;
		close(fd);
	}
}

void
ss_scan_data(struct ss_tree *t, struct ss_snode *d)
{
	if (!d->err && !d->empty && !d->retry)
		prefetch_files(t, d);
	d->light = 0;
}

/* special(t, d, se, name, st, cx): a symlink, fifo or device. */
static int
special(const struct ss_tree *t, struct ss_snode *d, struct ss_sent *se,
    const char *name, const struct stat *st, struct ss_sctx *cx)
{
	const struct ss_ent *p = se->prev;
	ssize_t n;
	int r;

	if (unchanged_meta(t, p, se->e.type, st)) {
		se->e.target = p->target;
		se->e.targetlen = p->targetlen;
		se->e.xattrs = p->xattrs;
		se->e.xattrslen = p->xattrslen;
		return 0;
	}
	if (se->e.type == SS_FT_LNK) {
		n = readlinkat(d->fd, name, cx->tbuf, sizeof(cx->tbuf));
		if (n <= 0 || n >= (ssize_t)sizeof(cx->tbuf))
			return path_fail(ss_err_errno(SS_EIO, "cannot read"
			    " symlink"), d->path, name);
		if ((se->target = ss_malloc((size_t)n)) == NULL)
			return SS_ENOMEM;
		memcpy(se->target, cx->tbuf, (size_t)n);
		se->e.target = se->target;
		se->e.targetlen = (size_t)n;
	}
	if ((r = read_xattrs_at(d->fd, name, &se->xa)) != 0)
		return path_fail(r, d->path, name);
	se->e.xattrs = se->xa.p;
	se->e.xattrslen = se->xa.len;
	return 0;
}

static int
scan_entry(struct ss_tree *t, struct ss_snode *d, struct ss_sent *se,
    struct ss_sctx *cx)
{
	const char *name = se->e.name;
	const struct ss_ent *p;
	struct stat st;

	if (fstatat(d->fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return path_fail(ss_err_errno(ss_errno_code(errno),
		    "cannot stat"), d->path, name);
	p = se->prev = ss_dir_find(&d->prev, name, se->e.namelen);
	ss_snap_fill_stat(&se->e, &st);
	switch (st.st_mode & S_IFMT) {
	case S_IFREG:
		se->e.type = SS_FT_REG;
		se->lsize = (uint64_t)st.st_size;
		/* the content and xattrs of ${p} are kept, unless racy */
		if (same_file(p, &st) &&
		    (se->racy = !ss_ent_settled(p, t->settled_ns)) == 0) {
			se->how = SE_REUSE;
			se->e.ckind = p->ckind;
			se->e.cid = p->cid;
			se->e.data = p->data;	/* inline: in d->prev */
			se->e.subtree = p->subtree;
			se->e.xattrs = p->xattrs;
			se->e.xattrslen = p->xattrslen;
		} else if ((uint64_t)st.st_size <= SS_SCAN_FILE_MAX &&
		    d->fbytes + (size_t)st.st_size <= SS_SCAN_NODE_BYTES) {
			/* read by prefetch_files, after every stat */
			se->how = SE_DATA;
			d->fbytes += (size_t)st.st_size;
		} else
			se->how = SE_READ;
		return 0;
	case S_IFDIR:
		se->e.type = SS_FT_DIR;
		se->e.ckind = SS_CK_DIR;
		se->how = SE_DIR;	/* its node is made when it is scanned */
		return 0;
	case S_IFLNK:
		se->e.type = SS_FT_LNK;
		break;
	case S_IFIFO:
		se->e.type = SS_FT_FIFO;
		break;
	case S_IFCHR:
		se->e.type = SS_FT_CHR;
		break;
	case S_IFBLK:
		se->e.type = SS_FT_BLK;
		break;
	default:
		se->e.type = 0;
		se->how = SE_SOCKET;
		return 0;
	}
	se->how = SE_META;
	return special(t, d, se, name, &st, cx);
}

/* ---------- one directory ---------- */

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* list(d, cx, &v, &n): sorted names, "." and ".." left out. */
static int
list(struct ss_snode *d, struct ss_sctx *cx, char ***out, size_t *nout)
{
	struct ss_buf b = SS_BUF_INIT;
	char **v = NULL;
	size_t n = 0, off;
	long k;

	*out = NULL;
	*nout = 0;
	while ((k = getdents64(d->fd, cx->dents, DENTS_BUF)) > 0) {
		for (off = 0; off < (size_t)k;) {
			struct dirent64 *de = (void *)(cx->dents + off);
			const char *s = de->d_name;

			off += de->d_reclen;
			if (s[0] == '.' && (s[1] == 0 ||
			    (s[1] == '.' && s[2] == 0)))
				continue;
			if (ss_buf_put(&b, s, strlen(s) + 1) != 0) {
				ss_buf_free(&b);
				return SS_ENOMEM;
			}
			n++;
		}
	}
	if (k < 0) {
		ss_buf_free(&b);
		return ss_err_errno(SS_EIO, "cannot read directory");
	}
	if (n > 0 && (v = ss_calloc(n, sizeof(*v))) == NULL) {
		ss_buf_free(&b);
		return SS_ENOMEM;
	}
	off = 0;
	for (size_t i = 0; i < n; i++) {
		v[i] = (char *)b.p + off;
		off += strlen(v[i]) + 1;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_names);
	d->names = (char *)b.p;
	d->acct += b.cap;
	*out = v;
	*nout = n;
	return 0;
}

/* load_prev(t, d, cx, id): the previous snapshot's object of ${d}. */
static int
load_prev(struct ss_tree *t, struct ss_snode *d, struct ss_sctx *cx,
    const struct ss_id *id)
{
	struct ss_objrow row;
	char hex[2 * SS_ID_LEN + 1];
	int r;

	if (d->haveloc) {
		row.loc = d->prevloc;
		r = 0;
	} else {
		ss_pipe_catlock(t);
		r = ss_cat_obj_get(t->cat, id, &row);
		ss_pipe_catunlock(t);
	}
	if (r == SS_ENOENT) {
		ss_id_hex(id, hex);
		return ss_err(SS_ECORRUPT, "object %.16s is missing from the"
		    " pool", hex);
	}
	if (r != 0 || (r = ss_tree_load_dir_at(&cx->lt, id, &row.loc,
	    &d->prev)) != 0)
		return r;
	d->haveprev = 1;
	d->previd = *id;
	d->prevlen = row.loc.len;
	d->acct += d->prev.raw.cap + d->prev.n * sizeof(*d->prev.ents);
	return 0;
}

/*
 * prefetch_prev(t, d, cx): look up where the previous objects of the
 * subdirectories of ${d} are, and have the kernel start reading them, so
 * that their scans find them in memory.
 */
static void
prefetch_prev(struct ss_tree *t, struct ss_snode *d, struct ss_sctx *cx)
{
	struct ss_objrow row;

	ss_pipe_catlock(t);
	for (size_t i = 0; i < d->n; i++) {
		struct ss_sent *se = &d->v[i];
		const struct ss_ent *pv = se->prev;

		if (se->how != SE_DIR || se->err || pv == NULL ||
		    pv->type != SS_FT_DIR ||
		    ss_cat_obj_get(t->cat, &pv->cid, &row) != 0)
			continue;
		se->prevloc = row.loc;
		se->haveloc = 1;
	}
	ss_pipe_catunlock(t);
	ss_errclear();
	for (size_t i = 0; i < d->n; i++) {
		struct ss_sent *se = &d->v[i];
		uint64_t blk;

		if (!se->haveloc)
			continue;
		blk = se->prevloc.off >> 17;
		if (se->prevloc.pack == cx->rapack && blk == cx->rablk)
			continue;
		cx->rapack = se->prevloc.pack;
		cx->rablk = blk;
		pthread_mutex_lock(cx->lt.prlock);
		ss_packr_willneed(cx->lt.pr, &se->prevloc);
		pthread_mutex_unlock(cx->lt.prlock);
	}
}

/*
 * open_dir(t, d): open ${d} in its parent, read its stat and xattrs;
 * 1 if a scanner ran out of descriptors (the walker will do it).
 */
static int
open_dir(struct ss_tree *t, struct ss_snode *d, int walker)
{
	const struct ss_ent *pv = d->pe->prev;
	int r;

	d->fd = openat(d->parent->fd, d->pe->e.name, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC);
	if (d->fd < 0 && !walker && (errno == EMFILE || errno == ENFILE))
		return 1;
	if (d->fd < 0)
		return ss_tree_path_err(ss_err_errno(ss_errno_code(errno),
		    "cannot open directory"), d->path);
	if (fstat(d->fd, &d->st) != 0)
		return ss_tree_path_err(ss_err_errno(SS_EIO, "cannot stat"
		    " directory"), d->path);
	if (unchanged_meta(t, pv, SS_FT_DIR, &d->st)) {
		d->xattrs = pv->xattrs;
		d->xattrslen = pv->xattrslen;
	} else if ((r = ss_tree_read_xattrs(d->fd, d->path, &d->xa)) != 0) {
		return strncmp(ss_errmsg(), d->path, strlen(d->path)) ?
		    ss_tree_path_err(r, d->path) : r;
	} else {
		d->xattrs = d->xa.p;
		d->xattrslen = d->xa.len;
	}
	if (d->st.st_dev != t->rootdev || is_skipped(t, d->path)) {
		d->empty = 1;
		close(d->fd);
		d->fd = -1;
	}
	return 0;
}

void
ss_scan_node(struct ss_tree *t, struct ss_snode *d, struct ss_sctx *cx,
    int walker)
{
	const struct ss_ent *pv;
	char **names = NULL;
	size_t n = 0;
	int r;

	if (d->parent != NULL && (r = open_dir(t, d, walker)) != 0) {
		if (r == 1)
			d->retry = 1;
		else
			node_fail(d, r);
		return;
	}
	if (d->empty)
		return;
	if ((r = list(d, cx, &names, &n)) != 0) {
		node_fail(d, ss_tree_path_err(r, d->path));
		return;
	}
	pv = d->pe->prev;
	if (pv && pv->type == SS_FT_DIR &&
	    (r = load_prev(t, d, cx, &pv->cid)) != 0) {
		node_fail(d, r);
		goto out;
	}
	if (n > 0 && (d->v = ss_calloc(n, sizeof(*d->v))) == NULL) {
		node_fail(d, SS_ENOMEM);
		goto out;
	}
	d->n = n;
	d->acct += n * sizeof(*d->v);
	for (size_t i = 0; i < n; i++) {
		d->v[i].e.name = names[i];
		d->v[i].e.namelen = strlen(names[i]);
		if ((r = scan_entry(t, d, &d->v[i], cx)) != 0)
			ent_fail(&d->v[i], r);
	}
	if (!d->light)
		prefetch_files(t, d);
	warm(d);
	if (d->haveprev)
		prefetch_prev(t, d, cx);
out:
	free(names);
}

/* ---------- contexts ---------- */

int
ss_sctx_init(struct ss_tree *t, struct ss_sctx *cx, pthread_mutex_t *prlock)
{
	ss_tree_init(&cx->lt);
	if ((cx->dents = ss_malloc(DENTS_BUF)) == NULL)
		return SS_ENOMEM;
	if ((cx->lt.oc = ss_objctx_dup(t->oc)) == NULL)
		return SS_ENOMEM;
	/* one pack reader for all: each caches up to 64 descriptors */
	cx->lt.pr = t->pr;
	cx->lt.prlock = prlock;
	return 0;
}

void
ss_sctx_fini(struct ss_sctx *cx)
{
	free(cx->dents);
	ss_objctx_free(cx->lt.oc);
	ss_tree_release(&cx->lt);
}
