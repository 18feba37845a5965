/*
 * crypto/crypto.c: SHA-256, HMAC-SHA256, HKDF, AES-256-GCM, the passphrase
 * KDF, XXH3 checksums.  OpenSSL 3 EVP interfaces only; the algorithms are
 * fetched once per process (ss_crypto_init) so that the per-call cost of
 * the hot paths (ss_idhash2, ss_aead_*) is the hashing or cipher itself.
 */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#define XXH_STATIC_LINKING_ONLY	/* XXH3_state_t on the stack */
#include <xxhash.h>
/*
 * libxxhash's runtime dispatch: the same XXH3 results, computed with the
 * widest vector unit the CPU has (AVX2/AVX-512) instead of the SSE2 the
 * library is built for.  It replaces the XXH3 names used below.
 */
#if defined(__x86_64__)
#include <xxh_x86dispatch.h>
#endif

#include "crypto/crypto.h"
#include "util/util.h"

/* Largest piece handed to an EVP update call (they take int lengths). */
#define SS_EVP_STEP ((size_t)1 << 30)

static pthread_once_t ss_crypto_once = PTHREAD_ONCE_INIT;
static EVP_MD *ss_md_sha256;
static EVP_MAC *ss_mac_hmac;
static EVP_CIPHER *ss_cipher_gcm;
static EVP_KDF *ss_kdf_hkdf;
static EVP_KDF *ss_kdf_pbkdf2;
static EVP_KDF *ss_kdf_scrypt;

static void
ss_crypto_fetch(void)
{
	ss_md_sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	ss_mac_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	ss_cipher_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	ss_kdf_hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	ss_kdf_pbkdf2 = EVP_KDF_fetch(NULL, "PBKDF2", NULL);
	ss_kdf_scrypt = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
}

/* ss_crypto_init(): fetch every algorithm once.  0 or SS_EIO. */
static int
ss_crypto_init(void)
{
	pthread_once(&ss_crypto_once, ss_crypto_fetch);
	if (ss_md_sha256 == NULL || ss_mac_hmac == NULL ||
	    ss_cipher_gcm == NULL || ss_kdf_hkdf == NULL ||
	    ss_kdf_pbkdf2 == NULL || ss_kdf_scrypt == NULL)
		return ss_err(SS_EIO, "OpenSSL lacks a required algorithm");
	return 0;
}

/* ss_ossl_fail(what): drop OpenSSL's error queue and record a detail. */
static int
ss_ossl_fail(const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "";

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return ss_err(SS_EIO, "%s failed%s%s", what, e ? ": " : "", buf);
}

int
ss_rand(void *buf, size_t n)
{
	uint8_t *p = buf;

	while (n > 0) {
		size_t k = n > SS_EVP_STEP ? SS_EVP_STEP : n;

		if (RAND_priv_bytes(p, (int)k) != 1)
			return ss_ossl_fail("RAND_priv_bytes");
		p += k;
		n -= k;
	}
	return 0;
}

void
ss_cleanse(void *p, size_t n)
{
	if (p != NULL)
		OPENSSL_cleanse(p, n);
}

int
ss_ct_eq(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

int
ss_sha256(const void *p, size_t n, uint8_t out[SS_HASH_LEN])
{
	int r;

	if ((r = ss_crypto_init()) != 0)
		return r;
	if (EVP_Digest(p, n, out, NULL, ss_md_sha256, NULL) != 1)
		return ss_ossl_fail("SHA-256");
	return 0;
}

/* ss_mac_update(ctx, p, n): EVP_MAC_update for any length.  1 or 0. */
static int
ss_mac_update(EVP_MAC_CTX *ctx, const void *p, size_t n)
{
	return n == 0 || EVP_MAC_update(ctx, p, n) == 1;
}

int
ss_hmac_sha256(const uint8_t *key, size_t keylen, const void *p, size_t n,
    uint8_t out[SS_HASH_LEN])
{
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx = NULL;
	size_t outlen;
	int r;

	if ((r = ss_crypto_init()) != 0)
		return r;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA2-256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_MAC_CTX_new(ss_mac_hmac)) == NULL ||
	    EVP_MAC_init(ctx, key, keylen, params) != 1 ||
	    !ss_mac_update(ctx, p, n) ||
	    EVP_MAC_final(ctx, out, &outlen, SS_HASH_LEN) != 1 ||
	    outlen != SS_HASH_LEN) {
		r = ss_ossl_fail("HMAC-SHA256");
		goto out;
	}
	r = 0;
out:
	EVP_MAC_CTX_free(ctx);
	return r;
}

