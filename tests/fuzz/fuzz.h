/*
 * fuzz.h: shared by the libFuzzer targets and by gen_corpus, which must
 * agree on the fixed keys (a seed sealed under other keys would never get
 * past authentication, so the fuzzer could not reach the code behind it),
 * on fuzz_receive's input layout, and share the stream fix-up and a
 * temporary directory helper.  These keys are test constants, never used
 * for real data.
 */
#ifndef SS_FUZZ_H
#define SS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "store/store.h"
#include "stream/stream.h"

/* The libFuzzer entry point (declared for -Wmissing-prototypes). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Object sealing keys of the fixed encrypted context. */
static const uint8_t FUZZ_K_ID[SS_KEY_LEN] = {
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
	0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
	0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
};
static const uint8_t FUZZ_K_OBJ[SS_KEY_LEN] = {
	0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
	0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
	0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
	0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f,
};
/* Wrapping key of fuzz_wrapped, and the master key gen_corpus wraps. */
static const uint8_t FUZZ_WK[SS_KEY_LEN] = {
	0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57,
	0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f,
	0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67,
	0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
};
static const uint8_t FUZZ_MK[SS_KEY_LEN] = {
	0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77,
	0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f,
	0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
	0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f,
};

/* fuzz_decompress reads its output length from 4 bytes, bounded so. */
#define FUZZ_DSTLEN_MAX (1u << 20)

/*
 * FUZZ_CHECK(cond): a property the library promises; abort (a crash that
 * libFuzzer records with its input) when it does not hold.
 */
#define FUZZ_CHECK(cond) do {						\
	if (!(cond))							\
		fuzz_fail(#cond, __FILE__, __LINE__);			\
} while (0)

static inline void
fuzz_fail(const char *what, const char *file, int line)
{
	fprintf(stderr, "%s:%d: property violated: %s\n", file, line, what);
	abort();
}

/*
 * fuzz_fixup_object(pay, len): recompute the checksum that ends the stored
 * object of an OBJECT record's payload (id, u32 length, stored object):
 * XXH3-128 over the id and the bytes before it (docs/format.md).
 */
static inline void
fuzz_fixup_object(uint8_t *pay, size_t len)
{
	size_t olen;

	if (len < SS_ID_LEN + 4)
		return;
	olen = ss_le32dec(pay + SS_ID_LEN);
	if (olen < SS_SUM_LEN || olen != len - SS_ID_LEN - 4)
		return;
	ss_sum128(pay, SS_ID_LEN, pay + SS_ID_LEN + 4, olen - SS_SUM_LEN,
	    pay + len - SS_SUM_LEN);
}

/*
 * fuzz_fixup_stream(p, n, objects): what a keyless rewriter of a stream
 * can do: recompute every record's chained checksum and make END's
 * totals, stream guid and whole-stream checksum agree (docs/stream-
 * format.md); with ${objects}, every OBJECT record's object checksum
 * first (fuzz_fixup_object).  Without this, nearly every mutation would stop
 * at the first checksum and the checks behind it would go unexplored.
 * The bytes after the last whole record are left as they are.
 */
