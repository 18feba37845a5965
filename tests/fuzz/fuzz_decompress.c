/*
 * fuzz_decompress: ss_decompress for every algorithm number 0..3 (off,
 * lz4, zstd, and one unknown) on arbitrary bytes.  Input: the output
 * length as a little-endian u32 (taken modulo 1 MiB + 1), then the
 * compressed bytes; inputs shorter than 4 bytes ask for 0 bytes.
 *
 * liblz4 and libzstd are the system's, built without ASan, so ASan cannot
 * see their writes: the output buffer is followed by a canary that must
 * survive every call.  Properties: 0 or a negative SS_E* code; nothing is
 * written past the output length; the unknown algorithm is always
 * SS_ECORRUPT; "off" succeeds exactly when the lengths match, and copies.
 */
#include <string.h>

#include "compress/compress.h"
#include "fuzz.h"

#define CANARY_LEN 64
#define CANARY_BYTE 0xa5

static int
canary_intact(const uint8_t *p)
{
	for (size_t i = 0; i < CANARY_LEN; i++)
		if (p[i] != CANARY_BYTE)
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *src = data;
	size_t n = size, dstlen = 0;
	uint8_t *dst;
	int r;

	if (size >= 4) {
		dstlen = ss_le32dec(data) % (FUZZ_DSTLEN_MAX + 1);
		src += 4;
		n -= 4;
	}
	if ((dst = malloc(dstlen + CANARY_LEN)) == NULL)
		return 0;
	for (int algo = 0; algo <= 3; algo++) {
		memset(dst + dstlen, CANARY_BYTE, CANARY_LEN);
		r = ss_decompress(algo, src, n, dst, dstlen);
		FUZZ_CHECK(r <= 0 && r >= SS_EWRONGKEY);
		FUZZ_CHECK(canary_intact(dst + dstlen));
		if (algo == SS_COMP_OFF) {
			FUZZ_CHECK((r == 0) == (n == dstlen));
			FUZZ_CHECK(r != 0 || n == 0 ||
			    memcmp(dst, src, n) == 0);
		}
		if (algo == 3)
			FUZZ_CHECK(r == SS_ECORRUPT);
	}
	free(dst);
	return 0;
}
