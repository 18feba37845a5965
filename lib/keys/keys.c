/*
 * keys: key formats and locations, subkey derivation, and the wrapped
 * master key (encoding, wrap, unwrap).  Reading key material is in
 * keyread.c, the kernel keyring in keyring.c.  The byte layout and the
 * construction are specified in docs/format-keys.md.
 */
#include <string.h>

#include "keys/keys.h"

#define WRAP_MAGIC "SSWK"
#define WRAP_MAGIC_LEN 4
/* magic .. keyguid: every field but nonce, ct and tag; also the AAD. */
#define WRAP_HDR_LEN 48
#define WRAP_ENC_LEN (WRAP_HDR_LEN + SS_NONCE_LEN + SS_KEY_LEN + SS_TAG_LEN)
/* OpenSSL's PBKDF2 iteration count is an int. */
#define PBKDF2_MAX 2147483647ULL
#define SCRYPT_LOGN_MIN 10
#define SCRYPT_LOGN_MAX 22

static const struct {
	const char *name;
	int kf;
} keyformats[] = {
	{ "none", SS_KF_NONE },
	{ "raw", SS_KF_RAW },
	{ "hex", SS_KF_HEX },
	{ "passphrase", SS_KF_PASSPHRASE },
};
#define NKEYFORMATS (sizeof(keyformats) / sizeof(keyformats[0]))

/* Subkey labels: part of the format, never change them. */
#define LABEL_ID "snapseal v1 object-id"
#define LABEL_OBJ "snapseal v1 object-key"
#define LABEL_REC "snapseal v1 record-mac"
#define LABEL_CHUNK "snapseal v1 chunker"
#define LABEL_FP "snapseal v1 chunk-fingerprint"
#define LABEL_KEYGUID "snapseal v1 keyguid"

int
ss_keyformat_parse(const char *s, int *kf)
{
	for (size_t i = 0; s != NULL && i < NKEYFORMATS; i++) {
		if (strcmp(s, keyformats[i].name) == 0) {
			*kf = keyformats[i].kf;
			return 0;
		}
	}
	return ss_err(SS_EINVAL, "invalid keyformat '%s'", s ? s : "");
}

/* ss_keyformat_name(kf): "none", "raw", "hex", "passphrase"; "unknown". */
const char *
ss_keyformat_name(int kf)
{
	for (size_t i = 0; i < NKEYFORMATS; i++)
		if (keyformats[i].kf == kf)
			return keyformats[i].name;
	return "unknown";
}

int
ss_keylocation_valid(const char *s)
{
	if (s == NULL)
		return ss_err(SS_EINVAL, "invalid keylocation ''");
	if (strcmp(s, "prompt") == 0 || strcmp(s, "none") == 0)
		return 0;
	/* "file://" then an absolute path: "file:///" and at least one more. */
	if (strncmp(s, "file:///", 8) == 0 && s[8] != '\0')
		return 0;
	return ss_err(SS_EINVAL, "invalid keylocation '%s'", s);
}

/* ---------- subkeys ---------- */

static int
derive_one(const uint8_t mk[SS_KEY_LEN], const char *label, uint8_t *out,
    size_t n)
{
	static const uint8_t nosalt[1];

	return ss_hkdf(mk, SS_KEY_LEN, nosalt, 0, label, strlen(label), out,
	    n);
}

/*
 * ss_keyset_derive(mk, ks): each subkey is HKDF-SHA256(IKM = MK, salt
 * empty, info = its label).  On failure ${ks} is wiped.
 */
int
ss_keyset_derive(const uint8_t mk[SS_KEY_LEN], struct ss_keyset *ks)
{
	int r;

	if ((r = derive_one(mk, LABEL_ID, ks->k_id, sizeof(ks->k_id))) != 0 ||
	    (r = derive_one(mk, LABEL_OBJ, ks->k_obj,
	    sizeof(ks->k_obj))) != 0 ||
	    (r = derive_one(mk, LABEL_REC, ks->k_rec,
	    sizeof(ks->k_rec))) != 0 ||
	    (r = derive_one(mk, LABEL_CHUNK, ks->k_chunk,
	    sizeof(ks->k_chunk))) != 0 ||
	    (r = derive_one(mk, LABEL_FP, ks->k_fp, sizeof(ks->k_fp))) != 0 ||
	    (r = derive_one(mk, LABEL_KEYGUID, ks->keyguid,
	    sizeof(ks->keyguid))) != 0)
		ss_keyset_wipe(ks);
	return r;
}

