/*
 * catalog.c: SQLite-backed pool metadata.  See catalog.h and docs/format.md.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static const char *const schema =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS datasets("
    " id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, parent INTEGER NOT NULL,"
    " guid INTEGER NOT NULL, creation INTEGER NOT NULL, createtxg INTEGER NOT NULL,"
    " encroot INTEGER NOT NULL, kind INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS props(ds INTEGER NOT NULL, name TEXT NOT NULL,"
    " source INTEGER NOT NULL, value TEXT NOT NULL, PRIMARY KEY(ds, name, source));"
    "CREATE TABLE IF NOT EXISTS keys(root INTEGER PRIMARY KEY, wrapped BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS snaps(id INTEGER PRIMARY KEY, ds INTEGER NOT NULL,"
    " name TEXT NOT NULL, kind INTEGER NOT NULL, guid INTEGER NOT NULL,"
    " createtxg INTEGER NOT NULL, creation INTEGER NOT NULL, root BLOB NOT NULL,"
    " prev_guid INTEGER NOT NULL, mac BLOB NOT NULL, referenced INTEGER NOT NULL,"
    " logical INTEGER NOT NULL, written INTEGER NOT NULL, nfiles INTEGER NOT NULL,"
    " UNIQUE(ds, name, kind));"
    "CREATE INDEX IF NOT EXISTS snaps_ds ON snaps(ds, createtxg);"
    "CREATE TABLE IF NOT EXISTS objects(id BLOB PRIMARY KEY, pack INTEGER NOT NULL,"
    " off INTEGER NOT NULL, len INTEGER NOT NULL, refs INTEGER NOT NULL,"
    " nchild INTEGER NOT NULL)"
    " WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS objects_pack ON objects(pack);"
    "CREATE TABLE IF NOT EXISTS idmap(ds INTEGER NOT NULL, src BLOB NOT NULL,"
    " dst BLOB NOT NULL, PRIMARY KEY(ds, src)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS bookmark_ids(snap INTEGER NOT NULL,"
    " seq INTEGER NOT NULL, ids BLOB NOT NULL, PRIMARY KEY(snap, seq));"
    "CREATE TABLE IF NOT EXISTS resume(ds INTEGER PRIMARY KEY,"
    " state BLOB NOT NULL, created INTEGER NOT NULL, held BLOB NOT NULL);";

static const char *const stmt_sql[ST_NSTMT] = {
	[ST_OBJ_GET] = "SELECT pack, off, len, refs, nchild FROM objects"
	    " WHERE id = ?1",
	[ST_OBJ_ADD] = "INSERT INTO objects(id, pack, off, len, refs, nchild)"
	    " VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_OBJ_REF] = "UPDATE objects SET refs = refs + ?2 WHERE id = ?1"
	    " RETURNING refs",
	/* the same without RETURNING (cheaper): a count that would go
	 * negative changes nothing, like a missing row */
	[ST_OBJ_BUMP] = "UPDATE objects SET refs = refs + ?2 WHERE id = ?1"
	    " AND refs + ?2 >= 0",
	[ST_OBJ_DEL] = "DELETE FROM objects WHERE id = ?1",
};

static int
dberr(struct ss_cat *c, int rc, const char *what)
{
	int code = SS_EIO;

	if (rc == SQLITE_FULL)
		code = SS_ENOSPC;
	else if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB)
		code = SS_ECORRUPT;
	else if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		code = SS_EBUSY;
	else if (rc == SQLITE_NOMEM)
		code = SS_ENOMEM;
	else if (rc == SQLITE_CONSTRAINT)
		code = SS_EEXIST;
	return ss_err(code, "catalog: %s: %s", what,
	    c && c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
}

static int
exec(struct ss_cat *c, const char *sql)
{
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : dberr(c, rc, sql);
}

/* prep(c, sql, &st): prepare a one-off statement. */
static int
prep(struct ss_cat *c, const char *sql, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(c->db, sql, -1, st, NULL);

	return rc == SQLITE_OK ? 0 : dberr(c, rc, "prepare");
}

