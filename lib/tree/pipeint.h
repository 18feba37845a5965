/*
 * pipeint.h: the inside of the sealing pipeline, private to lib/tree (to
 * pipe.c, the walker's side: buffers, submitting, draining, the claim
 * table; and pseal.c, the sealing threads).
 */
#ifndef SS_TREE_PIPEINT_H
#define SS_TREE_PIPEINT_H

#include <pthread.h>

#include "tree/scan.h"

_Static_assert(SS_PIPE_BIGBUF <= SS_ZERO_PAGES_LEN, "a run of zeros fits");

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
	int big;		/* buf from ss_pipe_bigbuf, else borrowed */
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
	uint8_t *zeros;		/* ss_zero_pages(): read-only */
	int bigtree;		/* directories go to t->pwdir (seal) */
	struct dfree *dfree;
};

/* ---------- pipe.c ---------- */

/* ss_pipei_job_buf_free(pp, j): give back the payload (its owner wipes it). */
void ss_pipei_job_buf_free(struct ss_pipe *pp, struct job *j);
/* the claim table (under catmu): the bucket of ${id}, the claim of ${id} */
struct job **ss_pipei_claim_slot(struct ss_pipe *pp, const struct ss_id *id);
struct job *ss_pipei_claim_find(struct ss_pipe *pp, const struct ss_id *id);

/* ---------- pseal.c ---------- */

/* ss_pipei_worker_init(pp, w, oc) / _fini(w): a sealer's own state. */
int ss_pipei_worker_init(struct ss_pipe *pp, struct worker *w,
    const struct ss_objctx *oc);
void ss_pipei_worker_fini(struct worker *w);
/* ss_pipei_worker_main(w): a sealing thread. */
void *ss_pipei_worker_main(void *arg);
/*
 * ss_pipei_seal_new(pp, w, type, p, n, refs, nrefs, id, loc): seal an
 * object and append it to a pack (see pseal.c).
 */
int ss_pipei_seal_new(struct ss_pipe *pp, struct worker *w, uint8_t type,
    const void *p, size_t n, const struct ss_id *refs, uint32_t nrefs,
    const struct ss_id *id, struct ss_loc *loc);
/* ss_pipei_work_one(pp, w, j): seal one chunk job (walker or sealer). */
void ss_pipei_work_one(struct ss_pipe *pp, struct worker *w, struct job *j);

#endif /* SS_TREE_PIPEINT_H */
