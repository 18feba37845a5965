/*
 * test_store: sealed objects (round trips, identifiers, every bit flip and
 * truncation, swapped IDs and references, wrong keys) and pack files
 * (write, read by location, scan, rotation, punched holes, torn tails,
 * corrupted record headers, strict listing).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "compress/compress.h"
#include "store/store.h"
#include "tap.h"

static uint8_t K_ID[SS_KEY_LEN], K_OBJ[SS_KEY_LEN];
static uint8_t K_ID2[SS_KEY_LEN], K_OBJ2[SS_KEY_LEN];
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
fill_random(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
}

static void
fill_text(uint8_t *p, size_t n)
{
	static const char *w[] = { "snapshot ", "dataset ", "pool ", "send ",
	    "receive ", "bookmark ", "encrypted ", "incremental\n" };
	size_t i = 0;

	while (i < n) {
		const char *s = w[rnd() % 8];

		for (; *s != '\0' && i < n; s++)
			p[i++] = (uint8_t)*s;
	}
}

static void
make_ids(struct ss_id *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fill_random(ids[i].b, SS_ID_LEN);
	ss_ids_sort_unique(ids, n);
}

/* Recompute the trailing checksum, as a keyless attacker can. */
static void
reseal_sum(const struct ss_id *id, uint8_t *p, size_t n)
{
	ss_sum128(id->b, SS_ID_LEN, p, n - SS_SUM_LEN, p + n - SS_SUM_LEN);
}

/* seal(c, type, p, n, refs, nrefs, id, out): ss_obj_id then ss_obj_seal. */
static int
seal(struct ss_objctx *c, uint8_t type, const void *p, size_t n,
    const struct ss_id *refs, uint32_t nrefs, struct ss_id *id,
    struct ss_buf *out)
{
	int r;

	if ((r = ss_obj_id(c, type, p, n, id)) != 0)
		return r;
	return ss_obj_seal(c, id, type, p, n, refs, nrefs, out);
}

/* open_ok(c, id, s, n, type, p, pn): opens to exactly (type, p). */
static int
open_ok(struct ss_objctx *c, const struct ss_id *id, const struct ss_buf *s,
    uint8_t type, const void *p, size_t pn)
{
	struct ss_buf out = SS_BUF_INIT;
	uint8_t t = 0;
	int r, good;

	r = ss_obj_open(c, id, s->p, s->len, &t, &out);
	good = r == 0 && t == type && out.len == pn &&
	    (pn == 0 || memcmp(out.p, p, pn) == 0);
	if (!good)
		printf("#   open: r=%d (%s) type %u len %zu/%zu\n", r,
		    ss_errmsg(), t, out.len, pn);
	/* ss_obj_open_typed: the same, the type byte left in front */
	t = 0;
	r = ss_obj_open_typed(c, id, s->p, s->len, &t, &out);
	if (r != 0 || t != type || out.len != pn + 1 || out.p[0] != type ||
	    (pn > 0 && memcmp(out.p + 1, p, pn) != 0)) {
		printf("#   open typed: r=%d (%s) type %u len %zu/%zu\n", r,
		    ss_errmsg(), t, out.len, pn + 1);
		good = 0;
	}
	ss_buf_free(&out);
	return good;
}

/* ---------- identifiers ---------- */

static void
test_ids(void)
{
	struct ss_id ids[5];
	char hex[2 * SS_ID_LEN + 1];
	size_t n;

	memset(ids, 0, sizeof(ids));
	ids[0].b[0] = 3;
	ids[1].b[0] = 1;
	ids[2].b[0] = 2;
	ids[3].b[0] = 1;
	ids[4].b[0] = 3;
	n = ss_ids_sort_unique(ids, 5);
	ok(n == 3 && ids[0].b[0] == 1 && ids[1].b[0] == 2 &&
	    ids[2].b[0] == 3, "sort_unique sorts and drops duplicates");
	ok(ss_id_cmp(&ids[0], &ids[1]) < 0 && ss_id_cmp(&ids[1], &ids[1]) == 0,
	    "ss_id_cmp is memcmp order");
	ids[0].b[31] = 0xab;
	ss_id_hex(&ids[0], hex);
	ok(strlen(hex) == 64 && strncmp(hex, "01000000", 8) == 0 &&
	    strcmp(hex + 62, "ab") == 0, "ss_id_hex lowercase, 64 chars");
}

static void
test_id_props(void)
{
	struct ss_objctx *p = ss_objctx_new(NULL, NULL, SS_COMP_LZ4, 0);
	struct ss_objctx *e = ss_objctx_new(K_ID, K_OBJ, SS_COMP_ZSTD, 3);
	struct ss_objctx *e2 = ss_objctx_new(K_ID2, K_OBJ, SS_COMP_ZSTD, 3);
	struct ss_objctx *e3 = ss_objctx_new(K_ID, K_OBJ2, SS_COMP_ZSTD, 3);
	struct ss_id a, b, c, d, f, g;
	uint8_t msg[100], sha[SS_HASH_LEN], pre[101];

	fill_text(msg, sizeof(msg));
	ss_obj_id(p, SS_OT_CHUNK, msg, sizeof(msg), &a);
	ss_obj_id(p, SS_OT_CHUNK, msg, sizeof(msg), &b);
	ok(memcmp(a.b, b.b, 32) == 0, "same payload, same plain ID");
	pre[0] = SS_OT_CHUNK;
	memcpy(pre + 1, msg, sizeof(msg));
	ss_sha256(pre, sizeof(pre), sha);
	ok(memcmp(a.b, sha, 32) == 0, "plain ID = SHA-256(type || payload)");
	ss_obj_id(e, SS_OT_CHUNK, msg, sizeof(msg), &c);
	ss_obj_id(e, SS_OT_CHUNK, msg, sizeof(msg), &d);
	ok(memcmp(c.b, d.b, 32) == 0, "same payload, same encrypted ID");
	ok(memcmp(a.b, c.b, 32) != 0, "encrypted ID differs from plain ID");
	ss_obj_id(e2, SS_OT_CHUNK, msg, sizeof(msg), &f);
	ok(memcmp(c.b, f.b, 32) != 0, "different K_id, different ID");
	ss_obj_id(e3, SS_OT_CHUNK, msg, sizeof(msg), &g);
	ok(memcmp(c.b, g.b, 32) == 0, "ID does not depend on K_obj");
	ss_obj_id(e, SS_OT_DIR, msg, sizeof(msg), &g);
	ok(memcmp(c.b, g.b, 32) != 0, "the type is part of the ID");
	ok(ss_objctx_encrypted(e) && !ss_objctx_encrypted(p),
	    "ss_objctx_encrypted");
	ok(ss_objctx_new(K_ID, NULL, 0, 0) == NULL &&
	    ss_objctx_new(NULL, NULL, 7, 0) == NULL, "bad context arguments");
	ss_objctx_free(p);
	ss_objctx_free(e);
	ss_objctx_free(e2);
	ss_objctx_free(e3);
}

