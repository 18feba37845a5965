/*
 * pipe.c: the sealing pipeline of snapshot.
 *
 * The walking thread reads, chunks and identifies objects and does every
 * catalog operation; worker threads compress, encrypt and append to the
 * pack writer.  Jobs complete out of order but are drained in submission
 * order, so a parent's index row is always inserted after its children's.
 * A job carries a pointer to an accumulator that receives the object's
 * stored size when it is drained (the subtree sizes of directory entries).
 * In-flight payload bytes are bounded, so memory stays flat.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tree/tree.h"

#define PIPE_MAXBYTES (24u * 1024 * 1024)
#define PIPE_MAXJOBS 64

struct job {
	uint8_t type;
	struct ss_buf payload;
	struct ss_id *refs;
	uint32_t nrefs;
	struct ss_id id;
	uint64_t *acc;
	struct ss_buf sealed;
	struct ss_loc loc;
	size_t acct;		/* bytes counted against PIPE_MAXBYTES */
	int done, err;
	char errmsg[512];
	struct job *next;	/* submission order */
	struct job *qnext;	/* work queue */
};

struct ss_pipe {
	pthread_mutex_t mu;
	pthread_cond_t work, done, space;
	pthread_mutex_t packmu;
	pthread_t *th;
	struct ss_objctx **oc;
	int nthreads;
	struct job *head, *tail;	/* in flight, submission order */
	struct job *qhead, *qtail;	/* waiting for a worker */
	size_t bytes, njobs;
	int stop;
	struct ss_tree *t;
};

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	ss_buf_wipe(&j->payload);
	ss_buf_free(&j->sealed);
	free(j->refs);
	free(j);
}

static void
work_one(struct ss_pipe *pp, struct ss_objctx *oc, struct job *j)
{
	int r = ss_obj_seal(oc, &j->id, j->type, j->payload.p, j->payload.len,
	    j->refs, j->nrefs, &j->sealed);

	if (r == 0) {
		pthread_mutex_lock(&pp->packmu);
		r = ss_packw_add(pp->t->pw, &j->id, j->sealed.p, j->sealed.len,
		    &j->loc);
		pthread_mutex_unlock(&pp->packmu);
	}
	if (r != 0)
		snprintf(j->errmsg, sizeof(j->errmsg), "%s", ss_errmsg());
	ss_buf_wipe(&j->payload);
	ss_buf_free(&j->sealed);
	pthread_mutex_lock(&pp->mu);
	j->err = r;
	j->done = 1;
	pthread_cond_broadcast(&pp->done);
	pthread_mutex_unlock(&pp->mu);
}

struct warg {
	struct ss_pipe *pp;
	int i;
};

static void *
worker(void *arg)
{
	struct warg *w = arg;
	struct ss_pipe *pp = w->pp;
	struct ss_objctx *oc = pp->oc[w->i];
	struct job *j;

	free(w);
	pthread_mutex_lock(&pp->mu);
	for (;;) {
		while (!pp->stop && pp->qhead == NULL)
			pthread_cond_wait(&pp->work, &pp->mu);
		if (pp->qhead == NULL)
			break;
		j = pp->qhead;
		pp->qhead = j->qnext;
		if (pp->qhead == NULL)
			pp->qtail = NULL;
		pthread_mutex_unlock(&pp->mu);
		work_one(pp, oc, j);
		pthread_mutex_lock(&pp->mu);
	}
	pthread_mutex_unlock(&pp->mu);
	return NULL;
}

int
ss_pipe_start(struct ss_tree *t, int nthreads)
{
	struct ss_pipe *pp;

	if (nthreads < 1)
		return 0;
	if ((pp = ss_calloc(1, sizeof(*pp))) == NULL)
		return SS_ENOMEM;
	pp->t = t;
	pthread_mutex_init(&pp->mu, NULL);
	pthread_mutex_init(&pp->packmu, NULL);
	pthread_cond_init(&pp->work, NULL);
	pthread_cond_init(&pp->done, NULL);
	pthread_cond_init(&pp->space, NULL);
	pp->th = ss_calloc((size_t)nthreads, sizeof(*pp->th));
	pp->oc = ss_calloc((size_t)nthreads, sizeof(*pp->oc));
	if (pp->th == NULL || pp->oc == NULL)
		goto fail;
	for (int i = 0; i < nthreads; i++) {
		struct warg *w = ss_malloc(sizeof(*w));

		if (w == NULL || (pp->oc[i] = ss_objctx_dup(t->oc)) == NULL) {
			free(w);
			goto fail;
		}
		w->pp = pp;
		w->i = i;
		if (pthread_create(&pp->th[i], NULL, worker, w) != 0) {
			free(w);
			ss_objctx_free(pp->oc[i]);
			pp->oc[i] = NULL;
			goto fail;
		}
		pp->nthreads++;
	}
	t->pipe = pp;
	return 0;
fail:
	t->pipe = pp;
	ss_pipe_stop(t);
	return ss_err(SS_ENOMEM, "cannot start the sealing threads");
}

