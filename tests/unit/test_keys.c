/*
 * test_keys: subkey derivation, the wrapped-key format (round trip, exact
 * layout, every single-byte change and truncation refused), wrap/unwrap
 * with raw, hex and passphrase keys, reading key material from files,
 * stdin and a pseudo-terminal with zfs's texts, and the kernel keyring.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "keys/keys.h"
#include "tap.h"

#define ENC_LEN 108
#define KEY_SPEC_USER (-4)	/* KEY_SPEC_USER_KEYRING, without keyutils.h */

static char tmpdir[] = "/tmp/test_keys.XXXXXX";
static int kdf_runs;

static int
msg_is(const char *want)
{
	if (strcmp(ss_errmsg(), want) == 0)
		return 1;
	printf("#   message '%s', want '%s'\n", ss_errmsg(), want);
	return 0;
}

static int
allzero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

static int
differ(const void *a, const void *b, size_t n)
{
	return memcmp(a, b, n) != 0;
}

static void
set_secret(struct ss_secret *s, const void *p, size_t n)
{
	ss_secret_wipe(s);
	memcpy(s->b, p, n);
	s->len = n;
}

/* ---------- derivation ---------- */

static void
hexeq(const uint8_t *p, size_t n, const char *want, const char *name)
{
	char got[65];

	ss_hex_encode(p, n, got);
	ok(strcmp(got, want) == 0, "derive: %s matches the golden vector",
	    name);
}

static void
test_derive(void)
{
	struct ss_keyset a, b;
	uint8_t mk[SS_KEY_LEN];

	for (int i = 0; i < SS_KEY_LEN; i++)
		mk[i] = (uint8_t)i;
	is_int(ss_keyset_derive(mk, &a), 0, "derive");
	is_int(ss_keyset_derive(mk, &b), 0, "derive again");
	ok(memcmp(&a, &b, sizeof(a)) == 0, "derive is deterministic");
	ok(differ(a.k_id, a.k_obj, 32) && differ(a.k_id, a.k_rec, 32) &&
	    differ(a.k_id, a.k_chunk, 32) && differ(a.k_obj, a.k_rec, 32) &&
	    differ(a.k_obj, a.k_chunk, 32) && differ(a.k_rec, a.k_chunk, 32) &&
	    differ(a.keyguid, a.k_id, 8), "labels give distinct subkeys");
	/* Computed independently (openssl kdf HKDF, python hmac). */
	hexeq(a.k_id, 32, "f16909d51267c6094958109975d75bdd"
	    "a84f02253630306d2e23279b2ba289a3", "k_id");
	hexeq(a.k_obj, 32, "ca8805d03c453650d111bb9f62af032d"
	    "8492553a3e5d46390b29e048b260efbb", "k_obj");
	hexeq(a.k_rec, 32, "859a92ce8f8f3f0cdf24242c93d8f18b"
	    "2a9acf4d444c83502c1a98152df01bc8", "k_rec");
	hexeq(a.k_chunk, 32, "03477313c921d4347f8841d8cc7e985a"
	    "8b9cd9f46455d7800e29deb428d3e16c", "k_chunk");
	hexeq(a.keyguid, 8, "4bc2eb6309ed0a10", "keyguid");
	mk[0] ^= 1;
	is_int(ss_keyset_derive(mk, &b), 0, "derive from another key");
	ok(memcmp(&a, &b, sizeof(a)) != 0, "another key, other subkeys");
	ss_keyset_wipe(&a);
	ok(allzero(&a, sizeof(a)), "ss_keyset_wipe wipes");
	ss_keyset_wipe(&b);
}

static void
test_names(void)
{
	static const char *bad[] = { "file://x", "file:///", "file://",
		"https://example.com/k", "", "Prompt", "/abs/path" };
	int kf = -1;

	is_int(ss_keyformat_parse("passphrase", &kf), 0, "parse passphrase");
	is_int(kf, SS_KF_PASSPHRASE, "passphrase value");
	ss_keyformat_parse("none", &kf);
	is_int(kf, SS_KF_NONE, "none value");
	is_int(ss_keyformat_parse("Raw", &kf), SS_EINVAL, "keyformat 'Raw'");
	ok(strcmp(ss_keyformat_name(SS_KF_HEX), "hex") == 0, "name hex");
	ok(strcmp(ss_keyformat_name(9), "unknown") == 0, "name unknown");
	is_int(ss_keylocation_valid("prompt"), 0, "keylocation prompt");
	is_int(ss_keylocation_valid("none"), 0, "keylocation none");
	is_int(ss_keylocation_valid("file:///x"), 0, "keylocation file:///x");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(ss_keylocation_valid(bad[i]), SS_EINVAL,
		    "keylocation '%s' refused", bad[i]);
	ss_keylocation_valid("file://x");
	ok(msg_is("invalid keylocation 'file://x'"), "keylocation message");
	is_int(ss_keylocation_valid(NULL), SS_EINVAL, "keylocation NULL");
}

