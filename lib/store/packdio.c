/*
 * store/packdio.c: direct writes of the pack writer (docs/format.md,
 * "Pack files"; docs/benchmarks.md, "Streams: where the time goes").
 *
 * An uncached writer on a filesystem that takes O_DIRECT writes around the
 * page cache: records are copied into one of two aligned buffers; when it
 * is full, a thread writes its whole blocks straight to the disk while the
 * other buffer fills, starting with the partial last block again.  Ending
 * a pack (flush, rotation) writes that block padded with zeros, then cuts
 * the file back to its size.  Nothing is left to write back at the flush,
 * and no memory fills with pages nobody will read.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/packint.h"

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

void
ss_dio_free(struct pw_dio *d)
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
 * ss_dio_attach(w, fd): make the new pack ${fd} written directly, starting
 * the direct writer with the first pack; a filesystem that does not take
 * direct writes leaves the writer buffered for good.
 */
int
ss_dio_attach(struct ss_packw *w, int fd)
{
	int fl, r;

	if (w->dio == NULL && !ss_dio_aligned(fd, PACK_DIOALIGN)) {
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
 * ss_dio_drain(w, all): hand the buffer's whole blocks to the thread (with
 * ${all}, every byte, the last block padded with zeros) once the previous
 * write is done; the other buffer starts with the partial block.
 */
int
ss_dio_drain(struct ss_packw *w, int all)
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
		return ss_pw_fail(w, ss_errno_code(e), pk->num);
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

/* ss_dio_append(w, p, n): copy into the buffers, handing full ones over. */
int
ss_dio_append(struct ss_packw *w, const void *p, size_t n)
{
	const uint8_t *q = p;
	size_t k;
	int r;

	while (n > 0) {
		if (w->blen == PACK_WBUF && (r = ss_dio_drain(w, 0)) != 0)
			return r;
		k = PACK_WBUF - w->blen < n ? PACK_WBUF - w->blen : n;
		memcpy(w->buf + w->blen, q, k);
		w->blen += k;
		q += k;
		n -= k;
	}
	return 0;
}

/* ss_dio_finish(w): everything of the current pack on disk, size exact. */
int
ss_dio_finish(struct ss_packw *w)
{
	struct pw_pack *pk = &w->v[w->nv - 1];
	int r, e;

	if ((r = ss_dio_drain(w, 1)) != 0)
		return r;
	if ((e = dio_wait(w->dio)) != 0) {
		errno = e;
		return ss_pw_fail(w, ss_errno_code(e), pk->num);
	}
	if (w->dio->padded && ftruncate(pk->fd, (off_t)w->cursize) != 0)
		return ss_pw_fail(w, ss_errno_code(errno), pk->num);
	w->dio->padded = 0;
	return 0;
}
