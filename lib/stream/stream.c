/*
 * stream/stream.c: the framing of send/receive streams, a buffered writer
 * and a verifying reader (docs/stream-format.md, "Framing", "BEGIN" and
 * "END").
 *
 * Record i (BEGIN is record 0) is
 *	header(8) = type | flags | reserved(2) | length(4)
 *	payload(length)
 *	sum_i(16) = XXH3-128(sum_{i-1} || header || payload), sum_{-1} = 0^16
 * and END carries the totals and XXH3-128 of every stream byte before END.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/sendfile.h>

#include "stream/stream.h"

#define SW_BUFSZ (1u << 20)		/* writer buffer */
#define SW_FILEMIN (64u << 10)		/* bodies this large go by sendfile */
#define SR_BUFSZ (1u << 20)		/* reader buffer: a whole pipe */
#define SR_DIRECT (64u << 10)		/* reads this large skip the buffer */
#define SR_GROW (1u << 20)		/* payload buffer growth step */
#define MAGIC_LEN 16
#define BEGIN_MIN (MAGIC_LEN + 4)	/* magic and version: every version */
#define END_LEN (4 * 8 + SS_SUM_LEN)
#define NAME_MAX_LEN 255
#define STREAMF_KNOWN (SS_STREAMF_RAW | SS_STREAMF_REPLICATION |	\
	SS_STREAMF_INCREMENTAL | SS_STREAMF_PROPERTIES |		\
	SS_STREAMF_INTERMEDIATE | SS_STREAMF_RESUMED)

typedef unsigned long long ull;

/*
 * rec_sum(prev, hdr, head, hn, p, n, out): the chained checksum of one
 * record whose payload is ${head} (hn <= SS_SW_HEADMAX) then ${p}.
 */
static void
rec_sum(const uint8_t prev[SS_SUM_LEN], const uint8_t hdr[SS_STREAM_RECHDR],
    const uint8_t *head, size_t hn, const uint8_t *p, size_t n,
    uint8_t out[SS_SUM_LEN])
{
	uint8_t a[SS_SUM_LEN + SS_STREAM_RECHDR + SS_SW_HEADMAX];

	memcpy(a, prev, SS_SUM_LEN);
	memcpy(a + SS_SUM_LEN, hdr, SS_STREAM_RECHDR);
	if (hn > 0)
		memcpy(a + SS_SUM_LEN + SS_STREAM_RECHDR, head, hn);
	ss_sum128(a, SS_SUM_LEN + SS_STREAM_RECHDR + hn, p, n, out);
}

/* ---------- writer ---------- */

struct ss_swriter {
	int fd;
	int err;		/* the first error, returned again later */
	int ended;		/* END written */
	int nosendfile;		/* the descriptor refused sendfile once */
	uint8_t *buf;		/* SW_BUFSZ bytes */
	size_t len;
	uint8_t prev[SS_SUM_LEN];
	struct ss_sumctx *whole;	/* every byte before END */
	uint64_t records, objects, objbytes, bytes, guid;
};

/* sw_fail(w, r): remember the first error ${r} and return it. */
static int
sw_fail(struct ss_swriter *w, int r)
{
	if (w->err == 0)
		w->err = r;
	return r;
}

static int
sw_write(struct ss_swriter *w, const void *p, size_t n)
{
	int r;

	if ((r = ss_write_all(w->fd, p, n)) != 0)
		return sw_fail(w, ss_err(r, "writing the stream: %s",
		    ss_errmsg()));
	return 0;
}

static int
sw_flush(struct ss_swriter *w)
{
	size_t n = w->len;

	w->len = 0;
	return n > 0 ? sw_write(w, w->buf, n) : 0;
}

/* sw_put(w, p, n): append ${n} bytes; large pieces bypass the buffer. */
static int
sw_put(struct ss_swriter *w, const void *p, size_t n)
{
	int r;

	if (n > SW_BUFSZ - w->len && (r = sw_flush(w)) != 0)
		return r;
	if (n >= SW_BUFSZ)
		return sw_write(w, p, n);
	if (n > 0)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
	return 0;
}

/*
 * sw_sendfile(w, p, n, fd, off): the ${n} bytes at ${p}, which are also at
 * ${off} in file ${fd}, sent by the kernel from the file (no copy through
 * this process, and in a pipe the file's pages are passed by reference).
 * A descriptor that refuses sendfile before any byte went gets the bytes
 * from memory, now and from then on.
 */
