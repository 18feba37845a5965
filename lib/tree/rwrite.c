/*
 * rwrite.c: the writing side of restore (see rwrite.h).
 *
 * The walker (restore.c) hands each regular file over as jobs: one for a
 * file of at most one chunk (create, write, finish), one per chunk for a
 * file with a file map, whose map the walker has loaded and checked and
 * whose temporary it has created and preallocated.  Small files are
 * gathered into batches of up to RQ_BATCH, so that a worker takes a
 * directory's files at once and workers seldom create and rename in the
 * same directory.  Workers take batches in submission order, which is the
 * order of the walk and close to the order of the packs.  There are more
 * workers than CPUs (writers()): each waits for the disk about as long as
 * it computes.
 *
 * A worker reads the chunk's record with its own pack reader, opens it
 * (checksum, GCM tag, decompression to the exact length, ID) with its own
 * object context, checks its type, that it claims no references and its
 * length, and only then writes it at its offset: no byte of an object is
 * written before the object is authenticated.  The job that completes a
 * file sets its size, owner, mode, xattrs and times and renames it from its
 * temporary name; whoever drops the last reference to a directory (its
 * last file, its last subdirectory, or the walker leaving it) applies the
 * directory's metadata.  After an error, jobs still queued only clean up:
 * their temporaries are unlinked, nothing more is placed.
 *
 * Reference counts are atomic; the lock guards the queue, the counts the
 * walker waits on and the first error.  The walker sleeps only when the
 * queue is full (RQ_MAXJOBS jobs or RQ_MAXBYTES stored bytes), when
 * RQ_MAXDIRS directories are walked but not finished (their descriptors
 * stay open), and at the end; a worker wakes it only once the queue is
 * half empty, so each wake-up is worth a batch of submissions.
 *
 * When the packs are not in the page cache (a read of the walker's or of a
 * worker's had to wait), the walker announces the records it submits
 * (posix_fadvise WILLNEED), ahead of the workers by at most RQ_MAXBYTES,
 * rounded out to blocks of RQ_RA_BLK, each announced once.  The workers
 * read without the kernel's own read-ahead (POSIX_FADV_RANDOM on their
 * descriptors), so the kernel reads what will be read and nothing more: a
 * restore of one file reads that file's records.
 *
 * An ENOSPC is made to land on the file that does not fit: a file with a
 * file map is preallocated by the walker before any of its chunks is
 * queued, and fails there (see preallocate).
 *
 * Finished large files are handed to a thread of their own that starts
 * their write-back (sync_file_range), so that their data reaches the disk
 * while the workers go on, rather than all in the final syncfs.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tree/rwrite.h"

#define RQ_MAXJOBS 256		/* queued or running */
#define RQ_MAXBYTES (64u << 20)	/* stored bytes queued: the read-ahead */
#define RQ_BATCH 32		/* small files handed to a worker at once */
#define RQ_BATCHBYTES (1u << 20)	/* ... or this many stored bytes */
#define RQ_MAXDIRS 64		/* walked, still waiting for their files */
#define RQ_MINTHREADS 4		/* default workers, at least */
#define RQ_MAXTHREADS 16
#define RQ_RA_BLK (256u << 10)	/* read-ahead in blocks of this size */
#define RQ_RA_SEEN 64		/* ... remembering the last ones announced */
#define RQ_WB_MIN (4u << 20)	/* files this large are written back early */
#define RQ_PREALLOC (1u << 20)	/* data runs this large are preallocated */

/* A regular file being written. */
struct rfile {
	struct ss_rdir *dir;
	const struct ss_ent *e;	/* borrowed from dir->d */
	char *path;
	char name[256];
	char tmp[32];
	int fd;			/* -1 until created */
	uint64_t end;		/* end of its last extent */
	atomic_size_t refs;	/* jobs not done + the submitter's hold */
	atomic_int failed;
};

struct rjob {
	struct rfile *f;
	int create;		/* create the temporary first */
	int chunk;		/* write the chunk below */
	struct ss_id id;
	struct ss_loc loc;
	uint64_t off;
	uint32_t len;
	struct rjob *more;	/* the next job of its batch */
	struct rjob *next;	/* the next batch in the queue */
	size_t n;		/* first of a batch: its jobs */
	uint64_t bytes;		/* ... and their stored bytes */
};

