/*
 * rdio.c: large restored files written around the page cache.
 *
 * A file of at least RQ_DIO_MIN bytes is also opened O_DIRECT.  Its bytes
 * are cut into aligned blocks of RQ_DBLK; a block that lies wholly inside
 * one run of adjacent extents (no hole in it) and inside the file is
 * assembled in memory from the chunks the workers authenticate, in any
 * order, and written with one direct write as soon as its last byte has
 * come.  Every other byte (the first and last partial blocks of a run,
 * the end of the file) is written through the page cache as before, so
 * holes stay holes.  A direct write needs no page of the page cache,
 * which is where a buffered restore spends most of its system time
 * (docs/performance.md, "Restore").
 *
 * Blocks are filled by several workers at once, at disjoint places (the
 * extents of a file map do not overlap, ss_rst_filemap checks that): a
 * worker finds or adds the block under the file's lock, copies its bytes
 * without it, then counts them under it; the one that completes the
 * block writes it and keeps its buffer for a later block of the file (up
 * to RQ_DSPARE of them; the others, and these when the file is closed,
 * are wiped and freed).  Workers take a file's chunks in order, so only
 * the few blocks around the chunks being written are in memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tree/rq.h"

#define RQ_DALIGN 4096u		/* direct writes: memory and offsets */
#define RQ_DSPARE 8		/* block buffers kept for reuse, a file */

/* A block being assembled. */
struct rdblk {
	uint64_t idx;		/* its offset is idx * RQ_DBLK */
	uint8_t *buf;		/* RQ_DBLK bytes, RQ_DALIGN-aligned */
	uint32_t have;		/* bytes copied in */
	struct rdblk *next;
};

struct rdio {
	int fd;			/* the temporary again, O_DIRECT */
	uint64_t size;		/* of the file */
	pthread_mutex_t mu;
	uint64_t *runs;		/* start, end of each run of extents */
	size_t nruns;
	struct rdblk *open;	/* blocks being assembled */
	uint8_t *spare[RQ_DSPARE];	/* written blocks' buffers, to reuse */
	size_t nspare;
};

/*
 * make_runs(d, v, n): the runs of adjacent extents of ${v}, sorted (the
 * extents are, ss_rst_filemap checks it); returns how many hold at least
 * one whole block.
 */
static size_t
make_runs(struct rdio *d, const struct ss_mext *v, uint32_t n)
{
	size_t whole = 0;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t a, b;

		ss_rqi_run(v, n, &i, &a, &b);
		d->runs[2 * d->nruns] = a;
		d->runs[2 * d->nruns + 1] = b;
		d->nruns++;
		if ((a + RQ_DBLK - 1) / RQ_DBLK < b / RQ_DBLK)
			whole++;
	}
	return whole;
}

int
ss_rqi_dio_open(struct rfile *f, const struct ss_mext *v, uint32_t n)
{
	struct rdio *d;
	int fd;

	if (f->e->size < RQ_DIO_MIN || n == 0)
		return 0;
	fd = openat(f->dir->fd, f->cname, O_WRONLY | O_DIRECT | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd < 0)
		return 0;	/* no direct I/O here: through the cache */
	if (!ss_dio_aligned(fd, RQ_DALIGN) ||
	    (d = ss_calloc(1, sizeof(*d))) == NULL) {
		close(fd);
		ss_errclear();
		return 0;
	}
	if ((d->runs = ss_calloc(2 * (size_t)n, sizeof(*d->runs))) == NULL ||
	    make_runs(d, v, n) == 0) {
		free(d->runs);
		free(d);
		close(fd);
		ss_errclear();
		return 0;
	}
	d->fd = fd;
	d->size = f->e->size;
	pthread_mutex_init(&d->mu, NULL);
	f->dio = d;
	return 0;
}

/* direct(d, at): 1 if the block at ${at} is inside a run and the file. */
static int
direct(const struct rdio *d, uint64_t at)
{
	uint64_t end = at + RQ_DBLK;
	size_t lo = 0, hi = d->nruns;

	if (end > d->size)
		return 0;
	while (hi - lo > 1) {	/* the last run starting at or before at */
		size_t mid = lo + (hi - lo) / 2;

		if (d->runs[2 * mid] <= at)
			lo = mid;
		else
			hi = mid;
	}
	return d->runs[2 * lo] <= at && end <= d->runs[2 * lo + 1];
}

