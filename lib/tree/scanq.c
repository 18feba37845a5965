/*
 * scanq.c: the scanners of snapshot and the order in which they work.
 *
 * Subdirectories wait in a heap ordered by their place in the walk (the
 * list of entry indexes from the root), so the scanners always take the
 * one the walker will reach first (scan.c scans it); a node is made for
 * a subdirectory only when it is scanned, so a directory of many
 * subdirectories costs one entry each.  The walker takes each node as it
 * reaches it, waiting if a scanner has it, scanning it itself if nobody
 * has.  Past AHEAD_BYTES of scanned nodes waiting for the walker, a
 * scanner's scan is light: the small files it would have read into
 * memory are only read ahead by the kernel, and the walker copies them
 * when it takes the node (ss_scan_data), so the scanners keep going
 * without holding more memory.  They stop while twice AHEAD_BYTES of
 * scanned nodes wait, or RA_BYTES wait read ahead by the kernel for
 * nodes not walked yet (light nodes' small files, and the start of the
 * files the walker reads: scan.c, warm), or too
 * many nodes keep their descriptor: a directory keeps it only while a
 * subdirectory is still to be opened in it or the walker is to read a
 * file in it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "tree/scan.h"

#define AHEAD_BYTES (2u * 1024 * 1024)
#define RA_BYTES (32u * 1024 * 1024)
#define MAX_FDS 512
#define FDATA_SMALL (8u * 1024)	/* smaller: malloc */
#define FDATA_UNIT (16u * 1024)
#define FDATA_UNITS 256		/* a 4 MiB arena */

enum { SN_SCANNING = 1, SN_DONE };

struct ss_scan {
	struct ss_tree *t;
	pthread_mutex_t mu;
	pthread_mutex_t prmu;		/* the pack reader t->pr, shared */
	pthread_cond_t work;		/* scanners: a node, or room ahead */
	pthread_cond_t done;		/* the walker: a node was scanned */
	struct hent *heap;		/* subdirectories to scan, walk order */
	size_t nheap, capheap;
	struct ss_snode *all;		/* every live node */
	size_t ahead_bytes;		/* of nodes scanned, not walked yet */
	size_t ra_bytes;		/* read ahead for nodes not walked */
	size_t nfds, max_fds;		/* nodes keeping their descriptor */
	int stop, halted;
	int nthreads;
	pthread_t *th;
	struct ss_sctx *cx;		/* the scanners' */
	struct ss_sctx wcx;		/* the walker's */
	uint8_t *farena;		/* the nodes' small files (fdata) */
	uint64_t fmap[FDATA_UNITS / 64];	/* units in use (under mu) */
};

struct sarg {
	struct ss_scan *sc;
	struct ss_sctx *cx;
};

/* A subdirectory to scan: entry ${i} of the scanned node ${d}. */
struct hent {
	struct ss_snode *d;
	uint32_t i;
};

/*
 * new_child(sc, d, se): (under mu) the node of the subdirectory ${se} of
 * ${d}, about to be scanned; NULL without memory.
 */
static struct ss_snode *
new_child(struct ss_scan *sc, struct ss_snode *d, struct ss_sent *se)
{
	struct ss_snode *c = ss_calloc(1, sizeof(*c));

	if (c == NULL || (c->path = ss_path_join(d->path, se->e.name)) ==
	    NULL || (c->key = ss_calloc(d->klen + 1, sizeof(*c->key))) ==
	    NULL) {
		if (c)
			free(c->path);
		free(c);
		ss_errclear();
		return NULL;
	}
	if (d->klen)
		memcpy(c->key, d->key, d->klen * sizeof(*c->key));
	c->key[d->klen] = (uint32_t)(se - d->v);
	c->klen = d->klen + 1;
	c->parent = d;
	c->pe = se;
	c->fd = -1;
	c->state = SN_SCANNING;
	c->haveloc = se->haveloc;
	c->prevloc = se->prevloc;
	se->child = c;
	c->anext = sc->all;
	if (sc->all)
		sc->all->aprev = c;
	sc->all = c;
	return c;
}

/* ---------- scheduling ---------- */

