/*
 * snap.c: capture a live directory into objects: the walker.
 *
 * The walk is depth-first; the entries of a directory are sorted by name
 * (bytes).  The scanners (scan.c, scanq.c) have listed and stat'ed each
 * directory before the walker gets there, and decided per entry: a regular file
 * whose (size, inode, mtime, ctime) equal those of the same name in the
 * previous snapshot keeps that entry's content and xattrs without being
 * read; a small changed one was read whole already; the walker reads the
 * others.  A file's data regions (SEEK_DATA/SEEK_HOLE: holes are neither
 * read nor stored), read ahead by the reader (sread.c), are cut into
 * chunks by the content-defined chunker, each chunk copied into a buffer
 * of its own that is handed to the sealing pipeline (pipe.c); one chunk
 * covering the whole file is referenced directly, anything else through
 * a file map object.  A file whose size, mtime or ctime moves while it
 * is read is read again, and the snapshot fails with SS_ECHANGED if it
 * keeps changing.
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

#include "tree/rwrite.h"
#include "tree/scan.h"

#define CHANGE_RETRIES 3
#define FEXT_BLOCK 256
#define FMAP_MAXEXT ((SS_OBJ_MAX - 16) / (12 + SS_ID_LEN))
/* ... with a fingerprint each (more extents: a map without them) */
#define FMAP_MAXEXT_FP ((SS_OBJ_MAX - 16) / (12 + SS_ID_LEN + SS_FP_LEN))

_Static_assert(SS_PIPE_BIGBUF >= SS_CHUNK_MAX, "a chunk fits its buffer");

/* The extents of one file, until its map is stored (pointers stable). */
struct fext {
	uint64_t off;
	uint32_t len;
	struct ss_id id;	/* written when the chunk drains */
	uint8_t fp[SS_FP_LEN];	/* written by the sealer (t->fp_on) */
};

struct fblock {
	struct fext v[FEXT_BLOCK];
	struct fblock *next;
};

struct fmap {
	struct ss_ent *e;	/* the file's entry: cid, ckind, subtree */
	uint64_t size;
	struct fblock *head, *tail;
	size_t n;
	int fps;		/* with fingerprints (format 6.2, version 2) */
};

/* Reading one file. */
struct rdfile {
	struct ss_tree *t;
	struct ss_ent *e;
	struct fmap *fm;
	uint64_t size;
	uint8_t *buf;		/* the chunk being read, from its start */
	size_t have;
	int zero;		/* buf[0, have) is all zero, and not copied */
	uint64_t coff;		/* file offset of buf[0] */
	struct ss_chunkst cs;
	/* the previous version's chunks, with fingerprints (or none) */
	struct ss_mext *cand;
	uint32_t ncand, ci;
};

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

/* ---------- file maps ---------- */

static void
fmap_free(void *arg)
{
	struct fmap *m = arg;

	while (m && m->head) {
		struct fblock *b = m->head;

		m->head = b->next;
		free(b);
	}
	free(m);
}

/* fmap_add(m, off, len): a new extent, whose ID is filled in later. */
static struct fext *
fmap_add(struct fmap *m, uint64_t off, uint32_t len)
{
	struct fblock *b = m->tail;
	struct fext *x;

	if (b == NULL || m->n % FEXT_BLOCK == 0) {
		if ((b = ss_calloc(1, sizeof(*b))) == NULL)
			return NULL;
		if (m->tail)
			m->tail->next = b;
		else
			m->head = b;
		m->tail = b;
	}
	x = &b->v[m->n % FEXT_BLOCK];
	x->off = off;
	x->len = len;
	m->n++;
	return x;
}

/*
 * orphan(t, id): an object a failed attempt stored, which step 7 of the
 * snapshot drops again if nothing ends up referencing it (t->newids).
 */
static int
orphan(struct ss_tree *t, const struct ss_id *id)
{
	if (ss_grow(&t->newids, &t->capnew, t->nnew, sizeof(*t->newids)))
		return SS_ENOMEM;
	t->newids[t->nnew++] = *id;
	return 0;
}

/* orphans(t, m, e): the chunks of a failed attempt (drained). */
static int
orphans(struct ss_tree *t, const struct fmap *m, const struct ss_ent *e)
{
	size_t i = 0;
	int r = 0;

	if (e->ckind == SS_CK_CHUNK)
		r = orphan(t, &e->cid);
	for (struct fblock *b = m ? m->head : NULL; b && r == 0; b = b->next)
		for (size_t k = 0; k < FEXT_BLOCK && i < m->n && r == 0;
		    k++, i++)
			r = orphan(t, &b->v[k].id);
	return r;
}