/* ---------- round trips ---------- */

enum { PL_EMPTY, PL_ONE, PL_TEXT, PL_RANDOM, PL_ZEROS, PL_N };
static const char *pl_name[PL_N] = { "0 bytes", "1 byte", "100 KiB text",
	"100 KiB random", "1 MiB zeros" };

static size_t
make_payload(int kind, uint8_t *p)
{
	switch (kind) {
	case PL_ONE:
		p[0] = 0x5a;
		return 1;
	case PL_TEXT:
		fill_text(p, 100 << 10);
		return 100 << 10;
	case PL_RANDOM:
		fill_random(p, 100 << 10);
		return 100 << 10;
	case PL_ZEROS:
		memset(p, 0, 1 << 20);
		return 1 << 20;
	default:
		return 0;
	}
}

/* One context, one payload: every type, with and without refs. */
static int
roundtrip_all(struct ss_objctx *c, const uint8_t *p, size_t n, int *comp)
{
	struct ss_buf s = SS_BUF_INIT;
	struct ss_id id, refs[5];
	struct ss_objhdr h;
	int good = 1;

	make_ids(refs, 5);
	for (uint8_t t = SS_OT_CHUNK; t <= SS_OT_DIR; t++) {
		for (uint32_t nr = 0; nr <= 5; nr += 5) {
			if (seal(c, t, p, n, refs, nr, &id, &s) != 0 ||
			    ss_obj_parse(&id, s.p, s.len, &h) != 0 ||
			    h.nrefs != nr || h.rawlen != n + 1 ||
			    (nr && memcmp(h.refs, refs, nr * 32) != 0) ||
			    !open_ok(c, &id, &s, t, p, n))
				good = 0;
			*comp = h.comp;
		}
	}
	ss_buf_free(&s);
	return good;
}

static void
test_roundtrips(void)
{
	static const struct {
		const char *name;
		int enc, comp, level;
	} ctxs[] = {
		{ "plain lz4", 0, SS_COMP_LZ4, 0 },
		{ "plain zstd", 0, SS_COMP_ZSTD, 3 },
		{ "plain off", 0, SS_COMP_OFF, 0 },
		{ "encrypted zstd", 1, SS_COMP_ZSTD, 3 },
		{ "encrypted lz4", 1, SS_COMP_LZ4, 0 },
		{ "encrypted off", 1, SS_COMP_OFF, 0 },
	};
	uint8_t *p = malloc(1 << 20);

	for (size_t i = 0; i < sizeof(ctxs) / sizeof(ctxs[0]); i++) {
		struct ss_objctx *c = ss_objctx_new(ctxs[i].enc ? K_ID : NULL,
		    ctxs[i].enc ? K_OBJ : NULL, ctxs[i].comp, ctxs[i].level);
		struct ss_objctx *d = ss_objctx_dup(c);

		for (int k = 0; k < PL_N; k++) {
			size_t n = make_payload(k, p);
			int comp = -1, good = roundtrip_all(c, p, n, &comp);
			int want = ctxs[i].comp != SS_COMP_OFF &&
			    (k == PL_TEXT || k == PL_ZEROS);

			ok(good, "%s, %s: seal/parse/open, 3 types, 0/5 refs",
			    ctxs[i].name, pl_name[k]);
			if (k >= PL_TEXT)
				ok(want == (comp != SS_COMP_OFF), "%s, %s: "
				    "compressed iff it pays (comp %d)",
				    ctxs[i].name, pl_name[k], comp);
		}
		ok(d != NULL && roundtrip_all(d, p, 1000, &(int){ 0 }),
		    "%s: a duplicated context works", ctxs[i].name);
		ss_objctx_free(c);
		ss_objctx_free(d);
	}
	free(p);
}

static void
test_limits(void)
{
	struct ss_objctx *e = ss_objctx_new(K_ID, K_OBJ, SS_COMP_ZSTD, 1);
	struct ss_buf s = SS_BUF_INIT;
	uint8_t *p = malloc(SS_OBJ_MAX + 1);
	struct ss_id id, refs[3];

	fill_random(p, SS_OBJ_MAX + 1);
	ok(seal(e, SS_OT_CHUNK, p, SS_OBJ_MAX, NULL, 0, &id, &s) == 0 &&
	    open_ok(e, &id, &s, SS_OT_CHUNK, p, SS_OBJ_MAX),
	    "largest object (SS_OBJ_MAX bytes) round trips");
	is_int(ss_obj_seal(e, &id, SS_OT_CHUNK, p, SS_OBJ_MAX + 1, NULL, 0,
	    &s), SS_ERANGE, "payload over SS_OBJ_MAX refused");
	ok(s.len == 0, "failed seal leaves an empty buffer");
	is_int(ss_obj_seal(e, &id, 0, p, 10, NULL, 0, &s), SS_EINVAL,
	    "type 0 refused");
	is_int(ss_obj_seal(e, &id, 4, p, 10, NULL, 0, &s), SS_EINVAL,
	    "type 4 refused");
	make_ids(refs, 3);
	refs[2] = refs[0];
	is_int(ss_obj_seal(e, &id, SS_OT_DIR, p, 10, refs, 3, &s), SS_EINVAL,
	    "unsorted references refused");
	refs[2] = refs[1];
	is_int(ss_obj_seal(e, &id, SS_OT_DIR, p, 10, refs, 3, &s), SS_EINVAL,
	    "duplicate references refused");
	ss_buf_free(&s);
	free(p);
	ss_objctx_free(e);
}