static int
sw_sendfile(struct ss_swriter *w, const uint8_t *p, size_t n, int fd,
    uint64_t off)
{
	off_t at = (off_t)off;
	size_t done = 0;
	ssize_t k;
	int r;

	if (w->nosendfile || fd < 0 || n < SW_FILEMIN)
		return sw_put(w, p, n);
	if ((r = sw_flush(w)) != 0)
		return r;
	while (done < n) {
		k = sendfile(w->fd, fd, &at, n - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && done == 0 && (errno == EINVAL ||
		    errno == ENOSYS || errno == EOPNOTSUPP)) {
			w->nosendfile = 1;
			return sw_put(w, p, n);
		}
		if (k < 0)
			return sw_fail(w, ss_err_errno(ss_errno_code(errno),
			    "writing the stream"));
		if (k == 0)	/* the file is shorter than it was */
			return sw_fail(w, ss_err(SS_EIO, "writing the stream:"
			    " its source file ended early"));
		done += (size_t)k;
	}
	return 0;
}

/*
 * sw_emit(w, type, head, hn, p, n, fd, off): frame and append one record
 * of payload ${head} then ${p} (see ss_sw_record2 for ${fd}, ${off}).
 */
static int
sw_emit(struct ss_swriter *w, uint8_t type, const uint8_t *head, size_t hn,
    const uint8_t *p, size_t n, int fd, uint64_t off)
{
	uint8_t hdr[SS_STREAM_RECHDR], sum[SS_SUM_LEN];
	int r;

	hdr[0] = type;
	hdr[1] = SS_RECF_CRITICAL;
	ss_le16enc(hdr + 2, 0);
	ss_le32enc(hdr + 4, (uint32_t)(hn + n));
	rec_sum(w->prev, hdr, head, hn, p, n, sum);
	if ((r = sw_put(w, hdr, sizeof(hdr))) != 0 ||
	    (r = sw_put(w, head, hn)) != 0 ||
	    (r = sw_sendfile(w, p, n, fd, off)) != 0 ||
	    (r = sw_put(w, sum, sizeof(sum))))
		return r;
	if (type != SS_REC_END) {
		ss_sum_update(w->whole, hdr, sizeof(hdr));
		ss_sum_update(w->whole, head, hn);
		ss_sum_update(w->whole, p, n);
		ss_sum_update(w->whole, sum, sizeof(sum));
	}
	memcpy(w->prev, sum, SS_SUM_LEN);
	w->bytes += sizeof(hdr) + hn + n + sizeof(sum);
	w->records++;
	if (type == SS_REC_OBJECT) {
		w->objects++;
		w->objbytes += hn + n;
	}
	return 0;
}

static int
begin_encode(const struct ss_begin *b, struct ss_buf *out)
{
	size_t nl = strnlen(b->name, sizeof(b->name));
	int r;

	if (b->version != SS_STREAM_VERSION)
		return ss_err(SS_EINVAL, "cannot write stream version %u",
		    b->version);
	if ((b->features & ~(uint64_t)SS_STREAM_FEATURES_KNOWN) != 0 ||
	    (b->flags & ~(uint64_t)STREAMF_KNOWN) != 0)
		return ss_err(SS_EINVAL, "unknown stream features or flags");
	if (nl > NAME_MAX_LEN)
		return ss_err(SS_EINVAL, "stream name too long");
	if ((r = ss_buf_put(out, SS_STREAM_MAGIC, MAGIC_LEN)) != 0 ||
	    (r = ss_buf_put_u32(out, b->version)) != 0 ||
	    (r = ss_buf_put_u64(out, b->features)) != 0 ||
	    (r = ss_buf_put_u64(out, b->flags)) != 0 ||
	    (r = ss_buf_put_u64(out, b->guid)) != 0 ||
	    (r = ss_buf_put_str16(out, b->name, nl)) != 0)
		return r;
	return 0;
}

