/*
 * scan.h: the inside of snapshot, private to lib/tree.
 *
 * These threads take part in a snapshot:
 *
 * - the walker (the caller's thread, snap.c) visits the tree depth-first
 *   in name order, cuts the files that changed into chunks, and alone
 *   drains the pipeline: it inserts index rows in submission order and
 *   encodes file maps and directory objects once what they name is known;
 * - scanners (scan.c, scanq.c) run ahead of the walker: they list
 *   directories, stat every entry, read the xattrs and symlink targets
 *   that may have changed, load the previous snapshot's directory objects,
 *   read small changed files whole, and have the kernel read ahead the
 *   start of the larger ones, so the walker seldom waits for the disk;
 * - the reader (sread.c) reads ahead of the walker the large files it
 *   cuts;
 * - sealers (pipe.c) compute chunk IDs, look them up in the index, and
 *   compress, encrypt and append to the pack the ones that are new.
 *
 * Every catalog call made while these threads run is made under the
 * pipeline's catalog lock (ss_pipe_catlock).
 */
#ifndef SS_TREE_SCAN_H
#define SS_TREE_SCAN_H

#include <pthread.h>
#include <sys/stat.h>

#include "tree/tree.h"

/* Files at most this large are read whole by the scanners: one chunk. */
#define SS_SCAN_FILE_MAX SS_CHUNK_MIN
/* ... and at most this many bytes of them per directory. */
#define SS_SCAN_NODE_BYTES (1u * 1024 * 1024)

struct ss_snode;

/* What the walker does with a scanned entry (ss_sent.how). */
enum {
	SE_META = 0,		/* nothing to read: metadata only */
	SE_REUSE,		/* regular file, stat unchanged: previous content */
	SE_DATA,		/* regular file read whole by a scanner */
	SE_READ,		/* regular file the walker reads */
	SE_DIR,			/* directory: ${child} */
	SE_SOCKET		/* left out, with a warning */
};

/*
 * One entry of a scanned directory: ${e} is what its directory object
 * will hold; e.cid, e.ckind and e.subtree of files and directories are
 * filled in as the pipeline drains.
 */
struct ss_sent {
	struct ss_ent e;
	uint8_t how;
	int err;		/* non-zero: the walker fails with ${errmsg} */
	char *errmsg;
	uint64_t lsize;		/* st_size from lstat */
	const struct ss_ent *prev;	/* same name in the previous snapshot */
	uint8_t *data;		/* SE_DATA: e.size bytes in the node's fdata */
	struct ss_buf xa;	/* xattrs read now (else e.xattrs is prev's) */
	char *target;		/* symlink target read now */
	struct ss_snode *child;	/* SE_DIR, once it is being scanned */
	uint32_t hpos;		/* SE_DIR: 1 + its place in the heap, or 0 */
	int haveloc;		/* SE_DIR: where its previous object is */
	struct ss_loc prevloc;
	uint8_t pfhow;		/* read ahead how (SS_RA_*): SE_DATA in a
				   light node, SE_READ */
	uint8_t racy;		/* unchanged but racy (tree.h): read again */
};

/*
 * How a scanner had the kernel read a file ahead (ss_sent.pfhow): not at
 * all; yes; yes, and nothing of it was cached before, so its pages are
 * dropped once it is read.
 */
enum { SS_RA_NONE = 0, SS_RA_KEEP, SS_RA_DROP };

/* A directory being scanned, or scanned (scanq.c). */
struct ss_snode {
	struct ss_snode *parent;	/* NULL for the root */
	struct ss_sent *pe;	/* its entry in the parent */
	char *path;
	int fd;			/* open directory, or -1 (scan.c, fd_done) */
	int fdheld;		/* ... counted among the scanned ahead */
	size_t kids;		/* subdirectories not scanned yet */
	int needfd;		/* the walker reads files in it */
	int state;
	int retry;		/* a scanner ran out of descriptors */
	int light;		/* SE_DATA files read ahead, not read yet */
	int err;		/* non-zero: the walker fails with ${errmsg} */
	char *errmsg;
	struct stat st;		/* fstat of the open directory */
	struct ss_buf xa;	/* own xattrs read now (else borrowed) */
	const uint8_t *xattrs;
	size_t xattrslen;
	int empty;		/* another filesystem or dataset: no entries */
	int haveprev;		/* prev: the previous snapshot's object */
	struct ss_dir prev;
	struct ss_id previd;
	uint32_t prevlen;	/* its stored length */
	int haveloc;		/* where prev is, looked up by the parent */
	struct ss_loc prevloc;
	size_t inl;		/* the walker: bytes of its files inline */
	struct ss_sent *v;
	size_t n;
	char *names;		/* the entries' names, NUL-terminated */
	size_t acct;		/* bytes counted against the look-ahead */
	uint8_t *fdata;		/* the SE_DATA files, one after the other */
	size_t fbytes;
	size_t rabytes;		/* of its SE_READ files read ahead */
	size_t racct;		/* counted as read ahead (scanq.c) */
	struct ss_id *idout;	/* where its ID and size go (the walker) */
	uint64_t *accout;
	uint32_t *key;		/* its place in the walk: entry indexes */
	size_t klen;
	struct ss_snode *anext, *aprev;	/* every live node */
};

