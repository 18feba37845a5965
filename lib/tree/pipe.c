/*
 * pipe.c: the sealing pipeline of snapshot: the walker's side (buffers,
 * submitting, draining, the claim table); the sealing threads are in
 * pseal.c, what the two share in pipeint.h.
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

#include "tree/pipeint.h"

/* ss_pipei_job_buf_free(pp, j): give back the payload (its owner wipes it). */
void
ss_pipei_job_buf_free(struct ss_pipe *pp, struct job *j)
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
	ss_pipei_job_buf_free(pp, j);
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

struct job **
ss_pipei_claim_slot(struct ss_pipe *pp, const struct ss_id *id)
{
	return &pp->claim[ss_le32dec(id->b) % CLAIM_BUCKETS];
}

struct job *
ss_pipei_claim_find(struct ss_pipe *pp, const struct ss_id *id)
{
	for (struct job *j = *ss_pipei_claim_slot(pp, id); j; j = j->cnext)
		if (!ss_id_cmp(&j->id, id))
			return j;
	return NULL;
}

static void
claim_drop(struct ss_pipe *pp, struct job *j)
{
	for (struct job **q = ss_pipei_claim_slot(pp, &j->id); *q;
	    q = &(*q)->cnext)
		if (*q == j) {
			*q = j->cnext;
			return;
		}
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
	if (ss_pipei_worker_init(pp, &pp->self, t->oc) != 0 ||
	    ss_sread_new(&pp->rd))
		goto fail;
	if ((pp->zeros = ss_zero_pages()) == NULL)
		goto fail;
	if (nthreads > 0 &&
	    (pp->wk = ss_calloc((size_t)nthreads, sizeof(*pp->wk))) == NULL)
		goto fail;
	for (int i = 0; i < nthreads; i++) {
		if (ss_pipei_worker_init(pp, &pp->wk[i], t->oc) != 0)
			goto fail;
		if (pthread_create(&pp->wk[i].th, NULL, ss_pipei_worker_main,
		    &pp->wk[i]) != 0) {
			ss_pipei_worker_fini(&pp->wk[i]);
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
	k = ss_pipei_claim_find(pp, &j->id);
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
		ss_pipei_work_one(pp, &pp->self, j);
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
	if ((r = ss_pipei_seal_new(pp, &pp->self, type, p, n, refs, nrefs, id,
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
		ss_pipei_worker_fini(&pp->wk[i]);
	ss_pipei_worker_fini(&pp->self);
	for (int i = 0; i < pp->nspare; i++)
		big_free(pp->spare[i]);
	ss_buf_free(&pp->enc);
	pthread_mutex_destroy(&pp->mu);
	pthread_mutex_destroy(&pp->packmu);
	pthread_mutex_destroy(&pp->catmu);
	pthread_cond_destroy(&pp->work);
	pthread_cond_destroy(&pp->done);
	free(pp->wk);
	free(pp);
	t->pipe = NULL;
}
