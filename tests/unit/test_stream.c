/*
 * test_stream: the stream framing of docs/stream-format.md and the id set.
 *
 * The tests carry their own encoder, written from the format document and
 * sharing no code with lib/stream, so that the writer is checked against
 * the document byte for byte and the reader can be fed streams the writer
 * refuses to produce (other versions, unknown records, bad totals).
 * Then: a round trip of many records (zero-length, 16 MiB and the maximum)
 * through a pipe; every truncation and every bit flip of a small stream,
 * every swap, duplication and removal of a record; concatenated streams;
 * each refusal the reader promises; writer errors (EPIPE); the id set.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "stream/stream.h"
#include "tap.h"

#define GUID 0x1122334455667788ull
#define MAXRECS 64

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* fill(p, n, seed): deterministic bytes, the same on both sides. */
static void
fill(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 24);
	}
}

static int
has(const char *msg, const char *want)
{
	return strstr(msg, want) != NULL;
}

/* ---------- an independent encoder, from docs/stream-format.md ---------- */

struct enc {
	struct ss_buf b;
	uint8_t prev[SS_SUM_LEN];
	size_t off[MAXRECS + 1];	/* record starts, then the end */
	size_t nrec;
	uint64_t objects, objbytes;
};

static void
enc_init(struct enc *e)
{
	memset(e, 0, sizeof(*e));
}

/* enc_rec: header, payload, XXH3-128(prev || header || payload). */
static void
enc_rec(struct enc *e, uint8_t type, uint8_t flags, uint16_t reserved,
    const void *p, size_t n)
{
	size_t start = e->b.len;

	ss_buf_put_u8(&e->b, type);
	ss_buf_put_u8(&e->b, flags);
	ss_buf_put_u16(&e->b, reserved);
	ss_buf_put_u32(&e->b, (uint32_t)n);
	ss_buf_put(&e->b, p, n);
	ss_sum128(e->prev, SS_SUM_LEN, e->b.p + start, 8 + n, e->prev);
	ss_buf_put(&e->b, e->prev, SS_SUM_LEN);
	if (e->nrec < MAXRECS)
		e->off[e->nrec] = start;
	e->nrec++;
	e->off[e->nrec < MAXRECS ? e->nrec : MAXRECS] = e->b.len;
	if (type == SS_REC_OBJECT) {
		e->objects++;
		e->objbytes += n;
	}
}

static void
enc_crit(struct enc *e, uint8_t type, const void *p, size_t n)
{
	enc_rec(e, type, SS_RECF_CRITICAL, 0, p, n);
}

static void
enc_begin_raw(struct enc *e, uint32_t version, uint64_t features,
    uint64_t flags, const void *name, size_t nl, size_t extra)
{
	struct ss_buf p = SS_BUF_INIT;

	ss_buf_put(&p, "SNAPSEAL-STREAM", 16);	/* with its NUL */
	ss_buf_put_u32(&p, version);
	ss_buf_put_u64(&p, features);
	ss_buf_put_u64(&p, flags);
	ss_buf_put_u64(&p, GUID);
	ss_buf_put_str16(&p, name, nl);
	for (size_t i = 0; i < extra; i++)
		ss_buf_put_u8(&p, 0);
	enc_crit(e, SS_REC_BEGIN, p.p, p.len);
	ss_buf_free(&p);
}

static void
enc_begin(struct enc *e)
{
	enc_begin_raw(e, 1, 0, SS_STREAMF_RAW, "pool/ds", 7, 0);
}

/* enc_end_fix(e, d): END with the true totals, field ${d} off by one. */
static void
enc_end_fix(struct enc *e, int d)
{
	uint8_t p[48];

	ss_le64enc(p, e->nrec + (d == 0));
	ss_le64enc(p + 8, e->objects + (d == 1));
	ss_le64enc(p + 16, e->objbytes + (d == 2));
	ss_le64enc(p + 24, GUID + (d == 3));
	ss_sum128(e->b.p, e->b.len, NULL, 0, p + 32);
	p[32] ^= d == 4;
	enc_crit(e, SS_REC_END, p, sizeof(p) - (d == 5));
}

static void
enc_end(struct enc *e)
{
	enc_end_fix(e, -1);
}

/* ---------- reading a byte string back ---------- */

struct seen {
	size_t n;			/* records returned before END */
	uint8_t type[MAXRECS];
	int ended;
	uint64_t bytes;
	struct ss_begin b;
	char msg[256];
};

static int
memfd_of(const void *p, size_t n)
{
	int fd = memfd_create("test_stream", 0);

	if (fd < 0 || ss_write_all(fd, p, n) != 0 ||
	    lseek(fd, 0, SEEK_SET) != 0) {
		perror("memfd");
		exit(1);
	}
	return fd;
}

