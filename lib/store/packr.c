/*
 * store/packr.c: reading pack files (docs/format.md, "Pack files"), and
 * everything else done to packs already written: listing, sizes, hole
 * punching and removal.
 *
 * The reader keeps a small cache of open descriptors; the scanner reads
 * sequentially in large blocks and steps over holes left by ss_pack_punch.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "store/packint.h"

#define PACK_RBUF (8u << 20)	/* scanner read size */
#define PACK_FDS 64		/* reader descriptor cache */
#define PACK_RA_ROUND (128u << 10)	/* ss_packr_willneed rounds out to */

/* perr(code, pack, off, fmt, ...): "pack %016llx offset %llu: ...". */
static int __attribute__((format(printf, 4, 5)))
perr(int code, uint64_t pack, uint64_t off, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)ss_err(code, "pack %016llx offset %llu: %s",
	    (unsigned long long)pack, (unsigned long long)off, msg);
	return code;
}

/* pack_openfd(pooldir, pack, flags, &fd): SS_ENOENT names a missing pack. */
static int
pack_openfd(const char *pooldir, uint64_t pack, int flags, int *fd)
{
	char *path = ss_pack_path(pooldir, pack);
	int r = 0;

	if (path == NULL)
		return ss_err(SS_ENOMEM, "out of memory");
	if ((*fd = open(path, flags | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			r = ss_err(SS_ENOENT, "pack %016llx does not exist "
			    "('%s')", (unsigned long long)pack, path);
		else
			r = ss_err_errno(ss_errno_code(errno), "open pack "
			    "'%s'", path);
	}
	free(path);
	return r;
}

/* ---------- reader ---------- */

struct pr_slot {
	uint64_t num;
	int fd;			/* -1 if empty */
	uint64_t used;		/* LRU clock */
};

struct ss_packr {
	char *pool;
	uint64_t clock;
	int cold;		/* a read had to wait for the disk */
	int nonowait;		/* the kernel refused RWF_NOWAIT */
	struct pr_slot s[PACK_FDS];
};

int
ss_packr_open(const char *pooldir, struct ss_packr **out)
{
	struct ss_packr *r;
	int i;

	*out = NULL;
	if ((r = ss_calloc(1, sizeof(*r))) == NULL ||
	    (r->pool = ss_strdup(pooldir)) == NULL) {
		free(r);
		return ss_err(SS_ENOMEM, "out of memory");
	}
	for (i = 0; i < PACK_FDS; i++)
		r->s[i].fd = -1;
	*out = r;
	return 0;
}

/* pr_fd(r, num, &fd): a cached descriptor for pack ${num}. */
static int
pr_fd(struct ss_packr *r, uint64_t num, int *fd)
{
	struct pr_slot *s, *victim = &r->s[0];
	int i, e;

	for (i = 0; i < PACK_FDS; i++) {
		s = &r->s[i];
		if (s->fd >= 0 && s->num == num) {
			s->used = ++r->clock;
			*fd = s->fd;
			return 0;
		}
		if (s->fd < 0 || (victim->fd >= 0 && s->used < victim->used))
			victim = s;
	}
	if ((e = pack_openfd(r->pool, num, O_RDONLY, fd)) != 0)
		return e;
	if (victim->fd >= 0)
		close(victim->fd);
	victim->num = num;
	victim->fd = *fd;
	victim->used = ++r->clock;
	return 0;
}

int
ss_packr_fd(struct ss_packr *r, uint64_t pack, int *fd)
{
	return pr_fd(r, pack, fd);
}

int
ss_packr_cold(const struct ss_packr *r)
{
	return r->cold;
}

void
ss_packr_willneed(struct ss_packr *r, const struct ss_loc *loc)
{
	uint64_t a = loc->off & ~(uint64_t)(PACK_RA_ROUND - 1);
	uint64_t b = loc->off + SS_PACK_RECHDR + loc->len + PACK_RA_ROUND - 1;

	b &= ~(uint64_t)(PACK_RA_ROUND - 1);
	ss_packr_advise(r, loc->pack, a, b - a, POSIX_FADV_WILLNEED);
}

void
ss_packr_advise(struct ss_packr *r, uint64_t pack, uint64_t off,
    uint64_t len, int advice)
{
	int fd;

	if (pr_fd(r, pack, &fd) != 0) {
		ss_errclear();	/* the read will say */
		return;
	}
	(void)posix_fadvise(fd, (off_t)off, (off_t)len, advice);
}

/*
 * pread_rec(r, fd, hdr, obj, n, off, &got): read a record header and ${n}
 * object bytes with as few system calls as possible; *${got} < 36 + n
 * means the file ended.  -1 with errno on a read error.  The first try
 * does not wait for the disk: when it would have to, the reader notes
 * that it is reading cold data (ss_packr_cold) and waits.
 */
static int
pread_rec(struct ss_packr *r, int fd, uint8_t *hdr, uint8_t *obj, size_t n,
    uint64_t off, size_t *got)
{
	size_t want = SS_PACK_RECHDR + n, t = 0;
	struct iovec v[2];
	ssize_t k;
	int cnt, nowait = !r->nonowait;

	while (t < want) {
		cnt = 0;
		if (t < SS_PACK_RECHDR) {
			v[cnt].iov_base = hdr + t;
			v[cnt++].iov_len = SS_PACK_RECHDR - t;
		}
		v[cnt].iov_base = obj + (t > SS_PACK_RECHDR ?
		    t - SS_PACK_RECHDR : 0);
		v[cnt].iov_len = want - (t > SS_PACK_RECHDR ? t : SS_PACK_RECHDR);
		cnt++;
		k = preadv2(fd, v, cnt, (off_t)(off + t),
		    nowait ? RWF_NOWAIT : 0);
		if (nowait && (k < 0 || (size_t)k < want - t)) {
			nowait = 0;
			if (k < 0 && errno != EAGAIN) {
				r->nonowait = 1;	/* not supported here */
				continue;
			}
			r->cold = 1;
			if (k < 0)
				continue;
		}
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (k == 0)
			break;
		t += (size_t)k;
	}
	*got = t;
	return 0;
}

/* pr_check(id, loc, hdr): the record header names ${id} and loc->len. */
static int
pr_check(const struct ss_id *id, const struct ss_loc *loc, const uint8_t *hdr)
{
	char want[2 * SS_ID_LEN + 1], got[2 * SS_ID_LEN + 1];
	struct ss_id hid;

	if (ss_le32dec(hdr) != loc->len)
		return perr(SS_ECORRUPT, loc->pack, loc->off, "record length "
		    "%u, expected %u", ss_le32dec(hdr), loc->len);
	memcpy(hid.b, hdr + 4, SS_ID_LEN);
	if (ss_id_cmp(&hid, id) != 0) {
		ss_id_hex(id, want);
		ss_id_hex(&hid, got);
		return perr(SS_ECORRUPT, loc->pack, loc->off, "record holds "
		    "object %s, expected %s", got, want);
	}
	return 0;
}

int
ss_packr_read(struct ss_packr *r, const struct ss_id *id,
    const struct ss_loc *loc, struct ss_buf *out)
{
	uint8_t hdr[SS_PACK_RECHDR];
	size_t got;
	int fd, e;

	ss_buf_reset(out);
	if (loc->off < PACK_HDR || loc->len < REC_MIN || loc->len > REC_MAX)
		return perr(SS_ECORRUPT, loc->pack, loc->off, "invalid record "
		    "location (length %u)", loc->len);
	if ((e = pr_fd(r, loc->pack, &fd)) != 0 ||
	    (e = ss_buf_reserve(out, loc->len)) != 0)
		return e;
	if (pread_rec(r, fd, hdr, out->p, loc->len, loc->off, &got) != 0)
		return perr(ss_errno_code(errno), loc->pack, loc->off,
		    "read: %s", strerror(errno));
	if (got < SS_PACK_RECHDR + (size_t)loc->len)
		return perr(SS_ECORRUPT, loc->pack, loc->off, "record runs "
		    "past the end of the pack");
	if ((e = pr_check(id, loc, hdr)) != 0)
		return e;
	out->len = loc->len;
	return 0;
}

void
ss_packr_free(struct ss_packr *r)
{
	int i;

	if (r == NULL)
		return;
	for (i = 0; i < PACK_FDS; i++) {
		if (r->s[i].fd >= 0)
			close(r->s[i].fd);
	}
	free(r->pool);
	free(r);
}

/* ---------- sequential scan ---------- */

struct scan {
	int fd;
	uint64_t pack;
	uint64_t size;		/* file size when the scan started */
	uint8_t *buf;
	size_t cap;
	uint64_t boff;		/* file offset of buf[0] */
	size_t blen;
};

/*
 * scan_get(s, off, n, &p): make bytes [off, off + n) of the pack available
 * at *${p} (borrowed until the next call); off + n <= s->size.  Reads ahead
 * up to the buffer size and keeps what is still ahead of ${off}.
 */
static int
scan_get(struct scan *s, uint64_t off, size_t n, const uint8_t **p)
{
	size_t keep = 0, want;
	uint8_t *nb;
	int r;

	if (off >= s->boff && off + n <= s->boff + s->blen) {
		*p = s->buf + (off - s->boff);
		return 0;
	}
	if (off >= s->boff && off < s->boff + s->blen) {
		keep = (size_t)(s->boff + s->blen - off);
		memmove(s->buf, s->buf + (off - s->boff), keep);
	}
	s->boff = off;
	s->blen = keep;
	if (n > s->cap) {
		if ((nb = ss_realloc(s->buf, n)) == NULL)
			return ss_err(SS_ENOMEM, "out of memory");
		s->buf = nb;
		s->cap = n;
	}
	want = s->size - off < s->cap ? (size_t)(s->size - off) : s->cap;
	if ((r = ss_pread_all(s->fd, s->buf + keep, want - keep, off + keep)))
		return perr(r, s->pack, off + keep, "read: %s", ss_errmsg());
	s->blen = want;
	*p = s->buf;
	return 0;
}

/* scan_open(s, pooldir, pack): open the pack and check its header. */
static int
scan_open(struct scan *s, const char *pooldir, uint64_t pack)
{
	const uint8_t *p;
	struct stat st;
	int r;

	s->pack = pack;
	if ((r = pack_openfd(pooldir, pack, O_RDONLY, &s->fd)) != 0)
		return r;
	if (fstat(s->fd, &st) != 0)
		return perr(ss_errno_code(errno), pack, 0, "fstat: %s",
		    strerror(errno));
	s->size = (uint64_t)st.st_size;
	(void)posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	s->cap = s->size < PACK_RBUF ? (size_t)s->size + 1 : PACK_RBUF;
	if ((s->buf = ss_malloc(s->cap)) == NULL)
		return ss_err(SS_ENOMEM, "out of memory");
	if (s->size < PACK_HDR)
		return perr(SS_ECORRUPT, pack, 0, "truncated pack header");
	if ((r = scan_get(s, 0, PACK_HDR, &p)) != 0)
		return r;
	if (memcmp(p, PACK_MAGIC, 8) != 0 || ss_le64dec(p + 8) != pack)
		return perr(SS_ECORRUPT, pack, 0, "bad pack header");
	return 0;
}

/* scan_nonzero(s, off, &q): first non-zero byte at or after ${off}. */
static int
scan_nonzero(struct scan *s, uint64_t off, uint64_t *q)
{
	const uint8_t *p;
	size_t n, i;
	int r;

	for (; off < s->size; off += n) {
		n = s->size - off < s->cap ? (size_t)(s->size - off) : s->cap;
		if ((r = scan_get(s, off, n, &p)) != 0)
			return r;
		for (i = 0; i < n && p[i] == 0; i++)
			;
		if (i < n) {
			*q = off + i;
			return 0;
		}
	}
	*q = s->size;
	return 0;
}

/* scan_valid(s, c): 1 if a whole, checksummed record starts at ${c}. */
static int
scan_valid(struct scan *s, uint64_t c)
{
	const uint8_t *p;
	struct ss_objhdr h;
	struct ss_id id;
	uint32_t len;
	int r;

	if (s->size - c < SS_PACK_RECHDR)
		return 0;
	if ((r = scan_get(s, c, SS_PACK_RECHDR, &p)) != 0)
		return r;
	len = ss_le32dec(p);
	if (len < REC_MIN || len > REC_MAX ||
	    len > s->size - c - SS_PACK_RECHDR)
		return 0;
	if ((r = scan_get(s, c, SS_PACK_RECHDR + (size_t)len, &p)) != 0)
		return r;
	memcpy(id.b, p + 4, SS_ID_LEN);
	return ss_obj_parse(&id, p + SS_PACK_RECHDR, len, &h) == 0;
}

/*
 * scan_hole(s, off): *${off} starts a run of zeros (a punched hole).  Move
 * it to the next record: the first non-zero byte q belongs to that
 * record's length field, so the record starts in [q - 3, q]; take the first
 * candidate that holds a valid object.  At the end of the file, stop.
 */
static int
scan_hole(struct scan *s, uint64_t *off)
{
	uint64_t q, c;
	int r;

	if ((r = scan_nonzero(s, *off, &q)) != 0)
		return r;
	if (q == s->size) {
		*off = q;
		return 0;
	}
	for (c = q >= *off + 3 ? q - 3 : *off; c <= q; c++) {
		if ((r = scan_valid(s, c)) < 0)
			return r;
		if (r == 1) {
			ss_errclear();
			*off = c;
			return 0;
		}
	}
	return perr(SS_ECORRUPT, s->pack, q, "no valid record after the hole "
	    "at offset %llu", (unsigned long long)*off);
}

/* scan_step(s, off, fn, arg): report the record at *${off}, or skip a hole. */
static int
scan_step(struct scan *s, uint64_t *off, ss_pack_scan_fn fn, void *arg)
{
	uint64_t left = s->size - *off;
	size_t hn = left < SS_PACK_RECHDR ? (size_t)left : SS_PACK_RECHDR;
	const uint8_t *p;
	struct ss_loc loc;
	struct ss_id id;
	int r;

	if ((r = scan_get(s, *off, hn, &p)) != 0)
		return r;
	if (hn >= 4 ? ss_le32dec(p) == 0 : memcmp(p, "\0\0\0", hn) == 0)
		return scan_hole(s, off);
	if (hn < SS_PACK_RECHDR)
		return perr(SS_ECORRUPT, s->pack, *off, "torn record header "
		    "at the end of the pack (%zu bytes)", hn);
	loc.len = ss_le32dec(p);
	if (loc.len < REC_MIN || loc.len > REC_MAX)
		return perr(SS_ECORRUPT, s->pack, *off, "bad record length "
		    "%u", loc.len);
	if (loc.len > left - SS_PACK_RECHDR)
		return perr(SS_ECORRUPT, s->pack, *off, "torn record at the "
		    "end of the pack (%llu of %u bytes)", (unsigned long long)
		    (left - SS_PACK_RECHDR), loc.len);
	if ((r = scan_get(s, *off, SS_PACK_RECHDR + (size_t)loc.len, &p)))
		return r;
	memcpy(id.b, p + 4, SS_ID_LEN);
	loc.pack = s->pack;
	loc.off = *off;
	*off += SS_PACK_RECHDR + (uint64_t)loc.len;
	return fn(arg, &id, &loc, p + SS_PACK_RECHDR);
}

int
ss_pack_scan(const char *pooldir, uint64_t pack, ss_pack_scan_fn fn,
    void *arg)
{
	struct scan s = { .fd = -1 };
	uint64_t off = PACK_HDR;
	int r;

	if ((r = scan_open(&s, pooldir, pack)) == 0) {
		while (r == 0 && off < s.size)
			r = scan_step(&s, &off, fn, arg);
	}
	if (s.fd >= 0)
		close(s.fd);
	free(s.buf);
	return r;
}

/* ---------- listing and maintenance ---------- */

struct u64vec {
	uint64_t *v;
	size_t n, cap;
};

static int
u64_push(struct u64vec *a, uint64_t x)
{
	uint64_t *nv;

	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 64;

		if ((nv = ss_realloc(a->v, cap * sizeof(*nv))) == NULL)
			return ss_err(SS_ENOMEM, "out of memory");
		a->v = nv;
		a->cap = cap;
	}
	a->v[a->n++] = x;
	return 0;
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* is_lhex(s, n): ${n} lowercase hex digits. */
static int
is_lhex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return 1;
}

/* pack_name(name, xx, &num): "<16 hex>.pack" in directory ${xx}. */
static int
pack_name(const char *name, const char *xx, uint64_t *num)
{
	if (strlen(name) != 21 || strcmp(name + 16, ".pack") != 0 ||
	    !is_lhex(name, 16) || strncmp(name, xx, 2) != 0)
		return 0;
	*num = strtoull(name, NULL, 16);
	return *num != 0;
}

/* list_xx(packs, xx, a): the packs in directory packs/${xx}. */
static int
list_xx(const char *packs, const char *xx, struct u64vec *a)
{
	char *dir = ss_path_join(packs, xx);
	struct dirent *de;
	uint64_t num;
	DIR *d = NULL;
	int r = 0;

	if (dir == NULL)
		return ss_err(SS_ENOMEM, "out of memory");
	if ((d = opendir(dir)) == NULL) {
		if (errno != ENOTDIR && errno != ENOENT)
			r = ss_err_errno(ss_errno_code(errno), "open "
			    "directory '%s'", dir);
		goto out;
	}
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (pack_name(de->d_name, xx, &num))
			r = u64_push(a, num);
	}
out:
	if (d != NULL)
		closedir(d);
	free(dir);
	return r;
}