/* drain_head(t): wait for the oldest job and index it. */
static int
drain_head(struct ss_tree *t)
{
	struct ss_pipe *pp = t->pipe;
	struct job *j;
	struct ss_objrow row;
	int r;

	pthread_mutex_lock(&pp->mu);
	j = pp->head;
	while (!j->done)
		pthread_cond_wait(&pp->done, &pp->mu);
	pp->head = j->next;
	if (pp->head == NULL)
		pp->tail = NULL;
	pp->bytes -= j->acct;
	pp->njobs--;
	pthread_mutex_unlock(&pp->mu);
	if ((r = j->err) != 0) {
		ss_err(r, "%s", j->errmsg);
		goto out;
	}
	row.loc = j->loc;
	row.refs = 0;
	row.nchild = j->nrefs;
	if ((r = ss_cat_obj_add(t->cat, &j->id, &row)) != 0)
		goto out;
	for (uint32_t i = 0; i < j->nrefs && r == 0; i++)
		r = ss_cat_obj_ref(t->cat, &j->refs[i], 1, NULL);
	if (r == 0)
		r = ss_tree_newid(t, &j->id, j->loc.len, j->acc);
out:
	job_free(j);
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

int
ss_pipe_pending(struct ss_tree *t, const struct ss_id *id)
{
	int found = 0;

	if (t->pipe == NULL)
		return 0;
	pthread_mutex_lock(&t->pipe->mu);
	for (struct job *j = t->pipe->head; j && !found; j = j->next)
		found = !ss_id_cmp(&j->id, id);
	pthread_mutex_unlock(&t->pipe->mu);
	return found;
}

int
ss_pipe_submit(struct ss_tree *t, uint8_t type, const void *p, size_t n,
    const struct ss_id *refs, uint32_t nrefs, const struct ss_id *id,
    uint64_t *acc)
{
	struct ss_pipe *pp = t->pipe;
	struct job *j;
	int r;

	/* make room: drain the oldest jobs past the bounds */
	while (pp->head && (pp->bytes + n > PIPE_MAXBYTES ||
	    pp->njobs >= PIPE_MAXJOBS))
		if ((r = drain_head(t)) != 0)
			return r;
	if ((j = ss_calloc(1, sizeof(*j))) == NULL)
		return SS_ENOMEM;
	j->type = type;
	j->id = *id;
	j->acc = acc;
	j->nrefs = nrefs;
	if ((nrefs && (j->refs = ss_calloc(nrefs, sizeof(*refs))) == NULL) ||
	    ss_buf_put(&j->payload, p, n) != 0) {
		job_free(j);
		return SS_ENOMEM;
	}
	if (nrefs)
		memcpy(j->refs, refs, nrefs * sizeof(*refs));
	j->acct = n;
	pthread_mutex_lock(&pp->mu);
	pp->bytes += j->acct;
	pp->njobs++;
	if (pp->tail)
		pp->tail->next = j;
	else
		pp->head = j;
	pp->tail = j;
	if (pp->qtail)
		pp->qtail->qnext = j;
	else
		pp->qhead = j;
	pp->qtail = j;
	pthread_cond_signal(&pp->work);
	pthread_mutex_unlock(&pp->mu);
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
		pthread_join(pp->th[i], NULL);
	while (pp->head) {
		struct job *j = pp->head;

		pp->head = j->next;
		job_free(j);
	}
	for (int i = 0; pp->oc && i < pp->nthreads; i++)
		ss_objctx_free(pp->oc[i]);
	pthread_mutex_destroy(&pp->mu);
	pthread_mutex_destroy(&pp->packmu);
	pthread_cond_destroy(&pp->work);
	pthread_cond_destroy(&pp->done);
	pthread_cond_destroy(&pp->space);
	free(pp->th);
	free(pp->oc);
	free(pp);
	t->pipe = NULL;
}
