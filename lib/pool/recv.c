/*
 * recv.c: receive a stream (docs/stream-format.md): the entry point, the
 * loop over the records, the OBJECT and SNAPSHOT records, the remapping
 * of objects, and the state an interrupted "receive -s" saves.  Where each
 * dataset of the stream lands (its DATASET record) is recvds.c; what the
 * two share is in recvint.h.
 *
 * The receiver checks every object's checksum and identifier and that
 * everything a snapshot references is present before the one transaction
 * that makes it visible commits.  Objects of raw streams, and of
 * unencrypted datasets received as unencrypted, are stored as they came.
 * The others are "remapped": opened, their references rewritten through a
 * persistent identifier map, and stored under this pool's identifiers:
 * an unencrypted stream received under an encrypted parent (the article's
 * migration, sealed again under the parent's keys) and a decrypted stream
 * of an encrypted dataset (named by stream identifiers, not by content).
 */
#include <stdlib.h>
#include <string.h>

#include "compress/compress.h"
#include "pool/recvint.h"
#include "tree/tree.h"

/*
 * A remapping context: one per identifier domain, that is per encryption
 * root for encrypted destinations and per dataset for unencrypted ones.
 */
struct remap {
	int64_t domain;		/* idmap key: encryption root or dataset id */
	int enc;		/* destination is encrypted */
	struct ss_keyset ks;
	struct ss_objctx *plain;
	struct ss_tree t;
	struct ss_buf pt, out;
};

/* ---------- remapping ---------- */

static void
remap_free(struct remap *rm)
{
	if (rm == NULL)
		return;
	ss_keyset_wipe(&rm->ks);
	ss_objctx_free(rm->plain);
	ss_objctx_free(rm->t.oc);
	ss_tree_release(&rm->t);
	ss_buf_wipe(&rm->pt);
	ss_buf_wipe(&rm->out);
	free(rm);
}

/* dest_compression(p, ds, comp, level): the dataset's compression. */
static int
dest_compression(struct ss_pool *p, const struct ss_ds *ds, int *comp,
    int *level)
{
	struct ss_obj_ref o;
	struct ss_propval *v;
	int r;

	if ((v = ss_malloc(sizeof(*v))) == NULL)
		return SS_ENOMEM;
	memset(&o, 0, sizeof(o));
	o.ds = *ds;
	if ((r = ss_prop_get(p, &o, "compression", v)) == 0 &&
	    ss_comp_parse(v->value, comp, level) != 0)
		r = ss_err(SS_ECORRUPT, "invalid compression '%s'", v->value);
	free(v);
	return r;
}

/*
 * ss_recvi_remap_setup(rc, e): the remapping context of dataset ${e}'s
 * domain.
 */
int
ss_recvi_remap_setup(struct receiver *rc, struct rds *e)
{
	int64_t domain = e->ds.encroot ? e->ds.encroot : e->ds.id;
	struct remap *rm;
	int r, comp = SS_COMP_ZSTD, level = 3;

	for (size_t i = 0; i < rc->nrm; i++)
		if (rc->rm[i]->domain == domain) {
			e->rm = rc->rm[i];
			return 0;
		}
	if (ss_grow(&rc->rm, &rc->caprm, rc->nrm, sizeof(*rc->rm)) != 0)
		return SS_ENOMEM;
	if ((rm = ss_calloc(1, sizeof(*rm))) == NULL)
		return SS_ENOMEM;
	rc->rm[rc->nrm++] = rm;
	e->rm = rm;
	rm->domain = domain;
	rm->enc = e->ds.encroot != 0;
	if (rm->enc && (r = ss_ds_keyset(rc->p, &e->ds, &rm->ks)) != 0)
		return r == SS_ENOKEY ? ss_err(SS_ENOKEY, "inherited key must"
		    " be loaded (%s)", ss_errmsg()) : r;
	if ((r = dest_compression(rc->p, &e->ds, &comp, &level)) != 0)
		return r;
	ss_tree_init(&rm->t);
	rm->t.cat = rc->p->cat;
	rm->t.pw = rc->pw;
	rm->plain = ss_objctx_new(NULL, NULL, 0, 0);
	rm->t.oc = rm->enc ? ss_objctx_new(rm->ks.k_id, rm->ks.k_obj, comp,
	    level) : ss_objctx_new(NULL, NULL, comp, level);
	if (rm->plain == NULL || rm->t.oc == NULL)
		return SS_ENOMEM;
	return 0;
}

