/*
 * send.c: a stream of a dataset's snapshots (docs/stream-format.md): the
 * entry points (and what "send -t" sends again), the order of datasets
 * and snapshots, and every record but OBJECT.  The objects are
 * sendwalk.c's; what the two share is in sendint.h.
 *
 * Objects travel in post-order (references first), minus what the base of
 * an incremental already holds.  In a raw stream, and for an unencrypted
 * dataset, they travel exactly as stored and sending needs no key.  A
 * non-raw stream of an encrypted dataset is decrypted: each object is
 * opened (authenticated) with the dataset's keys and sent unencrypted,
 * named by a keyed stream identifier instead of its content, so that the
 * sender never has to hash unchanged data again to send an incremental.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compress/compress.h"
#include "pool/sendint.h"

/* ---------- records ---------- */

static int
record(struct sender *s, uint8_t type, const void *p, size_t n)
{
	s->est += REC_OVERHEAD + n;
	return s->w ? ss_sw_record(s->w, type, p, n) : 0;
}

uint64_t
ss_sendi_bytes(const struct sender *s)
{
	return s->w ? ss_sw_bytes(s->w) : s->est;
}

void
ss_sendi_event(struct sender *s, int what, uint64_t bytes)
{
	struct ss_send_event ev;

	if (s->o->cb == NULL)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.what = what;
	ev.ds = s->cur_ds;
	ev.snap = s->cur_snap;
	ev.from = s->cur_from;
	ev.bytes = bytes;
	s->o->cb(s->o->arg, &ev);
}

static int
put_snaprec(struct ss_buf *b, const char *rel, const struct ss_snap *s,
    const struct ss_id *root, uint64_t from)
{
	int r = 0;

	ss_buf_reset(b);
	r |= ss_buf_put_str16(b, rel, strlen(rel));
	r |= ss_buf_put_u8(b, SS_SNAP);
	r |= ss_buf_put_u64(b, s->guid);
	r |= ss_buf_put_str16(b, s->name, strlen(s->name));
	r |= ss_buf_put_u64(b, (uint64_t)s->creation_ns);
	r |= ss_buf_put(b, root->b, SS_ID_LEN);
	r |= ss_buf_put_u64(b, s->prev_guid);
	r |= ss_buf_put(b, s->mac, SS_HASH_LEN);
	r |= ss_buf_put_u64(b, from);
	r |= ss_buf_put_u64(b, s->referenced);
	r |= ss_buf_put_u64(b, s->logical);
	r |= ss_buf_put_u64(b, s->nfiles);
	return r ? SS_ENOMEM : 0;
}

/*
 * resume_tag(key, flags, ds, from, to, dsname, snap, tag): what every
 * DATASET record carries so that "send -t" can tell a token made from one
 * of this pool's streams from one a server edited: the receiver writes the
 * token, and must not be able to change what is sent again (its flags,
 * which turn a raw send into a plaintext one or add properties, its
 * dataset, snapshot or base; OpenZFS issue 14153).  Names are covered as
 * well as guids, since a copy received within the pool keeps the guids of
 * its original.  ${key} is the sending pool's own secret, so raw sends,
 * which may run without a dataset key, are covered too.
 */
static int
resume_tag(const uint8_t key[SS_KEY_LEN], uint64_t flags, uint64_t ds,
    uint64_t from, uint64_t to, const char *dsname, const char *snap,
    uint8_t tag[SS_HASH_LEN])
{
	struct ss_buf b = SS_BUF_INIT;
	int r = 0;

	r |= ss_buf_put(&b, "resume", 6);
	r |= ss_buf_put_u64(&b, flags);
	r |= ss_buf_put_u64(&b, ds);
	r |= ss_buf_put_u64(&b, from);
	r |= ss_buf_put_u64(&b, to);
	r |= ss_buf_put_str16(&b, dsname, strlen(dsname));
	r |= ss_buf_put_str16(&b, snap, strlen(snap));
	r = r ? SS_ENOMEM : ss_hmac_sha256(key, SS_KEY_LEN, b.p, b.len, tag);
	ss_buf_free(&b);
	return r;
}


