/*
 * snapops.c: snapshot, restore, rollback, destroy and space accounting.
 *
 * A command's changes are one catalog transaction: objects are appended to
 * packs, the packs are fsynced, and only then does the transaction that
 * indexes them and makes the snapshot visible commit.  A crash at any point
 * leaves the pool as before the command (plus unreferenced pack bytes) or
 * as after it.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chunk/chunk.h"
#include "compress/compress.h"
#include "pool/space.h"
#include "tree/tree.h"

/* ---------- record MAC ---------- */

int
ss_snap_mac(const struct ss_keyset *ks, const struct ss_ds *ds,
    const struct ss_snap *s, uint8_t out[SS_HASH_LEN])
{
	static const char label[] = "snapseal snapshot record v1";
	struct ss_buf b = SS_BUF_INIT;
	int r = 0;

	r |= ss_buf_put(&b, label, sizeof(label));
	r |= ss_buf_put_u8(&b, (uint8_t)s->kind);
	r |= ss_buf_put_u64(&b, ds->guid);
	r |= ss_buf_put_u64(&b, s->guid);
	r |= ss_buf_put_u64(&b, (uint64_t)s->creation_ns);
	r |= ss_buf_put_str16(&b, s->name, strlen(s->name));
	r |= ss_buf_put(&b, s->root.b, SS_ID_LEN);
	r |= ss_buf_put_u64(&b, s->prev_guid);
	if (r == 0)
		r = ks ? ss_hmac_sha256(ks->k_rec, SS_KEY_LEN, b.p, b.len, out) :
		    ss_sha256(b.p, b.len, out);
	else
		r = SS_ENOMEM;
	ss_buf_free(&b);
	return r;
}

static int
verify_record(struct ss_pool *p, const struct ss_ds *ds,
    const struct ss_snap *s, const struct ss_keyset *ks)
{
	uint8_t mac[SS_HASH_LEN];
	int r;

	if ((r = ss_snap_mac(ks, ds, s, mac)) != 0)
		return r;
	if (!ss_ct_eq(mac, s->mac, SS_HASH_LEN))
		return ss_err(SS_EAUTH, "snapshot record of '%s@%s' failed"
		    " authentication: the pool was modified", ds->name,
		    s->name);
	return 0;
}

/* ---------- tree set-up ---------- */

static int
tree_setup(struct ss_pool *p, const struct ss_ds *ds,
    const struct ss_keyset *ks, struct ss_packw *pw, struct ss_tree *t)
{
	struct ss_obj_ref o;
	struct ss_propval v;
	int algo = SS_COMP_LZ4, level = 0, r;

	ss_tree_init(t);
	memset(&o, 0, sizeof(o));
	o.ds = *ds;
	if ((r = ss_prop_get(p, &o, "compression", &v)) != 0)
		return r;
	if (ss_comp_parse(v.value, &algo, &level) != 0)
		algo = SS_COMP_LZ4;
	t->cat = p->cat;
	t->pw = pw;
	t->warn = p->warn;
	t->warnarg = p->warnarg;
	if ((t->pr = ss_pool_packr(p)) == NULL)
		return SS_ENOMEM;
	t->oc = ss_objctx_new(ks ? ks->k_id : NULL, ks ? ks->k_obj : NULL,
	    algo, level);
	t->ch = ss_chunker_new(ks ? ks->k_chunk : NULL, SS_CHUNK_MIN,
	    SS_CHUNK_AVG, SS_CHUNK_MAX);
	if (t->oc == NULL || t->ch == NULL)
		return SS_ENOMEM;
	if (ks != NULL) {	/* chunk fingerprints: encrypted datasets only */
		memcpy(t->k_fp, ks->k_fp, SS_KEY_LEN);
		t->fp_on = 1;
	}
	return 0;
}

/*
 * sealing_threads(): workers beside the walking thread (SNAPSEAL_THREADS):
 * the sealing threads of snapshot, the writing threads of restore.
 */
static int
sealing_threads(void)
{
	const char *e = getenv("SNAPSEAL_THREADS");
	long n = e ? strtol(e, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 0)
		n = 0;
	return (int)(n > 16 ? 16 : n);
}

/*
 * scan_threads(nseal): the scanners of snapshot, which mostly wait for the
 * disk, so there are more of them than CPUs (SNAPSEAL_SCAN_THREADS); none
 * when the snapshot is to run on one thread (SNAPSEAL_THREADS=0).  Six:
 * on the bench corpus (2 CPUs), eight made the first snapshot 4% slower
 * and 2 MB larger than six, and four made the no-change one 12% slower
 * (docs/performance.md, "Where things stand").
 */
