/*
 * test_catalog: the SQLite catalog (lib/catalog, docs/format.md 3) in a
 * temporary directory: meta and txg, datasets (prefix listing), properties
 * by source, wrapped keys, snapshots and bookmarks (ordering), the object
 * lists of bookmarks (rows, order, copy, deletion with their bookmark), the
 * object index and its reference counts, transactions and savepoints,
 * isolation between two connections, durability across close and reopen,
 * and files that are not catalogs.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "catalog/catalog.h"
#include "tap.h"

static char tmpdir[4096];
static char *dbpath;

/* ---------- helpers ---------- */

static void
bail(const char *what)
{
	printf("Bail out! %s: %s\n", what, ss_errmsg());
	if (dbpath != NULL)
		ss_rm_rf(tmpdir);
	exit(1);
}

static struct ss_cat *
open_cat(const char *path, int create)
{
	struct ss_cat *c = NULL;

	if (ss_cat_open(path, create, &c) != 0)
		bail("cannot open the catalog");
	return c;
}

/* add_ds(c, name, parent): a dataset with fixed fields; returns its id. */
static int64_t
add_ds(struct ss_cat *c, const char *name, int64_t parent)
{
	struct ss_ds d;
	int r;

	memset(&d, 0, sizeof(d));
	d.name = (char *)name;
	d.parent = parent;
	d.guid = 0x8000000000000000ull | (uint64_t)strlen(name);
	d.creation = 1700000000;
	d.createtxg = 7;
	d.encroot = 0;
	d.kind = SS_DS_CREATED;
	if ((r = ss_cat_ds_add(c, &d)) != 0) {
		printf("#   add dataset '%s': %d %s\n", name, r, ss_errmsg());
		return -1;
	}
	return d.id;
}

static int
ds_exists(struct ss_cat *c, const char *name)
{
	struct ss_ds d;
	int r = ss_cat_ds_get(c, name, &d);

	ss_ds_clear(&d);
	return r == 0;
}

/* list_is(c, prefix, want): names listed, comma separated, equal ${want}. */
static int
list_is(struct ss_cat *c, const char *prefix, const char *want)
{
	struct ss_ds *v;
	size_t n;
	char got[512] = "";
	int r;

	if ((r = ss_cat_ds_list(c, prefix, &v, &n)) != 0) {
		printf("#   list '%s': %d %s\n", prefix ? prefix : "(all)", r,
		    ss_errmsg());
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strncat(got, ",", sizeof(got) - strlen(got) - 1);
		strncat(got, v[i].name, sizeof(got) - strlen(got) - 1);
	}
	ss_ds_list_free(v, n);
	if (strcmp(got, want) != 0)
		printf("#   list '%s': got '%s', want '%s'\n",
		    prefix ? prefix : "(all)", got, want);
	return strcmp(got, want) == 0;
}

static int
prop_is(struct ss_cat *c, int64_t ds, const char *name, int src,
    const char *want)
{
	char *v = NULL;
	int r = ss_cat_prop_get(c, ds, name, src, &v), good;

	good = want == NULL ? r == SS_ENOENT && v == NULL :
	    r == 0 && v != NULL && strcmp(v, want) == 0;
	if (!good)
		printf("#   prop %s/%d: r=%d '%s', want '%s'\n", name, src, r,
		    v ? v : "(null)", want ? want : "(unset)");
	free(v);
	return good;
}

static struct ss_id
mkid(uint8_t b)
{
	struct ss_id id;

	memset(id.b, b, SS_ID_LEN);
	id.b[SS_ID_LEN - 1] = (uint8_t)~b;
	return id;
}

/* ---------- meta ---------- */

static void
test_meta(struct ss_cat *c)
{
	char *v = NULL;
	uint64_t t1 = 0, t2 = 0, t3 = 0;

	is_int(ss_cat_meta_get(c, "guid", &v), SS_ENOENT,
	    "meta: unset key is SS_ENOENT");
	ok(v == NULL, "meta: no value for an unset key");
	is_int(ss_cat_meta_set(c, "guid", "0123456789abcdef"), 0,
	    "meta: set");
	is_int(ss_cat_meta_set(c, "guid", "fedcba9876543210"), 0,
	    "meta: set again replaces");
	ok(ss_cat_meta_get(c, "guid", &v) == 0 && v != NULL &&
	    strcmp(v, "fedcba9876543210") == 0, "meta: get the last value");
	free(v);
	ok(ss_cat_next_txg(c, &t1) == 0 && ss_cat_next_txg(c, &t2) == 0 &&
	    ss_cat_next_txg(c, &t3) == 0 && t1 == 1 && t2 == 2 && t3 == 3,
	    "next_txg counts 1, 2, 3 (%llu %llu %llu)",
	    (unsigned long long)t1, (unsigned long long)t2,
	    (unsigned long long)t3);
}

/* ---------- datasets ---------- */

