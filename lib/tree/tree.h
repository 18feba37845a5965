/*
 * tree: capturing a directory tree into objects (snapshot) and writing it
 * back (restore, rollback).
 *
 * A directory object holds its entries sorted by name; each entry carries
 * the file's metadata and, for content, the ID of a chunk (small files), of
 * a file map (large or sparse files) or of a subdirectory object.  Equal
 * subtrees give equal objects, so snapshots share them.
 */
#ifndef SS_TREE_H
#define SS_TREE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "catalog/catalog.h"
#include "chunk/chunk.h"
#include "store/store.h"

#define SS_DIR_VERSION 2		/* written; 1 is still read */
#define SS_DIR_VERSION_V1 1
#define SS_FILE_VERSION 1
#define SS_FILE_VERSION_FP 2	/* with chunk fingerprints */
#define SS_XATTR_MAX (64u * 1024)	/* one value */
#define SS_XATTRS_MAX (1u << 20)	/* all of one entry */

enum ss_ftype {
	SS_FT_REG = 1,
	SS_FT_DIR = 2,
	SS_FT_LNK = 3,
	SS_FT_FIFO = 4,
	SS_FT_CHR = 5,
	SS_FT_BLK = 6
};

enum ss_ckind {
	SS_CK_NONE = 0,		/* empty file, symlink, special */
	SS_CK_CHUNK = 1,	/* whole content is one chunk */
	SS_CK_FILE = 2,		/* a file map object */
	SS_CK_DIR = 3,		/* a directory object */
	SS_CK_INLINE = 4	/* version 2: the bytes are in the entry */
};

/* ss_ck_has_id(ckind): the content is an object, named by the entry's cid. */
static inline int
ss_ck_has_id(uint8_t ckind)
{
	return ckind == SS_CK_CHUNK || ckind == SS_CK_FILE ||
	    ckind == SS_CK_DIR;
}

/*
 * A regular file of 1 to SS_INLINE_MAX bytes is stored in its directory's
 * object (SS_CK_INLINE) rather than as a chunk of its own, while the
 * object holds at most SS_INLINE_DIR_MAX bytes of such files: what a
 * chunk's framing, index row and reference would cost is about the size
 * of such a file compressed (docs/format.md 6.1).
 */
#define SS_INLINE_MAX 1024u
#define SS_INLINE_DIR_MAX (64u * 1024)

/* One decoded directory entry; pointers borrow from the object buffer. */
struct ss_ent {
	const char *name;
	size_t namelen;
	uint8_t type;
	uint8_t ckind;
	uint32_t mode;		/* st_mode & 07777 */
	uint32_t uid, gid;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	int64_t ctime_sec;
	uint32_t ctime_nsec;
	uint64_t ino;
	uint64_t size;
	uint64_t hlgroup;	/* non-zero: hard-link group within the snapshot */
	uint64_t rdev;
	uint64_t subtree;	/* stored bytes of the content (estimate) */
	struct ss_id cid;
	const uint8_t *data;	/* SS_CK_INLINE: its ${size} bytes */
	const char *target;	/* symlink target */
	size_t targetlen;
	const uint8_t *xattrs;	/* encoded xattr list */
	size_t xattrslen;
};

/* A decoded directory object. */
struct ss_dir {
	struct ss_buf raw;	/* payload; entries point into it */
	struct ss_ent *ents;
	size_t n;
};
void ss_dir_free(struct ss_dir *d);
/*
 * ss_dir_decode(p, n, refs, nrefs, d): untrusted input, takes ownership of
 * nothing.  ${refs} are the object's header references (${nrefs} IDs of
 * SS_ID_LEN bytes, sorted), which a version 2 object's entries name by
 * their place.  The caller still checks that the entries name every one.
 */
int ss_dir_decode(const uint8_t *p, size_t n, const uint8_t *refs,
    size_t nrefs, struct ss_dir *d);
/*
 * ss_dir_encode(v, n, out, &refs, &nrefs): append the directory object of
 * the ${n} entries ${v} (sorted by name) to ${out}, in the current
 * version; *refs (malloc'd) gets its header references, sorted, unique.
 */
int ss_dir_encode(const struct ss_ent *const *v, size_t n,
    struct ss_buf *out, struct ss_id **refs, size_t *nrefs);
/* ss_dir_find(d, name, len): binary search, NULL if absent. */
const struct ss_ent *ss_dir_find(const struct ss_dir *d, const char *name,
    size_t len);
/*
 * ss_ent_encode_v1(e, out): append one entry of a version 1 object, which
 * is no longer written: for the tests that read them.
 */
int ss_ent_encode_v1(const struct ss_ent *e, struct ss_buf *out);

/* ss_filemap_extlen(version): bytes of one extent of a file map. */
static inline size_t
ss_filemap_extlen(uint8_t version)
{
	return 12 + SS_ID_LEN + (version == SS_FILE_VERSION_FP ? SS_FP_LEN : 0);
}

