/*
 * pool: the zfs-like layer.  Pools (a directory with a catalog, packs and
 * a lock), datasets with inherited properties, encryption roots and their
 * keys, snapshots, restore, rollback and destroy with space reclaim.  The
 * CLI is a thin layer over this header; nothing here prints or exits.
 */
#ifndef SS_POOL_H
#define SS_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "keys/keys.h"
#include "store/store.h"

#define SS_NAME_MAX 255
#define SS_POOL_FORMAT "snapseal pool v1"

/* ---------- names ---------- */

/*
 * ss_name_check(name, what): validate a dataset name ("pool/a/b"), a
 * snapshot name ("pool/a@s") or a bookmark name ("pool/a#b") as zfs does:
 * components of [A-Za-z0-9_.:-], not empty, not "." or "..", at most
 * SS_NAME_MAX bytes.  ${what} is a mask of SS_NAME_DS|SS_NAME_SNAP|
 * SS_NAME_BOOKMARK that is accepted.  SS_EINVAL with a detail otherwise.
 */
#define SS_NAME_DS 1
#define SS_NAME_SNAP 2
#define SS_NAME_BOOKMARK 4
int ss_name_check(const char *name, int what);

/* ss_name_pool(name, out, outlen): the pool part (before the first /@#). */
int ss_name_pool(const char *name, char *out, size_t outlen);

/* ---------- pools ---------- */

struct ss_pool {
	char *name;
	char *dir;		/* absolute path of the pool directory */
	struct ss_cat *cat;
	uint64_t guid;
	int lockfd;
	int writable;
	struct ss_packr *packr;	/* opened lazily by ss_pool_packr */
	void (*warn)(void *arg, const char *msg);	/* optional */
	void *warnarg;
};

/* ss_pool_home(&home): $SNAPSEAL_HOME, or /var/lib/snapseal for root, or
 * $HOME/.local/share/snapseal.  Newly allocated. */
int ss_pool_home(char **home);

/*
 * ss_pool_create(name, dir, mountpoint, &pool): create a pool (in
 * $SNAPSEAL_HOME/NAME, or in ${dir} with a symlink in the home) and its
 * root dataset NAME with mountpoint ${mountpoint} (default "/NAME").
 * The pool is complete only once its marker file is written.
 */
int ss_pool_create(const char *name, const char *dir, const char *mountpoint,
    struct ss_pool **out);

/* ss_pool_open(name, flags, &pool): open an existing pool. */
#define SS_POOL_WRITE 1
/*
 * SS_POOL_NOLOCK: take no pool lock (send): a "send | receive" into the
 * same pool would otherwise wait on itself.  Readers see committed
 * catalog states (SQLite WAL); a destroy running meanwhile can make the
 * send fail cleanly, never send something wrong.
 */
#define SS_POOL_NOLOCK 2
/*
 * ss_pool_lock(p): take the lock now, for a pool opened with
 * SS_POOL_NOLOCK (with SS_POOL_WRITE: exclusive).  receive opens its pool so
 * and locks it once the stream has begun: "send -t $(get ...) | receive"
 * must not make the get wait behind a receive that waits for the send.
 */
int ss_pool_lock(struct ss_pool *p);

/*
 * ss_pool_resume_key(p, key): the pool's own random secret (catalog meta
 * "resume-key", made on first use for older pools) that tags the streams it
 * sends, so that "send -t" refuses a resume token a receiver edited.
 */
#define SS_META_RESUME_KEY "resume-key"
int ss_pool_resume_key(struct ss_pool *p, uint8_t key[SS_KEY_LEN]);
int ss_pool_open(const char *name, int flags, struct ss_pool **out);
void ss_pool_close(struct ss_pool *p);

/* ss_pool_names(&names, &n): pools registered in the home, sorted. */
int ss_pool_names(char ***names, size_t *n);
void ss_strv_free(char **v, size_t n);

/*
 * ss_pool_destroy(name, force): remove a pool and everything in it.  Without
 * ${force}, refused (SS_EBUSY) while it holds snapshots.
 */
int ss_pool_destroy(const char *name, int force);

