/*
 * store/pack.c: pack files (docs/format.md, "Pack files").
 *
 *   POOL/packs/XX/<16 hex>.pack = "SSPACK01" | u64 number | records
 *   record = u32 len | id[32] | stored object[len]
 *
 * The writer appends through a userspace buffer and makes everything
 * durable in ss_packw_flush; the reader keeps a small cache of open
 * descriptors; the scanner reads sequentially in large blocks and steps
 * over holes left by ss_pack_punch.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/stat.h>		/* STATX_DIOALIGN, before sys/stat.h */
#include <sys/stat.h>
#include <sys/uio.h>

#include "store/store.h"

#define PACK_MAGIC "SSPACK01"
#define PACK_HDR 16
#define PACK_WBUF (4u << 20)	/* writer buffer */
#define PACK_WDIRECT (256u << 10)	/* records this large skip the buffer */
#define PACK_DIOALIGN 4096u	/* direct writes: offsets, lengths, memory */
#define PACK_RBUF (8u << 20)	/* scanner read size */
#define PACK_FDS 64		/* reader descriptor cache */
#define PACK_RA_ROUND (128u << 10)	/* ss_packr_willneed rounds out to */
#define PACK_TRIES 16		/* attempts at a fresh pack number */
#define PACK_MODE 0600

/* Bounds of a stored object (see docs/format.md, "Stored object"). */
#define REC_MIN 33u
#define REC_MAX (16u + SS_ID_LEN * SS_OBJ_MAXREFS + SS_NONCE_LEN + \
    SS_OBJ_MAX + 1u + SS_TAG_LEN + SS_SUM_LEN)

/* pwritev2 flag of Linux 6.14: write, start writeback, drop the pages */
#ifndef RWF_DONTCACHE
#define RWF_DONTCACHE 0x00000080
#endif

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

char *
ss_pack_path(const char *pooldir, uint64_t pack)
{
	return ss_asprintf("%s/packs/%02x/%016llx.pack", pooldir,
	    (unsigned)(pack >> 56), (unsigned long long)pack);
}

static char *
pack_dir(const char *pooldir, uint64_t pack)
{
	return ss_asprintf("%s/packs/%02x", pooldir, (unsigned)(pack >> 56));
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

/* ---------- writer ---------- */

struct pw_pack {
	uint64_t num;
	int fd;			/* -1 once closed (rotated away) */
	int fresh;		/* created since the last flush */
	int dirty;		/* written and not yet synced */
};

struct ss_packw {
	char *pool;
	struct pw_pack *v;	/* packs touched since the last flush */
	size_t nv, capv;
	int cur;		/* v[nv - 1] is open for appending */
	uint64_t cursize;	/* its size, buffered bytes included */
	uint8_t *buf;		/* bytes not yet written to v[nv - 1] */
	size_t blen;
	int newdirs;		/* 1: an XX dir was made, 2: packs/ was made */
	int uncached;		/* ss_packw_uncached was called */
	int dontcache;		/* ... and the kernel takes RWF_DONTCACHE */
	struct pw_dio *dio;	/* ... and the filesystem takes O_DIRECT */
	int nodio;		/* ... or it does not */
	uint8_t *resv;		/* ss_packw_reserve: at w->buf + w->blen */
	size_t resvn;		/* ... for an object of this many bytes */
	int err;		/* sticky: a failed write makes the writer unusable */
	char errmsg[512];	/* ... and its message, repeated to later calls */
	uint64_t written;
};

/* pw_fail(w, r, num): record a write error on pack ${num} (errno kept). */
static int
pw_fail(struct ss_packw *w, int r, uint64_t num)
{
	int e = errno;
	char *path = ss_pack_path(w->pool, num);

	w->err = r;
	errno = e;
	r = ss_err_errno(r, "write pack '%s'", path != NULL ? path : "?");
	snprintf(w->errmsg, sizeof(w->errmsg), "%s", ss_errmsg());
	free(path);
	return r;
}

int
ss_packw_open(const char *pooldir, struct ss_packw **out)
{
	struct ss_packw *w;
	char *packs = NULL;
	int r = 0;

	*out = NULL;
	if ((w = ss_calloc(1, sizeof(*w))) == NULL ||
	    (w->pool = ss_strdup(pooldir)) == NULL ||
	    (w->buf = ss_malloc(PACK_WBUF)) == NULL ||
	    (packs = ss_path_join(pooldir, "packs")) == NULL) {
		r = ss_err(SS_ENOMEM, "out of memory");
		goto out;
	}
	if (mkdir(packs, 0700) == 0)
		w->newdirs |= 2;
	else if (errno != EEXIST)
		r = ss_err_errno(ss_errno_code(errno), "create directory "
		    "'%s'", packs);
out:
	free(packs);
	if (r != 0)
		ss_packw_free(w);
	else
		*out = w;
	return r;
}

/* pw_mkfile(w, num, &fd): create the XX directory and the pack file. */
static int
pw_mkfile(struct ss_packw *w, uint64_t num, int *fd)
{
	char *dir = pack_dir(w->pool, num), *path = ss_pack_path(w->pool, num);
	int r = 0;

	*fd = -1;
	if (dir == NULL || path == NULL) {
		r = ss_err(SS_ENOMEM, "out of memory");
		goto out;
	}
	if (mkdir(dir, 0700) == 0)
		w->newdirs |= 1;
	else if (errno != EEXIST) {
		r = ss_err_errno(ss_errno_code(errno), "create directory "
		    "'%s'", dir);
		goto out;
	}
	*fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    (w->uncached ? 0 : O_APPEND), PACK_MODE);
	if (*fd < 0)
		r = ss_err_errno(ss_errno_code(errno), "create pack '%s'",
		    path);
out:
	free(dir);
	free(path);
	return r;
}