#define SCAN_THREADS 6

static int
scan_threads(int nseal)
{
	const char *e = getenv("SNAPSEAL_SCAN_THREADS");
	long n = e ? strtol(e, NULL, 10) : SCAN_THREADS;

	if (nseal == 0 || n < 0)
		n = 0;
	return (int)(n > 64 ? 64 : n);
}

static void
tree_teardown(struct ss_tree *t)
{
	ss_pipe_stop(t);
	ss_objctx_free(t->oc);
	ss_chunker_free(t->ch);
	for (size_t i = 0; i < t->nskip; i++)
		free(t->skip[i]);
	free(t->skip);
	ss_tree_release(t);
	ss_tree_init(t);
}

/* keys_for(p, ds, ks, &kp): the keyset to use, or NULL if unencrypted. */
static int
keys_for(struct ss_pool *p, const struct ss_ds *ds, struct ss_keyset *ks,
    const struct ss_keyset **kp)
{
	int r = ss_ds_keyset(p, ds, ks);

	*kp = r == 0 ? ks : NULL;
	return r == 1 ? 0 : r;
}

/* ---------- snapshot ---------- */

#define SNAP_CACHE_KIB 4096	/* SQLite's page cache during snapshot */

/*
 * mountpoints_except(p, ds, &v, &n): the resolved mount points of every
 * other dataset of the pool, which a snapshot must not descend into.
 */
static int
mountpoints_except(struct ss_pool *p, const struct ss_ds *ds, char ***out,
    size_t *nout)
{
	struct ss_ds *v = NULL;
	char **mp = NULL, *m;
	size_t n = 0, k = 0;
	int r;

	*out = NULL;
	*nout = 0;
	if ((r = ss_cat_ds_list(p->cat, NULL, &v, &n)) != 0)
		return r;
	if ((mp = ss_calloc(n + 1, sizeof(*mp))) == NULL) {
		ss_ds_list_free(v, n);
		return SS_ENOMEM;
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		if (v[i].id == ds->id)
			continue;
		if ((r = ss_ds_mountpoint(p, &v[i], &m)) != 0)
			break;
		char *real = realpath(m, NULL);
		mp[k++] = real ? real : m;
		if (real)
			free(m);
	}
	ss_ds_list_free(v, n);
	*out = mp;
	*nout = k;
	return r;
}


/*
 * drop_orphans(p, t, root): objects this run stored that nothing ended up
 * referencing (a file read again because it changed) leave the index; their
 * pack bytes are garbage for the next reclaim.
 */
static int
drop_orphans(struct ss_pool *p, struct ss_tree *t, const struct ss_id *root)
{
	struct ss_freelist fl;
	struct ss_objrow row;
	int r = 0;

	memset(&fl, 0, sizeof(fl));
	for (size_t i = 0; i < t->nnew && r == 0; i++) {
		if (!ss_id_cmp(&t->newids[i], root) ||
		    ss_cat_obj_get(p->cat, &t->newids[i], &row) != 0 ||
		    row.refs != 0)
			continue;
		if ((r = ss_cat_obj_ref(p->cat, &t->newids[i], 1, NULL)) == 0)
			r = ss_release(p, &t->newids[i], &fl);
	}
	ss_freelist_free(&fl);
	return r;
}

/*
 * capture(p, ds, ks, pw, prev, root, refer, st): walk the live directory;
 * chunks go to pw[0], file maps and directories to pw[1].
 */
static int
capture(struct ss_pool *p, const struct ss_ds *ds, const struct ss_keyset *ks,
    struct ss_packw *pw[2], const struct ss_snap *prev, struct ss_snap *s,
    struct ss_snap_stats *st)
{
	struct ss_tree t;
	char *mp = NULL, *real = NULL;
	int r;