int
ss_hkdf(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt,
    size_t saltlen, const void *info, size_t infolen, uint8_t *out,
    size_t outlen)
{
	OSSL_PARAM params[5], *q = params;
	EVP_KDF_CTX *ctx = NULL;
	int r;

	if (outlen == 0 || outlen > (size_t)255 * SS_HASH_LEN)
		return ss_err(SS_EINVAL, "HKDF output length %zu", outlen);
	if ((r = ss_crypto_init()) != 0)
		return r;
	*q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA2-256", 0);
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)ikm, ikmlen);
	/* An absent salt is HashLen zeros (RFC 5869 2.2), as OpenSSL does. */
	if (saltlen > 0)
		*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
		    (void *)salt, saltlen);
	if (infolen > 0)
		*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
		    (void *)info, infolen);
	*q = OSSL_PARAM_construct_end();
	if ((ctx = EVP_KDF_CTX_new(ss_kdf_hkdf)) == NULL ||
	    EVP_KDF_derive(ctx, out, outlen, params) != 1) {
		r = ss_ossl_fail("HKDF-SHA256");
		goto out;
	}
	r = 0;
out:
	EVP_KDF_CTX_free(ctx);
	return r;
}

/* ---------- object identifiers ---------- */

/*
 * Exactly one of mac (keyed: HMAC-SHA256, key set once, re-initialised
 * with a NULL key per call) and md (SHA-256) is non-NULL.
 */
struct ss_idhash {
	EVP_MAC_CTX *mac;
	EVP_MD_CTX *md;
};

