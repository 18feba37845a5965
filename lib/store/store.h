/*
 * store: the sealed object format and the pack files that hold objects.
 *
 * An object is a typed plaintext (a file chunk, a file map, a directory)
 * identified by ID = MAC(type || payload): HMAC-SHA256 under K_id for
 * encrypted datasets, SHA-256 for unencrypted ones.  It is stored as a
 * visible header (version, flags, compression, lengths, the sorted list of
 * IDs it references), then the sealed payload, then an XXH3-128 checksum
 * over ID || everything before the checksum.  The exact layout is in
 * docs/format.md.  The visible references let a keyless server walk the
 * graph (scrub, reclaim space, send onward); everything else is sealed.
 *
 * Packs: append-only files of records "u32 len | id[32] | object[len]"
 * after a 16-byte header, under POOL/packs/XX/<16 hex>.pack.  The index
 * (ID -> pack, offset, length, reference count) lives in the catalog.
 */
#ifndef SS_STORE_H
#define SS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"
#include "crypto/crypto.h"

#define SS_ID_LEN 32
#define SS_OBJ_MAX (16u * 1024 * 1024)	/* max plaintext bytes of one object */
#define SS_OBJ_MAXREFS (1u << 20)	/* max references of one object */
#define SS_OBJ_VERSION 1
#define SS_PACK_TARGET (64u * 1024 * 1024)	/* rotate packs at this size */

struct ss_id {
	uint8_t b[SS_ID_LEN];
};

enum ss_otype {
	SS_OT_CHUNK = 1,	/* bytes of a file */
	SS_OT_FILE = 2,		/* a file map: list of (offset, length, chunk ID) */
	SS_OT_DIR = 3		/* a directory: sorted entries */
};

/* ss_id_cmp(a, b): memcmp order. */
int ss_id_cmp(const struct ss_id *a, const struct ss_id *b);
/* ss_ids_sort_unique(ids, n): sort in place, drop duplicates, return new n. */
size_t ss_ids_sort_unique(struct ss_id *ids, size_t n);
/* ss_id_hex(id, out): 64 hex chars + NUL. */
void ss_id_hex(const struct ss_id *id, char out[2 * SS_ID_LEN + 1]);

/*
 * Sealing context for one encryption root (or for plaintext datasets).
 * Holds a MAC context and an AEAD context: not thread-safe, one per thread
 * (ss_objctx_dup).  ${k_id} and ${k_obj} are copied; pass NULL for both for
 * an unencrypted dataset.  ${comp}/${level} as in compress.h.
 */
struct ss_objctx;
struct ss_objctx *ss_objctx_new(const uint8_t *k_id, const uint8_t *k_obj,
    int comp, int level);
struct ss_objctx *ss_objctx_dup(const struct ss_objctx *c);
void ss_objctx_free(struct ss_objctx *c);	/* wipes keys; NULL ok */
int ss_objctx_encrypted(const struct ss_objctx *c);

/* ss_obj_id(c, type, p, n, id): the identifier of a plaintext object. */
int ss_obj_id(struct ss_objctx *c, uint8_t type, const void *p, size_t n,
    struct ss_id *id);

/*
 * ss_obj_seal(c, id, type, p, n, refs, nrefs, out):
 * Build the stored form of the object (${id} from ss_obj_id over the same
 * bytes) into ${out} (reset first).  ${refs} must be sorted and unique
 * (ss_ids_sort_unique).  n <= SS_OBJ_MAX, nrefs <= SS_OBJ_MAXREFS.
 * Encrypted: compress, then AES-256-GCM under K_o = HMAC-SHA256(K_obj,
 * ID || 0x01) with a random nonce; AAD = the whole visible header and ID.
 */
int ss_obj_seal(struct ss_objctx *c, const struct ss_id *id, uint8_t type,
    const void *p, size_t n, const struct ss_id *refs, uint32_t nrefs,
    struct ss_buf *out);

