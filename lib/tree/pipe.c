/*
 * pipe.c: the sealing pipeline of snapshot.
 *
 * The walker submits chunks and marks; sealing threads compute each
 * chunk's ID, look it up in the index and, when it is new, compress,
 * encrypt and append it to the pack.  Jobs complete out of order but are
 * drained by the walker in submission order: it inserts the index rows of
 * new chunks, gives every job's ID and stored size to whoever waits for
 * them (a file map, a directory entry), and runs marks, which encode and
 * store file maps and directory objects once all they name has drained.
 * A parent is therefore always indexed after its children, and nothing
 * waits for the disk or a sealer at the end of each directory.
 *
 * Two chunks with the same ID may be in flight at once (a file copied
 * twice, runs of zeros): the first sealer to look one up claims it in a
 * small table of claimed IDs, and the others find the claim and store
 * nothing.  The claim, the index lookup and the walker's index inserts
 * happen under one lock (the catalog lock), so an ID is in the table or
 * in the index, never in neither once claimed.
 *
 * In-flight payload bytes and jobs are bounded, so memory stays flat.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "tree/scan.h"

#define PIPE_MAXBYTES (6u * 1024 * 1024)
#define PIPE_MAXJOBS 512
#define PIPE_SPARE 3		/* big buffers kept for reuse */
#define CLAIM_BUCKETS 1024
#define BATCH_JOBS 8		/* sealers are woken for this many jobs */
#define BATCH_BYTES (256u * 1024)	/* ... or this many bytes */
#define ZCACHE 4
#define SEALED_KEEP (1u * 1024 * 1024)	/* a sealer's output buffer */

enum { JK_CHUNK = 1, JK_MARK };
enum { JR_NEW = 1, JR_EXISTS, JR_DUP };

struct job {
	int kind;
	uint8_t *buf;		/* JK_CHUNK: payload, freed once sealed */
	size_t n;
	int big;		/* buf came from ss_pipe_bigbuf, else borrowed */
	struct ss_id id;
	struct ss_id *idout;
	uint64_t *acc;
	uint8_t *fpout;		/* its fingerprint goes here (or NULL) */
	int hascand;		/* the chunk it may be unchanged from: */
	struct ss_fpcand cand;
	int res;		/* JR_* */
	uint32_t len;		/* JR_EXISTS: stored size in the index */
	struct ss_loc loc;	/* JR_NEW: where it was written */
	int inserted;		/* JR_NEW: index row inserted */
	int (*fn)(struct ss_tree *, void *);	/* JK_MARK */
	void (*freefn)(void *);
	void *arg;
	size_t acct;		/* bytes counted against PIPE_MAXBYTES */
	int done, err;
	char errmsg[512];
	struct job *next;	/* submission order */
	struct job *qnext;	/* work queue */
	struct job *cnext;	/* claim table */
};

struct zent {
	size_t len;
	struct ss_id id;
};

struct worker {
	struct ss_pipe *pp;
	pthread_t th;
	struct ss_objctx *oc;
	struct ss_aead *fp;	/* fingerprints (encrypted datasets) */
	struct ss_buf sealed;
	struct zent z[ZCACHE];	/* IDs of all-zero chunks by length */
	int zn;
};

struct dfree {
	void (*fn)(void *);
	void *arg;
	struct dfree *next;
};

struct ss_pipe {
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	pthread_mutex_t packmu, catmu;
	struct worker *wk;
	int nthreads;
	struct job *head, *tail;	/* in flight, submission order */
	struct job *qhead, *qtail;	/* waiting for a sealer */
	size_t qn, qbytes;		/* ... how many, how large */
	int idle;			/* sealers waiting for work */
	size_t bytes, njobs;
	int stop;
	struct ss_tree *t;
	struct worker self;	/* the walker's, for nthreads == 0 */
	struct job *claim[CLAIM_BUCKETS];
	uint8_t *spare[PIPE_SPARE];
	int nspare;
	struct ss_buf enc;	/* the walker's encoding scratch */
	struct ss_sread *rd;	/* the walker's reader */
	uint8_t *zeros;		/* SS_PIPE_BIGBUF read-only zero pages */
	int bigtree;		/* directories go to t->pwdir (seal_new) */
	struct dfree *dfree;
};