/* ---------- datasets ---------- */

/*
 * put_props(p, ds, b): the properties a replication stream (or -p) carries:
 * those set on the dataset itself, locally or by an earlier receive.  Key
 * properties travel in the wrapped key, and keylocation stays behind
 * (the receiver prompts), as in zfs.
 */
static int
put_props(struct ss_pool *p, const struct ss_ds *ds, struct ss_buf *b)
{
	static const char *const fixed[] = { "mountpoint", "compression" };
	char **user = NULL, *val;
	size_t nuser = 0, cnt = 0, at;
	int r;

	if ((r = ss_cat_prop_names(p->cat, ds->id, &user, &nuser)) != 0)
		return r;
	at = b->len;
	r = ss_buf_put_u32(b, 0) ? SS_ENOMEM : 0;
	for (size_t i = 0; i < 2 + nuser && r == 0; i++) {
		const char *name = i < 2 ? fixed[i] : user[i - 2];
		int src = SS_SRC_LOCAL;

		r = ss_cat_prop_get(p->cat, ds->id, name, src, &val);
		if (r == SS_ENOENT) {
			src = SS_SRC_RECEIVED;
			r = ss_cat_prop_get(p->cat, ds->id, name, src, &val);
		}
		if (r == SS_ENOENT) {
			r = 0;
			continue;
		}
		if (r == 0 && (ss_buf_put_str16(b, name, strlen(name)) ||
		    ss_buf_put_str16(b, val, strlen(val)) ||
		    ss_buf_put_u8(b, (uint8_t)src)))
			r = SS_ENOMEM;
		free(val);
		cnt++;
	}
	for (size_t i = 0; i < nuser; i++)
		free(user[i]);
	free(user);
	if (r == 0) {
		uint32_t le = (uint32_t)cnt;

		for (int i = 0; i < 4; i++)
			b->p[at + (size_t)i] = (uint8_t)(le >> (8 * i));
	}
	return r;
}

/*
 * dataset_record(s, ds, rel, top, from, to, props): the DATASET record.  In a
 * raw stream the wrapped key travels with the top of the stream and with
 * every dataset that is its own encryption root; the others name their
 * root's guid only.
 */
static int
dataset_record(struct sender *s, const struct ss_ds *ds, const char *rel,
    int top, uint64_t from, const struct ss_snap *to, int props)
{
	struct ss_pool *p = s->p;
	struct ss_buf key = SS_BUF_INIT, *b = &s->rec;
	struct ss_ds root;
	uint8_t tag[SS_HASH_LEN];
	int withkey, r = 0;

	withkey = s->raw && ds->encroot && (top || ds->encroot == ds->id);
	memset(&root, 0, sizeof(root));
	if (ds->encroot && (r = ss_cat_ds_get_id(p->cat, ds->encroot, &root)))
		return r;
	if (withkey && (r = ss_cat_key_get(p->cat, ds->encroot, &key)))
		goto out;
	ss_buf_reset(b);
	r |= ss_buf_put_str16(b, rel, strlen(rel));
	r |= ss_buf_put_u64(b, ds->guid);
	r |= ss_buf_put_u64(b, ds->encroot ? ss_ds_key_owner(p, &root) : 0);
	r |= ss_buf_put_u8(b, withkey ? 1 : 0);
	if (withkey)
		r |= ss_buf_put(b, key.p, key.len);
	r |= ss_buf_put_u64(b, from);
	r |= ss_buf_put_u64(b, to->guid);
	r |= ss_buf_put_str16(b, to->name, strlen(to->name));
	if (r == 0)
		r = resume_tag(s->rkey, s->bflags, ds->guid, from, to->guid,
		    ds->name, to->name, tag);
	r |= ss_buf_put(b, tag, sizeof(tag));
	if (r != 0)
		r = SS_ENOMEM;
	else if (props)
		r = put_props(p, ds, b);
	else if (ss_buf_put_u32(b, 0))
		r = SS_ENOMEM;
	if (r == 0)
		r = record(s, SS_REC_DATASET, b->p, b->len);
out:
	ss_buf_free(&key);
	ss_ds_clear(&root);
	return r;
}

