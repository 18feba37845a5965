/*
 * pseal.c: the sealing threads of the snapshot pipeline (pipe.c has the
 * walker's side).  For each chunk job: its fingerprint (file map chunks
 * of encrypted datasets) and its ID, unless the fingerprint matches the
 * previous version's chunk at that place; the lookup in the index and
 * the claim table; and for a new chunk compression, encryption and the
 * append to the pack.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tree/pipeint.h"

/* ---------- sealing ---------- */

/* chunk_id(w, j): the chunk's ID; runs of zeros are hashed once each. */
static int
chunk_id(struct worker *w, struct job *j)
{
	int zero = j->n >= 4096 && ss_all_zero(j->buf, j->n), r;

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
	if (j->hascand && memcmp(fp, j->cand.fp, SS_FP_LEN) == 0) {
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
	if (ss_pipei_claim_find(pp, &j->id) != NULL) {
		j->res = JR_DUP;
		r = 0;
	} else if ((r = ss_cat_obj_get(pp->t->cat, &j->id, &row)) == 0) {
		j->res = JR_EXISTS;
		j->len = row.loc.len;
	} else if (r == SS_ENOENT) {
		j->res = JR_NEW;
		j->cnext = *ss_pipei_claim_slot(pp, &j->id);
		*ss_pipei_claim_slot(pp, &j->id) = j;
		r = 0;
	}
	pthread_mutex_unlock(&pp->catmu);
	return r;
}

/*
 * ss_pipei_seal_new(pp, w, type, p, n, refs, nrefs, id, loc): seal and
 * append to t->pw (shared by the sealers).  Once the contents have filled
 * a pack, the walker's file maps and directories go to t->pwdir instead
 * (its own, when there is one): a large tree keeps its directories
 * together, where the next snapshot reads them; a small one stays in one
 * pack.
 */
int
ss_pipei_seal_new(struct ss_pipe *pp, struct worker *w, uint8_t type,
    const void *p, size_t n, const struct ss_id *refs, uint32_t nrefs,
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

void
ss_pipei_work_one(struct ss_pipe *pp, struct worker *w, struct job *j)
{
	int r;

	if ((r = chunk_fp(w, j)) == 0 && (r = classify(pp, j)) == 0 &&
	    j->res == JR_NEW)
		r = ss_pipei_seal_new(pp, w, SS_OT_CHUNK, j->buf, j->n, NULL,
		    0, &j->id, &j->loc);
	if (r != 0)
		snprintf(j->errmsg, sizeof(j->errmsg), "%s", ss_errmsg());
	/* the payload is not needed any more: free it before the drain */
	ss_pipei_job_buf_free(pp, j);
	pthread_mutex_lock(&pp->mu);
	pp->bytes -= j->acct;
	j->acct = 0;
	j->err = r;
	j->done = 1;
	pthread_cond_broadcast(&pp->done);
	pthread_mutex_unlock(&pp->mu);
}

void *
ss_pipei_worker_main(void *arg)
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
		ss_pipei_work_one(pp, w, j);
		pthread_mutex_lock(&pp->mu);
	}
	pthread_mutex_unlock(&pp->mu);
	return NULL;
}

int
ss_pipei_worker_init(struct ss_pipe *pp, struct worker *w,
    const struct ss_objctx *oc)
{
	memset(w, 0, sizeof(*w));
	w->pp = pp;
	if ((w->oc = ss_objctx_dup(oc)) == NULL ||
	    (pp->t->fp_on && (w->fp = ss_aead_new()) == NULL))
		return SS_ENOMEM;
	return 0;
}

void
ss_pipei_worker_fini(struct worker *w)
{
	ss_objctx_free(w->oc);
	ss_aead_free(w->fp);
	ss_buf_free(&w->sealed);
	memset(w, 0, sizeof(*w));
}
