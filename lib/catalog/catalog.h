/*
 * catalog: the pool's transactional metadata in SQLite (the only module
 * that includes sqlite3.h): pool settings, datasets, properties, wrapped
 * keys, snapshots and bookmarks, and the object index with reference
 * counts and the count of objects per pack.  Every change a command makes is one transaction, committed only
 * after the pack files it points at are durable, so a crash leaves the pool
 * as it was before the command or as it is after it.
 */
#ifndef SS_CATALOG_H
#define SS_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define SS_CATALOG_VERSION 1

struct ss_cat;

/* ss_cat_open(path, create, out): open (or create) the catalog database. */
int ss_cat_open(const char *path, int create, struct ss_cat **out);
void ss_cat_close(struct ss_cat *c);
/*
 * ss_cat_cache_size(c, kib): let SQLite's page cache grow to ${kib} KiB
 * (64 MiB when opened); pages past it are read again, or spilled to the
 * WAL when dirty.
 */
int ss_cat_cache_size(struct ss_cat *c, int kib);

/* Transactions: begin takes the database write lock (BEGIN IMMEDIATE). */
int ss_cat_begin(struct ss_cat *c);
int ss_cat_commit(struct ss_cat *c);
void ss_cat_rollback(struct ss_cat *c);

/*
 * Read transactions: ss_cat_begin_read(c) starts one (BEGIN DEFERRED and a
 * first read, so that its snapshot is taken now), in which every later
 * statement reads the same snapshot without taking and dropping SQLite's
 * locks (fcntl calls, fstat) statement by statement: for long read-only
 * walks (send).  Inside a transaction already open it does nothing, and
 * the matching ss_cat_end_read(c) then does nothing either.  Only reads
 * may happen in between.  ss_cat_end_read accepts a catalog without one.
 */
int ss_cat_begin_read(struct ss_cat *c);
void ss_cat_end_read(struct ss_cat *c);

/*
 * Savepoints nest inside or outside a transaction: used to compute what a
 * destroy would free by doing it and rolling it back (dry runs, USED).
 */
int ss_cat_savepoint(struct ss_cat *c);
void ss_cat_rollback_savepoint(struct ss_cat *c);

/* Pool-wide key/value settings (name, guid, format version, txg). */
int ss_cat_meta_get(struct ss_cat *c, const char *key, char **val);
int ss_cat_meta_set(struct ss_cat *c, const char *key, const char *val);
/* ss_cat_next_txg(c, &txg): increment and return the pool's txg counter. */
int ss_cat_next_txg(struct ss_cat *c, uint64_t *txg);

/* ---------- datasets ---------- */

enum ss_ds_kind { SS_DS_CREATED = 1, SS_DS_RECEIVED = 2 };

struct ss_ds {
	int64_t id;
	char *name;
	int64_t parent;		/* 0 for the pool's root dataset */
	uint64_t guid;
	int64_t creation;	/* seconds since the epoch */
	uint64_t createtxg;
	int64_t encroot;	/* id of the encryption root, 0 if unencrypted */
	int kind;		/* enum ss_ds_kind */
};
void ss_ds_clear(struct ss_ds *d);	/* frees name */

int ss_cat_ds_add(struct ss_cat *c, struct ss_ds *d);	/* sets d->id */
int ss_cat_ds_get(struct ss_cat *c, const char *name, struct ss_ds *d);
int ss_cat_ds_get_id(struct ss_cat *c, int64_t id, struct ss_ds *d);
int ss_cat_ds_set_encroot(struct ss_cat *c, int64_t id, int64_t encroot);
/* ss_cat_ds_set_guid(c, id, guid, kind): a dataset overwritten by receive -F. */
int ss_cat_ds_set_guid(struct ss_cat *c, int64_t id, uint64_t guid, int kind);
int ss_cat_ds_del(struct ss_cat *c, int64_t id);	/* with its props/key */
/*
 * ss_cat_ds_list(c, prefix, &v, &n): datasets named ${prefix} or
 * ${prefix}/... (all when NULL), sorted by name.  Free with ss_ds_list_free.
 */