/* check_mac(s, ds, sn): a decrypted send trusts only authentic records. */
static int
check_mac(struct sender *s, const struct ss_ds *ds, const struct ss_snap *sn)
{
	uint8_t mac[SS_HASH_LEN];
	int r;

	if ((r = ss_snap_mac(&s->ks, ds, sn, mac)) != 0)
		return r;
	if (!ss_ct_eq(mac, sn->mac, SS_HASH_LEN))
		return ss_err(SS_EAUTH, "snapshot record of '%s@%s' failed"
		    " authentication: the pool was modified", ds->name,
		    sn->name);
	return 0;
}

/* send_snap(s, ds, rel, sn, from): the objects and record of one snapshot. */
static int
send_snap(struct sender *s, const struct ss_ds *ds, const char *rel,
    const struct ss_snap *sn, const struct ss_snap *from)
{
	struct ss_id root = sn->root;
	uint64_t start = ss_sendi_bytes(s);
	char *full;
	int r;

	if ((full = ss_asprintf("%s@%s", ds->name, sn->name)) == NULL)
		return SS_ENOMEM;
	s->cur_ds = ds->name;
	s->cur_snap = full;
	s->cur_from = NULL;
	if (from) {
		snprintf(s->fromname, sizeof(s->fromname), "%c%s",
		    from->kind == SS_BOOKMARK ? '#' : '@', from->name);
		s->cur_from = s->fromname;
	}
	ss_sendi_event(s, SS_SEV_BEGIN, start);
	if (s->mapped && (r = check_mac(s, ds, sn)) != 0)
		goto out;
	if ((r = ss_sendi_walk(s, &sn->root, 0)) != 0)
		goto out;
	if (s->mapped && (r = ss_sendi_sid(s, sn->root.b, &root)) != 0)
		goto out;
	if ((r = put_snaprec(&s->rec, rel, sn, &root, from ? from->guid : 0)))
		goto out;
	if ((r = record(s, SS_REC_SNAPSHOT, s->rec.p, s->rec.len)) == 0)
		ss_sendi_event(s, SS_SEV_SNAP, ss_sendi_bytes(s) - start);
out:
	s->cur_snap = NULL;
	free(full);
	return r;
}

static int
reset_sets(struct sender *s)
{
	ss_idset_free(s->base);
	ss_idset_free(s->sent);
	s->base = ss_idset_new();
	s->sent = ss_idset_new();
	return s->base && s->sent ? 0 : SS_ENOMEM;
}

/*
 * send_dataset(s, ds, rel, top, upto, base, all): the DATASET record of
 * ${ds} and its snapshots: from ${base} (or from nothing) up to ${upto};
 * only ${upto} unless ${all} (-I, or a replication stream).
 */
static int
send_dataset(struct sender *s, const struct ss_ds *ds, const char *rel,
    int top, const struct ss_snap *upto, const struct ss_snap *base,
    int all)
{
	struct ss_snap *v = NULL;
	const struct ss_snap *from = base;
	size_t n = 0;
	int r;

	s->mapped = !s->raw && ds->encroot != 0;
	if (s->mapped && (r = ss_sendi_map_setup(s, ds)) != 0)
		return r;
	/*
	 * A receiver may map decrypted objects per dataset (an unencrypted
	 * destination): an object is then sent again for each dataset.
	 */
	if (s->mapped && s->objects && (r = reset_sets(s)) != 0)
		return r;
	if (base && (r = ss_sendi_mark_base(s, base)) != 0)
		return r;
	if ((r = dataset_record(s, ds, rel, top, base ? base->guid : 0, upto,
	    (s->o->flags & (SS_SEND_PROPS | SS_SEND_REPLICATE)) != 0)) != 0)
		return r;
	if (!all)
		return send_snap(s, ds, rel, upto, base);
	if ((r = ss_cat_snap_list(s->p->cat, ds->id, SS_SNAP, &v, &n)) != 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++) {
		if (v[i].createtxg > upto->createtxg)
			break;
		if (base && v[i].createtxg <= base->createtxg)
			continue;	/* the receiver has these */
		r = send_snap(s, ds, rel, &v[i], from);
		from = &v[i];
	}
	ss_snap_list_free(v, n);
	return r;
}

