/*
 * store/packint.h: the inside of pack files, private to lib/store.
 *
 * pack.c names packs and writes them (ss_packw_*); an uncached writer on a
 * filesystem that takes O_DIRECT has packdio.c write for it; packr.c reads
 * packs (ss_packr_*, ss_pack_scan), lists, punches and removes them.  The
 * format is in docs/format.md, "Pack files".
 */
#ifndef SS_STORE_PACKINT_H
#define SS_STORE_PACKINT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define PACK_MAGIC "SSPACK01"
#define PACK_HDR 16
#define PACK_WBUF (4u << 20)	/* writer buffer */
#define PACK_DIOALIGN 4096u	/* direct writes: offsets, lengths, memory */

/* Bounds of a stored object (see docs/format.md, "Stored object"). */
#define REC_MIN 33u
#define REC_MAX (16u + SS_ID_LEN * SS_OBJ_MAXREFS + SS_NONCE_LEN + \
    SS_OBJ_MAX + 1u + SS_TAG_LEN + SS_SUM_LEN)

/* ---------- writer (pack.c) ---------- */

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

/* ss_pack_dir(pooldir, pack): the path of the pack's XX directory (malloc). */
char *ss_pack_dir(const char *pooldir, uint64_t pack);
/* ss_pw_fail(w, r, num): record a write error on pack ${num} (errno kept). */
int ss_pw_fail(struct ss_packw *w, int r, uint64_t num);

/* ---------- direct writes (packdio.c) ---------- */

/* The direct writer of w->dio (how it works: the top of packdio.c). */
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

/*
 * The writer's calls into packdio.c, each described where it is defined:
 * ss_dio_attach when an uncached writer creates a pack, the others only once
 * w->dio is set.  ss_dio_free accepts NULL.
 */
int ss_dio_attach(struct ss_packw *w, int fd);
int ss_dio_drain(struct ss_packw *w, int all);
int ss_dio_append(struct ss_packw *w, const void *p, size_t n);
int ss_dio_finish(struct ss_packw *w);
void ss_dio_free(struct pw_dio *d);

#endif /* SS_STORE_PACKINT_H */