void
ss_keyset_wipe(struct ss_keyset *ks)
{
	if (ks != NULL)
		ss_cleanse(ks, sizeof(*ks));
}

/*
 * keyguid_check(mk, keyguid, code): 0 if ${keyguid} is the key guid of
 * ${mk}, ${code} otherwise.
 */
static int
keyguid_check(const uint8_t mk[SS_KEY_LEN], const uint8_t keyguid[8],
    int code)
{
	struct ss_keyset ks;
	int r;

	if ((r = ss_keyset_derive(mk, &ks)) != 0)
		goto out;
	if (!ss_ct_eq(ks.keyguid, keyguid, sizeof(ks.keyguid)))
		r = ss_err(code, "%s", code == SS_EWRONGKEY ?
		    "incorrect key provided" :
		    "keyguid does not match the master key");
out:
	ss_keyset_wipe(&ks);
	return r;
}

/* ---------- the wrapped key ---------- */

static int
allzero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/*
 * wrapped_check(w, code): the rules every wrapped key obeys, whether
 * decoded (${code} SS_ECORRUPT) or built by a caller (SS_EINVAL).  An
 * unknown version is SS_ENOTSUP either way.
 */
static int
wrapped_check(const struct ss_wrapped *w, int code)
{
	int r = 0;

	if (w->version != SS_WRAP_VERSION)
		return ss_err(SS_ENOTSUP, "wrapped key version %u is not "
		    "supported", w->version);
	switch (w->keyformat) {
	case SS_KF_RAW:
	case SS_KF_HEX:
		if (w->iters != 0 || w->scrypt_logn != 0 ||
		    !allzero(w->salt, sizeof(w->salt)))
			r = ss_err(code, "wrapped key: KDF parameters set for "
			    "keyformat %s", ss_keyformat_name(w->keyformat));
		break;
	case SS_KF_PASSPHRASE:
		if (w->iters < SS_PBKDF2_MIN || w->iters > PBKDF2_MAX)
			r = ss_err(code, "wrapped key: pbkdf2iters %llu out of "
			    "range", (unsigned long long)w->iters);
		else if (w->scrypt_logn < SCRYPT_LOGN_MIN ||
		    w->scrypt_logn > SCRYPT_LOGN_MAX)
			r = ss_err(code, "wrapped key: scrypt cost 2^%u out of "
			    "range", w->scrypt_logn);
		break;
	default:
		r = ss_err(code, "wrapped key: invalid keyformat %u",
		    w->keyformat);
		break;
	}
	return r;
}

/* wrapped_header(w, h): the first WRAP_HDR_LEN bytes of the encoding. */
static void
wrapped_header(const struct ss_wrapped *w, uint8_t h[WRAP_HDR_LEN])
{
	memcpy(h, WRAP_MAGIC, WRAP_MAGIC_LEN);
	h[4] = w->version;
	h[5] = w->keyformat;
	h[6] = w->scrypt_logn;
	h[7] = 0;			/* reserved */
	ss_le64enc(h + 8, w->iters);
	memcpy(h + 16, w->salt, SS_SALT_LEN);
	ss_le64enc(h + 32, w->root_guid);
	memcpy(h + 40, w->keyguid, sizeof(w->keyguid));
}

/*
 * ss_wrapped_encode(w, out): append the 108-byte encoding of ${w} to
 * ${out}.  SS_EINVAL (nothing appended) if ${w} breaks a rule that decode
 * enforces, so an encoded key always decodes.
 */
int
ss_wrapped_encode(const struct ss_wrapped *w, struct ss_buf *out)
{
	uint8_t h[WRAP_HDR_LEN];
	int r;

	if ((r = wrapped_check(w, SS_EINVAL)) != 0 ||
	    (r = ss_buf_reserve(out, WRAP_ENC_LEN)) != 0)
		return r;
	wrapped_header(w, h);
	if ((r = ss_buf_put(out, h, sizeof(h))) != 0 ||
	    (r = ss_buf_put(out, w->nonce, sizeof(w->nonce))) != 0 ||
	    (r = ss_buf_put(out, w->ct, sizeof(w->ct))) != 0 ||
	    (r = ss_buf_put(out, w->tag, sizeof(w->tag))) != 0)
		return r;
	return 0;
}