static void
test_nonces(void)
{
	struct ss_objctx *e = ss_objctx_new(K_ID, K_OBJ, SS_COMP_LZ4, 0);
	struct ss_objctx *p = ss_objctx_new(NULL, NULL, SS_COMP_LZ4, 0);
	struct ss_buf a = SS_BUF_INIT, b = SS_BUF_INIT;
	uint8_t msg[300];
	struct ss_id id;

	fill_text(msg, sizeof(msg));
	seal(e, SS_OT_FILE, msg, sizeof(msg), NULL, 0, &id, &a);
	seal(e, SS_OT_FILE, msg, sizeof(msg), NULL, 0, &id, &b);
	ok(a.len == b.len && memcmp(a.p, b.p, a.len) != 0 &&
	    open_ok(e, &id, &a, SS_OT_FILE, msg, sizeof(msg)) &&
	    open_ok(e, &id, &b, SS_OT_FILE, msg, sizeof(msg)),
	    "encrypted: sealing twice gives two nonces, both open");
	seal(p, SS_OT_FILE, msg, sizeof(msg), NULL, 0, &id, &a);
	seal(p, SS_OT_FILE, msg, sizeof(msg), NULL, 0, &id, &b);
	ok(a.len == b.len && memcmp(a.p, b.p, a.len) == 0,
	    "plain: sealing is deterministic");
	ss_buf_free(&a);
	ss_buf_free(&b);
	ss_objctx_free(e);
	ss_objctx_free(p);
}

/* ---------- mutations ---------- */

/* try_all(c, id, p, n): 0 if parse or open rejects, 1 if it succeeds. */
static int
try_all(struct ss_objctx *c, const struct ss_id *id, const uint8_t *p,
    size_t n, int *code)
{
	struct ss_buf out = SS_BUF_INIT;
	struct ss_objhdr h;
	uint8_t t;
	int r;

	if ((r = ss_obj_parse(id, p, n, &h)) == 0)
		r = ss_obj_open(c, id, p, n, &t, &out);
	ss_buf_free(&out);
	*code = r;
	return r == 0;
}

static int
is_data_error(int r)
{
	return r == SS_ECORRUPT || r == SS_EAUTH || r == SS_ENOTSUP;
}

/* A small sealed object: 40-byte text payload, 2 references. */
static void
small_payload(uint8_t msg[40])
{
	memset(msg, 'a', 40);
	memcpy(msg, "directory entries", 17);
}

static void
small_object(struct ss_objctx *c, struct ss_id *id, struct ss_buf *s)
{
	struct ss_id refs[2];
	uint8_t msg[40];

	small_payload(msg);
	make_ids(refs, 2);
	seal(c, SS_OT_DIR, msg, sizeof(msg), refs, 2, id, s);
}

/*
 * opens_other(c, id, p, n, code): 1 if the object opens to anything but
 * the small object's content.  Opening to the same content is not a
 * failure: a plain object's compressed form is malleable (an LZ4 match
 * offset inside a run of equal bytes), and the ID still proves the content.
 */
static int
opens_other(struct ss_objctx *c, const struct ss_id *id, const uint8_t *p,
    size_t n, int *code)
{
	struct ss_buf out = SS_BUF_INIT;
	uint8_t msg[40], t = 0;
	int other;

	small_payload(msg);
	*code = ss_obj_open(c, id, p, n, &t, &out);
	other = *code == 0 && (t != SS_OT_DIR || out.len != 40 ||
	    memcmp(out.p, msg, 40) != 0);
	/* the typed open refuses exactly what the plain one refuses */
	if (ss_obj_open_typed(c, id, p, n, &t, &out) != *code || (*code == 0 &&
	    (out.len != 41 || memcmp(out.p + 1, msg, 40) != 0)))
		other = 1;
	if (*code == 0)
		*code = SS_ECORRUPT;	/* for the error-class count */
	ss_buf_free(&out);
	return other;
}

static void
test_flips(int enc)
{
	const char *what = enc ? "encrypted" : "plain";
	struct ss_objctx *c = ss_objctx_new(enc ? K_ID : NULL,
	    enc ? K_OBJ : NULL, SS_COMP_LZ4, 0);
	struct ss_buf s = SS_BUF_INIT;
	size_t bit, nbad = 0, nodd = 0, nforged = 0;
	uint8_t *m;
	struct ss_id id;
	int code;

	small_object(c, &id, &s);
	ok(try_all(c, &id, s.p, s.len, &code), "%s: small object opens "
	    "(%zu bytes)", what, s.len);
	m = malloc(s.len + 1);
	for (bit = 0; bit < s.len * 8; bit++) {
		memcpy(m, s.p, s.len);
		m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		nbad += try_all(c, &id, m, s.len, &code);
		nodd += !is_data_error(code);
		/*
		 * A keyless attacker also fixes the checksum.  Skip the
		 * checksum itself (that restores the original) and, for a
		 * plain object, the refs (covered only by the checksum:
		 * docs/format.md, "Opening").
		 */
		if (bit / 8 >= s.len - SS_SUM_LEN ||
		    (!enc && bit / 8 >= 16 && bit / 8 < 16 + 64))
			continue;
		reseal_sum(&id, m, s.len);
		nforged += enc ? try_all(c, &id, m, s.len, &code) :
		    opens_other(c, &id, m, s.len, &code);
		nodd += !is_data_error(code);
	}
	is_int(nbad, 0, "%s: every one of %zu bit flips is rejected", what,
	    s.len * 8);
	is_int(nforged, 0, "%s: ... and with a recomputed checksum, none "
	    "opens to other content", what);
	is_int(nodd, 0, "%s: ... always as corrupt/auth/unsupported", what);
	for (bit = 0, nbad = 0; bit < s.len; bit++)
		nbad += try_all(c, &id, s.p, bit, &code);
	is_int(nbad, 0, "%s: every truncation is rejected", what);
	memcpy(m, s.p, s.len);
	m[s.len] = 0;
	ok(!try_all(c, &id, m, s.len + 1, &code), "%s: an extra byte is "
	    "rejected", what);
	free(m);
	ss_buf_free(&s);
	ss_objctx_free(c);
}

