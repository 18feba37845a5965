/*
 * objects.c: the catalog's object index, the count of objects per pack,
 * the identifier map of re-sealed receives and the saved state of
 * interrupted receives.  See catalog.h and docs/format.md 3.7, 3.8, 3.10.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "catalog/catalog.h"
#include "catalog/catint.h"

/* ---------- objects ---------- */

static sqlite3_stmt *
obj_stmt(struct ss_cat *c, int which, const struct ss_id *id)
{
	sqlite3_stmt *st = c->st[which];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	sqlite3_bind_blob(st, 1, id->b, SS_ID_LEN, SQLITE_STATIC);
	return st;
}

static void
obj_row(sqlite3_stmt *st, int col, struct ss_objrow *row)
{
	row->loc.pack = (uint64_t)sqlite3_column_int64(st, col);
	row->loc.off = (uint64_t)sqlite3_column_int64(st, col + 1);
	row->loc.len = (uint32_t)sqlite3_column_int64(st, col + 2);
	row->refs = (uint64_t)sqlite3_column_int64(st, col + 3);
	row->nchild = (uint32_t)sqlite3_column_int64(st, col + 4);
}

int
ss_cat_obj_get(struct ss_cat *c, const struct ss_id *id, struct ss_objrow *row)
{
	sqlite3_stmt *st = obj_stmt(c, ST_OBJ_GET, id);
	int rc = sqlite3_step(st), r = 0;

	if (rc == SQLITE_ROW) {
		if (row)
			obj_row(st, 0, row);
	} else
		r = rc == SQLITE_DONE ? SS_ENOENT :
		    ss_cat_dberr(c, rc, "object");
	sqlite3_reset(st);
	return r;
}

int
ss_cat_obj_add(struct ss_cat *c, const struct ss_id *id,
    const struct ss_objrow *row)
{
	sqlite3_stmt *st = obj_stmt(c, ST_OBJ_ADD, id);
	int rc;

	sqlite3_bind_int64(st, 2, (sqlite3_int64)row->loc.pack);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)row->loc.off);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)row->loc.len);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)row->refs);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)row->nchild);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : ss_cat_dberr(c, rc, "add object");
}

/*
 * obj_bump(c, id, delta): ss_cat_obj_ref without the new count, in one
 * statement that returns no row; only when nothing changed is the row
 * looked up, to tell a missing object from a count gone negative.
 */
static int
obj_bump(struct ss_cat *c, const struct ss_id *id, int64_t delta)
{
	sqlite3_stmt *st = obj_stmt(c, ST_OBJ_BUMP, id);
	int rc, r;

	sqlite3_bind_int64(st, 2, delta);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return ss_cat_dberr(c, rc, "reference object");
	if (sqlite3_changes(c->db) == 1)
		return 0;
	if ((r = ss_cat_obj_get(c, id, NULL)) == SS_ENOENT)
		return ss_err(SS_ECORRUPT, "catalog: referenced object missing"
		    " from the index");
	return r != 0 ? r : ss_err(SS_ECORRUPT, "catalog: negative reference"
	    " count");
}

int
ss_cat_obj_ref(struct ss_cat *c, const struct ss_id *id, int64_t delta,
    uint64_t *now)
{
	sqlite3_stmt *st;
	int rc, r = 0;

	if (now == NULL)
		return obj_bump(c, id, delta);
	st = obj_stmt(c, ST_OBJ_REF, id);
	sqlite3_bind_int64(st, 2, delta);
	rc = sqlite3_step(st);

	if (rc == SQLITE_ROW) {
		sqlite3_int64 v = sqlite3_column_int64(st, 0);

		if (v < 0)
			r = ss_err(SS_ECORRUPT, "catalog: negative reference"
			    " count");
		else if (now)
			*now = (uint64_t)v;
		rc = sqlite3_step(st);
	} else if (rc == SQLITE_DONE)
		r = ss_err(SS_ECORRUPT, "catalog: referenced object missing"
		    " from the index");
	if (r == 0 && rc != SQLITE_DONE)
		r = ss_cat_dberr(c, rc, "reference object");
	sqlite3_reset(st);
	return r;
}

