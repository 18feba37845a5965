/*
 * pool/recvint.h: the inside of receive, private to lib/pool (and within
 * it to recv.c, the records, objects, snapshots and saved state, and
 * recvds.c, the datasets).
 */
#ifndef SS_POOL_RECVINT_H
#define SS_POOL_RECVINT_H

#include <stddef.h>
#include <stdint.h>

#include "pool/space.h"
#include "stream/stream.h"

struct remap;			/* a remapping context (recv.c) */

/* One dataset of the stream and where it landed. */
struct rds {
	char *rel;		/* relative name in the stream ("" = top) */
	struct ss_ds ds;
	struct remap *rm;	/* objects are remapped, NULL if stored as is */
	int named;		/* stream identifiers are names, not hashes */
	int created;		/* this receive created the dataset */
	uint64_t keyowner;	/* root guid its wrapped key binds, or 0 */
};

/* A snapshot this receive added (undone into a hold by a saved state). */
struct added {
	int64_t id;
	struct ss_id root;
};

struct receiver {
	struct ss_pool *p;
	const struct ss_recv_opts *o;
	struct ss_sreader *rd;
	struct ss_packw *pw;
	const char *target;
	struct rds *v;
	size_t n;
	struct remap **rm;
	size_t nrm, caprm;
	struct ss_freelist freed;	/* snapshots -F rolled back */
	int raw, replication, props;
	uint64_t objects, bytes, skipped;
	/* receive -s and resumed streams */
	struct ss_begin begin;
	struct ss_token tk;	/* what a saved state would say */
	struct ss_resume prev;	/* the state a resumed stream continues */
	int resuming, cut;
	struct ss_id *stored;	/* objects this receive stored */
	size_t nstored, capstored;
	struct added *added;
	size_t nadded, capadded;
};

/* ---------- recv.c ---------- */

/* ss_recvi_remap_setup(rc, e): the remapping context of ${e}'s domain. */
int ss_recvi_remap_setup(struct receiver *rc, struct rds *e);

/* ---------- recvds.c ---------- */

/* ss_recvi_find_rel(rc, rel): the stream's dataset ${rel}, or NULL. */
struct rds *ss_recvi_find_rel(struct receiver *rc, const char *rel);
/* ss_recvi_on_dataset(rc, p, n): a DATASET record: where it lands. */
int ss_recvi_on_dataset(struct receiver *rc, const uint8_t *p, size_t n);

#endif /* SS_POOL_RECVINT_H */