	if ((r = tree_setup(p, ds, ks, pw[0], &t)) != 0)
		goto out;
	t.pwdir = pw[1];
	if ((r = ss_ds_mountpoint(p, ds, &mp)) != 0)
		goto out;
	if ((real = realpath(mp, NULL)) == NULL) {
		r = ss_err(SS_ENOENT, "mountpoint '%s' of '%s' does not exist",
		    mp, ds->name);
		goto out;
	}
	if ((r = mountpoints_except(p, ds, &t.skip, &t.nskip)) != 0)
		goto out;
	/*
	 * The snapshot's threads allocate little but would each get a malloc
	 * arena of their own, whose freed memory stays resident: share two.
	 */
	(void)mallopt(M_ARENA_MAX, 2);
	/*
	 * Nor should large buffers freed (sealed copies of large chunks) stay
	 * resident: glibc raises its mmap threshold to the largest block
	 * freed, putting later ones on the heap, whose holes are never given
	 * back.  A fixed threshold keeps blocks of 4 MiB and more mapped,
	 * returned when freed; the trim threshold, which would otherwise
	 * stay at 128 KiB, lets the top of a heap breathe by 2 MiB without
	 * being given back and faulted in again.
	 */
	(void)mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
	(void)mallopt(M_TRIM_THRESHOLD, 2 * 1024 * 1024);
	if (prev != NULL)
		t.settled_ns = ss_settled_before(prev->creation_ns);
	if ((r = ss_pipe_start(&t, sealing_threads(),
	    scan_threads(sealing_threads()))) != 0)
		goto out;
	r = ss_tree_snapshot(&t, real, prev ? &prev->root : NULL, &s->root,
	    &s->referenced);
	if (r != 0)
		goto out;
	if ((r = drop_orphans(p, &t, &s->root)) != 0)
		goto out;
	s->logical = t.logical;
	s->written = t.bytes_new;
	s->nfiles = t.files + t.dirs;
	if (st) {
		st->files += t.files;
		st->dirs += t.dirs;
		st->bytes_read += t.bytes_read;
		st->bytes_new += t.bytes_new;
		st->objects_new += t.objects_new;
		st->skipped_unchanged += t.reused;
		st->racy += t.racy;
	}
out:
	tree_teardown(&t);
	free(mp);
	free(real);
	return r;
}

static int
snapshot_one(struct ss_pool *p, const struct ss_ds *ds, const char *name,
    struct ss_packw *pw[2], struct ss_snap_stats *st)
{
	struct ss_keyset ks;
	const struct ss_keyset *kp = NULL;
	struct ss_snap s, prev;
	int r, haveprev;

	memset(&s, 0, sizeof(s));
	if ((r = ss_cat_snap_get(p->cat, ds->id, name, SS_SNAP, &prev)) == 0) {
		ss_snap_clear(&prev);
		return ss_err(SS_EEXIST, "cannot create snapshot '%s@%s':"
		    " dataset already exists", ds->name, name);
	}
	if ((r = keys_for(p, ds, &ks, &kp)) != 0)
		return r;
	r = ss_ds_latest(p, ds, &prev);
	haveprev = r == 0;
	if (r != 0 && r != SS_ENOENT)
		goto out;
	if (haveprev && (r = verify_record(p, ds, &prev, kp)) != 0)
		goto out;
	s.ds = ds->id;
	s.name = (char *)name;
	s.kind = SS_SNAP;
	s.guid = ss_random_u64();
	s.creation_ns = ss_now_ns();
	s.prev_guid = haveprev ? prev.guid : 0;
	if ((r = ss_cat_next_txg(p->cat, &s.createtxg)) != 0)
		goto out;
	if (ds->kind == SS_DS_RECEIVED) {
		if (!haveprev) {
			r = ss_err(SS_ENOENT, "'%s' has no data to snapshot",
			    ds->name);
			goto out;
		}
		s.root = prev.root;
		s.referenced = prev.referenced;
		s.logical = prev.logical;
		s.nfiles = prev.nfiles;
	} else if ((r = capture(p, ds, kp, pw, haveprev ? &prev : NULL, &s,
	    st)) != 0)
		goto out;
	if ((r = ss_snap_mac(kp, ds, &s, s.mac)) != 0)
		goto out;
	if ((r = ss_cat_snap_add(p->cat, &s)) != 0)
		goto out;
	r = ss_cat_obj_ref(p->cat, &s.root, 1, NULL);
out:
	ss_keyset_wipe(&ks);
	if (haveprev)
		ss_snap_clear(&prev);
	return r;
}

/* targets(p, names, n, recursive, &v, &nv): (dataset, snapshot name) pairs. */
struct target {
	struct ss_ds ds;
	const char *snap;
};

static int
add_targets(struct ss_pool *p, const char *full, int recursive,
    struct target **v, size_t *nv)
{
	const char *at = strchr(full, '@');
	char *dsname;
	struct ss_ds *list = NULL;
	size_t n = 0;
	int r;

