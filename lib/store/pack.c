/*
 * store/pack.c: pack files (docs/format.md, "Pack files"): their names and
 * the writer.
 *
 *   POOL/packs/XX/<16 hex>.pack = "SSPACK01" | u64 number | records
 *   record = u32 len | id[32] | stored object[len]
 *
 * The writer appends through a userspace buffer and makes everything
 * durable in ss_packw_flush; an uncached writer on a filesystem that takes
 * O_DIRECT hands the writing to packdio.c.  Reading, scanning, listing,
 * punching and removal are in packr.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "store/packint.h"

#define PACK_WDIRECT (256u << 10)	/* records this large skip the buffer */
#define PACK_BBUF (1u << 20)	/* the buffer of a writer not direct */
#define PACK_TRIES 16		/* attempts at a fresh pack number */
#define PACK_MODE 0600

/* pwritev2 flag of Linux 6.14: write, start writeback, drop the pages */
#ifndef RWF_DONTCACHE
#define RWF_DONTCACHE 0x00000080
#endif

char *
ss_pack_path(const char *pooldir, uint64_t pack)
{
	return ss_asprintf("%s/packs/%02x/%016llx.pack", pooldir,
	    (unsigned)(pack >> 56), (unsigned long long)pack);
}

char *
ss_pack_dir(const char *pooldir, uint64_t pack)
{
	return ss_asprintf("%s/packs/%02x", pooldir, (unsigned)(pack >> 56));
}

/* ---------- writer ---------- */

/* ss_pw_fail(w, r, num): record a write error on pack ${num} (errno kept). */
int
ss_pw_fail(struct ss_packw *w, int r, uint64_t num)
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
	    (w->buf = ss_malloc(PACK_BBUF)) == NULL ||
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
	char *dir = ss_pack_dir(w->pool, num), *path = ss_pack_path(w->pool, num);
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
	if (w->uncached && !w->nodio && (r = ss_dio_attach(w, fd)) != 0) {
		r = ss_pw_fail(w, r, num);
		close(fd);
		return r;
	}
	if (w->dio) {
		/* the header goes with the first records */
		memcpy(w->buf, hdr, sizeof(hdr));
		w->blen = sizeof(hdr);
		w->dio->boff = 0;
	} else if ((r = ss_write_all(fd, hdr, sizeof(hdr))) != 0) {
		r = ss_pw_fail(w, r, num);
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
		return ss_pw_fail(w, ss_errno_code(errno), pk->num);
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
	return w->dio ? ss_dio_finish(w) : pw_drain(w);
}

/* pw_sync(w, pk): fdatasync a pack written since the last flush. */
static int
pw_sync(struct ss_packw *w, struct pw_pack *pk)
{
	if (!pk->dirty)
		return 0;
	if (fdatasync(pk->fd) != 0)
		return ss_pw_fail(w, ss_errno_code(errno), pk->num);
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
		return (r = ss_dio_append(w, hdr, SS_PACK_RECHDR)) != 0 ? r :
		    ss_dio_append(w, obj, n);
	if (n >= PACK_WDIRECT)
		return pw_put(w, hdr, SS_PACK_RECHDR, obj, n);
	if (SS_PACK_RECHDR + n > PACK_BBUF - w->blen && (r = pw_drain(w)))
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
	    (r = ss_dio_drain(w, 0)) != 0)
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
		if ((dir = ss_pack_dir(w->pool, num)) == NULL)
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
		ss_dio_free(w->dio);
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