static int64_t
test_datasets(struct ss_cat *c)
{
	static const char *names[] = { "tank/a", "tank/a/b", "tank/ab",
	    "tank/a-x", "tank/a/b/c", "tank/x_y", "tank/xzy", "tank/xzy/q",
	    "tank/b" };
	struct ss_ds d, dup;
	int64_t root, a;

	root = add_ds(c, "tank", 0);
	ok(root > 0, "dataset: add sets the id");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (add_ds(c, names[i], root) <= 0)
			bail("add dataset");
	memset(&dup, 0, sizeof(dup));
	dup.name = "tank/a";
	dup.kind = SS_DS_CREATED;
	is_int(ss_cat_ds_add(c, &dup), SS_EEXIST,
	    "dataset: adding an existing name is SS_EEXIST");

	ok(ss_cat_ds_get(c, "tank/a", &d) == 0 && strcmp(d.name, "tank/a") ==
	    0 && d.parent == root && d.guid == (0x8000000000000000ull | 6) &&
	    d.creation == 1700000000 && d.createtxg == 7 && d.encroot == 0 &&
	    d.kind == SS_DS_CREATED, "dataset: get returns every field "
	    "(guid >= 2^63 kept)");
	a = d.id;
	ss_ds_clear(&d);
	ok(ss_cat_ds_get_id(c, a, &d) == 0 && strcmp(d.name, "tank/a") == 0,
	    "dataset: get by id");
	ss_ds_clear(&d);
	is_int(ss_cat_ds_get(c, "tank/nope", &d), SS_ENOENT,
	    "dataset: get of a missing name is SS_ENOENT");
	ok(d.name == NULL, "dataset: nothing allocated for a missing name");
	is_int(ss_cat_ds_get_id(c, 999999, &d), SS_ENOENT,
	    "dataset: get of a missing id is SS_ENOENT");
	is_int(ss_cat_ds_get(c, "tank/A", &d), SS_ENOENT,
	    "dataset: names are case-sensitive");

	ok(list_is(c, NULL, "tank,tank/a,tank/a-x,tank/a/b,tank/a/b/c,"
	    "tank/ab,tank/b,tank/x_y,tank/xzy,tank/xzy/q"),
	    "list all: every dataset in byte order");
	ok(list_is(c, "tank/a", "tank/a,tank/a/b,tank/a/b/c"),
	    "list 'tank/a': itself and its descendants, not tank/ab or "
	    "tank/a-x");
	ok(list_is(c, "tank/a/b", "tank/a/b,tank/a/b/c"),
	    "list 'tank/a/b': two levels");
	ok(list_is(c, "tank/x_y", "tank/x_y"),
	    "list 'tank/x_y': '_' is not a wildcard");
	ok(list_is(c, "tank/x%", ""),
	    "list 'tank/x%%': '%%' is not a wildcard");
	ok(list_is(c, "tank/a/", ""), "list 'tank/a/': no such dataset");
	ok(list_is(c, "tan", ""), "list 'tan': a name prefix is not a parent");
	ok(list_is(c, "tank", "tank,tank/a,tank/a-x,tank/a/b,tank/a/b/c,"
	    "tank/ab,tank/b,tank/x_y,tank/xzy,tank/xzy/q"),
	    "list 'tank': the whole pool");

	is_int(ss_cat_ds_set_encroot(c, a, a), 0, "dataset: set encroot");
	ok(ss_cat_ds_get(c, "tank/a", &d) == 0 && d.encroot == a,
	    "dataset: encroot kept");
	ss_ds_clear(&d);
	return a;
}

static void
test_ds_del(struct ss_cat *c)
{
	struct ss_buf b = SS_BUF_INIT;
	char *v = NULL;
	int64_t id = add_ds(c, "del/me", 0);

	ok(id > 0 && ss_cat_prop_set(c, id, "user:x", SS_SRC_LOCAL, "1") ==
	    0 && ss_cat_prop_set(c, id, "compression", SS_SRC_RECEIVED,
	    "lz4") == 0 && ss_cat_key_set(c, id, "k", 1) == 0,
	    "dataset delete: setup with properties and a key");
	is_int(ss_cat_ds_del(c, id), 0, "dataset delete");
	ok(!ds_exists(c, "del/me"), "dataset delete: gone");
	ok(ss_cat_prop_get(c, id, "user:x", SS_SRC_LOCAL, &v) == SS_ENOENT &&
	    ss_cat_prop_get(c, id, "compression", SS_SRC_RECEIVED, &v) ==
	    SS_ENOENT, "dataset delete: its properties too");
	ok(ss_cat_key_get(c, id, &b) < 0, "dataset delete: its key too");
	ok(list_is(c, "del", ""), "dataset delete: not listed");
	ss_buf_free(&b);
}

/* ---------- properties ---------- */