/* step_done(c, st): run a statement that returns no row, then finalize. */
static int
step_done(struct ss_cat *c, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	int r = (rc == SQLITE_DONE || rc == SQLITE_ROW) ? 0 : dberr(c, rc, "step");

	sqlite3_finalize(st);
	return r;
}

/*
 * looks_like_sqlite(path): refuse to let SQLite "repair" a damaged file by
 * writing a fresh header into it: an existing catalog must start with the
 * SQLite magic.
 */
static int
looks_like_sqlite(const char *path)
{
	static const char magic[16] = "SQLite format 3";
	char buf[16];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL)
		return errno == ENOENT ? ss_err(SS_ENOENT, "catalog is missing")
		    : ss_err_errno(ss_errno_code(errno), "cannot open catalog");
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n != sizeof(buf) || memcmp(buf, magic, sizeof(buf)) != 0)
		return ss_err(SS_ECORRUPT, "catalog is not a database (damaged"
		    " or truncated)");
	return 0;
}

/* open_db(c, path, flags, ro): open, falling back to immutable reads. */
static int
open_db(struct ss_cat *c, const char *path, int flags, int *immutable)
{
	char *uri;
	int rc = sqlite3_open_v2(path, &c->db, flags, NULL);

	*immutable = 0;
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(c->db, "PRAGMA journal_mode=WAL;", NULL, NULL,
		    NULL);
	if (rc == SQLITE_OK || (flags & SQLITE_OPEN_CREATE))
		return rc;
	/*
	 * A read-only or full filesystem cannot hold the WAL index: read the
	 * catalog as immutable (every write command checkpoints the WAL into
	 * the database before it exits, so nothing is missed).
	 */
	sqlite3_close(c->db);
	c->db = NULL;
	if ((uri = ss_asprintf("file:%s?immutable=1", path)) == NULL)
		return SQLITE_NOMEM;
	rc = sqlite3_open_v2(uri, &c->db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
	free(uri);
	*immutable = 1;
	return rc;
}

/*
 * sqlite_setup(): before SQLite initializes, once: no memory statistics
 * (nothing reads them), which spares a global mutex on every allocation.
 */
static void
sqlite_setup(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int
ss_cat_open(const char *path, int create, struct ss_cat **out)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	struct ss_cat *c;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	int r, rc, immutable;

	*out = NULL;
	pthread_once(&once, sqlite_setup);
	if (!create && (r = looks_like_sqlite(path)) != 0)
		return r;
	if ((c = ss_calloc(1, sizeof(*c))) == NULL)
		return SS_ENOMEM;
	if (create)
		flags |= SQLITE_OPEN_CREATE;
	rc = open_db(c, path, flags, &immutable);
	if (rc != SQLITE_OK) {
		r = dberr(c, rc, "open");
		goto fail;
	}
	c->immutable = immutable;
	sqlite3_busy_timeout(c->db, 60000);
	sqlite3_extended_result_codes(c->db, 0);
	if (!immutable && (r = exec(c, "PRAGMA synchronous=FULL;"
	    " PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;")) != 0)
		goto fail;
	/* CREATE IF NOT EXISTS: also brings older catalogs up to date */
	if ((create || !immutable) && (r = exec(c, schema)) != 0)
		goto fail;
	for (int i = 0; i < ST_NSTMT; i++) {
		rc = sqlite3_prepare_v3(c->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &c->st[i], NULL);
		if (rc != SQLITE_OK) {
			r = dberr(c, rc, "prepare (is this a snapseal catalog?)");
			goto fail;
		}
	}
	*out = c;
	return 0;
fail:
	ss_cat_close(c);
	return r;
}

int
ss_cat_cache_size(struct ss_cat *c, int kib)
{
	char sql[64];

	if (c->immutable)
		return 0;
	(void)snprintf(sql, sizeof(sql), "PRAGMA cache_size=%d;", -kib);
	return exec(c, sql);
}

void
ss_cat_close(struct ss_cat *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < ST_NSTMT; i++)
		sqlite3_finalize(c->st[i]);
	if (c->intx || c->reading)
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	/* leave the WAL empty at rest, so immutable readers see everything */
	if (!c->immutable && c->db && sqlite3_get_autocommit(c->db)) {
		/* best effort: never wait for another process's reader */
		sqlite3_busy_timeout(c->db, 0);
		sqlite3_exec(c->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL,
		    NULL, NULL);
	}
	sqlite3_close(c->db);
	free(c);
}

