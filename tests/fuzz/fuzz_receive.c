/*
 * fuzz_receive: the whole receive path (ss_receive_with, lib/pool/recv.c,
 * and the catalog, store, tree and key code behind it) on arbitrary
 * streams, into a real pool.
 *
 * Once per process a pool "fz" is made in a temporary directory
 * (fuzz_mkdtemp: /dev/shm when it can, so fsync costs nothing; the
 * process's SNAPSEAL_HOME points into it; removed at exit, or by the next
 * run after a crash):
 *
 *   fz/new          created here, no snapshot: parent of full streams
 *   fz/enc          encryption root created here (key loaded), @local
 *   fz/plain        FUZZ_RECV_BASE_PLAIN received (base of incrementals)
 *   fz/enc/sealed   the same stream re-sealed under fz/enc's key
 *   fz/raw          FUZZ_RECV_BASE_RAW received (-R -w: with its children
 *                   kid, inheriting the key, and open, unencrypted); the
 *                   key is not loaded
 *   fz/later        FUZZ_RECV_BASE_REPL received: a snapshot after the
 *                   base of the incremental seeds, that -F rolls back
 *
 * The base streams are seeds of the committed corpus (corpus_dir()), and
 * gen_corpus makes the incremental seeds from the same source pool, so
 * their bases match (after a change of the stream format, rewrite them:
 * scripts/fuzz.sh corpus).  The pool directory is then copied aside, and
 * copied back after every input that changed the pool.
 *
 * An input is a selector byte and a stream (fuzz.h): bits 0-2 pick the
 * destination (enum fuzz_rdest), bit 3 keeps the stream's checksums as
 * they are (otherwise fuzz_fixup_stream recomputes them, objects'
 * included, as any sender can), bit 4 is receive -F, bit 5 receive -n,
 * bit 6 receive -o compression=lz4 -x compression.  To receive a seed
 * with the CLI: tail -c +2 SEED | snapseal receive DEST.  With
 * FUZZ_RECEIVE_VERBOSE set, the outcome of every input is printed; with
 * FUZZ_RECEIVE_WRITE=FILE, the input is written there as it is received
 * (checksums recomputed), for the CLI.
 *
 * Properties: a failed receive returns a code that says "the stream is
 * bad" (never SS_EIO, SS_ENOMEM...) and leaves the catalog and the pack
 * files exactly as they were (fingerprint below), as does a dry run; a
 * successful one leaves a pool that scrubs clean, where every object's
 * reference count is the number of objects and snapshots that reference
 * it, and nothing is stored that nothing references.  The crash-recv-*
 * inputs of the corpus are the reproducers of bugs it found, kept as
 * regression tests.
 */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "pool/pool.h"
#include "fuzz.h"
#include "fuzz_mutate.h"

#define DEST_MASK FUZZ_RECV_DESTMASK

static const char *const dest[DEST_MASK + 1] = {
	[FUZZ_RD_NEW] = "fz/new/x",
	[FUZZ_RD_UNDER_ENC] = "fz/enc/x",
	[FUZZ_RD_PLAIN] = "fz/plain",
	[FUZZ_RD_RAW] = "fz/raw",
	[FUZZ_RD_SEALED] = "fz/enc/sealed",
	[FUZZ_RD_EMPTY] = "fz/new",
	[FUZZ_RD_LATER] = "fz/later",
	[FUZZ_RD_ENCROOT] = "fz/enc",
};

static struct {
	char *tmp, *pooldir, *pristine;
	struct ss_pool *p;
	int fd, verbose;
	const char *write;
	struct ss_buf fp0, fp, in, obj;
} F = { .fd = -1 };


/* ---------- files ---------- */

static int
copy_file(const char *from, const char *to)
{
	struct ss_buf b = SS_BUF_INIT;
	int r;

	if ((r = ss_read_file(from, (size_t)1 << 30, &b)) == 0)
		r = ss_write_file_atomic(to, b.p, b.len, 0600);
	ss_buf_free(&b);
	return r;
}

