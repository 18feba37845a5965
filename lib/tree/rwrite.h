/*
 * rwrite.h: the writing side of restore, private to lib/tree.
 *
 * restore.c walks the snapshot's directory objects on the calling thread
 * (it alone touches the catalog and the ss_tree scratch buffers) and hands
 * regular files to rwrite.c, whose worker threads (rjob.c) read each
 * file's chunks from the packs, authenticate them, write them at their
 * offsets, set the metadata and rename the file into place.  A directory
 * stays open until every entry in it is placed; the last one to finish
 * applies the directory's own metadata, so its mtime survives.
 */
#ifndef SS_TREE_RWRITE_H
#define SS_TREE_RWRITE_H

#include <pthread.h>
#include <stdatomic.h>

#include "tree/tree.h"

struct ss_rq;

/*
 * A directory being restored.  ${e} (its entry, borrowed from the parent's
 * object, NULL for the target) gives the metadata applied when the last
 * reference is dropped; ${d} is its decoded object, whose entries the
 * files in flight borrow.  The walker holds one reference while it walks.
 */
struct ss_rdir {
	struct ss_rdir *parent;
	int fd;
	char *path;
	char name[256];		/* in the parent */
	const struct ss_ent *e;
	struct ss_dir d;
	atomic_size_t refs;
	int top;		/* the target: closed by the walker */
};

/*
 * ss_rq_start(t, o, &q): a queue with o->nthreads workers (0: every file
 * is written on the calling thread when it is submitted).  Each worker has
 * its own object context and pack reader.
 */
int ss_rq_start(struct ss_tree *t, const struct ss_restore_opts *o,
    struct ss_rq **out);
/*
 * ss_rq_wait(q): wait until everything submitted is done and every
 * directory but the target is finished.  Returns the first error of the
 * walker (ss_rq_fail), a file or a directory, its detail (with the path)
 * set again on this thread, or 0.
 */
int ss_rq_wait(struct ss_rq *q);
/* ss_rq_free(q): wait, stop the workers, free the queue (NULL ok). */
void ss_rq_free(struct ss_rq *q);
/*
 * ss_rq_flush(q): hand the small files gathered so far to a worker (the
 * walker calls it when it leaves a directory).
 */
void ss_rq_flush(struct ss_rq *q);
/* ss_rq_failed(q): an error happened; the walker stops submitting. */
int ss_rq_failed(struct ss_rq *q);
/* ss_rq_fail(q, r): record the walker's error ${r} (its detail is kept). */
void ss_rq_fail(struct ss_rq *q, int r);
/* ss_rq_bytes(q): plaintext bytes written (after ss_rq_wait). */
uint64_t ss_rq_bytes(struct ss_rq *q);

/*
 * ss_rq_dir(q, parent, fd, path, name, e, &d): a directory entered by the
 * walker (takes ownership of ${fd}); the parent gains a reference.  May
 * wait for finished directories to be closed, so that descriptors stay
 * bounded.
 */
int ss_rq_dir(struct ss_rq *q, struct ss_rdir *parent, int fd,
    const char *path, const char *name, const struct ss_ent *e,
    struct ss_rdir **out);
/* ss_rq_dir_done(q, d): drop a reference; the last one finishes it. */
void ss_rq_dir_done(struct ss_rq *q, struct ss_rdir *d);
/*
 * ss_rq_top(q, d, fd, path): set up ${d} for the target directory; ${fd}
 * and ${path} stay the caller's, and so does d->d once ss_rq_wait returned.
 */
void ss_rq_top(struct ss_rq *q, struct ss_rdir *d, int fd, const char *path);

enum ss_rq_mode {
	SS_RQ_ASYNC = 0,	/* queued for a worker */
	SS_RQ_NOW = 1		/* placed before the call returns */
};

/*
 * ss_rq_file(q, d, e, path, mode): restore the regular file ${e} (an entry
 * of d->d) under its name in ${d}.  Its file map, if any, is loaded and
 * checked here, on the walker, and its chunks located in the catalog; the
 * chunks themselves are read, authenticated and written by the workers.
 * An error here is returned (the caller adds the path); an error of a
 * worker is returned by ss_rq_wait.  SS_RQ_NOW (the first link of a
 * hard-link group, which later links need under its name) writes the file
 * on the calling thread.
 */
int ss_rq_file(struct ss_rq *q, struct ss_rdir *d, const struct ss_ent *e,
    const char *path, enum ss_rq_mode mode);

/* ---------- rmeta.c ---------- */

/* How entries are finished: set once per restore, shared by every thread. */
struct ss_rctx {
	int sync;		/* SS_TR_SYNC: existing entries are replaced */
	int staged;		/* into a stage (restore.c): entries are */
				/* ... made under their own names */
	int euid;		/* not root: chown may fail (EPERM) */
	void (*warn)(void *arg, const char *msg);
	void *warnarg;
	pthread_mutex_t warnmu;	/* one warning at a time */
	uint64_t tmpbase;	/* temporary names: random, */
	atomic_uint_fast64_t tmpseq;	/* ... then counted */
};

/* ss_rq_ctx(q): the queue's context, for the walker. */
struct ss_rctx *ss_rq_ctx(struct ss_rq *q);

/* ss_rst_warn(c, what, path): "PATH: WHAT" through the warning callback. */
void ss_rst_warn(struct ss_rctx *c, const char *what, const char *path);
/*
 * ss_rst_tmpname(c, out): ".snapseal-" and 16 hex digits, unique within the
 * restore (a random base drawn once, then a counter: one getrandom per
 * restore, not per file).
 */
void ss_rst_tmpname(struct ss_rctx *c, char out[32]);
/*
 * ss_rst_made_as(c, name, tmp): the name to create an entry under: in a
 * stage its own, otherwise a new temporary name, written to ${tmp}.
 */
const char *ss_rst_made_as(struct ss_rctx *c, const char *name,
    char tmp[32]);
/*
 * ss_rst_apply_meta(c, fd, dirfd, name, path, e): owner, mode, xattrs,
 * times, in that order (chown clears setuid bits; an ACL must follow
 * chmod).  Uses ${fd} when >= 0, else (dirfd, name) without following
 * symlinks; ${path} names the entry in warnings (and sets the xattrs of an
 * entry that has no descriptor).
 */
int ss_rst_apply_meta(struct ss_rctx *c, int fd, int dirfd, const char *name,
    const char *path, const struct ss_ent *e);
/*
 * ss_rst_place(c, dirfd, tmp, name, path): move a finished temporary entry
 * to its name (in a stage it was made under its name: nothing to do).  In SYNC mode an existing entry is replaced (a directory in
 * the way is removed first); otherwise an existing name is an error.
 */
int ss_rst_place(const struct ss_rctx *c, int dirfd, const char *tmp,
    const char *name, const char *path);

/*
 * ss_rst_filemap(map, e, &ext, &n): decode and bound the extents of a file
 * map (ascending, non-overlapping, inside the file); *ext is malloc'd.
 */
struct ss_mext {
	uint64_t off;
	uint32_t len;
	struct ss_id id;
	int hasfp;		/* a version 2 map: ${fp} is its fingerprint */
	uint8_t fp[SS_FP_LEN];
};
int ss_rst_filemap(const struct ss_buf *map, const struct ss_ent *e,
    struct ss_mext **out, uint32_t *nout);

#endif /* SS_TREE_RWRITE_H */
