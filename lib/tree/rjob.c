/*
 * rjob.c: the workers of restore's writing side (see rwrite.c for the
 * queue they take their jobs from, rq.h for what the two share).
 *
 * A worker reads the chunk's record with its own pack reader, opens it
 * (checksum, GCM tag, decompression to the exact length, ID) with its own
 * object context, checks its type, that it claims no references and its
 * length, and only then writes it at its offset: no byte of an object is
 * written before the object is authenticated.  The job that completes a
 * file sets its size, owner, mode, xattrs and times and renames it from its
 * temporary name (in a stage, restore.c, it was made under its own name
 * and stays there); whoever drops the last reference to a directory (its
 * last file, its last subdirectory, or the walker leaving it) applies the
 * directory's metadata.  After an error, jobs still queued only clean up:
 * the files they created are unlinked, nothing more is placed.
 *
 * Finished large files are handed to a thread of their own that starts
 * their write-back (sync_file_range), so that their data reaches the disk
 * while the workers go on, rather than all in the final syncfs.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "tree/rq.h"

#define RQ_WB_MIN (4u << 20)	/* files this large are written back early */
#define RQ_KEEP (2u << 20)	/* a writer's plaintext kept resident */
#define RQ_PAGE 4096u
#define RQ_ZMIN 4096u		/* shorter chunks are not remembered as zeros */

/* put(f, p, n, off): write ${n} authenticated bytes of ${f} at ${off}. */
static int
put(struct rfile *f, const uint8_t *p, size_t n, uint64_t off)
{
	if (f->dio)
		return ss_rqi_dio_write(f, p, (uint32_t)n, off);
	return ss_pwrite_all(f->fd, p, n, off);
}

/* ---------- early write-back ---------- */

/*
 * writeback(q, fd): have the write-back thread start writing the finished
 * file ${fd} (a duplicate is queued).  Best effort: a failure only leaves
 * the writing to the final syncfs.
 */