/*
 * map_key(rm, src, out): the idmap key of a source identifier.  For an
 * encrypted destination it is keyed with K_id, so that the catalog never
 * holds plaintext hashes that would let someone confirm a known file.
 */
static int
map_key(const struct remap *rm, const uint8_t *src, struct ss_id *out)
{
	uint8_t buf[6 + SS_ID_LEN];

	if (!rm->enc) {
		memcpy(out->b, src, SS_ID_LEN);
		return 0;
	}
	memcpy(buf, "idmap:", 6);
	memcpy(buf + 6, src, SS_ID_LEN);
	return ss_hmac_sha256(rm->ks.k_id, SS_KEY_LEN, buf, sizeof(buf),
	    out->b);
}

/* map_id(rm, src, dst): a source identifier's local one. */
static int
map_id(void *arg, const uint8_t *src, struct ss_id *dst)
{
	struct remap *rm = arg;
	struct ss_id k;
	int r;

	if ((r = map_key(rm, src, &k)) != 0)
		return r;
	if ((r = ss_cat_idmap_get(rm->t.cat, rm->domain, &k, dst)) == 0)
		return 0;
	return r == SS_ENOENT ? ss_err(SS_ECORRUPT, "stream references an"
	    " object it does not carry") : r;
}

/*
 * note_stored(rc, id, fresh): remember an object the stream delivered.
 * Every object it stored (${fresh}) must be referenced by the end, or the
 * stream is refused (check_orphans); with receive -s, objects found here
 * already are remembered too: a saved state holds them all, so that
 * nothing the resumed stream leaves out can disappear meanwhile.
 */
static int
note_stored(struct receiver *rc, const struct ss_id *id, int fresh)
{
	if (!fresh && !(rc->o->flags & SS_RECV_RESUMABLE))
		return 0;
	if (ss_grow(&rc->stored, &rc->capstored, rc->nstored,
	    sizeof(*rc->stored)) != 0)
		return SS_ENOMEM;
	rc->stored[rc->nstored++] = *id;
	return 0;
}

/*
 * remap_object(rc, e, id, obj, len, h): open (${h}: its parsed header),
 * map, store under our ids.
 */
static int
remap_object(struct receiver *rc, struct rds *e, const struct ss_id *id,
    const uint8_t *obj, uint32_t len, const struct ss_objhdr *h)
{
	struct remap *rm = e->rm;
	struct ss_id nid, key, *refs = NULL;
	uint32_t nrefs = 0;
	const uint8_t *q;
	size_t qn;
	uint8_t type;
	int r;

	if ((r = map_key(rm, id->b, &key)) != 0)
		return r;
	if (ss_cat_idmap_get(rc->p->cat, rm->domain, &key, &nid) == 0) {
		rc->skipped++;
		return note_stored(rc, &nid, 0);
	}
	r = e->named ? ss_obj_open_named(rm->plain, id, obj, len, &type,
	    &rm->pt) : ss_obj_open(rm->plain, id, obj, len, &type, &rm->pt);
	if (r == 0)
		r = ss_tree_remap(type, rm->pt.p, rm->pt.len, h->refs, h->nrefs,
		    map_id, rm, &rm->out, &refs, &nrefs);
	if (r == 0) {
		q = ss_tree_remapped(type, rm->pt.p, rm->pt.len, &rm->out, &qn);
		r = ss_tree_store(&rm->t, type, q, qn, refs, nrefs, &nid, NULL);
	}
	if (r == 0)
		r = ss_cat_idmap_set(rc->p->cat, rm->domain, &key, &nid);
	if (r == 0)
		r = note_stored(rc, &nid, 1);
	free(refs);
	return r;
}

