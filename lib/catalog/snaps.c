/*
 * snaps.c: the catalog's snapshot and bookmark records and the object
 * lists of bookmarks.  See catalog.h and docs/format.md 3.6, 3.9.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "catalog/catalog.h"
#include "catalog/catint.h"

/* ---------- snapshots ---------- */

#define SNAP_COLS "id, ds, name, kind, guid, createtxg, creation, root," \
	" prev_guid, mac, referenced, logical, written, nfiles"

void
ss_snap_clear(struct ss_snap *s)
{
	if (s == NULL)
		return;
	free(s->name);
	memset(s, 0, sizeof(*s));
}

static int
snap_row(sqlite3_stmt *st, struct ss_snap *s)
{
	memset(s, 0, sizeof(*s));
	s->id = sqlite3_column_int64(st, 0);
	s->ds = sqlite3_column_int64(st, 1);
	if ((s->name = ss_cat_col_strdup(st, 2)) == NULL)
		return SS_ENOMEM;
	s->kind = sqlite3_column_int(st, 3);
	s->guid = (uint64_t)sqlite3_column_int64(st, 4);
	s->createtxg = (uint64_t)sqlite3_column_int64(st, 5);
	s->creation_ns = sqlite3_column_int64(st, 6);
	ss_cat_copy_blob(st, 7, s->root.b, sizeof(s->root.b));
	s->prev_guid = (uint64_t)sqlite3_column_int64(st, 8);
	ss_cat_copy_blob(st, 9, s->mac, sizeof(s->mac));
	s->referenced = (uint64_t)sqlite3_column_int64(st, 10);
	s->logical = (uint64_t)sqlite3_column_int64(st, 11);
	s->written = (uint64_t)sqlite3_column_int64(st, 12);
	s->nfiles = (uint64_t)sqlite3_column_int64(st, 13);
	return 0;
}

int
ss_cat_snap_add(struct ss_cat *c, struct ss_snap *s)
{
	sqlite3_stmt *st;
	int r;

	if ((r = ss_cat_prep(c,
	    "INSERT INTO snaps(ds, name, kind, guid, createtxg,"
	    " creation, root, prev_guid, mac, referenced, logical, written,"
	    " nfiles) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
	    &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, s->ds);
	sqlite3_bind_text(st, 2, s->name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, s->kind);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)s->guid);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)s->createtxg);
	sqlite3_bind_int64(st, 6, s->creation_ns);
	sqlite3_bind_blob(st, 7, s->root.b, SS_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)s->prev_guid);
	sqlite3_bind_blob(st, 9, s->mac, SS_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, (sqlite3_int64)s->referenced);
	sqlite3_bind_int64(st, 11, (sqlite3_int64)s->logical);
	sqlite3_bind_int64(st, 12, (sqlite3_int64)s->written);
	sqlite3_bind_int64(st, 13, (sqlite3_int64)s->nfiles);
	if ((r = ss_cat_step_done(c, st)) == 0)
		s->id = sqlite3_last_insert_rowid(c->db);
	return r;
}

int
ss_cat_snap_get(struct ss_cat *c, int64_t ds, const char *name, int kind,
    struct ss_snap *s)
{
	sqlite3_stmt *st;
	int r, rc;