/* ---------- direct writes ---------- */

/*
 * An uncached writer on a filesystem that takes O_DIRECT writes around the
 * page cache: records are copied into one of two aligned buffers; when it
 * is full, a thread writes its whole blocks straight to the disk while the
 * other buffer fills, starting with the partial last block again.  Ending
 * a pack (flush, rotation) writes that block padded with zeros, then cuts
 * the file back to its size.  Nothing is left to write back at the flush,
 * and no memory fills with pages nobody will read.
 */
struct pw_dio {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	int busy;		/* a write is waiting or running */
	int fd;			/* the write: ${len} of ${buf} at ${off} */
	const uint8_t *buf;
	size_t len;
	uint64_t off;
	int err;		/* errno of the first failed write */
	uint8_t *b[2];		/* PACK_WBUF + PACK_DIOALIGN bytes each */
	int cur;		/* w->buf is b[cur] */
	uint64_t boff;		/* pack offset of w->buf[0], aligned */
	int padded;		/* the pack runs past its size (zeros) */
};

/* dio_write(d): the thread's write; an errno value or 0. */
static int
dio_write(const struct pw_dio *d)
{
	size_t done = 0;
	ssize_t k;

	while (done < d->len) {
		k = pwrite(d->fd, d->buf + done, d->len - done,
		    (off_t)(d->off + done));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errno;
		/* short: the filesystem is full (the rest is unaligned) */
		if (k == 0 || (k % PACK_DIOALIGN) != 0)
			return ENOSPC;
		done += (size_t)k;
	}
	return 0;
}

static void *
dio_main(void *arg)
{
	struct pw_dio *d = arg;
	int e;

	pthread_mutex_lock(&d->mu);
	for (;;) {
		while (!d->busy && !d->stop)
			pthread_cond_wait(&d->cv, &d->mu);
		if (!d->busy)
			break;
		pthread_mutex_unlock(&d->mu);
		e = dio_write(d);
		pthread_mutex_lock(&d->mu);
		if (e != 0 && d->err == 0)
			d->err = e;
		d->busy = 0;
		pthread_cond_broadcast(&d->cv);
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

/* dio_wait(d): wait for the write in flight; the first failure's errno. */
static int
dio_wait(struct pw_dio *d)
{
	int e;

	pthread_mutex_lock(&d->mu);
	while (d->busy)
		pthread_cond_wait(&d->cv, &d->mu);
	e = d->err;
	pthread_mutex_unlock(&d->mu);
	return e;
}

static void
dio_free(struct pw_dio *d)
{
	if (d == NULL)
		return;
	pthread_mutex_lock(&d->mu);
	d->stop = 1;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	pthread_join(d->th, NULL);
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
	free(d->b[0]);
	free(d->b[1]);
	free(d);
}

/* dio_able(fd): 1 if direct writes of PACK_DIOALIGN blocks work on ${fd}. */
static int
dio_able(int fd)
{
	struct statx st;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &st) != 0 ||
	    !(st.stx_mask & STATX_DIOALIGN) || st.stx_dio_mem_align == 0 ||
	    st.stx_dio_offset_align == 0 ||
	    PACK_DIOALIGN % st.stx_dio_mem_align != 0 ||
	    PACK_DIOALIGN % st.stx_dio_offset_align != 0)
		return 0;
	return 1;
}

