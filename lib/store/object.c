/*
 * store/object.c: the sealed object format (docs/format.md, "Objects").
 *
 *   stored = header | nonce (if encrypted) | payload | tag (if encrypted)
 *            | checksum
 *   header = u8 version | u8 flags | u8 comp | u8 reserved | u32 rawlen
 *            | u32 clen | u32 nrefs | refs[nrefs][32]
 *
 * Parsing needs no key (scrub, garbage collection); opening authenticates
 * the GCM tag and then checks that the plaintext hashes back to its ID.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compress/compress.h"
#include "store/store.h"

#define OBJ_FIXHDR 16				/* version .. nrefs */
#define OBJ_ENCX (SS_NONCE_LEN + SS_TAG_LEN)	/* encryption overhead */

_Static_assert(sizeof(struct ss_id) == SS_ID_LEN, "struct ss_id is packed");

struct ss_objctx {
	int enc;		/* keys present */
	int comp;		/* enum ss_comp used when sealing */
	int level;
	uint8_t k_id[SS_KEY_LEN];
	uint8_t k_obj[SS_KEY_LEN];
	struct ss_idhash *ih;	/* HMAC under k_id, or SHA-256 */
	struct ss_idhash *kh;	/* HMAC under k_obj; NULL if not encrypted */
	struct ss_aead *ae;	/* NULL if not encrypted */
	struct ss_buf tmp;	/* compressed or decrypted plaintext */
	struct ss_buf aad;	/* ID || header */
};

/* oerr(code, id, fmt, ...): ss_err with "object <hex>: " in front. */
static int __attribute__((format(printf, 3, 4)))
oerr(int code, const struct ss_id *id, const char *fmt, ...)
{
	char hex[2 * SS_ID_LEN + 1], msg[256];
	va_list ap;

	ss_id_hex(id, hex);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)ss_err(code, "object %s: %s", hex, msg);
	return code;
}

/* ---------- context ---------- */