/*
 * send_tree(s, o, base): a replication stream of o's dataset and its
 * descendants.  With a base, each dataset that holds a snapshot (or
 * bookmark) of the base's name is sent incrementally from it, the others
 * (created since) in full.
 */
static int
send_tree(struct sender *s, const struct ss_obj_ref *o,
    const struct ss_obj_ref *base)
{
	struct ss_ds *v = NULL;
	struct ss_snap upto, from;
	size_t n = 0, tl = strlen(o->ds.name);
	int all = !base || (s->o->flags & SS_SEND_INTERMEDIATE), r;

	if ((r = ss_cat_ds_list(s->p->cat, o->ds.name, &v, &n)) != 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++) {
		const char *rel = v[i].name + tl + (i ? 1 : 0);
		int have = 0;

		memset(&from, 0, sizeof(from));
		r = ss_cat_snap_get(s->p->cat, v[i].id, o->snap.name, SS_SNAP,
		    &upto);
		if (r == SS_ENOENT) {
			r = ss_err(SS_ENOENT, "'%s@%s' does not exist (take"
			    " the snapshot with snapshot -r)", v[i].name,
			    o->snap.name);
			break;
		}
		if (r == 0 && base) {
			r = ss_cat_snap_get(s->p->cat, v[i].id, base->snap.name,
			    base->kind, &from);
			have = r == 0 && from.createtxg < upto.createtxg;
			if (r == SS_ENOENT)
				r = 0;
		}
		if (r == 0)
			r = send_dataset(s, &v[i], rel, i == 0, &upto,
			    have ? &from : NULL, have ? all : 1);
		ss_snap_clear(&upto);
		ss_snap_clear(&from);
	}
	ss_ds_list_free(v, n);
	return r;
}

/* ---------- entry points ---------- */

/* ss_send_base(p, o, from, base): the -i source ("@s", "ds@s", "#b"...). */
int
ss_send_base(struct ss_pool *p, const struct ss_obj_ref *o, const char *from,
    struct ss_obj_ref *base)
{
	char *full;
	int r;

	if (from[0] == '@' || from[0] == '#')
		full = ss_asprintf("%s%s", o->ds.name, from);
	else
		full = ss_strdup(from);
	if (full == NULL)
		return SS_ENOMEM;
	r = ss_resolve(p, full, base);
	if (r == 0 && (base->kind == 0 || base->ds.id != o->ds.id))
		r = ss_err(SS_EINVAL, "incremental source '%s' must be an"
		    " earlier snapshot or bookmark of '%s'", from, o->ds.name);
	else if (r == 0 && base->snap.createtxg >= o->snap.createtxg)
		r = ss_err(SS_EINVAL, "incremental source '%s' is not earlier"
		    " than '%s@%s'", from, o->ds.name, o->snap.name);
	free(full);
	return r;
}

static int
send_open(struct sender *s, const struct ss_obj_ref *o, int fd)
{
	struct ss_begin b;

	memset(&b, 0, sizeof(b));
	b.version = SS_STREAM_VERSION;
	b.flags = (s->raw ? SS_STREAMF_RAW : 0) |
	    (s->o->from ? SS_STREAMF_INCREMENTAL : 0) |
	    (s->o->flags & SS_SEND_REPLICATE ? SS_STREAMF_REPLICATION : 0) |
	    (s->o->flags & (SS_SEND_PROPS | SS_SEND_REPLICATE) ?
	    SS_STREAMF_PROPERTIES : 0) |
	    (s->o->flags & SS_SEND_INTERMEDIATE ? SS_STREAMF_INTERMEDIATE : 0);
	s->bflags = b.flags;
	if (s->resumed)
		b.flags |= SS_STREAMF_RESUMED;
	b.guid = ss_random_u64();
	snprintf(b.name, sizeof(b.name), "%s", o->ds.name);
	s->est = REC_OVERHEAD + 46 + strlen(b.name);
	return s->dry ? 0 : ss_sw_open(fd, &b, &s->w);
}