/* A scanning thread's own pack reader, object context and scratch. */
struct ss_sctx {
	struct ss_tree lt;		/* pr, oc and scratch only: no catalog */
	uint64_t rapack, rablk;		/* the last block read ahead */
	uint8_t *dents;
	char tbuf[4096];
};
/*
 * ss_sctx_init(t, cx, prlock): a context that reads packs through t->pr,
 * under ${prlock}; ss_sctx_fini(cx).
 */
int ss_sctx_init(struct ss_tree *t, struct ss_sctx *cx,
    pthread_mutex_t *prlock);
void ss_sctx_fini(struct ss_sctx *cx);

/*
 * ss_scan_node(t, node, cx, walker): scan ${node} (scan.c) with the
 * context ${cx}; errors are kept in the node and its entries.  A scanner
 * (!${walker}) that runs out of descriptors sets node->retry instead.
 * A light scan (node->light) only has the kernel read its small changed
 * files ahead; ss_scan_data(t, node) reads them, on the walker.
 */
void ss_scan_data(struct ss_tree *t, struct ss_snode *node);
void ss_scan_node(struct ss_tree *t, struct ss_snode *node,
    struct ss_sctx *cx, int walker);

/*
 * ss_scan_start(t, nthreads): scanners for the walk of ${t}; nthreads 0
 * (or too few descriptors allowed) makes the walker scan each directory
 * when it gets there.  ss_scan_stop(t) stops them and frees every node
 * still alive.
 */
int ss_scan_start(struct ss_tree *t, int nthreads);
void ss_scan_halt(struct ss_tree *t);	/* stop the threads only */
void ss_scan_stop(struct ss_tree *t);

/*
 * ss_scan_root(t, fd, path, prevent, &node): the root directory open at
 * ${fd} (the node owns it from now on, also on failure) whose entry in
 * the previous snapshot is ${prevent} (NULL: none), scanned.
 */
int ss_scan_root(struct ss_tree *t, int fd, const char *path,
    const struct ss_ent *prevent, struct ss_snode **out);

/*
 * ss_scan_child(t, node, se): the node of the subdirectory ${se} of
 * ${node}, scanned (waiting for a scanner, or scanning it); NULL without
 * memory.
 */
struct ss_snode *ss_scan_child(struct ss_tree *t, struct ss_snode *node,
    struct ss_sent *se);

/*
 * ss_scan_fdata(t, n): a buffer for the ${n} (<= SS_SCAN_NODE_BYTES) bytes
 * of a node's small files, NULL without memory; ss_scan_fdata_put(t, p,
 * n) wipes it and gives it back.  They come from an arena of their own:
 * through malloc, glibc's sliding mmap threshold would soon put them on
 * the heap, where the holes they leave stay resident.
 */
uint8_t *ss_scan_fdata(struct ss_tree *t, size_t n);
void ss_scan_fdata_put(struct ss_tree *t, uint8_t *p, size_t n);

/* ss_scan_close(t, node): the walker is done with its descriptor. */
void ss_scan_close(struct ss_tree *t, struct ss_snode *node);

/* ss_scan_free(t, node): free a walked node (its children are not). */
void ss_scan_free(struct ss_tree *t, struct ss_snode *node);

/*
 * The reader (sread.c), one per snapshot.  ss_sread_begin(rd, fd, off,
 * end) starts reading the region [off, end) of ${fd}; ss_sread_next gives
 * its next block (*n 0 at the end; SS_ECHANGED if the file ended early),
 * ss_sread_release hands it back; ss_sread_end stops reading (always
 * before ${fd} is closed).
 */