int
ss_cat_obj_del(struct ss_cat *c, const struct ss_id *id)
{
	sqlite3_stmt *st = obj_stmt(c, ST_OBJ_DEL, id);
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : ss_cat_dberr(c, rc, "delete object");
}

int
ss_cat_obj_stats(struct ss_cat *c, uint64_t *count, uint64_t *bytes)
{
	sqlite3_stmt *st;
	int r, rc;

	if ((r = ss_cat_prep(c,
	    "SELECT count(*), coalesce(sum(len), 0) FROM objects",
	    &st)) != 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*count = (uint64_t)sqlite3_column_int64(st, 0);
		*bytes = (uint64_t)sqlite3_column_int64(st, 1);
	} else
		r = ss_cat_dberr(c, rc, "object stats");
	sqlite3_finalize(st);
	return r;
}

int
ss_cat_obj_each(struct ss_cat *c, ss_cat_obj_fn fn, void *arg)
{
	sqlite3_stmt *st;
	struct ss_id id;
	struct ss_objrow row;
	int r, rc;

	/*
	 * The sort is as large as the index: let SQLite spill it to a
	 * temporary file beyond its cache rather than hold it all in memory.
	 */
	(void)sqlite3_exec(c->db, "PRAGMA temp_store=FILE", NULL, NULL, NULL);
	if ((r = ss_cat_prep(c,
	    "SELECT id, pack, off, len, refs, nchild FROM objects"
	    " ORDER BY pack, off", &st)) != 0)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ss_cat_copy_blob(st, 0, id.b, SS_ID_LEN);
		obj_row(st, 1, &row);
		if ((r = fn(arg, &id, &row)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = ss_cat_dberr(c, rc, "walk objects");
	sqlite3_finalize(st);
out:
	(void)sqlite3_exec(c->db, "PRAGMA temp_store=MEMORY", NULL, NULL,
	    NULL);
	return r;
}

int
ss_cat_pack_live(struct ss_cat *c, uint64_t pack, uint64_t *count)
{
	sqlite3_stmt *st;
	int r, rc;

	if ((r = ss_cat_prep(c,
	    "SELECT live FROM packs WHERE pack = ?1", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)pack);
	*count = 0;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_int64(st, 0) > 0)
		*count = (uint64_t)sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = ss_cat_dberr(c, rc, "pack usage");
	sqlite3_finalize(st);
	return r;
}

/*
 * A count of index rows per pack, built by one scan of the index: an
 * open-addressing table whose memory is in the number of packs, not of
 * objects.
 */
struct packcount {
	uint64_t *pack, *n;
	unsigned char *used;
	size_t cap, len;
};

static void
packcount_free(struct packcount *pc)
{
	free(pc->pack);
	free(pc->n);
	free(pc->used);
	memset(pc, 0, sizeof(*pc));
}

/* packcount_slot(pc, pack): the slot holding ${pack}, or the free one. */
static size_t
packcount_slot(const struct packcount *pc, uint64_t pack)
{
	size_t i = (size_t)((pack * 0x9E3779B97F4A7C15ull) >> 20) &
	    (pc->cap - 1);

	while (pc->used[i] && pc->pack[i] != pack)
		i = (i + 1) & (pc->cap - 1);
	return i;
}

static int
packcount_grow(struct packcount *pc)
{
	struct packcount g = { 0 };

	g.cap = pc->cap ? pc->cap * 2 : 256;
	g.pack = ss_calloc(g.cap, sizeof(*g.pack));
	g.n = ss_calloc(g.cap, sizeof(*g.n));
	g.used = ss_calloc(g.cap, 1);
	if (g.pack == NULL || g.n == NULL || g.used == NULL) {
		packcount_free(&g);
		return SS_ENOMEM;
	}
	for (size_t i = 0; i < pc->cap; i++)
		if (pc->used[i]) {
			size_t k = packcount_slot(&g, pc->pack[i]);

			g.used[k] = 1;
			g.pack[k] = pc->pack[i];
			g.n[k] = pc->n[i];
			g.len++;
		}
	packcount_free(pc);
	*pc = g;
	return 0;
}

/* packcount_scan(c, pc): count the index rows of every pack. */
static int
packcount_scan(struct ss_cat *c, struct packcount *pc)
{
	sqlite3_stmt *st;
	int r, rc;

	if ((r = ss_cat_prep(c, "SELECT pack FROM objects", &st)) != 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t pack = (uint64_t)sqlite3_column_int64(st, 0);
		size_t k;

		if (2 * (pc->len + 1) > pc->cap &&
		    (r = packcount_grow(pc)) != 0)
			break;
		k = packcount_slot(pc, pack);
		if (!pc->used[k]) {
			pc->used[k] = 1;
			pc->pack[k] = pack;
			pc->len++;
		}
		pc->n[k]++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = ss_cat_dberr(c, rc, "count objects by pack");
	sqlite3_finalize(st);
	return r;
}

/* packs_wrong(c, pc, &wrong): how many packs the packs table miscounts. */
static int
packs_wrong(struct ss_cat *c, const struct packcount *pc, uint64_t *wrong)
{
	sqlite3_stmt *st;
	uint64_t rows = 0;
	int r, rc;

	*wrong = 0;
	if ((r = ss_cat_prep(c, "SELECT pack, live FROM packs", &st)) != 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t pack = (uint64_t)sqlite3_column_int64(st, 0);
		sqlite3_int64 live = sqlite3_column_int64(st, 1);
		size_t k = pc->cap ? packcount_slot(pc, pack) : 0;

		if (pc->cap == 0 || !pc->used[k] ||
		    live != (sqlite3_int64)pc->n[k])
			++*wrong;
		else
			rows++;
	}
	if (rc != SQLITE_DONE)
		r = ss_cat_dberr(c, rc, "read pack counts");
	sqlite3_finalize(st);
	*wrong += pc->len - rows;	/* packs that have no row at all */
	return r;
}

/* packs_write(c, pc): replace the packs table by ${pc}. */
static int
packs_write(struct ss_cat *c, const struct packcount *pc)
{
	sqlite3_stmt *st;
	int r;

	if ((r = ss_cat_exec(c, "DELETE FROM packs")) != 0 ||
	    (r = ss_cat_prep(c, "INSERT INTO packs(pack, live) VALUES(?1, ?2)",
	    &st)) != 0)
		return r;
	for (size_t i = 0; i < pc->cap && r == 0; i++) {
		int rc;

		if (!pc->used[i])
			continue;
		sqlite3_bind_int64(st, 1, (sqlite3_int64)pc->pack[i]);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)pc->n[i]);
		if ((rc = sqlite3_step(st)) != SQLITE_DONE)
			r = ss_cat_dberr(c, rc, "write pack counts");
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return r;
}

/* recount(c, force, &wrong): count by a scan; rewrite if wrong or forced */
static int
recount(struct ss_cat *c, int force, uint64_t *wrong)
{
	struct packcount pc = { 0 };
	int r;

	if ((r = packcount_scan(c, &pc)) == 0)
		r = packs_wrong(c, &pc, wrong);
	if (r == 0 && (force || *wrong > 0))
		r = packs_write(c, &pc);
	packcount_free(&pc);
	return r;
}

/*
 * ss_cat_packs_migrate(c): catalogs made before the packs table indexed the
 * objects by pack (a third of the catalog's size): count each pack's rows
 * into the table and drop that index, in one transaction.
 */
int
ss_cat_packs_migrate(struct ss_cat *c)
{
	sqlite3_stmt *st;
	uint64_t wrong;
	int r, old;

	if ((r = ss_cat_prep(c,
	    "SELECT 1 FROM sqlite_schema WHERE type = 'index'"
	    " AND name = 'objects_pack'", &st)) != 0)
		return r;
	old = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	if (!old)
		return 0;
	if ((r = ss_cat_begin(c)) != 0)
		return r;
	if ((r = recount(c, 1, &wrong)) == 0 &&
	    (r = ss_cat_exec(c, "DROP INDEX IF EXISTS objects_pack")) == 0)
		r = ss_cat_commit(c);
	if (r != 0)
		ss_cat_rollback(c);
	return r;
}

int
ss_cat_pack_recount(struct ss_cat *c, uint64_t *wrong)
{
	int r, own = !c->intx;

	*wrong = 0;
	if (own && (r = ss_cat_begin(c)) != 0)
		return r;
	r = recount(c, 0, wrong);
	if (own && r == 0)
		r = ss_cat_commit(c);
	if (own && r != 0)
		ss_cat_rollback(c);
	return r;
}

/* ---------- identifier map of re-sealed receives ---------- */

int
ss_cat_idmap_get(struct ss_cat *c, int64_t ds, const struct ss_id *src,
    struct ss_id *dst)
{
	sqlite3_stmt *st;
	int r, rc;

	/*
	 * A mapping whose object was released since (every snapshot that
	 * held it destroyed) is stale: the object must be received again.
	 */
	if ((r = ss_cat_prep(c, "SELECT m.dst FROM idmap m JOIN objects o"
	    " ON o.id = m.dst WHERE m.ds = ?1 AND m.src = ?2", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, ds);
	sqlite3_bind_blob(st, 2, src->b, SS_ID_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ss_cat_copy_blob(st, 0, dst->b, SS_ID_LEN);
	else
		r = rc == SQLITE_DONE ? SS_ENOENT :
		    ss_cat_dberr(c, rc, "idmap");
	sqlite3_finalize(st);
	return r;
}

int
ss_cat_idmap_set(struct ss_cat *c, int64_t ds, const struct ss_id *src,
    const struct ss_id *dst)
{
	sqlite3_stmt *st;
	int r;

	if ((r = ss_cat_prep(c, "INSERT OR REPLACE INTO idmap(ds, src, dst)"
	    " VALUES(?1, ?2, ?3)", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, ds);
	sqlite3_bind_blob(st, 2, src->b, SS_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, dst->b, SS_ID_LEN, SQLITE_STATIC);
	return ss_cat_step_done(c, st);
}

/* ---------- saved state of interrupted receives (receive -s) ---------- */

void
ss_resume_clear(struct ss_resume *rs)
{
	ss_buf_free(&rs->state);
	ss_buf_free(&rs->held);
	rs->created = 0;
}

int
ss_cat_resume_get(struct ss_cat *c, int64_t ds, struct ss_resume *rs)
{
	sqlite3_stmt *st;
	int r, rc;

	memset(rs, 0, sizeof(*rs));
	if ((r = ss_cat_prep(c, "SELECT state, created, held FROM resume"
	    " WHERE ds = ?1", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, ds);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		rs->created = sqlite3_column_int(st, 1);
		if (ss_buf_put(&rs->state, sqlite3_column_blob(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0)) ||
		    ss_buf_put(&rs->held, sqlite3_column_blob(st, 2),
		    (size_t)sqlite3_column_bytes(st, 2)))
			r = SS_ENOMEM;
		else if (rs->held.len % SS_ID_LEN)
			r = ss_err(SS_ECORRUPT,
			    "catalog: invalid resume state");
	} else
		r = rc == SQLITE_DONE ? SS_ENOENT :
		    ss_cat_dberr(c, rc, "resume");
	sqlite3_finalize(st);
	if (r != 0)
		ss_resume_clear(rs);
	return r;
}

int
ss_cat_resume_set(struct ss_cat *c, int64_t ds, const struct ss_resume *rs)
{
	static const uint8_t none;
	sqlite3_stmt *st;
	int r;

	if ((r = ss_cat_prep(c,
	    "INSERT OR REPLACE INTO resume(ds, state, created,"
	    " held) VALUES(?1, ?2, ?3, ?4)", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, ds);
	sqlite3_bind_blob(st, 2, rs->state.len ? rs->state.p : &none,
	    (int)rs->state.len, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, rs->created);
	sqlite3_bind_blob(st, 4, rs->held.len ? rs->held.p : &none,
	    (int)rs->held.len, SQLITE_STATIC);
	return ss_cat_step_done(c, st);
}

int
ss_cat_resume_del(struct ss_cat *c, int64_t ds)
{
	sqlite3_stmt *st;
	int r;

	if ((r = ss_cat_prep(c, "DELETE FROM resume WHERE ds = ?1", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, ds);
	return ss_cat_step_done(c, st);
}
