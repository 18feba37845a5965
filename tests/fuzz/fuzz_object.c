/*
 * fuzz_object: ss_obj_parse and ss_obj_open (docs/format.md 5) on
 * arbitrary stored objects.  Input: the object's ID (the first 32 bytes;
 * all zeros if the input is shorter) then the stored bytes.
 *
 * Each input is tried twice: as it is, and with its trailing XXH3-128
 * checksum recomputed, as a keyless attacker (or a bit flip that happens to
 * be caught only later) can do.  Without the second pass nearly every
 * mutation would stop at the checksum and the header checks, decryption
 * and decompression behind it would go unexplored.
 *
 * Properties: every call returns 0 or a negative SS_E* code; a parsed
 * header's references lie inside the input; an opened object has the
 * header's plaintext length and hashes back to its ID.
 */
#include <string.h>

#include "compress/compress.h"
#include "store/store.h"
#include "fuzz.h"

static struct ss_objctx *enc_ctx, *plain_ctx;
static struct ss_buf out = SS_BUF_INIT;

static void
check_code(int r)
{
	FUZZ_CHECK(r <= 0 && r >= SS_EWRONGKEY);
}

static void
try_open(struct ss_objctx *c, const struct ss_id *id, const uint8_t *p,
    size_t n, const struct ss_objhdr *h, int parsed)
{
	struct ss_id got;
	uint8_t type = 0;
	int r;

	r = ss_obj_open(c, id, p, n, &type, &out);
	check_code(r);
	if (r != 0) {
		FUZZ_CHECK(out.len == 0);
		return;
	}
	FUZZ_CHECK(parsed == 0);
	FUZZ_CHECK(out.len == (size_t)h->rawlen - 1);
	FUZZ_CHECK(ss_obj_id(c, type, out.p, out.len, &got) == 0);
	FUZZ_CHECK(memcmp(got.b, id->b, SS_ID_LEN) == 0);
}

static void
one_pass(const struct ss_id *id, const uint8_t *p, size_t n)
{
	struct ss_objhdr h;
	int r;

	r = ss_obj_parse(id, p, n, &h);
	check_code(r);
	if (r == 0) {
		FUZZ_CHECK(h.version == SS_OBJ_VERSION);
		FUZZ_CHECK(h.rawlen >= 1 && h.rawlen <= SS_OBJ_MAX + 1);
		FUZZ_CHECK(h.refs >= p && (size_t)h.nrefs * SS_ID_LEN <=
		    n - (size_t)(h.refs - p));
	}
	try_open(enc_ctx, id, p, n, &h, r);
	try_open(plain_ctx, id, p, n, &h, r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ss_id id;
	const uint8_t *p = data;
	size_t n = size;
	uint8_t *copy;

	if (enc_ctx == NULL) {
		enc_ctx = ss_objctx_new(FUZZ_K_ID, FUZZ_K_OBJ, SS_COMP_ZSTD, 3);
		plain_ctx = ss_objctx_new(NULL, NULL, SS_COMP_LZ4, 0);
		FUZZ_CHECK(enc_ctx != NULL && plain_ctx != NULL);
	}
	memset(&id, 0, sizeof(id));
	if (size >= SS_ID_LEN) {
		memcpy(id.b, data, SS_ID_LEN);
		p += SS_ID_LEN;
		n -= SS_ID_LEN;
	}
	one_pass(&id, p, n);

	/* Again with a valid checksum, in a buffer of exactly ${n} bytes. */
	if (n < SS_SUM_LEN || (copy = malloc(n)) == NULL)
		return 0;
	memcpy(copy, p, n);
	ss_sum128(id.b, SS_ID_LEN, copy, n - SS_SUM_LEN,
	    copy + n - SS_SUM_LEN);
	one_pass(&id, copy, n);
	free(copy);
	return 0;
}
