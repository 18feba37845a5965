/*
 * sfile.c: the walker's reading of one regular file (snap.c walks):
 * its data regions cut into chunks and handed to the pipeline, its file
 * map, the chunks of its previous version that a chunk may keep the ID
 * of (their fingerprints, docs/format.md 6.2), and a small file a
 * scanner read whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
	uint64_t ino;		/* the inode open, as attempt found it */
};

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
		if (rd->zero && !ss_all_zero(p, used)) {
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
		return ss_err(SS_ECHANGED, "file changed while being read"
		    " (no longer a regular file)");
	rd->ino = (uint64_t)a.st_ino;
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
 * ss_snap_capture_file(t, d, se): read one regular file, again while it changes.
 * What a failed attempt stored is drained, then noted as possibly
 * orphaned (step 7 of the snapshot drops it if nothing references it).
 */
int
ss_snap_capture_file(struct ss_tree *t, struct ss_snode *d, struct ss_sent *se)
{
	struct rdfile rd;
	char *path = ss_path_join(d->path, se->e.name);
	uint64_t ino = se->e.ino;	/* the file a scanner read ahead */
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
		rd.ino = 0;
		fd = ss_snap_open(d->fd, se->e.name);
		if (fd < 0) {
			r = ss_err_errno(ss_errno_code(errno), "cannot open");
			break;
		}
		r = attempt(&rd, fd, se, path);
		/* a scanner read it ahead: drop that, if it is still the file */
		if (se->pfhow == SS_RA_DROP && rd.ino == ino)
			(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
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
 * inline_fits(d, n): ${n} more bytes of a file may go into the object of
 * ${d} (counted if so).  The walker decides in entry order, so the same
 * directory gets the same object.
 */
static int
inline_fits(struct ss_snode *d, uint64_t n)
{
	if (n == 0 || n > SS_INLINE_MAX || d->inl + n > SS_INLINE_DIR_MAX)
		return 0;
	d->inl += (size_t)n;
	return 1;
}

/*
 * ss_snap_store_data(t, d, se): a file a scanner read whole: inline in the
 * directory's object, one chunk, or nothing.  Its bytes stay in the node
 * until the directory is stored.
 */
int
ss_snap_store_data(struct ss_tree *t, struct ss_snode *d, struct ss_sent *se)
{
	if (se->e.size == 0) {
		se->e.ckind = SS_CK_NONE;
		return 0;
	}
	t->bytes_read += se->e.size;
	se->e.subtree = 0;
	if (inline_fits(d, se->e.size)) {
		se->e.ckind = SS_CK_INLINE;
		se->e.data = se->data;
		return 0;
	}
	se->e.ckind = SS_CK_CHUNK;
	return ss_pipe_chunk(t, se->data, se->e.size, 0, &se->e.cid,
	    &se->e.subtree, NULL, NULL);
}

/*
 * ss_snap_reuse_inline(t, d, se): an unchanged file whose bytes were in
 * the previous object of ${d}: kept there while they fit, else they become
 * a chunk (the previous object, which they are read from, lives as long
 * as the node).
 */
int
ss_snap_reuse_inline(struct ss_tree *t, struct ss_snode *d,
    struct ss_sent *se)
{
	if (inline_fits(d, se->e.size))
		return 0;
	se->e.ckind = SS_CK_CHUNK;
	se->e.subtree = 0;
	/* borrowed (used 0): the sealer only reads it */
	return ss_pipe_chunk(t, (uint8_t *)(uintptr_t)se->e.data,
	    (size_t)se->e.size, 0, &se->e.cid, &se->e.subtree, NULL, NULL);
}