	memset(s, 0, sizeof(*s));
	if ((r = ss_cat_prep(c,
	    "SELECT " SNAP_COLS " FROM snaps WHERE ds = ?1 AND"
	    " name = ?2 AND kind = ?3", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, ds);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, kind);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = snap_row(st, s);
	else
		r = rc == SQLITE_DONE ? SS_ENOENT :
		    ss_cat_dberr(c, rc, "snapshot");
	sqlite3_finalize(st);
	return r;
}

static int
snap_row_fn(sqlite3_stmt *st, void *s)
{
	return snap_row(st, s);
}

static void
snap_clear_fn(void *s)
{
	ss_snap_clear(s);
}

int
ss_cat_snap_list(struct ss_cat *c, int64_t ds, int kind, struct ss_snap **v,
    size_t *n)
{
	sqlite3_stmt *st;
	void *a;
	int r;

	*v = NULL;
	*n = 0;
	if ((r = ss_cat_prep(c,
	    "SELECT " SNAP_COLS " FROM snaps WHERE ds = ?1 AND"
	    " (?2 = 0 OR kind = ?2) ORDER BY createtxg, id", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, ds);
	sqlite3_bind_int(st, 2, kind);
	r = ss_cat_rows(c, st, sizeof(**v), snap_row_fn, snap_clear_fn, &a, n,
	    "list snapshots");
	*v = a;
	return r;
}

void
ss_snap_list_free(struct ss_snap *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ss_snap_clear(&v[i]);
	free(v);
}

int
ss_cat_snap_del(struct ss_cat *c, int64_t id)
{
	static const char *const sql[] = {
		"DELETE FROM bookmark_ids WHERE snap = ?1",
		"DELETE FROM snaps WHERE id = ?1",
	};

	return ss_cat_exec_id(c, sql, sizeof(sql) / sizeof(sql[0]), id);
}

/* ---------- object lists of bookmarks ---------- */

int
ss_cat_bmids_put(struct ss_cat *c, int64_t snap, const struct ss_id *ids,
    size_t n)
{
	sqlite3_stmt *st;
	size_t seg;
	int r;

	if (n == 0)
		return ss_err(SS_EINVAL, "catalog: empty bookmark object list");
	for (size_t i = 1; i < n; i++)
		if (ss_id_cmp(&ids[i - 1], &ids[i]) >= 0)
			return ss_err(SS_EINVAL, "catalog: bookmark object list"
			    " is not sorted");
	if ((r = ss_cat_prep(c, "INSERT INTO bookmark_ids(snap, seq, ids)"
	    " VALUES(?1, ?2, ?3)", &st)) != 0)
		return r;
	for (size_t i = 0, k = 0; i < n && r == 0; i += seg, k++) {
		int rc;

		seg = n - i < SS_CAT_BMIDS_SEG ? n - i : SS_CAT_BMIDS_SEG;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, snap);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)k);
		sqlite3_bind_blob(st, 3, ids[i].b, (int)(seg * SS_ID_LEN),
		    SQLITE_STATIC);
		if ((rc = sqlite3_step(st)) != SQLITE_DONE)
			r = ss_cat_dberr(c, rc, "bookmark object list");
	}
	sqlite3_finalize(st);
	return r;
}

/*
 * bmids_row(st, seq, prev, fn, arg): check one stored row (its number,
 * its length, ascending identifiers, also across rows) and pass its
 * identifiers to ${fn}.
 */
static int
bmids_row(sqlite3_stmt *st, int64_t seq, struct ss_id *prev, ss_cat_id_fn fn,
    void *arg)
{
	const uint8_t *p = sqlite3_column_blob(st, 1);
	size_t len = (size_t)sqlite3_column_bytes(st, 1);
	struct ss_id id;
	int r = 0;

	if (sqlite3_column_int64(st, 0) != seq || p == NULL || len == 0 ||
	    len % SS_ID_LEN != 0 || len > SS_CAT_BMIDS_SEG * SS_ID_LEN)
		return ss_err(SS_ECORRUPT, "catalog: bookmark object list is"
		    " damaged (row %lld)", (long long)seq);
	for (size_t off = 0; off < len && r == 0; off += SS_ID_LEN) {
		memcpy(id.b, p + off, SS_ID_LEN);
		if ((seq > 0 || off > 0) && ss_id_cmp(prev, &id) >= 0)
			return ss_err(SS_ECORRUPT, "catalog: bookmark object"
			    " list is damaged (not in order)");
		*prev = id;
		r = fn(arg, &id);
	}
	return r;
}

int
ss_cat_bmids_each(struct ss_cat *c, int64_t snap, ss_cat_id_fn fn, void *arg)
{
	sqlite3_stmt *st;
	struct ss_id prev;
	int64_t seq = 0;
	int r, rc = SQLITE_DONE;

	memset(&prev, 0, sizeof(prev));
	if ((r = ss_cat_prep(c,
	    "SELECT seq, ids FROM bookmark_ids WHERE snap = ?1"
	    " ORDER BY seq", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, snap);
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		r = bmids_row(st, seq++, &prev, fn, arg);
	if (r == 0 && rc != SQLITE_DONE)
		r = ss_cat_dberr(c, rc, "bookmark object list");
	else if (r == 0 && seq == 0)
		r = SS_ENOENT;
	sqlite3_finalize(st);
	return r;
}

int
ss_cat_bmids_copy(struct ss_cat *c, int64_t from, int64_t to)
{
	sqlite3_stmt *st;
	int r;

	if ((r = ss_cat_prep(c, "INSERT INTO bookmark_ids(snap, seq, ids)"
	    " SELECT ?2, seq, ids FROM bookmark_ids WHERE snap = ?1", &st)))
		return r;
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, to);
	if ((r = ss_cat_step_done(c, st)) == 0 && sqlite3_changes(c->db) == 0)
		r = SS_ENOENT;
	return r;
}