static int
check_args(const struct ss_obj_ref *o, const struct ss_send_opts *opt,
    const char *name)
{
	if (o->kind != SS_SNAP)
		return ss_err(SS_EINVAL, "'%s' is not a snapshot", name);
	if ((opt->flags & SS_SEND_INTERMEDIATE) && !opt->from)
		return ss_err(SS_EINVAL, "-I needs an incremental source");
	if ((opt->flags & SS_SEND_INTERMEDIATE) && opt->from &&
	    strchr(opt->from, '#'))
		return ss_err(SS_EINVAL, "-I cannot start from a bookmark"
		    " (use -i)");
	return 0;
}

/* check_tag(rkey, tk): the token names a stream this pool sent, unedited. */
static int
check_tag(const uint8_t rkey[SS_KEY_LEN], const struct ss_token *tk)
{
	uint8_t tag[SS_HASH_LEN];
	int r;

	if ((r = resume_tag(rkey, tk->flags, tk->dsguid, tk->fromguid,
	    tk->toguid, tk->ds, tk->snap, tag)) == 0 && !ss_ct_eq(tag, tk->tag, SS_HASH_LEN))
		r = ss_err(SS_EAUTH, "the resume token was not made from a"
		    " stream of this pool, or it was modified");
	return r;
}

/*
 * from_token(p, tk, o, name, from): what "send -t" sends again: the same
 * dataset, snapshot and base (by guid, so a snapshot destroyed and taken
 * again under the same name is refused), with the same flags.
 */
static int
from_token(struct ss_pool *p, const uint8_t rkey[SS_KEY_LEN],
    const struct ss_token *tk, struct ss_send_opts *o, char **name,
    char **from)
{
	struct ss_obj_ref ref;
	struct ss_snap *v = NULL;
	size_t n = 0;
	int r;

	if ((*name = ss_asprintf("%s@%s", tk->ds, tk->snap)) == NULL)
		return SS_ENOMEM;
	if ((r = ss_resolve(p, *name, &ref)) != 0)
		return r;
	if (ref.kind != SS_SNAP || ref.ds.guid != tk->dsguid ||
	    ref.snap.guid != tk->toguid)
		r = ss_err(SS_EINVAL, "'%s' is not the snapshot the resume"
		    " token names (it was destroyed or replaced)", *name);
	if (r == 0 && tk->fromguid &&
	    (r = ss_cat_snap_list(p->cat, ref.ds.id, 0, &v, &n)) == 0) {
		r = ss_err(SS_ENOENT, "the incremental source of the resume"
		    " token no longer exists in '%s'", tk->ds);
		for (size_t i = 0; i < n; i++)
			if (v[i].guid == tk->fromguid) {
				*from = ss_asprintf("%s%c%s", tk->ds,
				    v[i].kind == SS_SNAP ? '@' : '#', v[i].name);
				r = *from ? 0 : SS_ENOMEM;
				break;
			}
		ss_snap_list_free(v, n);
	}
	if (r == 0 && (o->flags & SS_SEND_RAW) && !(tk->flags & SS_STREAMF_RAW))
		r = ss_err(SS_EINVAL, "-w given, but the resume token is not of"
		    " a raw stream");
	if (r == 0)
		r = check_tag(rkey, tk);
	ss_obj_ref_clear(&ref);
	if (tk->flags & SS_STREAMF_REPLICATION)
		r = ss_err(SS_ENOTSUP, "replication streams cannot be resumed");
	o->from = *from;
	o->flags &= SS_SEND_DRYRUN | SS_SEND_COMPRESS;
	o->flags |= (tk->flags & SS_STREAMF_RAW ? SS_SEND_RAW : 0) |
	    (tk->flags & SS_STREAMF_PROPERTIES ? SS_SEND_PROPS : 0) |
	    (tk->flags & SS_STREAMF_INTERMEDIATE ? SS_SEND_INTERMEDIATE : 0);
	return r;
}

