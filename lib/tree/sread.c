/*
 * sread.c: the reader of snapshot, a thread that reads the data region
 * the walker is chunking a few large blocks ahead of it, so that the
 * walker seldom waits for the disk (a region of one block the walker
 * reads itself).  Reads go through the page cache but
 * leave no pages behind that were not there before (ss_snap_pread,
 * RWF_DONTCACHE): data read once neither evicts what others use nor makes
 * the kernel find fresh pages for every block.  The walker copies each
 * block into the buffers of the chunks it cuts, so the reader never waits
 * for the sealers.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tree/scan.h"

#define RD_BLOCK (2u * 1024 * 1024)	/* smaller reads defeat read-ahead */
#define RD_NBLOCKS 2

struct rdblk {
	uint8_t *p;
	size_t len;		/* bytes read (< asked: the file ended) */
	size_t want;
	int err;		/* errno of a failed read */
};

struct ss_sread {
	pthread_mutex_t mu;
	pthread_cond_t rcv;	/* the reader: work or room */
	pthread_cond_t wcv;	/* the walker: a block */
	pthread_t th;
	int started, stop;
	int active, reading;
	uint64_t gen;		/* a new region: blocks in flight are stale */
	int fd;
	uint64_t next, end;	/* what the reader reads next */
	uint64_t rseq, wseq;	/* blocks read, blocks taken by the walker */
	struct rdblk b[RD_NBLOCKS];
};