int
ss_sw_open(int fd, const struct ss_begin *b, struct ss_swriter **wp)
{
	struct ss_buf rec = SS_BUF_INIT;
	struct ss_swriter *w;
	int r;

	*wp = NULL;
	if ((w = ss_calloc(1, sizeof(*w))) == NULL ||
	    (w->buf = ss_malloc(SW_BUFSZ)) == NULL ||
	    (w->whole = ss_sum_new()) == NULL) {
		r = ss_err(SS_ENOMEM, "stream writer");
		goto out;
	}
	w->fd = fd;
	w->guid = b->guid;
	if ((r = begin_encode(b, &rec)) != 0 ||
	    (r = sw_emit(w, SS_REC_BEGIN, NULL, 0, rec.p, rec.len, -1, 0)))
		goto out;
	*wp = w;
	w = NULL;
out:
	ss_sw_free(w);
	ss_buf_free(&rec);
	return r;
}

int
ss_sw_record2(struct ss_swriter *w, uint8_t type, const void *head,
    size_t hn, const void *body, size_t bn, int fd, uint64_t off)
{
	if (w->err != 0)
		return w->err;
	if (w->ended)
		return ss_err(SS_EINVAL, "stream record after END");
	if (type != SS_REC_DATASET && type != SS_REC_OBJECT &&
	    type != SS_REC_SNAPSHOT)
		return ss_err(SS_EINVAL, "cannot write stream record type %u",
		    type);
	if (hn > SS_SW_HEADMAX || bn > SS_STREAM_MAXREC - hn)
		return ss_err(SS_ERANGE, "stream record of %zu bytes exceeds"
		    " %u", hn + bn, SS_STREAM_MAXREC);
	if ((head == NULL && hn > 0) || (body == NULL && bn > 0))
		return ss_err(SS_EINVAL, "stream record without payload");
	return sw_emit(w, type, head, hn, body, bn, fd, off);
}

int
ss_sw_record(struct ss_swriter *w, uint8_t type, const void *p, size_t n)
{
	return ss_sw_record2(w, type, NULL, 0, p, n, -1, 0);
}

int
ss_sw_end(struct ss_swriter *w)
{
	uint8_t e[END_LEN];
	int r;

	if (w->err != 0)
		return w->err;
	if (w->ended)
		return ss_err(SS_EINVAL, "stream already ended");
	ss_le64enc(e, w->records);
	ss_le64enc(e + 8, w->objects);
	ss_le64enc(e + 16, w->objbytes);
	ss_le64enc(e + 24, w->guid);
	ss_sum_final(w->whole, e + 32);
	if ((r = sw_emit(w, SS_REC_END, NULL, 0, e, sizeof(e), -1, 0)) != 0 ||
	    (r = sw_flush(w)) != 0)
		return r;
	w->ended = 1;
	return 0;
}

uint64_t
ss_sw_bytes(const struct ss_swriter *w)
{
	return w->bytes;
}

void
ss_sw_free(struct ss_swriter *w)
{
	if (w == NULL)
		return;
	ss_sum_free(w->whole);
	free(w->buf);
	free(w);
}

/* ---------- reader ---------- */

struct ss_sreader {
	int fd;
	int err;		/* the first error, returned again later */
	int ended;		/* END returned */
	int eof;
	uint8_t *in;		/* SR_BUFSZ bytes read ahead */
	size_t inoff, inlen;
	const uint8_t *cur;	/* the current payload: in ${in} or ${pay} */
	ss_sr_sink_fn sink;	/* ... or where this returned */
	void *sinkarg;
	uint8_t *pay;		/* payloads not whole in ${in} */
	size_t paycap;
	uint8_t hdr[SS_STREAM_RECHDR], sum[SS_SUM_LEN], prev[SS_SUM_LEN];
	struct ss_sumctx *whole;	/* every byte before END */
	uint64_t recno;		/* number of the current record (BEGIN 0) */
	uint64_t objects, objbytes, bytes, guid;
};

/* sr_fill(r): > 0 bytes buffered, 0 at end of file, < 0 an error. */
static int
sr_fill(struct ss_sreader *r)
{
	ssize_t got;

	if (r->inoff < r->inlen)
		return 1;
	if (r->eof)
		return 0;
	r->inoff = r->inlen = 0;
	do
		got = read(r->fd, r->in, SR_BUFSZ);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return ss_err_errno(ss_errno_code(errno), "reading the stream");
	if (got == 0)
		r->eof = 1;
	r->inlen = (size_t)got;
	return got > 0;
}