int ss_cat_ds_list(struct ss_cat *c, const char *prefix, struct ss_ds **v,
    size_t *n);
void ss_ds_list_free(struct ss_ds *v, size_t n);

/* ---------- properties ---------- */

enum ss_src { SS_SRC_LOCAL = 1, SS_SRC_RECEIVED = 2 };

/* ss_cat_prop_get: SS_ENOENT if not set with that source. */
int ss_cat_prop_get(struct ss_cat *c, int64_t ds, const char *name, int src,
    char **val);
int ss_cat_prop_set(struct ss_cat *c, int64_t ds, const char *name, int src,
    const char *val);
int ss_cat_prop_del(struct ss_cat *c, int64_t ds, const char *name, int src);
/* ss_cat_prop_names(c, ds, &names, &n): user property names set locally. */
int ss_cat_prop_names(struct ss_cat *c, int64_t ds, char ***names, size_t *n);

/* ---------- wrapped keys (one per encryption root) ---------- */

int ss_cat_key_get(struct ss_cat *c, int64_t root, struct ss_buf *blob);
int ss_cat_key_set(struct ss_cat *c, int64_t root, const void *p, size_t n);

/* ---------- snapshots and bookmarks ---------- */

enum ss_snap_kind { SS_SNAP = 1, SS_BOOKMARK = 2 };

struct ss_snap {
	int64_t id;
	int64_t ds;
	char *name;		/* the part after '@' or '#' */
	int kind;
	uint64_t guid;
	uint64_t createtxg;
	int64_t creation_ns;
	struct ss_id root;	/* root directory object */
	uint64_t prev_guid;	/* previous snapshot of the dataset, 0 if none */
	uint8_t mac[SS_HASH_LEN];	/* record MAC (or SHA-256 if plain) */
	uint64_t referenced;	/* stored bytes reachable (see docs) */
	uint64_t logical;	/* file bytes captured */
	uint64_t written;	/* stored bytes new in this snapshot */
	uint64_t nfiles;	/* entries captured */
};
void ss_snap_clear(struct ss_snap *s);

int ss_cat_snap_add(struct ss_cat *c, struct ss_snap *s);	/* sets id */
/* ss_cat_snap_get(c, ds, name, kind, s): SS_ENOENT if absent. */
int ss_cat_snap_get(struct ss_cat *c, int64_t ds, const char *name, int kind,
    struct ss_snap *s);
/* ss_cat_snap_list(c, ds, kind, &v, &n): ordered by createtxg. kind 0: both. */
int ss_cat_snap_list(struct ss_cat *c, int64_t ds, int kind,
    struct ss_snap **v, size_t *n);
void ss_snap_list_free(struct ss_snap *v, size_t n);
/* ss_cat_snap_del(c, id): the row, and the object list of a bookmark. */
int ss_cat_snap_del(struct ss_cat *c, int64_t id);

/*
 * The object list of a bookmark (docs/format.md 3.9): the identifiers its
 * snapshot reached, ascending, in rows of at most SS_CAT_BMIDS_SEG.
 *
 * ss_cat_bmids_put(c, snap, ids, n): store the list of bookmark row
 * ${snap}; ${ids} (borrowed) must be strictly ascending and not empty.
 */
#define SS_CAT_BMIDS_SEG 32768	/* identifiers per row: 1 MiB */
int ss_cat_bmids_put(struct ss_cat *c, int64_t snap, const struct ss_id *ids,
    size_t n);
/*
 * ss_cat_bmids_each(c, snap, fn, arg): call ${fn} for every identifier of
 * the list, ascending; stops at and returns ${fn}'s first non-zero return.
 * SS_ENOENT if there is no list; SS_ECORRUPT if the stored rows are
 * misnumbered, of a bad length, or out of order.
 */