/* job_buf_free(pp, j): give back the payload (its owner wipes it). */
static void
job_buf_free(struct ss_pipe *pp, struct job *j)
{
	if (j->buf != NULL && j->big)
		ss_pipe_putbuf(pp->t, j->buf, j->n);
	j->buf = NULL;
}

static void
job_free(struct ss_pipe *pp, struct job *j)
{
	if (j == NULL)
		return;
	job_buf_free(pp, j);
	if (j->freefn)
		j->freefn(j->arg);
	free(j);
}

void
ss_pipe_catlock(struct ss_tree *t)
{
	if (t->pipe)
		pthread_mutex_lock(&t->pipe->catmu);
}

void
ss_pipe_catunlock(struct ss_tree *t)
{
	if (t->pipe)
		pthread_mutex_unlock(&t->pipe->catmu);
}

struct ss_sread *
ss_pipe_reader(struct ss_tree *t)
{
	return t->pipe->rd;
}

struct ss_buf *
ss_pipe_scratch(struct ss_tree *t)
{
	ss_buf_reset(&t->pipe->enc);
	return &t->pipe->enc;
}

/*
 * Big buffers (what the walker reads chunks into) are mapped on their
 * own, so that freeing one gives its memory back, and kept for reuse.
 * Each records how far it was ever written (its resident pages): jobs
 * count that against PIPE_MAXBYTES, it is wiped to there when unmapped,
 * and a spare gives back what lies past SPARE_KEEP.
 */
#define BIGHDR 4096
#define SPARE_KEEP (2u * 1024 * 1024)

static size_t *
big_hw(uint8_t *buf)
{
	return (size_t *)(void *)(buf - BIGHDR);
}

static void
big_free(uint8_t *buf)
{
	ss_cleanse(buf, *big_hw(buf));
	munmap(buf - BIGHDR, BIGHDR + SS_PIPE_BIGBUF);
}

uint8_t *
ss_pipe_bigbuf(struct ss_tree *t)
{
	struct ss_pipe *pp = t->pipe;
	uint8_t *p = NULL;
	void *m;

	pthread_mutex_lock(&pp->mu);
	if (pp->nspare > 0)
		p = pp->spare[--pp->nspare];
	pthread_mutex_unlock(&pp->mu);
	if (p != NULL)
		return p;
	m = mmap(NULL, BIGHDR + SS_PIPE_BIGBUF, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		ss_err(SS_ENOMEM, "out of memory");
		return NULL;
	}
	p = (uint8_t *)m + BIGHDR;
	*big_hw(p) = 0;
	return p;
}

uint8_t *
ss_pipe_zeros(struct ss_tree *t)
{
	return t->pipe->zeros;
}

void
ss_pipe_putbuf(struct ss_tree *t, uint8_t *buf, size_t used)
{
	struct ss_pipe *pp = t->pipe;
	size_t *hw;

	if (buf == NULL)
		return;
	hw = big_hw(buf);
	if (*hw < used)
		*hw = used;
	if (*hw > SPARE_KEEP) {
		/* plaintext past SPARE_KEEP: wiped, then its pages dropped */
		ss_cleanse(buf + SPARE_KEEP, *hw - SPARE_KEEP);
		(void)madvise(buf + SPARE_KEEP, *hw - SPARE_KEEP,
		    MADV_DONTNEED);
		*hw = SPARE_KEEP;
	}
	pthread_mutex_lock(&pp->mu);
	if (pp->nspare < PIPE_SPARE) {
		pp->spare[pp->nspare++] = buf;
		buf = NULL;
	}
	pthread_mutex_unlock(&pp->mu);
	if (buf != NULL)
		big_free(buf);
}

/* ---------- the claim table (under catmu) ---------- */