/* dio_new(w): the buffers and the thread; w->buf becomes the first. */
static int
dio_new(struct ss_packw *w)
{
	struct pw_dio *d;
	void *b0 = NULL, *b1 = NULL;

	if ((d = ss_calloc(1, sizeof(*d))) == NULL)
		return SS_ENOMEM;
	if (posix_memalign(&b0, PACK_DIOALIGN, PACK_WBUF + PACK_DIOALIGN) ||
	    posix_memalign(&b1, PACK_DIOALIGN, PACK_WBUF + PACK_DIOALIGN)) {
		free(b0);
		free(d);
		return SS_ENOMEM;
	}
	d->b[0] = b0;
	d->b[1] = b1;
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	if (pthread_create(&d->th, NULL, dio_main, d) != 0) {
		pthread_cond_destroy(&d->cv);
		pthread_mutex_destroy(&d->mu);
		free(b0);
		free(b1);
		free(d);
		return SS_ENOMEM;
	}
	free(w->buf);
	w->buf = d->b[0];
	w->blen = 0;
	w->dio = d;
	return 0;
}

/*
 * dio_attach(w, fd): make the new pack ${fd} written directly, starting
 * the direct writer with the first pack; a filesystem that does not take
 * direct writes leaves the writer buffered for good.
 */
static int
dio_attach(struct ss_packw *w, int fd)
{
	int fl, r;

	if (w->dio == NULL && !dio_able(fd)) {
		w->nodio = 1;
		return 0;
	}
	if ((fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl | O_DIRECT) != 0) {
		if (w->dio != NULL)
			return ss_errno_code(errno);
		w->nodio = 1;
		return 0;
	}
	if (w->dio == NULL && (r = dio_new(w)) != 0) {
		(void)fcntl(fd, F_SETFL, fl);
		w->nodio = 1;
		return r == SS_ENOMEM ? 0 : r;
	}
	return 0;
}

/*
 * dio_drain(w, all): hand the buffer's whole blocks to the thread (with
 * ${all}, every byte, the last block padded with zeros) once the previous
 * write is done; the other buffer starts with the partial block.
 */
static int
dio_drain(struct ss_packw *w, int all)
{
	struct pw_dio *d = w->dio;
	struct pw_pack *pk = &w->v[w->nv - 1];
	size_t full = w->blen & ~(size_t)(PACK_DIOALIGN - 1);
	size_t tail = w->blen - full, len = full;
	uint8_t *next;
	int e;

	if (all && tail > 0) {
		len = full + PACK_DIOALIGN;
		memset(w->buf + w->blen, 0, len - w->blen);
	}
	if (len == 0)
		return 0;
	if ((e = dio_wait(d)) != 0) {
		errno = e;
		return pw_fail(w, ss_errno_code(e), pk->num);
	}
	pthread_mutex_lock(&d->mu);
	d->fd = pk->fd;
	d->buf = w->buf;
	d->len = len;
	d->off = d->boff;
	d->busy = 1;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	if (len > full)
		d->padded = 1;
	next = d->b[1 - d->cur];
	memcpy(next, w->buf + full, tail);
	d->cur = 1 - d->cur;
	d->boff += full;
	w->buf = next;
	w->blen = tail;
	return 0;
}

/* dio_append(w, p, n): copy into the buffers, handing full ones over. */
static int
dio_append(struct ss_packw *w, const void *p, size_t n)
{
	const uint8_t *q = p;
	size_t k;
	int r;

	while (n > 0) {
		if (w->blen == PACK_WBUF && (r = dio_drain(w, 0)) != 0)
			return r;
		k = PACK_WBUF - w->blen < n ? PACK_WBUF - w->blen : n;
		memcpy(w->buf + w->blen, q, k);
		w->blen += k;
		q += k;
		n -= k;
	}
	return 0;
}