static void
test_swaps(int enc)
{
	const char *what = enc ? "encrypted" : "plain";
	struct ss_objctx *c = ss_objctx_new(enc ? K_ID : NULL,
	    enc ? K_OBJ : NULL, SS_COMP_ZSTD, 3);
	struct ss_buf a = SS_BUF_INIT, b = SS_BUF_INIT;
	struct ss_id ida, idb, refs[2];
	int code;

	small_object(c, &ida, &a);
	seal(c, SS_OT_DIR, "other", 5, NULL, 0, &idb, &b);
	ok(try_all(c, &idb, b.p, b.len, &code), "%s: second object opens",
	    what);
	is_int((try_all(c, &idb, a.p, a.len, &code), code), SS_ECORRUPT,
	    "%s: object under another ID fails its checksum", what);
	reseal_sum(&idb, a.p, a.len);
	is_int((try_all(c, &idb, a.p, a.len, &code), code), SS_EAUTH,
	    "%s: ... and with a forged checksum, authentication", what);
	reseal_sum(&ida, a.p, a.len);
	make_ids(refs, 2);
	memcpy(a.p + 16, refs, sizeof(refs));
	is_int((try_all(c, &ida, a.p, a.len, &code), code), SS_ECORRUPT,
	    "%s: swapped references fail the checksum", what);
	if (enc) {
		reseal_sum(&ida, a.p, a.len);
		is_int((try_all(c, &ida, a.p, a.len, &code), code), SS_EAUTH,
		    "%s: ... and with a forged checksum, the tag", what);
	}
	memcpy(a.p + 16, refs[1].b, 32);
	memcpy(a.p + 48, refs[0].b, 32);
	reseal_sum(&ida, a.p, a.len);
	is_int((try_all(c, &ida, a.p, a.len, &code), code), SS_ECORRUPT,
	    "%s: descending references rejected by parse", what);
	a.p[0] = 2;
	reseal_sum(&ida, a.p, a.len);
	is_int((try_all(c, &ida, a.p, a.len, &code), code), SS_ENOTSUP,
	    "%s: version 2 is unsupported", what);
	ss_buf_free(&a);
	ss_buf_free(&b);
	ss_objctx_free(c);
}

static void
test_keys(void)
{
	struct ss_objctx *e = ss_objctx_new(K_ID, K_OBJ, SS_COMP_ZSTD, 3);
	struct ss_objctx *wo = ss_objctx_new(K_ID, K_OBJ2, SS_COMP_ZSTD, 3);
	struct ss_objctx *wi = ss_objctx_new(K_ID2, K_OBJ, SS_COMP_ZSTD, 3);
	struct ss_objctx *p = ss_objctx_new(NULL, NULL, SS_COMP_ZSTD, 3);
	struct ss_buf s = SS_BUF_INIT, q = SS_BUF_INIT, out = SS_BUF_INIT;
	struct ss_id id, pid;
	uint8_t msg[5000], t;

	fill_text(msg, sizeof(msg));
	seal(e, SS_OT_CHUNK, msg, sizeof(msg), NULL, 0, &id, &s);
	seal(p, SS_OT_CHUNK, msg, sizeof(msg), NULL, 0, &pid, &q);
	is_int(ss_obj_open(wo, &id, s.p, s.len, &t, &out), SS_EAUTH,
	    "wrong K_obj: authentication fails");
	ok(out.len == 0, "... and nothing is returned");
	is_int(ss_obj_open(wi, &id, s.p, s.len, &t, &out), SS_EAUTH,
	    "wrong K_id: content does not match the ID");
	ok(strstr(ss_errmsg(), "does not match its identifier") != NULL,
	    "... with a clear message");
	is_int(ss_obj_open(p, &id, s.p, s.len, &t, &out), SS_EAUTH,
	    "encrypted object with a plaintext context: refused");
	is_int(ss_obj_open(e, &pid, q.p, q.len, &t, &out), SS_EAUTH,
	    "plain object with an encrypted context: refused");
	ok(strstr(ss_errmsg(), "not encrypted") != NULL, "... saying so");
	ss_buf_free(&s);
	ss_buf_free(&q);
	ss_buf_free(&out);
	ss_objctx_free(e);
	ss_objctx_free(wo);
	ss_objctx_free(wi);
	ss_objctx_free(p);
}

/* ---------- packs ---------- */

#define NOBJ 400

struct rec {
	struct ss_id id;
	struct ss_loc loc;
	struct ss_buf s;
	int dead;
};

struct scanst {
	struct rec *v;
	size_t n, next, seen;
	int bad, stop_after;
};

/* The scan must report the live records, in order, and nothing else. */
static int
scan_cb(void *arg, const struct ss_id *id, const struct ss_loc *loc,
    const uint8_t *obj)
{
	struct scanst *st = arg;
	struct rec *r;

	while (st->next < st->n && (st->v[st->next].dead ||
	    st->v[st->next].loc.pack != loc->pack))
		st->next++;
	if (st->next == st->n) {
		st->bad++;
		return 0;
	}
	r = &st->v[st->next++];
	if (memcmp(r->id.b, id->b, 32) != 0 || r->loc.off != loc->off ||
	    r->loc.len != loc->len || memcmp(r->s.p, obj, loc->len) != 0)
		st->bad++;
	st->seen++;
	return st->stop_after && st->seen == (size_t)st->stop_after ? 42 : 0;
}

static int
scan_pack(const char *pool, uint64_t pack, struct rec *v, size_t n,
    size_t *seen, int *bad)
{
	struct scanst st = { v, n, 0, 0, 0, 0 };
	int r = ss_pack_scan(pool, pack, scan_cb, &st);

	*seen = st.seen;
	*bad = st.bad;
	return r;
}

static void
free_recs(struct rec *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ss_buf_free(&v[i].s);
	free(v);
}