struct ss_idhash *
ss_idhash_new(const uint8_t *key)
{
	OSSL_PARAM params[2];
	struct ss_idhash *h = NULL;

	if (ss_crypto_init() != 0)
		return NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	if (key == NULL) {
		if ((h->md = EVP_MD_CTX_new()) == NULL)
			goto fail;
		return h;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA2-256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((h->mac = EVP_MAC_CTX_new(ss_mac_hmac)) == NULL ||
	    EVP_MAC_init(h->mac, key, SS_KEY_LEN, params) != 1)
		goto fail;
	return h;
fail:
	ss_ossl_fail("idhash setup");
	ss_idhash_free(h);
	return NULL;
}

struct ss_idhash *
ss_idhash_dup(const struct ss_idhash *h)
{
	struct ss_idhash *d;

	if (h->md != NULL)
		return ss_idhash_new(NULL);
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	if ((d->mac = EVP_MAC_CTX_dup(h->mac)) == NULL) {
		ss_ossl_fail("idhash dup");
		free(d);
		return NULL;
	}
	return d;
}

void
ss_idhash_free(struct ss_idhash *h)
{
	if (h == NULL)
		return;
	EVP_MAC_CTX_free(h->mac);
	EVP_MD_CTX_free(h->md);
	free(h);
}

int
ss_idhash2(struct ss_idhash *h, const void *a, size_t alen, const void *b,
    size_t blen, uint8_t out[SS_HASH_LEN])
{
	size_t outlen;

	if (h->mac != NULL) {
		if (EVP_MAC_init(h->mac, NULL, 0, NULL) != 1 ||
		    !ss_mac_update(h->mac, a, alen) ||
		    !ss_mac_update(h->mac, b, blen) ||
		    EVP_MAC_final(h->mac, out, &outlen, SS_HASH_LEN) != 1 ||
		    outlen != SS_HASH_LEN)
			return ss_ossl_fail("HMAC-SHA256");
		return 0;
	}
	if (EVP_DigestInit_ex2(h->md, ss_md_sha256, NULL) != 1 ||
	    (alen > 0 && EVP_DigestUpdate(h->md, a, alen) != 1) ||
	    (blen > 0 && EVP_DigestUpdate(h->md, b, blen) != 1) ||
	    EVP_DigestFinal_ex(h->md, out, NULL) != 1)
		return ss_ossl_fail("SHA-256");
	return 0;
}

/* ---------- AES-256-GCM ---------- */

/*
 * The cipher and its 12-byte IV length are set once, in ss_aead_new.  The
 * last key is kept (wiped on free) so that a call under the same key only
 * sets the nonce and skips the key schedule: GCM uses the same schedule
 * in both directions.
 */
struct ss_aead {
	EVP_CIPHER_CTX *ctx;
	uint8_t key[SS_KEY_LEN];
	int keyed;
};

struct ss_aead *
ss_aead_new(void)
{
	OSSL_PARAM params[2];
	size_t ivlen = SS_NONCE_LEN;
	struct ss_aead *a;

	if (ss_crypto_init() != 0)
		return NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	params[0] = OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_AEAD_IVLEN,
	    &ivlen);
	params[1] = OSSL_PARAM_construct_end();
	if ((a->ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_CipherInit_ex2(a->ctx, ss_cipher_gcm, NULL, NULL, 1,
	    params) != 1) {
		ss_ossl_fail("AES-256-GCM setup");
		ss_aead_free(a);
		return NULL;
	}
	return a;
}

void
ss_aead_free(struct ss_aead *a)
{
	if (a == NULL)
		return;
	EVP_CIPHER_CTX_free(a->ctx);	/* wipes the key schedule */
	OPENSSL_cleanse(a->key, sizeof(a->key));
	free(a);
}

/*
 * ss_aead_run(a, key, nonce, aad, aadlen, in, n, out, enc): key the context,
 * absorb the AAD and transform ${n} bytes.  1 or 0.
 */
static int
ss_aead_run(struct ss_aead *a, const uint8_t *key, const uint8_t *nonce,
    const void *aad, size_t aadlen, const uint8_t *in, size_t n,
    uint8_t *out, int enc)
{
	const uint8_t *ad = aad;
	int outl, same;

	same = a->keyed && CRYPTO_memcmp(a->key, key, SS_KEY_LEN) == 0;
	a->keyed = 0;
	if (EVP_CipherInit_ex2(a->ctx, NULL, same ? NULL : key, nonce, enc,
	    NULL) != 1)
		return 0;
	memcpy(a->key, key, SS_KEY_LEN);
	a->keyed = 1;
	while (aadlen > 0) {
		size_t k = aadlen > SS_EVP_STEP ? SS_EVP_STEP : aadlen;

		if (EVP_CipherUpdate(a->ctx, NULL, &outl, ad, (int)k) != 1)
			return 0;
		ad += k;
		aadlen -= k;
	}
	while (n > 0) {
		size_t k = n > SS_EVP_STEP ? SS_EVP_STEP : n;

		if (EVP_CipherUpdate(a->ctx, out, &outl, in, (int)k) != 1 ||
		    (size_t)outl != k)
			return 0;
		in += k;
		out += k;
		n -= k;
	}
	return 1;
}

int
ss_aead_seal(struct ss_aead *a, const uint8_t key[SS_KEY_LEN],
    const uint8_t nonce[SS_NONCE_LEN], const void *aad, size_t aadlen,
    const void *pt, size_t n, uint8_t *ct, uint8_t tag[SS_TAG_LEN])
{
	OSSL_PARAM params[2];
	uint8_t fin[16];
	int outl;

	params[0] = OSSL_PARAM_construct_octet_string(
	    OSSL_CIPHER_PARAM_AEAD_TAG, tag, SS_TAG_LEN);
	params[1] = OSSL_PARAM_construct_end();
	if (!ss_aead_run(a, key, nonce, aad, aadlen, pt, n, ct, 1) ||
	    EVP_CipherFinal_ex(a->ctx, fin, &outl) != 1 || outl != 0 ||
	    EVP_CIPHER_CTX_get_params(a->ctx, params) != 1)
		return ss_ossl_fail("AES-256-GCM seal");
	return 0;
}

int
ss_fp(struct ss_aead *a, const uint8_t key[SS_KEY_LEN], const void *p,
    size_t n, uint8_t out[SS_FP_LEN])
{
	/* fixed: nothing is encrypted, the tag is all that is made */
	static const uint8_t nonce[SS_NONCE_LEN];

	return ss_aead_seal(a, key, nonce, p, n, NULL, 0, NULL, out);
}

int
ss_aead_open(struct ss_aead *a, const uint8_t key[SS_KEY_LEN],
    const uint8_t nonce[SS_NONCE_LEN], const void *aad, size_t aadlen,
    const void *ct, size_t n, const uint8_t tag[SS_TAG_LEN], uint8_t *pt)
{
	OSSL_PARAM params[2];
	uint8_t fin[16];
	int outl;

	params[0] = OSSL_PARAM_construct_octet_string(
	    OSSL_CIPHER_PARAM_AEAD_TAG, (void *)tag, SS_TAG_LEN);
	params[1] = OSSL_PARAM_construct_end();
	if (!ss_aead_run(a, key, nonce, aad, aadlen, ct, n, pt, 0) ||
	    EVP_CIPHER_CTX_set_params(a->ctx, params) != 1)
		return ss_ossl_fail("AES-256-GCM open");
	if (EVP_CipherFinal_ex(a->ctx, fin, &outl) != 1 || outl != 0) {
		ERR_clear_error();
		return ss_err(SS_EAUTH, "authentication tag mismatch");
	}
	return 0;
}

/* ---------- passphrases ---------- */

int
ss_passphrase_kdf(const void *pass, size_t passlen, const uint8_t *salt,
    size_t saltlen, uint64_t iters, uint8_t out[SS_KEY_LEN])
{
	static const char sha512[] = "SHA2-512";
	uint8_t mid[64];
	OSSL_PARAM params[7];
	EVP_KDF_CTX *ctx = NULL;
	uint64_t logn = SS_SCRYPT_LOGN, nval = (uint64_t)1 << logn;
	uint64_t maxmem = (uint64_t)1 << 30;
	uint32_t rval = 8, pval = 1;
	int pkcs5 = 1, r;

	if (iters == 0 || saltlen == 0)
		return ss_err(SS_EINVAL, "passphrase KDF needs a salt and "
		    "at least one iteration");
	if ((r = ss_crypto_init()) != 0)
		return r;

	/* 1. mid = PBKDF2-HMAC-SHA512(pass, salt, iters, 64) */
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
	    (void *)pass, passlen);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)salt, saltlen);
	params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_ITER, &iters);
	params[3] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)sha512, 0);
	/* pkcs5 = 1: no SP 800-132 minimums; the caller chose the salt/iters */
	params[4] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_PKCS5, &pkcs5);
	params[5] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_KDF_CTX_new(ss_kdf_pbkdf2)) == NULL ||
	    EVP_KDF_derive(ctx, mid, sizeof(mid), params) != 1) {
		r = ss_ossl_fail("PBKDF2-HMAC-SHA512");
		goto out;
	}
	EVP_KDF_CTX_free(ctx);

	/* 2. out = scrypt(mid, salt, N, r, p, 32) */
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
	    mid, sizeof(mid));
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)salt, saltlen);
	params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &nval);
	params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &rval);
	params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &pval);
	params[5] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM,
	    &maxmem);
	params[6] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_KDF_CTX_new(ss_kdf_scrypt)) == NULL ||
	    EVP_KDF_derive(ctx, out, SS_KEY_LEN, params) != 1) {
		r = ss_ossl_fail("scrypt");
		goto out;
	}
	r = 0;