/* block(d, idx): (under mu) the block ${idx}, added if new; NULL: memory */
static struct rdblk *
block(struct rdio *d, uint64_t idx)
{
	struct rdblk *b;
	void *p;

	for (b = d->open; b != NULL; b = b->next)
		if (b->idx == idx)
			return b;
	if ((b = ss_calloc(1, sizeof(*b))) == NULL)
		return NULL;
	if (d->nspare > 0)
		p = d->spare[--d->nspare];
	else if (posix_memalign(&p, RQ_DALIGN, RQ_DBLK) != 0) {
		free(b);
		ss_err(SS_ENOMEM, "out of memory");
		return NULL;
	}
	b->idx = idx;
	b->buf = p;
	b->next = d->open;
	d->open = b;
	return b;
}

/* unlink_block(d, b): (under mu) take ${b} off the open list. */
static void
unlink_block(struct rdio *d, struct rdblk *b)
{
	struct rdblk **pp = &d->open;

	while (*pp != b)
		pp = &(*pp)->next;
	*pp = b->next;
}

/* wipe_free(buf): a block buffer's plaintext wiped, the buffer freed. */
static void
wipe_free(uint8_t *buf)
{
	ss_cleanse(buf, RQ_DBLK);
	free(buf);
}

/*
 * release(d, buf): a block's buffer, written: kept for the file's next
 * block, whose bytes will cover all of it, or wiped (plaintext) and freed.
 * Reusing them spares the allocator's trips to the kernel and the page
 * faults of fresh memory for every MiB of a large file.
 */
static void
release(struct rdio *d, uint8_t *buf)
{
	pthread_mutex_lock(&d->mu);
	if (d->nspare < RQ_DSPARE) {
		d->spare[d->nspare++] = buf;
		buf = NULL;
	}
	pthread_mutex_unlock(&d->mu);
	if (buf != NULL)
		wipe_free(buf);
}

/*
 * block_put(d, at, p, k, pos): copy ${k} bytes to ${pos}, in the block at
 * ${at}; write the block once it is full.
 */
static int
block_put(struct rdio *d, uint64_t at, const uint8_t *p, uint32_t k,
    uint64_t pos)
{
	struct rdblk *b;
	int full, r = 0;

	pthread_mutex_lock(&d->mu);
	b = block(d, at / RQ_DBLK);
	pthread_mutex_unlock(&d->mu);
	if (b == NULL)
		return SS_ENOMEM;
	/* nobody frees ${b} before these bytes are counted in */
	memcpy(b->buf + (pos - at), p, k);
	pthread_mutex_lock(&d->mu);
	b->have += k;
	if ((full = b->have == RQ_DBLK))
		unlink_block(d, b);
	pthread_mutex_unlock(&d->mu);
	if (full) {
		r = ss_pwrite_all(d->fd, b->buf, RQ_DBLK, at);
		release(d, b->buf);
		free(b);
	}
	return r;
}

int
ss_rqi_dio_write(struct rfile *f, const uint8_t *p, uint32_t len, uint64_t off)
{
	struct rdio *d = f->dio;
	uint64_t pos = off, end = off + len;
	int r = 0;

	while (pos < end && r == 0) {
		uint64_t at = pos / RQ_DBLK * RQ_DBLK;
		uint64_t stop = at + RQ_DBLK < end ? at + RQ_DBLK : end;
		uint32_t k = (uint32_t)(stop - pos);

		if (direct(d, at))
			r = block_put(d, at, p + (pos - off), k, pos);
		else
			r = ss_pwrite_all(f->fd, p + (pos - off), k, pos);
		pos = stop;
	}
	return r;
}

int
ss_rqi_dio_close(struct rfile *f)
{
	struct rdio *d = f->dio;
	struct rdblk *b;
	int r = 0;

	if (d == NULL)
		return 0;
	/* after every chunk is written no block is left, unless one failed */
	while ((b = d->open) != NULL) {
		d->open = b->next;
		wipe_free(b->buf);
		free(b);
		r = ss_err(SS_EIO, "a directly written block was left"
		    " incomplete");
	}
	while (d->nspare > 0)
		wipe_free(d->spare[--d->nspare]);
	if (close(d->fd) != 0 && r == 0)
		r = ss_err_errno(ss_errno_code(errno), "cannot close");
	pthread_mutex_destroy(&d->mu);
	free(d->runs);
	free(d);
	f->dio = NULL;
	return r;
}