/* A thread's own reading state. */
struct rwk {
	struct ss_rq *q;
	struct ss_objctx *oc;
	struct ss_packr *pr;
	struct ss_buf stored, pt;
	uint64_t bytes;		/* plaintext written */
	uint64_t rndpack;	/* the last pack read, and its descriptor, */
	int rndfd;		/* ... told not to read ahead */
	pthread_t th;
	int started;
};

struct ss_rq {
	pthread_mutex_t mu;
	pthread_cond_t work;	/* workers: a batch was queued, or stop */
	pthread_cond_t wake;	/* the walker: see poke_locked */
	struct rjob *head, *tail;	/* batches waiting for a worker */
	size_t nidle;		/* workers waiting on work */
	int waiting;		/* what the walker waits on wake for */
	size_t njobs;		/* queued or running */
	uint64_t qbytes;	/* stored bytes of the queued chunks */
	size_t ndirs;		/* open directories but the target */
	size_t walking;		/* ... of which the walker is inside */
	int stop;
	atomic_int cold;	/* a writer's read waited for the disk */
	atomic_int err;		/* the first error; its detail: */
	char errmsg[8192];
	struct ss_rctx rc;
	struct ss_tree *t;	/* the walker's */
	struct rjob *bhead, *btail;	/* the walker's batch being filled */
	struct rwk self;	/* the walker's own, for SS_RQ_NOW */
	struct rwk *wk;
	int nwk;		/* allocated */
	int nthreads;		/* started (0: everything on the walker) */
	struct {
		uint64_t pack, blk;
	} ra[RQ_RA_SEEN];	/* blocks announced lately (prefetch) */
	size_t ranext;
	/* early write-back of finished large files */
	pthread_t wbth;
	pthread_cond_t wbwork;
	int wbstarted, wbstop;
	int *wbfd;
	size_t nwb, capwb;
};

/* ---------- waking ---------- */

/* What the walker sleeps for (q->waiting). */
enum {
	W_NONE,
	W_ROOM,		/* room in the queue: a worker freed half of it */
	W_DIRS,		/* few enough open directories: half of RQ_MAXDIRS */
	W_END		/* all work done */
};

/* walker_wait(q, what): sleep until poked (q->mu held; recheck after). */
static void
walker_wait(struct ss_rq *q, int what)
{
	q->waiting = what;
	pthread_cond_wait(&q->wake, &q->mu);
}

/* poke_locked(q): wake the walker if what it sleeps for has come. */
static void
poke_locked(struct ss_rq *q)
{
	int ok;

	switch (q->waiting) {
	case W_ROOM:
		ok = q->njobs <= RQ_MAXJOBS / 2 && q->qbytes <= RQ_MAXBYTES / 2;
		break;
	case W_DIRS:
		ok = q->ndirs - q->walking <= RQ_MAXDIRS / 2;
		break;
	case W_END:
		ok = q->njobs == 0 && q->ndirs == 0;
		break;
	default:
		return;
	}
	if (ok || atomic_load(&q->err) != 0) {
		q->waiting = W_NONE;
		pthread_cond_signal(&q->wake);
	}
}

/* ---------- errors ---------- */

/* fail(q, r, path): keep the first error, with its detail. */
static void
fail(struct ss_rq *q, int r, const char *path)
{
	const char *m = ss_errmsg();

	pthread_mutex_lock(&q->mu);
	if (atomic_load(&q->err) == 0) {
		if (path != NULL)
			snprintf(q->errmsg, sizeof(q->errmsg), "%s: %s", path,
			    *m ? m : ss_strerror(r));
		else
			snprintf(q->errmsg, sizeof(q->errmsg), "%s", m);
		atomic_store(&q->err, r);
		poke_locked(q);
	}
	pthread_mutex_unlock(&q->mu);
}

void
ss_rq_fail(struct ss_rq *q, int r)
{
	fail(q, r, NULL);
}

int
ss_rq_failed(struct ss_rq *q)
{
	return atomic_load(&q->err);
}

struct ss_rctx *
ss_rq_ctx(struct ss_rq *q)
{
	return &q->rc;
}

/* ---------- directories ---------- */

static void
dir_free(struct ss_rdir *d)
{
	if (d->fd >= 0)
		close(d->fd);
	ss_dir_free(&d->d);
	free(d->path);
	free(d);
}