static size_t
obj_size(size_t i)
{
	if (i == 100 || i == 300)
		return 5u << 20;	/* larger than the write buffer */
	return (size_t)(rnd() % 20000);
}

static void
test_pack_rw(const char *pool)
{
	struct ss_objctx *c = ss_objctx_new(K_ID, K_OBJ, SS_COMP_LZ4, 0);
	struct rec *v = calloc(NOBJ, sizeof(*v));
	struct ss_buf buf = SS_BUF_INIT, out = SS_BUF_INIT;
	struct ss_packw *w;
	struct ss_packr *r;
	size_t i, nbad = 0, n, seen;
	uint64_t *packs, sz;
	int bad, e = 0;
	uint8_t t;

	ss_buf_reserve(&buf, 5u << 20);
	ok(ss_packw_open(pool, &w) == 0, "pack writer opens");
	for (i = 0; i < NOBJ && e == 0; i++) {
		n = obj_size(i);
		(i % 2 ? fill_text : fill_random)(buf.p, n);
		e = seal(c, SS_OT_CHUNK, buf.p, n, NULL, 0, &v[i].id, &v[i].s);
		if (e == 0)
			e = ss_packw_add(w, &v[i].id, v[i].s.p, v[i].s.len,
			    &v[i].loc);
	}
	is_int(e, 0, "%d objects sealed and added", NOBJ);
	is_int(ss_packw_flush(w), 0, "flush");
	is_int(ss_packw_flush(w), 0, "a second flush with nothing new");
	ok(ss_pack_list(pool, &packs, &n) == 0 && n == 1 &&
	    packs[0] == v[0].loc.pack, "ss_pack_list finds the one pack");
	ok(ss_pack_size(pool, v[0].loc.pack, &sz) == 0 &&
	    sz == ss_packw_written(w) + 16, "pack size = header + records");
	ss_packr_open(pool, &r);
	for (i = 0; i < NOBJ; i++) {
		if (ss_packr_read(r, &v[i].id, &v[i].loc, &out) != 0 ||
		    out.len != v[i].s.len ||
		    memcmp(out.p, v[i].s.p, out.len) != 0 ||
		    ss_obj_open(c, &v[i].id, out.p, out.len, &t, &buf) != 0)
			nbad++;
	}
	is_int(nbad, 0, "every record read back by location and opened");
	is_int(scan_pack(pool, packs[0], v, NOBJ, &seen, &bad), 0, "scan");
	ok(seen == NOBJ && bad == 0, "scan reports every record in order "
	    "(%zu, %d bad)", seen, bad);
	{
		struct scanst st = { v, NOBJ, 0, 0, 0, 3 };

		is_int(ss_pack_scan(pool, packs[0], scan_cb, &st), 42,
		    "scan stops at the callback's non-zero return");
	}
	free(packs);
	ss_packr_free(r);
	ss_packw_free(w);
	free_recs(v, NOBJ);
	ss_buf_free(&buf);
	ss_buf_free(&out);
	ss_objctx_free(c);
}

static void
test_pack_rotate(const char *pool)
{
	struct ss_buf buf = SS_BUF_INIT;
	struct ss_packw *w;
	struct ss_packr *r;
	struct ss_loc loc[70];
	struct ss_id id;
	uint64_t *packs, sz;
	size_t n, i, good = 0;
	int e = 0;

	memset(&id, 0, sizeof(id));

	ss_buf_reserve(&buf, 1u << 20);
	fill_random(buf.p, 1u << 20);
	ss_packw_open(pool, &w);
	for (i = 0; i < 70 && e == 0; i++) {
		memcpy(id.b, &i, sizeof(i));
		e = ss_packw_add(w, &id, buf.p, 1u << 20, &loc[i]);
	}
	ok(e == 0 && ss_packw_flush(w) == 0, "70 MiB written and flushed");
	e = ss_pack_list(pool, &packs, &n);
	ok(e == 0 && n == 2, "rotated into two packs (%zu)", n);
	for (i = 0; i < n; i++) {
		ss_pack_size(pool, packs[i], &sz);
		good += sz <= SS_PACK_TARGET;
	}
	is_int(good, n, "no pack exceeds SS_PACK_TARGET");
	ss_packr_open(pool, &r);
	memcpy(id.b, &(size_t){ 69 }, sizeof(size_t));
	ok(ss_packr_read(r, &id, &loc[69], &buf) == 0 && buf.len == 1u << 20,
	    "last record read back from the second pack");
	ok(loc[69].pack != loc[0].pack, "... which differs from the first");
	ss_packr_free(r);
	ss_packw_free(w);
	free(packs);
	ss_buf_free(&buf);
}

/*
 * An uncached writer (receive): direct writes where the filesystem takes
 * them, RWF_DONTCACHE or plain writes elsewhere.  Records of every size
 * (across block boundaries, larger than both direct buffers), flushes in
 * the middle (the partial block written padded, then cut back and written
 * again), rotation: every pack must hold exactly its records.
 */
#define NUNC 120

static size_t
unc_size(size_t i)
{
	if (i == 7)
		return 5u << 20;	/* larger than a buffer */
	if (i == 61)
		return 9u << 20 | 123;	/* larger than both */
	if (i % 20 == 15)
		return 12u << 20;	/* 6 of them: the pack rotates */
	if (i % 10 == 3)
		return 4096 - 36 + i % 7;	/* ends near a block boundary */
	return 33 + (size_t)(rnd() % 70000);
}