/* sr_direct(r, dst, n): read(2) straight into ${dst}, EINTR retried. */
static ssize_t
sr_direct(struct ss_sreader *r, uint8_t *dst, size_t n)
{
	ssize_t got;

	do
		got = read(r->fd, dst, n);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return ss_err_errno(ss_errno_code(errno), "reading the stream");
	if (got == 0)
		r->eof = 1;
	return got;
}

/* sr_read(r, dst, n): exactly ${n} bytes, or "incomplete stream". */
static int
sr_read(struct ss_sreader *r, uint8_t *dst, size_t n)
{
	size_t done = 0, k;
	ssize_t got;
	int rc;

	while (done < n) {
		if (r->inoff == r->inlen && n - done >= SR_DIRECT &&
		    !r->eof) {
			if ((got = sr_direct(r, dst + done, n - done)) < 0)
				return (int)got;
			done += (size_t)got;
			continue;
		}
		if ((rc = sr_fill(r)) < 0)
			return rc;
		if (rc == 0)
			return ss_err(SS_ECORRUPT, "incomplete stream (it ends"
			    " inside record %llu)", (ull)r->recno);
		k = r->inlen - r->inoff;
		k = k < n - done ? k : n - done;
		memcpy(dst + done, r->in + r->inoff, k);
		r->inoff += k;
		done += k;
	}
	r->bytes += n;
	return 0;
}

/*
 * sr_payload(r, n): read ${n} payload bytes into r->cur.  A payload that is
 * already buffered whole, with the checksum after it (so that reading the
 * checksum cannot refill the buffer under it), is used where it is;
 * another is copied into r->pay, grown with what arrives.
 */
static int
sr_payload(struct ss_sreader *r, size_t n)
{
	size_t done = 0, step, cap;
	uint8_t *p;
	int rc;

	if (r->sink != NULL && n >= SR_DIRECT &&
	    (p = r->sink(r->sinkarg, r->hdr[0], n)) != NULL) {
		r->cur = p;
		return sr_read(r, p, n);
	}
	if (r->inlen - r->inoff >= n + SS_SUM_LEN) {
		r->cur = r->in + r->inoff;
		r->inoff += n;
		r->bytes += n;
		return 0;
	}
	r->cur = r->pay;
	while (done < n) {
		step = n - done < SR_GROW ? n - done : SR_GROW;
		if (done + step > r->paycap) {
			cap = r->paycap * 2 < n ? r->paycap * 2 : n;
			cap = cap > done + step ? cap : done + step;
			if ((p = realloc(r->pay, cap)) == NULL)
				return ss_err(SS_ENOMEM, "stream record of"
				    " %zu bytes", n);
			r->pay = p;
			r->paycap = cap;
		}
		r->cur = r->pay;
		if ((rc = sr_read(r, r->pay + done, step)) != 0)
			return rc;
		done += step;
	}
	return 0;
}

/*
 * sr_record(r, first): read the next record into r->hdr, r->cur and r->sum.
 * The length is bounded before anything is allocated.  For BEGIN (${first})
 * a missing BEGIN, the magic and the version are checked before the
 * checksum, so that a future version may change what follows them.
 */
static int
sr_record(struct ss_sreader *r, int first, size_t *np)
{
	size_t n;
	int rc;

	if (!first && (rc = sr_fill(r)) <= 0)
		return rc < 0 ? rc : ss_err(SS_ECORRUPT, "incomplete stream"
		    " (no END record after record %llu)", (ull)(r->recno - 1));
	if ((rc = sr_read(r, r->hdr, sizeof(r->hdr))) != 0)
		return rc;
	if (first && r->hdr[0] != SS_REC_BEGIN)
		return ss_err(SS_ECORRUPT, "not a snapseal stream (no BEGIN"
		    " record)");
	n = ss_le32dec(r->hdr + 4);
	if (n > SS_STREAM_MAXREC)
		return ss_err(SS_ECORRUPT, "record too large: %zu bytes in"
		    " record %llu", n, (ull)r->recno);
	if (first && n < BEGIN_MIN)
		return ss_err(SS_ECORRUPT, "not a snapseal stream (BEGIN of"
		    " %zu bytes)", n);
	if ((rc = sr_payload(r, n)) != 0 ||
	    (rc = sr_read(r, r->sum, sizeof(r->sum))) != 0)
		return rc;
	if (first && memcmp(r->cur, SS_STREAM_MAGIC, MAGIC_LEN) != 0)
		return ss_err(SS_ECORRUPT, "not a snapseal stream (bad magic)");
	if (first && ss_le32dec(r->cur + MAGIC_LEN) != SS_STREAM_VERSION)
		return ss_err(SS_ENOTSUP, "unsupported stream version %u",
		    (unsigned)ss_le32dec(r->cur + MAGIC_LEN));
	*np = n;
	return 0;
}

