/*
 * space.h: internal to lib/pool: releasing object references and punching
 * freed ranges out of packs.
 */
#ifndef SS_SPACE_H
#define SS_SPACE_H

#include "pool/pool.h"

struct ss_freed {
	uint64_t pack, off, len;	/* len: stored object length */
};

struct ss_refmap;		/* a dry run's reference counts (space.c) */

struct ss_freelist {
	struct ss_freed *v;
	size_t n, cap;
	uint64_t bytes;		/* stored object bytes freed */
	struct ss_refmap *dry;	/* non-NULL: a dry run (ss_freelist_dry) */
};

/* ss_freelist_add(f, pack, off, objlen): a freed record (header + object). */
int ss_freelist_add(struct ss_freelist *f, uint64_t pack, uint64_t off,
    uint32_t objlen);
void ss_freelist_free(struct ss_freelist *f);
/*
 * ss_freelist_dry(f): make ${f} a dry run's: ss_release then counts the
 * references it drops in memory and changes nothing in the index, so the
 * objects and bytes it finds freed are exactly what the same releases
 * would free, at the cost of index reads only.  Past a bounded table (or
 * without memory) it goes on in the index, inside the dry run's
 * savepoint, with the same result.
 */
void ss_freelist_dry(struct ss_freelist *f);

/*
 * ss_release(p, root, f): drop one reference to ${root} inside the current
 * transaction, cascading to objects that reach zero; their ranges are
 * added to ${f}.  In a dry run (f->dry) the index is only read.
 */
int ss_release(struct ss_pool *p, const struct ss_id *root,
    struct ss_freelist *f);

/* ss_reclaim(p, f): after commit: punch the ranges, delete empty packs. */
void ss_reclaim(struct ss_pool *p, struct ss_freelist *f);

/*
 * ss_gc_packs(p): delete pack files that hold no indexed object: what a
 * failed or killed command left behind.  Needs the pool's exclusive lock.
 */
void ss_gc_packs(struct ss_pool *p);

/* Snapshot record MAC (snapops.c). */
int ss_snap_mac(const struct ss_keyset *ks, const struct ss_ds *ds,
    const struct ss_snap *s, uint8_t out[SS_HASH_LEN]);

/* Resume tokens and held objects (resume.c). */
int ss_token_pack(const struct ss_token *t, struct ss_buf *b);
int ss_token_unpack(const uint8_t *p, size_t n, struct ss_token *t);
char *ss_token_string(const uint8_t *p, size_t n);
/* ss_resume_release(p, ds, f): drop the holds and state of ${ds}, if any. */
int ss_resume_release(struct ss_pool *p, int64_t ds, struct ss_freelist *f);

#endif /* SS_SPACE_H */