/* copy_tree(from, to): directories and regular files, as the pool has. */
static int
copy_tree(const char *from, const char *to)
{
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (mkdir(to, 0700) != 0 || (d = opendir(from)) == NULL)
		return SS_EIO;
	while (r == 0 && (de = readdir(d)) != NULL) {
		char *a, *b;
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		a = ss_path_join(from, de->d_name);
		b = ss_path_join(to, de->d_name);
		if (a == NULL || b == NULL)
			r = SS_ENOMEM;
		else if (lstat(a, &st) != 0)
			r = SS_EIO;
		else if (S_ISDIR(st.st_mode))
			r = copy_tree(a, b);
		else if (S_ISREG(st.st_mode))
			r = copy_file(a, b);
		free(a);
		free(b);
	}
	closedir(d);
	return r;
}

static void
write_file(const char *dir, const char *name, const void *p, size_t n)
{
	char *path = ss_path_join(dir, name);

	FUZZ_CHECK(path != NULL);
	FUZZ_CHECK(ss_mkdir_p(dir, 0755) == 0);
	FUZZ_CHECK(ss_write_file_atomic(path, p, n, 0600) == 0);
	free(path);
}

/* memfd_load(p, n): the stream receive reads, from its start. */
static int
memfd_load(const uint8_t *p, size_t n)
{
	if (F.fd < 0)
		F.fd = memfd_create("fuzz_receive", 0);
	FUZZ_CHECK(F.fd >= 0);
	FUZZ_CHECK(ftruncate(F.fd, 0) == 0);
	FUZZ_CHECK(n == 0 || ss_pwrite_all(F.fd, p, n, 0) == 0);
	FUZZ_CHECK(lseek(F.fd, 0, SEEK_SET) == 0);
	return F.fd;
}

/* ---------- what must hold ---------- */

static void
fp_add(struct ss_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fp_add(struct ss_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	FUZZ_CHECK(n >= 0 && ss_buf_reserve(b, (size_t)n + 1) == 0);
	va_start(ap, fmt);
	(void)vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static void
fp_hex(struct ss_buf *b, const char *what, const void *p, size_t n)
{
	uint8_t sum[SS_SUM_LEN];
	char hex[2 * SS_SUM_LEN + 1];

	ss_sum128(p, n, NULL, 0, sum);
	ss_hex_encode(sum, sizeof(sum), hex);
	fp_add(b, " %s=%s", what, hex);
}

/* fp_ds(b, ds): a dataset's row, key, internal properties, snapshots. */
static void
fp_ds(struct ss_buf *b, const struct ss_ds *ds)
{
	static const char *const props[] = { SS_PROP_KEYOWNER, "keylocation",
	    "compression", "mountpoint", "recordsize", "atime" };
	struct ss_buf key = SS_BUF_INIT;
	struct ss_snap *v = NULL;
	size_t n = 0;
	char *val;

	fp_add(b, "ds %lld %s parent=%lld guid=%016llx txg=%llu enc=%lld"
	    " kind=%d", (long long)ds->id, ds->name, (long long)ds->parent,
	    (unsigned long long)ds->guid, (unsigned long long)ds->createtxg,
	    (long long)ds->encroot, ds->kind);
	if (ds->encroot == ds->id) {
		FUZZ_CHECK(ss_cat_key_get(F.p->cat, ds->id, &key) == 0);
		fp_hex(b, "key", key.p, key.len);
	}
	for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++)
		for (int src = SS_SRC_LOCAL; src <= SS_SRC_RECEIVED; src++)
			if (ss_cat_prop_get(F.p->cat, ds->id, props[i], src,
			    &val) == 0) {
				fp_add(b, " %s/%d=%s", props[i], src, val);
				free(val);
			}
	fp_add(b, "\n");
	FUZZ_CHECK(ss_cat_snap_list(F.p->cat, ds->id, 0, &v, &n) == 0);
	for (size_t i = 0; i < n; i++) {
		fp_add(b, "  snap %lld %s kind=%d guid=%016llx txg=%llu",
		    (long long)v[i].id, v[i].name, v[i].kind,
		    (unsigned long long)v[i].guid,
		    (unsigned long long)v[i].createtxg);
		fp_hex(b, "root", v[i].root.b, SS_ID_LEN);
		fp_add(b, "\n");
	}
	ss_snap_list_free(v, n);
	ss_buf_free(&key);
}

/*
 * fingerprint(b): what a failed receive must not change: every dataset
 * and snapshot row, the wrapped keys, some properties, the object index
 * totals, the txg and the pack files on disk.
 */
static void
fingerprint(struct ss_buf *b)
{
	struct ss_ds *v = NULL;
	uint64_t *packs = NULL, count, bytes;
	size_t n = 0;
	char *txg = NULL;

	ss_buf_reset(b);
	FUZZ_CHECK(ss_cat_ds_list(F.p->cat, NULL, &v, &n) == 0);
	for (size_t i = 0; i < n; i++)
		fp_ds(b, &v[i]);
	ss_ds_list_free(v, n);
	FUZZ_CHECK(ss_cat_obj_stats(F.p->cat, &count, &bytes) == 0);
	FUZZ_CHECK(ss_cat_meta_get(F.p->cat, "txg", &txg) == 0);
	fp_add(b, "objects %llu bytes %llu txg %s\n",
	    (unsigned long long)count, (unsigned long long)bytes, txg);
	free(txg);
	FUZZ_CHECK(ss_pack_list(F.p->dir, &packs, &n) == 0);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(ss_pack_size(F.p->dir, packs[i], &bytes) == 0);
		fp_add(b, "pack %016llx %llu\n", (unsigned long long)packs[i],
		    (unsigned long long)bytes);
	}
	free(packs);
}

