/*
 * rwrite.c: the writing side of restore (see rwrite.h): the queue, what
 * the walker submits to it, and the directories.  The workers that run
 * the jobs are in rjob.c; what the two share is in rq.h.
 *
 * The walker (restore.c) hands each regular file over as jobs: one for a
 * file of at most one chunk (create, write, finish), one per chunk for a
 * file with a file map, whose map the walker has loaded and checked and
 * whose temporary it has created and preallocated.  Small files are
 * gathered into batches of up to RQ_BATCH, so that a worker takes a
 * directory's files at once and workers seldom create and rename in the
 * same directory.  The chunks of a file map go into segments of up to
 * RQ_SEGJOBS, queued apart: a worker runs a segment's chunks in the
 * file's order.  Workers take batches in submission order, which is the
 * order of the walk and close to the order of the packs, and segments
 * before batches while fewer than half of them run segments (or when no
 * batch waits): a large file is written by one or two workers while the
 * others write the small files after it, its reads and direct writes
 * waiting for the disk while they use the CPUs.  There are more workers
 * than CPUs (writers()): each waits for the disk about as long as it
 * computes.
 *
 * Reference counts are atomic; the lock guards the queues, the counts the
 * walker waits on and the first error.  The walker sleeps only when the
 * batches are full (RQ_MAXJOBS jobs or RQ_MAXBYTES stored bytes), when
 * the segments queued hold RQ_MAXSEGJOBS jobs, when RQ_MAXDIRS
 * directories are walked but not finished (their descriptors stay open),
 * and at the end; a worker wakes it only once what it waits on is half
 * empty, so each wake-up is worth a batch of submissions.
 *
 * When the packs are not in the page cache (a read of the walker's or of a
 * worker's had to wait), the walker announces the records of the batches
 * it submits (posix_fadvise WILLNEED), ahead of the workers by at most
 * RQ_MAXBYTES, rounded out to blocks of RQ_RA_BLK, each announced once;
 * the worker that runs a segment announces its records itself, up to
 * RQ_SEG_RA ahead (rjob.c).  The workers read without the kernel's own
 * read-ahead (POSIX_FADV_RANDOM on their descriptors), so the kernel reads
 * what will be read and nothing more: a restore of one file reads that
 * file's records.
 *
 * An ENOSPC is made to land on the file that does not fit: a file with a
 * file map is preallocated by the walker before any of its chunks is
 * queued, and fails there (see preallocate).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tree/rq.h"

#define RQ_MAXJOBS 256		/* queued or running */
#define RQ_MAXBYTES (64u << 20)	/* stored bytes queued: the read-ahead */
#define RQ_BATCH 32		/* small files handed to a worker at once */
#define RQ_BATCHBYTES (1u << 20)	/* ... or this many stored bytes */
#define RQ_MAXDIRS 64		/* walked, still waiting for their files */
#define RQ_MINTHREADS 4		/* default workers, at least */
#define RQ_MAXTHREADS 16
#define RQ_PREALLOC (1u << 20)	/* data runs this large are preallocated */
#define RQ_MAXSEGJOBS 8192	/* jobs in segments queued, not yet taken */

/* ---------- waking ---------- */

/* What the walker sleeps for (q->waiting). */
enum {
	W_NONE,
	W_ROOM,		/* room in the queue: a worker freed half of it */
	W_DIRS,		/* few enough open directories: half of RQ_MAXDIRS */
	W_SEGS,		/* room for segments: half of RQ_MAXSEGJOBS */
	W_END		/* all work done */
};

/* walker_wait(q, what): sleep until poked (q->mu held; recheck after). */
static void
walker_wait(struct ss_rq *q, int what)
{
	q->waiting = what;
	pthread_cond_wait(&q->wake, &q->mu);
}