/*
 * dir_unref(q, d): drop a reference to ${d}.  The last one finds every
 * entry of the directory placed: apply its metadata (unless the restore
 * failed), close it, and drop its reference to its parent in turn.
 */
static void
dir_unref(struct ss_rq *q, struct ss_rdir *d)
{
	struct ss_rdir *p;
	int r;

	while (d != NULL && atomic_fetch_sub(&d->refs, 1) == 1 && !d->top) {
		if (!ss_rq_failed(q) && (r = ss_rst_apply_meta(&q->rc, d->fd,
		    d->parent->fd, d->name, d->path, d->e)) != 0)
			fail(q, r, d->path);
		p = d->parent;
		dir_free(d);
		pthread_mutex_lock(&q->mu);
		q->ndirs--;
		poke_locked(q);
		pthread_mutex_unlock(&q->mu);
		d = p;
	}
}

void
ss_rq_dir_done(struct ss_rq *q, struct ss_rdir *d)
{
	if (!d->top) {
		pthread_mutex_lock(&q->mu);
		q->walking--;
		pthread_mutex_unlock(&q->mu);
	}
	dir_unref(q, d);
}

int
ss_rq_dir(struct ss_rq *q, struct ss_rdir *parent, int fd, const char *path,
    const char *name, const struct ss_ent *e, struct ss_rdir **out)
{
	struct ss_rdir *d = ss_calloc(1, sizeof(*d));

	*out = NULL;
	if (d == NULL || (d->path = ss_strdup(path)) == NULL) {
		free(d);
		close(fd);
		return SS_ENOMEM;
	}
	d->parent = parent;
	d->fd = fd;
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->e = e;
	atomic_init(&d->refs, 1);
	pthread_mutex_lock(&q->mu);
	if (q->ndirs - q->walking >= RQ_MAXDIRS && q->bhead != NULL) {
		pthread_mutex_unlock(&q->mu);
		ss_rq_flush(q);		/* what they may be waiting for */
		pthread_mutex_lock(&q->mu);
	}
	while (q->ndirs - q->walking >= RQ_MAXDIRS && !ss_rq_failed(q))
		walker_wait(q, W_DIRS);
	q->ndirs++;
	q->walking++;
	pthread_mutex_unlock(&q->mu);
	atomic_fetch_add(&parent->refs, 1);
	*out = d;
	return 0;
}

void
ss_rq_top(struct ss_rq *q, struct ss_rdir *d, int fd, const char *path)
{
	(void)q;
	memset(d, 0, sizeof(*d));
	d->fd = fd;
	d->path = (char *)path;
	d->top = 1;
	atomic_init(&d->refs, 1);
}

/* ---------- early write-back ---------- */

/*
 * writeback(q, fd): have the write-back thread start writing the finished
 * file ${fd} (a duplicate is queued).  Best effort: a failure only leaves
 * the writing to the final syncfs.
 */
