/*
 * crypto: the only module that includes OpenSSL (and xxhash).
 *
 * Primitives: SHA-256, HMAC-SHA256, HKDF-SHA256, AES-256-GCM, PBKDF2-HMAC-
 * SHA512 followed by scrypt for passphrases, XXH3-128 checksums, the OS
 * CSPRNG.  No home-made primitives.  Secrets live in fixed buffers and are
 * wiped with ss_cleanse() on every path.
 */
#ifndef SS_CRYPTO_H
#define SS_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define SS_KEY_LEN 32		/* every symmetric key: AES-256, HMAC keys */
#define SS_HASH_LEN 32		/* SHA-256 / HMAC-SHA256 output */
#define SS_NONCE_LEN 12		/* AES-GCM nonce */
#define SS_TAG_LEN 16		/* AES-GCM tag */
#define SS_SUM_LEN 16		/* XXH3-128 checksum */

/* ss_rand(buf, n): ${n} bytes from RAND_priv_bytes.  0 or SS_EIO. */
int ss_rand(void *buf, size_t n);

/* ss_cleanse(p, n): wipe memory (OPENSSL_cleanse). */
void ss_cleanse(void *p, size_t n);

/* ss_ct_eq(a, b, n): 1 if equal, in constant time (CRYPTO_memcmp). */
int ss_ct_eq(const void *a, const void *b, size_t n);

/* ss_sha256(p, n, out): SHA-256. */
int ss_sha256(const void *p, size_t n, uint8_t out[SS_HASH_LEN]);

/* ss_hmac_sha256(key, keylen, p, n, out): HMAC-SHA256 (one shot). */
int ss_hmac_sha256(const uint8_t *key, size_t keylen, const void *p, size_t n,
    uint8_t out[SS_HASH_LEN]);

/*
 * ss_hkdf(ikm, ikmlen, salt, saltlen, info, infolen, out, outlen):
 * HKDF-SHA256 (RFC 5869, extract then expand).  outlen <= 255*32.
 */
int ss_hkdf(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt,
    size_t saltlen, const void *info, size_t infolen, uint8_t *out,
    size_t outlen);

/*
 * A reusable object-identifier hasher: HMAC-SHA256 under a 32-byte key, or
 * plain SHA-256 when created with key NULL.  Not thread-safe: one per
 * thread (ss_idhash_dup).  The two-part form hashes the concatenation
 * ${a} || ${b} without copying.
 */
struct ss_idhash;
struct ss_idhash *ss_idhash_new(const uint8_t *key /* 32 bytes or NULL */);
struct ss_idhash *ss_idhash_dup(const struct ss_idhash *h);
void ss_idhash_free(struct ss_idhash *h);
int ss_idhash2(struct ss_idhash *h, const void *a, size_t alen, const void *b,
    size_t blen, uint8_t out[SS_HASH_LEN]);

/*
 * AES-256-GCM with a reusable context (not thread-safe: one per thread).
 * seal: ${ct} receives ${n} bytes (may equal ${pt}), ${tag} 16 bytes.
 * open: returns SS_EAUTH if the tag does not verify; ${pt} may equal ${ct}.
 * On SS_EAUTH the output buffer content is unspecified and must not be used.
 */
struct ss_aead;
struct ss_aead *ss_aead_new(void);
void ss_aead_free(struct ss_aead *a);
int ss_aead_seal(struct ss_aead *a, const uint8_t key[SS_KEY_LEN],
    const uint8_t nonce[SS_NONCE_LEN], const void *aad, size_t aadlen,
    const void *pt, size_t n, uint8_t *ct, uint8_t tag[SS_TAG_LEN]);
int ss_aead_open(struct ss_aead *a, const uint8_t key[SS_KEY_LEN],
    const uint8_t nonce[SS_NONCE_LEN], const void *aad, size_t aadlen,
    const void *ct, size_t n, const uint8_t tag[SS_TAG_LEN], uint8_t *pt);

/*
 * ss_fp(a, key, p, n, out): the keyed fingerprint of ${n} bytes: the
 * AES-256-GCM tag of no plaintext, with the bytes as associated data and
 * an all-zero nonce, that is GHASH of the bytes under a secret key, masked
 * by one fixed secret block.  A universal hash: two different inputs of at
 * most L 16-byte blocks get the same value with probability at most
 * L / 2^128 over the key, for inputs chosen without seeing any value.  So
 * values must never be shown to anyone who can choose inputs (they are
 * kept only inside encrypted objects; docs/crypto.md).  Several times
 * cheaper than SHA-256: it tells an unchanged chunk from a changed one
 * without recomputing its ID.
 */
#define SS_FP_LEN 16
int ss_fp(struct ss_aead *a, const uint8_t key[SS_KEY_LEN], const void *p,
    size_t n, uint8_t out[SS_FP_LEN]);

/*
 * ss_passphrase_kdf(pass, passlen, salt, saltlen, iters, out):
 * WK = scrypt(PBKDF2-HMAC-SHA512(pass, salt, iters, 64), salt,
 *             N = 2^SS_SCRYPT_LOGN, r = 8, p = 1, 32 bytes).
 * iters is the user-visible pbkdf2iters property.
 */
#define SS_SCRYPT_LOGN 15
int ss_passphrase_kdf(const void *pass, size_t passlen, const uint8_t *salt,
    size_t saltlen, uint64_t iters, uint8_t out[SS_KEY_LEN]);

/*
 * XXH3-128 checksum of ${a} || ${b} (b may be NULL with blen 0), written as
 * 16 bytes, high half first, big-endian (XXH128_canonicalFromHash).
 */
void ss_sum128(const void *a, size_t alen, const void *b, size_t blen,
    uint8_t out[SS_SUM_LEN]);

/* Incremental XXH3-128 for streams and whole files. */
struct ss_sumctx;
struct ss_sumctx *ss_sum_new(void);
void ss_sum_update(struct ss_sumctx *s, const void *p, size_t n);
void ss_sum_final(struct ss_sumctx *s, uint8_t out[SS_SUM_LEN]);
void ss_sum_free(struct ss_sumctx *s);

/* ss_xxh64(p, n, seed): XXH3-64, for hash tables and fast non-crypto uses. */
uint64_t ss_xxh64(const void *p, size_t n, uint64_t seed);

#endif /* SS_CRYPTO_H */