/* ---------- objects and snapshots ---------- */

/*
 * sink(arg, type, n): a large OBJECT record of a dataset stored as it came
 * is read straight into the pack writer's buffer, where its object is in
 * place for ss_packw_add (the record's identifier and length take the
 * place of the pack record's header): one copy less.
 */
static uint8_t *
sink(void *arg, uint8_t type, size_t n)
{
	struct receiver *rc = arg;
	uint8_t *p;

	if (type != SS_REC_OBJECT || rc->n == 0 || rc->v[rc->n - 1].rm ||
	    n <= SS_PACK_RECHDR)
		return NULL;
	if (ss_packw_reserve(rc->pw, n - SS_PACK_RECHDR, &p) != 0) {
		ss_errclear();	/* the writer fails again, and says */
		return NULL;
	}
	return p;
}

/* on_object(rc, p, n): store one object after keyless checks. */
static int
on_object(struct receiver *rc, const uint8_t *p, size_t n)
{
	struct ss_objhdr h;
	struct ss_objrow row;
	struct ss_rd rd;
	struct ss_id id;
	struct rds *e;
	const uint8_t *obj;
	uint32_t len;
	int r;

	if (rc->n == 0)
		return ss_err(SS_ECORRUPT, "object before the dataset record");
	e = &rc->v[rc->n - 1];
	ss_rd_init(&rd, p, n);
	if ((obj = ss_rd_bytes(&rd, SS_ID_LEN)) != NULL)
		memcpy(id.b, obj, SS_ID_LEN);
	len = ss_rd_u32(&rd);
	obj = ss_rd_bytes(&rd, len);
	if (rd.err || ss_rd_left(&rd) != 0 || obj == NULL)
		return ss_err(SS_ECORRUPT, "invalid object record in stream");
	if ((r = ss_obj_parse(&id, obj, len, &h)) != 0)
		return r;
	rc->objects++;
	rc->bytes += len;
	if (e->rm)
		return remap_object(rc, e, &id, obj, len, &h);
	if (((h.flags & SS_OBJF_ENCRYPTED) != 0) != (e->ds.encroot != 0))
		return ss_err(SS_ECORRUPT, "stream object's encryption does"
		    " not match its dataset");
	if (ss_cat_obj_get(rc->p->cat, &id, NULL) == 0) {
		rc->skipped++;
		return note_stored(rc, &id, 0);
	}
	/*
	 * One statement per reference both checks that it is present and
	 * counts it; a failure undoes the counts with the whole receive.
	 */
	for (uint32_t i = 0; i < h.nrefs; i++) {
		struct ss_id c;

		memcpy(c.b, h.refs + (size_t)i * SS_ID_LEN, SS_ID_LEN);
		if ((r = ss_cat_obj_ref(rc->p->cat, &c, 1, NULL)) != 0)
			return r == SS_ECORRUPT && ss_cat_obj_get(rc->p->cat,
			    &c, NULL) == SS_ENOENT ? ss_err(SS_ECORRUPT,
			    "stream references an object it does not carry") :
			    r;
	}
	if ((r = ss_packw_add(rc->pw, &id, obj, len, &row.loc)) != 0)
		return r;
	row.refs = 0;
	row.nchild = h.nrefs;
	if ((r = ss_cat_obj_add(rc->p->cat, &id, &row)) != 0)
		return r;
	return note_stored(rc, &id, 1);
}

/*
 * check_orphans(rc): an object of the stream that no snapshot reaches
 * would be kept for good (destroy releases from snapshot roots): refuse
 * the stream rather than store garbage a sender chose to leave.
 */
static int
check_orphans(struct receiver *rc)
{
	for (size_t i = 0; i < rc->nstored; i++) {
		struct ss_objrow row;
		int r;

		if ((r = ss_cat_obj_get(rc->p->cat, &rc->stored[i], &row)))
			return r;
		if (row.refs == 0)
			return ss_err(SS_ECORRUPT, "stream carries an object"
			    " that no snapshot references");
	}
	return 0;
}