/* hent_less(a, b): ${a} comes before ${b} in the walk. */
static int
hent_less(const struct hent *a, const struct hent *b)
{
	const struct ss_snode *x = a->d, *y = b->d;
	size_t n = x->klen < y->klen ? x->klen : y->klen;

	for (size_t i = 0; i < n; i++)
		if (x->key[i] != y->key[i])
			return x->key[i] < y->key[i];
	if (x->klen != y->klen)	/* one is the other's ancestor */
		return x->klen < y->klen ? a->i < y->key[n] :
		    x->key[n] < b->i;
	return a->i < b->i;
}

static void
heap_set(struct ss_scan *sc, size_t i, struct hent h)
{
	sc->heap[i] = h;
	h.d->v[h.i].hpos = (uint32_t)i + 1;
}

static void
heap_up(struct ss_scan *sc, size_t i)
{
	struct hent h = sc->heap[i];

	while (i > 0 && hent_less(&h, &sc->heap[(i - 1) / 2])) {
		heap_set(sc, i, sc->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(sc, i, h);
}

static void
heap_down(struct ss_scan *sc, size_t i)
{
	struct hent h = sc->heap[i];
	size_t k;

	while ((k = 2 * i + 1) < sc->nheap) {
		if (k + 1 < sc->nheap &&
		    hent_less(&sc->heap[k + 1], &sc->heap[k]))
			k++;
		if (!hent_less(&sc->heap[k], &h))
			break;
		heap_set(sc, i, sc->heap[k]);
		i = k;
	}
	heap_set(sc, i, h);
}

/* heap_push(sc, d, i): (under mu) without memory, the walker scans it. */
static void
heap_push(struct ss_scan *sc, struct ss_snode *d, size_t i)
{
	if (sc->nheap >= UINT32_MAX - 1 ||
	    ss_grow(&sc->heap, &sc->capheap, sc->nheap, sizeof(*sc->heap))) {
		ss_errclear();
		return;
	}
	sc->heap[sc->nheap].d = d;
	sc->heap[sc->nheap].i = (uint32_t)i;
	sc->nheap++;
	heap_up(sc, sc->nheap - 1);
}

/* heap_del(sc, se): take the entry ${se} out, if it is in (under mu). */
static void
heap_del(struct ss_scan *sc, struct ss_sent *se)
{
	size_t i = se->hpos;
	struct hent h;

	if (i-- == 0)
		return;
	se->hpos = 0;
	if (i == --sc->nheap)
		return;
	h = sc->heap[sc->nheap];
	heap_set(sc, i, h);
	heap_down(sc, i);
	heap_up(sc, h.d->v[h.i].hpos - 1);
}

/* fd_close(sc, d): (under mu) close the descriptor of ${d}, if open. */
static void
fd_close(struct ss_scan *sc, struct ss_snode *d)
{
	if (d->fd < 0)
		return;
	close(d->fd);
	d->fd = -1;
	if (d->fdheld) {
		d->fdheld = 0;
		sc->nfds--;
		pthread_cond_signal(&sc->work);
	}
}

/*
 * fd_done(sc, d): (under mu) a directory keeps its descriptor while a
 * subdirectory is to be opened in it or the walker is to read a file in
 * it; then it is closed, so that many directories can be scanned ahead.
 */
static void
fd_done(struct ss_scan *sc, struct ss_snode *d)
{
	if (d->kids == 0 && !d->needfd)
		fd_close(sc, d);
}

/*
 * scanned(sc, d, self): ${d} is done; its children may be scanned (under
 * mu).  A scanner (${self}) takes the next one itself: one fewer is woken.
 */
static void
scanned(struct ss_scan *sc, struct ss_snode *d, int self)
{
	d->state = SN_DONE;
	sc->ahead_bytes += d->acct;
	if (d->retry)
		goto out;
	d->racct = d->rabytes + (d->light ? d->fbytes : 0);
	sc->ra_bytes += d->racct;
	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].how == SE_READ ||
		    (d->light && d->v[i].how == SE_DATA))
			d->needfd = 1;
		if (d->v[i].how == SE_DIR && !d->v[i].err) {
			heap_push(sc, d, i);
			d->kids++;
			if (self)
				self = 0;
			else
				pthread_cond_signal(&sc->work);
		}
	}
	if (d->fd >= 0 && !d->fdheld) {
		d->fdheld = 1;
		sc->nfds++;
	}
	fd_done(sc, d);
	if (d->parent != NULL && d->parent->kids > 0) {
		d->parent->kids--;
		fd_done(sc, d->parent);
	}