/*
 * ss_tree_remap(type, p, n, hrefs, nhrefs, map, arg, out, &refs, &nrefs):
 * copy a payload of ${type}, whose object's header references are the
 * ${nhrefs} IDs at ${hrefs}, into ${out} with every object identifier it
 * names replaced by map(arg, id, &new); ${refs} (malloc'd, sorted, unique)
 * receives the new identifiers.  A chunk names nothing: it must claim no
 * header references, ${out} is left empty and the payload stays the
 * result, not copied (ss_tree_remapped).  A file
 * map is copied without its chunk fingerprints (version 1): they are
 * secrets of the dataset that made them (docs/crypto.md), worth nothing
 * under another key.  A directory is written in the current version.  The
 * payload is untrusted.
 */
typedef int (*ss_remap_fn)(void *arg, const uint8_t *id, struct ss_id *out);
/*
 * ss_tree_remapped(type, p, n, out, &len): what ss_tree_remap made of the
 * payload ${p} (${n} bytes) into ${out}: the bytes, their count in *len.
 */
static inline const uint8_t *
ss_tree_remapped(uint8_t type, const uint8_t *p, size_t n,
    const struct ss_buf *out, size_t *len)
{
	*len = type == SS_OT_CHUNK ? n : out->len;
	return type == SS_OT_CHUNK ? p : out->p;
}
int ss_tree_remap(uint8_t type, const uint8_t *p, size_t n,
    const uint8_t *hrefs, size_t nhrefs, ss_remap_fn map, void *arg,
    struct ss_buf *out, struct ss_id **refs, uint32_t *nrefs);

/* Everything the tree code needs: set up by the pool layer. */
struct ss_tree {
	struct ss_cat *cat;
	struct ss_objctx *oc;
	struct ss_chunker *ch;
	struct ss_packw *pw;	/* writing; NULL for restore */
	struct ss_packw *pwdir;	/* snapshot: file maps, directories */
	struct ss_packr *pr;
	pthread_mutex_t *prlock;	/* snapshot: guards pr, shared by threads */
	void (*warn)(void *arg, const char *msg);
	void *warnarg;
	/* snapshot: absolute paths not to descend into (child mountpoints) */
	char **skip;
	size_t nskip;
	/*
	 * snapshot: the previous snapshot's entries whose ctime is before
	 * this instant (ns since the epoch) are settled (ss_ent_settled)
	 */
	int64_t settled_ns;
	/* statistics */
	uint64_t files, dirs, bytes_read, bytes_new, objects_new, logical;
	uint64_t reused, racy;
	/* objects created by this run (so that unreferenced ones are dropped) */
	struct ss_id *newids;
	size_t nnew, capnew;
	struct ss_pipe *pipe;	/* snapshot: its threads (pipe.c) */
	struct ss_scan *scan;	/* snapshot: its scanners (scan.c) */
	/* scratch */
	struct ss_buf obj, pt, io;
	struct ss_buf hrefs;	/* visible references of the last loaded object */
	dev_t rootdev;
	int euid;
	/*
	 * snapshot of an encrypted dataset: the key of the chunk fingerprints
	 * stored in file maps (docs/format.md 6.2), wiped by ss_tree_release
	 */
	uint8_t k_fp[SS_KEY_LEN];
	int fp_on;
};

void ss_tree_init(struct ss_tree *t);

/*
 * Racy entries.  A file system stamps a change with the time of its
 * clock's last tick (up to 10 ms old; on Linux before 6.13, ctime too),
 * or rounds it (to 1 s on ext3 with small inodes, 2 s on FAT), so a file
 * changed again within the tick in which a snapshot stat'ed and read it
 * keeps the size, mtime and ctime that snapshot recorded, and comparing
 * them cannot see the second change.  An entry of a snapshot whose ctime
 * is less than SS_RACY_NS before the snapshot began (or after it) is racy,
 * as git calls such index entries: its content is never taken as
 * unchanged on its stat alone.  The next snapshot reads it again, a
 * rollback compares it.
 */
#define SS_RACY_NS 2000000000LL

/*
 * ss_ent_settled(e, before): ${e}'s ctime is before ${before} (ns since
 * the epoch; a snapshot's creation less SS_RACY_NS).
 */
static inline int
ss_ent_settled(const struct ss_ent *e, int64_t before)
{
	int64_t s = before / 1000000000LL, ns = before % 1000000000LL;

	if (ns < 0) {
		s--;
		ns += 1000000000LL;
	}
	return e->ctime_sec < s || (e->ctime_sec == s &&
	    (int64_t)e->ctime_nsec < ns);
}

/* ss_settled_before(creation_ns): where a snapshot's settled entries end. */
static inline int64_t
ss_settled_before(int64_t creation_ns)
{
	return creation_ns > INT64_MIN + SS_RACY_NS ? creation_ns - SS_RACY_NS :
	    INT64_MIN;
}

