/*
 * resume.c: resume tokens and the state an interrupted "receive -s"
 * keeps (docs/stream-format.md, "Resume tokens").
 *
 * A token is "1-" followed by the hex of a small record and "-" and the
 * hex of its 8-byte checksum.  It names the stream to send again (dataset
 * and snapshot by name and guid, the base by guid, the stream flags) and
 * how many of its OBJECT records the receiver already holds, and the
 * resume tag the sender put in the stream (an HMAC under the sending
 * pool's own secret over the flags, guids and names).  The sender checks
 * the tag, recomputes the same stream and leaves those objects out; it
 * refuses a token whose dataset, snapshot or base changed or that the
 * receiver edited, so a raw send is always resumed raw.
 *
 * The objects an interrupted receive kept are held by the saved state (one
 * reference each on those nothing else references), so that neither
 * garbage collection nor a destroy can free them before the resume.
 */
#include <stdlib.h>
#include <string.h>

#include "pool/space.h"

#define TOKEN_VERSION 1
#define TOKEN_SUM 8

int
ss_token_pack(const struct ss_token *t, struct ss_buf *b)
{
	int r = 0;

	ss_buf_reset(b);
	r |= ss_buf_put_u8(b, TOKEN_VERSION);
	r |= ss_buf_put_u64(b, t->flags);
	r |= ss_buf_put_u64(b, t->dsguid);
	r |= ss_buf_put_u64(b, t->fromguid);
	r |= ss_buf_put_u64(b, t->toguid);
	r |= ss_buf_put_u64(b, t->objects);
	r |= ss_buf_put_str16(b, t->ds, strlen(t->ds));
	r |= ss_buf_put_str16(b, t->snap, strlen(t->snap));
	r |= ss_buf_put(b, t->tag, sizeof(t->tag));
	return r ? SS_ENOMEM : 0;
}

int
ss_token_unpack(const uint8_t *p, size_t n, struct ss_token *t)
{
	const uint8_t *ds, *snap, *tag;
	struct ss_rd rd;
	size_t dl, sl;
	uint8_t v;

	memset(t, 0, sizeof(*t));
	ss_rd_init(&rd, p, n);
	v = ss_rd_u8(&rd);
	t->flags = ss_rd_u64(&rd);
	t->dsguid = ss_rd_u64(&rd);
	t->fromguid = ss_rd_u64(&rd);
	t->toguid = ss_rd_u64(&rd);
	t->objects = ss_rd_u64(&rd);
	ds = ss_rd_str16(&rd, &dl);
	snap = ss_rd_str16(&rd, &sl);
	if ((tag = ss_rd_bytes(&rd, sizeof(t->tag))) != NULL)
		memcpy(t->tag, tag, sizeof(t->tag));
	if (rd.err || ss_rd_left(&rd) || v != TOKEN_VERSION || dl == 0 ||
	    dl > SS_NAME_MAX || sl == 0 || sl > SS_NAME_MAX ||
	    memchr(ds, '\0', dl) || memchr(snap, '\0', sl))
		return ss_err(SS_EINVAL, "invalid resume token");
	memcpy(t->ds, ds, dl);
	memcpy(t->snap, snap, sl);
	return 0;
}

char *
ss_token_string(const uint8_t *p, size_t n)
{
	uint8_t sum[SS_SUM_LEN];
	char *s;

	if ((s = ss_malloc(2 + 2 * n + 1 + 2 * TOKEN_SUM + 1)) == NULL)
		return NULL;
	ss_sum128(p, n, NULL, 0, sum);
	memcpy(s, "1-", 2);
	ss_hex_encode(p, n, s + 2);
	s[2 + 2 * n] = '-';
	ss_hex_encode(sum, TOKEN_SUM, s + 3 + 2 * n);
	return s;
}