static struct job **
claim_slot(struct ss_pipe *pp, const struct ss_id *id)
{
	return &pp->claim[ss_le32dec(id->b) % CLAIM_BUCKETS];
}

static struct job *
claim_find(struct ss_pipe *pp, const struct ss_id *id)
{
	for (struct job *j = *claim_slot(pp, id); j; j = j->cnext)
		if (!ss_id_cmp(&j->id, id))
			return j;
	return NULL;
}

static void
claim_drop(struct ss_pipe *pp, struct job *j)
{
	for (struct job **q = claim_slot(pp, &j->id); *q; q = &(*q)->cnext)
		if (*q == j) {
			*q = j->cnext;
			return;
		}
}

/* ---------- sealing ---------- */

static int
all_zero(const uint8_t *p, size_t n)
{
	return n > 0 && p[0] == 0 && memcmp(p, p + 1, n - 1) == 0;
}

/* chunk_id(w, j): the chunk's ID; runs of zeros are hashed once each. */
static int
chunk_id(struct worker *w, struct job *j)
{
	int zero = j->n >= 4096 && all_zero(j->buf, j->n), r;

	for (int i = 0; zero && i < w->zn; i++)
		if (w->z[i].len == j->n) {
			j->id = w->z[i].id;
			return 0;
		}
	if ((r = ss_obj_id(w->oc, SS_OT_CHUNK, j->buf, j->n, &j->id)) != 0)
		return r;
	if (zero) {
		int k = w->zn < ZCACHE ? w->zn++ : (int)(j->n % ZCACHE);

		w->z[k].len = j->n;
		w->z[k].id = j->id;
	}
	return 0;
}

/*
 * chunk_fp(w, j): the chunk's fingerprint, for its file map, then its ID:
 * that of the chunk it replaces at the same place of the previous version
 * of the file, if it has the same length and fingerprint (the same bytes,
 * but for a chance of at most 2^-108 for a chunk of 8 MiB: ss_fp), else
 * computed.  Both stay inside encrypted objects.
 */
static int
chunk_fp(struct worker *w, struct job *j)
{
	uint8_t fp[SS_FP_LEN];
	int r;

	if (j->fpout == NULL || w->fp == NULL)
		return chunk_id(w, j);
	if ((r = ss_fp(w->fp, w->pp->t->k_fp, j->buf, j->n, fp)) != 0)
		return r;
	memcpy(j->fpout, fp, SS_FP_LEN);
	if (j->hascand && j->cand.len == j->n &&
	    memcmp(fp, j->cand.fp, SS_FP_LEN) == 0) {
		j->id = j->cand.id;
		return 0;
	}
	return chunk_id(w, j);
}

/* classify(pp, j): claimed here (JR_NEW), in the index, or claimed. */
static int
classify(struct ss_pipe *pp, struct job *j)
{
	struct ss_objrow row;
	int r;

	pthread_mutex_lock(&pp->catmu);
	if (claim_find(pp, &j->id) != NULL) {
		j->res = JR_DUP;
		r = 0;
	} else if ((r = ss_cat_obj_get(pp->t->cat, &j->id, &row)) == 0) {
		j->res = JR_EXISTS;
		j->len = row.loc.len;
	} else if (r == SS_ENOENT) {
		j->res = JR_NEW;
		j->cnext = *claim_slot(pp, &j->id);
		*claim_slot(pp, &j->id) = j;
		r = 0;
	}
	pthread_mutex_unlock(&pp->catmu);
	return r;
}

/*
 * seal_new(pp, w, type, p, n, refs, nrefs, id, loc): seal and append to
 * t->pw (shared by the sealers).  Once the contents have filled a pack,
 * the walker's file maps and directories go to t->pwdir instead (its own,
 * when there is one): a large tree keeps its directories together, where
 * the next snapshot reads them; a small one stays in one pack.
 */