/* ss_tree_path_err(r, path): prefix the current error detail with ${path}. */
int ss_tree_path_err(int r, const char *path);
void ss_tree_release(struct ss_tree *t);	/* frees scratch, not handles */

/*
 * ss_tree_load(t, id, type, out): read, authenticate and decode one object,
 * which must be of ${type}.  SS_ECORRUPT if missing or damaged.
 */
int ss_tree_load(struct ss_tree *t, const struct ss_id *id, uint8_t type,
    struct ss_buf *out);
int ss_tree_load_dir(struct ss_tree *t, const struct ss_id *id,
    struct ss_dir *d);
/*
 * ss_tree_load_at(t, id, loc, type, out), ss_tree_load_dir_at(t, id, loc,
 * d): the same for an object whose index location is known; they use no
 * catalog.
 */
int ss_tree_load_at(struct ss_tree *t, const struct ss_id *id,
    const struct ss_loc *loc, uint8_t type, struct ss_buf *out);
int ss_tree_load_dir_at(struct ss_tree *t, const struct ss_id *id,
    const struct ss_loc *loc, struct ss_dir *d);

/*
 * ss_tree_check_refs(t, ids, n): the last loaded object's visible reference
 * list must equal the IDs its contents name (sorted in place).  For
 * unencrypted objects the list is covered only by a keyless checksum; a
 * forged list would mislead space reclaim, so readers check it.
 */
int ss_tree_check_refs(struct ss_tree *t, struct ss_id *ids, size_t n);

/*
 * ss_tree_store(t, type, p, n, refs, nrefs, id, acc): store an object
 * unless it exists; new objects get their children's reference counts
 * raised.  Its stored size is added to *${acc}.  ${refs} is sorted in
 * place.  (Snapshot stores through its pipeline instead, scan.h.)
 */
int ss_tree_store(struct ss_tree *t, uint8_t type, const void *p, size_t n,
    struct ss_id *refs, uint32_t nrefs, struct ss_id *id, uint64_t *acc);

/*
 * ss_tree_index(t, id, loc, refs, nrefs): enter a newly stored object in
 * the catalog: its row (no references yet, ${nrefs} children) and one
 * more reference for each of its children.
 */
int ss_tree_index(struct ss_tree *t, const struct ss_id *id,
    const struct ss_loc *loc, const struct ss_id *refs, uint32_t nrefs);
/* ss_tree_newid(t, id, len, acc): account for a newly stored object. */
int ss_tree_newid(struct ss_tree *t, const struct ss_id *id, uint32_t len,
    uint64_t *acc);

/*
 * The threads of a snapshot (pipe.c, scan.c; see scan.h):
 * ss_pipe_start(t, nthreads, nscan) starts ${nthreads} sealing threads
 * (0: the walker seals) and ${nscan} scanners that read ahead of the walk
 * (0: the walker scans).  ss_pipe_drain waits for everything submitted
 * and indexes it; ss_pipe_stop stops the threads and frees what is left.
 */
int ss_pipe_start(struct ss_tree *t, int nthreads, int nscan);
int ss_pipe_drain(struct ss_tree *t);
void ss_pipe_stop(struct ss_tree *t);

/*
 * ss_tree_snapshot(t, dir, prev, root, refer): capture ${dir}.  ${prev} is
 * the root of the dataset's previous snapshot (NULL: none), used to skip
 * files whose (size, mtime, ctime, inode) did not change.
 */
int ss_tree_snapshot(struct ss_tree *t, const char *dir,
    const struct ss_id *prev, struct ss_id *root, uint64_t *refer);

/*
 * ss_tree_read_xattrs(fd, path, out): encode every extended attribute of
 * the open file ${fd} (or of ${path}, not followed, when fd < 0), sorted by
 * name, as stored in directory entries.
 */
int ss_tree_read_xattrs(int fd, const char *path, struct ss_buf *out);

/* Restore flags (same values as pool.h). */
#define SS_TR_VERBOSE 1
#define SS_TR_SYNC 2		/* rollback: delete extras, replace changed */

struct ss_restore_opts {
	int flags;
	const char *const *paths;	/* NULL: everything */
	size_t npaths;
	char **keep;		/* absolute paths never deleted (SYNC) */
	size_t nkeep;
	void (*cb)(void *arg, const char *path);
	void *cbarg;
	/*
	 * Threads that read, authenticate and write file contents beside the
	 * walking thread, each with its own pack reader on ${pooldir}; 0 (or
	 * no pooldir): everything on the calling thread.
	 */
	int nthreads;
	const char *pooldir;
	/*
	 * SYNC: a live file whose stat equals its entry's is kept without
	 * reading it only if the entry is settled before this instant
	 * (ss_ent_settled); others are compared
	 */
	int64_t settled_ns;
};

/* ss_tree_restore(t, root, target, opts): see pool.h ss_restore. */
int ss_tree_restore(struct ss_tree *t, const struct ss_id *root,
    const char *target, const struct ss_restore_opts *o);

#endif /* SS_TREE_H */