/* dio_finish(w): everything of the current pack on disk, size exact. */
static int
dio_finish(struct ss_packw *w)
{
	struct pw_pack *pk = &w->v[w->nv - 1];
	int r, e;

	if ((r = dio_drain(w, 1)) != 0)
		return r;
	if ((e = dio_wait(w->dio)) != 0) {
		errno = e;
		return pw_fail(w, ss_errno_code(e), pk->num);
	}
	if (w->dio->padded && ftruncate(pk->fd, (off_t)w->cursize) != 0)
		return pw_fail(w, ss_errno_code(errno), pk->num);
	w->dio->padded = 0;
	return 0;
}

/* pw_create(w, pk): a new pack with a fresh random number and its header. */
static int
pw_create(struct ss_packw *w, struct pw_pack *pk)
{
	uint8_t hdr[PACK_HDR];
	uint64_t num = 0;
	int fd = -1, r = SS_EEXIST, i;

	for (i = 0; i < PACK_TRIES && r == SS_EEXIST; i++) {
		num = ss_random_u64();
		r = pw_mkfile(w, num, &fd);
	}
	if (r != 0)
		return r;
	memcpy(hdr, PACK_MAGIC, 8);
	ss_le64enc(hdr + 8, num);
	if (w->uncached && !w->nodio && (r = dio_attach(w, fd)) != 0) {
		r = pw_fail(w, r, num);
		close(fd);
		return r;
	}
	if (w->dio) {
		/* the header goes with the first records */
		memcpy(w->buf, hdr, sizeof(hdr));
		w->blen = sizeof(hdr);
		w->dio->boff = 0;
	} else if ((r = ss_write_all(fd, hdr, sizeof(hdr))) != 0) {
		r = pw_fail(w, r, num);
		close(fd);
		return r;
	}
	pk->num = num;
	pk->fd = fd;
	pk->fresh = 1;
	pk->dirty = 1;
	return 0;
}

/*
 * pw_writev(w, fd, v, cnt): append every byte of ${v} (changed in place) to
 * ${fd}; -1 with errno on failure.  An uncached writer asks the kernel to
 * drop the pages once written back, and writes plainly from the first
 * refusal of the flag on (a kernel or filesystem without it).
 */
static int
pw_writev(struct ss_packw *w, int fd, struct iovec *v, int cnt)
{
	ssize_t k;

	while (cnt > 0) {
		if (v->iov_len == 0) {
			v++;
			cnt--;
			continue;
		}
		if (w->dontcache) {
			k = pwritev2(fd, v, cnt, -1, RWF_DONTCACHE);
			if (k < 0 && (errno == EOPNOTSUPP || errno == EINVAL)) {
				w->dontcache = 0;
				continue;
			}
		} else
			k = writev(fd, v, cnt);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (k == 0)
				errno = EIO;
			return -1;
		}
		for (; cnt > 0 && (size_t)k >= v->iov_len; v++, cnt--)
			k -= (ssize_t)v->iov_len;
		if (cnt > 0) {
			v->iov_base = (uint8_t *)v->iov_base + k;
			v->iov_len -= (size_t)k;
		}
	}
	return 0;
}

/*
 * pw_put(w, a, an, b, bn): write the buffered bytes, then ${a} and ${b},
 * to the current pack, in one system call where the kernel takes it all.
 */
static int
pw_put(struct ss_packw *w, const void *a, size_t an, const void *b,
    size_t bn)
{
	struct pw_pack *pk = &w->v[w->nv - 1];
	struct iovec v[3] = {
		{ w->buf, w->blen }, { (void *)a, an }, { (void *)b, bn }
	};

	if (w->blen + an + bn == 0)
		return 0;
	w->blen = 0;
	if (pw_writev(w, pk->fd, v, 3) != 0)
		return pw_fail(w, ss_errno_code(errno), pk->num);
	return 0;
}

/* pw_drain(w): write the buffered bytes to the current pack. */
static int
pw_drain(struct ss_packw *w)
{
	return pw_put(w, NULL, 0, NULL, 0);
}

/* pw_finish(w): every byte of the current pack written. */
static int
pw_finish(struct ss_packw *w)
{
	return w->dio ? dio_finish(w) : pw_drain(w);
}

/* pw_sync(w, pk): fdatasync a pack written since the last flush. */
static int
pw_sync(struct ss_packw *w, struct pw_pack *pk)
{
	if (!pk->dirty)
		return 0;
	if (fdatasync(pk->fd) != 0)
		return pw_fail(w, ss_errno_code(errno), pk->num);
	pk->dirty = 0;
	return 0;
}