static int
seal_new(struct ss_pipe *pp, struct worker *w, uint8_t type, const void *p,
    size_t n, const struct ss_id *refs, uint32_t nrefs,
    const struct ss_id *id, struct ss_loc *loc)
{
	int r = ss_obj_seal(w->oc, id, type, p, n, refs, nrefs, &w->sealed);

	if (r == 0 && type != SS_OT_CHUNK &&
	    __atomic_load_n(&pp->bigtree, __ATOMIC_RELAXED))
		r = ss_packw_add(pp->t->pwdir, id, w->sealed.p, w->sealed.len,
		    loc);
	else if (r == 0) {
		pthread_mutex_lock(&pp->packmu);
		r = ss_packw_add(pp->t->pw, id, w->sealed.p, w->sealed.len,
		    loc);
		if (pp->t->pwdir != NULL &&
		    ss_packw_written(pp->t->pw) >= SS_PACK_TARGET)
			__atomic_store_n(&pp->bigtree, 1, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&pp->packmu);
	}
	/*
	 * A sealed object holds a copy of its payload: keep a buffer that
	 * fits most chunks, not one that grew to the largest (an 8 MiB run
	 * of zeros, a large file map), resident for the rest of the run.
	 */
	if (w->sealed.cap > SEALED_KEEP)
		ss_buf_free(&w->sealed);
	else
		ss_buf_reset(&w->sealed);
	return r;
}

static void
work_one(struct ss_pipe *pp, struct worker *w, struct job *j)
{
	int r;

	if ((r = chunk_fp(w, j)) == 0 && (r = classify(pp, j)) == 0 &&
	    j->res == JR_NEW)
		r = seal_new(pp, w, SS_OT_CHUNK, j->buf, j->n, NULL, 0, &j->id,
		    &j->loc);
	if (r != 0)
		snprintf(j->errmsg, sizeof(j->errmsg), "%s", ss_errmsg());
	/* the payload is not needed any more: free it before the drain */
	job_buf_free(pp, j);
	pthread_mutex_lock(&pp->mu);
	pp->bytes -= j->acct;
	j->acct = 0;
	j->err = r;
	j->done = 1;
	pthread_cond_broadcast(&pp->done);
	pthread_mutex_unlock(&pp->mu);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct ss_pipe *pp = w->pp;
	struct job *j;

	pthread_mutex_lock(&pp->mu);
	for (;;) {
		while (!pp->stop && pp->qhead == NULL) {
			pp->idle++;
			pthread_cond_wait(&pp->work, &pp->mu);
			pp->idle--;
		}
		if (pp->qhead == NULL)
			break;
		j = pp->qhead;
		pp->qhead = j->qnext;
		if (pp->qhead == NULL)
			pp->qtail = NULL;
		pp->qn--;
		pp->qbytes -= j->n;
		pthread_mutex_unlock(&pp->mu);
		work_one(pp, w, j);
		pthread_mutex_lock(&pp->mu);
	}
	pthread_mutex_unlock(&pp->mu);
	return NULL;
}

static int
worker_init(struct ss_pipe *pp, struct worker *w, const struct ss_objctx *oc)
{
	memset(w, 0, sizeof(*w));
	w->pp = pp;
	if ((w->oc = ss_objctx_dup(oc)) == NULL ||
	    (pp->t->fp_on && (w->fp = ss_aead_new()) == NULL))
		return SS_ENOMEM;
	return 0;
}

static void
worker_fini(struct worker *w)
{
	ss_objctx_free(w->oc);
	ss_aead_free(w->fp);
	ss_buf_free(&w->sealed);
	memset(w, 0, sizeof(*w));
}