out:
	EVP_KDF_CTX_free(ctx);	/* wipes its copy of the password */
	OPENSSL_cleanse(mid, sizeof(mid));
	if (r != 0)
		OPENSSL_cleanse(out, SS_KEY_LEN);
	return r;
}

/* ---------- XXH3 checksums ---------- */

static void
ss_sum_canon(XXH128_hash_t h, uint8_t out[SS_SUM_LEN])
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, h);
	memcpy(out, c.digest, SS_SUM_LEN);
}

void
ss_sum128(const void *a, size_t alen, const void *b, size_t blen,
    uint8_t out[SS_SUM_LEN])
{
	XXH3_state_t st;

	if (blen == 0) {
		ss_sum_canon(XXH3_128bits(a, alen), out);
		return;
	}
	XXH3_INITSTATE(&st);
	XXH3_128bits_reset(&st);
	XXH3_128bits_update(&st, a, alen);
	XXH3_128bits_update(&st, b, blen);
	ss_sum_canon(XXH3_128bits_digest(&st), out);
}

/* The XXH3 state wants 64-byte alignment: XXH3_createState provides it. */
struct ss_sumctx {
	XXH3_state_t *st;
};

struct ss_sumctx *
ss_sum_new(void)
{
	struct ss_sumctx *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((s->st = XXH3_createState()) == NULL) {
		free(s);
		return NULL;
	}
	XXH3_128bits_reset(s->st);
	return s;
}

void
ss_sum_update(struct ss_sumctx *s, const void *p, size_t n)
{
	if (n > 0)
		XXH3_128bits_update(s->st, p, n);
}

/* ss_sum_final(s, out): the checksum so far; ${s} is reset afterwards. */
void
ss_sum_final(struct ss_sumctx *s, uint8_t out[SS_SUM_LEN])
{
	ss_sum_canon(XXH3_128bits_digest(s->st), out);
	XXH3_128bits_reset(s->st);
}

void
ss_sum_free(struct ss_sumctx *s)
{
	if (s == NULL)
		return;
	XXH3_freeState(s->st);
	free(s);
}

uint64_t
ss_xxh64(const void *p, size_t n, uint64_t seed)
{
	return XXH3_64bits_withSeed(p, n, seed);
}