/* ---------- the wrapped key ---------- */

/* A struct with every field distinct, to pin the byte layout. */
static void
test_layout(void)
{
	struct ss_wrapped w, d;
	struct ss_buf b = SS_BUF_INIT;
	uint8_t want[ENC_LEN];

	memset(&w, 0, sizeof(w));
	w.version = 1;
	w.keyformat = SS_KF_PASSPHRASE;
	w.scrypt_logn = 15;
	w.iters = 0x01020304ULL;
	for (int i = 0; i < 16; i++)
		w.salt[i] = (uint8_t)(0x10 + i);
	w.root_guid = 0x1122334455667788ULL;
	for (int i = 0; i < 8; i++)
		w.keyguid[i] = (uint8_t)(0x20 + i);
	memset(w.nonce, 0x30, sizeof(w.nonce));
	memset(w.ct, 0x40, sizeof(w.ct));
	memset(w.tag, 0x50, sizeof(w.tag));
	memcpy(want, "SSWK\x01\x03\x0f\x00\x04\x03\x02\x01\0\0\0\0", 16);
	memcpy(want + 16, w.salt, 16);
	memcpy(want + 32, "\x88\x77\x66\x55\x44\x33\x22\x11", 8);
	memcpy(want + 40, w.keyguid, 8);
	memset(want + 48, 0x30, 12);
	memset(want + 60, 0x40, 32);
	memset(want + 92, 0x50, 16);
	is_int(ss_wrapped_encode(&w, &b), 0, "encode");
	is_int(b.len, ENC_LEN, "encoding is 108 bytes");
	ok(b.len == ENC_LEN && memcmp(b.p, want, ENC_LEN) == 0,
	    "encoding matches the documented layout");
	is_int(ss_wrapped_decode(b.p, b.len, &d), 0, "decode");
	ok(d.version == w.version && d.keyformat == w.keyformat &&
	    d.scrypt_logn == w.scrypt_logn && d.iters == w.iters &&
	    !memcmp(d.salt, w.salt, 16) && d.root_guid == w.root_guid &&
	    !memcmp(d.keyguid, w.keyguid, 8) && !memcmp(d.nonce, w.nonce, 12) &&
	    !memcmp(d.ct, w.ct, 32) && !memcmp(d.tag, w.tag, 16),
	    "decode gives back every field");
	w.version = 2;
	is_int(ss_wrapped_encode(&w, &b), SS_ENOTSUP, "encode refuses v2");
	w.version = 1;
	w.keyformat = SS_KF_RAW;
	is_int(ss_wrapped_encode(&w, &b), SS_EINVAL,
	    "encode refuses a raw key with KDF parameters");
	is_int(b.len, ENC_LEN, "refused encode appends nothing");
	if (b.len != ENC_LEN)
		return;
	b.p[4] = 2;
	is_int(ss_wrapped_decode(b.p, b.len, &d), SS_ENOTSUP,
	    "decode: version 2 is SS_ENOTSUP");
	ss_buf_put_u64(&b, 0);
	is_int(ss_wrapped_decode(b.p, b.len, &d), SS_ENOTSUP,
	    "decode: version 2 of another length is SS_ENOTSUP");
	ss_buf_free(&b);
}

/*
 * sweep(wk, enc): every single-byte change (all 255 other values at each
 * offset) and every truncation fails to decode or to unwrap, with one of
 * the expected codes.  Returns the number of failures of that rule.
 */
static int
sweep(const uint8_t wk[SS_KEY_LEN], const uint8_t *enc, size_t n)
{
	uint8_t b[ENC_LEN + 1], mk[SS_KEY_LEN];
	struct ss_wrapped w;
	int bad = 0, r;

	for (size_t i = 0; i < n; i++) {
		for (int v = 1; v < 256; v++) {
			memcpy(b, enc, n);
			b[i] ^= (uint8_t)v;
			r = ss_wrapped_decode(b, n, &w);
			if (r == 0)
				r = ss_key_unwrap(wk, &w, mk);
			if (r != SS_ECORRUPT && r != SS_ENOTSUP &&
			    r != SS_EWRONGKEY && bad++ < 5)
				printf("# byte %zu ^ %d: %d\n", i, v, r);
		}
	}
	for (size_t len = 0; len < n; len++)
		if (ss_wrapped_decode(enc, len, &w) == 0)
			bad++;
	memcpy(b, enc, n);
	b[n] = 0;
	if (ss_wrapped_decode(b, n + 1, &w) == 0)
		bad++;
	return bad;
}

/*
 * seal_by_hand(wk, mk, w): wrap as docs/format-keys.md says, with the
 * crypto module directly: AAD = the first 48 bytes of the encoding.
 */