int
ss_pipe_start(struct ss_tree *t, int nthreads, int nscan)
{
	struct ss_pipe *pp;
	int r;

	if ((pp = ss_calloc(1, sizeof(*pp))) == NULL)
		return SS_ENOMEM;
	pp->t = t;
	pthread_mutex_init(&pp->mu, NULL);
	pthread_mutex_init(&pp->packmu, NULL);
	pthread_mutex_init(&pp->catmu, NULL);
	pthread_cond_init(&pp->work, NULL);
	pthread_cond_init(&pp->done, NULL);
	t->pipe = pp;
	if (worker_init(pp, &pp->self, t->oc) != 0 || ss_sread_new(&pp->rd))
		goto fail;
	/* read, these map the kernel's zero page: nothing resident */
	pp->zeros = mmap(NULL, SS_PIPE_BIGBUF, PROT_READ, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0);
	if (pp->zeros == MAP_FAILED) {
		pp->zeros = NULL;
		goto fail;
	}
	if (nthreads > 0 &&
	    (pp->wk = ss_calloc((size_t)nthreads, sizeof(*pp->wk))) == NULL)
		goto fail;
	for (int i = 0; i < nthreads; i++) {
		if (worker_init(pp, &pp->wk[i], t->oc) != 0)
			goto fail;
		if (pthread_create(&pp->wk[i].th, NULL, worker_main,
		    &pp->wk[i]) != 0) {
			worker_fini(&pp->wk[i]);
			goto fail;
		}
		(void)pthread_setname_np(pp->wk[i].th, "snapseal-seal");
		pp->nthreads++;
	}
	if ((r = ss_scan_start(t, nscan)) != 0) {
		ss_pipe_stop(t);
		return r;
	}
	return 0;
fail:
	ss_pipe_stop(t);
	return ss_err(SS_ENOMEM, "cannot start the sealing threads");
}

/* ---------- draining (the walker) ---------- */

/* insert(pp, j): index the chunk ${j} sealed (under catmu). */
static int
insert(struct ss_pipe *pp, struct job *j)
{
	struct ss_tree *t = pp->t;
	int r;

	if ((r = ss_tree_index(t, &j->id, &j->loc, NULL, 0)) != 0)
		return r;
	j->inserted = 1;
	claim_drop(pp, j);
	ss_crashpoint("snapshot-object");
	t->objects_new++;
	t->bytes_new += j->loc.len;
	return 0;
}

/* wait_done(pp, j): wait for a job; its error, set on this thread. */
static int
wait_done(struct ss_pipe *pp, struct job *j)
{
	pthread_mutex_lock(&pp->mu);
	if (!j->done && pp->idle > 0 && pp->qhead != NULL)
		pthread_cond_broadcast(&pp->work);
	while (!j->done)
		pthread_cond_wait(&pp->done, &pp->mu);
	pthread_mutex_unlock(&pp->mu);
	return j->err ? ss_err(j->err, "%s", j->errmsg) : 0;
}

/*
 * drain_dup(pp, j): ${j} found its ID claimed by another job.  If that
 * one is still in flight (later in the order), it is indexed now, so that
 * what follows ${j} can reference the ID.
 */
static int
drain_dup(struct ss_pipe *pp, struct job *j, uint32_t *len)
{
	struct ss_objrow row;
	struct job *k;
	int r;

	pthread_mutex_lock(&pp->catmu);
	k = claim_find(pp, &j->id);
	if (k == NULL) {
		r = ss_cat_obj_get(pp->t->cat, &j->id, &row);
		pthread_mutex_unlock(&pp->catmu);
		*len = row.loc.len;
		return r == SS_ENOENT ? ss_err(SS_EIO, "chunk vanished from "
		    "the index") : r;
	}
	pthread_mutex_unlock(&pp->catmu);
	if ((r = wait_done(pp, k)) != 0)
		return r;
	pthread_mutex_lock(&pp->catmu);
	r = k->inserted ? 0 : insert(pp, k);
	pthread_mutex_unlock(&pp->catmu);
	*len = k->loc.len;
	return r;
}

static int
drain_chunk(struct ss_pipe *pp, struct job *j)
{
	uint32_t len = 0;
	int r;

	if ((r = wait_done(pp, j)) != 0)
		return r;
	switch (j->res) {
	case JR_NEW:
		pthread_mutex_lock(&pp->catmu);
		r = j->inserted ? 0 : insert(pp, j);
		pthread_mutex_unlock(&pp->catmu);
		len = j->loc.len;
		break;
	case JR_EXISTS:
		len = j->len;
		break;
	default:
		r = drain_dup(pp, j, &len);
		break;
	}
	if (r != 0)
		return r;
	if (j->idout)
		*j->idout = j->id;
	if (j->acc)
		*j->acc += len;
	return 0;
}