/* sr_verify(r, n): the checksum chain, then the header's fixed fields. */
static int
sr_verify(struct ss_sreader *r, size_t n)
{
	uint8_t want[SS_SUM_LEN];

	rec_sum(r->prev, r->hdr, NULL, 0, r->cur, n, want);
	if (memcmp(want, r->sum, SS_SUM_LEN) != 0)
		return ss_err(SS_ECORRUPT, "checksum mismatch in record %llu",
		    (ull)r->recno);
	memcpy(r->prev, r->sum, SS_SUM_LEN);
	if (ss_le16dec(r->hdr + 2) != 0)
		return ss_err(SS_ECORRUPT, "non-zero reserved field in record"
		    " %llu", (ull)r->recno);
	if ((r->hdr[1] & ~SS_RECF_CRITICAL) != 0)
		return ss_err(SS_ECORRUPT, "unknown flags %#x in record %llu",
		    r->hdr[1], (ull)r->recno);
	if (r->hdr[0] >= SS_REC_BEGIN && r->hdr[0] <= SS_REC_END &&
	    r->hdr[1] != SS_RECF_CRITICAL)
		return ss_err(SS_ECORRUPT, "record %llu of type %u is not"
		    " marked critical", (ull)r->recno, r->hdr[0]);
	return 0;
}

/* sr_account(r, n): a verified record before END: totals, whole sum. */
static void
sr_account(struct ss_sreader *r, size_t n)
{
	ss_sum_update(r->whole, r->hdr, sizeof(r->hdr));
	ss_sum_update(r->whole, r->cur, n);
	ss_sum_update(r->whole, r->sum, sizeof(r->sum));
	if (r->hdr[0] == SS_REC_OBJECT) {
		r->objects++;
		r->objbytes += n;
	}
	r->recno++;
}

static int
begin_decode(const uint8_t *p, size_t n, struct ss_begin *b)
{
	struct ss_rd rd;
	const uint8_t *name;
	size_t nl;

	ss_rd_init(&rd, p, n);
	ss_rd_bytes(&rd, MAGIC_LEN);
	b->version = ss_rd_u32(&rd);
	b->features = ss_rd_u64(&rd);
	b->flags = ss_rd_u64(&rd);
	b->guid = ss_rd_u64(&rd);
	name = ss_rd_str16(&rd, &nl);
	if (rd.err != 0 || ss_rd_left(&rd) != 0)
		return ss_err(SS_ECORRUPT, "malformed BEGIN record");
	if ((b->features & ~(uint64_t)SS_STREAM_FEATURES_KNOWN) != 0)
		return ss_err(SS_ENOTSUP, "stream uses features this snapseal"
		    " does not know (%#llx)", (ull)b->features);
	if ((b->flags & ~(uint64_t)STREAMF_KNOWN) != 0)
		return ss_err(SS_ENOTSUP, "stream uses flags this snapseal"
		    " does not know (%#llx)", (ull)b->flags);
	if (nl > NAME_MAX_LEN || (nl > 0 && memchr(name, '\0', nl) != NULL))
		return ss_err(SS_ECORRUPT, "malformed BEGIN record (name)");
	if (nl > 0)
		memcpy(b->name, name, nl);
	b->name[nl] = '\0';
	return 0;
}

int
ss_sr_open(int fd, struct ss_sreader **rp, struct ss_begin *b)
{
	struct ss_sreader *r;
	size_t n = 0;
	int rc;

	*rp = NULL;
	memset(b, 0, sizeof(*b));
	if ((r = ss_calloc(1, sizeof(*r))) == NULL ||
	    (r->in = ss_malloc(SR_BUFSZ)) == NULL ||
	    (r->whole = ss_sum_new()) == NULL) {
		rc = ss_err(SS_ENOMEM, "stream reader");
		goto out;
	}
	r->fd = fd;
	if ((rc = sr_record(r, 1, &n)) != 0 || (rc = sr_verify(r, n)) != 0 ||
	    (rc = begin_decode(r->cur, n, b)) != 0)
		goto out;
	r->guid = b->guid;
	sr_account(r, n);
	*rp = r;
	r = NULL;
out:
	if (rc != 0)
		memset(b, 0, sizeof(*b));
	ss_sr_free(r);
	return rc;
}