static int
seal_by_hand(const uint8_t wk[32], const uint8_t mk[32], struct ss_wrapped *w)
{
	struct ss_buf b = SS_BUF_INIT;
	struct ss_aead *a = ss_aead_new();
	int r;

	if ((r = ss_wrapped_encode(w, &b)) == 0)
		r = ss_aead_seal(a, wk, w->nonce, b.p, 48, mk, 32, w->ct,
		    w->tag);
	ss_aead_free(a);
	ss_buf_free(&b);
	return r;
}

static void
test_by_hand(void)
{
	struct ss_wrapped w;
	struct ss_keyset ks;
	uint8_t wk[32], mk[32], out[32];

	ss_rand(wk, 32);
	ss_rand(mk, 32);
	ss_keyset_derive(mk, &ks);
	memset(&w, 0, sizeof(w));
	w.version = 1;
	w.keyformat = SS_KF_RAW;
	w.root_guid = 99;
	memcpy(w.keyguid, ks.keyguid, 8);
	ss_rand(w.nonce, 12);
	is_int(seal_by_hand(wk, mk, &w), 0, "by hand: seal");
	is_int(ss_key_unwrap(wk, &w, out), 0,
	    "by hand: unwrap (AAD is the 48-byte header)");
	ok(memcmp(out, mk, 32) == 0, "by hand: MK back");
	w.keyguid[3] ^= 0x10;
	is_int(seal_by_hand(wk, mk, &w), 0, "by hand: seal, wrong keyguid");
	memset(out, 0xAA, 32);
	is_int(ss_key_unwrap(wk, &w, out), SS_EWRONGKEY,
	    "by hand: valid tag but keyguid not MK's: SS_EWRONGKEY");
	ok(allzero(out, 32), "by hand: MK output wiped");
	ss_keyset_wipe(&ks);
}

/* test_raw_aad(d, wk): a wrong key and changed AAD fields fail. */
static void
test_raw_aad(const struct ss_wrapped *d, const uint8_t wk[SS_KEY_LEN])
{
	struct ss_wrapped t;
	uint8_t bad[SS_KEY_LEN], out[SS_KEY_LEN];

	memcpy(bad, wk, sizeof(bad));
	bad[7] ^= 0x80;
	memset(out, 0xAA, sizeof(out));
	is_int(ss_key_unwrap(bad, d, out), SS_EWRONGKEY, "raw: wrong key");
	ok(allzero(out, 32), "raw: MK output wiped after a wrong key");
	t = *d;
	t.root_guid++;
	is_int(ss_key_unwrap(wk, &t, out), SS_EWRONGKEY,
	    "raw: another root_guid breaks unwrap (AAD)");
	t = *d;
	t.keyformat = SS_KF_HEX;
	is_int(ss_key_unwrap(wk, &t, out), SS_EWRONGKEY,
	    "raw: another keyformat breaks unwrap (AAD)");
}

static void
test_raw(void)
{
	struct ss_secret m;
	struct ss_wrapped w, d, t;
	struct ss_keyset ks;
	struct ss_buf b = SS_BUF_INIT;
	uint8_t mk[SS_KEY_LEN], out[SS_KEY_LEN], wk[SS_KEY_LEN];

	ss_rand(mk, sizeof(mk));
	memset(&m, 0, sizeof(m));
	ss_rand(m.b, 32);
	m.len = 32;
	is_int(ss_key_new_wrapped(SS_KF_RAW, &m, SS_PBKDF2_DEFAULT, 42, mk, &w),
	    0, "raw: new wrapped key");
	ss_keyset_derive(mk, &ks);
	ok(w.version == 1 && w.keyformat == SS_KF_RAW && w.iters == 0 &&
	    w.scrypt_logn == 0 && allzero(w.salt, 16) && w.root_guid == 42 &&
	    memcmp(w.keyguid, ks.keyguid, 8) == 0,
	    "raw: version, format, no KDF parameters, root guid, keyguid");
	ss_keyset_wipe(&ks);
	is_int(ss_wrapped_encode(&w, &b), 0, "raw: encode");
	is_int(ss_wrapped_decode(b.p, b.len, &d), 0, "raw: decode");
	is_int(ss_key_wrapping(SS_KF_RAW, &m, &d, wk), 0, "raw: WK");
	ok(memcmp(wk, m.b, 32) == 0, "raw: WK is the key");
	is_int(ss_key_unwrap(wk, &d, out), 0, "raw: unwrap");
	ok(memcmp(out, mk, 32) == 0, "raw: unwrap gives MK back");
	is_int(sweep(wk, b.p, b.len), 0,
	    "raw: every byte change and truncation is refused");

	test_raw_aad(&d, wk);
	is_int(ss_key_wrapping(SS_KF_HEX, &m, &d, wk), SS_EINVAL,
	    "raw: WK refused for a keyformat other than the stored one");

	t = d;
	t.keyguid[0] ^= 1;
	is_int(ss_key_wrap(m.b, mk, &t), SS_EINVAL,
	    "wrap refuses a keyguid that is not MK's");
	is_int(ss_key_new_wrapped(SS_KF_HEX, &m, 0, 42, mk, &t), 0,
	    "rewrap as hex (change-key)");
	ok(memcmp(t.keyguid, w.keyguid, 8) == 0, "change-key keeps keyguid");
	ok(memcmp(t.nonce, w.nonce, 12) != 0, "fresh nonce");
	m.len = 31;
	is_int(ss_key_new_wrapped(SS_KF_RAW, &m, 0, 42, mk, &t), SS_EINVAL,
	    "31-byte raw material refused");
	is_int(ss_key_new_wrapped(SS_KF_NONE, &m, 0, 42, mk, &t), SS_EINVAL,
	    "keyformat none cannot wrap");
	ss_secret_wipe(&m);
	ok(allzero(&m, sizeof(m)), "ss_secret_wipe wipes");
	ss_buf_free(&b);
}