/* parse_snap(p, n, s, rel, &from): a SNAPSHOT record. */
static int
parse_snap(const uint8_t *p, size_t n, struct ss_snap *s, char rel[256],
    uint64_t *from)
{
	struct ss_rd rd;
	const uint8_t *name, *relp, *b;
	size_t nl, dl;

	memset(s, 0, sizeof(*s));
	ss_rd_init(&rd, p, n);
	relp = ss_rd_str16(&rd, &dl);
	s->kind = ss_rd_u8(&rd);
	s->guid = ss_rd_u64(&rd);
	name = ss_rd_str16(&rd, &nl);
	s->creation_ns = (int64_t)ss_rd_u64(&rd);
	if ((b = ss_rd_bytes(&rd, SS_ID_LEN)) != NULL)
		memcpy(s->root.b, b, SS_ID_LEN);
	s->prev_guid = ss_rd_u64(&rd);
	if ((b = ss_rd_bytes(&rd, SS_HASH_LEN)) != NULL)
		memcpy(s->mac, b, SS_HASH_LEN);
	*from = ss_rd_u64(&rd);
	s->referenced = ss_rd_u64(&rd);
	s->logical = ss_rd_u64(&rd);
	s->nfiles = ss_rd_u64(&rd);
	if (rd.err || ss_rd_left(&rd) != 0 || s->kind != SS_SNAP ||
	    nl == 0 || nl > 255 || dl > 200 || memchr(relp, '\0', dl))
		return ss_err(SS_ECORRUPT, "invalid snapshot record in stream");
	if ((s->name = ss_malloc(nl + 1)) == NULL)
		return SS_ENOMEM;
	memcpy(s->name, name, nl);
	s->name[nl] = '\0';
	memcpy(rel, relp, dl);
	rel[dl] = '\0';
	return 0;
}

/* check_snap(rc, e, s, from): the snapshot may be added to ${e}. */
static int
check_snap(struct receiver *rc, struct rds *e, const struct ss_snap *s,
    uint64_t from)
{
	struct ss_snap newest, same;
	char *full;
	int r, have;

	full = ss_asprintf("%s@%s", e->ds.name, s->name);
	r = full ? ss_name_check(full, SS_NAME_SNAP) : SS_ENOMEM;
	free(full);
	if (r != 0)
		return r;
	r = ss_ds_latest(rc->p, &e->ds, &newest);
	if (r != 0 && r != SS_ENOENT)
		return r;
	have = r == 0;
	if (from == 0 && have)
		r = ss_err(SS_EEXIST, "destination '%s' exists; must specify"
		    " -F to overwrite it", e->ds.name);
	else if (from != 0 && (!have || newest.guid != from))
		r = ss_err(SS_ENOENT, "most recent snapshot of %s does not"
		    " match incremental source", e->ds.name);
	else if (ss_cat_snap_get(rc->p->cat, e->ds.id, s->name, SS_SNAP,
	    &same) == 0) {
		ss_snap_clear(&same);
		r = ss_err(SS_EEXIST, "destination already exists: %s@%s",
		    e->ds.name, s->name);
	} else if (ss_cat_obj_get(rc->p->cat, &s->root, NULL) != 0)
		r = ss_err(SS_ECORRUPT, "stream references an object it does"
		    " not carry");
	else
		r = 0;
	if (have)
		ss_snap_clear(&newest);
	return r;
}

