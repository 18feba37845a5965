/*
 * chunk: content-defined chunking (FastCDC with normalized chunking, Xia et
 * al. 2016).  The gear table is derived from a 32-byte seed: for encrypted
 * datasets the seed is a key derived from the master key, so chunk
 * boundaries (and thus chunk sizes visible to the server) depend on the key.
 */
#ifndef SS_CHUNK_H
#define SS_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#define SS_CHUNK_MIN (512u * 1024)
#define SS_CHUNK_AVG (1024u * 1024)
#define SS_CHUNK_MAX (8u * 1024 * 1024)

struct ss_chunker;

/*
 * ss_chunker_new(seed, min, avg, max): seed may be NULL (fixed public
 * table, for unencrypted datasets).  avg must be a power of two,
 * 64 <= min < avg < max.  Returns NULL on bad parameters or no memory.
 */
struct ss_chunker *ss_chunker_new(const uint8_t *seed, uint32_t min,
    uint32_t avg, uint32_t max);
void ss_chunker_free(struct ss_chunker *c);

/*
 * ss_chunker_cut(c, p, n, eof): length of the first chunk of the ${n} bytes
 * at ${p}.  The result is in [1, min(n, max)].  If no boundary is found in
 * the first min(n, max) bytes and n < max and !eof, returns 0: the caller
 * must supply more data (at least max bytes, or all that is left).  With
 * eof set and n <= max and no boundary, returns n.  n == 0 returns 0.
 * Pure function of (table, bytes): thread-safe.
 */
size_t ss_chunker_cut(const struct ss_chunker *c, const uint8_t *p, size_t n,
    int eof);

/*
 * Streaming form of ss_chunker_cut, for data that arrives in pieces: the
 * cuts are exactly those ss_chunker_cut would make on the whole region.
 * ss_chunker_begin(&st) starts a chunk; ss_chunker_feed(c, &st, p, n)
 * looks at up to ${n} more bytes of it and returns how many belong to it:
 * all ${n} (no cut yet, st.pos grows) or fewer, the chunk then ending after
 * them (st.pos is its length, and st.cut is set).  A chunk that reaches
 * max bytes ends there.  At the end of the region the chunk ends wherever
 * it is (st.pos bytes; nothing if 0).
 */
struct ss_chunkst {
	uint64_t h;
	size_t pos;		/* bytes of the current chunk so far */
	int cut;		/* the last feed ended the chunk */
};
void ss_chunker_begin(struct ss_chunkst *st);
size_t ss_chunker_feed(const struct ss_chunker *c, struct ss_chunkst *st,
    const uint8_t *p, size_t n);

#endif /* SS_CHUNK_H */
