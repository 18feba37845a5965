/*
 * pool/sendint.h: the inside of send, private to lib/pool (and within it
 * to send.c, the stream's records, datasets and entry points, and
 * sendwalk.c, its objects).
 */
#ifndef SS_POOL_SENDINT_H
#define SS_POOL_SENDINT_H

#include <stddef.h>
#include <stdint.h>

#include "pool/space.h"
#include "stream/stream.h"

#define REC_OVERHEAD (SS_STREAM_RECHDR + SS_SUM_LEN)

struct sender {
	struct ss_pool *p;
	const struct ss_send_opts *o;
	struct ss_packr *pr;
	struct ss_swriter *w;	/* NULL for a dry run (-n) */
	uint64_t pf_pack, pf_end;	/* the record prefetch looked at last */
	struct ss_idset *base;	/* reachable from the base snapshot */
	struct ss_idset *sent;
	struct ss_buf obj, rec;
	uint64_t objects, bytes, est;
	uint64_t skip;		/* send -t: objects the receiver holds */
	int resumed;		/* send -t */
	uint64_t bflags;	/* the stream's flags, RESUMED left out */
	int raw, dry;
	/* decrypted send of an encrypted dataset */
	int mapped;		/* the current dataset's objects go decrypted */
	int64_t keyroot;	/* encryption root whose keys are below */
	struct ss_keyset ks;
	uint8_t k_sid[SS_KEY_LEN];
	uint8_t rkey[SS_KEY_LEN];	/* the pool's resume-tag secret */
	struct ss_objctx *open, *plain;
	struct ss_buf pt, out;
	/* progress */
	const char *cur_ds, *cur_snap, *cur_from;
	char fromname[SS_NAME_MAX + 2];
};

/* ---------- send.c ---------- */

/* ss_sendi_bytes(s): the stream's bytes so far (estimated on a dry run). */
uint64_t ss_sendi_bytes(const struct sender *s);
/* ss_sendi_event(s, what, bytes): tell the caller's callback, if any. */
void ss_sendi_event(struct sender *s, int what, uint64_t bytes);

/*
 * ---------- sendwalk.c ----------
 * Each described where it is defined.
 */

int ss_sendi_sid(void *arg, const uint8_t *id, struct ss_id *out);
int ss_sendi_map_setup(struct sender *s, const struct ss_ds *ds);
int ss_sendi_walk(struct sender *s, const struct ss_id *root, int mark_only);
int ss_sendi_mark_base(struct sender *s, const struct ss_snap *base);

#endif /* SS_POOL_SENDINT_H */