/* drain_head(t): drain the oldest job. */
static int
drain_head(struct ss_tree *t)
{
	struct ss_pipe *pp = t->pipe;
	struct job *j = pp->head;
	int r;

	if (j->kind == JK_CHUNK)
		r = drain_chunk(pp, j);
	else {
		/* fn takes ownership of arg */
		r = j->fn ? j->fn(t, j->arg) : 0;
		j->fn = NULL;
		j->freefn = NULL;
	}
	pthread_mutex_lock(&pp->mu);
	pp->head = j->next;
	if (pp->head == NULL)
		pp->tail = NULL;
	pp->bytes -= j->acct;
	pp->njobs--;
	pthread_mutex_unlock(&pp->mu);
	job_free(pp, j);
	return r;
}

int
ss_pipe_drain(struct ss_tree *t)
{
	int r = 0, rr;

	if (t->pipe == NULL)
		return 0;
	while (t->pipe->head) {
		rr = drain_head(t);
		if (r == 0)
			r = rr;
	}
	return r;
}

/* ---------- submitting ---------- */

static int
submit(struct ss_tree *t, struct job *j)
{
	struct ss_pipe *pp = t->pipe;
	int r;

	/* make room: drain the oldest jobs past the bounds */
	while (pp->head && (pp->bytes + j->acct > PIPE_MAXBYTES ||
	    pp->njobs >= PIPE_MAXJOBS))
		if ((r = drain_head(t)) != 0) {
			job_free(pp, j);
			return r;
		}
	pthread_mutex_lock(&pp->mu);
	pp->bytes += j->acct;
	pp->njobs++;
	if (pp->tail)
		pp->tail->next = j;
	else
		pp->head = j;
	pp->tail = j;
	if (j->kind == JK_CHUNK && pp->nthreads > 0) {
		if (pp->qtail)
			pp->qtail->qnext = j;
		else
			pp->qhead = j;
		pp->qtail = j;
		pp->qn++;
		pp->qbytes += j->n;
		/* small jobs are handed over in batches: fewer wake-ups */
		if (pp->idle > 0 && (pp->qn >= BATCH_JOBS ||
		    pp->qbytes >= BATCH_BYTES))
			pthread_cond_signal(&pp->work);
	}
	pthread_mutex_unlock(&pp->mu);
	if (pp->nthreads > 0)
		return 0;
	/* synchronous: seal at once, and drain right away */
	if (j->kind == JK_CHUNK)
		work_one(pp, &pp->self, j);
	return ss_pipe_drain(t);
}

int
ss_pipe_chunk(struct ss_tree *t, uint8_t *buf, size_t n, size_t used,
    struct ss_id *idout, uint64_t *acc, uint8_t *fpout,
    const struct ss_fpcand *cand)
{
	struct job *j;
	int big = used > 0;

	if (big && *big_hw(buf) < used)
		*big_hw(buf) = used;
	if ((j = ss_calloc(1, sizeof(*j))) == NULL) {
		if (big)
			ss_pipe_putbuf(t, buf, n);
		return SS_ENOMEM;
	}
	j->kind = JK_CHUNK;
	j->buf = buf;
	j->n = n;
	j->big = big;
	j->idout = idout;
	j->acc = acc;
	j->fpout = fpout;
	if (cand != NULL) {
		j->hascand = 1;
		j->cand = *cand;
	}
	/* its resident bytes (none for the zero pages) */
	j->acct = big ? *big_hw(buf) : buf == t->pipe->zeros ? 0 : n;
	return submit(t, j);
}