static void
writeback(struct ss_rq *q, int fd)
{
	int d;

	if (!q->wbstarted || (d = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0)
		return;
	pthread_mutex_lock(&q->mu);
	if (ss_grow(&q->wbfd, &q->capwb, q->nwb, sizeof(*q->wbfd)) != 0) {
		pthread_mutex_unlock(&q->mu);
		close(d);
		return;
	}
	q->wbfd[q->nwb++] = d;
	pthread_cond_signal(&q->wbwork);
	pthread_mutex_unlock(&q->mu);
}

static void *
wb_main(void *arg)
{
	struct ss_rq *q = arg;
	int fd;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (!q->wbstop && q->nwb == 0)
			pthread_cond_wait(&q->wbwork, &q->mu);
		if (q->nwb == 0)
			break;
		fd = q->wbfd[0];
		memmove(q->wbfd, q->wbfd + 1, --q->nwb * sizeof(*q->wbfd));
		pthread_mutex_unlock(&q->mu);
		/* the call may wait for the device queue: not a worker's */
		(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
		close(fd);
		pthread_mutex_lock(&q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* ---------- files ---------- */

static int
file_create(struct ss_rq *q, struct rfile *f)
{
	ss_rst_tmpname(&q->rc, f->tmp);
	f->fd = openat(f->dir->fd, f->tmp, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (f->fd < 0)
		return ss_err_errno(ss_errno_code(errno), "cannot create");
	return 0;
}

/* file_complete(q, f): size, metadata, sync (rollback), rename. */
static int
file_complete(struct ss_rq *q, struct rfile *f)
{
	const struct ss_ent *e = f->e;
	int r = 0;

	/* bytes past the last extent (or a file with no content) are a hole */
	if (f->end != e->size && ftruncate(f->fd, (off_t)e->size) != 0)
		r = ss_err_errno(ss_errno_code(errno), "cannot set size");
	if (r == 0)
		r = ss_rst_apply_meta(&q->rc, f->fd, f->dir->fd, f->tmp,
		    f->path, e);
	/* a rollback replaces live files: the new one is durable first */
	if (r == 0 && q->rc.sync && fdatasync(f->fd) != 0)
		r = ss_err_errno(ss_errno_code(errno), "cannot sync");
	else if (r == 0 && e->size >= RQ_WB_MIN)
		writeback(q, f->fd);
	if (close(f->fd) != 0 && r == 0)
		r = ss_err_errno(ss_errno_code(errno), "cannot close");
	f->fd = -1;
	if (r == 0)
		r = ss_rst_place(&q->rc, f->dir->fd, f->tmp, f->name, f->path);
	return r;
}

/* file_finish(q, f): the file's last job is done: place it or clean up. */
static void
file_finish(struct ss_rq *q, struct rfile *f)
{
	int r, placed = 0;

	if (!atomic_load(&f->failed) && !ss_rq_failed(q)) {
		if ((r = file_complete(q, f)) != 0)
			fail(q, r, f->path);
		else
			placed = 1;
	}
	if (f->fd >= 0)
		close(f->fd);
	if (!placed && f->tmp[0] != '\0')
		unlinkat(f->dir->fd, f->tmp, 0);
	if (placed)
		ss_crashpoint("restore-file");
	dir_unref(q, f->dir);
	free(f->path);
	free(f);
}

/* file_release(q, f, r): drop a reference; ${r}: the job's result. */
static void
file_release(struct ss_rq *q, struct rfile *f, int r)
{
	if (r != 0) {
		atomic_store(&f->failed, 1);
		fail(q, r, f->path);
	}
	if (atomic_fetch_sub(&f->refs, 1) == 1)
		file_finish(q, f);
}

/* ---------- jobs ---------- */

/*
 * write_chunk(w, f, j): read the chunk's record, open it (which
 * authenticates it), check it is a chunk of the expected length that
 * references nothing, and only then write it at its offset.
 */
static int
write_chunk(struct rwk *w, struct rfile *f, const struct rjob *j)
{
	char hex[2 * SS_ID_LEN + 1];
	uint8_t type;
	int fd, r;

	/*
	 * the walker announces what will be read (prefetch); the kernel's own
	 * read-ahead (up to read_ahead_kb past a record read cold) would
	 * only read what no one needs (the walker's own reader, which also
	 * reads directory objects, keeps it)
	 */
	if (w != &w->q->self && ss_packr_fd(w->pr, j->loc.pack, &fd) == 0 &&
	    (fd != w->rndfd || j->loc.pack != w->rndpack)) {
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
		w->rndfd = fd;
		w->rndpack = j->loc.pack;
	}
	ss_errclear();
	r = ss_packr_read(w->pr, &j->id, &j->loc, &w->stored);
	/* the directory objects may be cached and the chunks not */
	if (ss_packr_cold(w->pr) && !atomic_load_explicit(&w->q->cold,
	    memory_order_relaxed))
		atomic_store(&w->q->cold, 1);
	if (r != 0)
		return r == SS_ENOENT ? SS_ECORRUPT : r;
	if ((r = ss_obj_open(w->oc, &j->id, w->stored.p, w->stored.len, &type,
	    &w->pt)) != 0)
		return r;
	if (type != SS_OT_CHUNK) {
		ss_id_hex(&j->id, hex);
		return ss_err(SS_ECORRUPT, "object %.16s has type %u, expected"
		    " %u", hex, type, SS_OT_CHUNK);
	}
	/*
	 * nrefs, at offset 12 of the header (docs/format.md 5.2), whose
	 * bounds ss_obj_open has checked: a chunk references nothing.
	 */
	if (ss_le32dec(w->stored.p + 12) != 0)
		return ss_err(SS_EAUTH, "a file chunk claims references");
	if (w->pt.len != j->len)
		return ss_err(SS_ECORRUPT, "chunk length does not match");
	return ss_pwrite_all(f->fd, w->pt.p, w->pt.len, j->off);
}

/*
 * job_run(w, j): one job, on a worker or on the walker.  After an error
 * anywhere it only releases its file (which then cleans up).
 */
static void
job_run(struct rwk *w, struct rjob *j)
{
	struct ss_rq *q = w->q;
	struct rfile *f = j->f;
	int r = 0;

	if (!ss_rq_failed(q) && !atomic_load(&f->failed)) {
		if (j->create)
			r = file_create(w->q, f);
		if (r == 0 && j->chunk && (r = write_chunk(w, f, j)) == 0)
			w->bytes += j->len;
	}
	file_release(q, f, r);
	free(j);
}

/*
 * worker(w): run batches.  A batch counts as in flight until everything
 * it set off (placing its files, finishing the directories they emptied)
 * is over, so that ss_rq_wait returns only when all of it is done.
 */
static void *
worker(void *arg)
{
	struct rwk *w = arg;
	struct ss_rq *q = w->q;
	struct rjob *j, *more;
	size_t n;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (!q->stop && q->head == NULL) {
			q->nidle++;
			pthread_cond_wait(&q->work, &q->mu);
			q->nidle--;
		}
		if ((j = q->head) == NULL)
			break;
		if ((q->head = j->next) == NULL)
			q->tail = NULL;
		q->qbytes -= j->bytes;
		n = j->n;
		poke_locked(q);
		pthread_mutex_unlock(&q->mu);
		for (; j != NULL; j = more) {
			more = j->more;
			job_run(w, j);
		}
		pthread_mutex_lock(&q->mu);
		q->njobs -= n;
		poke_locked(q);
	}
	pthread_mutex_unlock(&q->mu);
	ss_buf_wipe(&w->pt);
	ss_buf_free(&w->stored);
	return NULL;
}

/* ---------- submitting ---------- */

/* ra_advise(q, pack, a, b): ask the kernel to start reading [a, b). */
static void
ra_advise(struct ss_rq *q, uint64_t pack, uint64_t a, uint64_t b)
{
	int fd;

	if (ss_packr_fd(q->t->pr, pack, &fd) != 0)
		ss_errclear();	/* the read will say */
	else
		(void)posix_fadvise(fd, (off_t)a, (off_t)(b - a),
		    POSIX_FADV_WILLNEED);
}

/* ra_seen(q, pack, blk): the block was announced lately; else note it. */
static int
ra_seen(struct ss_rq *q, uint64_t pack, uint64_t blk)
{
	for (size_t i = 0; i < RQ_RA_SEEN; i++)
		if (q->ra[i].blk == blk + 1 && q->ra[i].pack == pack)
			return 1;
	q->ra[q->ranext].pack = pack;
	q->ra[q->ranext].blk = blk + 1;	/* 0: empty */
	q->ranext = (q->ranext + 1) % RQ_RA_SEEN;
	return 0;
}

/*
 * prefetch(q, loc): the record at ${loc} will be read: ask the kernel to
 * read the RQ_RA_BLK blocks that hold it, but for those announced lately.
 * The sealers of a snapshot append a directory's small files to a pack in
 * roughly, not exactly, the walk's order, so the blocks of a directory's
 * files are read once each, in requests of at least a block; the records
 * of a large file follow each other and are read in one request each.
 * Nothing is read that is not near a record to be read: a restore of one
 * file reads that file's records (and at most a block around each run).
 */
static void
prefetch(struct ss_rq *q, const struct ss_loc *loc)
{
	uint64_t first = loc->off / RQ_RA_BLK;
	uint64_t last = (loc->off + SS_PACK_RECHDR + loc->len - 1) / RQ_RA_BLK;
	uint64_t run = UINT64_MAX;

	for (uint64_t k = first; k <= last + 1; k++) {
		if (k <= last && !ra_seen(q, loc->pack, k)) {
			if (run == UINT64_MAX)
				run = k;
			continue;
		}
		if (run != UINT64_MAX)
			ra_advise(q, loc->pack, run * RQ_RA_BLK,
			    k * RQ_RA_BLK);
		run = UINT64_MAX;
	}
}

/* enqueue(q, b): queue the batch ${b}, waiting for room. */
static void
enqueue(struct ss_rq *q, struct rjob *b)
{
	pthread_mutex_lock(&q->mu);
	while (!ss_rq_failed(q) && q->head != NULL &&
	    (q->njobs + b->n > RQ_MAXJOBS || q->qbytes >= RQ_MAXBYTES))
		walker_wait(q, W_ROOM);
	q->njobs += b->n;
	q->qbytes += b->bytes;
	if (q->tail)
		q->tail->next = b;
	else
		q->head = b;
	q->tail = b;
	if (q->nidle > 0)
		pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->mu);
}

void
ss_rq_flush(struct ss_rq *q)
{
	struct rjob *b = q->bhead;

	if (b == NULL)
		return;
	q->bhead = q->btail = NULL;
	enqueue(q, b);
}

/*
 * submit(q, j, mode): run a job now, add it to the batch being filled (a
 * small file), or queue it alone (a chunk of a file map, after the batch).
 */
static void
submit(struct ss_rq *q, struct rjob *j, enum ss_rq_mode mode)
{
	atomic_fetch_add(&j->f->refs, 1);
	if (mode == SS_RQ_NOW || q->nthreads == 0) {
		ss_rq_flush(q);
		job_run(&q->self, j);
		return;
	}
	if (j->chunk && (atomic_load_explicit(&q->cold, memory_order_relaxed)
	    || ss_packr_cold(q->t->pr)))
		prefetch(q, &j->loc);
	j->bytes = j->chunk ? j->loc.len : 0;
	j->n = 1;
	if (!j->create) {
		ss_rq_flush(q);
		enqueue(q, j);
		return;
	}
	if (q->bhead == NULL) {
		q->bhead = q->btail = j;
		return;
	}
	q->btail->more = j;
	q->btail = j;
	q->bhead->n++;
	q->bhead->bytes += j->bytes;
	if (q->bhead->n >= RQ_BATCH || q->bhead->bytes >= RQ_BATCHBYTES)
		ss_rq_flush(q);
}

/* locate(q, id, loc): the catalog's location of a chunk. */
static int
locate(struct ss_rq *q, const struct ss_id *id, struct ss_loc *loc)
{
	struct ss_objrow row;
	char hex[2 * SS_ID_LEN + 1];
	int r = ss_cat_obj_get(q->t->cat, id, &row);

	if (r == SS_ENOENT) {
		ss_id_hex(id, hex);
		return ss_err(SS_ECORRUPT, "object %.16s is missing from the"
		    " pool", hex);
	}
	*loc = row.loc;
	return r;
}

/*
 * preallocate(f, v, n): allocate the blocks of each run of adjacent
 * extents before the chunks are written (holes stay holes): the buffered
 * writes then find their blocks instead of reserving them page by page,
 * and the file is laid out in one piece.  Where the file system has no
 * fallocate, nothing.  ENOSPC (or EDQUOT) is the file's error, raised here
 * on the walker before any of its chunks is written: with several writers,
 * a file too large for the space left would otherwise fill it with its
 * first chunks, and which of the files being written at that moment runs
 * out of space first (that file or another) would be a race.
 */
static int
preallocate(struct rfile *f, const struct ss_mext *v, uint32_t n)
{
	uint64_t a, b;

	for (uint32_t i = 0; i < n; i++) {
		a = v[i].off;
		b = a + v[i].len;
		while (i + 1 < n && v[i + 1].off == b)
			b += v[++i].len;
		if (b - a < RQ_PREALLOC ||
		    fallocate(f->fd, 0, (off_t)a, (off_t)(b - a)) == 0)
			continue;
		if (errno == ENOSPC || errno == EDQUOT)
			return ss_err_errno(ss_errno_code(errno), "cannot"
			    " allocate %llu bytes",
			    (unsigned long long)(b - a));
		if (errno == EOPNOTSUPP)
			break;
	}
	return 0;
}

/*
 * submit_map(q, f, mode): load the file map (authenticated, its references
 * checked against its extents), create and preallocate the file, submit a
 * job per extent.
 */
static int
submit_map(struct ss_rq *q, struct rfile *f, enum ss_rq_mode mode)
{
	struct ss_buf map = SS_BUF_INIT;
	struct ss_mext *v = NULL;
	struct ss_id *ids = NULL;
	struct rjob *j;
	uint32_t n = 0;
	int r;

	if ((r = ss_tree_load(q->t, &f->e->cid, SS_OT_FILE, &map)) != 0 ||
	    (r = ss_rst_filemap(&map, f->e, &v, &n)) != 0)
		goto out;
	if ((ids = ss_calloc(n, sizeof(*ids))) == NULL) {
		r = SS_ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < n; i++)
		ids[i] = v[i].id;
	if ((r = ss_tree_check_refs(q->t, ids, n)) != 0 ||
	    (r = file_create(q, f)) != 0)
		goto out;
	f->end = v[n - 1].off + v[n - 1].len;
	if ((r = preallocate(f, v, n)) != 0)
		goto out;
	for (uint32_t i = 0; i < n && !ss_rq_failed(q); i++) {
		if ((j = ss_calloc(1, sizeof(*j))) == NULL) {
			r = SS_ENOMEM;
			break;
		}
		j->f = f;
		j->chunk = 1;
		j->id = v[i].id;
		j->off = v[i].off;
		j->len = v[i].len;
		if ((r = locate(q, &j->id, &j->loc)) != 0) {
			free(j);
			break;
		}
		submit(q, j, mode);
	}
out:
	free(v);
	free(ids);
	ss_buf_wipe(&map);
	return r;
}

/* submit_small(q, f, mode): one job for a file of at most one chunk. */
static int
submit_small(struct ss_rq *q, struct rfile *f, enum ss_rq_mode mode)
{
	const struct ss_ent *e = f->e;
	struct rjob *j = ss_calloc(1, sizeof(*j));
	int r = 0;

	if (j == NULL)
		return SS_ENOMEM;
	j->f = f;
	j->create = 1;
	if (e->ckind == SS_CK_CHUNK) {
		j->chunk = 1;
		j->id = e->cid;
		j->len = (uint32_t)e->size;
		f->end = e->size;
		/* a chunk holds at most SS_OBJ_MAX bytes */
		if (e->size > SS_OBJ_MAX)
			r = ss_err(SS_ECORRUPT, "chunk length does not match");
		else
			r = locate(q, &j->id, &j->loc);
	}
	if (r != 0) {
		free(j);
		return r;
	}
	submit(q, j, mode);
	return 0;
}

int
ss_rq_file(struct ss_rq *q, struct ss_rdir *d, const struct ss_ent *e,
    const char *path, enum ss_rq_mode mode)
{
	struct rfile *f = ss_calloc(1, sizeof(*f));
	int r;

	if (f == NULL || (f->path = ss_strdup(path)) == NULL) {
		free(f);
		return SS_ENOMEM;
	}
	f->dir = d;
	f->e = e;
	f->fd = -1;
	atomic_init(&f->refs, 1);	/* the hold released below */
	atomic_init(&f->failed, 0);
	memcpy(f->name, e->name, e->namelen);
	f->name[e->namelen] = '\0';
	atomic_fetch_add(&d->refs, 1);
	r = e->ckind == SS_CK_FILE ? submit_map(q, f, mode) :
	    submit_small(q, f, mode);
	/* the walker reports its own error, with the path */
	if (r != 0)
		atomic_store(&f->failed, 1);
	file_release(q, f, 0);
	return r;
}

/* ---------- the queue ---------- */

static int
wk_init(struct ss_rq *q, struct rwk *w, const char *pooldir)
{
	w->q = q;
	w->rndfd = -1;
	if ((w->oc = ss_objctx_dup(q->t->oc)) == NULL)
		return SS_ENOMEM;
	return ss_packr_open(pooldir, &w->pr);
}

static int
start_threads(struct ss_rq *q, int n, const char *pooldir)
{
	int r = 0;

	if ((q->wk = ss_calloc((size_t)n, sizeof(*q->wk))) == NULL)
		return SS_ENOMEM;
	q->nwk = n;
	for (int i = 0; i < n && r == 0; i++) {
		if ((r = wk_init(q, &q->wk[i], pooldir)) != 0)
			break;
		if (pthread_create(&q->wk[i].th, NULL, worker, &q->wk[i]) != 0)
			r = ss_err(SS_ENOMEM, "cannot start a restore thread");
		else
			q->wk[i].started = 1;
		q->nthreads = i + 1;
	}
	if (r == 0 && pthread_create(&q->wbth, NULL, wb_main, q) == 0)
		q->wbstarted = 1;
	return r;
}

/*
 * writers(o): how many workers.  They wait for the disk as much as they
 * compute (a cold record read, a write that finds the device queue
 * full), so there are more of them than CPUs: at least RQ_MINTHREADS, or
 * SNAPSEAL_RESTORE_THREADS; none when everything is to run on one thread
 * (o->nthreads == 0: SNAPSEAL_THREADS=0).
 */
static int
writers(const struct ss_restore_opts *o)
{
	const char *e = getenv("SNAPSEAL_RESTORE_THREADS");
	long n = o->nthreads < RQ_MINTHREADS ? RQ_MINTHREADS : o->nthreads;

	if (e != NULL && *e != '\0')
		n = strtol(e, NULL, 10);
	if (o->nthreads <= 0 || n < 0)
		n = 0;
	return (int)(n > RQ_MAXTHREADS ? RQ_MAXTHREADS : n);
}

int
ss_rq_start(struct ss_tree *t, const struct ss_restore_opts *o,
    struct ss_rq **out)
{
	struct ss_rq *q = ss_calloc(1, sizeof(*q));
	int n = writers(o);

	*out = q;
	if (q == NULL)
		return SS_ENOMEM;
	pthread_mutex_init(&q->mu, NULL);
	pthread_mutex_init(&q->rc.warnmu, NULL);
	pthread_cond_init(&q->work, NULL);
	pthread_cond_init(&q->wake, NULL);
	pthread_cond_init(&q->wbwork, NULL);
	atomic_init(&q->err, 0);
	atomic_init(&q->cold, 0);
	q->t = t;
	q->rc.sync = (o->flags & SS_TR_SYNC) != 0;
	q->rc.euid = (int)geteuid();
	q->rc.warn = t->warn;
	q->rc.warnarg = t->warnarg;
	q->rc.tmpbase = ss_random_u64();
	atomic_init(&q->rc.tmpseq, 0);
	q->self.q = q;
	q->self.rndfd = -1;
	q->self.oc = t->oc;
	q->self.pr = t->pr;
	if (n <= 0 || o->pooldir == NULL)
		return 0;
	return start_threads(q, n, o->pooldir);
}

/* drain(q): hand over the last batch and wait until all work is done. */
static void
drain(struct ss_rq *q)
{
	ss_rq_flush(q);
	pthread_mutex_lock(&q->mu);
	while (q->njobs > 0 || q->ndirs > 0)
		walker_wait(q, W_END);
	pthread_mutex_unlock(&q->mu);
}

int
ss_rq_wait(struct ss_rq *q)
{
	int r;

	drain(q);
	if ((r = ss_rq_failed(q)) != 0)
		(void)ss_err(r, "%s", q->errmsg);
	return r;
}

uint64_t
ss_rq_bytes(struct ss_rq *q)
{
	uint64_t b = q->self.bytes;

	for (int i = 0; i < q->nwk; i++)
		b += q->wk[i].bytes;
	return b;
}

void
ss_rq_free(struct ss_rq *q)
{
	if (q == NULL)
		return;
	drain(q);
	pthread_mutex_lock(&q->mu);
	q->stop = 1;
	q->wbstop = 1;
	pthread_cond_broadcast(&q->work);
	pthread_cond_signal(&q->wbwork);
	pthread_mutex_unlock(&q->mu);
	for (int i = 0; i < q->nwk; i++) {
		if (q->wk[i].started)
			pthread_join(q->wk[i].th, NULL);
		ss_objctx_free(q->wk[i].oc);
		ss_packr_free(q->wk[i].pr);
	}
	free(q->wk);
	if (q->wbstarted)
		pthread_join(q->wbth, NULL);
	free(q->wbfd);
	ss_buf_wipe(&q->self.pt);
	ss_buf_free(&q->self.stored);
	pthread_mutex_destroy(&q->mu);
	pthread_mutex_destroy(&q->rc.warnmu);
	pthread_cond_destroy(&q->work);
	pthread_cond_destroy(&q->wake);
	pthread_cond_destroy(&q->wbwork);
	free(q);
}