typedef int (*ss_cat_id_fn)(void *arg, const struct ss_id *id);
int ss_cat_bmids_each(struct ss_cat *c, int64_t snap, ss_cat_id_fn fn,
    void *arg);
/* ss_cat_bmids_copy(c, from, to): give row ${to} the list of ${from};
 * SS_ENOENT if ${from} has none. */
int ss_cat_bmids_copy(struct ss_cat *c, int64_t from, int64_t to);

/* ---------- object index ---------- */

/*
 * An index row: where the object is, how many holders reference it (parent
 * objects plus snapshot roots), and how many objects it references itself
 * (0 for leaves, so that walks need not read leaves from the packs).
 */
struct ss_objrow {
	struct ss_loc loc;
	uint64_t refs;
	uint32_t nchild;
};

/* ss_cat_obj_get(c, id, row): SS_ENOENT if the object is not stored. */
int ss_cat_obj_get(struct ss_cat *c, const struct ss_id *id,
    struct ss_objrow *row);
/* ss_cat_obj_add(c, id, row): insert a new index row. */
int ss_cat_obj_add(struct ss_cat *c, const struct ss_id *id,
    const struct ss_objrow *row);
/* ss_cat_obj_ref(c, id, delta, &now): add ${delta} to the reference count. */
int ss_cat_obj_ref(struct ss_cat *c, const struct ss_id *id, int64_t delta,
    uint64_t *now);
int ss_cat_obj_del(struct ss_cat *c, const struct ss_id *id);
/* ss_cat_obj_stats(c, &count, &bytes): number and stored bytes of objects. */
int ss_cat_obj_stats(struct ss_cat *c, uint64_t *count, uint64_t *bytes);
/*
 * ss_cat_obj_each(c, fn, arg): call ${fn} for every index row, ordered by
 * (pack, offset).  Stops at and returns the first non-zero return.
 */
typedef int (*ss_cat_obj_fn)(void *arg, const struct ss_id *id,
    const struct ss_objrow *row);
int ss_cat_obj_each(struct ss_cat *c, ss_cat_obj_fn fn, void *arg);
/*
 * ss_cat_pack_live(c, pack, &count): the number of index rows in one pack,
 * as the packs table counts them (triggers on the index keep it).
 */
int ss_cat_pack_live(struct ss_cat *c, uint64_t pack, uint64_t *count);
/*
 * ss_cat_pack_recount(c, &wrong): count every pack's rows by a scan of the
 * whole index and compare with the packs table; if ${wrong} packs differ,
 * rewrite the table from the scan.  In the open transaction, or in one of
 * its own.  The check before any pack file is deleted.
 */
int ss_cat_pack_recount(struct ss_cat *c, uint64_t *wrong);

/*
 * Identifier map of a dataset received from an unencrypted stream and
 * sealed again under its own keys: stream (source) ID -> local ID, kept so
 * that later incrementals can name unchanged objects by their source IDs.
 */
int ss_cat_idmap_get(struct ss_cat *c, int64_t ds, const struct ss_id *src,
    struct ss_id *dst);
int ss_cat_idmap_set(struct ss_cat *c, int64_t ds, const struct ss_id *src,
    const struct ss_id *dst);

/* ---------- saved state of interrupted receives (receive -s) ---------- */

struct ss_resume {
	struct ss_buf state;	/* the resume token's payload */
	int created;		/* the receive created the dataset */
	struct ss_buf held;	/* ids (32 bytes each) held for the resume */
};
void ss_resume_clear(struct ss_resume *rs);
/* ss_cat_resume_get(c, ds, rs): SS_ENOENT if the dataset has none. */
int ss_cat_resume_get(struct ss_cat *c, int64_t ds, struct ss_resume *rs);
int ss_cat_resume_set(struct ss_cat *c, int64_t ds, const struct ss_resume *rs);
int ss_cat_resume_del(struct ss_cat *c, int64_t ds);

#endif /* SS_CATALOG_H */