static void
test_props(struct ss_cat *c, int64_t ds, int64_t other)
{
	char **names = NULL;
	size_t n = 0;

	ok(prop_is(c, ds, "compression", SS_SRC_LOCAL, NULL),
	    "prop: unset is SS_ENOENT");
	is_int(ss_cat_prop_set(c, ds, "compression", SS_SRC_LOCAL, "lz4"), 0,
	    "prop: set local");
	ok(prop_is(c, ds, "compression", SS_SRC_LOCAL, "lz4") &&
	    prop_is(c, ds, "compression", SS_SRC_RECEIVED, NULL),
	    "prop: local value, no received value");
	is_int(ss_cat_prop_set(c, ds, "compression", SS_SRC_RECEIVED, "zstd"),
	    0, "prop: set received");
	ok(prop_is(c, ds, "compression", SS_SRC_LOCAL, "lz4") &&
	    prop_is(c, ds, "compression", SS_SRC_RECEIVED, "zstd"),
	    "prop: local and received kept apart");
	ss_cat_prop_set(c, ds, "compression", SS_SRC_LOCAL, "zstd-19");
	ok(prop_is(c, ds, "compression", SS_SRC_LOCAL, "zstd-19"),
	    "prop: set again replaces");
	ok(prop_is(c, other, "compression", SS_SRC_LOCAL, NULL),
	    "prop: another dataset is not affected");
	is_int(ss_cat_prop_del(c, ds, "compression", SS_SRC_LOCAL), 0,
	    "prop: delete local");
	ok(prop_is(c, ds, "compression", SS_SRC_LOCAL, NULL) &&
	    prop_is(c, ds, "compression", SS_SRC_RECEIVED, "zstd"),
	    "prop: delete local keeps received");
	ss_cat_prop_del(c, ds, "compression", SS_SRC_RECEIVED);
	ok(prop_is(c, ds, "compression", SS_SRC_RECEIVED, NULL),
	    "prop: delete received");
	ss_cat_prop_set(c, ds, "com.example:note", SS_SRC_LOCAL,
	    "it's \"quoted\"; \xc3\xa9");
	ok(prop_is(c, ds, "com.example:note", SS_SRC_LOCAL,
	    "it's \"quoted\"; \xc3\xa9"), "prop: quotes and UTF-8 round trip");
	ss_cat_prop_set(c, ds, "org:empty", SS_SRC_LOCAL, "");
	ok(prop_is(c, ds, "org:empty", SS_SRC_LOCAL, ""),
	    "prop: an empty value is a value");
	ss_cat_prop_set(c, ds, "mountpoint", SS_SRC_LOCAL, "/mnt");
	ss_cat_prop_set(c, other, "net.other:x", SS_SRC_LOCAL, "1");
	ok(ss_cat_prop_names(c, ds, &names, &n) == 0 && n == 2 &&
	    strcmp(names[0], "com.example:note") == 0 &&
	    strcmp(names[1], "org:empty") == 0,
	    "prop_names: user properties (with ':') of this dataset, sorted");
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* ---------- wrapped keys ---------- */

static void
test_keys(struct ss_cat *c, int64_t root)
{
	struct ss_buf b = SS_BUF_INIT;
	uint8_t k1[108], k2[108];

	for (size_t i = 0; i < sizeof(k1); i++) {
		k1[i] = (uint8_t)i;		/* NUL bytes included */
		k2[i] = (uint8_t)(255 - i);
	}
	ok(ss_cat_key_get(c, root, &b) < 0 && b.len == 0,
	    "key: a root without a key is an error");
	is_int(ss_cat_key_set(c, root, k1, sizeof(k1)), 0, "key: set");
	ok(ss_cat_key_get(c, root, &b) == 0 && b.len == sizeof(k1) &&
	    memcmp(b.p, k1, sizeof(k1)) == 0, "key: get returns the blob");
	ss_cat_key_set(c, root, k2, sizeof(k2));
	ok(ss_cat_key_get(c, root, &b) == 0 && b.len == sizeof(k2) &&
	    memcmp(b.p, k2, sizeof(k2)) == 0, "key: set again replaces");
	ok(ss_cat_key_get(c, root + 1000, &b) < 0,
	    "key: another root has none");
	ss_buf_free(&b);
}

/* ---------- snapshots ---------- */

static int
add_snap(struct ss_cat *c, int64_t ds, const char *name, int kind,
    uint64_t txg)
{
	struct ss_snap s;
	int r;

	memset(&s, 0, sizeof(s));
	s.ds = ds;
	s.name = (char *)name;
	s.kind = kind;
	s.guid = 0xfedcba9876543210ull ^ txg;
	s.createtxg = txg;
	s.creation_ns = 1700000000123456789ll + (int64_t)txg;
	s.root = mkid((uint8_t)txg);
	s.prev_guid = txg - 1;
	memset(s.mac, 0xa0 + (int)txg, sizeof(s.mac));
	s.referenced = 1000 * txg;
	s.logical = 2000 * txg;
	s.written = 3000 * txg;
	s.nfiles = txg;
	r = ss_cat_snap_add(c, &s);
	if (r != 0)
		return r;
	return s.id > 0 ? 0 : SS_EIO;
}

static int
snaps_are(struct ss_cat *c, int64_t ds, int kind, const char *want)
{
	struct ss_snap *v;
	size_t n;
	char got[256] = "", one[64];

	if (ss_cat_snap_list(c, ds, kind, &v, &n) != 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		snprintf(one, sizeof(one), "%s%s%c%llu", i ? "," : "",
		    v[i].name, v[i].kind == SS_SNAP ? '@' : '#',
		    (unsigned long long)v[i].createtxg);
		strncat(got, one, sizeof(got) - strlen(got) - 1);
	}
	ss_snap_list_free(v, n);
	if (strcmp(got, want) != 0)
		printf("#   snapshots: got '%s', want '%s'\n", got, want);
	return strcmp(got, want) == 0;
}

static void
test_snaps(struct ss_cat *c, int64_t ds, int64_t other)
{
	struct ss_snap s;
	struct ss_id root5 = mkid(5);
	uint8_t mac5[SS_HASH_LEN];
	struct ss_snap *v;
	size_t n;

	ok(add_snap(c, ds, "s5", SS_SNAP, 5) == 0 &&
	    add_snap(c, ds, "s3", SS_SNAP, 3) == 0 &&
	    add_snap(c, ds, "s9", SS_SNAP, 9) == 0 &&
	    add_snap(c, ds, "b4", SS_BOOKMARK, 4) == 0 &&
	    add_snap(c, ds, "s5", SS_BOOKMARK, 5) == 0 &&
	    add_snap(c, other, "o1", SS_SNAP, 1) == 0,
	    "snap: add snapshots and bookmarks (a bookmark may share a "
	    "snapshot's name)");
	is_int(add_snap(c, ds, "s3", SS_SNAP, 10), SS_EEXIST,
	    "snap: the same name and kind twice is SS_EEXIST");
	ok(snaps_are(c, ds, SS_SNAP, "s3@3,s5@5,s9@9"),
	    "snap list: snapshots by createtxg, not by insertion or name");
	ok(snaps_are(c, ds, SS_BOOKMARK, "b4#4,s5#5"), "snap list: bookmarks");
	ok(snaps_are(c, ds, 0, "s3@3,b4#4,s5@5,s5#5,s9@9"),
	    "snap list: kind 0 gives both, by createtxg then insertion");
	ok(snaps_are(c, other, 0, "o1@1"), "snap list: per dataset");
	ok(ss_cat_snap_list(c, 999999, 0, &v, &n) == 0 && n == 0,
	    "snap list: a dataset without snapshots gives none");
	ss_snap_list_free(v, n);

	memset(mac5, 0xa5, sizeof(mac5));
	ok(ss_cat_snap_get(c, ds, "s5", SS_SNAP, &s) == 0 && s.id > 0 &&
	    s.ds == ds && strcmp(s.name, "s5") == 0 && s.kind == SS_SNAP &&
	    s.guid == (0xfedcba9876543210ull ^ 5) && s.createtxg == 5 &&
	    s.creation_ns == 1700000000123456794ll &&
	    memcmp(s.root.b, root5.b, SS_ID_LEN) == 0 && s.prev_guid == 4 &&
	    memcmp(s.mac, mac5, SS_HASH_LEN) == 0 && s.referenced == 5000 &&
	    s.logical == 10000 && s.written == 15000 && s.nfiles == 5,
	    "snap get: every field round trips");
	is_int(ss_cat_snap_del(c, s.id), 0, "snap: delete");
	ss_snap_clear(&s);
	is_int(ss_cat_snap_get(c, ds, "s5", SS_SNAP, &s), SS_ENOENT,
	    "snap get: deleted snapshot is SS_ENOENT");
	ok(snaps_are(c, ds, 0, "s3@3,b4#4,s5#5,s9@9"),
	    "snap: deleting the snapshot keeps the bookmark of that name");
	is_int(ss_cat_snap_get(c, ds, "b4", SS_SNAP, &s), SS_ENOENT,
	    "snap get: a bookmark is not a snapshot");
	is_int(ss_cat_snap_get(c, other, "s3", SS_SNAP, &s), SS_ENOENT,
	    "snap get: another dataset's name space");
}

/* ---------- object lists of bookmarks ---------- */

/* seqid(i): identifiers that sort as ${i} does (big-endian prefix). */
static struct ss_id
seqid(uint32_t i)
{
	struct ss_id id;

	memset(id.b, 0x5a, SS_ID_LEN);
	id.b[0] = (uint8_t)(i >> 24);
	id.b[1] = (uint8_t)(i >> 16);
	id.b[2] = (uint8_t)(i >> 8);
	id.b[3] = (uint8_t)i;
	return id;
}

struct collect {
	uint32_t n, stop_at;
	int ordered;		/* the i-th call got seqid(i) */
};

static int
collect_fn(void *arg, const struct ss_id *id)
{
	struct collect *k = arg;
	struct ss_id want = seqid(k->n);

	if (memcmp(id->b, want.b, SS_ID_LEN) != 0)
		k->ordered = 0;
	return ++k->n == k->stop_at ? 9 : 0;
}

/* list_has(c, snap, n): the list of ${snap} is seqid(0..n-1), in order. */
static int
list_has(struct ss_cat *c, int64_t snap, uint32_t n)
{
	struct collect k = { 0, 0, 1 };
	int r = ss_cat_bmids_each(c, snap, collect_fn, &k);

	if (r != 0 || k.n != n || !k.ordered)
		printf("#   list of %lld: r=%d, %u ids (want %u), ordered %d\n",
		    (long long)snap, r, k.n, n, k.ordered);
	return r == 0 && k.n == n && k.ordered;
}

static int64_t
bm_id(struct ss_cat *c, int64_t ds, const char *name)
{
	struct ss_snap s;
	int64_t id = -1;

	if (ss_cat_snap_get(c, ds, name, SS_BOOKMARK, &s) == 0)
		id = s.id;
	ss_snap_clear(&s);
	return id;
}

static void
test_bmids(struct ss_cat *c, int64_t ds)
{
	uint32_t big = 2 * SS_CAT_BMIDS_SEG + 5;
	struct ss_id *ids = calloc(big, sizeof(*ids)), swap;
	struct collect k = { 0, 3, 1 };
	int64_t b1 = -1, b2 = -1, b3 = -1;

	if (ids == NULL)
		bail("out of memory");
	for (uint32_t i = 0; i < big; i++)
		ids[i] = seqid(i);
	ok(add_snap(c, ds, "l1", SS_BOOKMARK, 21) == 0 &&
	    add_snap(c, ds, "l2", SS_BOOKMARK, 22) == 0 &&
	    add_snap(c, ds, "l3", SS_BOOKMARK, 23) == 0 &&
	    (b1 = bm_id(c, ds, "l1")) > 0 && (b2 = bm_id(c, ds, "l2")) > 0 &&
	    (b3 = bm_id(c, ds, "l3")) > 0, "bmids: three bookmark rows");
	is_int(ss_cat_bmids_each(c, b1, collect_fn, &k), SS_ENOENT,
	    "bmids each: no list yet is SS_ENOENT");
	is_int(ss_cat_bmids_put(c, b1, ids, 3), 0, "bmids put: three ids");
	ok(list_has(c, b1, 3), "bmids each: the three, in order");
	k.n = 0;
	is_int(ss_cat_bmids_each(c, b1, collect_fn, &k), 9,
	    "bmids each: stops at and returns the first non-zero");
	is_int(k.n, 3, "bmids each: ... after that call");
	is_int(ss_cat_bmids_put(c, b2, ids, big), 0,
	    "bmids put: 2 rows' worth and 5 more");
	ok(list_has(c, b2, big), "bmids each: across rows, in order");
	is_int(ss_cat_bmids_put(c, b3, ids, 0), SS_EINVAL,
	    "bmids put: an empty list is refused");
	swap = ids[1];
	ids[1] = ids[2];
	ids[2] = swap;
	is_int(ss_cat_bmids_put(c, b3, ids, 3), SS_EINVAL,
	    "bmids put: an unsorted list is refused");
	ids[2] = ids[1];
	is_int(ss_cat_bmids_put(c, b3, ids, 3), SS_EINVAL,
	    "bmids put: a repeated identifier is refused");
	ok(ss_cat_bmids_each(c, b3, collect_fn, &k) == SS_ENOENT,
	    "bmids put: nothing stored by a refused put");
	is_int(ss_cat_bmids_copy(c, b2, b3), 0, "bmids copy");
	ok(list_has(c, b3, big) && list_has(c, b2, big),
	    "bmids copy: both rows have the list");
	is_int(ss_cat_bmids_copy(c, 999999, b1), SS_ENOENT,
	    "bmids copy: from a row without a list is SS_ENOENT");
	ok(list_has(c, b1, 3), "bmids copy: ... and changes nothing");
	is_int(ss_cat_snap_del(c, b2), 0, "bmids: delete a bookmark row");
	is_int(ss_cat_bmids_each(c, b2, collect_fn, &k), SS_ENOENT,
	    "bmids: the deleted row's list is gone with it");
	ok(list_has(c, b3, big), "bmids: the copy stays");
	ok(ss_cat_snap_del(c, b1) == 0 && ss_cat_snap_del(c, b3) == 0,
	    "bmids: delete the others");
	free(ids);
}

/* ---------- object index ---------- */

struct walk {
	int calls, stop_at;
	uint64_t last_pack, last_off;
	int ordered;
};

static int
walk_fn(void *arg, const struct ss_id *id, const struct ss_objrow *row)
{
	struct walk *w = arg;

	(void)id;
	if (w->calls > 0 && row->loc.pack == w->last_pack &&
	    row->loc.off <= w->last_off)
		w->ordered = 0;
	w->last_pack = row->loc.pack;
	w->last_off = row->loc.off;
	return ++w->calls == w->stop_at ? 7 : 0;
}

static void
test_objects(struct ss_cat *c)
{
	struct ss_id a = mkid(1), b = mkid(2), d = mkid(3), none = mkid(9);
	struct ss_objrow ra = { { 0x8000000000000001ull, 16, 100 }, 0, 2 };
	struct ss_objrow rb = { { 1, 300, 50 }, 1, 0 };
	struct ss_objrow rd = { { 1, 16, 70 }, 5, 1 };
	struct ss_objrow got;
	struct walk w;
	uint64_t now = 99, cnt = 0, bytes = 0;

	ok(ss_cat_obj_add(c, &a, &ra) == 0 && ss_cat_obj_add(c, &b, &rb) == 0 &&
	    ss_cat_obj_add(c, &d, &rd) == 0, "obj: add three rows");
	is_int(ss_cat_obj_add(c, &a, &rb), SS_EEXIST,
	    "obj: adding an existing id is SS_EEXIST");
	memset(&got, 0, sizeof(got));
	ok(ss_cat_obj_get(c, &a, &got) == 0 &&
	    got.loc.pack == ra.loc.pack && got.loc.off == 16 &&
	    got.loc.len == 100 && got.refs == 0 && got.nchild == 2,
	    "obj get: every field (pack >= 2^63 kept)");
	is_int(ss_cat_obj_get(c, &none, &got), SS_ENOENT,
	    "obj get: a missing id is SS_ENOENT");

	ok(ss_cat_obj_ref(c, &a, 1, &now) == 0 && now == 1,
	    "obj ref: +1 gives 1");
	ok(ss_cat_obj_ref(c, &a, 2, &now) == 0 && now == 3,
	    "obj ref: +2 gives 3");
	ok(ss_cat_obj_ref(c, &a, -3, &now) == 0 && now == 0,
	    "obj ref: -3 gives 0");
	ok(ss_cat_obj_ref(c, &b, 1, NULL) == 0 &&
	    ss_cat_obj_get(c, &b, &got) == 0 && got.refs == 2,
	    "obj ref: without ${now}; get sees the count");
	is_int(ss_cat_obj_ref(c, &none, 1, &now), SS_ECORRUPT,
	    "obj ref: a missing id is SS_ECORRUPT");
	is_int(ss_cat_obj_get(c, &none, &got), SS_ENOENT,
	    "obj ref: a missing id is not created");
	ok(ss_cat_savepoint(c) == 0, "obj ref: savepoint");
	is_int(ss_cat_obj_ref(c, &a, -1, &now), SS_ECORRUPT,
	    "obj ref: below zero is SS_ECORRUPT");
	ss_cat_rollback_savepoint(c);
	ok(ss_cat_obj_get(c, &a, &got) == 0 && got.refs == 0,
	    "obj ref: rolled back to 0");
	/* without ${now}: the same checks, in a cheaper statement */
	is_int(ss_cat_obj_ref(c, &none, 1, NULL), SS_ECORRUPT,
	    "obj ref, no ${now}: a missing id is SS_ECORRUPT");
	ok(strstr(ss_errmsg(), "missing") != NULL, "... says '%s'",
	    ss_errmsg());
	is_int(ss_cat_obj_ref(c, &a, -1, NULL), SS_ECORRUPT,
	    "obj ref, no ${now}: below zero is SS_ECORRUPT");
	ok(strstr(ss_errmsg(), "negative") != NULL, "... says '%s'",
	    ss_errmsg());
	ok(ss_cat_obj_get(c, &a, &got) == 0 && got.refs == 0,
	    "obj ref, no ${now}: a refused change changes nothing");
	ok(ss_cat_obj_ref(c, &a, 2, NULL) == 0 && ss_cat_obj_ref(c, &a, -2,
	    NULL) == 0 && ss_cat_obj_get(c, &a, &got) == 0 && got.refs == 0,
	    "obj ref, no ${now}: +2 then -2");

	ok(ss_cat_obj_stats(c, &cnt, &bytes) == 0 && cnt == 3 &&
	    bytes == 220, "obj stats: 3 objects, 220 bytes");
	ok(ss_cat_pack_live(c, 1, &cnt) == 0 && cnt == 2,
	    "pack_live: 2 objects in pack 1");
	memset(&w, 0, sizeof(w));
	w.ordered = 1;
	ok(ss_cat_obj_each(c, walk_fn, &w) == 0 && w.calls == 3 && w.ordered,
	    "obj each: every row, offsets ascending within a pack");
	memset(&w, 0, sizeof(w));
	w.ordered = 1;
	w.stop_at = 2;
	ok(ss_cat_obj_each(c, walk_fn, &w) == 7 && w.calls == 2,
	    "obj each: stops at and returns the first non-zero");

	ok(ss_cat_pack_live(c, 0x8000000000000001ull, &cnt) == 0 && cnt == 1,
	    "pack_live: a pack number above 2^63");
	ok(ss_cat_pack_live(c, 7, &cnt) == 0 && cnt == 0,
	    "pack_live: 0 for a pack without objects");
	ok(ss_cat_pack_recount(c, &now) == 0 && now == 0,
	    "pack recount: the kept counts agree with a scan");

	is_int(ss_cat_obj_del(c, &b), 0, "obj del");
	is_int(ss_cat_obj_get(c, &b, &got), SS_ENOENT, "obj del: gone");
	ok(ss_cat_obj_stats(c, &cnt, &bytes) == 0 && cnt == 2 &&
	    bytes == 170, "obj stats after delete: 2 objects, 170 bytes");
	ok(ss_cat_pack_live(c, 1, &cnt) == 0 && cnt == 1,
	    "pack_live: a delete counts down");
	ok(ss_cat_begin(c) == 0 && ss_cat_obj_del(c, &d) == 0 &&
	    ss_cat_pack_live(c, 1, &cnt) == 0 && cnt == 0,
	    "pack_live: 0 once the last object of a pack goes");
	ss_cat_rollback(c);
	ok(ss_cat_pack_live(c, 1, &cnt) == 0 && cnt == 1 &&
	    ss_cat_pack_recount(c, &now) == 0 && now == 0,
	    "pack_live: a rollback restores the count");
}

/* ---------- transactions ---------- */

static void
test_transactions(struct ss_cat *c)
{
	struct ss_id e = mkid(4);
	struct ss_objrow re = { { 2, 16, 10 }, 0, 0 }, got;

	ok(ss_cat_begin(c) == 0 && add_ds(c, "tx/rolled", 0) > 0,
	    "tx: begin, add");
	ok(ds_exists(c, "tx/rolled"), "tx: visible inside the transaction");
	ss_cat_rollback(c);
	ok(!ds_exists(c, "tx/rolled"), "tx: rollback discards it");
	ok(ss_cat_begin(c) == 0 && add_ds(c, "tx/kept", 0) > 0 &&
	    ss_cat_obj_add(c, &e, &re) == 0 && ss_cat_commit(c) == 0,
	    "tx: begin, add, commit");
	ok(ds_exists(c, "tx/kept") && ss_cat_obj_get(c, &e, &got) == 0,
	    "tx: committed rows stay");
	ss_cat_rollback(c);
	ok(ds_exists(c, "tx/kept"), "tx: rollback with no transaction is "
	    "harmless");

	ok(ss_cat_savepoint(c) == 0 && add_ds(c, "sp/outside", 0) > 0 &&
	    ss_cat_obj_ref(c, &e, 4, NULL) == 0, "savepoint outside a "
	    "transaction: add, ref");
	ss_cat_rollback_savepoint(c);
	ok(!ds_exists(c, "sp/outside") && ss_cat_obj_get(c, &e, &got) == 0 &&
	    got.refs == 0, "savepoint outside a transaction: rolled back");

	ok(ss_cat_begin(c) == 0 && add_ds(c, "sp/before", 0) > 0 &&
	    ss_cat_savepoint(c) == 0 && add_ds(c, "sp/inside", 0) > 0,
	    "savepoint inside a transaction: add, savepoint, add");
	ss_cat_rollback_savepoint(c);
	ok(ds_exists(c, "sp/before") && !ds_exists(c, "sp/inside"),
	    "savepoint inside a transaction: only the later row undone");
	ok(ss_cat_commit(c) == 0 && ds_exists(c, "sp/before"),
	    "savepoint inside a transaction: the rest commits");
}

static void
test_two_connections(struct ss_cat *c)
{
	struct ss_cat *c2 = open_cat(dbpath, 0);
	struct ss_id f = mkid(5);
	struct ss_objrow rf = { { 3, 16, 10 }, 0, 0 }, got;

	ok(ss_cat_begin(c) == 0 && add_ds(c, "iso/x", 0) > 0 &&
	    ss_cat_obj_add(c, &f, &rf) == 0 &&
	    ss_cat_prop_set(c, 1, "iso:p", SS_SRC_LOCAL, "v") == 0,
	    "isolation: first connection writes in a transaction");
	ok(!ds_exists(c2, "iso/x"), "isolation: second connection does not "
	    "see the uncommitted dataset");
	is_int(ss_cat_obj_get(c2, &f, &got), SS_ENOENT,
	    "isolation: nor the uncommitted object row");
	ok(prop_is(c2, 1, "iso:p", SS_SRC_LOCAL, NULL),
	    "isolation: nor the uncommitted property");
	ok(ds_exists(c2, "tx/kept"), "isolation: second connection reads "
	    "committed rows meanwhile");
	is_int(ss_cat_commit(c), 0, "isolation: commit");
	ok(ds_exists(c2, "iso/x") && ss_cat_obj_get(c2, &f, &got) == 0 &&
	    prop_is(c2, 1, "iso:p", SS_SRC_LOCAL, "v"),
	    "isolation: second connection sees it after commit");
	ss_cat_close(c2);
}

/*
 * Read transactions (send): one snapshot of the catalog for the whole
 * walk; nothing inside a writer's transaction; ending is safe anytime.
 */
static void
test_read_tx(struct ss_cat *c)
{
	struct ss_cat *c2 = open_cat(dbpath, 0);
	struct ss_id g = mkid(6);
	struct ss_objrow rg = { { 3, 32, 40 }, 0, 0 }, got;

	ss_cat_end_read(c2);
	ss_cat_end_read(NULL);
	ok(1, "read tx: ending none is harmless");
	is_int(ss_cat_begin_read(c2), 0, "read tx: begins");
	is_int(ss_cat_begin_read(c2), 0, "read tx: a second begin is a no-op");
	ok(ss_cat_begin(c) == 0 && add_ds(c, "rtx/new", 0) > 0 &&
	    ss_cat_obj_add(c, &g, &rg) == 0 && ss_cat_commit(c) == 0,
	    "read tx: the other connection commits a dataset and an object");
	ok(!ds_exists(c2, "rtx/new") && ss_cat_obj_get(c2, &g, &got) ==
	    SS_ENOENT, "read tx: the reader keeps its snapshot");
	ok(ds_exists(c2, "iso/x"), "read tx: ... and reads what was there");
	ss_cat_end_read(c2);
	ok(ds_exists(c2, "rtx/new") && ss_cat_obj_get(c2, &g, &got) == 0 &&
	    got.loc.len == 40, "read tx: after the end, the new rows");
	ok(ss_cat_begin(c2) == 0 && ss_cat_begin_read(c2) == 0,
	    "read tx: inside a write transaction, begin_read does nothing");
	ss_cat_end_read(c2);
	ok(add_ds(c2, "rtx/w", 0) > 0 && ss_cat_commit(c2) == 0 &&
	    ds_exists(c, "rtx/w"), "read tx: ... and the writer commits");
	is_int(ss_cat_begin_read(c2), 0, "read tx: again");
	ss_cat_close(c2);	/* with a read transaction open */
	ok(ds_exists(c, "rtx/w"), "read tx: closed while open: nothing lost");
}

static struct ss_cat *
test_reopen(struct ss_cat *c, int64_t ds)
{
	struct ss_buf b = SS_BUF_INIT;
	struct ss_objrow got;
	struct ss_id a = mkid(1);
	char *v = NULL;

	ok(ss_cat_begin(c) == 0 && add_ds(c, "lost/open", 0) > 0,
	    "reopen: a transaction left open");
	ss_cat_close(c);
	c = open_cat(dbpath, 0);
	ok(ds_exists(c, "tank/a/b/c") && ds_exists(c, "iso/x") &&
	    ds_exists(c, "sp/before"), "reopen: committed datasets kept");
	ok(!ds_exists(c, "lost/open") && !ds_exists(c, "tx/rolled"),
	    "reopen: uncommitted datasets gone");
	ok(prop_is(c, ds, "com.example:note", SS_SRC_LOCAL,
	    "it's \"quoted\"; \xc3\xa9"), "reopen: properties kept");
	ok(ss_cat_key_get(c, 1, &b) == 0 && b.len == 108, "reopen: key kept");
	ok(snaps_are(c, ds, 0, "s3@3,b4#4,s5#5,s9@9"),
	    "reopen: snapshots kept");
	ok(ss_cat_obj_get(c, &a, &got) == 0 && got.loc.len == 100,
	    "reopen: object index kept");
	ok(ss_cat_meta_get(c, "txg", &v) == 0 && strcmp(v, "3") == 0,
	    "reopen: txg counter kept");
	free(v);
	ss_buf_free(&b);
	ss_cat_close(c);
	/* Opening with create set must not reset an existing catalog. */
	c = open_cat(dbpath, 1);
	ok(ds_exists(c, "tank/a/b/c"), "reopen with create: data kept");
	return c;
}

/* ---------- files that are not catalogs ---------- */

static int
write_file(const char *path, const void *p, size_t n)
{
	return ss_write_file_atomic(path, p, n, 0600);
}

/* open_fails(path, create, what): an error with a message, no handle. */
static void
open_fails(const char *path, int create, const char *what)
{
	struct ss_cat *c = (struct ss_cat *)&c;
	int r;

	ss_errclear();
	r = ss_cat_open(path, create, &c);
	ok(r < 0 && c == NULL && ss_errmsg()[0] != '\0',
	    "not a catalog: %s%s fails (%d: %s)", what,
	    create ? " (create)" : "", r, ss_errmsg());
	ss_cat_close(r == 0 ? c : NULL);
}

static void
test_bad_files(void)
{
	static const char txt[] = "this is not an SQLite database, but it is "
	    "long enough to hold a header and then some more text.\n";
	struct ss_buf before = SS_BUF_INIT, after = SS_BUF_INIT;
	char *text = ss_path_join(tmpdir, "text.db");
	char *noise = ss_path_join(tmpdir, "noise.db");
	char *empty = ss_path_join(tmpdir, "empty.db");
	char *trunc = ss_path_join(tmpdir, "trunc.db");
	char *missing = ss_path_join(tmpdir, "no/such/dir/catalog.db");
	uint8_t junk[4096];
	struct ss_cat *c = NULL;
	uint64_t x = 88172645463325252ull;

	for (size_t i = 0; i < sizeof(junk); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		junk[i] = (uint8_t)x;
	}
	if (text == NULL || noise == NULL || empty == NULL || trunc == NULL ||
	    missing == NULL || write_file(text, txt, sizeof(txt) - 1) != 0 ||
	    write_file(noise, junk, sizeof(junk)) != 0 ||
	    write_file(empty, "", 0) != 0 || ss_read_file(dbpath, 1u << 24,
	    &before) != 0 || write_file(trunc, before.p, 700) != 0)
		bail("cannot write the test files");

	open_fails(text, 0, "a text file");
	open_fails(text, 1, "a text file");
	ok(ss_read_file(text, 4096, &after) == 0 &&
	    after.len == sizeof(txt) - 1 && memcmp(after.p, txt,
	    after.len) == 0, "not a catalog: the text file is unchanged");
	open_fails(noise, 0, "4 KiB of noise");
	open_fails(trunc, 0, "a catalog cut to 700 bytes");
	open_fails(empty, 0, "an empty file");
	open_fails(tmpdir, 0, "a directory");
	open_fails(missing, 1, "a path in a missing directory");
	ss_errclear();
	is_int(ss_cat_open(missing, 0, &c), SS_ENOENT,
	    "a missing catalog without create is SS_ENOENT");
	ss_buf_free(&before);
	ss_buf_free(&after);
	free(text);
	free(noise);
	free(empty);
	free(trunc);
	free(missing);
}

int
main(void)
{
	struct ss_cat *c;
	int64_t a, b;
	const char *t = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/snapseal-test-catalog.XXXXXX",
	    t != NULL && t[0] != '\0' ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL || (dbpath = ss_path_join(tmpdir,
	    "catalog.db")) == NULL)
		bail("cannot make a temporary directory");
	is_int(ss_cat_open(dbpath, 0, &c), SS_ENOENT,
	    "open without create: a missing catalog is SS_ENOENT");
	c = open_cat(dbpath, 1);
	ok(c != NULL, "open with create: a new catalog");
	test_meta(c);
	a = test_datasets(c);
	test_ds_del(c);
	b = add_ds(c, "other", 0);
	test_props(c, a, b);
	test_keys(c, 1);
	test_snaps(c, a, b);
	test_bmids(c, a);
	test_objects(c);
	test_transactions(c);
	test_two_connections(c);
	test_read_tx(c);
	c = test_reopen(c, a);
	ss_cat_close(c);
	test_bad_files();
	ss_cat_close(NULL);
	ss_rm_rf(tmpdir);
	free(dbpath);
	return done_testing();
}