/*
 * pw_rotate(w): sync and close the current pack (its directory entry is
 * synced at the next flush) and start a new one.
 */
static int
pw_rotate(struct ss_packw *w)
{
	struct pw_pack *pk, *nv;
	int r;

	if (w->cur) {
		pk = &w->v[w->nv - 1];
		if ((r = pw_finish(w)) != 0 || (r = pw_sync(w, pk)) != 0)
			return r;
		close(pk->fd);
		pk->fd = -1;
		w->cur = 0;
	}
	if (w->nv == w->capv) {
		size_t cap = w->capv ? 2 * w->capv : 8;

		if ((nv = ss_realloc(w->v, cap * sizeof(*nv))) == NULL)
			return ss_err(SS_ENOMEM, "out of memory");
		w->v = nv;
		w->capv = cap;
	}
	if ((r = pw_create(w, &w->v[w->nv])) != 0)
		return r;
	w->nv++;
	w->cur = 1;
	w->cursize = PACK_HDR;
	return 0;
}

/*
 * pw_append(w, hdr, obj, n): append a record.  Large ones go straight from
 * the caller's memory (with what is buffered before them), the others
 * through the buffer.
 */
static int
pw_append(struct ss_packw *w, const uint8_t *hdr, const void *obj, size_t n)
{
	int r;

	if (w->dio)
		return (r = dio_append(w, hdr, SS_PACK_RECHDR)) != 0 ? r :
		    dio_append(w, obj, n);
	if (n >= PACK_WDIRECT)
		return pw_put(w, hdr, SS_PACK_RECHDR, obj, n);
	if (SS_PACK_RECHDR + n > PACK_WBUF - w->blen && (r = pw_drain(w)))
		return r;
	memcpy(w->buf + w->blen, hdr, SS_PACK_RECHDR);
	memcpy(w->buf + w->blen + SS_PACK_RECHDR, obj, n);
	w->blen += SS_PACK_RECHDR + n;
	return 0;
}

/* pw_room(w, n): the pack to append an ${n}-byte object to is open. */
static int
pw_room(struct ss_packw *w, size_t n)
{
	uint64_t rec = SS_PACK_RECHDR + (uint64_t)n;

	if (w->err != 0)
		return ss_err(w->err, "%s", w->errmsg[0] ? w->errmsg :
		    "pack writer failed earlier");
	if (n < REC_MIN || n > REC_MAX)
		return ss_err(SS_EINVAL, "stored object of %zu bytes is out "
		    "of bounds", n);
	if (!w->cur || (w->cursize > PACK_HDR &&
	    w->cursize + rec > SS_PACK_TARGET))
		return pw_rotate(w);
	return 0;
}

int
ss_packw_reserve(struct ss_packw *w, size_t n, uint8_t **p)
{
	int r;

	*p = NULL;
	w->resv = NULL;
	if (!w->uncached || w->nodio)
		return 0;
	if ((r = pw_room(w, n)) != 0)
		return r;
	if (w->dio == NULL || SS_PACK_RECHDR + n > PACK_WBUF)
		return 0;
	if (SS_PACK_RECHDR + n > PACK_WBUF - w->blen &&
	    (r = dio_drain(w, 0)) != 0)
		return r;
	if (SS_PACK_RECHDR + n > PACK_WBUF - w->blen)
		return 0;
	*p = w->resv = w->buf + w->blen;
	w->resvn = n;
	return 0;
}

/*
 * pw_inplace(w, obj, n): 1 if ${obj} is the object of the reservation
 * (nothing to copy), 0 if it is elsewhere, < 0 if it lies in the writer's
 * buffers without being that: the append would overwrite it.
 */
static int
pw_inplace(struct ss_packw *w, const void *obj, size_t n)
{
	const uint8_t *o = obj, *b0, *b1;
	uint8_t *resv = w->resv;

	w->resv = NULL;
	if (w->dio == NULL)
		return 0;
	if (resv != NULL && resv == w->buf + w->blen &&
	    o == resv + SS_PACK_RECHDR && n == w->resvn)
		return 1;
	b0 = w->dio->b[0];
	b1 = w->dio->b[1];
	if ((o + n > b0 && o < b0 + PACK_WBUF + PACK_DIOALIGN) ||
	    (o + n > b1 && o < b1 + PACK_WBUF + PACK_DIOALIGN))
		return ss_err(SS_EINVAL, "ss_packw_add: object inside the"
		    " writer's buffer but not where it was reserved");
	return 0;
}