static void
writeback(struct ss_rq *q, int fd)
{
	int d;

	if (!q->wbstarted || (d = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0)
		return;
	pthread_mutex_lock(&q->mu);
	if (ss_grow(&q->wbfd, &q->capwb, q->nwb, sizeof(*q->wbfd)) != 0) {
		pthread_mutex_unlock(&q->mu);
		close(d);
		return;
	}
	q->wbfd[q->nwb++] = d;
	pthread_cond_signal(&q->wbwork);
	pthread_mutex_unlock(&q->mu);
}

void *
ss_rqi_wb_main(void *arg)
{
	struct ss_rq *q = arg;
	int fd;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (!q->wbstop && q->nwb == 0)
			pthread_cond_wait(&q->wbwork, &q->mu);
		if (q->nwb == 0)
			break;
		fd = q->wbfd[0];
		memmove(q->wbfd, q->wbfd + 1, --q->nwb * sizeof(*q->wbfd));
		pthread_mutex_unlock(&q->mu);
		/* the call may wait for the device queue: not a worker's */
		(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
		close(fd);
		pthread_mutex_lock(&q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* ---------- files ---------- */

int
ss_rqi_file_create(struct ss_rq *q, struct rfile *f)
{
	f->cname = ss_rst_made_as(&q->rc, f->name, f->tmp);
	f->fd = openat(f->dir->fd, f->cname, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (f->fd < 0)
		return ss_err_errno(ss_errno_code(errno), "cannot create");
	f->created = 1;
	return 0;
}

/* file_complete(q, f): size, metadata, sync (rollback), place. */
static int
file_complete(struct ss_rq *q, struct rfile *f)
{
	const struct ss_ent *e = f->e;
	int r = ss_rqi_dio_close(f);

	/* bytes past the last extent (or a file with no content) are a hole */
	if (r == 0 && f->end != e->size &&
	    ftruncate(f->fd, (off_t)e->size) != 0)
		r = ss_err_errno(ss_errno_code(errno), "cannot set size");
	if (r == 0)
		r = ss_rst_apply_meta(&q->rc, f->fd, f->dir->fd, f->cname,
		    f->path, e);
	/* a rollback replaces live files: the new one is durable first */
	if (r == 0 && q->rc.sync && fdatasync(f->fd) != 0)
		r = ss_err_errno(ss_errno_code(errno), "cannot sync");
	else if (r == 0 && e->size >= RQ_WB_MIN)
		writeback(q, f->fd);
	if (close(f->fd) != 0 && r == 0)
		r = ss_err_errno(ss_errno_code(errno), "cannot close");
	f->fd = -1;
	if (r == 0)
		r = ss_rst_place(&q->rc, f->dir->fd, f->cname, f->name, f->path);
	return r;
}

/* file_finish(q, f): the file's last job is done: place it or clean up. */
static void
file_finish(struct ss_rq *q, struct rfile *f)
{
	int r, placed = 0;

	if (!atomic_load(&f->failed) && !ss_rq_failed(q)) {
		if ((r = file_complete(q, f)) != 0)
			ss_rqi_fail(q, r, f->path);
		else
			placed = 1;
	}
	(void)ss_rqi_dio_close(f);	/* after a failure: only frees */
	if (f->fd >= 0)
		close(f->fd);
	if (!placed && f->created)
		unlinkat(f->dir->fd, f->cname, 0);
	if (placed)
		ss_crashpoint("restore-file");
	ss_rqi_dir_unref(q, f->dir);
	free(f->path);
	free(f);
}

void
ss_rqi_file_release(struct ss_rq *q, struct rfile *f, int r)
{
	if (r != 0) {
		atomic_store(&f->failed, 1);
		ss_rqi_fail(q, r, f->path);
	}
	if (atomic_fetch_sub(&f->refs, 1) == 1)
		file_finish(q, f);
}

/* ---------- jobs ---------- */

/* rec_len(j): the bytes of the job's record in its pack. */
static uint64_t
rec_len(const struct rjob *j)
{
	return SS_PACK_RECHDR + (uint64_t)j->loc.len;
}

/*
 * drop_behind(w, j): the record of ${j} was read and will not be read
 * again (but for a chunk that a snapshot references twice): let its pages
 * go from the page cache (the kernel keeps those shared with a record
 * next to it).  The restore then reuses the same memory for the next
 * records and for the files it writes, rather than filling the cache
 * with packs: pages the kernel takes fresh cost more to fill than pages
 * it has just freed, and on a virtual machine that gives free memory
 * back to its host, much more (docs/performance.md, tenth round).
 */
static void
drop_behind(struct rwk *w, const struct rjob *j)
{
	ss_packr_advise(w->pr, j->loc.pack, j->loc.off, rec_len(j),
	    POSIX_FADV_DONTNEED);
}

/*
 * write_chunk(w, f, j): read the chunk's record, open it (which
 * authenticates it), check it is a chunk of the expected length that
 * references nothing, and only then write it at its offset.  A run of
 * zeros is cut into chunks of the largest size, all the same object: the
 * last chunk a writer authenticated and found all zeros is written again
 * from the zero page, neither read nor decrypted again (its ID names
 * those bytes, as checked when it was opened).
 */
static int
write_chunk(struct rwk *w, struct rfile *f, const struct rjob *j)
{
	char hex[2 * SS_ID_LEN + 1];
	uint8_t type;
	int fd, r;

	if (w->zlen != 0 && w->zlen == j->len &&
	    memcmp(w->zid.b, j->id.b, SS_ID_LEN) == 0) {
		const uint8_t *zeros = ss_zero_pages();

		if (zeros != NULL && j->len <= SS_ZERO_PAGES_LEN)
			return put(f, zeros, j->len, j->off);
	}

	/*
	 * the walker announces what will be read (prefetch); the kernel's own
	 * read-ahead (up to read_ahead_kb past a record read cold) would
	 * only read what no one needs (the walker's own reader, which also
	 * reads directory objects, keeps it)
	 */
	if (w != &w->q->self && ss_packr_fd(w->pr, j->loc.pack, &fd) == 0 &&
	    (fd != w->rndfd || j->loc.pack != w->rndpack)) {
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
		w->rndfd = fd;
		w->rndpack = j->loc.pack;
	}
	ss_errclear();
	r = ss_packr_read(w->pr, &j->id, &j->loc, &w->stored);
	/* the directory objects may be cached and the chunks not */
	if (ss_packr_cold(w->pr) && !atomic_load_explicit(&w->q->cold,
	    memory_order_relaxed))
		atomic_store(&w->q->cold, 1);
	if (r != 0)
		return r == SS_ENOENT ? SS_ECORRUPT : r;
	drop_behind(w, j);
	/* w->pt: the type byte, then the chunk (not moved down a byte) */
	if ((r = ss_obj_open_typed(w->oc, &j->id, w->stored.p, w->stored.len,
	    &type, &w->pt)) != 0)
		return r;
	if (type != SS_OT_CHUNK) {
		ss_id_hex(&j->id, hex);
		return ss_err(SS_ECORRUPT, "object %.16s has type %u, expected"
		    " %u", hex, type, SS_OT_CHUNK);
	}
	/*
	 * nrefs, at offset 12 of the header (docs/format.md 5.2), whose
	 * bounds ss_obj_open has checked: a chunk references nothing.
	 */
	if (ss_le32dec(w->stored.p + 12) != 0)
		return ss_err(SS_EAUTH, "a file chunk claims references");
	if (w->pt.len - 1 != j->len)
		return ss_err(SS_ECORRUPT, "chunk length does not match");
	if (j->len >= RQ_ZMIN && ss_all_zero(w->pt.p + 1, j->len)) {
		w->zid = j->id;
		w->zlen = j->len;
	}
	return put(f, w->pt.p + 1, j->len, j->off);
}

/*
 * trim(w, r): after a chunk longer than RQ_KEEP (runs of zeros are cut at
 * the largest size, 8 MiB), wipe its plaintext past RQ_KEEP and drop those
 * pages: the buffer stays allocated (no heap to fragment), but four
 * writers no longer keep 8 MiB each resident for the rest of the
 * restore.  Dropped pages read back as zeros when next used.  After a
 * failure (${r}), whatever was decrypted is wiped, the whole buffer.
 */
static void
trim(struct rwk *w, int r)
{
	uintptr_t a, b;

	if (r != 0) {
		ss_buf_wipe(&w->pt);
		return;
	}
	if (w->pt.len <= RQ_KEEP)
		return;
	explicit_bzero(w->pt.p + RQ_KEEP, w->pt.len - RQ_KEEP);
	a = ((uintptr_t)w->pt.p + RQ_KEEP + RQ_PAGE - 1) & ~(uintptr_t)
	    (RQ_PAGE - 1);
	b = ((uintptr_t)w->pt.p + w->pt.len) & ~(uintptr_t)(RQ_PAGE - 1);
	if (b > a)
		(void)madvise((void *)a, b - a, MADV_DONTNEED);
	w->pt.len = 0;		/* done with: not to be wiped again */
}

void
ss_rqi_wk_wipe(struct rwk *w)
{
	/* past RQ_KEEP, trim has wiped every chunk's bytes already */
	if (w->pt.p != NULL)
		explicit_bzero(w->pt.p, w->pt.cap < RQ_KEEP ? w->pt.cap :
		    RQ_KEEP);
	ss_buf_free(&w->pt);
}

void
ss_rqi_job_run(struct rwk *w, struct rjob *j)
{
	struct ss_rq *q = w->q;
	struct rfile *f = j->f;
	int r = 0;

	if (!ss_rq_failed(q) && !atomic_load(&f->failed)) {
		if (j->create)
			r = ss_rqi_file_create(w->q, f);
		if (r == 0 && j->chunk && (r = write_chunk(w, f, j)) == 0)
			w->bytes += j->len;
		if (r == 0 && j->inl != NULL &&
		    (r = put(f, j->inl, j->len, 0)) == 0)
			w->bytes += j->len;
		if (j->chunk)
			trim(w, r);
	}
	ss_rqi_file_release(q, f, r);
	free(j);
}

/*
 * seg_advise(w, &ra, &adv): when the packs are read cold, announce the
 * records from ${ra} on until RQ_SEG_RA bytes are announced and not yet
 * read (${adv}), a run of adjacent records at a time (a run of zeros
 * repeats one record).  The walker announces a batch's records when it
 * queues them; a segment's reader announces its own, since the walker
 * has long gone on.
 */
static void
seg_advise(struct rwk *w, struct rjob **ra, uint64_t *adv)
{
	struct rjob *k = *ra;
	uint64_t pack, a, b;

	if (*adv >= RQ_SEG_RA / 2 || k == NULL ||
	    (!atomic_load_explicit(&w->q->cold, memory_order_relaxed) &&
	    !ss_packr_cold(w->pr)))
		return;
	while (k != NULL && *adv < RQ_SEG_RA) {
		pack = k->loc.pack;
		a = k->loc.off;
		b = a + rec_len(k);
		do {
			if (k->loc.off + rec_len(k) > b)
				b = k->loc.off + rec_len(k);
			*adv += rec_len(k);
			k = k->more;
		} while (k != NULL && *adv < RQ_SEG_RA && k->loc.pack == pack &&
		    k->loc.off >= a && k->loc.off <= b);
		ss_packr_advise(w->pr, pack, a, b - a, POSIX_FADV_WILLNEED);
	}
	*ra = k;
}

/*
 * seg_run(w, j): a segment of a large file, its chunks in order: one
 * worker writes the file from start to end (its direct blocks complete
 * one after the other) while the others take the small files queued
 * since.
 */
static void
seg_run(struct rwk *w, struct rjob *j)
{
	struct rjob *ra = j, *more;
	uint64_t adv = 0;

	for (; j != NULL; j = more) {
		more = j->more;
		seg_advise(w, &ra, &adv);
		if (ra == j)
			ra = more;	/* not announced: none ahead */
		else
			adv -= rec_len(j) < adv ? rec_len(j) : adv;
		ss_rqi_job_run(w, j);
	}
}

void *
ss_rqi_worker(void *arg)
{
	struct rwk *w = arg;
	struct ss_rq *q = w->q;
	struct rjob *j, *more;
	size_t n;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (!q->stop && q->head == NULL && q->shead == NULL) {
			q->nidle++;
			pthread_cond_wait(&q->work, &q->mu);
			q->nidle--;
		}
		/* a segment, unless enough run while batches wait */
		if ((j = q->shead) != NULL && (q->head == NULL ||
		    q->nsegrun < q->maxsegrun)) {
			if ((q->shead = j->next) == NULL)
				q->stail = NULL;
			q->segjobs -= j->n;
			q->nsegrun++;
			ss_rqi_poke_locked(q);
			pthread_mutex_unlock(&q->mu);
			seg_run(w, j);
			pthread_mutex_lock(&q->mu);
			q->nsegrun--;
			ss_rqi_poke_locked(q);
			continue;
		}
		if ((j = q->head) == NULL)
			break;
		if ((q->head = j->next) == NULL)
			q->tail = NULL;
		q->qbytes -= j->bytes;
		n = j->n;
		ss_rqi_poke_locked(q);
		pthread_mutex_unlock(&q->mu);
		for (; j != NULL; j = more) {
			more = j->more;
			ss_rqi_job_run(w, j);
		}
		pthread_mutex_lock(&q->mu);
		q->njobs -= n;
		ss_rqi_poke_locked(q);
	}
	pthread_mutex_unlock(&q->mu);
	ss_rqi_wk_wipe(w);
	ss_buf_free(&w->stored);
	return NULL;
}