struct ss_sread;
int ss_sread_new(struct ss_sread **out);
void ss_sread_free(struct ss_sread *rd);
int ss_sread_begin(struct ss_sread *rd, int fd, uint64_t off, uint64_t end);
int ss_sread_next(struct ss_sread *rd, const uint8_t **p, size_t *n);
void ss_sread_release(struct ss_sread *rd);
void ss_sread_end(struct ss_sread *rd);
struct ss_sread *ss_pipe_reader(struct ss_tree *t);

/* Helpers shared with snap.c. */
ssize_t ss_snap_pread(int fd, void *buf, size_t n, uint64_t off);
/* ss_snap_open(dirfd, name): a file of the tree opened to be read, or -1. */
int ss_snap_open(int dirfd, const char *name);
int ss_snap_same_stat(const struct stat *a, const struct stat *b);
void ss_snap_fill_stat(struct ss_ent *e, const struct stat *st);
/*
 * sfile.c, for the walker: ss_snap_capture_file(t, d, se) reads the regular
 * file ${se} of ${d} into chunks (again while it changes) and its file
 * map; ss_snap_store_data(t, d, se) stores a file a scanner read whole;
 * ss_snap_reuse_inline(t, d, se) keeps an unchanged file that was inline.
 */
int ss_snap_capture_file(struct ss_tree *t, struct ss_snode *d,
    struct ss_sent *se);
int ss_snap_store_data(struct ss_tree *t, struct ss_snode *d,
    struct ss_sent *se);
int ss_snap_reuse_inline(struct ss_tree *t, struct ss_snode *d,
    struct ss_sent *se);

/*
 * The pipeline (pipe.c).  A chunk job takes ownership of ${buf} from
 * ss_pipe_bigbuf, ${used} (> 0) bytes of it written; with used 0 it only
 * borrows ${buf}, which must stay valid until the job is drained.  Its ID
 * goes to *${idout} and its stored size is added to *${acc} when it is
 * drained.  A mark
 * calls fn(t, arg) on the walker's thread when it is drained, after
 * everything submitted before it; fn then owns ${arg}, else freefn(arg)
 * frees it when the pipeline stops (NULL: nothing to free).
 * ss_pipe_store stores an object at once (the walker's file maps and
 * directories).  ss_pipe_defer_free frees ${arg} when the pipeline stops
 * (what jobs in flight may still point into).
 */
uint8_t *ss_pipe_bigbuf(struct ss_tree *t);
/* ss_pipe_zeros(t): SS_PIPE_BIGBUF zero bytes, read-only, for ss_pipe_chunk */
uint8_t *ss_pipe_zeros(struct ss_tree *t);
/* ss_pipe_putbuf(t, buf, used): give back a big buffer written to ${used}. */
void ss_pipe_putbuf(struct ss_tree *t, uint8_t *buf, size_t used);
#define SS_PIPE_BIGBUF SS_CHUNK_MAX
/*
 * ss_pipe_chunk's ${fpout} (a file map's chunk, in an encrypted dataset):
 * where the sealer writes the chunk's fingerprint; ${cand} (the chunk at
 * the same place in the previous version of the file, with the same length,
 * or NULL): a chunk of its fingerprint takes its ID without being hashed.
 */
struct ss_fpcand {
	struct ss_id id;
	uint8_t fp[SS_FP_LEN];
};
int ss_pipe_chunk(struct ss_tree *t, uint8_t *buf, size_t n, size_t used,
    struct ss_id *idout, uint64_t *acc, uint8_t *fpout,
    const struct ss_fpcand *cand);
int ss_pipe_mark(struct ss_tree *t, int (*fn)(struct ss_tree *, void *),
    void (*freefn)(void *), void *arg, size_t acct);
int ss_pipe_store(struct ss_tree *t, uint8_t type, const void *p, size_t n,
    struct ss_id *refs, uint32_t nrefs, struct ss_id *id, uint64_t *acc);
void ss_pipe_defer_free(struct ss_tree *t, void (*freefn)(void *),
    void *arg);
/* ss_pipe_kick(t): the walker is about to wait: wake the sealers. */
void ss_pipe_kick(struct ss_tree *t);
void ss_pipe_catlock(struct ss_tree *t);
void ss_pipe_catunlock(struct ss_tree *t);
struct ss_buf *ss_pipe_scratch(struct ss_tree *t);

#endif /* SS_TREE_SCAN_H */