/* slurp(p, n, s): read a whole stream; 0 if END was accepted. */
static int
slurp(const void *p, size_t n, struct seen *s)
{
	struct ss_sreader *r = NULL;
	const uint8_t *pay;
	uint8_t type;
	size_t len;
	int fd = memfd_of(p, n), rc;

	memset(s, 0, sizeof(*s));
	ss_errclear();
	if ((rc = ss_sr_open(fd, &r, &s->b)) == 0) {
		while ((rc = ss_sr_next(r, &type, &pay, &len)) == 0 &&
		    type != SS_REC_END)
			if (s->n < MAXRECS)
				s->type[s->n++] = type;
		s->ended = rc == 0;
		s->bytes = ss_sr_bytes(r);
	}
	snprintf(s->msg, sizeof(s->msg), "%s", ss_errmsg());
	ss_sr_free(r);
	close(fd);
	return rc;
}

static void
refused(const struct enc *e, int want, const char *msg, const char *name)
{
	struct seen s;
	int rc = slurp(e->b.p, e->b.len, &s);

	is_int(rc, want, "%s: result", name);
	ok(has(s.msg, msg), "%s: '%s' says '%s'", name, s.msg, msg);
}

/* ---------- the writer ---------- */

static void
begin_init(struct ss_begin *b)
{
	memset(b, 0, sizeof(*b));
	b->version = SS_STREAM_VERSION;
	b->flags = SS_STREAMF_RAW;
	b->guid = GUID;
	snprintf(b->name, sizeof(b->name), "pool/ds");
}

/* small_write(fd): the small stream of the sweeps, with the writer. */
static int
small_write(int fd, uint64_t *bytes)
{
	struct ss_swriter *w;
	struct ss_begin b;
	uint8_t p[50];
	int r;

	begin_init(&b);
	fill(p, sizeof(p), 7);
	if ((r = ss_sw_open(fd, &b, &w)) != 0)
		return r;
	if ((r = ss_sw_record(w, SS_REC_DATASET, p, 30)) == 0 &&
	    (r = ss_sw_record(w, SS_REC_OBJECT, NULL, 0)) == 0 &&
	    (r = ss_sw_record(w, SS_REC_OBJECT, p, 50)) == 0 &&
	    (r = ss_sw_record(w, SS_REC_SNAPSHOT, p + 10, 40)) == 0)
		r = ss_sw_end(w);
	if (bytes != NULL)
		*bytes = ss_sw_bytes(w);
	ss_sw_free(w);
	return r;
}

/* small_enc(e): the same stream with the test's encoder. */
static void
small_enc(struct enc *e)
{
	uint8_t p[50];

	fill(p, sizeof(p), 7);
	enc_init(e);
	enc_begin(e);
	enc_crit(e, SS_REC_DATASET, p, 30);
	enc_crit(e, SS_REC_OBJECT, NULL, 0);
	enc_crit(e, SS_REC_OBJECT, p, 50);
	enc_crit(e, SS_REC_SNAPSHOT, p + 10, 40);
	enc_end(e);
}

static void
test_writer_matches_doc(struct ss_buf *small)
{
	struct enc e;
	uint64_t bytes = 0;
	int fd = memfd_create("w", 0), r;
	off_t size;

	r = small_write(fd, &bytes);
	is_int(r, 0, "writer: small stream");
	size = lseek(fd, 0, SEEK_END);
	ss_buf_reserve(small, (size_t)size);
	small->len = (size_t)size;
	ok(ss_pread_all(fd, small->p, small->len, 0) == 0, "read it back");
	close(fd);
	small_enc(&e);
	ok(e.b.len == small->len && memcmp(e.b.p, small->p, e.b.len) == 0,
	    "writer output is byte for byte the documented format (%zu"
	    " bytes)", e.b.len);
	is_int(bytes, small->len, "ss_sw_bytes counts every byte");
	ss_buf_free(&e.b);
}

