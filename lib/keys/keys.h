/*
 * keys: the key hierarchy of an encryption root.
 *
 *   user key material (raw 32 bytes | 64 hex chars | passphrase 8..512)
 *     -> wrapping key WK (the bytes; or scrypt(PBKDF2-SHA512(...)))
 *     -> unwraps MK, 32 random bytes made at create and never changed
 *     -> subkeys by HKDF-SHA256(MK, label): K_id, K_obj, K_rec, K_chunk,
 *        K_fp
 *
 * A loaded MK lives in the Linux kernel keyring (keyutils, user keyring,
 * type "user"), described "snapseal:<pool guid>:<root guid>", so a key
 * loaded for one pool is invisible to another pool on the same host.
 * MK never reaches disk unwrapped.  Only this module includes keyutils.h.
 */
#ifndef SS_KEYS_H
#define SS_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"
#include "crypto/crypto.h"

enum ss_keyformat {
	SS_KF_NONE = 0,
	SS_KF_RAW = 1,
	SS_KF_HEX = 2,
	SS_KF_PASSPHRASE = 3
};

#define SS_PBKDF2_DEFAULT 350000
#define SS_PBKDF2_MIN 100000
#define SS_WRAP_VERSION 1
#define SS_SALT_LEN 16

/* ss_keyformat_parse("raw"|"hex"|"passphrase"|"none") / _name(kf). */
int ss_keyformat_parse(const char *s, int *kf);
const char *ss_keyformat_name(int kf);

/*
 * ss_keylocation_valid(s): 0 if ${s} is "prompt", "none" or
 * "file:///absolute/path"; SS_EINVAL with an error detail otherwise.
 */
int ss_keylocation_valid(const char *s);

/* Derived subkeys of one encryption root. */
struct ss_keyset {
	uint8_t k_id[SS_KEY_LEN];	/* object identifiers (HMAC key) */
	uint8_t k_obj[SS_KEY_LEN];	/* object sealing (per-object keys) */
	uint8_t k_rec[SS_KEY_LEN];	/* snapshot record MACs */
	uint8_t k_chunk[SS_KEY_LEN];	/* chunker gear table seed */
	uint8_t k_fp[SS_KEY_LEN];	/* chunk fingerprints (ss_fp) */
	uint8_t keyguid[8];		/* one-way public fingerprint of MK */
};

/* ss_keyset_derive(mk, ks): HKDF-SHA256 with distinct labels. */
int ss_keyset_derive(const uint8_t mk[SS_KEY_LEN], struct ss_keyset *ks);
void ss_keyset_wipe(struct ss_keyset *ks);

/* The wrapped master key, stored in the catalog and sent in raw streams. */
struct ss_wrapped {
	uint8_t version;		/* SS_WRAP_VERSION */
	uint8_t keyformat;		/* enum ss_keyformat */
	uint64_t iters;			/* pbkdf2iters (0 unless passphrase) */
	uint8_t scrypt_logn;		/* 0 unless passphrase */
	uint8_t salt[SS_SALT_LEN];	/* zeros unless passphrase */
	uint64_t root_guid;		/* guid of the encryption root */
	uint8_t keyguid[8];		/* from ss_keyset_derive */
	uint8_t nonce[SS_NONCE_LEN];
	uint8_t ct[SS_KEY_LEN];
	uint8_t tag[SS_TAG_LEN];
};

/* ss_wrapped_encode(w, out) appends the fixed-size encoding (docs/format.md). */
int ss_wrapped_encode(const struct ss_wrapped *w, struct ss_buf *out);
/* ss_wrapped_decode(p, n, w): untrusted input; SS_ECORRUPT / SS_ENOTSUP. */
int ss_wrapped_decode(const void *p, size_t n, struct ss_wrapped *w);

/*
 * User key material, in a fixed buffer wiped by ss_secret_wipe.
 */
struct ss_secret {
	uint8_t b[520];
	size_t len;
};
void ss_secret_wipe(struct ss_secret *s);

/*
 * ss_key_read(location, kf, dsname, flags, out): obtain key material.
 *   "file:///path": read the file (at most 520 bytes).
 *   "prompt": if stdin is a terminal, prompt on /dev/tty with echo off
 *     ("Enter passphrase for 'ds':", "Enter hex key for 'ds':"; raw keys
 *     cannot be entered on a terminal); with SS_KEYREAD_NEW ask twice
 *     ("Enter new passphrase:", "Re-enter new passphrase:").  If stdin is
 *     not a terminal, read it from stdin once.
 * Then validate it for ${kf} with zfs's rules and texts: raw exactly 32
 * bytes ("Raw key too short (expected 32)." / "too long"); hex 64 hex chars,
 * one trailing newline trimmed; passphrase 8..512 bytes, one trailing
 * newline trimmed.  Errors: SS_ENOENT (missing file, naming it), SS_EINVAL.
 */
#define SS_KEYREAD_NEW 0x1
int ss_key_read(const char *location, int kf, const char *dsname, int flags,
    struct ss_secret *out);

/*
 * ss_key_wrapping(kf, material, w, wk): derive the wrapping key from
 * validated material, using w->iters, w->salt, w->scrypt_logn for
 * passphrases.
 */
int ss_key_wrapping(int kf, const struct ss_secret *material,
    const struct ss_wrapped *w, uint8_t wk[SS_KEY_LEN]);

/*
 * ss_key_wrap(wk, mk, w): fill w->nonce (random), w->ct, w->tag.  The other
 * fields of ${w} (version, keyformat, iters, scrypt_logn, salt, root_guid,
 * keyguid) must be set first: they are the AAD.
 */
int ss_key_wrap(const uint8_t wk[SS_KEY_LEN], const uint8_t mk[SS_KEY_LEN],
    struct ss_wrapped *w);

/*
 * ss_key_unwrap(wk, w, mk): SS_EWRONGKEY if the tag does not verify or the
 * keyguid derived from the unwrapped key differs from w->keyguid.
 */
int ss_key_unwrap(const uint8_t wk[SS_KEY_LEN], const struct ss_wrapped *w,
    uint8_t mk[SS_KEY_LEN]);

/*
 * ss_key_new_wrapped(kf, material, iters, root_guid, mk, w):
 * convenience for create and change-key: set version/keyformat/iters/
 * scrypt_logn, draw a fresh salt for passphrases, derive WK, wrap ${mk}.
 */
int ss_key_new_wrapped(int kf, const struct ss_secret *material,
    uint64_t iters, uint64_t root_guid, const uint8_t mk[SS_KEY_LEN],
    struct ss_wrapped *w);

/* ---------- kernel keyring ---------- */

/* ss_keyring_desc(pool_guid, root_guid, out): "snapseal:%016llx:%016llx". */
void ss_keyring_desc(uint64_t pool_guid, uint64_t root_guid, char out[64]);
/* ss_keyring_add: store MK (replaces an existing key with the same desc). */
int ss_keyring_add(const char *desc, const uint8_t mk[SS_KEY_LEN]);
/* ss_keyring_get: SS_ENOKEY if not loaded. */
int ss_keyring_get(const char *desc, uint8_t mk[SS_KEY_LEN]);
/* ss_keyring_del: SS_ENOKEY if not loaded. */
int ss_keyring_del(const char *desc);

#endif /* SS_KEYS_H */