/* The visible header of a stored object, parsed without any key. */
struct ss_objhdr {
	uint8_t version;
	uint8_t flags;		/* SS_OBJF_ENCRYPTED */
	uint8_t comp;		/* enum ss_comp */
	uint32_t rawlen;	/* plaintext length including the type byte */
	uint32_t clen;		/* stored payload length */
	uint32_t nrefs;
	const uint8_t *refs;	/* nrefs * 32 bytes, borrowed from the buffer */
};
#define SS_OBJF_ENCRYPTED 0x01

/*
 * ss_obj_parse(id, stored, n, h): check bounds, version and the checksum
 * (over ${id} and the bytes), fill ${h}.  Needs no key.  SS_ECORRUPT on any
 * mismatch, SS_ENOTSUP on an unknown version.
 */
int ss_obj_parse(const struct ss_id *id, const void *stored, size_t n,
    struct ss_objhdr *h);

/*
 * ss_obj_open(c, id, stored, n, type, out):
 * Parse, authenticate, decrypt, decompress (bounded by rawlen <=
 * SS_OBJ_MAX + 1), recompute the ID and compare.  On success ${out} holds
 * the payload (without the type byte) and *${type} the type.  SS_ECORRUPT
 * for a bad checksum/format, SS_EAUTH for a failed tag or ID mismatch.
 * The object's encryption flag must match the context's.
 */
int ss_obj_open(struct ss_objctx *c, const struct ss_id *id,
    const void *stored, size_t n, uint8_t *type, struct ss_buf *out);
/*
 * ss_obj_open_typed(c, id, stored, n, type, out): the same, but ${out}
 * keeps the type byte in front of the payload (out->len is one more), so
 * that a large payload is not moved down by a byte.
 */
int ss_obj_open_typed(struct ss_objctx *c, const struct ss_id *id,
    const void *stored, size_t n, uint8_t *type, struct ss_buf *out);

/*
 * ss_obj_open_named(c, id, stored, n, type, out): open an unencrypted
 * object whose identifier is a name chosen by its sender (a decrypted
 * stream names objects by keyed stream identifiers, not by their content):
 * everything ss_obj_open checks except that the content hashes to ${id}.
 */
int ss_obj_open_named(struct ss_objctx *c, const struct ss_id *id,
    const void *stored, size_t n, uint8_t *type, struct ss_buf *out);

/* ---------- packs ---------- */

struct ss_loc {
	uint64_t pack;		/* pack number (random, non-zero) */
	uint64_t off;		/* offset of the record header in the pack */
	uint32_t len;		/* length of the stored object (after header) */
};
#define SS_PACK_RECHDR (4 + SS_ID_LEN)

/*
 * Pack writer.  ss_packw_add appends a record to the current pack (opening a
 * new one, with a fresh random number, when none is open or it passed
 * SS_PACK_TARGET) and returns its location.  ss_packw_flush fsyncs every pack
 * written since the last flush and their directories: only after it returns
 * may the caller commit index rows pointing at them.  ss_packw_free closes
 * without flushing (unflushed records are garbage nobody references).
 */
struct ss_packw;
int ss_packw_open(const char *pooldir, struct ss_packw **out);
int ss_packw_add(struct ss_packw *w, const struct ss_id *id, const void *obj,
    size_t n, struct ss_loc *loc);
/*
 * ss_packw_reserve(w, n, &p): room in the writer's own buffer for the
 * record of an ${n}-byte object, so that it need not be copied there: *p
 * gets SS_PACK_RECHDR + n bytes, borrowed until the next call on ${w};
 * the caller puts the object at *p + SS_PACK_RECHDR (the bytes before it
 * are the writer's) and appends it with ss_packw_add(w, id, *p +
 * SS_PACK_RECHDR, n, loc), which then copies nothing.  Not appending it is
 * fine: the room is reused.  *p is NULL (and 0 returned) when the writer
 * cannot (only an uncached writer writing directly can, for objects that
 * fit its buffer).
 */
