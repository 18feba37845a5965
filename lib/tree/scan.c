/*
 * scan.c: the scanners of snapshot, which run ahead of the walker.
 *
 * A directory to scan is a node.  Scanning it opens it (relative to its
 * parent's descriptor, which stays open until the walker has finished
 * the parent), reads its stat and, unless its inode and ctime say they
 * did not change, its xattrs; loads the previous snapshot's object of the
 * same path; lists and sorts its names; and stats every entry.  For each
 * entry it decides what the walker will do (scan.h, SE_*): a regular file
 * whose (size, inode, mtime, ctime) did not change keeps its previous
 * content and xattrs; a small one that changed is read whole now, checked
 * against a second fstat as the walker would; a symlink, fifo or device
 * whose inode, mtime and ctime did not change keeps its previous target
 * and xattrs.  Each subdirectory becomes a node of its own.
 *
 * Subdirectories wait in a heap ordered by their place in the walk (the
 * list of entry indexes from the root), so the scanners always take the
 * one the walker will reach first; a node is made for one only when it is
 * scanned, so a directory of many subdirectories costs one entry each.
 * The walker takes each node as it reaches it, waiting if a scanner has
 * it, scanning it itself if nobody has.  Scanners stop taking nodes while
 * too many scanned nodes, or too many bytes, wait for the walker.
 *
 * Errors are kept in the node or entry and raised by the walker when it
 * reaches it, so a snapshot fails with the same first error as a walk
 * that did everything in order.  Nothing here touches the catalog except
 * the index lookup of previous directory objects, under the catalog lock.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tree/scan.h"

#define AHEAD_BYTES (4u * 1024 * 1024)
#define NODE_FILE_BYTES (1u * 1024 * 1024)	/* files read per node */
#define DENTS_BUF (64u * 1024)

enum { SN_SCANNING = 1, SN_DONE };

/* A scanning thread's own pack reader, object context and scratch. */
struct sctx {
	struct ss_tree lt;
	uint64_t rapack, rablk;		/* the last block read ahead */
	uint8_t *dents;
	char tbuf[4096];
};

struct ss_scan {
	struct ss_tree *t;
	pthread_mutex_t mu;
	pthread_cond_t work;		/* scanners: a node, or room ahead */
	pthread_cond_t done;		/* the walker: a node was scanned */
	struct hent *heap;		/* subdirectories to scan, walk order */
	size_t nheap, capheap;
	struct ss_snode *all;		/* every live node */
	size_t ahead_bytes;		/* of nodes scanned, not walked yet */
	size_t nfds, max_fds;		/* nodes keeping their descriptor */
	int stop, halted;
	int nthreads;
	pthread_t *th;
	struct sctx *cx;		/* the scanners' */
	struct sctx wcx;		/* the walker's */
};

struct sarg {
	struct ss_scan *sc;
	struct sctx *cx;
};

/* A subdirectory to scan: entry ${i} of the scanned node ${d}. */
struct hent {
	struct ss_snode *d;
	uint32_t i;
};

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

/* unchanged_file(p, st): the content and xattrs of ${p} can be kept. */
static int
unchanged_file(const struct ss_ent *p, const struct stat *st)
{
	return p && p->type == SS_FT_REG &&
	    p->size == (uint64_t)st->st_size && same_ctime(p, st) &&
	    p->mtime_sec == st->st_mtim.tv_sec &&
	    p->mtime_nsec == (uint32_t)st->st_mtim.tv_nsec;
}

/*
 * unchanged_meta(p, type, st): what cannot be read through a descriptor
 * (a symlink's target; the xattrs of symlinks, fifos, devices and
 * directories) is what it was: any change to either changes the ctime.
 */