/* wrapped_read(rd, w): the fields after magic and version. */
static void
wrapped_read(struct ss_rd *rd, struct ss_wrapped *w, uint8_t *reserved)
{
	const uint8_t *p;

	w->keyformat = ss_rd_u8(rd);
	w->scrypt_logn = ss_rd_u8(rd);
	*reserved = ss_rd_u8(rd);
	w->iters = ss_rd_u64(rd);
	if ((p = ss_rd_bytes(rd, SS_SALT_LEN)) != NULL)
		memcpy(w->salt, p, SS_SALT_LEN);
	w->root_guid = ss_rd_u64(rd);
	if ((p = ss_rd_bytes(rd, sizeof(w->keyguid))) != NULL)
		memcpy(w->keyguid, p, sizeof(w->keyguid));
	if ((p = ss_rd_bytes(rd, SS_NONCE_LEN)) != NULL)
		memcpy(w->nonce, p, SS_NONCE_LEN);
	if ((p = ss_rd_bytes(rd, SS_KEY_LEN)) != NULL)
		memcpy(w->ct, p, SS_KEY_LEN);
	if ((p = ss_rd_bytes(rd, SS_TAG_LEN)) != NULL)
		memcpy(w->tag, p, SS_TAG_LEN);
}

/*
 * ss_wrapped_decode(p, n, w): parse ${n} untrusted bytes.  The magic and
 * version are checked before the length, so a future version of another
 * size is SS_ENOTSUP rather than SS_ECORRUPT.  ${w} is written only on
 * success.
 */
int
ss_wrapped_decode(const void *p, size_t n, struct ss_wrapped *w)
{
	struct ss_wrapped t;
	struct ss_rd rd;
	const uint8_t *magic;
	uint8_t reserved = 0;
	int r;

	memset(&t, 0, sizeof(t));
	ss_rd_init(&rd, p, n);
	magic = ss_rd_bytes(&rd, WRAP_MAGIC_LEN);
	t.version = ss_rd_u8(&rd);
	if (rd.err || memcmp(magic, WRAP_MAGIC, WRAP_MAGIC_LEN) != 0)
		return ss_err(SS_ECORRUPT, "wrapped key: bad magic");
	if (t.version != SS_WRAP_VERSION)
		return ss_err(SS_ENOTSUP, "wrapped key version %u is not "
		    "supported", t.version);
	if (n != WRAP_ENC_LEN)
		return ss_err(SS_ECORRUPT, "wrapped key: %zu bytes, expected "
		    "%d", n, WRAP_ENC_LEN);
	wrapped_read(&rd, &t, &reserved);
	if (rd.err || ss_rd_left(&rd) != 0)
		return ss_err(SS_ECORRUPT, "wrapped key: bad length");
	if (reserved != 0)
		return ss_err(SS_ECORRUPT, "wrapped key: reserved byte set");
	if ((r = wrapped_check(&t, SS_ECORRUPT)) != 0)
		return r;
	*w = t;
	return 0;
}

int
ss_key_wrap(const uint8_t wk[SS_KEY_LEN], const uint8_t mk[SS_KEY_LEN],
    struct ss_wrapped *w)
{
	uint8_t aad[WRAP_HDR_LEN];
	struct ss_aead *a = NULL;
	int r;

	if ((r = wrapped_check(w, SS_EINVAL)) != 0 ||
	    (r = keyguid_check(mk, w->keyguid, SS_EINVAL)) != 0)
		goto out;
	wrapped_header(w, aad);
	if ((a = ss_aead_new()) == NULL) {
		r = ss_err(SS_ENOMEM, "cannot allocate a cipher context");
		goto out;
	}
	if ((r = ss_rand(w->nonce, sizeof(w->nonce))) != 0)
		goto out;
	r = ss_aead_seal(a, wk, w->nonce, aad, sizeof(aad), mk, SS_KEY_LEN,
	    w->ct, w->tag);
out:
	ss_aead_free(a);
	if (r != 0) {
		memset(w->nonce, 0, sizeof(w->nonce));
		memset(w->ct, 0, sizeof(w->ct));
		memset(w->tag, 0, sizeof(w->tag));
	}
	return r;
}

int
ss_key_unwrap(const uint8_t wk[SS_KEY_LEN], const struct ss_wrapped *w,
    uint8_t mk[SS_KEY_LEN])
{
	uint8_t aad[WRAP_HDR_LEN];
	struct ss_aead *a = NULL;
	int r;

	if ((r = wrapped_check(w, SS_ECORRUPT)) != 0)
		goto out;
	wrapped_header(w, aad);
	if ((a = ss_aead_new()) == NULL) {
		r = ss_err(SS_ENOMEM, "cannot allocate a cipher context");
		goto out;
	}
	r = ss_aead_open(a, wk, w->nonce, aad, sizeof(aad), w->ct, SS_KEY_LEN,
	    w->tag, mk);
	if (r == SS_EAUTH)
		r = ss_err(SS_EWRONGKEY, "incorrect key provided");
	if (r == 0)
		r = keyguid_check(mk, w->keyguid, SS_EWRONGKEY);
out:
	ss_aead_free(a);
	if (r != 0)
		ss_cleanse(mk, SS_KEY_LEN);
	return r;
}