static void
check_unchanged(void)
{
	fingerprint(&F.fp);
	if (F.fp.len == F.fp0.len && memcmp(F.fp.p, F.fp0.p, F.fp.len) == 0)
		return;
	fprintf(stderr, "before:\n%.*s\nafter:\n%.*s\n", (int)F.fp0.len,
	    (const char *)F.fp0.p, (int)F.fp.len, (const char *)F.fp.p);
	FUZZ_CHECK(!"the pool is unchanged");
}

/* An object of the index, with the references to it that were found. */
struct oent {
	struct ss_id id;
	struct ss_objrow row;
	uint64_t found;
};

struct oset {
	struct oent *v;
	size_t n, cap;
};

static int
collect(void *arg, const struct ss_id *id, const struct ss_objrow *row)
{
	struct oset *s = arg;

	if (ss_grow(&s->v, &s->cap, s->n, sizeof(*s->v)) != 0)
		return SS_ENOMEM;
	s->v[s->n].id = *id;
	s->v[s->n].row = *row;
	s->v[s->n++].found = 0;
	return 0;
}

static int
oent_cmp(const void *a, const void *b)
{
	return ss_id_cmp(a, b);
}

/* held(s, id): count one reference to ${id}, which must be indexed. */
static void
held(struct oset *s, const uint8_t *id)
{
	struct ss_id key;
	struct oent *e;

	memcpy(key.b, id, SS_ID_LEN);
	e = bsearch(&key, s->v, s->n, sizeof(*s->v), oent_cmp);
	FUZZ_CHECK(e != NULL);
	e->found++;
}

/*
 * check_refs(): every reference count in the index is what the objects
 * and the snapshots hold, and nothing is stored that nothing holds.
 */
static void
check_refs(void)
{
	struct oset s = { NULL, 0, 0 };
	struct ss_ds *v = NULL;
	struct ss_snap *sv;
	struct ss_objhdr h;
	size_t n = 0, ns;

	FUZZ_CHECK(ss_cat_obj_each(F.p->cat, collect, &s) == 0);
	qsort(s.v, s.n, sizeof(*s.v), oent_cmp);
	for (size_t i = 0; i < s.n; i++) {
		if (s.v[i].row.nchild == 0)
			continue;
		FUZZ_CHECK(ss_packr_read(ss_pool_packr(F.p), &s.v[i].id,
		    &s.v[i].row.loc, &F.obj) == 0);
		FUZZ_CHECK(ss_obj_parse(&s.v[i].id, F.obj.p, F.obj.len,
		    &h) == 0);
		FUZZ_CHECK(h.nrefs == s.v[i].row.nchild);
		for (uint32_t j = 0; j < h.nrefs; j++)
			held(&s, h.refs + (size_t)j * SS_ID_LEN);
	}
	FUZZ_CHECK(ss_cat_ds_list(F.p->cat, NULL, &v, &n) == 0);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(ss_cat_snap_list(F.p->cat, v[i].id, SS_SNAP, &sv,
		    &ns) == 0);
		for (size_t j = 0; j < ns; j++)
			held(&s, sv[j].root.b);
		ss_snap_list_free(sv, ns);
	}
	ss_ds_list_free(v, n);
	for (size_t i = 0; i < s.n; i++) {
		FUZZ_CHECK(s.v[i].row.refs == s.v[i].found);
		FUZZ_CHECK(s.v[i].found > 0);
	}
	free(s.v);
}