int
ss_pipe_mark(struct ss_tree *t, int (*fn)(struct ss_tree *, void *),
    void (*freefn)(void *), void *arg, size_t acct)
{
	struct job *j;

	if ((j = ss_calloc(1, sizeof(*j))) == NULL) {
		if (freefn)
			freefn(arg);
		return SS_ENOMEM;
	}
	j->kind = JK_MARK;
	j->fn = fn;
	j->freefn = freefn;
	j->arg = arg;
	j->acct = acct;
	return submit(t, j);
}

void
ss_pipe_kick(struct ss_tree *t)
{
	struct ss_pipe *pp = t->pipe;

	pthread_mutex_lock(&pp->mu);
	if (pp->idle > 0 && pp->qhead != NULL)
		pthread_cond_broadcast(&pp->work);
	pthread_mutex_unlock(&pp->mu);
}

void
ss_pipe_defer_free(struct ss_tree *t, void (*freefn)(void *), void *arg)
{
	struct dfree *d = ss_malloc(sizeof(*d));

	if (d == NULL)
		return;		/* leaked rather than freed under a job */
	d->fn = freefn;
	d->arg = arg;
	d->next = t->pipe->dfree;
	t->pipe->dfree = d;
}

int
ss_pipe_store(struct ss_tree *t, uint8_t type, const void *p, size_t n,
    struct ss_id *refs, uint32_t nrefs, struct ss_id *id, uint64_t *acc)
{
	struct ss_pipe *pp = t->pipe;
	struct ss_objrow row;
	int r;

	if ((r = ss_obj_id(t->oc, type, p, n, id)) != 0)
		return r;
	pthread_mutex_lock(&pp->catmu);
	r = ss_cat_obj_get(t->cat, id, &row);
	pthread_mutex_unlock(&pp->catmu);
	if (r == 0) {
		if (acc)
			*acc += row.loc.len;
		return 0;
	}
	if (r != SS_ENOENT)
		return r;
	nrefs = (uint32_t)ss_ids_sort_unique(refs, nrefs);
	if ((r = seal_new(pp, &pp->self, type, p, n, refs, nrefs, id,
	    &row.loc)) != 0)
		return r;
	pthread_mutex_lock(&pp->catmu);
	r = ss_tree_index(t, id, &row.loc, refs, nrefs);
	pthread_mutex_unlock(&pp->catmu);
	if (r != 0)
		return r;
	ss_crashpoint("snapshot-object");
	t->objects_new++;
	t->bytes_new += row.loc.len;
	if (acc)
		*acc += row.loc.len;
	return 0;
}

void
ss_pipe_stop(struct ss_tree *t)
{
	struct ss_pipe *pp = t->pipe;

	if (pp == NULL)
		return;
	pthread_mutex_lock(&pp->mu);
	pp->stop = 1;
	pthread_cond_broadcast(&pp->work);
	pthread_mutex_unlock(&pp->mu);
	for (int i = 0; i < pp->nthreads; i++)
		pthread_join(pp->wk[i].th, NULL);
	ss_scan_halt(t);
	ss_sread_free(pp->rd);
	while (pp->head) {
		struct job *j = pp->head;

		pp->head = j->next;
		job_free(pp, j);
	}
	ss_scan_stop(t);
	while (pp->dfree) {
		struct dfree *d = pp->dfree;

		pp->dfree = d->next;
		d->fn(d->arg);
		free(d);
	}
	for (int i = 0; i < pp->nthreads; i++)
		worker_fini(&pp->wk[i]);
	worker_fini(&pp->self);
	for (int i = 0; i < pp->nspare; i++)
		big_free(pp->spare[i]);
	ss_buf_free(&pp->enc);
	if (pp->zeros != NULL)
		munmap(pp->zeros, SS_PIPE_BIGBUF);
	pthread_mutex_destroy(&pp->mu);
	pthread_mutex_destroy(&pp->packmu);
	pthread_mutex_destroy(&pp->catmu);
	pthread_cond_destroy(&pp->work);
	pthread_cond_destroy(&pp->done);
	free(pp->wk);
	free(pp);
	t->pipe = NULL;
}