static void
test_writer_errors(void)
{
	struct ss_swriter *w = NULL;
	struct ss_begin b;
	uint8_t x[4] = { 0 };
	int fds[2], r;

	begin_init(&b);
	b.version = 2;
	is_int(ss_sw_open(1, &b, &w), SS_EINVAL, "writer refuses version 2");
	ok(w == NULL, "no writer on failure");
	begin_init(&b);
	b.features = 1;
	is_int(ss_sw_open(1, &b, &w), SS_EINVAL, "writer: unknown feature");
	begin_init(&b);
	b.flags = 0x100;
	is_int(ss_sw_open(1, &b, &w), SS_EINVAL, "writer: unknown flag");

	/* A reader that went away: EPIPE is an error, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	if (pipe(fds) != 0)
		exit(1);
	close(fds[0]);
	begin_init(&b);
	is_int(ss_sw_open(fds[1], &b, &w), 0, "buffered open succeeds");
	is_int(ss_sw_record(w, SS_REC_BEGIN, x, 4), SS_EINVAL, "no BEGIN");
	is_int(ss_sw_record(w, SS_REC_END, x, 4), SS_EINVAL, "no END");
	is_int(ss_sw_record(w, 9, x, 4), SS_EINVAL, "no unknown type");
	is_int(ss_sw_record(w, SS_REC_OBJECT, x, SS_STREAM_MAXREC + 1),
	    SS_ERANGE, "record above SS_STREAM_MAXREC");
	is_int(ss_sw_record(w, SS_REC_OBJECT, x, 4), 0, "record buffered");
	r = ss_sw_end(w);
	is_int(r, SS_EIO, "EPIPE comes back as SS_EIO");
	ok(has(ss_errmsg(), "Broken pipe"), "and says so: %s", ss_errmsg());
	is_int(ss_sw_record(w, SS_REC_OBJECT, x, 4), SS_EIO, "errors stick");
	ss_sw_free(w);
	close(fds[1]);

	fds[1] = memfd_create("w", 0);
	is_int(ss_sw_open(fds[1], &b, &w), 0, "open");
	is_int(ss_sw_end(w), 0, "BEGIN then END");
	is_int(ss_sw_record(w, SS_REC_OBJECT, x, 4), SS_EINVAL,
	    "no record after END");
	is_int(ss_sw_end(w), SS_EINVAL, "no second END");
	ss_sw_free(w);
	close(fds[1]);
	ss_sw_free(NULL);
	ss_sr_free(NULL);
}

/* ---------- a round trip through a pipe ---------- */

#define RT_RECS 600
#define RT_BIG 100		/* 16 MiB */
#define RT_MAX 200		/* SS_STREAM_MAXREC */

static size_t
rt_len(int i)
{
	if (i == RT_BIG)
		return 16u << 20;
	if (i == RT_MAX)
		return SS_STREAM_MAXREC;
	if (i % 7 == 0)
		return 0;
	return (size_t)((uint32_t)(i * 2654435761u) % 70000u);
}

static uint8_t
rt_type(int i)
{
	return (uint8_t)(SS_REC_DATASET + i % 3);
}

struct rt_writer {
	int fd;
	int rc;
	uint64_t bytes;
};

static void *
rt_write(void *arg)
{
	struct rt_writer *a = arg;
	struct ss_swriter *w = NULL;
	struct ss_begin b;
	uint8_t *p = malloc(SS_STREAM_MAXREC);
	int r = p == NULL ? SS_ENOMEM : 0;

	begin_init(&b);
	b.flags |= SS_STREAMF_INCREMENTAL;
	if (r == 0)
		r = ss_sw_open(a->fd, &b, &w);
	for (int i = 0; r == 0 && i < RT_RECS; i++) {
		fill(p, rt_len(i), (uint64_t)i);
		r = ss_sw_record(w, rt_type(i), p, rt_len(i));
	}
	if (r == 0)
		r = ss_sw_end(w);
	if (w != NULL)
		a->bytes = ss_sw_bytes(w);
	ss_sw_free(w);
	free(p);
	close(a->fd);
	a->rc = r;
	return NULL;
}

static void
test_roundtrip(void)
{
	struct rt_writer a;
	struct ss_sreader *r = NULL;
	struct ss_begin b;
	pthread_t t;
	const uint8_t *p;
	uint8_t *want = malloc(SS_STREAM_MAXREC), type = 0;
	size_t n;
	int fds[2], rc, i, bad = 0;

	if (want == NULL || pipe(fds) != 0)
		exit(1);
	a.fd = fds[1];
	a.rc = -100;
	a.bytes = 0;
	if (pthread_create(&t, NULL, rt_write, &a) != 0)
		exit(1);
	rc = ss_sr_open(fds[0], &r, &b);
	is_int(rc, 0, "round trip: BEGIN read from a pipe");
	ok(b.version == 1 && b.guid == GUID && b.features == 0 &&
	    b.flags == (SS_STREAMF_RAW | SS_STREAMF_INCREMENTAL) &&
	    strcmp(b.name, "pool/ds") == 0, "BEGIN fields come back");
	for (i = 0; rc == 0 && i < RT_RECS; i++) {
		if ((rc = ss_sr_next(r, &type, &p, &n)) != 0)
			break;
		fill(want, rt_len(i), (uint64_t)i);
		if (type != rt_type(i) || n != rt_len(i) || p == NULL ||
		    (n > 0 && memcmp(p, want, n) != 0))
			bad++;
	}
	is_int(rc, 0, "%d records read (%s)", i, rc ? ss_errmsg() : "");
	is_int(bad, 0, "every type, length and payload as written (0, 16"
	    " MiB and SS_STREAM_MAXREC included)");
	if (rc == 0)
		rc = ss_sr_next(r, &type, &p, &n);
	is_int(rc, 0, "END verified");
	is_int(type, SS_REC_END, "END returned last");
	pthread_join(t, NULL);
	is_int(a.rc, 0, "writer finished");
	ok(a.bytes == ss_sr_bytes(r) && a.bytes > (32u << 20),
	    "both sides count %llu bytes", (unsigned long long)a.bytes);
	is_int(ss_sr_next(r, &type, &p, &n), SS_ECORRUPT, "nothing after"
	    " END");
	ss_sr_free(r);
	close(fds[0]);
	free(want);
}

/* ---------- sweeps over a small valid stream ---------- */

static void
test_truncations(const struct ss_buf *small)
{
	struct seen s;
	size_t bad = 0, badmsg = 0, first = 0;

	is_int(slurp(small->p, small->len, &s), 0, "small stream reads");
	ok(s.ended && s.n == 4 && s.type[0] == SS_REC_DATASET &&
	    s.type[1] == SS_REC_OBJECT && s.type[3] == SS_REC_SNAPSHOT,
	    "its four records");
	is_int(s.bytes, small->len, "ss_sr_bytes at END");
	for (size_t n = 0; n < small->len; n++) {
		if (slurp(small->p, n, &s) != SS_ECORRUPT && bad++ == 0)
			first = n;
		if (!has(s.msg, "incomplete stream"))
			badmsg++;
	}
	is_int(bad, 0, "each of %zu truncations is SS_ECORRUPT (first bad:"
	    " %zu)", small->len, first);
	is_int(badmsg, 0, "each says 'incomplete stream'");
}

static void
test_flips(const struct ss_buf *small)
{
	uint8_t *p = malloc(small->len);
	size_t bad = 0, first = 0, nbits = small->len * 8;
	struct seen s;
	int rc;

	for (size_t bit = 0; bit < nbits; bit++) {
		size_t at = bit / 8;

		memcpy(p, small->p, small->len);
		p[at] ^= (uint8_t)(1u << (bit % 8));
		rc = slurp(p, small->len, &s);
		/* The version (bytes 24-27) is checked before the sum. */
		if (rc != SS_ECORRUPT &&
		    !(rc == SS_ENOTSUP && at >= 24 && at < 28) && bad++ == 0)
			first = bit;
	}
	is_int(bad, 0, "each of %zu bit flips is refused (first bad: bit"
	    " %zu)", nbits, first);
	memcpy(p, small->p, small->len);
	p[small->len - 1] ^= 1;
	slurp(p, small->len, &s);
	ok(has(s.msg, "checksum mismatch in record 5"), "%s", s.msg);
	memcpy(p, small->p, small->len);
	p[80] ^= 1;
	slurp(p, small->len, &s);
	ok(has(s.msg, "checksum mismatch in record 1"), "%s", s.msg);
	free(p);
}

/* respliced(e, order, k, out): the records of ${e} in ${order}, as they are. */
static void
respliced(const struct enc *e, const int *order, size_t k, struct ss_buf *out)
{
	ss_buf_reset(out);
	for (size_t i = 0; i < k; i++)
		ss_buf_put(out, e->b.p + e->off[order[i]],
		    e->off[order[i] + 1] - e->off[order[i]]);
}

static void
test_reorder(void)
{
	struct ss_buf out = SS_BUF_INIT;
	struct enc e;
	struct seen s;
	int order[MAXRECS], bad = 0, nr;
	size_t k;

	small_enc(&e);
	nr = (int)e.nrec;
	for (int i = 0; i + 1 < nr; i++) {	/* swap i and i+1 */
		for (k = 0; k < (size_t)nr; k++)
			order[k] = (int)k;
		order[i] = i + 1;
		order[i + 1] = i;
		respliced(&e, order, k, &out);
		bad += slurp(out.p, out.len, &s) != SS_ECORRUPT;
	}
	is_int(bad, 0, "every swap of two neighbours is SS_ECORRUPT");
	bad = 0;
	for (int d = 0; d < nr; d++) {	/* duplicate d */
		k = 0;
		for (int i = 0; i < nr; i++) {
			order[k++] = i;
			if (i == d)
				order[k++] = i;
		}
		respliced(&e, order, k, &out);
		bad += slurp(out.p, out.len, &s) != SS_ECORRUPT;
	}
	is_int(bad, 0, "every duplicated record is SS_ECORRUPT");
	bad = 0;
	for (int d = 0; d < nr; d++) {	/* drop d */
		k = 0;
		for (int i = 0; i < nr; i++)
			if (i != d)
				order[k++] = i;
		respliced(&e, order, k, &out);
		bad += slurp(out.p, out.len, &s) != SS_ECORRUPT;
	}
	is_int(bad, 0, "every dropped record is SS_ECORRUPT");

	/* Two streams end to end: refused at the first END. */
	ss_buf_reset(&out);
	ss_buf_put(&out, e.b.p, e.b.len);
	ss_buf_put(&out, e.b.p, e.b.len);
	is_int(slurp(out.p, out.len, &s), SS_ECORRUPT, "concatenated streams"
	    " are refused");
	ok(s.n == 4 && !s.ended && has(s.msg, "after the END"),
	    "after the first stream's records: %s", s.msg);
	ss_buf_reset(&out);
	ss_buf_put(&out, e.b.p, e.b.len);
	ss_buf_put_u8(&out, 0);
	is_int(slurp(out.p, out.len, &s), SS_ECORRUPT, "one byte after END");
	ss_buf_free(&out);
	ss_buf_free(&e.b);
}

/* A keyless rewriter that re-chains the checksums is caught by END. */
static void
test_end_checks(void)
{
	static const char *what[] = { "records", "objects", "object bytes",
	    "guid", "whole checksum", "END length" };
	static const char *msg[] = { "records", "objects", "objects", "guid",
	    "whole-stream checksum", "malformed END" };
	uint8_t p[50];
	struct enc e;

	fill(p, sizeof(p), 7);
	for (int d = 0; d < 6; d++) {
		char name[64];

		enc_init(&e);
		enc_begin(&e);
		enc_crit(&e, SS_REC_OBJECT, p, 50);
		enc_end_fix(&e, d);
		snprintf(name, sizeof(name), "END with a wrong %s", what[d]);
		refused(&e, SS_ECORRUPT, msg[d], name);
		ss_buf_free(&e.b);
	}
	/* A re-chained stream without its OBJECT, END copied: totals. */
	enc_init(&e);
	enc_begin(&e);
	e.objects = 1;
	e.objbytes = 50;
	e.nrec++;
	enc_end(&e);
	refused(&e, SS_ECORRUPT, "END says 2 records", "dropped record,"
	    " checksums recomputed");
	ss_buf_free(&e.b);
}

/* ---------- records the writer never writes ---------- */

static void
test_unknown_records(void)
{
	struct enc e;
	struct seen s;
	int rc;

	enc_init(&e);
	enc_begin(&e);
	enc_crit(&e, SS_REC_DATASET, "d", 1);
	enc_rec(&e, 9, 0, 0, "skip me", 7);
	enc_rec(&e, 200, 0, 0, NULL, 0);
	enc_rec(&e, 0, 0, 0, "zero", 4);
	enc_crit(&e, SS_REC_SNAPSHOT, "s", 1);
	enc_end(&e);
	rc = slurp(e.b.p, e.b.len, &s);
	is_int(rc, 0, "unknown non-critical records are skipped (%s)", s.msg);
	ok(s.n == 2 && s.type[0] == SS_REC_DATASET &&
	    s.type[1] == SS_REC_SNAPSHOT, "only the known ones come back");
	ss_buf_free(&e.b);

	enc_init(&e);
	enc_begin(&e);
	enc_crit(&e, 9, "x", 1);
	enc_end(&e);
	refused(&e, SS_ECORRUPT, "unknown record type 9", "unknown critical");
	ss_buf_free(&e.b);
	enc_init(&e);
	enc_begin(&e);
	enc_crit(&e, 0, NULL, 0);
	enc_end(&e);
	refused(&e, SS_ECORRUPT, "unknown record type 0", "critical type 0");
	ss_buf_free(&e.b);

	enc_init(&e);
	enc_begin(&e);
	enc_rec(&e, SS_REC_DATASET, 0, 0, "d", 1);
	enc_end(&e);
	refused(&e, SS_ECORRUPT, "not marked critical", "known, not critical");
	ss_buf_free(&e.b);
	enc_init(&e);
	enc_begin(&e);
	enc_rec(&e, SS_REC_DATASET, 0x81, 0, "d", 1);
	enc_end(&e);
	refused(&e, SS_ECORRUPT, "unknown flags", "flag bit 7");
	ss_buf_free(&e.b);
	enc_init(&e);
	enc_begin(&e);
	enc_rec(&e, SS_REC_OBJECT, SS_RECF_CRITICAL, 1, "d", 1);
	enc_end(&e);
	refused(&e, SS_ECORRUPT, "reserved", "reserved field");
	ss_buf_free(&e.b);
	enc_init(&e);
	enc_begin(&e);
	enc_begin(&e);
	enc_end(&e);
	refused(&e, SS_ECORRUPT, "second BEGIN", "second BEGIN");
	ss_buf_free(&e.b);
}

static void
test_begin_refusals(void)
{
	char name[300];
	struct enc e;
	struct seen s;
	uint8_t hdr[8] = { SS_REC_DATASET, 1, 0, 0, 0, 0, 0, 0 };

	memset(name, 'n', sizeof(name));
	is_int(slurp("", 0, &s), SS_ECORRUPT, "empty input");
	ok(has(s.msg, "incomplete stream"), "%s", s.msg);
	is_int(slurp(hdr, sizeof(hdr), &s), SS_ECORRUPT, "no BEGIN first");
	ok(has(s.msg, "not a snapseal stream"), "%s", s.msg);
	hdr[0] = SS_REC_BEGIN;
	ss_le32enc(hdr + 4, SS_STREAM_MAXREC + 1);
	is_int(slurp(hdr, sizeof(hdr), &s), SS_ECORRUPT, "huge BEGIN");
	ok(has(s.msg, "record too large"), "%s", s.msg);
	ss_le32enc(hdr + 4, 19);
	is_int(slurp(hdr, sizeof(hdr), &s), SS_ECORRUPT, "tiny BEGIN");

	struct {
		uint32_t version;
		uint64_t features, flags;
		size_t nl, extra;
		int want;
		const char *msg;
	} c[] = {
		{ 2, 0, 0, 3, 0, SS_ENOTSUP, "unsupported stream version 2" },
		{ 0, 0, 0, 3, 0, SS_ENOTSUP, "unsupported stream version 0" },
		{ 1, 1, 0, 3, 0, SS_ENOTSUP, "features this snapseal" },
		{ 1, 1ull << 63, 0, 3, 0, SS_ENOTSUP, "features" },
		{ 1, 0, 0x40, 3, 0, SS_ENOTSUP, "flags this snapseal" },
		{ 1, 0, 0, 256, 0, SS_ECORRUPT, "malformed BEGIN" },
		{ 1, 0, 0, 3, 1, SS_ECORRUPT, "malformed BEGIN" },
		{ 1, 0, 0x3f, 255, 0, 0, "" },
		{ 1, 0, 0, 0, 0, 0, "" },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char what[80];

		enc_init(&e);
		enc_begin_raw(&e, c[i].version, c[i].features, c[i].flags,
		    name, c[i].nl, c[i].extra);
		enc_end(&e);
		snprintf(what, sizeof(what), "BEGIN v%u f%llx F%llx name %zu"
		    " +%zu", c[i].version, (unsigned long long)c[i].features,
		    (unsigned long long)c[i].flags, c[i].nl, c[i].extra);
		refused(&e, c[i].want, c[i].msg, what);
		ss_buf_free(&e.b);
	}
	enc_init(&e);
	enc_begin_raw(&e, 1, 0, 0, "a\0b", 3, 0);
	enc_end(&e);
	refused(&e, SS_ECORRUPT, "malformed BEGIN", "NUL in the name");
	ss_buf_free(&e.b);
	enc_init(&e);
	enc_begin_raw(&e, 1, 0, 0, name, 255, 0);
	enc_end(&e);
	is_int(slurp(e.b.p, e.b.len, &s), 0, "a 255-byte name");
	ok(strlen(s.b.name) == 255 && s.b.name[0] == 'n', "comes back");
	ss_buf_free(&e.b);
	enc_init(&e);
	enc_begin(&e);
	memcpy(e.b.p + 8, "SNAPSEAL-STREAX", 15);
	refused(&e, SS_ECORRUPT, "bad magic", "bad magic");
	ss_buf_free(&e.b);

	/* A record length above the bound, with no payload behind it. */
	enc_init(&e);
	enc_begin(&e);
	ss_buf_put_u8(&e.b, SS_REC_DATASET);
	ss_buf_put_u8(&e.b, SS_RECF_CRITICAL);
	ss_buf_put_u16(&e.b, 0);
	ss_buf_put_u32(&e.b, 0xffffffffu);
	refused(&e, SS_ECORRUPT, "record too large", "length 2^32-1");
	ss_buf_free(&e.b);
}

/* ---------- the id set ---------- */

#define NIDS 100000

static void
test_idset(void)
{
	struct ss_idset *s = ss_idset_new();
	uint8_t (*ids)[32] = malloc((size_t)NIDS * 32), id[32];
	int bad = 0;

	if (s == NULL || ids == NULL)
		exit(1);
	for (size_t i = 0; i < NIDS; i++)
		for (size_t j = 0; j < 32; j += 8)
			ss_le64enc(ids[i] + j, rnd());
	for (size_t i = 0; i < NIDS; i++) {
		bad += ss_idset_add(s, ids[i]) != 1;
		bad += ss_idset_add(s, ids[i / 2]) != 0; /* a duplicate */
	}
	is_int(bad, 0, "1e5 random IDs added once each, duplicates refused");
	is_int(ss_idset_count(s), NIDS, "count");
	bad = 0;
	for (size_t i = 0; i < NIDS; i++)
		bad += ss_idset_has(s, ids[i]) != 1;
	is_int(bad, 0, "every ID is there");
	for (size_t i = 0; i < NIDS; i++) {
		for (size_t j = 0; j < 32; j += 8)
			ss_le64enc(id + j, rnd());
		bad += ss_idset_has(s, id) != 0;
		memcpy(id, ids[i], 32);
		id[31] ^= 1;		/* same first bytes, other ID */
		bad += ss_idset_has(s, id) != 0;
	}
	is_int(bad, 0, "no other ID is");
	ss_idset_free(s);

	/* IDs alike in their first 8 bytes: one long probe run, still right. */
	s = ss_idset_new();
	memset(id, 0, sizeof(id));
	bad = ss_idset_has(s, id) != 0;
	bad += ss_idset_add(s, id) != 1;
	for (int i = 1; i < 2000; i++) {
		ss_le32enc(id + 28, (uint32_t)i);
		bad += ss_idset_add(s, id) != 1;
	}
	for (int i = 0; i < 2000; i++) {
		ss_le32enc(id + 28, (uint32_t)i);
		bad += ss_idset_add(s, id) != 0 || ss_idset_has(s, id) != 1;
	}
	is_int(bad, 0, "2000 IDs with one 8-byte prefix, the zero ID among"
	    " them");
	is_int(ss_idset_count(s), 2000, "count");
	ss_idset_free(s);
	ss_idset_free(NULL);
	free(ids);
}

/* ---------- records in two pieces, bodies from a file, sinks ---------- */

#define BIGBODY (200u << 10)	/* goes by sendfile (>= 64 KiB) */

/* fd_bytes(fd, b): everything in file ${fd}. */
static void
fd_bytes(int fd, struct ss_buf *b)
{
	off_t size = lseek(fd, 0, SEEK_END);

	ss_buf_reset(b);
	ss_buf_reserve(b, (size_t)size);
	b->len = (size_t)size;
	if (ss_pread_all(fd, b->p, b->len, 0) != 0) {
		perror("pread");
		exit(1);
	}
}

/*
 * two_write(out, how, head, body, file): a stream of OBJECT records of
 * ${head} || ${body} (BIGBODY bytes) and of a small one, written as one
 * piece (how 0), as two (1), or with the body from ${file} (2).
 */
static int
two_write(int out, int how, const uint8_t *head, const uint8_t *body,
    int file)
{
	struct ss_swriter *w;
	struct ss_begin b;
	uint8_t *one = malloc(36 + BIGBODY);
	int r;

	memcpy(one, head, 36);
	memcpy(one + 36, body, BIGBODY);
	begin_init(&b);
	if ((r = ss_sw_open(out, &b, &w)) != 0)
		goto out;
	for (int i = 0; i < 3 && r == 0; i++) {
		size_t bn = i == 1 ? 100 : BIGBODY;

		if (how == 0)
			r = ss_sw_record(w, SS_REC_OBJECT, one, 36 + bn);
		else
			r = ss_sw_record2(w, SS_REC_OBJECT, head, 36, body,
			    bn, how == 2 ? file : -1, 0);
	}
	if (r == 0)
		r = ss_sw_end(w);
	ss_sw_free(w);
out:
	free(one);
	return r;
}

static void
test_record2(void)
{
	struct ss_buf want = SS_BUF_INIT, got = SS_BUF_INIT;
	uint8_t head[36], *body = malloc(BIGBODY);
	struct ss_swriter *w;
	struct ss_begin b;
	struct seen s;
	int file, out, fds[2], bad = 0;

	fill(head, sizeof(head), 21);
	fill(body, BIGBODY, 22);
	file = memfd_of(body, BIGBODY);
	out = memfd_create("one", 0);
	is_int(two_write(out, 0, head, body, file), 0, "record2: one piece");
	fd_bytes(out, &want);
	close(out);
	is_int(slurp(want.p, want.len, &s), 0, "record2: it reads");
	for (int how = 1; how <= 2; how++) {
		out = memfd_create("two", 0);
		is_int(two_write(out, how, head, body, file), 0, "record2: %s",
		    how == 1 ? "two pieces" : "body from the file");
		fd_bytes(out, &got);
		close(out);
		ok(got.len == want.len && !memcmp(got.p, want.p, got.len),
		    "record2: %s: the same bytes", how == 1 ? "two pieces" :
		    "body from the file");
	}
	/* sendfile refused (O_APPEND): the bytes come from memory */
	out = memfd_create("append", 0);
	ok(fcntl(out, F_SETFL, O_APPEND) == 0, "an O_APPEND descriptor");
	is_int(two_write(out, 2, head, body, file), 0, "record2: appended");
	fd_bytes(out, &got);
	close(out);
	ok(got.len == want.len && !memcmp(got.p, want.p, got.len),
	    "record2: sendfile refused: the same bytes");
	/* through a pipe, read on the other side while written */
	if (pipe(fds) == 0) {
		struct ss_buf in = SS_BUF_INIT;
		pid_t pid = fork();

		if (pid == 0) {
			close(fds[0]);
			_exit(two_write(fds[1], 2, head, body, file) ? 1 : 0);
		}
		close(fds[1]);
		for (;;) {
			ssize_t k;

			ss_buf_reserve(&in, 65536);
			if ((k = read(fds[0], in.p + in.len, 65536)) <= 0)
				break;
			in.len += (size_t)k;
		}
		close(fds[0]);
		waitpid(pid, &bad, 0);
		ok(bad == 0 && in.len == want.len &&
		    !memcmp(in.p, want.p, in.len),
		    "record2: body from the file into a pipe: the same bytes");
		ss_buf_free(&in);
	}
	/* the file says something else than memory: the reader refuses */
	body[BIGBODY / 2] ^= 1;
	out = memfd_create("liar", 0);
	two_write(out, 2, head, body, file);
	fd_bytes(out, &got);
	close(out);
	is_int(slurp(got.p, got.len, &s), SS_ECORRUPT, "record2: a file that"
	    " differs from the checksummed memory is refused");
	ok(has(s.msg, "checksum mismatch"), "... '%s'", s.msg);
	/* bounds */
	begin_init(&b);
	out = memfd_create("bounds", 0);
	if (ss_sw_open(out, &b, &w) == 0) {
		is_int(ss_sw_record2(w, SS_REC_OBJECT, body, SS_SW_HEADMAX + 1,
		    body, 10, -1, 0), SS_ERANGE, "record2: head too long");
		is_int(ss_sw_record2(w, SS_REC_OBJECT, NULL, 4, body, 10, -1,
		    0), SS_EINVAL, "record2: head without bytes");
		is_int(ss_sw_record2(w, SS_REC_OBJECT, head, 36, body,
		    SS_STREAM_MAXREC - 35, -1, 0), SS_ERANGE,
		    "record2: head and body over the bound");
		ss_sw_free(w);
	}
	close(out);
	close(file);
	free(body);
	ss_buf_free(&want);
	ss_buf_free(&got);
}

struct sinkst {
	uint8_t *mem;
	size_t calls, used;
};

static uint8_t *
test_sink(void *arg, uint8_t type, size_t n)
{
	struct sinkst *k = arg;

	k->calls++;
	if (type != SS_REC_OBJECT || k->calls % 2 == 0)
		return NULL;	/* every other one to the reader's buffer */
	return k->mem;
}

static void
test_sink_reads(void)
{
	struct ss_buf st = SS_BUF_INIT;
	struct sinkst k = { NULL, 0, 0 };
	struct ss_sreader *r = NULL;
	struct ss_begin b;
	uint8_t head[36], *body = malloc(BIGBODY), type;
	const uint8_t *p;
	size_t n, big = 0, insink = 0, right = 0;
	int fd = memfd_create("sink", 0), rc;

	fill(head, sizeof(head), 31);
	fill(body, BIGBODY, 32);
	k.mem = malloc(36 + BIGBODY);
	two_write(fd, 1, head, body, -1);
	fd_bytes(fd, &st);
	lseek(fd, 0, SEEK_SET);
	if ((rc = ss_sr_open(fd, &r, &b)) == 0) {
		ss_sr_set_sink(r, test_sink, &k);
		while ((rc = ss_sr_next(r, &type, &p, &n)) == 0 &&
		    type != SS_REC_END) {
			if (n != 36 + BIGBODY)
				continue;
			big++;
			insink += p == k.mem;
			right += !memcmp(p, head, 36) &&
			    !memcmp(p + 36, body, BIGBODY);
		}
	}
	is_int(rc, 0, "sink: the stream reads to its END");
	ok(big == 2 && insink == 1 && right == 2, "sink: large payloads"
	    " land in the sink when it takes them (%zu of %zu), intact", insink,
	    big);
	is_int(k.calls, 2, "sink: asked for large records only");
	ss_sr_free(r);
	close(fd);
	/* a flipped bit in a payload read into the sink: still refused */
	st.p[st.len / 3] ^= 0x10;
	fd = memfd_of(st.p, st.len);
	k.calls = 0;
	if (ss_sr_open(fd, &r, &b) == 0) {
		ss_sr_set_sink(r, test_sink, &k);
		while ((rc = ss_sr_next(r, &type, &p, &n)) == 0 &&
		    type != SS_REC_END)
			;
		is_int(rc, SS_ECORRUPT, "sink: a damaged payload is refused");
		ss_sr_free(r);
	}
	close(fd);
	free(k.mem);
	free(body);
	ss_buf_free(&st);
}

int
main(void)
{
	struct ss_buf small = SS_BUF_INIT;

	test_writer_matches_doc(&small);
	test_writer_errors();
	test_roundtrip();
	test_truncations(&small);
	test_flips(&small);
	test_reorder();
	test_end_checks();
	test_unknown_records();
	test_begin_refusals();
	test_idset();
	test_record2();
	test_sink_reads();
	ss_buf_free(&small);
	return done_testing();
}