int
ss_pack_list(const char *pooldir, uint64_t **packs, size_t *n)
{
	struct u64vec a = { NULL, 0, 0 };
	char *dir = ss_path_join(pooldir, "packs");
	struct dirent *de;
	DIR *d = NULL;
	int r = 0;

	*packs = NULL;
	*n = 0;
	if (dir == NULL)
		return ss_err(SS_ENOMEM, "out of memory");
	if ((d = opendir(dir)) == NULL) {
		if (errno != ENOENT)
			r = ss_err_errno(ss_errno_code(errno), "open "
			    "directory '%s'", dir);
		goto out;
	}
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (strlen(de->d_name) == 2 && is_lhex(de->d_name, 2))
			r = list_xx(dir, de->d_name, &a);
	}
out:
	if (d != NULL)
		closedir(d);
	free(dir);
	if (r != 0) {
		free(a.v);
		return r;
	}
	if (a.n > 1)
		qsort(a.v, a.n, sizeof(a.v[0]), u64_cmp);
	*packs = a.v;
	*n = a.n;
	return 0;
}

int
ss_pack_size(const char *pooldir, uint64_t pack, uint64_t *bytes)
{
	char *path = ss_pack_path(pooldir, pack);
	struct stat st;
	int r = 0;

	if (path == NULL)
		return ss_err(SS_ENOMEM, "out of memory");
	if (stat(path, &st) != 0)
		r = errno == ENOENT ? ss_err(SS_ENOENT, "pack %016llx does "
		    "not exist ('%s')", (unsigned long long)pack, path) :
		    ss_err_errno(ss_errno_code(errno), "stat '%s'", path);
	else
		*bytes = (uint64_t)st.st_size;
	free(path);
	return r;
}

