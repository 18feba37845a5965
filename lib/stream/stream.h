/*
 * stream: the framing of send/receive streams (docs/stream-format.md).
 *
 * A writer turns records into bytes on a file descriptor: each record is
 * "type | flags | reserved | length | payload | checksum" where the
 * checksum is XXH3-128 over the previous record's checksum and this
 * record's header and payload, so that any reordering, duplication, loss or
 * splice fails at the next record.  END carries the totals and a checksum
 * of the whole stream.  A reader does the reverse on untrusted bytes:
 * every length is bounded before anything is allocated, and a record is
 * returned only once its checksum has been verified.
 *
 * This module knows records and their order rules only for BEGIN and END;
 * the payloads of DATASET, OBJECT and SNAPSHOT are built and parsed by
 * the send/receive code.
 */
#ifndef SS_STREAM_H
#define SS_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"
#include "crypto/crypto.h"

#define SS_STREAM_VERSION 1
#define SS_STREAM_MAGIC "SNAPSEAL-STREAM"	/* 15 chars + NUL = 16 bytes */
#define SS_STREAM_MAXREC ((16u << 20) + 4096u)
#define SS_STREAM_RECHDR 8

enum ss_rectype {
	SS_REC_BEGIN = 1,
	SS_REC_DATASET = 2,
	SS_REC_OBJECT = 3,
	SS_REC_SNAPSHOT = 4,
	SS_REC_END = 5
};

#define SS_RECF_CRITICAL 0x01

/* BEGIN flags */
#define SS_STREAMF_RAW 0x1
#define SS_STREAMF_REPLICATION 0x2
#define SS_STREAMF_INCREMENTAL 0x4
#define SS_STREAMF_PROPERTIES 0x8
#define SS_STREAMF_INTERMEDIATE 0x10	/* -I: every snapshot after the base */
#define SS_STREAMF_RESUMED 0x20		/* send -t: leading objects left out */
/* BEGIN features: none defined in version 1; any set bit is refused. */
#define SS_STREAM_FEATURES_KNOWN 0x0

struct ss_begin {
	uint32_t version;
	uint64_t features;
	uint64_t flags;
	uint64_t guid;		/* stream guid */
	char name[256];		/* top dataset name as sent */
};

struct ss_end {
	uint64_t records;	/* records before END */
	uint64_t objects;	/* OBJECT records */
	uint64_t objbytes;	/* their payload bytes */
	uint64_t guid;		/* the stream guid again */
	uint8_t sum[SS_SUM_LEN];	/* XXH3-128 of every byte before END */
};

/* ---------- writer ---------- */

struct ss_swriter;

/*
 * ss_sw_open(fd, b, &w): start a stream on ${fd} by writing BEGIN.
 * The writer does its own buffering; ss_sw_end writes END and flushes.
 */
int ss_sw_open(int fd, const struct ss_begin *b, struct ss_swriter **w);
/* ss_sw_record(w, type, p, n): append one record (n <= SS_STREAM_MAXREC). */
int ss_sw_record(struct ss_swriter *w, uint8_t type, const void *p, size_t n);

/*
 * ss_sw_record2(w, type, head, hn, body, bn, fd, off): append one record
 * whose payload is ${head} (hn <= SS_SW_HEADMAX) then ${body}, without
 * copying them together first.  With ${fd} >= 0, ${body} is also the ${bn}
 * bytes of file ${fd} at offset ${off} (a pack record), and a large body
 * goes from the file to the stream inside the kernel (sendfile) rather
 * than through the writer's buffer; the checksums are computed over
 * ${body}, so a file that changed in between makes a stream the reader
 * refuses, never one it accepts.  Pass -1 when ${body} is only in memory.
 */
#define SS_SW_HEADMAX 64
int ss_sw_record2(struct ss_swriter *w, uint8_t type, const void *head,
    size_t hn, const void *body, size_t bn, int fd, uint64_t off);
/* ss_sw_end(w): write END (with the totals) and flush everything. */
int ss_sw_end(struct ss_swriter *w);
/* Bytes written so far (for -v / -P progress). */
uint64_t ss_sw_bytes(const struct ss_swriter *w);
void ss_sw_free(struct ss_swriter *w);

/* ---------- reader ---------- */

struct ss_sreader;

/*
 * ss_sr_open(fd, &r, b): read and check BEGIN (magic, version, unknown
 * features refused: SS_ENOTSUP "stream uses features this snapseal does
 * not know").  A stream that does not start with BEGIN is SS_ECORRUPT.
 */
int ss_sr_open(int fd, struct ss_sreader **r, struct ss_begin *b);

/*
 * ss_sr_next(r, &type, &p, &n): the next record after BEGIN, verified.
 * ${p} borrows the reader's buffer until the next call.  END is checked
 * here (totals, stream guid, whole-stream checksum, and that end-of-file
 * follows it, so the call waits for the writer to close) and returned as
 * type SS_REC_END; data after END, reading past END, a truncated stream
 * ("incomplete stream"), a bad checksum ("checksum mismatch"), an
 * oversized length, a non-zero reserved field or an unknown critical
 * record type are SS_ECORRUPT.
 * Unknown non-critical records are skipped.
 */
int ss_sr_next(struct ss_sreader *r, uint8_t *type, const uint8_t **p,
    size_t *n);
/*
 * ss_sr_set_sink(r, fn, arg): the payload of a large record (64 KiB or
 * more) is read into the ${n} bytes ${fn}(arg, type, n) returns, after the
 * record's header was read and its length checked, rather than into the
 * reader's buffer: the receiver puts objects straight where they will be
 * written (ss_packw_reserve).  The memory must stay valid until the next
 * ss_sr_next; ${fn} returns NULL to leave a record to the reader's buffer.
 * Everything is verified as usual, after it was read.
 */
typedef uint8_t *(*ss_sr_sink_fn)(void *arg, uint8_t type, size_t n);
void ss_sr_set_sink(struct ss_sreader *r, ss_sr_sink_fn fn, void *arg);
/* Bytes read so far. */
uint64_t ss_sr_bytes(const struct ss_sreader *r);
void ss_sr_free(struct ss_sreader *r);

/* ---------- a set of object identifiers ---------- */

/*
 * An open-addressing hash set of 32-byte IDs (the IDs are MAC or hash
 * outputs, so their first bytes are already uniform).  Used by send to
 * know what the base snapshot holds and what was already emitted.
 */
struct ss_idset;
struct ss_idset *ss_idset_new(void);
void ss_idset_free(struct ss_idset *s);
/* ss_idset_add(s, id): 1 if added, 0 if already present, <0 on error. */
int ss_idset_add(struct ss_idset *s, const uint8_t id[32]);
int ss_idset_has(const struct ss_idset *s, const uint8_t id[32]);
size_t ss_idset_count(const struct ss_idset *s);

#endif /* SS_STREAM_H */