struct ss_objctx *
ss_objctx_new(const uint8_t *k_id, const uint8_t *k_obj, int comp, int level)
{
	struct ss_objctx *c;

	if ((k_id == NULL) != (k_obj == NULL) || comp < SS_COMP_OFF ||
	    comp > SS_COMP_ZSTD) {
		(void)ss_err(SS_EINVAL, "invalid object context arguments");
		return NULL;
	}
	if ((c = ss_calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->enc = k_id != NULL;
	c->comp = comp;
	c->level = level;
	if (c->enc) {
		memcpy(c->k_id, k_id, SS_KEY_LEN);
		memcpy(c->k_obj, k_obj, SS_KEY_LEN);
		c->ae = ss_aead_new();
		c->kh = ss_idhash_new(c->k_obj);
	}
	c->ih = ss_idhash_new(c->enc ? c->k_id : NULL);
	if (c->ih == NULL || (c->enc && (c->ae == NULL || c->kh == NULL))) {
		ss_objctx_free(c);
		return NULL;
	}
	return c;
}

struct ss_objctx *
ss_objctx_dup(const struct ss_objctx *c)
{
	return ss_objctx_new(c->enc ? c->k_id : NULL, c->enc ? c->k_obj : NULL,
	    c->comp, c->level);
}

void
ss_objctx_free(struct ss_objctx *c)
{
	if (c == NULL)
		return;
	ss_cleanse(c->k_id, sizeof(c->k_id));
	ss_cleanse(c->k_obj, sizeof(c->k_obj));
	ss_idhash_free(c->ih);
	ss_idhash_free(c->kh);
	ss_aead_free(c->ae);
	ss_buf_wipe(&c->tmp);
	ss_buf_wipe(&c->aad);
	free(c);
}

int
ss_objctx_encrypted(const struct ss_objctx *c)
{
	return c->enc;
}

/* ---------- shared pieces ---------- */

int
ss_obj_id(struct ss_objctx *c, uint8_t type, const void *p, size_t n,
    struct ss_id *id)
{
	static const uint8_t empty[1];

	if (n > SS_OBJ_MAX)
		return ss_err(SS_ERANGE, "object of %zu bytes exceeds the "
		    "maximum of %u", n, SS_OBJ_MAX);
	return ss_idhash2(c->ih, &type, 1, n > 0 ? p : empty, n, id->b);
}

/*
 * obj_key(c, id, ko): K_o = HMAC-SHA256(K_obj, ID || 0x01), on the
 * context keyed once with K_obj (a fresh one per object costs more than
 * the MAC: OpenSSL fetches, allocates and hashes the key each time).
 */
static int
obj_key(struct ss_objctx *c, const struct ss_id *id, uint8_t ko[SS_KEY_LEN])
{
	static const uint8_t one = 0x01;

	return ss_idhash2(c->kh, id->b, SS_ID_LEN, &one, 1, ko);
}

/* obj_aad(c, id, hdr, hlen): c->aad = ID || header. */
static int
obj_aad(struct ss_objctx *c, const struct ss_id *id, const uint8_t *hdr,
    size_t hlen)
{
	int r;

	ss_buf_reset(&c->aad);
	if ((r = ss_buf_put(&c->aad, id->b, SS_ID_LEN)) != 0)
		return r;
	return ss_buf_put(&c->aad, hdr, hlen);
}

/* ---------- sealing ---------- */

static int
seal_check(uint8_t type, size_t n, const struct ss_id *refs, uint32_t nrefs)
{
	uint32_t i;

	if (type < SS_OT_CHUNK || type > SS_OT_DIR)
		return ss_err(SS_EINVAL, "unknown object type %u", type);
	if (n > SS_OBJ_MAX)
		return ss_err(SS_ERANGE, "object of %zu bytes exceeds the "
		    "maximum of %u", n, SS_OBJ_MAX);
	if (nrefs > SS_OBJ_MAXREFS)
		return ss_err(SS_ERANGE, "object with %u references exceeds "
		    "the maximum of %u", nrefs, SS_OBJ_MAXREFS);
	for (i = 1; i < nrefs; i++) {
		if (ss_id_cmp(&refs[i - 1], &refs[i]) >= 0)
			return ss_err(SS_EINVAL, "object references are not "
			    "sorted and unique");
	}
	return 0;
}

/*
 * seal_compress(c, pt, rawlen, comp, clen): compress the ${rawlen} bytes at
 * ${pt} in place when that makes them shorter; else leave them as they are
 * with *${comp} = SS_COMP_OFF, *${clen} = rawlen.
 */
static int
seal_compress(struct ss_objctx *c, uint8_t *pt, size_t rawlen, int *comp,
    size_t *clen)
{
	int r, used = SS_COMP_OFF;

	*comp = SS_COMP_OFF;
	*clen = rawlen;
	if (c->comp == SS_COMP_OFF)
		return 0;
	ss_buf_reset(&c->tmp);
	r = ss_compress(c->comp, c->level, pt, rawlen, &c->tmp, &used);
	if (r != 0 || used == SS_COMP_OFF || c->tmp.len == 0 ||
	    c->tmp.len >= rawlen)
		return r;
	memcpy(pt, c->tmp.p, c->tmp.len);
	*comp = used;
	*clen = c->tmp.len;
	return 0;
}

/*
 * seal_encrypt(c, id, out, hlen): ${out} holds header (${hlen} bytes),
 * room for the nonce, then the plaintext payload.  Fill in the nonce,
 * encrypt the payload in place and append the tag.
 */
static int
seal_encrypt(struct ss_objctx *c, const struct ss_id *id, struct ss_buf *out,
    size_t hlen)
{
	uint8_t ko[SS_KEY_LEN];
	uint8_t *nonce = out->p + hlen, *pt = nonce + SS_NONCE_LEN;
	size_t clen = out->len - hlen - SS_NONCE_LEN;
	int r;

	if ((r = obj_key(c, id, ko)) != 0)
		goto out;
	if ((r = obj_aad(c, id, out->p, hlen)) != 0)
		goto out;
	if ((r = ss_rand(nonce, SS_NONCE_LEN)) != 0)
		goto out;
	r = ss_aead_seal(c->ae, ko, nonce, c->aad.p, c->aad.len, pt, clen, pt,
	    pt + clen);
	if (r == 0)
		out->len += SS_TAG_LEN;
out:
	ss_cleanse(ko, sizeof(ko));
	return r;
}

static void
hdr_encode(uint8_t *p, uint8_t flags, int comp, size_t rawlen, size_t clen,
    uint32_t nrefs)
{
	p[0] = SS_OBJ_VERSION;
	p[1] = flags;
	p[2] = (uint8_t)comp;
	p[3] = 0;
	ss_le32enc(p + 4, (uint32_t)rawlen);
	ss_le32enc(p + 8, (uint32_t)clen);
	ss_le32enc(p + 12, nrefs);
}

int
ss_obj_seal(struct ss_objctx *c, const struct ss_id *id, uint8_t type,
    const void *p, size_t n, const struct ss_id *refs, uint32_t nrefs,
    struct ss_buf *out)
{
	size_t hlen, poff, clen, rawlen = n + 1;
	int comp, r;

	ss_buf_reset(out);
	if ((r = seal_check(type, n, refs, nrefs)) != 0)
		return r;
	hlen = OBJ_FIXHDR + (size_t)nrefs * SS_ID_LEN;
	poff = hlen + (c->enc ? SS_NONCE_LEN : 0);
	r = ss_buf_reserve(out, poff + rawlen + SS_TAG_LEN + SS_SUM_LEN);
	if (r != 0)
		return r;
	out->p[poff] = type;
	if (n > 0)
		memcpy(out->p + poff + 1, p, n);
	if ((r = seal_compress(c, out->p + poff, rawlen, &comp, &clen)) != 0)
		goto out;
	hdr_encode(out->p, c->enc ? SS_OBJF_ENCRYPTED : 0, comp, rawlen, clen,
	    nrefs);
	if (nrefs > 0)
		memcpy(out->p + OBJ_FIXHDR, refs, (size_t)nrefs * SS_ID_LEN);
	out->len = poff + clen;
	if (c->enc && (r = seal_encrypt(c, id, out, hlen)) != 0)
		goto out;
	ss_sum128(id->b, SS_ID_LEN, out->p, out->len, out->p + out->len);
	out->len += SS_SUM_LEN;
out:
	if (r != 0)
		ss_buf_reset(out);
	return r;
}

/* ---------- parsing (no key) ---------- */

/* parse_fields(id, h, reserved, left): the fixed fields and the lengths. */
static int
parse_fields(const struct ss_id *id, const struct ss_objhdr *h,
    uint8_t reserved, size_t left)
{
	size_t extra = SS_SUM_LEN;

	if ((h->flags & ~SS_OBJF_ENCRYPTED) != 0 || reserved != 0)
		return oerr(SS_ECORRUPT, id, "unknown flags 0x%02x/0x%02x",
		    h->flags, reserved);
	if (h->comp > SS_COMP_ZSTD)
		return oerr(SS_ECORRUPT, id, "unknown compression %u",
		    h->comp);
	if (h->rawlen < 1 || h->rawlen > SS_OBJ_MAX + 1)
		return oerr(SS_ECORRUPT, id, "bad plaintext length %u",
		    h->rawlen);
	if (h->nrefs > SS_OBJ_MAXREFS)
		return oerr(SS_ECORRUPT, id, "too many references (%u)",
		    h->nrefs);
	if ((size_t)h->nrefs * SS_ID_LEN > left)
		return oerr(SS_ECORRUPT, id, "truncated reference list");
	left -= (size_t)h->nrefs * SS_ID_LEN;
	if (h->flags & SS_OBJF_ENCRYPTED)
		extra += OBJ_ENCX;
	if (left < extra || left - extra != h->clen)
		return oerr(SS_ECORRUPT, id, "payload length %u does not "
		    "match the object size", h->clen);
	if (h->comp == SS_COMP_OFF ? h->clen != h->rawlen :
	    (h->clen == 0 || h->clen >= h->rawlen))
		return oerr(SS_ECORRUPT, id, "payload length %u impossible "
		    "for plaintext length %u", h->clen, h->rawlen);
	return 0;
}

int
ss_obj_parse(const struct ss_id *id, const void *stored, size_t n,
    struct ss_objhdr *h)
{
	uint8_t sum[SS_SUM_LEN], reserved;
	struct ss_rd rd;
	uint32_t i;
	int r;

	memset(h, 0, sizeof(*h));
	ss_rd_init(&rd, stored, n);
	h->version = ss_rd_u8(&rd);
	if (rd.err == 0 && h->version != SS_OBJ_VERSION)
		return oerr(SS_ENOTSUP, id, "unsupported format version %u",
		    h->version);
	h->flags = ss_rd_u8(&rd);
	h->comp = ss_rd_u8(&rd);
	reserved = ss_rd_u8(&rd);
	h->rawlen = ss_rd_u32(&rd);
	h->clen = ss_rd_u32(&rd);
	h->nrefs = ss_rd_u32(&rd);
	if (rd.err != 0)
		return oerr(SS_ECORRUPT, id, "truncated header (%zu bytes)", n);
	if ((r = parse_fields(id, h, reserved, ss_rd_left(&rd))) != 0)
		return r;
	ss_sum128(id->b, SS_ID_LEN, stored, n - SS_SUM_LEN, sum);
	if (memcmp(sum, (const uint8_t *)stored + n - SS_SUM_LEN,
	    SS_SUM_LEN) != 0)
		return oerr(SS_ECORRUPT, id, "checksum mismatch");
	h->refs = (const uint8_t *)stored + OBJ_FIXHDR;
	for (i = 1; i < h->nrefs; i++) {
		if (memcmp(h->refs + (size_t)(i - 1) * SS_ID_LEN,
		    h->refs + (size_t)i * SS_ID_LEN, SS_ID_LEN) >= 0)
			return oerr(SS_ECORRUPT, id, "references not in "
			    "ascending order");
	}
	return 0;
}

/* ---------- opening (key holder) ---------- */

/*
 * open_decrypt(c, id, stored, h, pt): authenticate and decrypt the payload
 * of a parsed encrypted object into ${pt} (h->clen bytes).
 */
static int
open_decrypt(struct ss_objctx *c, const struct ss_id *id, const uint8_t *stored,
    const struct ss_objhdr *h, uint8_t *pt)
{
	size_t hlen = OBJ_FIXHDR + (size_t)h->nrefs * SS_ID_LEN;
	const uint8_t *nonce = stored + hlen, *ct = nonce + SS_NONCE_LEN;
	uint8_t ko[SS_KEY_LEN];
	int r;

	if ((r = obj_key(c, id, ko)) != 0)
		goto out;
	if ((r = obj_aad(c, id, stored, hlen)) != 0)
		goto out;
	r = ss_aead_open(c->ae, ko, nonce, c->aad.p, c->aad.len, ct, h->clen,
	    ct + h->clen, pt);
	if (r == SS_EAUTH)
		r = oerr(SS_EAUTH, id, "authentication failed (tampered "
		    "with, or the wrong key)");
out:
	ss_cleanse(ko, sizeof(ko));
	return r;
}

/*
 * open_plain(c, id, stored, h, out): put the rawlen plaintext bytes
 * (type || payload) of a parsed object into ${out}.
 */
static int
open_plain(struct ss_objctx *c, const struct ss_id *id, const uint8_t *stored,
    const struct ss_objhdr *h, struct ss_buf *out)
{
	size_t poff = OBJ_FIXHDR + (size_t)h->nrefs * SS_ID_LEN;
	const uint8_t *src = stored + poff;
	int r;

	if ((r = ss_buf_reserve(out, h->rawlen)) != 0)
		return r;
	if (c->enc) {
		/* Uncompressed: decrypt straight into ${out}. */
		uint8_t *pt = h->comp == SS_COMP_OFF ? out->p : NULL;

		if (pt == NULL) {
			ss_buf_reset(&c->tmp);
			if ((r = ss_buf_reserve(&c->tmp, h->clen)) != 0)
				return r;
			pt = c->tmp.p;
		}
		if ((r = open_decrypt(c, id, stored, h, pt)) != 0)
			return r;
		src = pt;
	}
	if (src == out->p)
		return 0;
	r = ss_decompress(h->comp, src, h->clen, out->p, h->rawlen);
	if (r == SS_ECORRUPT)
		r = oerr(SS_ECORRUPT, id, "payload does not decompress to "
		    "%u bytes", h->rawlen);
	return r;
}

static int
open_check_flags(const struct ss_objctx *c, const struct ss_id *id,
    const struct ss_objhdr *h)
{
	int enc = (h->flags & SS_OBJF_ENCRYPTED) != 0;

	if (enc && !c->enc)
		return oerr(SS_EAUTH, id, "object is encrypted but an "
		    "unencrypted one was expected");
	if (!enc && c->enc)
		return oerr(SS_EAUTH, id, "object is not encrypted but an "
		    "encrypted one was expected");
	return 0;
}

/*
 * obj_open(c, id, stored, n, type, out, check_id, strip): with ${strip},
 * the type byte is taken out of ${out}; without, it stays in front.
 */
static int
obj_open(struct ss_objctx *c, const struct ss_id *id, const void *stored,
    size_t n, uint8_t *type, struct ss_buf *out, int check_id, int strip)
{
	uint8_t got[SS_ID_LEN];
	struct ss_objhdr h;
	int r;

	ss_buf_reset(out);
	if ((r = ss_obj_parse(id, stored, n, &h)) != 0)
		goto out;
	if ((r = open_check_flags(c, id, &h)) != 0)
		goto out;
	if ((r = open_plain(c, id, stored, &h, out)) != 0)
		goto out;
	if (check_id && (r = ss_idhash2(c->ih, out->p, 1, out->p + 1,
	    h.rawlen - 1u, got)) != 0)
		goto out;
	if (check_id && !ss_ct_eq(got, id->b, SS_ID_LEN)) {
		r = oerr(SS_EAUTH, id, "object content does not match its "
		    "identifier");
		goto out;
	}
	*type = out->p[0];
	if (strip) {
		memmove(out->p, out->p + 1, h.rawlen - 1u);
		out->len = h.rawlen - 1u;
	} else
		out->len = h.rawlen;
out:
	if (r != 0)
		ss_buf_reset(out);
	return r;
}

int
ss_obj_open(struct ss_objctx *c, const struct ss_id *id, const void *stored,
    size_t n, uint8_t *type, struct ss_buf *out)
{
	return obj_open(c, id, stored, n, type, out, 1, 1);
}

int
ss_obj_open_typed(struct ss_objctx *c, const struct ss_id *id,
    const void *stored, size_t n, uint8_t *type, struct ss_buf *out)
{
	return obj_open(c, id, stored, n, type, out, 1, 0);
}

int
ss_obj_open_named(struct ss_objctx *c, const struct ss_id *id,
    const void *stored, size_t n, uint8_t *type, struct ss_buf *out)
{
	if (ss_objctx_encrypted(c))
		return ss_err(SS_EINVAL, "ss_obj_open_named: plain objects only");
	return obj_open(c, id, stored, n, type, out, 0, 1);
}