/* fmap_done(t, arg): every chunk drained: store the file map. */
static int
fmap_done(struct ss_tree *t, void *arg)
{
	struct fmap *m = arg;
	struct ss_buf *b = ss_pipe_scratch(t);
	struct ss_id *refs = ss_calloc(m->n, sizeof(*refs));
	size_t i = 0;
	int r = 0;

	if (refs == NULL) {
		fmap_free(m);
		return SS_ENOMEM;
	}
	r |= ss_buf_put_u8(b, m->fps ? SS_FILE_VERSION_FP : SS_FILE_VERSION);
	r |= ss_buf_put_u64(b, m->size);
	r |= ss_buf_put_u32(b, (uint32_t)m->n);
	for (struct fblock *k = m->head; k; k = k->next)
		for (size_t j = 0; j < FEXT_BLOCK && i < m->n; j++, i++) {
			r |= ss_buf_put_u64(b, k->v[j].off);
			r |= ss_buf_put_u32(b, k->v[j].len);
			r |= ss_buf_put(b, k->v[j].id.b, SS_ID_LEN);
			if (m->fps)
				r |= ss_buf_put(b, k->v[j].fp, SS_FP_LEN);
			refs[i] = k->v[j].id;
		}
	if (r == 0)
		r = ss_pipe_store(t, SS_OT_FILE, b->p, b->len, refs,
		    (uint32_t)m->n, &m->e->cid, &m->e->subtree);
	else
		r = SS_ENOMEM;
	free(refs);
	fmap_free(m);
	return r;
}

/* ---------- reading a file ---------- */

/*
 * find_cand(rd, len, c): the previous version's chunk at rd->coff, if it
 * has ${len} bytes and a fingerprint (the candidates are in file order,
 * and so are the chunks cut).
 */
static const struct ss_fpcand *
find_cand(struct rdfile *rd, size_t len, struct ss_fpcand *c)
{
	const struct ss_mext *x;

	while (rd->ci < rd->ncand && rd->cand[rd->ci].off < rd->coff)
		rd->ci++;
	if (rd->ci == rd->ncand)
		return NULL;
	x = &rd->cand[rd->ci];
	if (x->off != rd->coff || x->len != len)
		return NULL;
	c->id = x->id;
	c->len = x->len;
	memcpy(c->fp, x->fp, SS_FP_LEN);
	return c;
}

/* emit(rd, len, used): the first ${len} bytes of rd->buf are a chunk. */
static int
emit(struct rdfile *rd, size_t len, size_t used)
{
	const struct ss_fpcand *cand = NULL;
	struct ss_fpcand c;
	struct ss_id *idout;
	uint8_t *fpout = NULL;
	struct fext *x;
	uint8_t *buf = rd->buf;

	rd->buf = NULL;
	if (rd->zero) {
		/* a run of zeros: sealed from the pipeline's zero pages */
		ss_pipe_putbuf(rd->t, buf, 0);
		buf = ss_pipe_zeros(rd->t);
		used = 0;
	}
	if (rd->fm == NULL && rd->coff == 0 && len == rd->size) {
		rd->e->ckind = SS_CK_CHUNK;
		idout = &rd->e->cid;
	} else {
		if (rd->fm == NULL &&
		    (rd->fm = ss_calloc(1, sizeof(*rd->fm))) == NULL) {
			if (used > 0)
				ss_pipe_putbuf(rd->t, buf, used);
			return SS_ENOMEM;
		}
		if ((x = fmap_add(rd->fm, rd->coff, (uint32_t)len)) == NULL) {
			if (used > 0)
				ss_pipe_putbuf(rd->t, buf, used);
			return SS_ENOMEM;
		}
		idout = &x->id;
		if (rd->t->fp_on) {
			fpout = x->fp;
			cand = find_cand(rd, len, &c);
		}
	}
	rd->coff += len;
	return ss_pipe_chunk(rd->t, buf, len, used, idout, &rd->e->subtree,
	    fpout, cand);
}

static int
all_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/*
 * feed(rd, p, n): ${n} bytes of the region: copy them into the buffers of
 * the chunks they belong to, handing each chunk over once it is cut.  A
 * chunk is copied only once it holds something other than zeros.
 */