	if ((r = ss_name_check(full, SS_NAME_SNAP)) != 0)
		return r;
	if (at == NULL)
		return ss_err(SS_EINVAL, "'%s' is not a snapshot name", full);
	if ((dsname = ss_asprintf("%.*s", (int)(at - full), full)) == NULL)
		return SS_ENOMEM;
	if (recursive)
		r = ss_cat_ds_list(p->cat, dsname, &list, &n);
	else if ((list = ss_calloc(1, sizeof(*list))) == NULL)
		r = SS_ENOMEM;
	else if ((r = ss_cat_ds_get(p->cat, dsname, list)) == 0)
		n = 1;
	if (r == SS_ENOENT || (r == 0 && n == 0))
		r = ss_err(SS_ENOENT, "cannot open '%s': dataset does not"
		    " exist", dsname);
	for (size_t i = 0; i < n && r == 0; i++) {
		struct target *nt = ss_realloc(*v, (*nv + 1) * sizeof(*nt));

		if (nt == NULL) {
			r = SS_ENOMEM;
			break;
		}
		*v = nt;
		nt[*nv].ds = list[i];
		nt[*nv].snap = at + 1;
		list[i].name = NULL;
		(*nv)++;
	}
	ss_ds_list_free(list, n);
	free(dsname);
	return r;
}

int
ss_snapshot(struct ss_pool *p, const char *const *names, size_t n,
    int recursive, struct ss_snap_stats *st)
{
	struct target *v = NULL;
	struct ss_packw *pw[2] = { NULL, NULL };
	size_t nv = 0;
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++)
		r = add_targets(p, names[i], recursive, &v, &nv);
	if (r != 0)
		goto out;
	ss_gc_packs(p);		/* what a killed command left behind */
	/*
	 * A snapshot looks up each ID once, in no order, and inserts rows at
	 * random places of the index: a large page cache buys little, but
	 * on a large pool it would be most of the memory used.
	 */
	if ((r = ss_cat_cache_size(p->cat, SNAP_CACHE_KIB)) != 0)
		goto out;
	/*
	 * Contents go around the page cache (a new snapshot is rarely read
	 * back soon); directories and file maps go to packs of their own, so
	 * that the next snapshot, a restore or a send reads them together.
	 */
	if ((r = ss_packw_open(p->dir, &pw[0])) != 0 ||
	    (r = ss_packw_open(p->dir, &pw[1])) != 0)
		goto out;
	ss_packw_uncached(pw[0]);
	if ((r = ss_cat_begin(p->cat)) != 0)
		goto out;
	for (size_t i = 0; i < nv && r == 0; i++)
		r = snapshot_one(p, &v[i].ds, v[i].snap, pw, st);
	if (r == 0 && (r = ss_packw_flush(pw[0])) == 0)
		r = ss_packw_flush(pw[1]);
	if (r == 0) {
		ss_crashpoint("snapshot-flushed");
		r = ss_cat_commit(p->cat);
	}
	if (r != 0)
		ss_cat_rollback(p->cat);
	else
		ss_crashpoint("snapshot-committed");
out:
	ss_packw_free(pw[0]);
	ss_packw_free(pw[1]);
	if (r != 0)
		ss_gc_packs(p);
	for (size_t i = 0; i < nv; i++)
		ss_ds_clear(&v[i].ds);
	free(v);
	return r;
}

/* ---------- restore and rollback ---------- */

static int
open_snapshot(struct ss_pool *p, const char *name, struct ss_obj_ref *o,
    struct ss_keyset *ks, const struct ss_keyset **kp)
{
	int r;

	memset(o, 0, sizeof(*o));	/* the caller clears it in any case */
	if ((r = ss_name_check(name, SS_NAME_SNAP)) != 0)
		return r;
	if (!strchr(name, '@'))
		return ss_err(SS_EINVAL, "'%s' is not a snapshot name", name);
	if ((r = ss_resolve(p, name, o)) != 0)
		return r;
	if ((r = keys_for(p, &o->ds, ks, kp)) == 0)
		r = verify_record(p, &o->ds, &o->snap, *kp);
	return r;
}