static void
check_pool(void)
{
	struct ss_scrub_stats st;

	memset(&st, 0, sizeof(st));
	FUZZ_CHECK(ss_pool_scrub(F.p, &st, NULL, NULL) == 0);
	FUZZ_CHECK(st.errors == 0);
	check_refs();
}

/* A code that blames the stream (or the missing key), not the system. */
static void
check_code(int r)
{
	FUZZ_CHECK(r == SS_ECORRUPT || r == SS_EINVAL || r == SS_ENOENT ||
	    r == SS_EEXIST || r == SS_EAUTH || r == SS_ENOKEY ||
	    r == SS_ENOTSUP || r == SS_ERANGE);
}

/* ---------- the pool ---------- */

static void
pool_open(void)
{
	FUZZ_CHECK(ss_pool_open("fz", SS_POOL_WRITE, &F.p) == 0);
}

/* restore(): the pool as it was set up. */
static void
restore(void)
{
	ss_pool_close(F.p);
	F.p = NULL;
	FUZZ_CHECK(ss_rm_rf(F.pooldir) == 0);
	FUZZ_CHECK(copy_tree(F.pristine, F.pooldir) == 0);
	pool_open();
}

/*
 * corpus_dir(): where the base seeds are: $FUZZ_RECEIVE_CORPUS, else the
 * committed corpus from the top of the tree (where scripts/fuzz.sh runs)
 * or two levels above the binary (build/fuzz/fuzz_receive).
 */
static char *
corpus_dir(void)
{
	const char *rel = "tests/fuzz/corpus/fuzz_receive", *env;
	char *exe, *c[2] = { NULL, NULL }, *found = NULL, *base;

	if ((env = getenv("FUZZ_RECEIVE_CORPUS")) != NULL && *env != '\0')
		return ss_strdup(env);
	c[0] = ss_strdup(rel);
	if ((exe = realpath("/proc/self/exe", NULL)) != NULL) {
		c[1] = ss_asprintf("%s/../../%s", dirname(exe), rel);
		free(exe);
	}
	for (size_t i = 0; i < 2 && found == NULL; i++) {
		base = c[i] ? ss_path_join(c[i], FUZZ_RECV_BASE_PLAIN) : NULL;
		if (base && access(base, R_OK) == 0) {
			found = c[i];
			c[i] = NULL;
		}
		free(base);
	}
	free(c[0]);
	free(c[1]);
	return found ? found : ss_strdup(rel);
}

/* receive_seed(dir, seed, target): set-up receives of a committed seed. */
static void
receive_seed(const char *dir, const char *seed, const char *target)
{
	struct ss_buf b = SS_BUF_INIT;
	char *path = ss_path_join(dir, seed);
	int r;

	FUZZ_CHECK(path != NULL);
	if (ss_read_file(path, (size_t)1 << 24, &b) != 0 || b.len < 2) {
		fprintf(stderr, "fuzz_receive: cannot read %s (set "
		    "FUZZ_RECEIVE_CORPUS to tests/fuzz/corpus/fuzz_receive)\n",
		    path);
		abort();
	}
	r = ss_receive(F.p, target, memfd_load(b.p + 1, b.len - 1), NULL);
	if (r != 0)
		fprintf(stderr, "fuzz_receive: set-up: %s into %s: %d %s (the"
		    " stream format changed? rewrite the seeds with"
		    " scripts/fuzz.sh corpus)\n", path, target, r,
		    ss_errmsg());
	FUZZ_CHECK(r == 0);
	ss_buf_free(&b);
	free(path);
}