static int
wrapping_passphrase(const struct ss_secret *material,
    const struct ss_wrapped *w, uint8_t wk[SS_KEY_LEN])
{
	if (material->len < 8 || material->len > 512)
		return ss_err(SS_EINVAL, "passphrase length out of range");
	if (w->scrypt_logn != SS_SCRYPT_LOGN)
		return ss_err(SS_ENOTSUP, "scrypt cost 2^%u is not supported",
		    w->scrypt_logn);
	return ss_passphrase_kdf(material->b, material->len, w->salt,
	    sizeof(w->salt), w->iters, wk);
}

/*
 * ss_key_wrapping: ${kf} must equal w->keyformat; raw and hex material is
 * the 32 key bytes (ss_key_read decodes hex), a passphrase goes through
 * ss_passphrase_kdf.  SS_ENOTSUP if w->scrypt_logn is not the one cost
 * the crypto module implements (SS_SCRYPT_LOGN).  ${wk} is wiped on
 * failure.
 */
int
ss_key_wrapping(int kf, const struct ss_secret *material,
    const struct ss_wrapped *w, uint8_t wk[SS_KEY_LEN])
{
	int r;

	if (kf != w->keyformat) {
		r = ss_err(SS_EINVAL, "keyformat %s does not match the wrapped "
		    "key (%s)", ss_keyformat_name(kf),
		    ss_keyformat_name(w->keyformat));
		goto out;
	}
	if ((r = wrapped_check(w, SS_ECORRUPT)) != 0)
		goto out;
	if (kf == SS_KF_PASSPHRASE)
		r = wrapping_passphrase(material, w, wk);
	else if (material->len != SS_KEY_LEN)
		r = ss_err(SS_EINVAL, "key material is not %d bytes",
		    SS_KEY_LEN);
	else
		memcpy(wk, material->b, SS_KEY_LEN);
out:
	if (r != 0)
		ss_cleanse(wk, SS_KEY_LEN);
	return r;
}

/* new_params(kf, iters, w): version, keyformat and KDF parameters. */
static int
new_params(int kf, uint64_t iters, struct ss_wrapped *w)
{
	w->version = SS_WRAP_VERSION;
	w->keyformat = (uint8_t)kf;
	if (kf == SS_KF_RAW || kf == SS_KF_HEX)
		return 0;
	if (kf != SS_KF_PASSPHRASE)
		return ss_err(SS_EINVAL, "keyformat %s cannot wrap a key",
		    ss_keyformat_name(kf));
	if (iters < SS_PBKDF2_MIN)
		return ss_err(SS_EINVAL, "minimum pbkdf2 iterations is %d",
		    SS_PBKDF2_MIN);
	if (iters > PBKDF2_MAX)
		return ss_err(SS_EINVAL, "maximum pbkdf2 iterations is %llu",
		    PBKDF2_MAX);
	w->iters = iters;
	w->scrypt_logn = SS_SCRYPT_LOGN;
	return ss_rand(w->salt, sizeof(w->salt));
}

/*
 * ss_key_new_wrapped: ${iters} is used for passphrases only (raw and hex
 * keys store 0: refusing a pbkdf2iters given with them is the caller's
 * job).  ${w} is written only on success.
 */
int
ss_key_new_wrapped(int kf, const struct ss_secret *material,
    uint64_t iters, uint64_t root_guid, const uint8_t mk[SS_KEY_LEN],
    struct ss_wrapped *w)
{
	struct ss_wrapped t;
	struct ss_keyset ks;
	uint8_t wk[SS_KEY_LEN];
	int r;

	memset(&t, 0, sizeof(t));
	memset(&ks, 0, sizeof(ks));
	memset(wk, 0, sizeof(wk));
	if ((r = new_params(kf, iters, &t)) != 0 ||
	    (r = ss_keyset_derive(mk, &ks)) != 0)
		goto out;
	t.root_guid = root_guid;
	memcpy(t.keyguid, ks.keyguid, sizeof(t.keyguid));
	if ((r = ss_key_wrapping(kf, material, &t, wk)) != 0 ||
	    (r = ss_key_wrap(wk, mk, &t)) != 0)
		goto out;
	*w = t;
out:
	ss_keyset_wipe(&ks);
	ss_cleanse(wk, sizeof(wk));
	return r;
}
