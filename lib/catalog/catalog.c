/*
 * catalog.c: SQLite-backed pool metadata.  See catalog.h and docs/format.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "catalog/catalog.h"
#include "catalog/catint.h"

/* A catalog up to this size is read ahead whole when opened. */
#define CAT_READAHEAD_MAX (64 * 1024 * 1024)

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
    "CREATE TABLE IF NOT EXISTS packs(pack INTEGER PRIMARY KEY,"
    " live INTEGER NOT NULL);"
    "CREATE TRIGGER IF NOT EXISTS objects_add AFTER INSERT ON objects BEGIN"
    " INSERT INTO packs(pack, live) VALUES(NEW.pack, 1)"
    " ON CONFLICT(pack) DO UPDATE SET live = live + 1; END;"
    "CREATE TRIGGER IF NOT EXISTS objects_del AFTER DELETE ON objects BEGIN"
    " UPDATE packs SET live = live - 1 WHERE pack = OLD.pack;"
    " DELETE FROM packs WHERE pack = OLD.pack AND live <= 0; END;"
    "CREATE TRIGGER IF NOT EXISTS objects_move AFTER UPDATE OF pack ON objects"
    " WHEN NEW.pack IS NOT OLD.pack BEGIN"
    " UPDATE packs SET live = live - 1 WHERE pack = OLD.pack;"
    " DELETE FROM packs WHERE pack = OLD.pack AND live <= 0;"
    " INSERT INTO packs(pack, live) VALUES(NEW.pack, 1)"
    " ON CONFLICT(pack) DO UPDATE SET live = live + 1; END;"
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

int
ss_cat_dberr(struct ss_cat *c, int rc, const char *what)
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

int
ss_cat_exec(struct ss_cat *c, const char *sql)
{
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : ss_cat_dberr(c, rc, sql);
}

/* ss_cat_prep(c, sql, &st): prepare a one-off statement. */
int
ss_cat_prep(struct ss_cat *c, const char *sql, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(c->db, sql, -1, st, NULL);

	return rc == SQLITE_OK ? 0 : ss_cat_dberr(c, rc, "prepare");
}

/* ss_cat_step_done(c, st): run a statement returning no row, finalize. */
int
ss_cat_step_done(struct ss_cat *c, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	int r = (rc == SQLITE_DONE || rc == SQLITE_ROW) ? 0 :
	    ss_cat_dberr(c, rc, "step");

	sqlite3_finalize(st);
	return r;
}

char *
ss_cat_col_strdup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return ss_strdup(t ? (const char *)t : "");
}

/* ss_cat_copy_blob(st, i, dst, n): an n-byte blob column, zeros if not n. */
void
ss_cat_copy_blob(sqlite3_stmt *st, int i, void *dst, size_t n)
{
	const void *p = sqlite3_column_blob(st, i);

	memset(dst, 0, n);
	if (p && (size_t)sqlite3_column_bytes(st, i) == n)
		memcpy(dst, p, n);
}

int
ss_cat_rows(struct ss_cat *c, sqlite3_stmt *st, size_t size,
    ss_cat_row_fn row, ss_cat_clear_fn clear, void **v, size_t *n,
    const char *what)
{
	unsigned char *a = NULL;
	size_t cnt = 0, cap = 0;
	int r = 0, rc;

	*v = NULL;
	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = ss_grow(&a, &cap, cnt, size)) != 0 ||
		    (r = row(st, a + cnt * size)) != 0)
			break;
		cnt++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = ss_cat_dberr(c, rc, what);
	sqlite3_finalize(st);
	if (r != 0) {
		for (size_t i = 0; i < cnt; i++)
			clear(a + i * size);
		free(a);
		return r;
	}
	*v = a;
	*n = cnt;
	return 0;
}