/* unload_key(p): unload fz/enc's key (the user keyring outlives us). */
static void
unload_key(struct ss_pool *p)
{
	struct ss_ds ds;

	if (p != NULL && ss_cat_ds_get(p->cat, "fz/enc", &ds) == 0) {
		if (ds.encroot == ds.id)
			(void)ss_key_unload(p, &ds);
		ss_ds_clear(&ds);
	}
	ss_errclear();
}

static void
cleanup(void)
{
	unload_key(F.p);
	ss_pool_close(F.p);
	if (F.tmp)
		(void)ss_rm_rf(F.tmp);
	if (F.fd >= 0)
		close(F.fd);
	free(F.tmp);
	free(F.pooldir);
	free(F.pristine);
	ss_buf_free(&F.fp0);
	ss_buf_free(&F.fp);
	ss_buf_free(&F.in);
	ss_buf_free(&F.obj);
}

/*
 * sweep(): remove what runs that crashed left (a crash ends the process
 * without cleanup()): snapseal-fuzz-receive.PID.* of processes gone, and
 * the key their pool loaded.
 */
static void
sweep(void)
{
	const char *prefix = "snapseal-fuzz-receive.";
	DIR *d = opendir(fuzz_tmpbase());
	struct dirent *de;

	while (d != NULL && (de = readdir(d)) != NULL) {
		struct ss_pool *p;
		char *end, *path, *home;
		long pid;

		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		pid = strtol(de->d_name + strlen(prefix), &end, 10);
		if (end[0] != '.' || pid <= 0 || pid > INT_MAX ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if ((path = ss_asprintf("%s/%s", fuzz_tmpbase(),
		    de->d_name)) == NULL)
			continue;
		if ((home = ss_path_join(path, "home")) != NULL &&
		    setenv("SNAPSEAL_HOME", home, 1) == 0 &&
		    ss_pool_open("fz", 0, &p) == 0) {
			unload_key(p);
			ss_pool_close(p);
		}
		(void)ss_rm_rf(path);
		free(home);
		free(path);
	}
	if (d != NULL)
		closedir(d);
}

static void
setup(void)
{
	struct ss_kv enc[3] = { { "encryption", "on" },
	    { "keyformat", "raw" }, { "keylocation", NULL } };
	const char *snap = "fz/enc@local";
	char *home, *live, *loc, *encdir, *corpus, *tag;

	F.verbose = getenv("FUZZ_RECEIVE_VERBOSE") != NULL;
	F.write = getenv("FUZZ_RECEIVE_WRITE");
	FUZZ_CHECK((corpus = corpus_dir()) != NULL);
	sweep();
	FUZZ_CHECK((tag = ss_asprintf("fuzz-receive.%d", (int)getpid())));
	FUZZ_CHECK((F.tmp = fuzz_mkdtemp(tag)) != NULL);
	atexit(cleanup);
	home = ss_path_join(F.tmp, "home");
	live = ss_path_join(F.tmp, "live");
	encdir = ss_path_join(live, "enc");
	loc = ss_asprintf("file://%s/key", F.tmp);
	F.pooldir = ss_path_join(home, "fz");
	F.pristine = ss_path_join(F.tmp, "pristine");
	FUZZ_CHECK(home && live && encdir && loc && F.pooldir && F.pristine);
	FUZZ_CHECK(setenv("SNAPSEAL_HOME", home, 1) == 0);
	write_file(F.tmp, "key", FUZZ_WK, SS_KEY_LEN);
	enc[2].value = loc;
	FUZZ_CHECK(ss_pool_create("fz", NULL, live, &F.p) == 0);
	FUZZ_CHECK(ss_ds_create(F.p, "fz/new", NULL, 0, 0) == 0);
	if (ss_ds_create(F.p, "fz/enc", enc, 3, 0) != 0) {
		fprintf(stderr, "fuzz_receive: fz/enc is not encrypted (%s):"
		    " nothing is re-sealed\n", ss_errmsg());
		FUZZ_CHECK(ss_ds_create(F.p, "fz/enc", NULL, 0, 0) == 0);
	}
	write_file(encdir, "local.txt", "kept on the server\n", 19);
	FUZZ_CHECK(ss_snapshot(F.p, &snap, 1, 0, NULL) == 0);
	receive_seed(corpus, FUZZ_RECV_BASE_PLAIN, dest[FUZZ_RD_PLAIN]);
	receive_seed(corpus, FUZZ_RECV_BASE_PLAIN, dest[FUZZ_RD_SEALED]);
	receive_seed(corpus, FUZZ_RECV_BASE_RAW, dest[FUZZ_RD_RAW]);
	receive_seed(corpus, FUZZ_RECV_BASE_REPL, dest[FUZZ_RD_LATER]);
	check_pool();
	ss_pool_close(F.p);
	F.p = NULL;
	FUZZ_CHECK(copy_tree(F.pooldir, F.pristine) == 0);
	pool_open();
	fingerprint(&F.fp0);
	free(home);
	free(live);
	free(encdir);
	free(loc);
	free(corpus);
	free(tag);
}

/* ---------- mutations (fuzz_mutate.h) ---------- */

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max,
    unsigned int seed);