/* sr_end(r, n): check END against what was read, and that nothing follows. */
static int
sr_end(struct ss_sreader *r, size_t n)
{
	uint8_t whole[SS_SUM_LEN];
	const uint8_t *e = r->cur;
	int rc;

	if (n != END_LEN)
		return ss_err(SS_ECORRUPT, "malformed END record (%zu bytes)",
		    n);
	if (ss_le64dec(e) != r->recno)
		return ss_err(SS_ECORRUPT, "END says %llu records, the stream"
		    " has %llu", (ull)ss_le64dec(e), (ull)r->recno);
	if (ss_le64dec(e + 8) != r->objects ||
	    ss_le64dec(e + 16) != r->objbytes)
		return ss_err(SS_ECORRUPT, "END says %llu objects of %llu"
		    " bytes, the stream has %llu of %llu",
		    (ull)ss_le64dec(e + 8), (ull)ss_le64dec(e + 16),
		    (ull)r->objects, (ull)r->objbytes);
	if (ss_le64dec(e + 24) != r->guid)
		return ss_err(SS_ECORRUPT, "END stream guid does not match"
		    " BEGIN");
	ss_sum_final(r->whole, whole);
	if (memcmp(whole, e + 32, SS_SUM_LEN) != 0)
		return ss_err(SS_ECORRUPT, "whole-stream checksum mismatch");
	if ((rc = sr_fill(r)) < 0)
		return rc;
	if (rc > 0)
		return ss_err(SS_ECORRUPT, "data after the END record");
	return 0;
}

/* sr_next(r, n): the next record that is not skipped, verified. */
static int
sr_next(struct ss_sreader *r, size_t *np)
{
	size_t n = 0;
	uint8_t t;
	int rc;

	for (;;) {
		if ((rc = sr_record(r, 0, &n)) != 0 ||
		    (rc = sr_verify(r, n)) != 0)
			return rc;
		t = r->hdr[0];
		if (t == SS_REC_BEGIN)
			return ss_err(SS_ECORRUPT, "second BEGIN record (record"
			    " %llu)", (ull)r->recno);
		if (t == SS_REC_END)
			break;
		if (t < SS_REC_BEGIN || t > SS_REC_END) {
			if (r->hdr[1] & SS_RECF_CRITICAL)
				return ss_err(SS_ECORRUPT, "unknown record"
				    " type %u in record %llu", t,
				    (ull)r->recno);
			sr_account(r, n);	/* skipped */
			continue;
		}
		sr_account(r, n);
		*np = n;
		return 0;
	}
	if ((rc = sr_end(r, n)) != 0)
		return rc;
	r->ended = 1;
	*np = n;
	return 0;
}

int
ss_sr_next(struct ss_sreader *r, uint8_t *type, const uint8_t **p,
    size_t *n)
{
	static const uint8_t empty[1];
	size_t len = 0;
	int rc;

	*type = 0;
	*p = NULL;
	*n = 0;
	if (r->err != 0)
		return ss_err(r->err, "stream already failed");
	if (r->ended)
		return (r->err = ss_err(SS_ECORRUPT, "read past the END"
		    " record"));
	if ((rc = sr_next(r, &len)) != 0)
		return (r->err = rc);
	*type = r->hdr[0];
	*p = len > 0 ? r->cur : empty;
	*n = len;
	return 0;
}

void
ss_sr_set_sink(struct ss_sreader *r, ss_sr_sink_fn fn, void *arg)
{
	r->sink = fn;
	r->sinkarg = arg;
}

uint64_t
ss_sr_bytes(const struct ss_sreader *r)
{
	return r->bytes;
}

void
ss_sr_free(struct ss_sreader *r)
{
	if (r == NULL)
		return;
	ss_sum_free(r->whole);
	free(r->pay);
	free(r->in);
	free(r);
}