static void
test_pack_uncached(const char *pool)
{
	struct rec *v = calloc(NUNC, sizeof(*v));
	struct ss_buf out = SS_BUF_INIT;
	struct ss_packw *w;
	struct ss_packr *r;
	uint64_t *packs = NULL, sz = 0;
	size_t i, n = 0, nbad = 0, seen;
	int bad, e = 0, sizes = 1;

	ok(ss_packw_open(pool, &w) == 0, "uncached: writer opens");
	ss_packw_uncached(w);
	for (i = 0; i < NUNC && e == 0; i++) {
		n = unc_size(i);
		memset(v[i].id.b, 0, SS_ID_LEN);
		memcpy(v[i].id.b, &i, sizeof(i));
		ss_buf_reserve(&v[i].s, n);
		fill_random(v[i].s.p, n);
		v[i].s.len = n;
		e = ss_packw_add(w, &v[i].id, v[i].s.p, n, &v[i].loc);
		if (e == 0 && (i == 0 || i == 8 || i == 40 || i == 62)) {
			e = ss_packw_flush(w);
			if (ss_pack_size(pool, v[i].loc.pack, &sz) != 0 ||
			    sz != v[i].loc.off + 36 + v[i].loc.len)
				sizes = 0;
		}
	}
	is_int(e, 0, "uncached: %d records added, flushed four times", NUNC);
	is_int(ss_packw_flush(w), 0, "uncached: final flush");
	ok(sizes, "uncached: after each flush the pack ends at its last"
	    " record");
	ok(ss_pack_size(pool, v[NUNC - 1].loc.pack, &sz) == 0 &&
	    sz == v[NUNC - 1].loc.off + 36 + v[NUNC - 1].loc.len,
	    "uncached: the last pack ends at its last record");
	ss_packr_open(pool, &r);
	for (i = 0; i < NUNC; i++) {
		if (ss_packr_read(r, &v[i].id, &v[i].loc, &out) != 0 ||
		    out.len != v[i].s.len ||
		    memcmp(out.p, v[i].s.p, out.len) != 0)
			nbad++;
	}
	is_int(nbad, 0, "uncached: every record reads back");
	e = ss_pack_list(pool, &packs, &n);
	ok(e == 0 && n == 2, "uncached: rotated into two packs (%zu)", n);
	seen = 0;
	for (i = 0; e == 0 && i < n; i++) {
		size_t s1;

		e = scan_pack(pool, packs[i], v, NUNC, &s1, &bad);
		seen += s1;
		nbad += (size_t)bad;
	}
	ok(e == 0 && seen == NUNC && nbad == 0, "uncached: scans find every"
	    " record and nothing else (%zu, %zu bad)", seen, nbad);
	free(packs);
	ss_packr_free(r);
	ss_packw_free(w);
	free_recs(v, NUNC);
	ss_buf_free(&out);
}

/*
 * ss_packw_reserve: an object put straight into the writer's buffer is
 * appended without a copy, with the same result as a copied one; a
 * reservation not used is harmless; a buffered writer has none to give.
 * Then the reader: descriptors, announced reads, the cold flag.
 */
static void
test_pack_reserve(const char *pool)
{
	struct rec v[4];
	struct ss_buf out = SS_BUF_INIT;
	struct ss_packw *w;
	struct ss_packr *r;
	uint8_t *p = NULL, *q = NULL;
	size_t i, nbad = 0, sz[4] = { 300000, 5000, 1u << 20, 70000 };
	int e, fd = -1;

	memset(v, 0, sizeof(v));
	for (i = 0; i < 4; i++) {
		memset(v[i].id.b, 0x40 + (int)i, SS_ID_LEN);
		ss_buf_reserve(&v[i].s, sz[i]);
		fill_random(v[i].s.p, sz[i]);
		v[i].s.len = sz[i];
	}
	ss_packw_open(pool, &w);
	is_int(ss_packw_reserve(w, 1000, &p), 0, "reserve: buffered writer");
	ok(p == NULL, "... has no room to give");
	ss_packw_free(w);

	ss_packw_open(pool, &w);
	ss_packw_uncached(w);
	e = ss_packw_reserve(w, sz[0], &p);
	if (e == 0 && p != NULL) {
		memcpy(p + SS_PACK_RECHDR, v[0].s.p, sz[0]);
		e = ss_packw_add(w, &v[0].id, p + SS_PACK_RECHDR, sz[0],
		    &v[0].loc);
	} else if (e == 0)	/* no direct writes here */
		e = ss_packw_add(w, &v[0].id, v[0].s.p, sz[0], &v[0].loc);
	is_int(e, 0, "reserve: an object read into the reservation is added");
	/* reserved, not used, then an ordinary add */
	e = ss_packw_reserve(w, sz[1], &q);
	if (e == 0)
		e = ss_packw_add(w, &v[1].id, v[1].s.p, sz[1], &v[1].loc);
	is_int(e, 0, "reserve: unused room, then a copied object");
	if (p != NULL) {
		ok(q != NULL, "reserve: room again");
		is_int(ss_packw_add(w, &v[2].id, q + 100, 200, &v[2].loc),
		    SS_EINVAL, "reserve: an object inside the buffer but not"
		    " where reserved is refused");
	}
	e = ss_packw_reserve(w, sz[2], &q);
	if (e == 0 && q != NULL) {
		memcpy(q + SS_PACK_RECHDR, v[2].s.p, sz[2]);
		e = ss_packw_add(w, &v[2].id, q + SS_PACK_RECHDR, sz[2],
		    &v[2].loc);
	} else if (e == 0)
		e = ss_packw_add(w, &v[2].id, v[2].s.p, sz[2], &v[2].loc);
	if (e == 0)
		e = ss_packw_add(w, &v[3].id, v[3].s.p, sz[3], &v[3].loc);
	is_int(e, 0, "reserve: two more");
	is_int(ss_packw_flush(w), 0, "reserve: flush");
	ss_packw_free(w);
	ss_packr_open(pool, &r);
	ok(ss_packr_cold(r) == 0, "reader: not cold before reading");
	for (i = 0; i < 4; i++) {
		ss_packr_willneed(r, &v[i].loc);
		if (ss_packr_read(r, &v[i].id, &v[i].loc, &out) != 0 ||
		    out.len != sz[i] || memcmp(out.p, v[i].s.p, sz[i]) != 0)
			nbad++;
	}
	is_int(nbad, 0, "reserve: every object reads back, announced first");
	ok(ss_packr_cold(r) == 0 || ss_packr_cold(r) == 1, "reader: cold"
	    " is a flag (%d)", ss_packr_cold(r));
	ok(ss_packr_fd(r, v[0].loc.pack, &fd) == 0 && fd >= 0 &&
	    lseek(fd, 0, SEEK_END) == (off_t)(v[3].loc.off + 36 + sz[3]),
	    "reader: the pack's descriptor, the pack's size");
	{
		struct ss_loc gone = v[0].loc;

		gone.pack ^= 1;
		ss_packr_willneed(r, &gone);	/* no such pack: quiet */
		ok(ss_packr_fd(r, gone.pack, &fd) == SS_ENOENT,
		    "reader: no descriptor for a missing pack");
	}
	ss_packr_free(r);
	for (i = 0; i < 4; i++)
		ss_buf_free(&v[i].s);
	ss_buf_free(&out);
}