int
ss_restore(struct ss_pool *p, const char *name, const char *target,
    const char *const *paths, size_t npaths, int flags, ss_restore_cb cb,
    void *arg)
{
	struct ss_obj_ref o;
	struct ss_keyset ks;
	const struct ss_keyset *kp = NULL;
	struct ss_restore_opts ro;
	struct ss_tree t;
	int r;

	ss_tree_init(&t);
	memset(&ks, 0, sizeof(ks));
	if ((r = open_snapshot(p, name, &o, &ks, &kp)) != 0)
		goto out;
	if ((r = tree_setup(p, &o.ds, kp, NULL, &t)) != 0)
		goto out;
	memset(&ro, 0, sizeof(ro));
	ro.flags = (flags & SS_RESTORE_VERBOSE) ? SS_TR_VERBOSE : 0;
	ro.paths = paths;
	ro.npaths = npaths;
	ro.cb = cb;
	ro.cbarg = arg;
	ro.nthreads = sealing_threads();
	ro.pooldir = p->dir;
	r = ss_tree_restore(&t, &o.snap.root, target, &ro);
out:
	tree_teardown(&t);
	ss_keyset_wipe(&ks);
	ss_obj_ref_clear(&o);
	return r;
}

/* later_snaps(p, o, &names): names of snapshots newer than o->snap. */
static int
later_snaps(struct ss_pool *p, const struct ss_obj_ref *o, char **spec,
    size_t *count)
{
	struct ss_snap *v = NULL;
	size_t n = 0;
	struct ss_buf b = SS_BUF_INIT;
	int r;

	*spec = NULL;
	*count = 0;
	if ((r = ss_cat_snap_list(p->cat, o->ds.id, SS_SNAP, &v, &n)) != 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++) {
		if (v[i].createtxg <= o->snap.createtxg)
			continue;
		if ((b.len && ss_buf_put_u8(&b, ',')) ||
		    ss_buf_put(&b, v[i].name, strlen(v[i].name)))
			r = SS_ENOMEM;
		(*count)++;
	}
	if (r == 0 && ss_buf_put_u8(&b, 0))
		r = SS_ENOMEM;
	ss_snap_list_free(v, n);
	if (r == 0)
		*spec = (char *)b.p;
	else
		ss_buf_free(&b);
	return r;
}

int
ss_rollback(struct ss_pool *p, const char *name, int recursive,
    ss_destroy_cb cb, void *arg)
{
	struct ss_obj_ref o;
	struct ss_keyset ks;
	const struct ss_keyset *kp = NULL;
	struct ss_restore_opts ro;
	struct ss_tree t;
	char *spec = NULL, *mp = NULL, *real = NULL;
	size_t nlater = 0;
	int r;

	ss_tree_init(&t);
	memset(&ks, 0, sizeof(ks));
	memset(&ro, 0, sizeof(ro));
	if ((r = open_snapshot(p, name, &o, &ks, &kp)) != 0)
		goto out;
	if ((r = later_snaps(p, &o, &spec, &nlater)) != 0)
		goto out;
	if (nlater && !recursive) {
		r = ss_err(SS_EEXIST, "more recent snapshots exist (%s); use"
		    " '-r' to destroy them", spec);
		goto out;
	}
	if (o.ds.kind != SS_DS_CREATED) {
		r = ss_err(SS_EINVAL, "'%s' is a received dataset: it has no"
		    " live directory to roll back", o.ds.name);
		goto out;
	}
	if ((r = ss_ds_mountpoint(p, &o.ds, &mp)) != 0)
		goto out;
	if ((real = realpath(mp, NULL)) == NULL) {
		r = ss_err(SS_ENOENT, "mountpoint '%s' does not exist", mp);
		goto out;
	}
	if ((r = tree_setup(p, &o.ds, kp, NULL, &t)) != 0 ||
	    (r = mountpoints_except(p, &o.ds, &ro.keep, &ro.nkeep)) != 0)
		goto out;
	ro.flags = SS_TR_SYNC;
	ro.settled_ns = ss_settled_before(o.snap.creation_ns);
	ro.nthreads = sealing_threads();
	ro.pooldir = p->dir;
	if ((r = ss_tree_restore(&t, &o.snap.root, real, &ro)) != 0)
		goto out;
	if (nlater)
		r = ss_snap_destroy(p, o.ds.name, spec, 0, NULL, cb, arg);
out:
	for (size_t i = 0; i < ro.nkeep; i++)
		free(ro.keep[i]);
	free(ro.keep);
	tree_teardown(&t);
	ss_keyset_wipe(&ks);
	ss_obj_ref_clear(&o);
	free(spec);
	free(mp);
	free(real);
	return r;
}