int
ss_cat_exec_id(struct ss_cat *c, const char *const *sql, size_t n, int64_t id)
{
	sqlite3_stmt *st;
	int r;

	for (size_t i = 0; i < n; i++) {
		if ((r = ss_cat_prep(c, sql[i], &st)) != 0)
			return r;
		sqlite3_bind_int64(st, 1, id);
		if ((r = ss_cat_step_done(c, st)) != 0)
			return r;
	}
	return 0;
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
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? ss_err(SS_ENOENT, "catalog is missing")
		    : ss_err_errno(ss_errno_code(errno), "cannot open catalog");
	/*
	 * A catalog of moderate size is read ahead whole: the lookups of a
	 * walk land all over its B-trees, one cold page after the other.
	 * (Before any read of it: Linux's own read-ahead of a first read
	 * would cut this short.)
	 */
	if (fstat(fd, &st) == 0 && st.st_size <= CAT_READAHEAD_MAX)
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
	n = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	if (n != (ssize_t)sizeof(buf) || memcmp(buf, magic, sizeof(buf)) != 0)
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
	/*
	 * Wait for locks from here on: the last process to close the catalog
	 * holds it exclusively while it checkpoints, and a busy database is
	 * not a read-only one.
	 */
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(c->db, 60000);
		rc = sqlite3_exec(c->db, "PRAGMA journal_mode=WAL;", NULL, NULL,
		    NULL);
	}
	if (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED ||
	    (flags & SQLITE_OPEN_CREATE))
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
		r = ss_cat_dberr(c, rc, "open");
		goto fail;
	}
	c->immutable = immutable;
	sqlite3_busy_timeout(c->db, 60000);
	sqlite3_extended_result_codes(c->db, 0);
	if (!immutable && (r = ss_cat_exec(c, "PRAGMA synchronous=FULL;"
	    " PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;")) != 0)
		goto fail;
	/* CREATE IF NOT EXISTS: also brings older catalogs up to date */
	if ((create || !immutable) && ((r = ss_cat_exec(c, schema)) != 0 ||
	    (r = ss_cat_packs_migrate(c)) != 0))
		goto fail;
	for (int i = 0; i < ST_NSTMT; i++) {
		rc = sqlite3_prepare_v3(c->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &c->st[i], NULL);
		if (rc != SQLITE_OK) {
			r = ss_cat_dberr(c, rc,
			    "prepare (is this a snapseal catalog?)");
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
	return ss_cat_exec(c, sql);
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
	int r = ss_cat_exec(c, "BEGIN IMMEDIATE");

	if (r == 0)
		c->intx = 1;
	return r;
}

int
ss_cat_commit(struct ss_cat *c)
{
	int r = ss_cat_exec(c, "COMMIT");

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
	if ((r = ss_cat_exec(c, "BEGIN DEFERRED")) != 0)
		return r;
	if ((r = ss_cat_exec(c, "SELECT count(*) FROM meta")) != 0) {
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
	return ss_cat_exec(c, "SAVEPOINT ss_sim");
}

void
ss_cat_rollback_savepoint(struct ss_cat *c)
{
	sqlite3_exec(c->db, "ROLLBACK TO ss_sim; RELEASE ss_sim", NULL, NULL,
	    NULL);
}

/* ---------- meta ---------- */

int
ss_cat_meta_get(struct ss_cat *c, const char *key, char **val)
{
	sqlite3_stmt *st;
	int r, rc;

	*val = NULL;
	if ((r = ss_cat_prep(c,
	    "SELECT value FROM meta WHERE key = ?1", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = (*val = ss_cat_col_strdup(st, 0)) ? 0 : SS_ENOMEM;
	else if (rc == SQLITE_DONE)
		r = SS_ENOENT;
	else
		r = ss_cat_dberr(c, rc, "meta");
	sqlite3_finalize(st);
	return r;
}

int
ss_cat_meta_set(struct ss_cat *c, const char *key, const char *val)
{
	sqlite3_stmt *st;
	int r;

	if ((r = ss_cat_prep(c, "INSERT OR REPLACE INTO meta(key, value)"
	    " VALUES(?1, ?2)", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, val, -1, SQLITE_STATIC);
	return ss_cat_step_done(c, st);
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
	if ((d->name = ss_cat_col_strdup(st, 1)) == NULL)
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

	if ((r = ss_cat_prep(c,
	    "INSERT INTO datasets(name, parent, guid, creation,"
	    " createtxg, encroot, kind) VALUES(?1,?2,?3,?4,?5,?6,?7)",
	    &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, d->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, d->parent);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)d->guid);
	sqlite3_bind_int64(st, 4, d->creation);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)d->createtxg);
	sqlite3_bind_int64(st, 6, d->encroot);
	sqlite3_bind_int(st, 7, d->kind);
	if ((r = ss_cat_step_done(c, st)) == 0)
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
	if ((r = ss_cat_prep(c, sql, &st)) != 0)
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
		r = ss_cat_dberr(c, rc, "dataset");
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

	if ((r = ss_cat_prep(c,
	    "UPDATE datasets SET encroot = ?2 WHERE id = ?1",
	    &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, encroot);
	return ss_cat_step_done(c, st);
}

int
ss_cat_ds_set_guid(struct ss_cat *c, int64_t id, uint64_t guid, int kind)
{
	sqlite3_stmt *st;
	int r;

	if ((r = ss_cat_prep(c, "UPDATE datasets SET guid = ?2, kind = ?3"
	    " WHERE id = ?1", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, (int64_t)guid);
	sqlite3_bind_int64(st, 3, kind);
	return ss_cat_step_done(c, st);
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

	return ss_cat_exec_id(c, sql, sizeof(sql) / sizeof(sql[0]), id);
}

static int
ds_row_fn(sqlite3_stmt *st, void *d)
{
	return ds_row(st, d);
}

static void
ds_clear_fn(void *d)
{
	ss_ds_clear(d);
}

int
ss_cat_ds_list(struct ss_cat *c, const char *prefix, struct ss_ds **v,
    size_t *n)
{
	sqlite3_stmt *st;
	char *like = NULL;
	void *a;
	int r;

	*v = NULL;
	*n = 0;
	r = ss_cat_prep(c,
	    prefix ? "SELECT " DS_COLS " FROM datasets WHERE name = ?1"
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
	/* Byte order of names, so that "a/b" sorts right after "a". */
	r = ss_cat_rows(c, st, sizeof(**v), ds_row_fn, ds_clear_fn, &a, n,
	    "list datasets");
	free(like);
	*v = a;
	return r;
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
	if ((r = ss_cat_prep(c,
	    "SELECT value FROM props WHERE ds = ?1 AND name = ?2"
	    " AND source = ?3", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, ds);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, src);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = (*val = ss_cat_col_strdup(st, 0)) ? 0 : SS_ENOMEM;
	else
		r = rc == SQLITE_DONE ? SS_ENOENT :
		    ss_cat_dberr(c, rc, "property");
	sqlite3_finalize(st);
	return r;
}

int
ss_cat_prop_set(struct ss_cat *c, int64_t ds, const char *name, int src,
    const char *val)
{
	sqlite3_stmt *st;
	int r;

	if ((r = ss_cat_prep(c,
	    "INSERT OR REPLACE INTO props(ds, name, source, value)"
	    " VALUES(?1, ?2, ?3, ?4)", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, ds);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, src);
	sqlite3_bind_text(st, 4, val, -1, SQLITE_STATIC);
	return ss_cat_step_done(c, st);
}

int
ss_cat_prop_del(struct ss_cat *c, int64_t ds, const char *name, int src)
{
	sqlite3_stmt *st;
	int r;

	if ((r = ss_cat_prep(c, "DELETE FROM props WHERE ds = ?1 AND name = ?2"
	    " AND source = ?3", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, ds);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, src);
	return ss_cat_step_done(c, st);
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
	if ((r = ss_cat_prep(c, "SELECT DISTINCT name FROM props WHERE ds = ?1"
	    " AND instr(name, ':') > 0 ORDER BY name", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, ds);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((na = ss_realloc(a, (cnt + 1) * sizeof(*a))) == NULL) {
			r = SS_ENOMEM;
			break;
		}
		a = na;
		if ((a[cnt] = ss_cat_col_strdup(st, 0)) == NULL) {
			r = SS_ENOMEM;
			break;
		}
		cnt++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = ss_cat_dberr(c, rc, "property names");
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
	if ((r = ss_cat_prep(c,
	    "SELECT wrapped FROM keys WHERE root = ?1", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, root);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = ss_buf_put(blob, sqlite3_column_blob(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0));
	else
		r = rc == SQLITE_DONE ? ss_err(SS_ECORRUPT,
		    "catalog: encryption root has no wrapped key") :
		    ss_cat_dberr(c, rc, "key");
	sqlite3_finalize(st);
	return r;
}

int
ss_cat_key_set(struct ss_cat *c, int64_t root, const void *p, size_t n)
{
	sqlite3_stmt *st;
	int r;

	if ((r = ss_cat_prep(c, "INSERT OR REPLACE INTO keys(root, wrapped)"
	    " VALUES(?1, ?2)", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, root);
	sqlite3_bind_blob(st, 2, p, (int)n, SQLITE_STATIC);
	return ss_cat_step_done(c, st);
}