/*
 * ss_pack_punch: ${len} is the stored object length (loc.len); the range
 * released is the whole record, [off, off + 36 + len).  The record's length
 * field is checked first, so a stale location cannot punch a neighbour; a
 * record already punched (length field 0) is left alone.
 */
int
ss_pack_punch(const char *pooldir, uint64_t pack, uint64_t off, uint64_t len)
{
	uint8_t lenb[4];
	int fd = -1, r;

	if (off < PACK_HDR || len < REC_MIN || len > REC_MAX)
		return perr(SS_EINVAL, pack, off, "invalid record to punch "
		    "(length %llu)", (unsigned long long)len);
	if ((r = pack_openfd(pooldir, pack, O_RDWR, &fd)) != 0)
		return r;
	if ((r = ss_pread_all(fd, lenb, sizeof(lenb), off)) != 0) {
		r = perr(r, pack, off, "%s", ss_errmsg());
		goto out;
	}
	if (ss_le32dec(lenb) == 0)
		goto out;
	if (ss_le32dec(lenb) != len) {
		r = perr(SS_ECORRUPT, pack, off, "record length %u, expected "
		    "%llu: not punching", ss_le32dec(lenb),
		    (unsigned long long)len);
		goto out;
	}
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
	    (off_t)off, (off_t)(SS_PACK_RECHDR + len)) != 0 &&
	    errno != EOPNOTSUPP && errno != ENOSYS)
		r = perr(ss_errno_code(errno), pack, off, "punch hole: %s",
		    strerror(errno));
out:
	close(fd);
	return r;
}

int
ss_pack_remove(const char *pooldir, uint64_t pack)
{
	char *path = ss_pack_path(pooldir, pack), *dir = NULL;
	int r = 0;

	if (path == NULL || (dir = ss_pack_dir(pooldir, pack)) == NULL) {
		r = ss_err(SS_ENOMEM, "out of memory");
		goto out;
	}
	if (unlink(path) != 0) {
		r = errno == ENOENT ? ss_err(SS_ENOENT, "pack %016llx does "
		    "not exist ('%s')", (unsigned long long)pack, path) :
		    ss_err_errno(ss_errno_code(errno), "remove '%s'", path);
		goto out;
	}
	r = ss_fsync_dir(dir);
out:
	free(path);
	free(dir);
	return r;
}