out:
	pthread_cond_signal(&sc->done);	/* only the walker waits there */
}

/*
 * The small files of scanned directories are read into one mapped arena,
 * in runs of FDATA_UNIT: what is freed is reused by the next directories
 * (no fresh pages, which this VM makes costly, for every directory), and
 * what stays resident is what was ever in use at once (no heap holes).
 * Tiny ones, and any that find no room, come from malloc.
 */
static int
fdata_bit(const struct ss_scan *sc, size_t i)
{
	return (sc->fmap[i / 64] >> (i % 64)) & 1;
}

static void
fdata_mark(struct ss_scan *sc, size_t i, size_t k, int on)
{
	for (size_t j = i; j < i + k; j++)
		if (on)
			sc->fmap[j / 64] |= (uint64_t)1 << (j % 64);
		else
			sc->fmap[j / 64] &= ~((uint64_t)1 << (j % 64));
}

uint8_t *
ss_scan_fdata(struct ss_tree *t, size_t n)
{
	struct ss_scan *sc = t->scan;
	size_t k = (n + FDATA_UNIT - 1) / FDATA_UNIT, run = 0;
	uint8_t *p = NULL;

	if (n <= FDATA_SMALL || sc->farena == NULL)
		return malloc(n);
	pthread_mutex_lock(&sc->mu);
	for (size_t i = 0; i < FDATA_UNITS; i++) {
		run = fdata_bit(sc, i) ? 0 : run + 1;
		if (run == k) {
			fdata_mark(sc, i + 1 - k, k, 1);
			p = sc->farena + (i + 1 - k) * FDATA_UNIT;
			break;
		}
	}
	pthread_mutex_unlock(&sc->mu);
	return p != NULL ? p : malloc(n);
}

void
ss_scan_fdata_put(struct ss_tree *t, uint8_t *p, size_t n)
{
	struct ss_scan *sc = t->scan;

	if (p == NULL)
		return;
	ss_cleanse(p, n);
	if (sc->farena == NULL || p < sc->farena ||
	    p >= sc->farena + FDATA_UNITS * FDATA_UNIT) {
		free(p);
		return;
	}
	pthread_mutex_lock(&sc->mu);
	fdata_mark(sc, (size_t)(p - sc->farena) / FDATA_UNIT,
	    (n + FDATA_UNIT - 1) / FDATA_UNIT, 0);
	pthread_mutex_unlock(&sc->mu);
}

void
ss_scan_close(struct ss_tree *t, struct ss_snode *d)
{
	pthread_mutex_lock(&t->scan->mu);
	fd_close(t->scan, d);
	pthread_mutex_unlock(&t->scan->mu);
}

static void *
scanner(void *arg)
{
	struct sarg *a = arg;
	struct ss_scan *sc = a->sc;
	struct ss_sctx *cx = a->cx;
	struct ss_snode *d;
	struct ss_sent *se;

	free(a);
	pthread_mutex_lock(&sc->mu);
	for (;;) {
		while (!sc->stop && (sc->nheap == 0 ||
		    sc->nfds >= sc->max_fds ||
		    sc->ahead_bytes >= 2 * AHEAD_BYTES ||
		    sc->ra_bytes >= RA_BYTES))
			pthread_cond_wait(&sc->work, &sc->mu);
		if (sc->stop)
			break;
		se = &sc->heap[0].d->v[sc->heap[0].i];
		d = sc->heap[0].d;
		heap_del(sc, se);
		if ((d = new_child(sc, d, se)) == NULL)
			continue;	/* no memory: the walker will try */
		d->light = sc->ahead_bytes >= AHEAD_BYTES;
		pthread_mutex_unlock(&sc->mu);
		ss_scan_node(sc->t, d, cx, 0);
		pthread_mutex_lock(&sc->mu);
		scanned(sc, d, 1);
	}
	pthread_mutex_unlock(&sc->mu);
	return NULL;
}