/* A pack of small uncompressed objects whose length fields have zero low
 * bytes (256 = 00 01 00 00, 65536 = 00 00 01 00), to test resync. */
static struct rec *
write_small_pack(const char *pool, size_t nrec)
{
	struct ss_objctx *c = ss_objctx_new(NULL, NULL, SS_COMP_OFF, 0);
	struct rec *v = calloc(nrec, sizeof(*v));
	uint8_t *p = malloc(1 << 17);
	struct ss_packw *w;
	size_t i, n;

	ss_packw_open(pool, &w);
	for (i = 0; i < nrec; i++) {
		n = i == 10 ? 65536 - 33 : i % 2 == 0 ? 256 - 33 :
		    100 + rnd() % 3000;
		fill_random(p, n);
		seal(c, SS_OT_CHUNK, p, n, NULL, 0, &v[i].id, &v[i].s);
		ss_packw_add(w, &v[i].id, v[i].s.p, v[i].s.len, &v[i].loc);
	}
	ss_packw_flush(w);
	ss_packw_free(w);
	free(p);
	ss_objctx_free(c);
	return v;
}

static int
punched(const char *pool, const struct ss_loc *l)
{
	char *path = ss_pack_path(pool, l->pack);
	int fd = open(path, O_RDONLY), zero = 1;
	uint8_t b[SS_PACK_RECHDR];

	if (pread(fd, b, sizeof(b), (off_t)l->off) != (ssize_t)sizeof(b))
		zero = 0;
	for (size_t i = 0; i < sizeof(b); i++)
		zero &= b[i] == 0;
	close(fd);
	free(path);
	return zero;
}

static void
test_pack_punch(const char *pool)
{
	static const size_t kill[] = { 2, 3, 9, 19 };
	struct rec *v = write_small_pack(pool, 20);
	struct ss_buf out = SS_BUF_INIT;
	struct ss_packr *r;
	size_t i, seen;
	int bad, e = 0;

	ok(v[2].s.len == 256 && v[10].s.len == 65536, "length fields with "
	    "zero low bytes follow the holes");
	for (i = 0; i < 4; i++) {
		e |= ss_pack_punch(pool, v[kill[i]].loc.pack,
		    v[kill[i]].loc.off, v[kill[i]].loc.len);
		v[kill[i]].dead = 1;
	}
	is_int(e, 0, "punch four records (two adjacent, one last)");
	if (!punched(pool, &v[2].loc)) {
		ok(1, "# SKIP filesystem cannot punch holes");
		goto out;
	}
	is_int(scan_pack(pool, v[0].loc.pack, v, 20, &seen, &bad), 0,
	    "scan over holes succeeds");
	ok(seen == 16 && bad == 0, "... and reports the 16 live records in "
	    "order (%zu, %d bad)", seen, bad);
	is_int(ss_pack_punch(pool, v[2].loc.pack, v[2].loc.off,
	    v[2].loc.len), 0, "punching again is harmless");
	is_int(ss_pack_punch(pool, v[4].loc.pack, v[4].loc.off,
	    v[4].loc.len + 1), SS_ECORRUPT, "punch with the wrong length "
	    "refused");
	ss_packr_open(pool, &r);
	is_int(ss_packr_read(r, &v[3].id, &v[3].loc, &out), SS_ECORRUPT,
	    "reading a punched record: corrupt");
	is_int(ss_packr_read(r, &v[4].id, &v[4].loc, &out), 0,
	    "its neighbour still reads");
	ss_packr_free(r);
out:
	ss_buf_free(&out);
	free_recs(v, 20);
}

static void
cut(const char *path, uint64_t size)
{
	if (truncate(path, (off_t)size) != 0)
		printf("# truncate %s failed\n", path);
}

static void
test_pack_torn(const char *pool)
{
	struct rec *v = write_small_pack(pool, 10);
	char *path = ss_pack_path(pool, v[0].loc.pack);
	uint64_t end = v[9].loc.off + SS_PACK_RECHDR + v[9].loc.len;
	size_t seen;
	int bad;

	cut(path, end + 100);
	is_int(scan_pack(pool, v[0].loc.pack, v, 10, &seen, &bad), 0,
	    "zeros after the last record read as a hole");
	ok(seen == 10 && bad == 0, "... all 10 records reported");
	cut(path, end - 7);
	is_int(scan_pack(pool, v[0].loc.pack, v, 10, &seen, &bad),
	    SS_ECORRUPT, "torn final record reported");
	ok(seen == 9 && bad == 0, "... after the 9 good ones (%zu)", seen);
	ok(strstr(ss_errmsg(), "torn") != NULL, "... saying torn: %s",
	    ss_errmsg());
	cut(path, v[9].loc.off + 10);
	is_int(scan_pack(pool, v[0].loc.pack, v, 10, &seen, &bad),
	    SS_ECORRUPT, "torn record header reported");
	ok(seen == 9 && bad == 0, "... after the 9 good ones (%zu)", seen);
	cut(path, 10);
	is_int(scan_pack(pool, v[0].loc.pack, v, 10, &seen, &bad),
	    SS_ECORRUPT, "truncated pack header reported");
	free(path);
	free_recs(v, 10);
}

static void
pwrite_byte(const char *pool, uint64_t pack, uint64_t off, uint8_t b)
{
	char *path = ss_pack_path(pool, pack);
	int fd = open(path, O_WRONLY);

	if (pwrite(fd, &b, 1, (off_t)off) != 1)
		printf("# pwrite %s failed\n", path);
	close(fd);
	free(path);
}