int ss_packw_reserve(struct ss_packw *w, size_t n, uint8_t **p);
int ss_packw_flush(struct ss_packw *w);
/*
 * ss_packw_uncached(w), before the first add: write around the page cache,
 * for bulk writes nobody reads back soon (receive).  Where the filesystem
 * takes O_DIRECT, records are copied into aligned buffers that a thread
 * of the writer writes straight to the disk while the next one fills;
 * elsewhere the kernel is asked to write each append back at once and to
 * drop its pages (RWF_DONTCACHE, Linux 6.14), or writes plainly.  Either
 * way memory does not fill with the stream and the final flush finds
 * little left to write; durability is unchanged (ss_packw_flush syncs).
 */
void ss_packw_uncached(struct ss_packw *w);
/* Bytes appended since open (for statistics). */
uint64_t ss_packw_written(const struct ss_packw *w);
void ss_packw_free(struct ss_packw *w);

/*
 * Pack reader with a small cache of open descriptors.  ss_packr_read reads
 * the record at ${loc}, checks that its header names ${id} and length, and
 * puts the stored object in ${out} (reset first).  SS_ECORRUPT on mismatch
 * or short file, SS_ENOENT if the pack file is missing.
 */
struct ss_packr;
int ss_packr_open(const char *pooldir, struct ss_packr **out);
int ss_packr_read(struct ss_packr *r, const struct ss_id *id,
    const struct ss_loc *loc, struct ss_buf *out);
/*
 * ss_packr_fd(r, pack, &fd): the reader's descriptor of pack ${pack}
 * (opened if needed), borrowed until the next call on ${r}: for sending a
 * record just read with ss_packr_read from the file itself.
 */
int ss_packr_fd(struct ss_packr *r, uint64_t pack, int *fd);
/*
 * ss_packr_cold(r): 1 once a read of ${r} had to wait for the disk (the
 * data was not in the page cache): a walk may then announce what it will
 * read next with ss_packr_willneed(r, loc), which starts reading the
 * record at ${loc} (rounded out to 128 KiB, where the neighbours of an
 * object tend to be read soon too) without waiting.  Errors are left to
 * the read.
 */
int ss_packr_cold(const struct ss_packr *r);
void ss_packr_willneed(struct ss_packr *r, const struct ss_loc *loc);
/*
 * ss_packr_advise(r, pack, off, len, advice): posix_fadvise ${advice}
 * (POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED) on [off, off + len) of pack
 * ${pack}, through the reader's descriptor.  Best effort: an error to
 * open the pack is left to the read.
 */
void ss_packr_advise(struct ss_packr *r, uint64_t pack, uint64_t off,
    uint64_t len, int advice);
void ss_packr_free(struct ss_packr *r);

/*
 * ss_pack_scan(pooldir, pack, fn, arg): call ${fn} for every record of a
 * pack in order (record bytes borrowed for the call).  Stops at the first
 * non-zero return of ${fn} and returns it.  A torn tail (a record cut by a
 * crash) ends the scan with SS_ECORRUPT after the good records.  Holes
 * punched by ss_pack_punch read as zero-length records and are skipped.
 */
typedef int (*ss_pack_scan_fn)(void *arg, const struct ss_id *id,
    const struct ss_loc *loc, const uint8_t *obj);
int ss_pack_scan(const char *pooldir, uint64_t pack, ss_pack_scan_fn fn,
    void *arg);

/* ss_pack_list(pooldir, &packs, &n): every pack number present on disk. */
int ss_pack_list(const char *pooldir, uint64_t **packs, size_t *n);

/* ss_pack_size(pooldir, pack, &bytes): apparent size of a pack file. */
int ss_pack_size(const char *pooldir, uint64_t pack, uint64_t *bytes);

/*
 * ss_pack_punch(pooldir, pack, off, len): release the disk blocks of a dead
 * record (fallocate PUNCH_HOLE|KEEP_SIZE; the range reads back as zeros).
 * Falls back to doing nothing when the filesystem cannot punch.
 */
int ss_pack_punch(const char *pooldir, uint64_t pack, uint64_t off,
    uint64_t len);

/* ss_pack_remove(pooldir, pack): unlink a pack that holds nothing live. */
int ss_pack_remove(const char *pooldir, uint64_t pack);

/* ss_pack_path(pooldir, pack): newly allocated path of a pack file. */
char *ss_pack_path(const char *pooldir, uint64_t pack);

#endif /* SS_STORE_H */
