/*
 * fuzz_wrapped: ss_wrapped_decode then ss_key_unwrap with a fixed wrapping
 * key (docs/format.md 8) on arbitrary bytes.
 *
 * Properties: decode returns 0 or a negative SS_E* code and leaves ${w}
 * untouched on failure; an accepted encoding is canonical (re-encoding
 * gives back the input); unwrap returns 0 or a negative code, wipes the
 * output key on failure, and on success gives a key whose keyguid is the
 * one recorded.
 */
#include <string.h>

#include "keys/keys.h"
#include "fuzz.h"

static int
allzero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

static void
check_unwrap(const struct ss_wrapped *w)
{
	uint8_t mk[SS_KEY_LEN];
	struct ss_keyset ks;
	int r;

	memset(mk, 0xa5, sizeof(mk));
	r = ss_key_unwrap(FUZZ_WK, w, mk);
	FUZZ_CHECK(r <= 0 && r >= SS_EWRONGKEY);
	if (r != 0) {
		FUZZ_CHECK(allzero(mk, sizeof(mk)));
		return;
	}
	FUZZ_CHECK(ss_keyset_derive(mk, &ks) == 0);
	FUZZ_CHECK(memcmp(ks.keyguid, w->keyguid, sizeof(ks.keyguid)) == 0);
	ss_keyset_wipe(&ks);
	ss_cleanse(mk, sizeof(mk));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ss_wrapped w, before;
	struct ss_buf b = SS_BUF_INIT;
	int r;

	memset(&w, 0x5a, sizeof(w));
	memcpy(&before, &w, sizeof(before));
	r = ss_wrapped_decode(data, size, &w);
	FUZZ_CHECK(r <= 0 && r >= SS_EWRONGKEY);
	if (r != 0) {
		FUZZ_CHECK(memcmp(&w, &before, sizeof(w)) == 0);
		return 0;
	}
	FUZZ_CHECK(ss_wrapped_encode(&w, &b) == 0);
	FUZZ_CHECK(b.len == size && memcmp(b.p, data, size) == 0);
	ss_buf_free(&b);
	check_unwrap(&w);
	return 0;
}