void
ss_rqi_poke_locked(struct ss_rq *q)
{
	int ok;

	switch (q->waiting) {
	case W_ROOM:
		ok = q->njobs <= RQ_MAXJOBS / 2 && q->qbytes <= RQ_MAXBYTES / 2;
		break;
	case W_DIRS:
		ok = q->ndirs - q->walking <= RQ_MAXDIRS / 2;
		break;
	case W_SEGS:
		ok = q->segjobs <= RQ_MAXSEGJOBS / 2;
		break;
	case W_END:
		ok = q->njobs == 0 && q->ndirs == 0 && q->segjobs == 0 &&
		    q->nsegrun == 0;
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

void
ss_rqi_fail(struct ss_rq *q, int r, const char *path)
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
		ss_rqi_poke_locked(q);
	}
	pthread_mutex_unlock(&q->mu);
}

void
ss_rq_fail(struct ss_rq *q, int r)
{
	ss_rqi_fail(q, r, NULL);
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

void
ss_rqi_dir_unref(struct ss_rq *q, struct ss_rdir *d)
{
	struct ss_rdir *p;
	int r;

	while (d != NULL && atomic_fetch_sub(&d->refs, 1) == 1 && !d->top) {
		if (!ss_rq_failed(q) && (r = ss_rst_apply_meta(&q->rc, d->fd,
		    d->parent->fd, d->name, d->path, d->e)) != 0)
			ss_rqi_fail(q, r, d->path);
		p = d->parent;
		dir_free(d);
		pthread_mutex_lock(&q->mu);
		q->ndirs--;
		ss_rqi_poke_locked(q);
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
	ss_rqi_dir_unref(q, d);
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

/* ---------- submitting ---------- */

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
			ss_packr_advise(q->t->pr, loc->pack, run * RQ_RA_BLK,
			    (k - run) * RQ_RA_BLK, POSIX_FADV_WILLNEED);
		run = UINT64_MAX;
	}
}

/*
 * no_room(q, b, seg): the batch (or segment) ${b} must wait: RQ_MAXJOBS
 * jobs or RQ_MAXBYTES stored bytes are queued in batches (RQ_MAXSEGJOBS
 * jobs in segments), and the queue is not empty (q->mu held).
 */
static int
no_room(struct ss_rq *q, const struct rjob *b, int seg)
{
	if (seg)
		return q->shead != NULL && q->segjobs + b->n > RQ_MAXSEGJOBS;
	return q->head != NULL && (q->njobs + b->n > RQ_MAXJOBS ||
	    q->qbytes >= RQ_MAXBYTES);
}

/*
 * enqueue(q, b, seg): queue the batch ${b}, or the segment (chunks of a
 * file, in the file's order), waiting for room.
 */
static void
enqueue(struct ss_rq *q, struct rjob *b, int seg)
{
	struct rjob **head = seg ? &q->shead : &q->head;
	struct rjob **tail = seg ? &q->stail : &q->tail;

	pthread_mutex_lock(&q->mu);
	while (!ss_rq_failed(q) && no_room(q, b, seg))
		walker_wait(q, seg ? W_SEGS : W_ROOM);
	if (seg) {
		q->segjobs += b->n;
	} else {
		q->njobs += b->n;
		q->qbytes += b->bytes;
	}
	if (*tail)
		(*tail)->next = b;
	else
		*head = b;
	*tail = b;
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
	enqueue(q, b, 0);
}

/*
 * submit(q, j, mode): run a job now, or add it to the batch being filled
 * (a small file; the chunks of a file map go in segments).
 */
static void
submit(struct ss_rq *q, struct rjob *j, enum ss_rq_mode mode)
{
	atomic_fetch_add(&j->f->refs, 1);
	if (mode == SS_RQ_NOW || q->nthreads == 0) {
		ss_rq_flush(q);
		ss_rqi_job_run(&q->self, j);
		return;
	}
	if (j->chunk && (atomic_load_explicit(&q->cold, memory_order_relaxed)
	    || ss_packr_cold(q->t->pr)))
		prefetch(q, &j->loc);
	j->bytes = j->chunk ? j->loc.len : 0;
	j->n = 1;
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
		ss_rqi_run(v, n, &i, &a, &b);
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

/* map_job(q, f, x, &j): the job of the extent ${x} of ${f}, located. */
static int
map_job(struct ss_rq *q, struct rfile *f, const struct ss_mext *x,
    struct rjob **out)
{
	struct rjob *j = ss_calloc(1, sizeof(*j));
	int r;

	*out = NULL;
	if (j == NULL)
		return SS_ENOMEM;
	j->f = f;
	j->chunk = 1;
	j->id = x->id;
	j->off = x->off;
	j->len = x->len;
	if ((r = locate(q, &j->id, &j->loc)) != 0) {
		free(j);
		return r;
	}
	*out = j;
	return 0;
}

/*
 * submit_segments(q, f, v, n): the chunks ${v} of a file map as segments
 * of up to RQ_SEGJOBS jobs, each run by one worker in the file's order
 * (ss_rqi_worker): the walker goes on with the files after a large one
 * while it is written, instead of waiting until its last chunk is queued,
 * and the small files are written while the large one is (with both
 * CPUs), rather than after it (with the disk idle).
 */
static int
submit_segments(struct ss_rq *q, struct rfile *f, const struct ss_mext *v,
    uint32_t n)
{
	struct rjob *seg = NULL, *last = NULL, *j;
	int r = 0;

	/* a segment's reader announces its records when the packs are cold */
	if (ss_packr_cold(q->t->pr))
		atomic_store(&q->cold, 1);
	for (uint32_t i = 0; i < n && !ss_rq_failed(q); i++) {
		if ((r = map_job(q, f, &v[i], &j)) != 0)
			break;
		atomic_fetch_add(&f->refs, 1);
		if (seg == NULL)
			seg = j;
		else
			last->more = j;
		last = j;
		if (++seg->n == RQ_SEGJOBS) {
			enqueue(q, seg, 1);
			seg = NULL;
		}
	}
	if (seg != NULL && r == 0) {
		enqueue(q, seg, 1);
		seg = NULL;
	}
	for (; seg != NULL; seg = j) {	/* not queued: only released */
		j = seg->more;
		ss_rqi_file_release(q, f, 0);
		free(seg);
	}
	return r;
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
	    (r = ss_rqi_file_create(q, f)) != 0)
		goto out;
	f->end = v[n - 1].off + v[n - 1].len;
	if ((r = preallocate(f, v, n)) != 0 ||
	    (r = ss_rqi_dio_open(f, v, n)) != 0)
		goto out;
	if (mode == SS_RQ_ASYNC && q->nthreads > 0) {
		r = submit_segments(q, f, v, n);
		goto out;
	}
	for (uint32_t i = 0; i < n && !ss_rq_failed(q); i++) {
		if ((r = map_job(q, f, &v[i], &j)) != 0)
			break;
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
	} else if (e->ckind == SS_CK_INLINE) {
		/* in the directory's object, authenticated with it */
		j->inl = e->data;
		j->len = (uint32_t)e->size;
		f->end = e->size;
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
	ss_rqi_file_release(q, f, 0);
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
		if (pthread_create(&q->wk[i].th, NULL, ss_rqi_worker,
		    &q->wk[i]) != 0)
			r = ss_err(SS_ENOMEM, "cannot start a restore thread");
		else
			q->wk[i].started = 1;
		q->nthreads = i + 1;
	}
	if (r == 0 && pthread_create(&q->wbth, NULL, ss_rqi_wb_main, q) == 0)
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
	q->maxsegrun = n / 2 > 1 ? (size_t)n / 2 : 1;
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
	while (q->njobs > 0 || q->ndirs > 0 || q->segjobs > 0 ||
	    q->nsegrun > 0)
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
	ss_rqi_wk_wipe(&q->self);
	ss_buf_free(&q->self.stored);
	pthread_mutex_destroy(&q->mu);
	pthread_mutex_destroy(&q->rc.warnmu);
	pthread_cond_destroy(&q->work);
	pthread_cond_destroy(&q->wake);
	pthread_cond_destroy(&q->wbwork);
	free(q);
}