/*
 * take(t, d, here): the walker waits for ${d} to be scanned, or scans it
 * itself (${here}); the look-ahead it held is freed.
 */
static void
take(struct ss_tree *t, struct ss_snode *d, int here)
{
	struct ss_scan *sc = t->scan;

	/* under mu */
	if (here) {
		d->state = SN_SCANNING;
		pthread_mutex_unlock(&sc->mu);
		ss_scan_node(sc->t, d, &sc->wcx, 1);
		pthread_mutex_lock(&sc->mu);
		scanned(sc, d, 0);
	}
	if (d->state != SN_DONE) {
		pthread_mutex_unlock(&sc->mu);
		ss_pipe_kick(t);
		pthread_mutex_lock(&sc->mu);
	}
	while (d->state != SN_DONE)
		pthread_cond_wait(&sc->done, &sc->mu);
	sc->ahead_bytes -= d->acct;
	sc->ra_bytes -= d->racct;
	d->racct = 0;
	pthread_cond_signal(&sc->work);
	if (d->light) {
		pthread_mutex_unlock(&sc->mu);
		ss_scan_data(t, d);	/* read ahead: copied now */
		pthread_mutex_lock(&sc->mu);
	}
}

struct ss_snode *
ss_scan_child(struct ss_tree *t, struct ss_snode *p, struct ss_sent *se)
{
	struct ss_scan *sc = t->scan;
	struct ss_snode *d;
	int here = 0;

	pthread_mutex_lock(&sc->mu);
	if ((d = se->child) == NULL) {
		heap_del(sc, se);
		if ((d = new_child(sc, p, se)) == NULL) {
			pthread_mutex_unlock(&sc->mu);
			return NULL;
		}
		here = 1;
	} else if (d->state == SN_DONE && d->retry) {
		/* a scanner had no descriptor left: do it here */
		d->retry = 0;
		d->light = 0;
		sc->ahead_bytes -= d->acct;
		d->acct = 0;
		here = 1;
	}
	take(t, d, here);
	pthread_mutex_unlock(&sc->mu);
	return d;
}

int
ss_scan_root(struct ss_tree *t, int fd, const char *path,
    const struct ss_ent *prevent, struct ss_snode **out)
{
	struct ss_scan *sc = t->scan;
	struct ss_snode *d = ss_calloc(1, sizeof(*d));
	struct ss_sent *pe = ss_calloc(1, sizeof(*pe));

	*out = NULL;
	if (d == NULL || pe == NULL || (d->path = ss_strdup(path)) == NULL) {
		free(d);
		free(pe);
		close(fd);
		return SS_ENOMEM;
	}
	/* the root's entry: only its previous version is used */
	pe->prev = prevent;
	d->pe = pe;
	d->fd = fd;
	pthread_mutex_lock(&sc->mu);
	d->anext = sc->all;
	if (sc->all)
		sc->all->aprev = d;
	sc->all = d;
	take(t, d, 1);
	pthread_mutex_unlock(&sc->mu);
	*out = d;
	return 0;
}

static void
sent_free(struct ss_sent *se)
{
	ss_buf_free(&se->xa);
	free(se->target);
	free(se->errmsg);
}

void
ss_scan_free(struct ss_tree *t, struct ss_snode *d)
{
	struct ss_scan *sc = t->scan;

	if (d == NULL)
		return;
	pthread_mutex_lock(&sc->mu);
	for (size_t i = 0; i < d->n; i++)
		heap_del(sc, &d->v[i]);
	if (d->aprev)
		d->aprev->anext = d->anext;
	else
		sc->all = d->anext;
	if (d->anext)
		d->anext->aprev = d->aprev;
	pthread_mutex_unlock(&sc->mu);
	for (size_t i = 0; i < d->n; i++)
		sent_free(&d->v[i]);
	ss_scan_fdata_put(t, d->fdata, d->fbytes);
	free(d->v);
	free(d->names);
	ss_dir_free(&d->prev);
	ss_buf_free(&d->xa);
	free(d->errmsg);
	free(d->path);
	free(d->key);
	if (d->fd >= 0)
		close(d->fd);
	if (d->parent == NULL)
		free(d->pe);
	free(d);
}