static inline void
fuzz_fixup_stream(uint8_t *p, size_t n, int objects)
{
	uint8_t prev[SS_SUM_LEN], a[SS_SUM_LEN + SS_STREAM_RECHDR];
	uint64_t nrec = 0, nobj = 0, objbytes = 0;
	size_t off = 0, len;

	memset(prev, 0, sizeof(prev));
	while (n - off >= SS_STREAM_RECHDR + SS_SUM_LEN) {
		len = ss_le32dec(p + off + 4);
		if (len > n - off - SS_STREAM_RECHDR - SS_SUM_LEN)
			break;
		if (p[off] == SS_REC_OBJECT && objects)
			fuzz_fixup_object(p + off + SS_STREAM_RECHDR, len);
		if (p[off] == SS_REC_END && len == 48) {
			ss_le64enc(p + off + 8, nrec);
			ss_le64enc(p + off + 16, nobj);
			ss_le64enc(p + off + 24, objbytes);
			if (off == 0 || ss_le32dec(p + 4) < 44)
				ss_le64enc(p + off + 32, 0);
			else	/* BEGIN's stream guid */
				memcpy(p + off + 32, p + 8 + 36, 8);
			ss_sum128(p, off, NULL, 0, p + off + 40);
		}
		memcpy(a, prev, SS_SUM_LEN);
		memcpy(a + SS_SUM_LEN, p + off, SS_STREAM_RECHDR);
		ss_sum128(a, sizeof(a), p + off + SS_STREAM_RECHDR, len, prev);
		memcpy(p + off + SS_STREAM_RECHDR + len, prev, SS_SUM_LEN);
		if (p[off] == SS_REC_OBJECT) {
			nobj++;
			objbytes += len;
		}
		nrec++;
		off += SS_STREAM_RECHDR + len + SS_SUM_LEN;
	}
}

/*
 * fuzz_receive's inputs: one selector byte, then a stream.  The low three
 * bits pick the destination (enum fuzz_rdest, fuzz_receive.c's table);
 * FUZZ_RECV_VERBATIM reads the stream with its checksums as they are,
 * otherwise they are recomputed first (fuzz_fixup_stream); the others are
 * receive options.  Its pool is set up with the streams of the seeds
 * FUZZ_RECV_BASE_* received, so that the incremental seeds gen_corpus
 * makes with them find their base.
 */
enum fuzz_rdest {
	FUZZ_RD_NEW,		/* fz/new/x: a new dataset, plain parent */
	FUZZ_RD_UNDER_ENC,	/* fz/enc/x: new, encrypted parent (key
				   loaded): a plain stream is re-sealed */
	FUZZ_RD_PLAIN,		/* fz/plain: received from BASE_PLAIN */
	FUZZ_RD_RAW,		/* fz/raw: received from BASE_RAW, no key */
	FUZZ_RD_SEALED,		/* fz/enc/sealed: BASE_PLAIN re-sealed */
	FUZZ_RD_EMPTY,		/* fz/new: created here, no snapshot */
	FUZZ_RD_LATER,		/* fz/later: BASE_REPL received, @a and @b */
	FUZZ_RD_ENCROOT		/* fz/enc: created here, with a snapshot */
};
#define FUZZ_RECV_DESTMASK 0x07
#define FUZZ_RECV_VERBATIM 0x08
#define FUZZ_RECV_FORCE 0x10	/* receive -F */
#define FUZZ_RECV_DRYRUN 0x20	/* receive -n */
#define FUZZ_RECV_PROPS 0x40	/* receive -o compression=lz4 -x compression */
#define FUZZ_RECV_BASE_PLAIN "recv-full-plain"	/* src/plain@a */
#define FUZZ_RECV_BASE_RAW "recv-repl-raw-a"	/* src/enc@a, raw, -R */
#define FUZZ_RECV_BASE_REPL "recv-repl-plain"	/* src/plain@a, @b; -R */

/* fuzz_tmpbase(): /dev/shm (no disk writes, free fsync), $TMPDIR or /tmp. */
static inline const char *
fuzz_tmpbase(void)
{
	const char *base = getenv("TMPDIR");

	if (access("/dev/shm", W_OK | X_OK) == 0)
		return "/dev/shm";
	return base != NULL && *base != '\0' ? base : "/tmp";
}

/*
 * fuzz_mkdtemp(tag): a new private directory "snapseal-TAG.XXXXXX" in
 * fuzz_tmpbase(); newly allocated, NULL on error.
 */
static inline char *
fuzz_mkdtemp(const char *tag)
{
	char *t = ss_asprintf("%s/snapseal-%s.XXXXXX", fuzz_tmpbase(), tag);

	if (t != NULL && mkdtemp(t) == NULL) {
		free(t);
		t = NULL;
	}
	return t;
}

#endif /* SS_FUZZ_H */