/*
 * ss_pool_scrub(p, stats, cb, arg): verify, without any key, every indexed
 * object (read from its pack, checksum and framing checked), that every
 * reference and every snapshot root is present.  Each problem is passed to
 * ${cb} as a line and counted in stats->errors; the return value is about
 * the scrub itself (I/O), not what it found.
 */
struct ss_scrub_stats {
	uint64_t objects, bytes, snapshots, errors;
};
typedef void (*ss_scrub_cb)(void *arg, const char *msg);
int ss_pool_scrub(struct ss_pool *p, struct ss_scrub_stats *st,
    ss_scrub_cb cb, void *arg);

/* ss_pool_packr(p): the pool's shared pack reader. */
struct ss_packr *ss_pool_packr(struct ss_pool *p);

/* ss_pool_usage(p, &size, &alloc, &free): bytes, as for zpool list. */
int ss_pool_usage(struct ss_pool *p, uint64_t *size, uint64_t *alloc,
    uint64_t *avail);

void ss_pool_warn(struct ss_pool *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---------- properties ---------- */

/* Property flags. */
enum {
	SS_PF_INHERIT = 0x01,	/* value inherited down the tree */
	SS_PF_READONLY = 0x02,	/* statistics and identity */
	SS_PF_CREATEONLY = 0x04,	/* settable only at create */
	SS_PF_NUMBER = 0x08,	/* numeric: right-aligned, -p exact */
	SS_PF_SIZE = 0x10,	/* a size in bytes: human unless -p */
	SS_PF_FS = 0x20,	/* applies to filesystems */
	SS_PF_SNAP = 0x40,	/* applies to snapshots */
	SS_PF_BOOKMARK = 0x80,	/* applies to bookmarks */
	SS_PF_HIDDEN = 0x100,	/* not listed by "get all" */
	SS_PF_CRYPT = 0x200	/* omitted by "get all" when not encrypted */
};

struct ss_propdef {
	const char *name;
	const char *header;	/* column header for list */
	int flags;
};

/* ss_prop_find(name): the definition, or NULL (user props are not here). */
const struct ss_propdef *ss_prop_find(const char *name);
/* ss_prop_table(&n): the table in "get all" order. */
const struct ss_propdef *ss_prop_table(size_t *n);
/* ss_prop_is_user(name): "module:name" form. */
int ss_prop_is_user(const char *name);

/* A resolved property value. */
enum ss_source {
	SS_SOURCE_NONE = 0,	/* "-" */
	SS_SOURCE_DEFAULT,
	SS_SOURCE_LOCAL,
	SS_SOURCE_INHERITED,	/* from ->from */
	SS_SOURCE_RECEIVED
};

/* The longest property value, with its NUL (zfs's ZAP_MAXVALUELEN). */
#define SS_PROPVAL_MAX 8192

struct ss_propval {
	char value[SS_PROPVAL_MAX];	/* display value ("-": not applicable) */
	char exact[SS_PROPVAL_MAX];	/* exact value (bytes, seconds) */
	int source;
	char from[SS_NAME_MAX + 1];	/* for SS_SOURCE_INHERITED */
	int applies;		/* 0: the property does not apply here */
};

/* An object that properties are read from: a dataset or a snapshot. */
struct ss_obj_ref {
	struct ss_ds ds;
	struct ss_snap snap;	/* valid when kind != 0 */
	int kind;		/* 0 filesystem, SS_SNAP, SS_BOOKMARK */
};

/* ss_nicenum(n, out, len): zfs_nicenum style: 0B, 512B, 24K, 1.00G, 15.4G. */
void ss_nicenum(uint64_t n, char *out, size_t len);

/* ss_resolve(p, name, ref): look up a dataset, snapshot or bookmark. */
int ss_resolve(struct ss_pool *p, const char *name, struct ss_obj_ref *ref);
void ss_obj_ref_clear(struct ss_obj_ref *ref);

/* ss_prop_get(p, ref, name, v): resolve one property (user props too). */
int ss_prop_get(struct ss_pool *p, const struct ss_obj_ref *ref,
    const char *name, struct ss_propval *v);

/* ss_prop_set(p, ds, name, value): validate and set locally. */
int ss_prop_set(struct ss_pool *p, const struct ss_ds *ds, const char *name,
    const char *value);

/* ss_prop_inherit(p, ds, name): remove the local value. */
int ss_prop_inherit(struct ss_pool *p, const struct ss_ds *ds,
    const char *name);

/* ss_prop_user_names(p, ref, &names, &n): user props visible here. */
int ss_prop_user_names(struct ss_pool *p, const struct ss_obj_ref *ref,
    char ***names, size_t *n);

/* ---------- datasets ---------- */

struct ss_kv {
	const char *name;
	const char *value;
};

/*
 * ss_ds_create(p, name, props, nprops, parents): create a dataset with
 * local properties (validated; encryption, keyformat, keylocation,
 * pbkdf2iters handled as zfs create does, reading the new key from
 * keylocation).  With ${parents}, missing ancestors are created.
 */
int ss_ds_create(struct ss_pool *p, const char *name,
    const struct ss_kv *props, size_t nprops, int parents);

/*
 * ss_ds_destroy(p, name, flags, &freed): destroy a dataset (with
 * SS_DESTROY_RECURSIVE also its descendants) and all its snapshots.
 * SS_DESTROY_DRYRUN computes ${freed} and changes nothing.  The live
 * directory is never touched.
 */
#define SS_DESTROY_RECURSIVE 1
#define SS_DESTROY_DRYRUN 2
typedef void (*ss_destroy_cb)(void *arg, const char *name);
int ss_ds_destroy(struct ss_pool *p, const char *name, int flags,
    uint64_t *freed, ss_destroy_cb cb, void *arg);

/* ss_ds_latest(p, ds, s): the newest snapshot; SS_ENOENT if none. */
int ss_ds_latest(struct ss_pool *p, const struct ss_ds *ds, struct ss_snap *s);

/* ss_ds_mountpoint(p, ds, &path): the resolved mountpoint, allocated. */
int ss_ds_mountpoint(struct ss_pool *p, const struct ss_ds *ds, char **path);

/* ---------- keys ---------- */

/*
 * ss_ds_key_owner(p, root): the guid an encryption root's wrapped key is
 * bound to: its own, or for the top of a raw receive the sending root's
 * (kept in the internal property $keyowner).
 */
uint64_t ss_ds_key_owner(struct ss_pool *p, const struct ss_ds *root);
#define SS_PROP_KEYOWNER "$keyowner"	/* internal, never listed */

/* ss_ds_keystatus(p, ds): 0 unencrypted, 1 available, 2 unavailable. */
int ss_ds_keystatus(struct ss_pool *p, const struct ss_ds *ds);

/*
 * ss_key_load(p, ds, location, dryrun): load the key of encryption root
 * ${ds} (location NULL: its keylocation property).  Errors as zfs:
 * not encrypted, not an encryption root, already loaded, wrong key.
 */
int ss_key_load(struct ss_pool *p, const struct ss_ds *ds,
    const char *location, int dryrun);
int ss_key_unload(struct ss_pool *p, const struct ss_ds *ds);

/*
 * ss_key_change(p, ds, props, nprops): rewrap the master key of ${ds} (an
 * encryption root whose key is loaded) with a new key read from the new
 * keylocation; keyformat/keylocation/pbkdf2iters may change.
 */
int ss_key_change(struct ss_pool *p, const struct ss_ds *ds,
    const struct ss_kv *props, size_t nprops);

/*
 * ss_ds_keyset(p, ds, ks): the derived keys of ${ds}'s encryption root
 * (SS_ENOKEY "key not loaded" if unavailable).  For unencrypted datasets
 * returns 1 and leaves ${ks} zeroed.
 */
int ss_ds_keyset(struct ss_pool *p, const struct ss_ds *ds,
    struct ss_keyset *ks);

/* ---------- snapshots ---------- */

struct ss_snap_stats {
	uint64_t files, dirs, bytes_read, bytes_new, objects_new;
	uint64_t skipped_unchanged;	/* files not read: unchanged */
	uint64_t racy;	/* files read again: unchanged but racy (tree.h) */
};

/*
 * ss_snapshot(p, names, n, recursive): take snapshots "ds@snap" in one
 * transaction.  With ${recursive}, one name across each dataset's subtree.
 */
int ss_snapshot(struct ss_pool *p, const char *const *names, size_t n,
    int recursive, struct ss_snap_stats *stats);

/* Restore flags. */
#define SS_RESTORE_VERBOSE 1
#define SS_RESTORE_ROLLBACK 2	/* make the target equal the snapshot */
typedef void (*ss_restore_cb)(void *arg, const char *path);

/*
 * ss_restore(p, name, target, paths, npaths, flags, cb, arg): write the
 * snapshot ${name} (or the given paths of it) into ${target}.  Nothing is
 * written that was not authenticated; a file is created under a temporary
 * name and renamed into place only when complete.
 */
int ss_restore(struct ss_pool *p, const char *name, const char *target,
    const char *const *paths, size_t npaths, int flags, ss_restore_cb cb,
    void *arg);

/*
 * ss_rollback(p, name, recursive): make the live directory equal the
 * snapshot.  Refused while later snapshots exist unless ${recursive}
 * (then they are destroyed).
 */
int ss_rollback(struct ss_pool *p, const char *name, int recursive,
    ss_destroy_cb cb, void *arg);

/*
 * ss_snap_destroy(p, ds, spec, flags, &freed, cb, arg): destroy snapshots
 * named by ${spec} ("a", "a%c", "a,b,c%d") of dataset ${ds}; with
 * SS_DESTROY_RECURSIVE the same names in descendants too.
 */
int ss_snap_destroy(struct ss_pool *p, const char *dsname, const char *spec,
    int flags, uint64_t *freed, ss_destroy_cb cb, void *arg);

/* ---------- send and receive (docs/stream-format.md) ---------- */

#define SS_SEND_RAW 1
#define SS_SEND_REPLICATE 2	/* -R: descendants and earlier snapshots */
#define SS_SEND_INTERMEDIATE 4	/* -I: every snapshot after the base */
#define SS_SEND_PROPS 8		/* -p: properties (implied by -R) */
#define SS_SEND_DRYRUN 16	/* -n: estimate only, write nothing */
#define SS_SEND_COMPRESS 32	/* -c: compress decrypted objects */

enum ss_send_what {
	SS_SEV_BEGIN = 1,	/* a snapshot starts; bytes: stream so far */
	SS_SEV_PROGRESS,	/* an object went out; bytes: stream so far */
	SS_SEV_SNAP		/* a snapshot is out; bytes: its own share */
};

struct ss_send_event {
	int what;		/* enum ss_send_what */
	const char *ds;		/* dataset name */
	const char *snap;	/* "ds@snap" being sent */
	const char *from;	/* name of its base (no dataset), NULL if full */
	uint64_t bytes;
};

struct ss_send_opts {
	int flags;		/* SS_SEND_* */
	const char *from;	/* -i/-I: "@s", "ds@s", "#b", "ds#b" or NULL */
	const char *token;	/* -t: resume; name and from come from it */
	void (*cb)(void *arg, const struct ss_send_event *ev);
	void *arg;
};

struct ss_send_stats {
	uint64_t objects, objbytes, bytes;
};

struct ss_recv_stats {
	uint64_t objects, skipped, bytes;
};

/*
 * ss_send(p, name, opts, fd, stats): write a stream of snapshot ${name}
 * to ${fd}; with opts->from, only what is not reachable from that earlier
 * snapshot or bookmark.  Objects travel as stored for raw streams
 * (SS_SEND_RAW) and unencrypted datasets; encrypted datasets without
 * SS_SEND_RAW are sent decrypted (their key must be loaded).  With
 * SS_SEND_DRYRUN nothing is written and the stats are estimates from the
 * index.  opts->cb, if set, hears of every snapshot and object.
 */
int ss_send(struct ss_pool *p, const char *name,
    const struct ss_send_opts *opts, int fd, struct ss_send_stats *stats);
int ss_send_base(struct ss_pool *p, const struct ss_obj_ref *o,
    const char *from, struct ss_obj_ref *base);

#define SS_RECV_FORCE 1		/* -F: roll back to the incremental's base */
#define SS_RECV_DRYRUN 2	/* -n: check the whole stream, keep nothing */
#define SS_RECV_RESUMABLE 4	/* -s: keep what arrived if the stream is cut */

struct ss_recv_opts {
	int flags;		/* SS_RECV_* */
	const char *const *exclude;	/* -x: properties not taken */
	size_t nexclude;
	const struct ss_kv *set;	/* -o: set locally on the top */
	size_t nset;
};

/*
 * ss_receive_with(p, target, fd, opts, stats): read a stream into dataset
 * ${target} (created for a full stream; for an incremental it must hold
 * the stream's base, and with SS_RECV_FORCE later snapshots are destroyed
 * first).  Nothing becomes visible unless the whole stream checks out.
 * Needs no key for raw streams and unencrypted data.
 * ss_receive(p, target, fd, stats): the same with no options.
 */
int ss_receive_with(struct ss_pool *p, const char *target, int fd,
    const struct ss_recv_opts *opts, struct ss_recv_stats *stats);
int ss_receive(struct ss_pool *p, const char *target, int fd,
    struct ss_recv_stats *stats);

/*
 * ss_prop_receive(p, ds, name, value): a property carried by a stream, set
 * with source "received" (a local value still wins).  Only inheritable
 * and user properties are received; a bad value is SS_EINVAL.
 * ss_prop_clear_received(p, ds): forget every received property.
 */
int ss_prop_receive(struct ss_pool *p, const struct ss_ds *ds,
    const char *name, const char *value);
int ss_prop_clear_received(struct ss_pool *p, const struct ss_ds *ds);

/* ---------- resumable receives (lib/pool/resume.c) ---------- */

/* What a resume token names (docs/stream-format.md). */
struct ss_token {
	uint64_t flags;		/* SS_STREAMF_* of the interrupted stream */
	uint64_t dsguid, fromguid, toguid;
	uint64_t objects;	/* OBJECT records the receiver holds */
	char ds[SS_NAME_MAX + 1];	/* dataset name at the sender */
	char snap[SS_NAME_MAX + 1];	/* snapshot name (after '@') */
	uint8_t tag[32];	/* the sending pool's resume tag (send.c) */
};

/* ss_token_parse(s, t): check and decode "1-HEX-SUM" (SS_EINVAL if bad). */
int ss_token_parse(const char *s, struct ss_token *t);
/* ss_resume_token(p, ds, &s): the receive_resume_token (SS_ENOENT: none). */
int ss_resume_token(struct ss_pool *p, const struct ss_ds *ds, char **token);
/* ss_receive_abort(p, name): receive -A: drop a saved partial receive. */
int ss_receive_abort(struct ss_pool *p, const char *name);

/* ---------- bookmarks (lib/pool/bookmark.c) ---------- */

struct ss_idset;

/*
 * ss_bookmark(p, snap, bookmark): "pool/a@s" -> "pool/a#b" (or "#b"), or a
 * copy "pool/a#b" -> "pool/a#c"; one of the two names may be abbreviated
 * and takes the other's dataset, which must be the same.  The bookmark
 * keeps the snapshot's guid, createtxg, creation and root, and the set of
 * object identifiers its snapshot reached (docs/format.md 3.9), so that an
 * incremental can be sent from it after the snapshot is destroyed.  It
 * holds no reference.  One transaction; needs no key.  SS_EEXIST "bookmark
 * exists", SS_ENOENT "snapshot does not exist", SS_EINVAL for names.
 */
int ss_bookmark(struct ss_pool *p, const char *snap, const char *bookmark);

/*
 * ss_bookmark_destroy(p, name, flags, cb, arg): destroy bookmark "pool/a#b"
 * (${cb} is told its name); with SS_DESTROY_DRYRUN nothing changes.  It
 * frees no space: a bookmark holds no data.
 */
int ss_bookmark_destroy(struct ss_pool *p, const char *name, int flags,
    ss_destroy_cb cb, void *arg);

/*
 * ss_bookmark_ids(p, bm, set): add to ${set} every object identifier the
 * bookmark's snapshot reached (the receiver of an earlier stream holds them).
 * SS_EINVAL if ${bm} is not a bookmark; SS_ECORRUPT if its stored list is
 * missing or damaged.
 */
int ss_bookmark_ids(struct ss_pool *p, const struct ss_snap *bm,
    struct ss_idset *set);

/* Space accounting (stored bytes). */
int ss_snap_used(struct ss_pool *p, const struct ss_snap *s, uint64_t *used);
int ss_ds_used(struct ss_pool *p, const struct ss_ds *ds, uint64_t *used);

#endif /* SS_POOL_H */