/* ---------- start and stop ---------- */

int
ss_scan_start(struct ss_tree *t, int nthreads)
{
	struct ss_scan *sc;
	struct rlimit rl;
	int r;

	if ((sc = ss_calloc(1, sizeof(*sc))) == NULL)
		return SS_ENOMEM;
	sc->t = t;
	pthread_mutex_init(&sc->mu, NULL);
	pthread_mutex_init(&sc->prmu, NULL);
	pthread_cond_init(&sc->work, NULL);
	pthread_cond_init(&sc->done, NULL);
	t->scan = sc;
	sc->farena = mmap(NULL, (size_t)FDATA_UNITS * FDATA_UNIT,
	    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (sc->farena == MAP_FAILED)
		sc->farena = NULL;	/* malloc, then */
	/*
	 * Directories scanned ahead keep descriptors: they get at most half
	 * of what is allowed past 128 for the rest (the pack reader caches
	 * up to 64); with fewer than 192, the walker scans alone.
	 */
	sc->max_fds = MAX_FDS;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		if (rl.rlim_cur < 192)
			nthreads = 0;
		else if ((rl.rlim_cur - 128) / 2 < MAX_FDS)
			sc->max_fds = (rl.rlim_cur - 128) / 2;
	}
	if ((r = ss_sctx_init(t, &sc->wcx, &sc->prmu)) != 0)
		return r;
	if (nthreads > 0 &&
	    ((sc->cx = ss_calloc((size_t)nthreads, sizeof(*sc->cx))) == NULL ||
	    (sc->th = ss_calloc((size_t)nthreads, sizeof(*sc->th))) == NULL))
		return SS_ENOMEM;
	/* fewer scanners than asked (no memory, no thread) is no error */
	for (int i = 0; i < nthreads; i++) {
		struct sarg *a;

		if (ss_sctx_init(t, &sc->cx[i], &sc->prmu) != 0 ||
		    (a = ss_malloc(sizeof(*a))) == NULL) {
			ss_sctx_fini(&sc->cx[i]);
			break;
		}
		a->sc = sc;
		a->cx = &sc->cx[i];
		if (pthread_create(&sc->th[i], NULL, scanner, a) != 0) {
			free(a);
			ss_sctx_fini(&sc->cx[i]);
			break;
		}
		(void)pthread_setname_np(sc->th[i], "snapseal-scan");
		sc->nthreads++;
	}
	ss_errclear();
	return 0;
}

void
ss_scan_halt(struct ss_tree *t)
{
	struct ss_scan *sc = t->scan;

	if (sc == NULL || sc->halted)
		return;
	pthread_mutex_lock(&sc->mu);
	sc->stop = 1;
	pthread_cond_broadcast(&sc->work);
	pthread_mutex_unlock(&sc->mu);
	for (int i = 0; i < sc->nthreads; i++)
		pthread_join(sc->th[i], NULL);
	sc->halted = 1;
}

void
ss_scan_stop(struct ss_tree *t)
{
	struct ss_scan *sc = t->scan;

	if (sc == NULL)
		return;
	ss_scan_halt(t);
	while (sc->all)
		ss_scan_free(t, sc->all);
	for (int i = 0; i < sc->nthreads; i++)
		ss_sctx_fini(&sc->cx[i]);
	ss_sctx_fini(&sc->wcx);
	pthread_mutex_destroy(&sc->mu);
	pthread_mutex_destroy(&sc->prmu);
	pthread_cond_destroy(&sc->work);
	pthread_cond_destroy(&sc->done);
	if (sc->farena != NULL)
		munmap(sc->farena, (size_t)FDATA_UNITS * FDATA_UNIT);
	free(sc->cx);
	free(sc->th);
	free(sc->heap);
	free(sc);
	t->scan = NULL;
}
