/*
 * rq.h: the inside of restore's writing side, private to lib/tree (and
 * within it to rwrite.c, the queue and what the walker submits, and
 * rjob.c, the workers that run the jobs).
 */
#ifndef SS_TREE_RQ_H
#define SS_TREE_RQ_H

#include <pthread.h>
#include <stdatomic.h>

#include "tree/rwrite.h"

#define RQ_RA_BLK (256u << 10)	/* read-ahead in blocks of this size */
#define RQ_RA_SEEN 64		/* ... remembering the last ones announced */
#define RQ_DIO_MIN (4u << 20)	/* files this large are written directly */
#define RQ_DBLK (1u << 20)	/* ... in aligned blocks of this size */
#define RQ_SEGJOBS 64		/* a file map's chunks, run in segments */
#define RQ_SEG_RA (32u << 20)	/* a segment reads this far ahead */

struct rdio;

/* A regular file being written. */
struct rfile {
	struct ss_rdir *dir;
	const struct ss_ent *e;	/* borrowed from dir->d */
	char *path;
	char name[256];
	char tmp[32];
	const char *cname;	/* created under: tmp, or name (staged) */
	int created;		/* ... and exists under it */
	int fd;			/* -1 until created */
	uint64_t end;		/* end of its last extent */
	struct rdio *dio;	/* NULL, or its direct writing (rdio.c) */
	atomic_size_t refs;	/* jobs not done + the submitter's hold */
	atomic_int failed;
};

struct rjob {
	struct rfile *f;
	int create;		/* create the temporary first */
	int chunk;		/* write the chunk below */
	const uint8_t *inl;	/* or these ${len} bytes (SS_CK_INLINE) */
	struct ss_id id;
	struct ss_loc loc;
	uint64_t off;
	uint32_t len;
	struct rjob *more;	/* the next job of its batch or segment */
	struct rjob *next;	/* the next batch or segment in its queue */
	size_t n;		/* first of a batch or segment: its jobs */
	uint64_t bytes;		/* ... and a batch's stored bytes */
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
	struct ss_id zid;	/* the last chunk it found all zeros, */
	uint32_t zlen;		/* ... and its length (0: none yet) */
	pthread_t th;
	int started;
};

struct ss_rq {
	pthread_mutex_t mu;
	pthread_cond_t work;	/* workers: something queued, or stop */
	pthread_cond_t wake;	/* the walker: see ss_rqi_poke_locked */
	struct rjob *head, *tail;	/* batches waiting for a worker */
	struct rjob *shead, *stail;	/* segments of large files, too */
	size_t segjobs;		/* jobs of the segments queued */
	size_t nsegrun;		/* segments being run */
	size_t maxsegrun;	/* ... at most, while batches wait */
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

/*
 * ss_rqi_run(v, n, &i, &a, &b): the run of adjacent extents of a file map
 * that starts at v[*i], as [*a, *b); *i is left on its last extent.
 */
static inline void
ss_rqi_run(const struct ss_mext *v, uint32_t n, uint32_t *i, uint64_t *a,
    uint64_t *b)
{
	*a = v[*i].off;
	*b = *a + v[*i].len;
	while (*i + 1 < n && v[*i + 1].off == *b)
		*b += v[++*i].len;
}

/* ---------- rwrite.c ---------- */

/* ss_rqi_poke_locked(q): wake the walker if what it sleeps for has come. */
void ss_rqi_poke_locked(struct ss_rq *q);
/* ss_rqi_fail(q, r, path): keep the first error, with its detail. */
void ss_rqi_fail(struct ss_rq *q, int r, const char *path);
/*
 * ss_rqi_dir_unref(q, d): drop a reference to ${d}.  The last one finds every
 * entry of the directory placed: apply its metadata (unless the restore
 * failed), close it, and drop its reference to its parent in turn.
 */
void ss_rqi_dir_unref(struct ss_rq *q, struct ss_rdir *d);

/* ---------- rjob.c ---------- */

/*
 * ss_rqi_file_create(q, f): create the file (f->cname, f->fd): under a
 * temporary name, or under its name in a stage (restore.c).
 */
int ss_rqi_file_create(struct ss_rq *q, struct rfile *f);
/* ss_rqi_file_release(q, f, r): drop a reference; ${r}: the job's result. */
void ss_rqi_file_release(struct ss_rq *q, struct rfile *f, int r);
/*
 * ss_rqi_job_run(w, j): one job, on a worker or on the walker.  After an error
 * anywhere it only releases its file (which then cleans up).
 */
void ss_rqi_job_run(struct rwk *w, struct rjob *j);
/*
 * ss_rqi_worker(w): run batches.  A batch counts as in flight until everything
 * it set off (placing its files, finishing the directories they emptied)
 * is over, so that ss_rq_wait returns only when all of it is done.
 */
void *ss_rqi_worker(void *arg);
/*
 * ss_rqi_wk_wipe(w): wipe and free a writer's plaintext buffer, touching
 * no page that trim dropped (an 8 MiB chunk grows it to 16 MiB: wiping all
 * of it made 64 MB resident at the end of a restore).
 */
void ss_rqi_wk_wipe(struct rwk *w);
/* ss_rqi_wb_main(q): the write-back thread (see writeback in rjob.c). */
void *ss_rqi_wb_main(void *arg);

/* ---------- rdio.c ---------- */

/*
 * ss_rqi_dio_open(f, v, n): if ${f} is large enough and its file system
 * takes direct I/O, set f->dio up for its extents ${v} (after the
 * temporary is created).  Only an allocation failure is an error, and not
 * even that: the file is then written through the page cache.
 */
int ss_rqi_dio_open(struct rfile *f, const struct ss_mext *v, uint32_t n);
/*
 * ss_rqi_dio_write(f, p, len, off): write an authenticated chunk of a file
 * with f->dio: its whole blocks directly once complete, the rest buffered.
 */
int ss_rqi_dio_write(struct rfile *f, const uint8_t *p, uint32_t len,
    uint64_t off);
/*
 * ss_rqi_dio_close(f): end the direct writing of ${f} (no-op without it);
 * an error if a block was left incomplete (a chunk of it failed).
 */
int ss_rqi_dio_close(struct rfile *f);

#endif /* SS_TREE_RQ_H */
