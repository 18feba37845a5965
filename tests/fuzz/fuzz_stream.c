/*
 * fuzz_stream: the stream reader (ss_sr_open, ss_sr_next;
 * docs/stream-format.md) on arbitrary bytes, read through a memfd as
 * receive reads a pipe, until an error or END.
 *
 * Each input is tried twice: as it is, and with every record's chained
 * checksum recomputed and END's totals and whole-stream checksum made to
 * agree (fuzz_fixup_stream), as a keyless rewriter can do.  Without the
 * second pass nearly every mutation would stop at the first checksum, and
 * the record order rules and END checks behind it would go unexplored.
 *
 * Properties: errors are SS_ECORRUPT, or SS_ENOTSUP from ss_sr_open (a
 * memfd neither fails nor runs out of memory here); a returned record has
 * a known type and a bounded length; END is 48 bytes, comes with the whole
 * input consumed and nothing can be read after it; an accepted stream
 * without skipped records is exactly what the writer writes for the same
 * BEGIN and records.
 */
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "stream/stream.h"
#include "fuzz.h"

static int in_fd = -1, out_fd = -1;

static int
memfd_load(int fd, const uint8_t *p, size_t n)
{
	FUZZ_CHECK(ftruncate(fd, 0) == 0);
	FUZZ_CHECK(n == 0 || ss_pwrite_all(fd, p, n, 0) == 0);
	FUZZ_CHECK(lseek(fd, 0, SEEK_SET) == 0);
	return fd;
}

static void
check_code(int r, int opening)
{
	FUZZ_CHECK(r == SS_ECORRUPT || (opening && r == SS_ENOTSUP));
}

/* rewrite(b, recs, p, n): the writer's bytes for ${b} and ${recs} = input? */
static void
rewrite(const struct ss_begin *b, const struct ss_buf *recs,
    const uint8_t *p, size_t n)
{
	struct ss_swriter *w = NULL;
	struct ss_buf got = SS_BUF_INIT;
	struct ss_rd rd;
	off_t size;

	memfd_load(out_fd, NULL, 0);
	FUZZ_CHECK(ss_sw_open(out_fd, b, &w) == 0);
	ss_rd_init(&rd, recs->p, recs->len);
	while (ss_rd_left(&rd) > 0) {
		uint8_t type = ss_rd_u8(&rd);
		size_t len;
		const uint8_t *pay = ss_rd_str32(&rd, SS_STREAM_MAXREC, &len);

		FUZZ_CHECK(pay != NULL);
		FUZZ_CHECK(ss_sw_record(w, type, pay, len) == 0);
	}
	FUZZ_CHECK(ss_sw_end(w) == 0);
	FUZZ_CHECK(ss_sw_bytes(w) == n);
	ss_sw_free(w);
	size = lseek(out_fd, 0, SEEK_END);
	FUZZ_CHECK(size >= 0 && (size_t)size == n);
	FUZZ_CHECK(ss_buf_reserve(&got, n) == 0);
	FUZZ_CHECK(ss_pread_all(out_fd, got.p, n, 0) == 0);
	FUZZ_CHECK(memcmp(got.p, p, n) == 0);
	ss_buf_free(&got);
}

static void
one_pass(const uint8_t *p, size_t n)
{
	struct ss_sreader *r = NULL;
	struct ss_begin b;
	struct ss_buf recs = SS_BUF_INIT;
	const uint8_t *pay;
	uint64_t nret = 0;
	uint8_t type;
	size_t len;
	int rc;

	rc = ss_sr_open(memfd_load(in_fd, p, n), &r, &b);
	if (rc != 0) {
		check_code(rc, 1);
		FUZZ_CHECK(r == NULL && b.version == 0 && b.name[0] == '\0');
		return;
	}
	FUZZ_CHECK(b.version == SS_STREAM_VERSION && b.features == 0);
	FUZZ_CHECK(strnlen(b.name, sizeof(b.name)) <= 255);
	while ((rc = ss_sr_next(r, &type, &pay, &len)) == 0) {
		FUZZ_CHECK(pay != NULL && len <= SS_STREAM_MAXREC);
		FUZZ_CHECK(ss_sr_bytes(r) <= n);
		if (type == SS_REC_END)
			break;
		FUZZ_CHECK(type >= SS_REC_DATASET && type <= SS_REC_SNAPSHOT);
		FUZZ_CHECK(ss_buf_put_u8(&recs, type) == 0);
		FUZZ_CHECK(ss_buf_put_str32(&recs, pay, len) == 0);
		nret++;
	}
	if (rc != 0) {
		check_code(rc, 0);
		FUZZ_CHECK(ss_sr_next(r, &type, &pay, &len) == rc);
	} else {
		uint64_t endrecs = ss_le64dec(pay);

		FUZZ_CHECK(len == 48 && ss_sr_bytes(r) == n);
		FUZZ_CHECK(endrecs >= nret + 1);
		FUZZ_CHECK(ss_le64dec(pay + 24) == b.guid);
		FUZZ_CHECK(ss_sr_next(r, &type, &pay, &len) == SS_ECORRUPT);
		if (endrecs == nret + 1)	/* nothing skipped */
			rewrite(&b, &recs, p, n);
	}
	ss_sr_free(r);
	ss_buf_free(&recs);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	if (in_fd < 0) {
		in_fd = memfd_create("fuzz_stream_in", 0);
		out_fd = memfd_create("fuzz_stream_out", 0);
		FUZZ_CHECK(in_fd >= 0 && out_fd >= 0);
	}
	one_pass(data, size);
	if (size == 0 || (copy = malloc(size)) == NULL)
		return 0;
	memcpy(copy, data, size);
	fuzz_fixup_stream(copy, size, 0);
	one_pass(copy, size);
	free(copy);
	return 0;
}