/* read_block(fd, p, want, off, &got): fill ${p}; an errno value or 0. */
static int
read_block(int fd, uint8_t *p, size_t want, uint64_t off, size_t *got)
{
	ssize_t k;

	*got = 0;
	while (*got < want) {
		k = ss_snap_pread(fd, p + *got, want - *got, off + *got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errno;
		if (k == 0)
			break;
		*got += (size_t)k;
	}
	return 0;
}

static void *
reader_main(void *arg)
{
	struct ss_sread *rd = arg;
	struct rdblk *b;
	uint64_t gen, off;
	size_t want, got;
	int fd, e;

	pthread_mutex_lock(&rd->mu);
	for (;;) {
		while (!rd->stop && (!rd->active || rd->next >= rd->end ||
		    rd->rseq - rd->wseq >= RD_NBLOCKS))
			pthread_cond_wait(&rd->rcv, &rd->mu);
		if (rd->stop)
			break;
		b = &rd->b[rd->rseq % RD_NBLOCKS];
		off = rd->next;
		want = rd->end - off < RD_BLOCK ? (size_t)(rd->end - off) :
		    RD_BLOCK;
		fd = rd->fd;
		gen = rd->gen;
		rd->reading = 1;
		pthread_mutex_unlock(&rd->mu);
		e = read_block(fd, b->p, want, off, &got);
		pthread_mutex_lock(&rd->mu);
		rd->reading = 0;
		if (gen == rd->gen && rd->active) {
			b->want = want;
			b->len = got;
			b->err = e;
			rd->next = e || got < want ? rd->end : off + want;
			rd->rseq++;
		}
		pthread_cond_broadcast(&rd->wcv);
	}
	pthread_mutex_unlock(&rd->mu);
	return NULL;
}

static int
rd_start(struct ss_sread *rd)
{
	void *p;

	for (int i = 0; i < RD_NBLOCKS; i++) {
		if ((p = ss_malloc(RD_BLOCK)) == NULL)
			return SS_ENOMEM;
		rd->b[i].p = p;
	}
	if (pthread_create(&rd->th, NULL, reader_main, rd) != 0)
		return ss_err(SS_ENOMEM, "cannot start the reading thread");
	(void)pthread_setname_np(rd->th, "snapseal-read");
	rd->started = 1;
	return 0;
}

int
ss_sread_new(struct ss_sread **out)
{
	struct ss_sread *rd = ss_calloc(1, sizeof(*rd));

	*out = NULL;
	if (rd == NULL)
		return SS_ENOMEM;
	pthread_mutex_init(&rd->mu, NULL);
	pthread_cond_init(&rd->rcv, NULL);
	pthread_cond_init(&rd->wcv, NULL);
	rd->fd = -1;
	*out = rd;
	return 0;
}

/*
 * read_here(rd, fd, off, end): a region of at most one block is read on
 * the walker's thread: handing it to the reader would only add two thread
 * switches (a cold one waits for the disk either way), which cost the
 * walker more than the read of a warm one.  The reader is idle: no region
 * is active.
 */
static void
read_here(struct ss_sread *rd, int fd, uint64_t off, uint64_t end)
{
	struct rdblk *b = &rd->b[0];

	b->want = (size_t)(end - off);
	b->err = off < end ? read_block(fd, b->p, b->want, off, &b->len) : 0;
	pthread_mutex_lock(&rd->mu);
	rd->gen++;
	rd->fd = fd;
	rd->next = rd->end = end;
	rd->wseq = 0;
	rd->rseq = off < end ? 1 : 0;
	pthread_mutex_unlock(&rd->mu);
}

int
ss_sread_begin(struct ss_sread *rd, int fd, uint64_t off, uint64_t end)
{
	int r;

	if (!rd->started && (r = rd_start(rd)) != 0)
		return r;
	if (end - off <= RD_BLOCK) {
		read_here(rd, fd, off, end);
		return 0;
	}
	pthread_mutex_lock(&rd->mu);
	rd->gen++;
	rd->fd = fd;
	rd->next = off;
	rd->end = end;
	rd->rseq = rd->wseq = 0;
	rd->active = 1;
	pthread_cond_signal(&rd->rcv);
	pthread_mutex_unlock(&rd->mu);
	return 0;
}

int
ss_sread_next(struct ss_sread *rd, const uint8_t **p, size_t *n)
{
	struct rdblk *b;
	int r = 0;

	pthread_mutex_lock(&rd->mu);
	while (rd->wseq == rd->rseq && rd->next < rd->end)
		pthread_cond_wait(&rd->wcv, &rd->mu);
	*p = NULL;
	*n = 0;
	if (rd->wseq < rd->rseq) {
		b = &rd->b[rd->wseq % RD_NBLOCKS];
		if (b->err != 0) {
			errno = b->err;
			r = ss_err_errno(ss_errno_code(b->err), "read");
		} else if (b->len < b->want)
			r = ss_err(SS_ECHANGED, "file changed while"
			    " being read (it shrank)");
		else {
			*p = b->p;
			*n = b->len;
		}
	}
	pthread_mutex_unlock(&rd->mu);
	return r;
}

void
ss_sread_release(struct ss_sread *rd)
{
	pthread_mutex_lock(&rd->mu);
	rd->wseq++;
	pthread_cond_signal(&rd->rcv);
	pthread_mutex_unlock(&rd->mu);
}

void
ss_sread_end(struct ss_sread *rd)
{
	if (rd == NULL)
		return;
	pthread_mutex_lock(&rd->mu);
	rd->active = 0;
	rd->gen++;
	while (rd->reading)
		pthread_cond_wait(&rd->wcv, &rd->mu);
	rd->fd = -1;
	pthread_mutex_unlock(&rd->mu);
}

void
ss_sread_free(struct ss_sread *rd)
{
	if (rd == NULL)
		return;
	if (rd->started) {
		pthread_mutex_lock(&rd->mu);
		rd->stop = 1;
		pthread_cond_signal(&rd->rcv);
		pthread_mutex_unlock(&rd->mu);
		pthread_join(rd->th, NULL);
	}
	for (int i = 0; i < RD_NBLOCKS; i++) {
		if (rd->b[i].p != NULL)
			ss_cleanse(rd->b[i].p, RD_BLOCK);
		free(rd->b[i].p);
	}
	pthread_mutex_destroy(&rd->mu);
	pthread_cond_destroy(&rd->rcv);
	pthread_cond_destroy(&rd->wcv);
	free(rd);
}