static int
feed(struct rdfile *rd, const uint8_t *p, size_t n)
{
	size_t used;
	int r;

	while (n > 0) {
		if (rd->buf == NULL && (rd->buf = ss_pipe_bigbuf(rd->t)) == NULL)
			return SS_ENOMEM;
		if (rd->have == 0)
			rd->zero = 1;
		used = ss_chunker_feed(rd->t->ch, &rd->cs, p, n);
		if (rd->zero && !all_zero(p, used)) {
			memset(rd->buf, 0, rd->have);
			rd->zero = 0;
		}
		if (!rd->zero)
			memcpy(rd->buf + rd->have, p, used);
		rd->have += used;
		p += used;
		n -= used;
		if (rd->cs.cut) {
			if ((r = emit(rd, rd->have, rd->have)) != 0)
				return r;
			rd->have = 0;
			ss_chunker_begin(&rd->cs);
		}
	}
	return 0;
}

/*
 * read_region(rd, fd, off, end): chunk the data region [off, end), read
 * ahead by the reader.  A region that ends early (file shrank) is
 * SS_ECHANGED.
 */
static int
read_region(struct rdfile *rd, int fd, uint64_t off, uint64_t end)
{
	struct ss_sread *sr = ss_pipe_reader(rd->t);
	const uint8_t *p;
	size_t n;
	int r;

	rd->coff = off;
	rd->have = 0;
	ss_chunker_begin(&rd->cs);
	if ((r = ss_sread_begin(sr, fd, off, end)) != 0)
		return r;
	while ((r = ss_sread_next(sr, &p, &n)) == 0 && n > 0) {
		rd->t->bytes_read += n;
		r = feed(rd, p, n);
		ss_sread_release(sr);
		if (r != 0)
			break;
	}
	ss_sread_end(sr);
	if (r == 0 && rd->have > 0)
		r = emit(rd, rd->have, rd->have);
	return r;
}

static int
read_extents(struct rdfile *rd, int fd)
{
	uint64_t off = 0, size = rd->size;
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
		if ((r = read_region(rd, fd, (uint64_t)data,
		    (uint64_t)hole)) != 0)
			return r;
		off = (uint64_t)hole;
	}
	return 0;
}

/* attempt(rd, fd, se, path): read the open file once. */
static int
attempt(struct rdfile *rd, int fd, struct ss_sent *se, const char *path)
{
	struct stat a, b;
	int r;

	if (fstat(fd, &a) != 0 || !S_ISREG(a.st_mode))
		return ss_err(SS_ECHANGED, "replaced while being read");
	rd->size = (uint64_t)a.st_size;
	if ((r = read_extents(rd, fd)) != 0)
		return r;
	if ((r = ss_tree_read_xattrs(fd, path, &se->xa)) != 0)
		return r;
	if (fstat(fd, &b) != 0 || !ss_snap_same_stat(&a, &b))
		return ss_err(SS_ECHANGED, "file changed while being read");
	if (rd->fm != NULL && rd->fm->n > FMAP_MAXEXT)
		return ss_err(SS_ERANGE, "file has too many chunks");
	ss_snap_fill_stat(&se->e, &a);
	se->e.xattrs = se->xa.p;
	se->e.xattrslen = se->xa.len;
	return 0;
}

/*
 * load_cands(t, prev, rd): the chunks of the previous version ${prev} of
 * the file, if its file map has fingerprints.  Best effort: without them
 * every chunk's ID is computed.
 */
static void
load_cands(struct ss_tree *t, const struct ss_ent *prev, struct rdfile *rd)
{
	struct ss_buf map = SS_BUF_INIT;
	struct ss_objrow row;
	int r;

	ss_pipe_catlock(t);	/* the sealers share the catalog */
	r = ss_cat_obj_get(t->cat, &prev->cid, &row);
	ss_pipe_catunlock(t);
	if (r == 0 && ss_tree_load_at(t, &prev->cid, &row.loc, SS_OT_FILE,
	    &map) == 0 && ss_rst_filemap(&map, prev, &rd->cand,
	    &rd->ncand) == 0 && !rd->cand[0].hasfp) {
		free(rd->cand);
		rd->cand = NULL;
		rd->ncand = 0;
	}
	ss_buf_wipe(&map);
	ss_errclear();
}

/*
 * capture_file(t, d, se): read one regular file, again while it changes.
 * What a failed attempt stored is drained, then noted as possibly
 * orphaned (step 7 of the snapshot drops it if nothing references it).
 */