static void
test_pack_corrupt(const char *pool)
{
	struct rec *v = write_small_pack(pool, 10);
	struct ss_buf out = SS_BUF_INIT;
	struct ss_packr *r;
	struct ss_loc l = v[3].loc;
	size_t seen;
	int bad;

	ss_packr_open(pool, &r);
	pwrite_byte(pool, l.pack, l.off, (uint8_t)(l.len + 1));
	is_int(ss_packr_read(r, &v[3].id, &l, &out), SS_ECORRUPT,
	    "corrupted record length caught");
	ok(strstr(ss_errmsg(), "offset") != NULL, "... %s", ss_errmsg());
	pwrite_byte(pool, l.pack, l.off, (uint8_t)l.len);
	pwrite_byte(pool, l.pack, l.off + 4, (uint8_t)~v[3].id.b[0]);
	is_int(ss_packr_read(r, &v[3].id, &l, &out), SS_ECORRUPT,
	    "corrupted record ID caught");
	is_int(ss_packr_read(r, &v[4].id, &v[2].loc, &out), SS_ECORRUPT,
	    "a location naming another object caught");
	l.len++;
	is_int(ss_packr_read(r, &v[4].id, &v[4].loc, &out), 0, "others fine");
	is_int(ss_packr_read(r, &v[3].id, &l, &out), SS_ECORRUPT,
	    "a location with the wrong length caught");
	l = v[9].loc;
	l.off += 100;
	is_int(ss_packr_read(r, &v[9].id, &l, &out), SS_ECORRUPT,
	    "a location past the end caught");
	l.pack ^= 1;
	is_int(ss_packr_read(r, &v[9].id, &l, &out), SS_ENOENT,
	    "a missing pack is ENOENT");
	ok(strstr(ss_errmsg(), "pack") != NULL, "... %s", ss_errmsg());
	pwrite_byte(pool, v[5].loc.pack, v[5].loc.off + 3, 0x7f);
	is_int(scan_pack(pool, v[0].loc.pack, v, 10, &seen, &bad),
	    SS_ECORRUPT, "scan catches an impossible record length");
	pwrite_byte(pool, v[0].loc.pack, 0, 'X');
	is_int(scan_pack(pool, v[0].loc.pack, v, 10, &seen, &bad),
	    SS_ECORRUPT, "scan catches a bad pack header");
	ss_packr_free(r);
	ss_buf_free(&out);
	free_recs(v, 10);
}

static void
touch(const char *pool, const char *rel)
{
	char *p = ss_path_join(pool, rel);
	int fd = open(p, O_WRONLY | O_CREAT, 0600);

	close(fd);
	free(p);
}

static void
test_pack_list(const char *pool)
{
	struct rec *v = write_small_pack(pool, 2);
	uint64_t *packs, pk = v[0].loc.pack, sz;
	char name[64];
	size_t n;
	int e;

	snprintf(name, sizeof(name), "packs/%02x/%016llx.pack.tmp",
	    (unsigned)(pk >> 56), (unsigned long long)pk + 1);
	touch(pool, name);
	snprintf(name, sizeof(name), "packs/%02x/%016llX.pack",
	    (unsigned)(pk >> 56), (unsigned long long)pk | 0xf);
	touch(pool, name);
	snprintf(name, sizeof(name), "packs/%02x/%016llx.pack",
	    (unsigned)(pk >> 56), (unsigned long long)pk ^ (1ull << 63));
	touch(pool, name);
	snprintf(name, sizeof(name), "packs/%02x/0000000000000000.pack",
	    (unsigned)(pk >> 56));
	touch(pool, name);
	touch(pool, "packs/zz");
	touch(pool, "packs/stray.pack");
	e = ss_pack_list(pool, &packs, &n);
	ok(e == 0 && n == 1 && packs[0] == pk,
	    "ss_pack_list ignores temporaries and malformed names (%zu)", n);
	free(packs);
	is_int(ss_pack_remove(pool, pk), 0, "ss_pack_remove");
	is_int(ss_pack_size(pool, pk, &sz), SS_ENOENT, "removed pack gone");
	is_int(ss_pack_remove(pool, pk), SS_ENOENT, "removing twice: ENOENT");
	is_int(ss_pack_scan(pool, pk, scan_cb, NULL), SS_ENOENT,
	    "scanning a missing pack: ENOENT");
	ok(ss_pack_list(pool, &packs, &n) == 0 && n == 0, "no pack left");
	free(packs);
	free_recs(v, 2);
}

/* Run ${fn} with a fresh pool directory under ${base}. */
static void
with_pool(const char *base, const char *name, void (*fn)(const char *))
{
	char *pool = ss_path_join(base, name);

	mkdir(pool, 0700);
	fn(pool);
	ss_rm_rf(pool);
	free(pool);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	char base[4096];

	fill_random(K_ID, sizeof(K_ID));
	fill_random(K_OBJ, sizeof(K_OBJ));
	fill_random(K_ID2, sizeof(K_ID2));
	fill_random(K_OBJ2, sizeof(K_OBJ2));
	test_ids();
	test_id_props();
	test_roundtrips();
	test_limits();
	test_nonces();
	test_flips(1);
	test_flips(0);
	test_swaps(1);
	test_swaps(0);
	test_keys();
	snprintf(base, sizeof(base), "%s/test_store.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(base) == NULL) {
		ok(0, "mkdtemp %s", base);
		return done_testing();
	}
	with_pool(base, "rw", test_pack_rw);
	with_pool(base, "rotate", test_pack_rotate);
	with_pool(base, "punch", test_pack_punch);
	with_pool(base, "torn", test_pack_torn);
	with_pool(base, "corrupt", test_pack_corrupt);
	with_pool(base, "list", test_pack_list);
	with_pool(base, "uncached", test_pack_uncached);
	with_pool(base, "reserve", test_pack_reserve);
	ss_rm_rf(base);
	/* a memory filesystem: no direct writes */
	snprintf(base, sizeof(base), "/dev/shm/test_store.XXXXXX");
	if (mkdtemp(base) != NULL) {
		with_pool(base, "uncached", test_pack_uncached);
		with_pool(base, "reserve", test_pack_reserve);
		ss_rm_rf(base);
	}
	return done_testing();
}