int
ss_cat_begin(struct ss_cat *c)
{
	int r = exec(c, "BEGIN IMMEDIATE");

	if (r == 0)
		c->intx = 1;
	return r;
}

int
ss_cat_commit(struct ss_cat *c)
{
	int r = exec(c, "COMMIT");

	if (r == 0)
		c->intx = 0;
	return r;
}

void
ss_cat_rollback(struct ss_cat *c)
{
	if (c->intx)
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	c->intx = 0;
}

int
ss_cat_begin_read(struct ss_cat *c)
{
	int r;

	if (c->reading || !sqlite3_get_autocommit(c->db))
		return 0;
	if ((r = exec(c, "BEGIN DEFERRED")) != 0)
		return r;
	if ((r = exec(c, "SELECT count(*) FROM meta")) != 0) {
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
		return r;
	}
	c->reading = 1;
	return 0;
}

void
ss_cat_end_read(struct ss_cat *c)
{
	if (c == NULL || !c->reading)
		return;
	c->reading = 0;
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

int
ss_cat_savepoint(struct ss_cat *c)
{
	return exec(c, "SAVEPOINT ss_sim");
}

void
ss_cat_rollback_savepoint(struct ss_cat *c)
{
	sqlite3_exec(c->db, "ROLLBACK TO ss_sim; RELEASE ss_sim", NULL, NULL,
	    NULL);
}

/* ---------- meta ---------- */

static char *
col_strdup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return ss_strdup(t ? (const char *)t : "");
}

