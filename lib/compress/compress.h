/*
 * compress: zstd and lz4 behind one interface, with early abort on
 * incompressible data.  Only this module includes zstd.h and lz4.h.
 */
#ifndef SS_COMPRESS_H
#define SS_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

enum ss_comp {
	SS_COMP_OFF = 0,
	SS_COMP_LZ4 = 1,
	SS_COMP_ZSTD = 2
};

/*
 * ss_compress(algo, level, src, n, out, used):
 * Compress ${n} bytes of ${src} with ${algo} (zstd ${level} 1..19, ignored
 * for lz4), appending the result to ${out}.  If the data does not compress
 * (a quick lz4 probe of a sample shows no gain, or the output would not be
 * at least 1/32 smaller than the input) nothing is appended and *${used} is
 * SS_COMP_OFF: the caller stores ${src} as is.  Otherwise *${used} = ${algo}.
 * Data of all zero bytes always compresses.  Returns 0 or SS_ENOMEM/SS_EIO.
 */
int ss_compress(int algo, int level, const void *src, size_t n,
    struct ss_buf *out, int *used);

/*
 * ss_decompress(algo, src, n, dst, dstlen):
 * Decompress ${n} bytes into exactly ${dstlen} bytes at ${dst}.  Output that
 * would exceed ${dstlen} or end short is SS_ECORRUPT (untrusted input: never
 * writes past ${dst} + ${dstlen}).  algo SS_COMP_OFF copies (n must equal
 * dstlen).  Unknown algo: SS_ECORRUPT.
 */
int ss_decompress(int algo, const void *src, size_t n, void *dst,
    size_t dstlen);

/*
 * ss_comp_parse(s, &algo, &level): parse a compression property value
 * "off" | "on" (= lz4) | "lz4" | "zstd" (= zstd-3) | "zstd-N" (1..19).
 * 0 or SS_EINVAL.
 */
int ss_comp_parse(const char *s, int *algo, int *level);

#endif /* SS_COMPRESS_H */