/* test_passphrase_aad(d, wk, m): changed AAD fields fail (no KDF run). */
static void
test_passphrase_aad(const struct ss_wrapped *d, const uint8_t wk[SS_KEY_LEN],
    const struct ss_secret *m)
{
	struct ss_wrapped t;
	uint8_t out[SS_KEY_LEN], wk2[SS_KEY_LEN];

	t = *d;
	t.iters++;
	is_int(ss_key_unwrap(wk, &t, out), SS_EWRONGKEY,
	    "passphrase: another iters breaks unwrap (AAD)");
	t = *d;
	t.root_guid ^= 1ULL << 63;
	is_int(ss_key_unwrap(wk, &t, out), SS_EWRONGKEY,
	    "passphrase: another root_guid breaks unwrap (AAD)");
	t = *d;
	t.salt[15] ^= 1;
	is_int(ss_key_unwrap(wk, &t, out), SS_EWRONGKEY,
	    "passphrase: another salt breaks unwrap (AAD)");
	t = *d;
	t.scrypt_logn = 16;
	is_int(ss_key_wrapping(SS_KF_PASSPHRASE, m, &t, wk2), SS_ENOTSUP,
	    "passphrase: a scrypt cost the crypto module lacks: SS_ENOTSUP");
}

static void
test_passphrase(void)
{
	struct ss_secret m;
	struct ss_wrapped w, d, t;
	struct ss_buf b = SS_BUF_INIT;
	uint8_t mk[SS_KEY_LEN], out[SS_KEY_LEN], wk[SS_KEY_LEN];
	struct timespec t0, t1;

	ss_rand(mk, sizeof(mk));
	memset(&m, 0, sizeof(m));
	set_secret(&m, "correct horse battery", 21);
	is_int(ss_key_new_wrapped(SS_KF_PASSPHRASE, &m, SS_PBKDF2_MIN - 1, 7,
	    mk, &w), SS_EINVAL, "pbkdf2iters 99999 refused");
	ok(msg_is("minimum pbkdf2 iterations is 100000"), "its message");

	clock_gettime(CLOCK_MONOTONIC, &t0);
	is_int(ss_key_new_wrapped(SS_KF_PASSPHRASE, &m, SS_PBKDF2_MIN, 7, mk,
	    &w), 0, "passphrase: new wrapped key, 100000 iterations");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	kdf_runs++;
	printf("# one passphrase KDF (100000, 2^15): %.3f s\n",
	    (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	ok(w.iters == SS_PBKDF2_MIN && w.scrypt_logn == SS_SCRYPT_LOGN &&
	    !allzero(w.salt, 16), "passphrase: iters, logn, random salt");
	ss_wrapped_encode(&w, &b);
	is_int(ss_wrapped_decode(b.p, b.len, &d), 0, "passphrase: decode");
	is_int(ss_key_wrapping(SS_KF_PASSPHRASE, &m, &d, wk), 0,
	    "passphrase: WK");
	kdf_runs++;
	is_int(ss_key_unwrap(wk, &d, out), 0, "passphrase: unwrap");
	ok(memcmp(out, mk, 32) == 0, "passphrase: MK back");
	is_int(sweep(wk, b.p, b.len), 0,
	    "passphrase: every byte change and truncation is refused");

	test_passphrase_aad(&d, wk, &m);

	set_secret(&m, "correct horse battery!", 22);
	is_int(ss_key_wrapping(SS_KF_PASSPHRASE, &m, &d, wk), 0,
	    "passphrase: WK of a wrong passphrase");
	kdf_runs++;
	is_int(ss_key_unwrap(wk, &d, out), SS_EWRONGKEY,
	    "passphrase: wrong passphrase");
	ok(msg_is("incorrect key provided"), "wrong key message");
	is_int(ss_key_new_wrapped(SS_KF_PASSPHRASE, &m, SS_PBKDF2_MIN, 7, mk,
	    &t), 0, "passphrase: change-key");
	kdf_runs++;
	ok(memcmp(t.salt, w.salt, 16) != 0, "change-key draws a new salt");
	ok(memcmp(t.keyguid, w.keyguid, 8) == 0, "change-key keeps keyguid");
	ss_secret_wipe(&m);
	ss_buf_free(&b);
}

/* ---------- reading key material ---------- */

/* keyfile(name, p, n): write a file in tmpdir, return its "file://" URI. */
static const char *
keyfile(const char *name, const void *p, size_t n)
{
	static char uri[512];
	char path[400];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	snprintf(uri, sizeof(uri), "file://%s", path);
	if ((f = fopen(path, "wb")) == NULL || fwrite(p, 1, n, f) != n ||
	    fclose(f) != 0)
		printf("# cannot write %s\n", path);
	return uri;
}

/* readfile_is(p, n, kf, want_r, want_msg): read and check the outcome. */
static void
readfile_is(const void *p, size_t n, int kf, int want_r, const char *want,
    const char *name)
{
	struct ss_secret s;
	int r;

	r = ss_key_read(keyfile("k", p, n), kf, "pool/ds", 0, &s);
	if (want == NULL) {
		is_int(r, want_r, "%s", name);
		return;
	}
	ok(r == want_r && msg_is(want), "%s", name);
	ok(allzero(&s, sizeof(s)), "%s: output wiped", name);
}

static void
test_read_raw_hex(void)
{
	static const char hex[] = "00112233445566778899aabbccddeeff"
	    "0123456789ABCDEFfedcba9876543210";
	uint8_t raw[600], want[32];
	char buf[200];
	struct ss_secret s;

	memset(raw, 'r', sizeof(raw));
	raw[10] = '\n';
	raw[31] = '\n';
	is_int(ss_key_read(keyfile("k", raw, 32), SS_KF_RAW, "p/d", 0, &s), 0,
	    "raw: 32 bytes");
	ok(s.len == 32 && memcmp(s.b, raw, 32) == 0,
	    "raw: newlines are key bytes, nothing trimmed");
	readfile_is(raw, 31, SS_KF_RAW, SS_EINVAL,
	    "Raw key too short (expected 32).", "raw: 31 bytes");
	readfile_is(raw, 33, SS_KF_RAW, SS_EINVAL,
	    "Raw key too long (expected 32).", "raw: 33 bytes");
	readfile_is(raw, 600, SS_KF_RAW, SS_EINVAL,
	    "Raw key too long (expected 32).", "raw: 600 bytes");

	ss_hex_decode("00112233445566778899aabbccddeeff"
	    "0123456789abcdeffedcba9876543210", 64, want, 32);
	is_int(ss_key_read(keyfile("k", hex, 64), SS_KF_HEX, "p/d", 0, &s), 0,
	    "hex: 64 chars, mixed case");
	ok(s.len == 32 && memcmp(s.b, want, 32) == 0 && allzero(s.b + 32, 488),
	    "hex: decoded to 32 bytes, rest of the buffer wiped");
	snprintf(buf, sizeof(buf), "%s\n", hex);
	is_int(ss_key_read(keyfile("k", buf, 65), SS_KF_HEX, "p/d", 0, &s), 0,
	    "hex: trailing newline trimmed");
	ok(s.len == 32 && memcmp(s.b, want, 32) == 0, "hex: same key");
	snprintf(buf, sizeof(buf), "%s\n\n", hex);
	readfile_is(buf, 66, SS_KF_HEX, SS_EINVAL,
	    "Hex key too long (expected 64).", "hex: only one newline trimmed");
	readfile_is(hex, 63, SS_KF_HEX, SS_EINVAL,
	    "Hex key too short (expected 64).", "hex: 63 chars");
	snprintf(buf, sizeof(buf), "%s0", hex);
	readfile_is(buf, 65, SS_KF_HEX, SS_EINVAL,
	    "Hex key too long (expected 64).", "hex: 65 chars");
	snprintf(buf, sizeof(buf), "%s", hex);
	buf[40] = 'g';
	readfile_is(buf, 64, SS_KF_HEX, SS_EINVAL,
	    "Invalid hex character detected.", "hex: invalid character");
	ok(strstr(ss_errmsg(), "0011") == NULL, "no key material in messages");
	ss_secret_wipe(&s);
}

static void
test_read_passphrase(void)
{
	char p[600];
	struct ss_secret s;
	const char *uri;

	memset(p, 'p', sizeof(p));
	readfile_is("short", 5, SS_KF_PASSPHRASE, SS_EINVAL,
	    "Passphrase too short (min 8).", "passphrase: 5 bytes");
	readfile_is("1234567\n", 8, SS_KF_PASSPHRASE, SS_EINVAL,
	    "Passphrase too short (min 8).", "passphrase: 7 bytes + newline");
	is_int(ss_key_read(keyfile("k", "12345678\n", 9), SS_KF_PASSPHRASE,
	    "p/d", 0, &s), 0, "passphrase: 8 bytes + newline");
	ok(s.len == 8 && memcmp(s.b, "12345678", 8) == 0, "newline trimmed");
	readfile_is(p, 512, SS_KF_PASSPHRASE, 0, NULL, "passphrase: 512");
	p[512] = '\n';
	is_int(ss_key_read(keyfile("k", p, 513), SS_KF_PASSPHRASE, "p/d", 0,
	    &s), 0, "passphrase: 512 + newline");
	is_int(s.len, 512, "passphrase: 512 bytes kept");
	p[512] = 'p';
	readfile_is(p, 513, SS_KF_PASSPHRASE, SS_EINVAL,
	    "Passphrase too long (max 512).", "passphrase: 513 bytes");
	readfile_is(p, 600, SS_KF_PASSPHRASE, SS_EINVAL,
	    "Passphrase too long (max 512).", "passphrase: 600 bytes");

	snprintf(p, sizeof(p), "file://%s/missing", tmpdir);
	is_int(ss_key_read(p, SS_KF_PASSPHRASE, "p/d", 0, &s), SS_ENOENT,
	    "missing key file: SS_ENOENT");
	ok(strstr(ss_errmsg(), "does not exist") &&
	    strstr(ss_errmsg(), p + 7), "missing key file: named (%s)",
	    ss_errmsg());
	is_int(ss_key_read(p + 7, SS_KF_PASSPHRASE, "p/d", 0, &s), SS_EINVAL,
	    "a bare path is not a keylocation");
	is_int(ss_key_read("none", SS_KF_PASSPHRASE, "p/d", 0, &s), SS_EINVAL,
	    "keylocation none");
	uri = keyfile("k", "12345678", 8);
	is_int(ss_key_read(uri, SS_KF_NONE, "p/d", 0, &s), SS_EINVAL,
	    "keyformat none has no key");
	snprintf(p, sizeof(p), "file://%s", tmpdir);
	ok(ss_key_read(p, SS_KF_PASSPHRASE, "p/d", 0, &s) == SS_EIO,
	    "a directory: SS_EIO (%s)", ss_errmsg());
	ss_secret_wipe(&s);
}

/* stdin_read(p, n, kf, s): ss_key_read("prompt") with a pipe as stdin. */
static int
stdin_read(const void *p, size_t n, int kf, struct ss_secret *s)
{
	int fds[2], saved, r;

	saved = dup(STDIN_FILENO);
	if (pipe(fds) != 0 || write(fds[1], p, n) != (ssize_t)n)
		return -100;
	close(fds[1]);
	dup2(fds[0], STDIN_FILENO);
	close(fds[0]);
	r = ss_key_read("prompt", kf, "pool/ds", SS_KEYREAD_NEW, s);
	dup2(saved, STDIN_FILENO);
	close(saved);
	return r;
}

static void
test_read_stdin(void)
{
	struct ss_secret s;
	uint8_t raw[32];

	memset(&s, 0, sizeof(s));
	is_int(stdin_read("from a pipe\n", 12, SS_KF_PASSPHRASE, &s), 0,
	    "stdin pipe: passphrase read once, no confirmation");
	ok(s.len == 11 && memcmp(s.b, "from a pipe", 11) == 0,
	    "stdin pipe: passphrase content");
	memset(raw, '\n', sizeof(raw));
	is_int(stdin_read(raw, 32, SS_KF_RAW, &s), 0, "stdin pipe: raw key");
	is_int(stdin_read(raw, 20, SS_KF_RAW, &s), SS_EINVAL,
	    "stdin pipe: short raw key");
	ss_secret_wipe(&s);
}

/* ---------- the terminal, through a pseudo-terminal ---------- */

/*
 * pty_child(slave, kf, flags, want_r, want_msg, want_key): runs in a new
 * session whose controlling terminal is the pty; exits 0 if ss_key_read
 * returned what was expected and echo is back on afterwards.
 */
static void
pty_child(const char *slave, int kf, int flags, int want_r,
    const char *want_msg, const char *want_key)
{
	struct ss_secret s;
	struct termios tio;
	int fd, r, bad = 0;

	setsid();
	if ((fd = open(slave, O_RDWR)) < 0)
		_exit(3);
	(void)ioctl(fd, TIOCSCTTY, 0);
	dup2(fd, STDIN_FILENO);
	r = ss_key_read("prompt", kf, "pool/ds", flags, &s);
	if (r != want_r || (want_msg && strcmp(ss_errmsg(), want_msg) != 0))
		bad |= 1;
	if (want_key && (s.len != strlen(want_key) ||
	    memcmp(s.b, want_key, s.len) != 0))
		bad |= 2;
	if (tcgetattr(fd, &tio) != 0 || !(tio.c_lflag & ECHO))
		bad |= 4;
	if (bad)
		fprintf(stderr, "# child: r=%d msg='%s' bad=%d\n", r,
		    ss_errmsg(), bad);
	_exit(bad);
}

/*
 * wait_child(pid, st): waitpid with a 30 s limit, so that a bug makes the
 * test fail instead of hang: the child is then killed and -1 returned.
 */
static int
wait_child(pid_t pid, int *st)
{
	const struct timespec ms10 = { 0, 10000000 };

	for (int i = 0; i < 3000; i++) {
		if (waitpid(pid, st, WNOHANG) == pid)
			return 0;
		nanosleep(&ms10, NULL);
	}
	printf("# child %d did not finish: killed\n", (int)pid);
	kill(pid, SIGKILL);
	waitpid(pid, st, 0);
	return -1;
}

/* pty_wait(m, acc, n, want): read the master until ${want} shows. */
static int
pty_wait(int m, char *acc, size_t cap, size_t *n, const char *want)
{
	struct pollfd pfd = { .fd = m, .events = POLLIN };
	ssize_t k;

	while (want == NULL || strstr(acc, want) == NULL) {
		if (poll(&pfd, 1, 10000) <= 0)
			return -1;
		k = read(m, acc + *n, cap - 1 - *n);
		if (k <= 0)
			return want == NULL ? 0 : -1;
		*n += (size_t)k;
		acc[*n] = '\0';
	}
	return 0;
}

struct pty_case {
	const char *name;
	int kf, flags;
	const char *prompts[2];
	const char *inputs[2];
	int want_r;
	const char *want_msg, *want_key;
};

static void
pty_run(const struct pty_case *c)
{
	char acc[4096] = "", slave[128];
	size_t n = 0;
	int m, st = -1, fail = 0;
	pid_t pid;

	if ((m = posix_openpt(O_RDWR | O_NOCTTY)) < 0 || grantpt(m) != 0 ||
	    unlockpt(m) != 0 || ptsname_r(m, slave, sizeof(slave)) != 0) {
		ok(1, "# SKIP %s: no pseudo-terminal", c->name);
		return;
	}
	if ((pid = fork()) == 0) {
		close(m);
		pty_child(slave, c->kf, c->flags, c->want_r, c->want_msg,
		    c->want_key);
	}
	for (int i = 0; i < 2 && c->prompts[i] && !fail; i++) {
		fail = pty_wait(m, acc, sizeof(acc), &n, c->prompts[i]) != 0;
		if (!fail && write(m, c->inputs[i], strlen(c->inputs[i])) < 0)
			fail = 1;
	}
	(void)pty_wait(m, acc, sizeof(acc), &n, NULL);
	if (wait_child(pid, &st) != 0)
		fail = 1;
	close(m);
	if (strstr(acc, "horse") != NULL)	/* typed text was echoed */
		fail = 1;
	ok(!fail && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "terminal: %s", c->name);
	if (fail || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		printf("#   terminal output: '%s'\n", acc);
}

/*
 * test_tty_interrupt: SIGINT while the prompt waits restores echo, then
 * still kills the process by SIGINT.  On Linux, tcgetattr on the master
 * gives the slave's settings.
 */
static void
test_tty_interrupt(void)
{
	char acc[1024] = "", slave[128];
	struct termios tio;
	size_t n = 0;
	int m, st = -1, waited;
	pid_t pid;

	if ((m = posix_openpt(O_RDWR | O_NOCTTY)) < 0 || grantpt(m) != 0 ||
	    unlockpt(m) != 0 || ptsname_r(m, slave, sizeof(slave)) != 0) {
		ok(1, "# SKIP no pseudo-terminal");
		return;
	}
	if ((pid = fork()) == 0) {
		close(m);
		/*
		 * started in the background by a shell without job control,
		 * the tests inherit SIGINT ignored, and a prompt then only
		 * fails on it, as OpenSSH's does: this test is about the
		 * default action
		 */
		signal(SIGINT, SIG_DFL);
		pty_child(slave, SS_KF_PASSPHRASE, 0, 0, NULL, NULL);
	}
	waited = pty_wait(m, acc, sizeof(acc), &n, "Enter passphrase");
	kill(pid, SIGINT);
	ok(wait_child(pid, &st) == 0 && waited == 0 &&
	    tcgetattr(m, &tio) == 0 && (tio.c_lflag & ECHO) &&
	    WIFSIGNALED(st) && WTERMSIG(st) == SIGINT,
	    "terminal: SIGINT restores echo, then kills");
	close(m);
}

static void
test_read_tty(void)
{
	static const struct pty_case cases[] = {
		{ "passphrase prompt, echo off", SS_KF_PASSPHRASE, 0,
		  { "Enter passphrase for 'pool/ds': " },
		  { "horse staple\n" }, 0, NULL, "horse staple" },
		{ "new passphrase asked twice", SS_KF_PASSPHRASE,
		  SS_KEYREAD_NEW,
		  { "Enter new passphrase for 'pool/ds': ",
		    "Re-enter new passphrase for 'pool/ds': " },
		  { "horse staple\n", "horse staple\n" }, 0, NULL,
		  "horse staple" },
		{ "new passphrases that differ", SS_KF_PASSPHRASE,
		  SS_KEYREAD_NEW,
		  { "Enter new passphrase for 'pool/ds': ",
		    "Re-enter new passphrase for 'pool/ds': " },
		  { "horse staple\n", "horse stable\n" }, SS_EINVAL,
		  "Provided keys do not match.", NULL },
		{ "a short passphrase is refused before re-entry",
		  SS_KF_PASSPHRASE, SS_KEYREAD_NEW,
		  { "Enter new passphrase for 'pool/ds': " },
		  { "horse\n" }, SS_EINVAL, "Passphrase too short (min 8).",
		  NULL },
		{ "hex prompt", SS_KF_HEX, 0,
		  { "Enter hex key for 'pool/ds': " },
		  { "zz horse\n" }, SS_EINVAL,
		  "Hex key too short (expected 64).", NULL },
		{ "raw keys refused", SS_KF_RAW, 0, { NULL }, { NULL },
		  SS_EINVAL, "Cannot enter raw keys on the terminal", NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		pty_run(&cases[i]);
}

/* ---------- the kernel keyring ---------- */

/* proc_keys_perm(desc): the permission field of ${desc} in /proc/keys. */
static unsigned long
proc_keys_perm(const char *desc)
{
	char line[512];
	unsigned long perm = 0;
	FILE *f;

	if ((f = fopen("/proc/keys", "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, desc) != NULL)
			sscanf(line, "%*x %*s %*s %*s %lx", &perm);
	fclose(f);
	return perm;
}

static void
test_keyring_other_process(const char *desc, const uint8_t mk[32])
{
	uint8_t got[32];
	int st = -1;
	pid_t pid;

	if ((pid = fork()) == 0)
		_exit(ss_keyring_get(desc, got) == 0 &&
		    memcmp(got, mk, 32) == 0 ? 0 : 1);
	ok(wait_child(pid, &st) == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "keyring: another process of the same uid gets the key");
}

static void
test_keyring(void)
{
	uint8_t mk1[32], mk2[32], got[32];
	char desc[64];
	int r;

	ss_rand(mk1, 32);
	ss_rand(mk2, 32);
	ss_keyring_desc(ss_random_u64(), ss_random_u64(), desc);
	ok(strlen(desc) == 42 && strncmp(desc, "snapseal:", 9) == 0 &&
	    desc[25] == ':', "keyring: description %s", desc);
	r = ss_keyring_add(desc, mk1);
	if (r == SS_ENOTSUP || r == SS_EPERM) {
		for (int i = 0; i < 14; i++)
			ok(1, "# SKIP kernel keyring unavailable: %s",
			    ss_errmsg());
		return;
	}
	is_int(r, 0, "keyring: add");
	is_int(ss_keyring_get(desc, got), 0, "keyring: get");
	ok(memcmp(got, mk1, 32) == 0, "keyring: same key");
	is_int(proc_keys_perm(desc), 0x3f0f0000,
	    "keyring: possessor all, user view/read/write/search only");
	test_keyring_other_process(desc, mk1);
	is_int(ss_keyring_add(desc, mk2), 0, "keyring: add again");
	is_int(ss_keyring_get(desc, got), 0, "keyring: get again");
	ok(memcmp(got, mk2, 32) == 0, "keyring: add replaced the key");
	is_int(ss_keyring_del(desc), 0, "keyring: del");
	memset(got, 0xAA, 32);
	is_int(ss_keyring_get(desc, got), SS_ENOKEY, "keyring: get after del");
	ok(allzero(got, 32), "keyring: output wiped");
	is_int(ss_keyring_del(desc), SS_ENOKEY, "keyring: del twice");

	/* A payload of the wrong size (not made by us) is SS_ECORRUPT. */
	ss_keyring_desc(ss_random_u64(), ss_random_u64(), desc);
	if (syscall(SYS_add_key, "user", desc, "short", 5, KEY_SPEC_USER) < 0)
		printf("# add_key: %s\n", strerror(errno));
	is_int(ss_keyring_get(desc, got), SS_ECORRUPT,
	    "keyring: a 5-byte key is SS_ECORRUPT");
	is_int(ss_keyring_del(desc), 0, "keyring: del it");
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	test_derive();
	test_names();
	test_layout();
	test_raw();
	test_by_hand();
	test_passphrase();
	test_read_raw_hex();
	test_read_passphrase();
	test_read_stdin();
	test_read_tty();
	test_tty_interrupt();
	test_keyring();
	ok(kdf_runs <= 4, "at most 4 passphrase KDF runs (%d)", kdf_runs);
	ss_rm_rf(tmpdir);
	return done_testing();
}