size_t LLVMFuzzerCustomCrossOver(const uint8_t *d1, size_t n1,
    const uint8_t *d2, size_t n2, uint8_t *out, size_t max,
    unsigned int seed);

size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max,
    unsigned int seed)
{
	return fuzz_mutate_records(data, size, max, seed, 1);
}

size_t
LLVMFuzzerCustomCrossOver(const uint8_t *d1, size_t n1, const uint8_t *d2,
    size_t n2, uint8_t *out, size_t max, unsigned int seed)
{
	return fuzz_cross_records(d1, n1, d2, n2, out, max, seed, 1);
}

/* save_input(sel): $FUZZ_RECEIVE_WRITE: the input as it is received. */
static void
save_input(uint8_t sel)
{
	struct ss_buf b = SS_BUF_INIT;

	FUZZ_CHECK(ss_buf_put_u8(&b, sel) == 0);
	FUZZ_CHECK(ss_buf_put(&b, F.in.p, F.in.len) == 0);
	FUZZ_CHECK(ss_write_file_atomic(F.write, b.p, b.len, 0644) == 0);
	ss_buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ss_kv set = { "compression", "lz4" };
	static const char *const exclude[] = { "compression" };
	struct ss_recv_opts o;
	struct ss_recv_stats st;
	uint8_t sel;
	int r;

	if (F.p == NULL)
		setup();
	if (size < 1)
		return 0;
	sel = data[0];
	ss_buf_reset(&F.in);
	FUZZ_CHECK(ss_buf_put(&F.in, data + 1, size - 1) == 0);
	if (!(sel & FUZZ_RECV_VERBATIM))
		fuzz_fixup_stream(F.in.p, F.in.len, 1);
	if (F.write != NULL)
		save_input(sel);
	memset(&o, 0, sizeof(o));
	o.flags = (sel & FUZZ_RECV_FORCE ? SS_RECV_FORCE : 0) |
	    (sel & FUZZ_RECV_DRYRUN ? SS_RECV_DRYRUN : 0);
	if (sel & FUZZ_RECV_PROPS) {
		o.set = &set;
		o.nset = 1;
		o.exclude = exclude;
		o.nexclude = 1;
	}
	r = ss_receive_with(F.p, dest[sel & DEST_MASK],
	    memfd_load(F.in.p, F.in.len), &o, &st);
	if (F.verbose)
		fprintf(stderr, "fuzz_receive: %s flags %#x: %d %s\n",
		    dest[sel & DEST_MASK], sel & ~DEST_MASK, r, r ?
		    ss_errmsg() : "received");
	if (r != 0)
		check_code(r);
	if (r != 0 || (sel & FUZZ_RECV_DRYRUN)) {
		check_unchanged();
	} else {
		struct ss_ds ds;

		FUZZ_CHECK(st.bytes == F.in.len);
		FUZZ_CHECK(ss_cat_ds_get(F.p->cat, dest[sel & DEST_MASK],
		    &ds) == 0);
		ss_ds_clear(&ds);
		check_pool();
		restore();
	}
	ss_errclear();
	return 0;
}