int
ss_send(struct ss_pool *p, const char *name, const struct ss_send_opts *opt,
    int fd, struct ss_send_stats *stats)
{
	struct ss_send_opts eff = *opt;
	struct ss_obj_ref o, base;
	struct ss_token tk;
	struct sender s;
	char *tname = NULL, *tfrom = NULL;
	int r;

	memset(&s, 0, sizeof(s));
	memset(&base, 0, sizeof(base));
	memset(&o, 0, sizeof(o));
	if ((r = ss_pool_resume_key(p, s.rkey)) != 0)
		return r;
	/* one snapshot of the catalog, without a lock round per lookup */
	if ((r = ss_cat_begin_read(p->cat)) != 0) {
		ss_cleanse(s.rkey, sizeof(s.rkey));
		return r;
	}
	if (opt->token) {
		if ((r = ss_token_parse(opt->token, &tk)) != 0 ||
		    (r = from_token(p, s.rkey, &tk, &eff, &tname, &tfrom)))
			goto out;
		name = tname;
		s.skip = tk.objects;
		s.resumed = 1;
	}
	opt = &eff;
	s.p = p;
	s.o = opt;
	s.raw = (opt->flags & SS_SEND_RAW) != 0;
	s.dry = (opt->flags & SS_SEND_DRYRUN) != 0;
	if ((r = ss_resolve(p, name, &o)) != 0)
		goto out;
	if ((r = check_args(&o, opt, name)) != 0)
		goto out;
	if (opt->from && (r = ss_send_base(p, &o, opt->from, &base)) != 0)
		goto out;
	s.pr = ss_pool_packr(p);
	s.base = ss_idset_new();
	s.sent = ss_idset_new();
	s.plain = ss_objctx_new(NULL, NULL, opt->flags & SS_SEND_COMPRESS ?
	    SS_COMP_ZSTD : SS_COMP_OFF, 3);
	if (s.pr == NULL || s.base == NULL || s.sent == NULL || !s.plain) {
		r = SS_ENOMEM;
		goto out;
	}
	if ((r = send_open(&s, &o, fd)) != 0)
		goto out;
	if (opt->flags & SS_SEND_REPLICATE)
		r = send_tree(&s, &o, opt->from ? &base : NULL);
	else
		r = send_dataset(&s, &o.ds, "", 1, &o.snap, opt->from ?
		    &base.snap : NULL, (opt->flags & SS_SEND_INTERMEDIATE) != 0);
	if (r == 0 && s.skip)
		r = ss_err(SS_EINVAL, "the resume token counts more objects"
		    " than the stream holds");
	if (r == 0 && s.w)
		r = ss_sw_end(s.w);
	s.est += REC_OVERHEAD + 48;
	if (stats) {
		stats->objects = s.objects;
		stats->objbytes = s.bytes;
		stats->bytes = s.w ? ss_sw_bytes(s.w) : s.est;
	}
out:
	ss_cat_end_read(p->cat);
	ss_sw_free(s.w);
	ss_idset_free(s.base);
	ss_idset_free(s.sent);
	ss_buf_free(&s.obj);
	ss_buf_free(&s.rec);
	ss_buf_wipe(&s.pt);
	ss_buf_free(&s.out);
	ss_keyset_wipe(&s.ks);
	ss_cleanse(s.k_sid, sizeof(s.k_sid));
	ss_cleanse(s.rkey, sizeof(s.rkey));
	ss_objctx_free(s.open);
	ss_objctx_free(s.plain);
	ss_obj_ref_clear(&o);
	ss_obj_ref_clear(&base);
	free(tname);
	free(tfrom);
	return r;
}
