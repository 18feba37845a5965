/*
 * test_crypto: known-answer vectors for SHA-256, HMAC-SHA256 (RFC 4231),
 * HKDF (RFC 5869), AES-256-GCM (the GCM specification, test case 16), the
 * passphrase KDF (computed independently with Python's hashlib), XXH3;
 * then every single-bit flip of an AEAD message must fail to open.
 */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "crypto/crypto.h"
#include "util/util.h"

static void
unhex(const char *s, uint8_t *out, size_t n)
{
	if (ss_hex_decode(s, strlen(s), out, n) != 0)
		abort();
}

static int
eq_hex(const uint8_t *p, size_t n, const char *want)
{
	char *h = malloc(2 * n + 1);
	int r;

	ss_hex_encode(p, n, h);
	r = strcmp(h, want) == 0;
	if (!r)
		printf("#   got  %s\n#   want %s\n", h, want);
	free(h);
	return r;
}

static void
test_hashes(void)
{
	uint8_t out[SS_HASH_LEN], out2[SS_HASH_LEN], key[SS_KEY_LEN];
	static const char msg[] = "what do ya want for nothing?";
	struct ss_idhash *h, *d;

	is_int(ss_sha256("abc", 3, out), 0, "sha256");
	ok(eq_hex(out, 32, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad"), "SHA-256(\"abc\")");
	ss_sha256(NULL, 0, out);
	ok(eq_hex(out, 32, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855"), "SHA-256(\"\")");
	is_int(ss_hmac_sha256((const uint8_t *)"Jefe", 4, msg, strlen(msg),
	    out), 0, "hmac");
	ok(eq_hex(out, 32, "5bdcc146bf60754e6a042426089575c7"
	    "5a003f089d2739839dec58b964ec3843"), "HMAC RFC 4231 case 2");

	/* idhash without a key is SHA-256 of a || b, reusable */
	h = ss_idhash_new(NULL);
	ok(h != NULL, "idhash_new(NULL)");
	for (int i = 0; i < 3; i++) {
		is_int(ss_idhash2(h, "a", 1, "bc", 2, out), 0, "idhash2");
		ok(eq_hex(out, 32, "ba7816bf8f01cfea414140de5dae2223"
		    "b00361a396177a9cb410ff61f20015ad"),
		    "unkeyed idhash2(a, bc) = SHA-256(abc), pass %d", i);
	}
	d = ss_idhash_dup(h);
	ss_idhash2(d, "abc", 3, NULL, 0, out);
	ok(eq_hex(out, 32, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad"), "dup of unkeyed idhash");
	ss_idhash_free(d);
	ss_idhash_free(h);

	/* keyed idhash is HMAC-SHA256, key kept across calls and dups */
	for (int i = 0; i < SS_KEY_LEN; i++)
		key[i] = (uint8_t)(i * 7 + 1);
	ss_hmac_sha256(key, SS_KEY_LEN, msg, strlen(msg), out);
	h = ss_idhash_new(key);
	ok(h != NULL, "idhash_new(key)");
	for (int i = 0; i < 3; i++) {
		ss_idhash2(h, msg, 10, msg + 10, strlen(msg) - 10, out2);
		ok(memcmp(out, out2, 32) == 0,
		    "keyed idhash2 = HMAC, pass %d", i);
	}
	ss_idhash2(h, "x", 1, NULL, 0, out2);
	d = ss_idhash_dup(h);
	ss_idhash_free(h);
	ss_idhash2(d, msg, strlen(msg), NULL, 0, out2);
	ok(memcmp(out, out2, 32) == 0, "dup of keyed idhash survives free");
	ss_idhash_free(d);
	ss_idhash_free(NULL);
}

static void
test_hkdf(void)
{
	uint8_t ikm[22], salt[13], info[10], okm[42], big[255 * 32 + 1];

	memset(ikm, 0x0b, sizeof(ikm));
	for (int i = 0; i < 13; i++)
		salt[i] = (uint8_t)i;
	for (int i = 0; i < 10; i++)
		info[i] = (uint8_t)(0xf0 + i);
	is_int(ss_hkdf(ikm, 22, salt, 13, info, 10, okm, 42), 0, "hkdf");
	ok(eq_hex(okm, 42, "3cb25f25faacd57a90434f64d0362f2a"
	    "2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"),
	    "HKDF RFC 5869 test case 1");
	is_int(ss_hkdf(ikm, 22, NULL, 0, NULL, 0, okm, 42), 0, "hkdf no salt");
	ok(eq_hex(okm, 42, "8da4e775a563c18f715f802a063c5a31"
	    "b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"),
	    "HKDF RFC 5869 test case 3 (no salt, no info)");
	is_int(ss_hkdf(ikm, 22, NULL, 0, NULL, 0, big, 255 * 32), 0,
	    "hkdf maximum length");
	is_int(ss_hkdf(ikm, 22, NULL, 0, NULL, 0, big, sizeof(big)),
	    SS_EINVAL, "hkdf over maximum length");
	is_int(ss_hkdf(ikm, 22, NULL, 0, NULL, 0, big, 0), SS_EINVAL,
	    "hkdf zero length");
}

static void
test_gcm_kat(void)
{
	uint8_t key[32], iv[12], pt[60], aad[20], ct[60], tag[16], back[60];
	struct ss_aead *a = ss_aead_new();

	unhex("feffe9928665731c6d6a8f9467308308"
	    "feffe9928665731c6d6a8f9467308308", key, 32);
	unhex("cafebabefacedbaddecaf888", iv, 12);
	unhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d"
	    "8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657"
	    "ba637b39", pt, 60);
	unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2", aad, 20);
	ok(a != NULL, "aead_new");
	is_int(ss_aead_seal(a, key, iv, aad, 20, pt, 60, ct, tag), 0, "seal");
	ok(eq_hex(ct, 60, "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c9"
	    "7598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393"
	    "ba7a0abcc9f662"), "GCM test case 16 ciphertext");
	ok(eq_hex(tag, 16, "76fc6ece0f4e1768cddf8853bb2d551b"),
	    "GCM test case 16 tag");
	is_int(ss_aead_open(a, key, iv, aad, 20, ct, 60, tag, back), 0, "open");
	ok(memcmp(back, pt, 60) == 0, "open gives the plaintext");
	/* in place, both ways */
	memcpy(back, pt, 60);
	ss_aead_seal(a, key, iv, aad, 20, back, 60, back, tag);
	ok(memcmp(back, ct, 60) == 0, "seal in place");
	is_int(ss_aead_open(a, key, iv, aad, 20, back, 60, tag, back), 0,
	    "open in place");
	ok(memcmp(back, pt, 60) == 0, "open in place gives the plaintext");
	ss_aead_free(a);
	ss_aead_free(NULL);
}

static void
test_gcm_flips(void)
{
	uint8_t key[32], key2[32], nonce[12], aad[13], pt[33], ct[33], tag[16];
	uint8_t out[33], e[1];
	struct ss_aead *a = ss_aead_new();
	int bad = 0, n = 0;

	ss_rand(key, 32);
	memcpy(key2, key, 32);
	key2[31] ^= 1;
	ss_rand(nonce, 12);
	ss_rand(aad, sizeof(aad));
	ss_rand(pt, sizeof(pt));
	ss_aead_seal(a, key, nonce, aad, sizeof(aad), pt, sizeof(pt), ct, tag);
	ok(memcmp(ct, pt, sizeof(pt)) != 0,
	    "ciphertext differs from plaintext");
	for (size_t i = 0; i < 8 * sizeof(ct); i++, n++) {
		ct[i / 8] ^= (uint8_t)(1 << (i % 8));
		if (ss_aead_open(a, key, nonce, aad, sizeof(aad), ct,
		    sizeof(ct), tag, out) != SS_EAUTH)
			bad++;
		ct[i / 8] ^= (uint8_t)(1 << (i % 8));
	}
	for (size_t i = 0; i < 8 * sizeof(tag); i++, n++) {
		tag[i / 8] ^= (uint8_t)(1 << (i % 8));
		if (ss_aead_open(a, key, nonce, aad, sizeof(aad), ct,
		    sizeof(ct), tag, out) != SS_EAUTH)
			bad++;
		tag[i / 8] ^= (uint8_t)(1 << (i % 8));
	}
	for (size_t i = 0; i < 8 * sizeof(aad); i++, n++) {
		aad[i / 8] ^= (uint8_t)(1 << (i % 8));
		if (ss_aead_open(a, key, nonce, aad, sizeof(aad), ct,
		    sizeof(ct), tag, out) != SS_EAUTH)
			bad++;
		aad[i / 8] ^= (uint8_t)(1 << (i % 8));
	}
	for (size_t i = 0; i < 8 * sizeof(nonce); i++, n++) {
		nonce[i / 8] ^= (uint8_t)(1 << (i % 8));
		if (ss_aead_open(a, key, nonce, aad, sizeof(aad), ct,
		    sizeof(ct), tag, out) != SS_EAUTH)
			bad++;
		nonce[i / 8] ^= (uint8_t)(1 << (i % 8));
	}
	is_int(bad, 0, "all %d single-bit flips of ct/tag/aad/nonce give "
	    "SS_EAUTH", n);
	is_int(ss_aead_open(a, key2, nonce, aad, sizeof(aad), ct, sizeof(ct),
	    tag, out), SS_EAUTH, "wrong key gives SS_EAUTH");
	is_int(ss_aead_open(a, key, nonce, aad, sizeof(aad) - 1, ct,
	    sizeof(ct), tag, out), SS_EAUTH, "truncated aad gives SS_EAUTH");
	is_int(ss_aead_open(a, key, nonce, aad, sizeof(aad), ct,
	    sizeof(ct) - 1, tag, out), SS_EAUTH,
	    "truncated ciphertext gives SS_EAUTH");
	is_int(ss_aead_open(a, key, nonce, aad, sizeof(aad), ct, sizeof(ct),
	    tag, out), 0, "context still usable after failures");
	ok(memcmp(out, pt, sizeof(pt)) == 0, "and opens correctly");

	/* empty plaintext and empty aad */
	is_int(ss_aead_seal(a, key, nonce, NULL, 0, NULL, 0, e, tag), 0,
	    "seal empty");
	is_int(ss_aead_open(a, key, nonce, NULL, 0, NULL, 0, tag, e), 0,
	    "open empty");
	tag[0] ^= 1;
	is_int(ss_aead_open(a, key, nonce, NULL, 0, NULL, 0, tag, e), SS_EAUTH,
	    "empty message with a bad tag");
	ss_aead_free(a);
}

/* One context under alternating keys matches fresh contexts. */
static void
test_gcm_keys(void)
{
	uint8_t k[3][32], nonce[12] = { 9 }, pt[100], ct[100], ct2[100];
	uint8_t tag[16], tag2[16], out[100];
	struct ss_aead *a = ss_aead_new(), *f;
	int bad = 0;

	for (int i = 0; i < 3; i++)
		memset(k[i], 0x30 + i, 32);
	ss_rand(pt, sizeof(pt));
	for (int i = 0; i < 12; i++) {
		const uint8_t *key = k[(i * 7) % 3];

		nonce[1] = (uint8_t)i;
		ss_aead_seal(a, key, nonce, "x", 1, pt, 100, ct, tag);
		f = ss_aead_new();
		ss_aead_seal(f, key, nonce, "x", 1, pt, 100, ct2, tag2);
		ss_aead_free(f);
		if (memcmp(ct, ct2, 100) != 0 || memcmp(tag, tag2, 16) != 0)
			bad++;
		if (ss_aead_open(a, key, nonce, "x", 1, ct, 100, tag,
		    out) != 0 || memcmp(out, pt, 100) != 0)
			bad++;
		if (ss_aead_open(a, k[(i * 7 + 1) % 3], nonce, "x", 1, ct, 100,
		    tag, out) != SS_EAUTH)
			bad++;
	}
	is_int(bad, 0, "a context reused across keys and directions");
	ss_aead_free(a);
}

/*
 * The chunk fingerprint is the GCM tag of no plaintext with the data as
 * AAD and a zero nonce: McGrew and Viega's test case 13 (AES-256, zero
 * key, zero IV, nothing at all) gives its value for empty data.
 */
static void
test_fp(void)
{
	uint8_t key[32], key2[32], want[16], a[SS_FP_LEN], b[SS_FP_LEN];
	uint8_t data[1000];
	struct ss_aead *ae = ss_aead_new();

	memset(key, 0, sizeof(key));
	unhex("530f8afbc74536b9a963b4f1c4cb738b", want, 16);
	ok(ae != NULL && ss_fp(ae, key, NULL, 0, a) == 0 &&
	    memcmp(a, want, 16) == 0, "fp: GCM test case 13 (empty data)");
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 1);
	memset(key, 0x5a, sizeof(key));
	memcpy(key2, key, sizeof(key));
	key2[31] ^= 1;
	ok(ss_fp(ae, key, data, sizeof(data), a) == 0 &&
	    ss_fp(ae, key, data, sizeof(data), b) == 0 &&
	    memcmp(a, b, SS_FP_LEN) == 0, "fp: the same data, the same value");
	ok(ss_fp(ae, key2, data, sizeof(data), b) == 0 &&
	    memcmp(a, b, SS_FP_LEN) != 0, "fp: another key, another value");
	data[500] ^= 0x80;
	ok(ss_fp(ae, key, data, sizeof(data), b) == 0 &&
	    memcmp(a, b, SS_FP_LEN) != 0, "fp: one bit flipped changes it");
	data[500] ^= 0x80;
	data[sizeof(data) - 1] = 0;
	ok(ss_fp(ae, key, data, sizeof(data), a) == 0 &&
	    ss_fp(ae, key, data, sizeof(data) - 1, b) == 0 &&
	    memcmp(a, b, SS_FP_LEN) != 0,
	    "fp: a trailing zero byte changes it (the length counts)");
	ss_aead_free(ae);
}

static void
test_kdf(void)
{
	uint8_t out[SS_KEY_LEN], out2[SS_KEY_LEN];
	static const char pw[] = "correct horse battery staple";
	static const uint8_t salt[] = "0123456789abcdef";

	is_int(ss_passphrase_kdf(pw, strlen(pw), salt, 16, 1000, out), 0,
	    "passphrase kdf");
	ok(eq_hex(out, 32, "3efe098af5b0f78291b4435517ca69ba"
	    "b562c4298500e89b2799d2e2f2991e04"),
	    "scrypt(PBKDF2-SHA512(pw, salt, 1000, 64), salt, 2^15, 8, 1)");
	is_int(ss_passphrase_kdf("", 0, (const uint8_t *)"s", 1, 1, out2), 0,
	    "empty passphrase, short salt, one iteration");
	ok(eq_hex(out2, 32, "a4b7b3946d4d27121377d8302d0411be"
	    "0493a2698b9ee7d587c8303e5f2d9ee9"), "known answer, empty input");
	is_int(ss_passphrase_kdf(pw, strlen(pw), salt, 16, 0, out2),
	    SS_EINVAL, "zero iterations rejected");
}

static void
test_sums(void)
{
	uint8_t s1[SS_SUM_LEN], s2[SS_SUM_LEN], big[5000];
	struct ss_sumctx *c;

	ss_sum128(NULL, 0, NULL, 0, s1);
	ok(eq_hex(s1, 16, "99aa06d3014798d86001c324468d497f"),
	    "XXH3-128 of the empty string");
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 31 + (i >> 8));
	ss_sum128(big, sizeof(big), NULL, 0, s1);
	ss_sum128(big, 1234, big + 1234, sizeof(big) - 1234, s2);
	ok(memcmp(s1, s2, 16) == 0, "sum128(a, b) = sum128(a || b)");
	c = ss_sum_new();
	for (size_t i = 0; i < sizeof(big); i += 333)
		ss_sum_update(c, big + i, sizeof(big) - i < 333 ?
		    sizeof(big) - i : 333);
	ss_sum_final(c, s2);
	ok(memcmp(s1, s2, 16) == 0, "incremental = one shot");
	ss_sum_update(c, big, 10);
	ss_sum_final(c, s2);
	ss_sum128(big, 10, NULL, 0, s1);
	ok(memcmp(s1, s2, 16) == 0, "final resets the context");
	ss_sum_free(c);
	ss_sum_free(NULL);
	ok(ss_xxh64(big, 100, 1) != ss_xxh64(big, 100, 2), "xxh64 seeds");
	ok(ss_xxh64(big, 100, 1) == ss_xxh64(big, 100, 1), "xxh64 stable");
}

int
main(void)
{
	uint8_t r1[64], r2[64];

	test_hashes();
	test_hkdf();
	test_gcm_kat();
	test_gcm_flips();
	test_gcm_keys();
	test_fp();
	test_kdf();
	test_sums();
	is_int(ss_rand(r1, sizeof(r1)), 0, "rand");
	ss_rand(r2, sizeof(r2));
	ok(memcmp(r1, r2, sizeof(r1)) != 0, "rand varies");
	ok(ss_ct_eq(r1, r1, 64) && !ss_ct_eq(r1, r2, 64), "ct_eq");
	ss_cleanse(r1, sizeof(r1));
	memset(r2, 0, sizeof(r2));
	ok(memcmp(r1, r2, 64) == 0, "cleanse zeroes");
	return done_testing();
}