static int
on_snapshot(struct receiver *rc, const uint8_t *p, size_t n)
{
	struct ss_snap s;
	struct rds *e;
	char rel[256];
	uint64_t from;
	int r;

	if ((r = parse_snap(p, n, &s, rel, &from)) != 0)
		goto out;
	if ((e = ss_recvi_find_rel(rc, rel)) == NULL) {
		r = ss_err(SS_ECORRUPT, "snapshot of a dataset the stream did"
		    " not announce");
		goto out;
	}
	if (e->rm && (r = map_id(e->rm, s.root.b, &s.root)) != 0)
		goto out;
	if ((r = check_snap(rc, e, &s, from)) != 0)
		goto out;
	s.ds = e->ds.id;
	s.written = rc->bytes;
	/* remapped here: the record MAC is ours to make */
	if (e->rm && (r = ss_snap_mac(e->rm->enc ? &e->rm->ks : NULL, &e->ds,
	    &s, s.mac)) != 0)
		goto out;
	if ((r = ss_cat_next_txg(rc->p->cat, &s.createtxg)) == 0 &&
	    (r = ss_cat_snap_add(rc->p->cat, &s)) == 0)
		r = ss_cat_obj_ref(rc->p->cat, &s.root, 1, NULL);
	if (r == 0 && (rc->o->flags & SS_RECV_RESUMABLE)) {
		if (ss_grow(&rc->added, &rc->capadded, rc->nadded,
		    sizeof(*rc->added)) != 0)
			r = SS_ENOMEM;
		else
			rc->added[rc->nadded++] = (struct added){ s.id, s.root };
	}
out:
	ss_snap_clear(&s);
	return r;
}

static int
receive_records(struct receiver *rc)
{
	const uint8_t *p;
	size_t n;
	uint8_t type;
	int r, snaps = 0;

	for (;;) {
		if ((r = ss_sr_next(rc->rd, &type, &p, &n)) != 0) {
			rc->cut = 1;
			return r;
		}
		switch (type) {
		case SS_REC_DATASET:
			r = ss_recvi_on_dataset(rc, p, n);
			break;
		case SS_REC_OBJECT:
			r = on_object(rc, p, n);
			break;
		case SS_REC_SNAPSHOT:
			r = on_snapshot(rc, p, n);
			snaps++;
			break;
		case SS_REC_END:
			return snaps ? 0 : ss_err(SS_ECORRUPT, "stream holds no"
			    " snapshot");
		default:
			r = ss_err(SS_ECORRUPT, "unexpected record type %u",
			    type);
		}
		if (r != 0)
			return r;
	}
}

/*
 * save_partial(rc): receive -s after the stream broke: keep every object
 * that arrived, each held once by the saved state; snapshots the stream completed
 * are taken back into holds too, since the resumed stream carries them
 * again (it is the same stream without the objects already here).
 */
static int
save_partial(struct receiver *rc)
{
	struct ss_resume st;
	struct rds *e = &rc->v[0];
	uint64_t base = rc->resuming ? rc->tk.objects : 0;
	int r = 0;

	memset(&st, 0, sizeof(st));
	st.created = e->created;
	if (rc->resuming && ss_buf_put(&st.held, rc->prev.held.p,
	    rc->prev.held.len))
		r = SS_ENOMEM;
	for (size_t i = 0; i < rc->nadded && r == 0; i++)
		if ((r = ss_cat_snap_del(rc->p->cat, rc->added[i].id)) == 0 &&
		    ss_buf_put(&st.held, rc->added[i].root.b, SS_ID_LEN))
			r = SS_ENOMEM;
	for (size_t i = 0; i < rc->nstored && r == 0; i++)
		if ((r = ss_cat_obj_ref(rc->p->cat, &rc->stored[i], 1,
		    NULL)) == 0 && ss_buf_put(&st.held, rc->stored[i].b,
		    SS_ID_LEN))
			r = SS_ENOMEM;
	rc->tk.objects = base + rc->objects;
	if (r == 0)
		r = ss_token_pack(&rc->tk, &st.state);
	if (r == 0)
		r = ss_cat_resume_set(rc->p->cat, e->ds.id, &st);
	if (r == 0 && (r = ss_packw_flush(rc->pw)) == 0)
		r = ss_cat_commit(rc->p->cat);
	ss_resume_clear(&st);
	return r;
}