int
ss_cat_meta_get(struct ss_cat *c, const char *key, char **val)
{
	sqlite3_stmt *st;
	int r, rc;

	*val = NULL;
	if ((r = prep(c, "SELECT value FROM meta WHERE key = ?1", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = (*val = col_strdup(st, 0)) ? 0 : SS_ENOMEM;
	else if (rc == SQLITE_DONE)
		r = SS_ENOENT;
	else
		r = dberr(c, rc, "meta");
	sqlite3_finalize(st);
	return r;
}

int
ss_cat_meta_set(struct ss_cat *c, const char *key, const char *val)
{
	sqlite3_stmt *st;
	int r;

	if ((r = prep(c, "INSERT OR REPLACE INTO meta(key, value)"
	    " VALUES(?1, ?2)", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, val, -1, SQLITE_STATIC);
	return step_done(c, st);
}

int
ss_cat_next_txg(struct ss_cat *c, uint64_t *txg)
{
	char *v = NULL, buf[32];
	int r;

	r = ss_cat_meta_get(c, "txg", &v);
	if (r != 0 && r != SS_ENOENT)
		return r;
	*txg = (v ? strtoull(v, NULL, 10) : 0) + 1;
	free(v);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)*txg);
	return ss_cat_meta_set(c, "txg", buf);
}

/* ---------- datasets ---------- */

void
ss_ds_clear(struct ss_ds *d)
{
	if (d == NULL)
		return;
	free(d->name);
	memset(d, 0, sizeof(*d));
}

#define DS_COLS "id, name, parent, guid, creation, createtxg, encroot, kind"

static int
ds_row(sqlite3_stmt *st, struct ss_ds *d)
{
	memset(d, 0, sizeof(*d));
	d->id = sqlite3_column_int64(st, 0);
	if ((d->name = col_strdup(st, 1)) == NULL)
		return SS_ENOMEM;
	d->parent = sqlite3_column_int64(st, 2);
	d->guid = (uint64_t)sqlite3_column_int64(st, 3);
	d->creation = sqlite3_column_int64(st, 4);
	d->createtxg = (uint64_t)sqlite3_column_int64(st, 5);
	d->encroot = sqlite3_column_int64(st, 6);
	d->kind = sqlite3_column_int(st, 7);
	return 0;
}

int
ss_cat_ds_add(struct ss_cat *c, struct ss_ds *d)
{
	sqlite3_stmt *st;
	int r;

	if ((r = prep(c, "INSERT INTO datasets(name, parent, guid, creation,"
	    " createtxg, encroot, kind) VALUES(?1,?2,?3,?4,?5,?6,?7)", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, d->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, d->parent);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)d->guid);
	sqlite3_bind_int64(st, 4, d->creation);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)d->createtxg);
	sqlite3_bind_int64(st, 6, d->encroot);
	sqlite3_bind_int(st, 7, d->kind);
	if ((r = step_done(c, st)) == 0)
		d->id = sqlite3_last_insert_rowid(c->db);
	return r;
}

static int
ds_get_by(struct ss_cat *c, const char *sql, const char *name, int64_t id,
    struct ss_ds *d)
{
	sqlite3_stmt *st;
	int r, rc;

	memset(d, 0, sizeof(*d));
	if ((r = prep(c, sql, &st)) != 0)
		return r;
	if (name)
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = ds_row(st, d);
	else if (rc == SQLITE_DONE)
		r = SS_ENOENT;
	else
		r = dberr(c, rc, "dataset");
	sqlite3_finalize(st);
	return r;
}

int
ss_cat_ds_get(struct ss_cat *c, const char *name, struct ss_ds *d)
{
	return ds_get_by(c, "SELECT " DS_COLS " FROM datasets WHERE name = ?1",
	    name, 0, d);
}

int
ss_cat_ds_get_id(struct ss_cat *c, int64_t id, struct ss_ds *d)
{
	return ds_get_by(c, "SELECT " DS_COLS " FROM datasets WHERE id = ?1",
	    NULL, id, d);
}

int
ss_cat_ds_set_encroot(struct ss_cat *c, int64_t id, int64_t encroot)
{
	sqlite3_stmt *st;
	int r;

	if ((r = prep(c, "UPDATE datasets SET encroot = ?2 WHERE id = ?1",
	    &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, encroot);
	return step_done(c, st);
}

int
ss_cat_ds_set_guid(struct ss_cat *c, int64_t id, uint64_t guid, int kind)
{
	sqlite3_stmt *st;
	int r;

	if ((r = prep(c, "UPDATE datasets SET guid = ?2, kind = ?3"
	    " WHERE id = ?1", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, (int64_t)guid);
	sqlite3_bind_int64(st, 3, kind);
	return step_done(c, st);
}

int
ss_cat_ds_del(struct ss_cat *c, int64_t id)
{
	static const char *const sql[] = {
		"DELETE FROM props WHERE ds = ?1",
		"DELETE FROM keys WHERE root = ?1",
		"DELETE FROM idmap WHERE ds = ?1",
		"DELETE FROM resume WHERE ds = ?1",
		"DELETE FROM datasets WHERE id = ?1",
	};
	sqlite3_stmt *st;
	int r;

	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		if ((r = prep(c, sql[i], &st)) != 0)
			return r;
		sqlite3_bind_int64(st, 1, id);
		if ((r = step_done(c, st)) != 0)
			return r;
	}
	return 0;
}

int
ss_cat_ds_list(struct ss_cat *c, const char *prefix, struct ss_ds **v,
    size_t *n)
{
	sqlite3_stmt *st;
	struct ss_ds *a = NULL, *na;
	size_t cnt = 0, cap = 0;
	char *like = NULL;
	int r, rc;

	*v = NULL;
	*n = 0;
	r = prep(c, prefix ? "SELECT " DS_COLS " FROM datasets WHERE name = ?1"
	    " OR substr(name, 1, length(?2)) = ?2 ORDER BY name" :
	    "SELECT " DS_COLS " FROM datasets ORDER BY name", &st);
	if (r != 0)
		return r;
	if (prefix) {
		if ((like = ss_asprintf("%s/", prefix)) == NULL) {
			sqlite3_finalize(st);
			return SS_ENOMEM;
		}
		sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, like, -1, SQLITE_STATIC);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cnt == cap) {
			cap = cap ? 2 * cap : 16;
			if ((na = ss_realloc(a, cap * sizeof(*a))) == NULL) {
				r = SS_ENOMEM;
				goto out;
			}
			a = na;
		}
		if ((r = ds_row(st, &a[cnt])) != 0)
			goto out;
		cnt++;
	}
	if (rc != SQLITE_DONE)
		r = dberr(c, rc, "list datasets");
out:
	sqlite3_finalize(st);
	free(like);
	if (r != 0) {
		ss_ds_list_free(a, cnt);
		return r;
	}
	/* Byte order of names, so that "a/b" sorts right after "a". */
	*v = a;
	*n = cnt;
	return 0;
}

void
ss_ds_list_free(struct ss_ds *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ss_ds_clear(&v[i]);
	free(v);
}

/* ---------- properties ---------- */

int
ss_cat_prop_get(struct ss_cat *c, int64_t ds, const char *name, int src,
    char **val)
{
	sqlite3_stmt *st;
	int r, rc;

	*val = NULL;
	if ((r = prep(c, "SELECT value FROM props WHERE ds = ?1 AND name = ?2"
	    " AND source = ?3", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, ds);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, src);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = (*val = col_strdup(st, 0)) ? 0 : SS_ENOMEM;
	else
		r = rc == SQLITE_DONE ? SS_ENOENT : dberr(c, rc, "property");
	sqlite3_finalize(st);
	return r;
}

int
ss_cat_prop_set(struct ss_cat *c, int64_t ds, const char *name, int src,
    const char *val)
{
	sqlite3_stmt *st;
	int r;

	if ((r = prep(c, "INSERT OR REPLACE INTO props(ds, name, source, value)"
	    " VALUES(?1, ?2, ?3, ?4)", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, ds);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, src);
	sqlite3_bind_text(st, 4, val, -1, SQLITE_STATIC);
	return step_done(c, st);
}

int
ss_cat_prop_del(struct ss_cat *c, int64_t ds, const char *name, int src)
{
	sqlite3_stmt *st;
	int r;

	if ((r = prep(c, "DELETE FROM props WHERE ds = ?1 AND name = ?2"
	    " AND source = ?3", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, ds);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, src);
	return step_done(c, st);
}

int
ss_cat_prop_names(struct ss_cat *c, int64_t ds, char ***names, size_t *n)
{
	sqlite3_stmt *st;
	char **a = NULL, **na;
	size_t cnt = 0;
	int r, rc;

	*names = NULL;
	*n = 0;
	if ((r = prep(c, "SELECT DISTINCT name FROM props WHERE ds = ?1"
	    " AND instr(name, ':') > 0 ORDER BY name", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, ds);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((na = ss_realloc(a, (cnt + 1) * sizeof(*a))) == NULL) {
			r = SS_ENOMEM;
			break;
		}
		a = na;
		if ((a[cnt] = col_strdup(st, 0)) == NULL) {
			r = SS_ENOMEM;
			break;
		}
		cnt++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = dberr(c, rc, "property names");
	sqlite3_finalize(st);
	if (r != 0) {
		for (size_t i = 0; i < cnt; i++)
			free(a[i]);
		free(a);
		return r;
	}
	*names = a;
	*n = cnt;
	return 0;
}

/* ---------- keys ---------- */

int
ss_cat_key_get(struct ss_cat *c, int64_t root, struct ss_buf *blob)
{
	sqlite3_stmt *st;
	int r, rc;

	ss_buf_reset(blob);
	if ((r = prep(c, "SELECT wrapped FROM keys WHERE root = ?1", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, root);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = ss_buf_put(blob, sqlite3_column_blob(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0));
	else
		r = rc == SQLITE_DONE ? ss_err(SS_ECORRUPT,
		    "catalog: encryption root has no wrapped key") :
		    dberr(c, rc, "key");
	sqlite3_finalize(st);
	return r;
}

int
ss_cat_key_set(struct ss_cat *c, int64_t root, const void *p, size_t n)
{
	sqlite3_stmt *st;
	int r;

	if ((r = prep(c, "INSERT OR REPLACE INTO keys(root, wrapped)"
	    " VALUES(?1, ?2)", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, root);
	sqlite3_bind_blob(st, 2, p, (int)n, SQLITE_STATIC);
	return step_done(c, st);
}

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

static void
copy_blob(sqlite3_stmt *st, int i, void *dst, size_t n)
{
	const void *p = sqlite3_column_blob(st, i);

	memset(dst, 0, n);
	if (p && (size_t)sqlite3_column_bytes(st, i) == n)
		memcpy(dst, p, n);
}

static int
snap_row(sqlite3_stmt *st, struct ss_snap *s)
{
	memset(s, 0, sizeof(*s));
	s->id = sqlite3_column_int64(st, 0);
	s->ds = sqlite3_column_int64(st, 1);
	if ((s->name = col_strdup(st, 2)) == NULL)
		return SS_ENOMEM;
	s->kind = sqlite3_column_int(st, 3);
	s->guid = (uint64_t)sqlite3_column_int64(st, 4);
	s->createtxg = (uint64_t)sqlite3_column_int64(st, 5);
	s->creation_ns = sqlite3_column_int64(st, 6);
	copy_blob(st, 7, s->root.b, sizeof(s->root.b));
	s->prev_guid = (uint64_t)sqlite3_column_int64(st, 8);
	copy_blob(st, 9, s->mac, sizeof(s->mac));
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

	if ((r = prep(c, "INSERT INTO snaps(ds, name, kind, guid, createtxg,"
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
	if ((r = step_done(c, st)) == 0)
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
	if ((r = prep(c, "SELECT " SNAP_COLS " FROM snaps WHERE ds = ?1 AND"
	    " name = ?2 AND kind = ?3", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, ds);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, kind);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = snap_row(st, s);
	else
		r = rc == SQLITE_DONE ? SS_ENOENT : dberr(c, rc, "snapshot");
	sqlite3_finalize(st);
	return r;
}

int
ss_cat_snap_list(struct ss_cat *c, int64_t ds, int kind, struct ss_snap **v,
    size_t *n)
{
	sqlite3_stmt *st;
	struct ss_snap *a = NULL, *na;
	size_t cnt = 0, cap = 0;
	int r, rc;

	*v = NULL;
	*n = 0;
	if ((r = prep(c, "SELECT " SNAP_COLS " FROM snaps WHERE ds = ?1 AND"
	    " (?2 = 0 OR kind = ?2) ORDER BY createtxg, id", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, ds);
	sqlite3_bind_int(st, 2, kind);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cnt == cap) {
			cap = cap ? 2 * cap : 16;
			if ((na = ss_realloc(a, cap * sizeof(*a))) == NULL) {
				r = SS_ENOMEM;
				break;
			}
			a = na;
		}
		if ((r = snap_row(st, &a[cnt])) != 0)
			break;
		cnt++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = dberr(c, rc, "list snapshots");
	sqlite3_finalize(st);
	if (r != 0) {
		ss_snap_list_free(a, cnt);
		return r;
	}
	*v = a;
	*n = cnt;
	return 0;
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
	sqlite3_stmt *st;
	int r;

	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		if ((r = prep(c, sql[i], &st)) != 0)
			return r;
		sqlite3_bind_int64(st, 1, id);
		if ((r = step_done(c, st)) != 0)
			return r;
	}
	return 0;
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
	if ((r = prep(c, "INSERT INTO bookmark_ids(snap, seq, ids)"
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
			r = dberr(c, rc, "bookmark object list");
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
	if ((r = prep(c, "SELECT seq, ids FROM bookmark_ids WHERE snap = ?1"
	    " ORDER BY seq", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, snap);
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		r = bmids_row(st, seq++, &prev, fn, arg);
	if (r == 0 && rc != SQLITE_DONE)
		r = dberr(c, rc, "bookmark object list");
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

	if ((r = prep(c, "INSERT INTO bookmark_ids(snap, seq, ids)"
	    " SELECT ?2, seq, ids FROM bookmark_ids WHERE snap = ?1", &st)))
		return r;
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, to);
	if ((r = step_done(c, st)) == 0 && sqlite3_changes(c->db) == 0)
		r = SS_ENOENT;
	return r;
}

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
		r = rc == SQLITE_DONE ? SS_ENOENT : dberr(c, rc, "object");
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
	return rc == SQLITE_DONE ? 0 : dberr(c, rc, "add object");
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
		return dberr(c, rc, "reference object");
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
		r = dberr(c, rc, "reference object");
	sqlite3_reset(st);
	return r;
}

int
ss_cat_obj_del(struct ss_cat *c, const struct ss_id *id)
{
	sqlite3_stmt *st = obj_stmt(c, ST_OBJ_DEL, id);
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : dberr(c, rc, "delete object");
}

int
ss_cat_obj_stats(struct ss_cat *c, uint64_t *count, uint64_t *bytes)
{
	sqlite3_stmt *st;
	int r, rc;

	if ((r = prep(c, "SELECT count(*), coalesce(sum(len), 0) FROM objects",
	    &st)) != 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*count = (uint64_t)sqlite3_column_int64(st, 0);
		*bytes = (uint64_t)sqlite3_column_int64(st, 1);
	} else
		r = dberr(c, rc, "object stats");
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

	if ((r = prep(c, "SELECT id, pack, off, len, refs, nchild FROM objects"
	    " ORDER BY pack, off", &st)) != 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		copy_blob(st, 0, id.b, SS_ID_LEN);
		obj_row(st, 1, &row);
		if ((r = fn(arg, &id, &row)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = dberr(c, rc, "walk objects");
	sqlite3_finalize(st);
	return r;
}

int
ss_cat_pack_live(struct ss_cat *c, uint64_t pack, uint64_t *count)
{
	sqlite3_stmt *st;
	int r, rc;

	if ((r = prep(c, "SELECT count(*) FROM objects WHERE pack = ?1",
	    &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)pack);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*count = (uint64_t)sqlite3_column_int64(st, 0);
	else
		r = dberr(c, rc, "pack usage");
	sqlite3_finalize(st);
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
	if ((r = prep(c, "SELECT m.dst FROM idmap m JOIN objects o"
	    " ON o.id = m.dst WHERE m.ds = ?1 AND m.src = ?2", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, ds);
	sqlite3_bind_blob(st, 2, src->b, SS_ID_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		copy_blob(st, 0, dst->b, SS_ID_LEN);
	else
		r = rc == SQLITE_DONE ? SS_ENOENT : dberr(c, rc, "idmap");
	sqlite3_finalize(st);
	return r;
}

int
ss_cat_idmap_set(struct ss_cat *c, int64_t ds, const struct ss_id *src,
    const struct ss_id *dst)
{
	sqlite3_stmt *st;
	int r;

	if ((r = prep(c, "INSERT OR REPLACE INTO idmap(ds, src, dst)"
	    " VALUES(?1, ?2, ?3)", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, ds);
	sqlite3_bind_blob(st, 2, src->b, SS_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, dst->b, SS_ID_LEN, SQLITE_STATIC);
	return step_done(c, st);
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
	if ((r = prep(c, "SELECT state, created, held FROM resume"
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
			r = ss_err(SS_ECORRUPT, "catalog: invalid resume state");
	} else
		r = rc == SQLITE_DONE ? SS_ENOENT : dberr(c, rc, "resume");
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

	if ((r = prep(c, "INSERT OR REPLACE INTO resume(ds, state, created,"
	    " held) VALUES(?1, ?2, ?3, ?4)", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, ds);
	sqlite3_bind_blob(st, 2, rs->state.len ? rs->state.p : &none,
	    (int)rs->state.len, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, rs->created);
	sqlite3_bind_blob(st, 4, rs->held.len ? rs->held.p : &none,
	    (int)rs->held.len, SQLITE_STATIC);
	return step_done(c, st);
}

int
ss_cat_resume_del(struct ss_cat *c, int64_t ds)
{
	sqlite3_stmt *st;
	int r;

	if ((r = prep(c, "DELETE FROM resume WHERE ds = ?1", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, ds);
	return step_done(c, st);
}