static int
unchanged_meta(const struct ss_ent *p, uint8_t type, const struct stat *st)
{
	return p && p->type == type && same_ctime(p, st) &&
	    p->mtime_sec == st->st_mtim.tv_sec &&
	    p->mtime_nsec == (uint32_t)st->st_mtim.tv_nsec;
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
 * prefetch(d, se, buf): read the small changed file ${se} whole into
 * ${buf} (its size when the directory was listed), as the walker would:
 * one data region, its xattrs, the same fstat after as before.  Anything
 * else (it changed since, it has holes) leaves it to the walker.
 */
static void
prefetch(struct ss_snode *d, struct ss_sent *se, uint8_t *buf)
{
	struct stat a, b;
	size_t size = (size_t)se->lsize, got = 0;
	int fd;

	se->how = SE_READ;
	fd = openat(d->fd, se->e.name, O_RDONLY | O_NOFOLLOW | O_NOATIME |
	    O_CLOEXEC);
	if (fd < 0 && errno == EPERM)
		fd = openat(d->fd, se->e.name, O_RDONLY | O_NOFOLLOW |
		    O_CLOEXEC);
	if (fd < 0)
		return;
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
	close(fd);
}

/*
 * prefetch_files(d): read the small changed files of ${d} chosen by
 * scan_entry into one buffer, which lives as long as the node: the
 * sealers are done with every file before the walker drains to the
 * directory's object and frees the node.
 */
static void
prefetch_files(struct ss_snode *d)
{
	size_t off = 0;

	if (d->fbytes > 0 && (d->fdata = malloc(d->fbytes)) == NULL)
		d->fbytes = 0;
	d->acct += d->fbytes;
	for (size_t i = 0; i < d->n; i++) {
		struct ss_sent *se = &d->v[i];

		if (se->how != SE_DATA || se->err)
			continue;
		if (se->lsize > 0 && d->fdata == NULL) {
			se->how = SE_READ;	/* no memory: the walker */
			continue;
		}
		prefetch(d, se, d->fdata != NULL ? d->fdata + off : NULL);
		off += (size_t)se->lsize;
	}
}

/*
 * new_child(sc, d, se): (under mu) the node of the subdirectory ${se} of
 * ${d}, about to be scanned; NULL without memory.
 */
static struct ss_snode *
new_child(struct ss_scan *sc, struct ss_snode *d, struct ss_sent *se)
{
	struct ss_snode *c = ss_calloc(1, sizeof(*c));

	if (c == NULL || (c->path = ss_path_join(d->path, se->e.name)) ==
	    NULL || (c->key = ss_calloc(d->klen + 1, sizeof(*c->key))) ==
	    NULL) {
		if (c)
			free(c->path);
		free(c);
		ss_errclear();
		return NULL;
	}
	if (d->klen)
		memcpy(c->key, d->key, d->klen * sizeof(*c->key));
	c->key[d->klen] = (uint32_t)(se - d->v);
	c->klen = d->klen + 1;
	c->parent = d;
	c->pe = se;
	c->fd = -1;
	c->state = SN_SCANNING;
	c->haveloc = se->haveloc;
	c->prevloc = se->prevloc;
	se->child = c;
	c->anext = sc->all;
	if (sc->all)
		sc->all->aprev = c;
	sc->all = c;
	return c;
}

/* special(d, se, name, st, cx): a symlink, fifo or device. */
static int
special(struct ss_snode *d, struct ss_sent *se, const char *name,
    const struct stat *st, struct sctx *cx)
{
	const struct ss_ent *p = se->prev;
	ssize_t n;
	int r;

	if (unchanged_meta(p, se->e.type, st)) {
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
scan_entry(struct ss_scan *sc, struct ss_snode *d, struct ss_sent *se,
    struct sctx *cx)
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
		if (unchanged_file(p, &st)) {
			se->how = SE_REUSE;
			se->e.ckind = p->ckind;
			se->e.cid = p->cid;
			se->e.subtree = p->subtree;
			se->e.xattrs = p->xattrs;
			se->e.xattrslen = p->xattrslen;
		} else if ((uint64_t)st.st_size <= SS_SCAN_FILE_MAX &&
		    d->fbytes + (size_t)st.st_size <= NODE_FILE_BYTES) {
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
	return special(d, se, name, &st, cx);
}

/* ---------- one directory ---------- */

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* list(d, cx, &v, &n): sorted names, "." and ".." left out. */
static int
list(struct ss_snode *d, struct sctx *cx, char ***out, size_t *nout)
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

/* load_prev(sc, d, cx, id): the previous snapshot's object of ${d}. */
static int
load_prev(struct ss_scan *sc, struct ss_snode *d, struct sctx *cx,
    const struct ss_id *id)
{
	struct ss_objrow row;
	char hex[2 * SS_ID_LEN + 1];
	int r;

	if (d->haveloc) {
		row.loc = d->prevloc;
		r = 0;
	} else {
		ss_pipe_catlock(sc->t);
		r = ss_cat_obj_get(sc->t->cat, id, &row);
		ss_pipe_catunlock(sc->t);
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
 * prefetch_prev(sc, d, cx): look up where the previous objects of the
 * subdirectories of ${d} are, and have the kernel start reading them, so
 * that their scans find them in memory.
 */
static void
prefetch_prev(struct ss_scan *sc, struct ss_snode *d, struct sctx *cx)
{
	struct ss_objrow row;

	ss_pipe_catlock(sc->t);
	for (size_t i = 0; i < d->n; i++) {
		struct ss_sent *se = &d->v[i];
		const struct ss_ent *pv = se->prev;

		if (se->how != SE_DIR || se->err || pv == NULL ||
		    pv->type != SS_FT_DIR ||
		    ss_cat_obj_get(sc->t->cat, &pv->cid, &row) != 0)
			continue;
		se->prevloc = row.loc;
		se->haveloc = 1;
	}
	ss_pipe_catunlock(sc->t);
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
		ss_packr_willneed(cx->lt.pr, &se->prevloc);
	}
}

/*
 * open_dir(sc, d): open ${d} in its parent, read its stat and xattrs;
 * 1 if a scanner ran out of descriptors (the walker will do it).
 */
static int
open_dir(struct ss_scan *sc, struct ss_snode *d, int walker)
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
	if (unchanged_meta(pv, SS_FT_DIR, &d->st)) {
		d->xattrs = pv->xattrs;
		d->xattrslen = pv->xattrslen;
	} else if ((r = ss_tree_read_xattrs(d->fd, d->path, &d->xa)) != 0) {
		return strncmp(ss_errmsg(), d->path, strlen(d->path)) ?
		    ss_tree_path_err(r, d->path) : r;
	} else {
		d->xattrs = d->xa.p;
		d->xattrslen = d->xa.len;
	}
	if (d->st.st_dev != sc->t->rootdev || is_skipped(sc->t, d->path)) {
		d->empty = 1;
		close(d->fd);
		d->fd = -1;
	}
	return 0;
}

static void
scan_node(struct ss_scan *sc, struct ss_snode *d, struct sctx *cx,
    int walker)
{
	const struct ss_ent *pv;
	char **names = NULL;
	size_t n = 0;
	int r;

	if (d->parent != NULL && (r = open_dir(sc, d, walker)) != 0) {
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
	    (r = load_prev(sc, d, cx, &pv->cid)) != 0) {
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
		if ((r = scan_entry(sc, d, &d->v[i], cx)) != 0)
			ent_fail(&d->v[i], r);
	}
	prefetch_files(d);
	if (d->haveprev)
		prefetch_prev(sc, d, cx);
out:
	free(names);
}

/* ---------- scheduling ---------- */

/* hent_less(a, b): ${a} comes before ${b} in the walk. */
static int
hent_less(const struct hent *a, const struct hent *b)
{
	const struct ss_snode *x = a->d, *y = b->d;
	size_t n = x->klen < y->klen ? x->klen : y->klen;

	for (size_t i = 0; i < n; i++)
		if (x->key[i] != y->key[i])
			return x->key[i] < y->key[i];
	if (x->klen != y->klen)	/* one is the other's ancestor */
		return x->klen < y->klen ? a->i < y->key[n] :
		    x->key[n] < b->i;
	return a->i < b->i;
}

static void
heap_set(struct ss_scan *sc, size_t i, struct hent h)
{
	sc->heap[i] = h;
	h.d->v[h.i].hpos = (uint32_t)i + 1;
}

static void
heap_up(struct ss_scan *sc, size_t i)
{
	struct hent h = sc->heap[i];

	while (i > 0 && hent_less(&h, &sc->heap[(i - 1) / 2])) {
		heap_set(sc, i, sc->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(sc, i, h);
}

static void
heap_down(struct ss_scan *sc, size_t i)
{
	struct hent h = sc->heap[i];
	size_t k;

	while ((k = 2 * i + 1) < sc->nheap) {
		if (k + 1 < sc->nheap &&
		    hent_less(&sc->heap[k + 1], &sc->heap[k]))
			k++;
		if (!hent_less(&sc->heap[k], &h))
			break;
		heap_set(sc, i, sc->heap[k]);
		i = k;
	}
	heap_set(sc, i, h);
}

/* heap_push(sc, d, i): (under mu) without memory, the walker scans it. */
static void
heap_push(struct ss_scan *sc, struct ss_snode *d, size_t i)
{
	if (sc->nheap >= UINT32_MAX - 1 ||
	    ss_grow(&sc->heap, &sc->capheap, sc->nheap, sizeof(*sc->heap))) {
		ss_errclear();
		return;
	}
	sc->heap[sc->nheap].d = d;
	sc->heap[sc->nheap].i = (uint32_t)i;
	sc->nheap++;
	heap_up(sc, sc->nheap - 1);
}

/* heap_del(sc, se): take the entry ${se} out, if it is in (under mu). */
static void
heap_del(struct ss_scan *sc, struct ss_sent *se)
{
	size_t i = se->hpos;
	struct hent h;

	if (i-- == 0)
		return;
	se->hpos = 0;
	if (i == --sc->nheap)
		return;
	h = sc->heap[sc->nheap];
	heap_set(sc, i, h);
	heap_down(sc, i);
	heap_up(sc, h.d->v[h.i].hpos - 1);
}

/* fd_close(sc, d): (under mu) close the descriptor of ${d}, if open. */
static void
fd_close(struct ss_scan *sc, struct ss_snode *d)
{
	if (d->fd < 0)
		return;
	close(d->fd);
	d->fd = -1;
	if (d->fdheld) {
		d->fdheld = 0;
		sc->nfds--;
		pthread_cond_signal(&sc->work);
	}
}

/*
 * fd_done(sc, d): (under mu) a directory keeps its descriptor while a
 * subdirectory is to be opened in it or the walker is to read a file in
 * it; then it is closed, so that many directories can be scanned ahead.
 */
static void
fd_done(struct ss_scan *sc, struct ss_snode *d)
{
	if (d->kids == 0 && !d->needfd)
		fd_close(sc, d);
}

/* scanned(sc, d): ${d} is done; its children may be scanned (under mu). */
static void
scanned(struct ss_scan *sc, struct ss_snode *d)
{
	d->state = SN_DONE;
	sc->ahead_bytes += d->acct;
	if (d->retry)
		goto out;
	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].how == SE_READ)
			d->needfd = 1;
		if (d->v[i].how == SE_DIR && !d->v[i].err) {
			heap_push(sc, d, i);
			d->kids++;
			pthread_cond_signal(&sc->work);
		}
	}
	if (d->fd >= 0 && !d->fdheld) {
		d->fdheld = 1;
		sc->nfds++;
	}
	fd_done(sc, d);
	if (d->parent != NULL && d->parent->kids > 0) {
		d->parent->kids--;
		fd_done(sc, d->parent);
	}
out:
	pthread_cond_signal(&sc->done);	/* only the walker waits there */
}

void
ss_scan_close(struct ss_tree *t, struct ss_snode *d)
{
	pthread_mutex_lock(&t->scan->mu);
	fd_close(t->scan, d);
	pthread_mutex_unlock(&t->scan->mu);
}

static void *
scanner(void *arg)
{
	struct sarg *a = arg;
	struct ss_scan *sc = a->sc;
	struct sctx *cx = a->cx;
	struct ss_snode *d;
	struct ss_sent *se;

	free(a);
	pthread_mutex_lock(&sc->mu);
	for (;;) {
		while (!sc->stop && (sc->nheap == 0 ||
		    sc->nfds >= sc->max_fds || sc->ahead_bytes >= AHEAD_BYTES))
			pthread_cond_wait(&sc->work, &sc->mu);
		if (sc->stop)
			break;
		se = &sc->heap[0].d->v[sc->heap[0].i];
		d = sc->heap[0].d;
		heap_del(sc, se);
		if ((d = new_child(sc, d, se)) == NULL)
			continue;	/* no memory: the walker will try */
		pthread_mutex_unlock(&sc->mu);
		scan_node(sc, d, cx, 0);
		pthread_mutex_lock(&sc->mu);
		scanned(sc, d);
	}
	pthread_mutex_unlock(&sc->mu);
	return NULL;
}

/*
 * take(t, d, here): the walker waits for ${d} to be scanned, or scans it
 * itself (${here}); the look-ahead it held is freed.
 */
static void
take(struct ss_tree *t, struct ss_snode *d, int here)
{
	struct ss_scan *sc = t->scan;

	/* under mu */
	if (here) {
		d->state = SN_SCANNING;
		pthread_mutex_unlock(&sc->mu);
		scan_node(sc, d, &sc->wcx, 1);
		pthread_mutex_lock(&sc->mu);
		scanned(sc, d);
	}
	if (d->state != SN_DONE) {
		pthread_mutex_unlock(&sc->mu);
		ss_pipe_kick(t);
		pthread_mutex_lock(&sc->mu);
	}
	while (d->state != SN_DONE)
		pthread_cond_wait(&sc->done, &sc->mu);
	sc->ahead_bytes -= d->acct;
	pthread_cond_signal(&sc->work);
}

struct ss_snode *
ss_scan_child(struct ss_tree *t, struct ss_snode *p, struct ss_sent *se)
{
	struct ss_scan *sc = t->scan;
	struct ss_snode *d;
	int here = 0;

	pthread_mutex_lock(&sc->mu);
	if ((d = se->child) == NULL) {
		heap_del(sc, se);
		if ((d = new_child(sc, p, se)) == NULL) {
			pthread_mutex_unlock(&sc->mu);
			return NULL;
		}
		here = 1;
	} else if (d->state == SN_DONE && d->retry) {
		/* a scanner had no descriptor left: do it here */
		d->retry = 0;
		sc->ahead_bytes -= d->acct;
		d->acct = 0;
		here = 1;
	}
	take(t, d, here);
	pthread_mutex_unlock(&sc->mu);
	return d;
}

int
ss_scan_root(struct ss_tree *t, int fd, const char *path,
    const struct ss_ent *prevent, struct ss_snode **out)
{
	struct ss_scan *sc = t->scan;
	struct ss_snode *d = ss_calloc(1, sizeof(*d));
	struct ss_sent *pe = ss_calloc(1, sizeof(*pe));

	*out = NULL;
	if (d == NULL || pe == NULL || (d->path = ss_strdup(path)) == NULL) {
		free(d);
		free(pe);
		close(fd);
		return SS_ENOMEM;
	}
	/* the root's entry: only its previous version is used */
	pe->prev = prevent;
	d->pe = pe;
	d->fd = fd;
	pthread_mutex_lock(&sc->mu);
	d->anext = sc->all;
	if (sc->all)
		sc->all->aprev = d;
	sc->all = d;
	take(t, d, 1);
	pthread_mutex_unlock(&sc->mu);
	*out = d;
	return 0;
}

static void
sent_free(struct ss_sent *se)
{
	ss_buf_free(&se->xa);
	free(se->target);
	free(se->errmsg);
}

void
ss_scan_free(struct ss_tree *t, struct ss_snode *d)
{
	struct ss_scan *sc = t->scan;

	if (d == NULL)
		return;
	pthread_mutex_lock(&sc->mu);
	for (size_t i = 0; i < d->n; i++)
		heap_del(sc, &d->v[i]);
	if (d->aprev)
		d->aprev->anext = d->anext;
	else
		sc->all = d->anext;
	if (d->anext)
		d->anext->aprev = d->aprev;
	pthread_mutex_unlock(&sc->mu);
	for (size_t i = 0; i < d->n; i++)
		sent_free(&d->v[i]);
	if (d->fdata != NULL) {
		ss_cleanse(d->fdata, d->fbytes);
		free(d->fdata);
	}
	free(d->v);
	free(d->names);
	ss_dir_free(&d->prev);
	ss_buf_free(&d->xa);
	free(d->errmsg);
	free(d->path);
	free(d->key);
	if (d->fd >= 0)
		close(d->fd);
	if (d->parent == NULL)
		free(d->pe);
	free(d);
}

/* ---------- start and stop ---------- */

static int
cx_init(struct ss_scan *sc, struct sctx *cx, const char *pooldir)
{
	ss_tree_init(&cx->lt);
	if ((cx->dents = ss_malloc(DENTS_BUF)) == NULL)
		return SS_ENOMEM;
	if ((cx->lt.oc = ss_objctx_dup(sc->t->oc)) == NULL)
		return SS_ENOMEM;
	if (pooldir == NULL) {
		cx->lt.pr = sc->t->pr;	/* the walker's own */
		return 0;
	}
	return ss_packr_open(pooldir, &cx->lt.pr);
}

static void
cx_fini(struct sctx *cx, int ownpr)
{
	free(cx->dents);
	ss_objctx_free(cx->lt.oc);
	if (ownpr)
		ss_packr_free(cx->lt.pr);
	ss_tree_release(&cx->lt);
}

int
ss_scan_start(struct ss_tree *t, int nthreads, const char *pooldir)
{
	struct ss_scan *sc;
	struct rlimit rl;
	int r;

	if (pooldir == NULL)
		nthreads = 0;
	if ((sc = ss_calloc(1, sizeof(*sc))) == NULL)
		return SS_ENOMEM;
	sc->t = t;
	pthread_mutex_init(&sc->mu, NULL);
	pthread_cond_init(&sc->work, NULL);
	pthread_cond_init(&sc->done, NULL);
	t->scan = sc;
	/* half the descriptors for directories scanned ahead */
	sc->max_fds = 512;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur / 2 < sc->max_fds)
		sc->max_fds = rl.rlim_cur > 96 ? (rl.rlim_cur - 64) / 2 : 16;
	if ((r = cx_init(sc, &sc->wcx, NULL)) != 0)
		return r;
	if (nthreads > 0 &&
	    ((sc->cx = ss_calloc((size_t)nthreads, sizeof(*sc->cx))) == NULL ||
	    (sc->th = ss_calloc((size_t)nthreads, sizeof(*sc->th))) == NULL))
		return SS_ENOMEM;
	/* fewer scanners than asked (no memory, no thread) is no error */
	for (int i = 0; i < nthreads; i++) {
		struct sarg *a;

		if (cx_init(sc, &sc->cx[i], pooldir) != 0 ||
		    (a = ss_malloc(sizeof(*a))) == NULL) {
			cx_fini(&sc->cx[i], 1);
			break;
		}
		a->sc = sc;
		a->cx = &sc->cx[i];
		if (pthread_create(&sc->th[i], NULL, scanner, a) != 0) {
			free(a);
			cx_fini(&sc->cx[i], 1);
			break;
		}
		(void)pthread_setname_np(sc->th[i], "snapseal-scan");
		sc->nthreads++;
	}
	ss_errclear();
	return 0;
}

void
ss_scan_halt(struct ss_tree *t)
{
	struct ss_scan *sc = t->scan;

	if (sc == NULL || sc->halted)
		return;
	pthread_mutex_lock(&sc->mu);
	sc->stop = 1;
	pthread_cond_broadcast(&sc->work);
	pthread_mutex_unlock(&sc->mu);
	for (int i = 0; i < sc->nthreads; i++)
		pthread_join(sc->th[i], NULL);
	sc->halted = 1;
}

void
ss_scan_stop(struct ss_tree *t)
{
	struct ss_scan *sc = t->scan;

	if (sc == NULL)
		return;
	ss_scan_halt(t);
	while (sc->all)
		ss_scan_free(t, sc->all);
	for (int i = 0; i < sc->nthreads; i++)
		cx_fini(&sc->cx[i], 1);
	cx_fini(&sc->wcx, 0);
	pthread_mutex_destroy(&sc->mu);
	pthread_cond_destroy(&sc->work);
	pthread_cond_destroy(&sc->done);
	free(sc->cx);
	free(sc->th);
	free(sc->heap);
	free(sc);
	t->scan = NULL;
}