int
ss_packw_add(struct ss_packw *w, const struct ss_id *id, const void *obj,
    size_t n, struct ss_loc *loc)
{
	uint64_t rec = SS_PACK_RECHDR + (uint64_t)n;
	uint8_t hdr[SS_PACK_RECHDR];
	struct pw_pack *pk;
	int r, in;

	if ((in = pw_inplace(w, obj, n)) < 0)
		return in;
	if ((r = pw_room(w, n)) != 0)
		return r;
	ss_le32enc(hdr, (uint32_t)n);
	memcpy(hdr + 4, id->b, SS_ID_LEN);
	if (in && w->buf + w->blen + SS_PACK_RECHDR == (const uint8_t *)obj) {
		memcpy(w->buf + w->blen, hdr, sizeof(hdr));
		w->blen += (size_t)rec;
	} else if (in)
		return ss_err(SS_EINVAL, "ss_packw_add: the reservation moved");
	else if ((r = pw_append(w, hdr, obj, n)) != 0)
		return r;
	pk = &w->v[w->nv - 1];
	pk->dirty = 1;
	loc->pack = pk->num;
	loc->off = w->cursize;
	loc->len = (uint32_t)n;
	w->cursize += rec;
	w->written += rec;
	return 0;
}

/* pw_sync_dirs(w): fsync the directories that gained entries. */
static int
pw_sync_dirs(struct ss_packw *w)
{
	uint8_t seen[256] = { 0 };
	char *dir;
	size_t i;
	int r = 0;

	for (i = 0; i < w->nv && r == 0; i++) {
		uint64_t num = w->v[i].num;

		if (!w->v[i].fresh || seen[num >> 56]++)
			continue;
		if ((dir = pack_dir(w->pool, num)) == NULL)
			return ss_err(SS_ENOMEM, "out of memory");
		r = ss_fsync_dir(dir);
		free(dir);
	}
	if (r == 0 && (w->newdirs & 1) && (dir = ss_path_join(w->pool,
	    "packs")) != NULL) {
		r = ss_fsync_dir(dir);
		free(dir);
	}
	if (r == 0 && (w->newdirs & 2))
		r = ss_fsync_dir(w->pool);
	return r;
}

int
ss_packw_flush(struct ss_packw *w)
{
	size_t i;
	int r;

	if (w->err != 0)
		return ss_err(w->err, "%s", w->errmsg[0] ? w->errmsg :
		    "pack writer failed earlier");
	if (w->cur && (r = pw_finish(w)) != 0)
		return r;
	for (i = 0; i < w->nv; i++) {
		if ((r = pw_sync(w, &w->v[i])) != 0)
			return r;
	}
	if ((r = pw_sync_dirs(w)) != 0) {
		w->err = r;
		snprintf(w->errmsg, sizeof(w->errmsg), "%s", ss_errmsg());
		return r;
	}
	if (w->cur) {
		w->v[0] = w->v[w->nv - 1];
		w->v[0].fresh = 0;
	}
	w->nv = w->cur ? 1 : 0;
	w->newdirs = 0;
	return 0;
}

void
ss_packw_uncached(struct ss_packw *w)
{
	w->uncached = 1;
	w->dontcache = 1;
}

uint64_t
ss_packw_written(const struct ss_packw *w)
{
	return w->written;
}

void
ss_packw_free(struct ss_packw *w)
{
	size_t i;

	if (w == NULL)
		return;
	if (w->dio != NULL) {
		w->buf = NULL;	/* one of the direct writer's buffers */
		dio_free(w->dio);
	}
	for (i = 0; i < w->nv; i++) {
		if (w->v[i].fd >= 0)
			close(w->v[i].fd);
	}
	free(w->v);
	free(w->buf);
	free(w->pool);
	free(w);
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
	int fd;

	b &= ~(uint64_t)(PACK_RA_ROUND - 1);
	if (pr_fd(r, loc->pack, &fd) != 0) {
		ss_errclear();	/* the read will say */
		return;
	}
	(void)posix_fadvise(fd, (off_t)a, (off_t)(b - a),
	    POSIX_FADV_WILLNEED);
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

	if (path == NULL || (dir = pack_dir(pooldir, pack)) == NULL) {
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
