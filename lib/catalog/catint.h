/*
 * catint.h: the catalog's internals, shared by catalog.c (open,
 * transactions, meta, datasets, properties, keys), snaps.c (snapshots,
 * bookmarks) and objects.c (the index, packs, idmap, resume).  Not a
 * public header: everything else goes through catalog.h.
 */
#ifndef SS_CATINT_H
#define SS_CATINT_H

#include <sqlite3.h>

#include "catalog/catalog.h"

enum {
	ST_OBJ_GET, ST_OBJ_ADD, ST_OBJ_REF, ST_OBJ_BUMP, ST_OBJ_DEL, ST_NSTMT
};

struct ss_cat {
	sqlite3 *db;
	sqlite3_stmt *st[ST_NSTMT];
	int intx;
	int reading;		/* ss_cat_begin_read opened a transaction */
	int immutable;		/* opened read-only from a read-only/full fs */
};

/* ss_cat_dberr(c, rc, what): an SS_E* error for SQLite's ${rc}. */
int ss_cat_dberr(struct ss_cat *c, int rc, const char *what);
/* ss_cat_exec(c, sql): run statements that return no rows. */
int ss_cat_exec(struct ss_cat *c, const char *sql);
int ss_cat_prep(struct ss_cat *c, const char *sql, sqlite3_stmt **st);
int ss_cat_step_done(struct ss_cat *c, sqlite3_stmt *st);
/* ss_cat_col_strdup(st, i): a copy of a text column ("" for NULL). */
char *ss_cat_col_strdup(sqlite3_stmt *st, int i);
void ss_cat_copy_blob(sqlite3_stmt *st, int i, void *dst, size_t n);
/* ss_cat_exec_id(c, sql, n, id): run ${n} statements with ?1 = ${id}. */
int ss_cat_exec_id(struct ss_cat *c, const char *const *sql, size_t n,
    int64_t id);
/*
 * ss_cat_rows(c, st, size, row, clear, &v, &n, what): step ${st} to its
 * end, decoding each row with ${row} into a growing array of ${size}-byte
 * elements; finalizes ${st}.  On an error the elements decoded so far are
 * cleared and freed, and ${v} is NULL.
 */
typedef int (*ss_cat_row_fn)(sqlite3_stmt *st, void *elem);
typedef void (*ss_cat_clear_fn)(void *elem);
int ss_cat_rows(struct ss_cat *c, sqlite3_stmt *st, size_t size,
    ss_cat_row_fn row, ss_cat_clear_fn clear, void **v, size_t *n,
    const char *what);
/*
 * ss_cat_packs_migrate(c): replace the index by pack of older catalogs by
 * the packs table (objects.c).
 */
int ss_cat_packs_migrate(struct ss_cat *c);

#endif