/* set_local(rc): -o PROP=VALUE, as "set" just before the receive. */
static int
set_local(struct receiver *rc)
{
	int r = 0;

	for (size_t i = 0; i < rc->o->nset && r == 0 && rc->n; i++)
		r = ss_prop_set(rc->p, &rc->v[0].ds, rc->o->set[i].name,
		    rc->o->set[i].value);
	return r;
}

static void
receiver_free(struct receiver *rc)
{
	ss_packw_free(rc->pw);
	ss_sr_free(rc->rd);
	for (size_t i = 0; i < rc->nrm; i++)
		remap_free(rc->rm[i]);
	free(rc->rm);
	for (size_t i = 0; i < rc->n; i++) {
		free(rc->v[i].rel);
		ss_ds_clear(&rc->v[i].ds);
	}
	free(rc->v);
	ss_freelist_free(&rc->freed);
	ss_resume_clear(&rc->prev);
	free(rc->stored);
	free(rc->added);
}

int
ss_receive_with(struct ss_pool *p, const char *target, int fd,
    const struct ss_recv_opts *opts, struct ss_recv_stats *stats)
{
	static const struct ss_recv_opts none;
	struct receiver rc;
	struct ss_begin b;
	int r, dry = opts && (opts->flags & SS_RECV_DRYRUN);

	memset(&rc, 0, sizeof(rc));
	rc.p = p;
	rc.o = opts ? opts : &none;
	rc.target = target;
	if ((r = ss_name_check(target, SS_NAME_DS)) != 0)
		return r;
	if ((r = ss_sr_open(fd, &rc.rd, &b)) != 0 || (r = ss_pool_lock(p)))
		goto out;
	rc.begin = b;
	rc.raw = (b.flags & SS_STREAMF_RAW) != 0;
	rc.replication = (b.flags & SS_STREAMF_REPLICATION) != 0;
	rc.props = (b.flags & SS_STREAMF_PROPERTIES) != 0;
	rc.resuming = (b.flags & SS_STREAMF_RESUMED) != 0;
	if (rc.resuming && rc.replication) {
		r = ss_err(SS_ECORRUPT, "a replication stream cannot be"
		    " resumed");
		goto out;
	}
	ss_gc_packs(p);
	if ((r = ss_packw_open(p->dir, &rc.pw)) != 0 ||
	    (r = ss_cat_begin(p->cat)) != 0)
		goto out;
	ss_packw_uncached(rc.pw);	/* a stream is rarely read back soon */
	ss_sr_set_sink(rc.rd, sink, &rc);
	r = receive_records(&rc);
	if (r == 0)
		r = check_orphans(&rc);
	if (r == 0)
		r = set_local(&rc);
	if (r == 0 && rc.resuming)
		r = ss_resume_release(p, rc.v[0].ds.id, &rc.freed);
	if (r == 0 && !dry && (r = ss_packw_flush(rc.pw)) == 0)
		r = ss_cat_commit(p->cat);
	if (r != 0 && rc.cut && rc.n == 1 && !rc.replication && !dry &&
	    (rc.o->flags & SS_RECV_RESUMABLE)) {
		char *msg = ss_strdup(ss_errmsg());

		if (save_partial(&rc) == 0) {
			ss_reclaim(p, &rc.freed);
			ss_err(r, "%s; the partially received state was saved"
			    " (see receive_resume_token)", msg ? msg : "");
			free(msg);
			goto saved;
		}
		free(msg);
	}
	if (r != 0 || dry)
		ss_cat_rollback(p->cat);
	else
		ss_reclaim(p, &rc.freed);
saved:
	if (stats) {
		stats->objects = rc.objects;
		stats->skipped = rc.skipped;
		stats->bytes = ss_sr_bytes(rc.rd);
	}
out:
	if (r != 0 || dry) {
		ss_packw_free(rc.pw);
		rc.pw = NULL;
		ss_gc_packs(p);
	}
	receiver_free(&rc);
	return r;
}

int
ss_receive(struct ss_pool *p, const char *target, int fd,
    struct ss_recv_stats *stats)
{
	return ss_receive_with(p, target, fd, NULL, stats);
}