int
ss_token_parse(const char *s, struct ss_token *t)
{
	uint8_t buf[2048], sum[SS_SUM_LEN], got[TOKEN_SUM];
	const char *dash;
	size_t hl;

	if (strncmp(s, "1-", 2) != 0 || (dash = strchr(s + 2, '-')) == NULL)
		return ss_err(SS_EINVAL, "invalid resume token");
	hl = (size_t)(dash - (s + 2));
	if (hl % 2 || hl / 2 > sizeof(buf) || strlen(dash + 1) !=
	    2 * TOKEN_SUM || ss_hex_decode(s + 2, hl, buf, hl / 2) ||
	    ss_hex_decode(dash + 1, 2 * TOKEN_SUM, got, TOKEN_SUM))
		return ss_err(SS_EINVAL, "invalid resume token");
	ss_sum128(buf, hl / 2, NULL, 0, sum);
	if (memcmp(sum, got, TOKEN_SUM) != 0)
		return ss_err(SS_EINVAL, "resume token is corrupt (checksum"
		    " mismatch)");
	return ss_token_unpack(buf, hl / 2, t);
}

/* ---------- held objects ---------- */

int
ss_resume_release(struct ss_pool *p, int64_t ds, struct ss_freelist *f)
{
	struct ss_resume rs;
	int r;

	if ((r = ss_cat_resume_get(p->cat, ds, &rs)) != 0)
		return r == SS_ENOENT ? 0 : r;
	for (size_t i = 0; i + SS_ID_LEN <= rs.held.len && r == 0;
	    i += SS_ID_LEN) {
		struct ss_id id;

		memcpy(id.b, rs.held.p + i, SS_ID_LEN);
		r = ss_release(p, &id, f);
	}
	if (r == 0)
		r = ss_cat_resume_del(p->cat, ds);
	ss_resume_clear(&rs);
	return r;
}

int
ss_resume_token(struct ss_pool *p, const struct ss_ds *ds, char **token)
{
	struct ss_resume rs;
	int r;

	*token = NULL;
	if ((r = ss_cat_resume_get(p->cat, ds->id, &rs)) != 0)
		return r;
	if ((*token = ss_token_string(rs.state.p, rs.state.len)) == NULL)
		r = SS_ENOMEM;
	ss_resume_clear(&rs);
	return r;
}

int
ss_receive_abort(struct ss_pool *p, const char *name)
{
	struct ss_freelist f;
	struct ss_resume rs;
	struct ss_snap s;
	struct ss_ds ds, *kids = NULL;
	size_t nkids = 0;
	int r, created;

	memset(&f, 0, sizeof(f));
	if ((r = ss_cat_ds_get(p->cat, name, &ds)) != 0)
		return r == SS_ENOENT ? ss_err(SS_ENOENT, "dataset does not"
		    " exist") : r;
	if ((r = ss_cat_resume_get(p->cat, ds.id, &rs)) != 0) {
		if (r == SS_ENOENT)
			r = ss_err(SS_ENOENT, "'%s' does not have any resumable"
			    " receive state to abort", name);
		goto out;
	}
	created = rs.created;
	ss_resume_clear(&rs);
	if ((r = ss_cat_begin(p->cat)) != 0)
		goto out;
	r = ss_resume_release(p, ds.id, &f);
	/* a dataset the interrupted receive created goes too, if still empty */
	if (r == 0 && created && (r = ss_ds_latest(p, &ds, &s)) == SS_ENOENT &&
	    (r = ss_cat_ds_list(p->cat, name, &kids, &nkids)) == 0) {
		if (nkids == 1)
			r = ss_cat_ds_del(p->cat, ds.id);
		ss_ds_list_free(kids, nkids);
	} else if (r == 0 && created)
		ss_snap_clear(&s);
	if (r == 0)
		r = ss_cat_commit(p->cat);
	if (r != 0)
		ss_cat_rollback(p->cat);
	else
		ss_reclaim(p, &f);
out:
	ss_freelist_free(&f);
	ss_ds_clear(&ds);
	return r;
}