static int
capture_file(struct ss_tree *t, struct ss_snode *d, struct ss_sent *se)
{
	struct rdfile rd;
	char *path = ss_path_join(d->path, se->e.name);
	int fd, r = 0;

	if (path == NULL)
		return SS_ENOMEM;
	memset(&rd, 0, sizeof(rd));
	rd.t = t;
	rd.e = &se->e;
	if (t->fp_on && se->prev != NULL && se->prev->ckind == SS_CK_FILE)
		load_cands(t, se->prev, &rd);
	for (int n = 0; n < CHANGE_RETRIES; n++) {
		if (n > 0) {
			if ((r = ss_pipe_drain(t)) != 0 ||
			    (r = orphans(t, rd.fm, &se->e)) != 0)
				break;
			fmap_free(rd.fm);
			rd.fm = NULL;
		}
		se->e.ckind = SS_CK_NONE;
		se->e.subtree = 0;
		rd.ci = 0;
		fd = openat(d->fd, se->e.name, O_RDONLY | O_NOFOLLOW |
		    O_NOATIME | O_CLOEXEC);
		if (fd < 0 && errno == EPERM)
			fd = openat(d->fd, se->e.name, O_RDONLY | O_NOFOLLOW |
			    O_CLOEXEC);
		if (fd < 0) {
			r = ss_err_errno(ss_errno_code(errno), "cannot open");
			break;
		}
		r = attempt(&rd, fd, se, path);
		close(fd);
		ss_pipe_putbuf(t, rd.buf, rd.zero ? 0 : rd.have);
		rd.buf = NULL;
		if (r != SS_ECHANGED)
			break;
	}
	if (r == 0 && rd.fm != NULL) {
		se->e.ckind = SS_CK_FILE;
		rd.fm->e = &se->e;
		rd.fm->size = rd.size;
		rd.fm->fps = t->fp_on && rd.fm->n <= FMAP_MAXEXT_FP;
		r = ss_pipe_mark(t, fmap_done, fmap_free, rd.fm, 0);
	} else if (rd.fm != NULL)
		ss_pipe_defer_free(t, fmap_free, rd.fm);	/* jobs point in */
	if (r != 0)
		r = ss_tree_path_err(r, path);
	free(rd.cand);
	free(path);
	return r;
}

/*
 * store_data(t, se): a file a scanner read whole: one chunk, or none.  Its
 * bytes stay in the node until the directory is stored.
 */
static int
store_data(struct ss_tree *t, struct ss_sent *se)
{
	if (se->e.size == 0) {
		se->e.ckind = SS_CK_NONE;
		return 0;
	}
	t->bytes_read += se->e.size;
	se->e.ckind = SS_CK_CHUNK;
	return ss_pipe_chunk(t, se->data, se->e.size, 0, &se->e.cid,
	    &se->e.subtree, NULL, NULL);
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
	struct ss_id *refs = NULL, id;
	uint64_t sum = 0, len = 0;
	size_t cnt = 0, nrefs = 0;
	int r;

	if ((refs = ss_calloc(d->n + 1, sizeof(*refs))) == NULL) {
		r = SS_ENOMEM;
		goto out;
	}
	if ((r = ss_buf_put_u8(b, SS_DIR_VERSION)) != 0 ||
	    (r = ss_buf_put_u32(b, 0)) != 0)
		goto out;
	for (size_t i = 0; i < d->n; i++) {
		const struct ss_ent *e = &d->v[i].e;

		if (e->type == 0)	/* left out */
			continue;
		if ((r = ss_ent_encode(e, b)) != 0)
			goto out;
		if (e->ckind != SS_CK_NONE)
			refs[nrefs++] = e->cid;
		sum += e->subtree;
		cnt++;
	}
	if (b->len > SS_OBJ_MAX) {
		r = ss_tree_path_err(ss_err(SS_ERANGE, "directory too large"),
		    d->path);
		goto out;
	}
	ss_le32enc(b->p + 1, (uint32_t)cnt);
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
		}
		switch (se->how) {
		case SE_SOCKET:
			twarn(t, "skipping socket", d->path, se->e.name);
			break;
		case SE_REUSE:
			t->reused++;
			break;
		case SE_DATA:
			r = store_data(t, se);
			break;
		case SE_READ:
			r = capture_file(t, d, se);
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
	const struct ss_ent *pe;
	struct ss_snode *top;
	struct ss_ent e;
	struct stat st;
	int fd, r;

	*refer = 0;
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
	if ((r = ss_buf_put_u8(&b, SS_DIR_VERSION)) != 0 ||
	    (r = ss_buf_put_u32(&b, 1)) != 0 ||
	    (r = ss_ent_encode(&e, &b)) != 0)
		goto out;
	*refer = e.subtree;
	r = ss_pipe_store(t, SS_OT_DIR, b.p, b.len, &e.cid, 1, root, refer);
out:
	if (r != 0)
		ss_scan_halt(t);	/* nothing may use prevroot any more */
	ss_dir_free(&prevroot);
	ss_buf_free(&b);
	ss_buf_free(&xa);
	return r;
}
