/*
 * gen_corpus: write the seed corpora of the fuzz targets, small VALID inputs
 * made with the library's own encoders, so that the fuzzer starts from
 * inputs that get past the first checks:
 *
 *   gen_corpus OUTDIR   -> OUTDIR/fuzz_dir/, fuzz_object/, fuzz_wrapped/,
 *                          fuzz_decompress/, fuzz_stream/, fuzz_receive/
 *                          (created if missing)
 *
 * Sealed objects and wrapped keys use the fixed keys of fuzz.h and random
 * nonces, and fuzz_receive's streams come from a pool made in a temporary
 * directory (random guids), so two runs give different bytes; the
 * generated files are committed and replayed as they are (scripts/fuzz.sh
 * corpus rewrites them; fuzz_receive's must be rewritten when the stream
 * format changes, as its set-up receives two of them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "compress/compress.h"
#include "keys/keys.h"
#include "pool/pool.h"
#include "store/store.h"
#include "stream/stream.h"
#include "tree/tree.h"
#include "fuzz.h"

static const char *outdir;
static int failed;

static void
put_file(const char *target, const char *name, const void *p, size_t n)
{
	char *dir = ss_path_join(outdir, target), *path = NULL;
	FILE *f = NULL;

	if (dir == NULL || ss_mkdir_p(dir, 0755) != 0 ||
	    (path = ss_path_join(dir, name)) == NULL ||
	    (f = fopen(path, "wb")) == NULL ||
	    (n > 0 && fwrite(p, 1, n, f) != n)) {
		fprintf(stderr, "gen_corpus: cannot write %s/%s\n", target,
		    name);
		failed = 1;
	}
	if (f != NULL && fclose(f) != 0)
		failed = 1;
	free(path);
	free(dir);
}

static void
need(int r, const char *what)
{
	if (r != 0) {
		fprintf(stderr, "gen_corpus: %s: %d %s\n", what, r,
		    ss_errmsg());
		exit(1);
	}
}

static void
fill_text(uint8_t *p, size_t n, unsigned seed)
{
	static const char *w[] = { "snapshot ", "dataset ", "pool ", "send ",
	    "receive ", "bookmark ", "encrypted ", "incremental\n" };
	size_t i = 0;

	while (i < n) {
		const char *s = w[(seed = seed * 1103515245u + 12345u) >> 29];

		for (; *s != '\0' && i < n; s++)
			p[i++] = (uint8_t)*s;
	}
}

static void
fill_noise(uint8_t *p, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		p[i] = (uint8_t)seed;
	}
}

/* ---------- directory objects ---------- */

static struct ss_ent
ent(const char *name, uint8_t type, uint8_t ckind, uint8_t idbyte)
{
	struct ss_ent e;

	memset(&e, 0, sizeof(e));
	e.name = name;
	e.namelen = strlen(name);
	e.type = type;
	e.ckind = ckind;
	e.mode = type == SS_FT_DIR ? 0755 : 0644;
	e.uid = 1000;
	e.gid = 1000;
	e.mtime_sec = 1700000000 + idbyte;
	e.mtime_nsec = 123456789;
	e.ctime_sec = 1700000100;
	e.ctime_nsec = 999999999;
	e.ino = 4096u + idbyte;
	if (ckind != SS_CK_NONE) {
		memset(e.cid.b, idbyte, SS_ID_LEN);
		e.subtree = 100u * idbyte;
	}
	return e;
}

/* dir_encode_v1(v, n, out): a directory object of version 1. */
static void
dir_encode_v1(const struct ss_ent *v, size_t n, struct ss_buf *out)
{
	ss_buf_reset(out);
	need(ss_buf_put_u8(out, SS_DIR_VERSION_V1), "encode");
	need(ss_buf_put_u32(out, (uint32_t)n), "encode");
	for (size_t i = 0; i < n; i++)
		need(ss_ent_encode_v1(&v[i], out), "encode");
}

/*
 * dir_encode_refs(v, n, out, refs): a directory object of the current
 * version; ${refs} (if not NULL) gets its header references.
 */
static void
dir_encode_refs(const struct ss_ent *v, size_t n, struct ss_buf *out,
    struct ss_buf *hrefs)
{
	const struct ss_ent *pv[16];
	struct ss_id *refs = NULL;
	size_t nrefs = 0;

	for (size_t i = 0; i < n && i < 16; i++)
		pv[i] = &v[i];
	ss_buf_reset(out);
	need(n <= 16 ? ss_dir_encode(pv, n, out, &refs, &nrefs) : SS_EINVAL,
	    "encode");
	if (hrefs != NULL) {
		ss_buf_reset(hrefs);
		need(ss_buf_put(hrefs, refs, nrefs * SS_ID_LEN), "encode");
	}
	free(refs);
}

static void
dir_encode(const struct ss_ent *v, size_t n, struct ss_buf *out)
{
	dir_encode_refs(v, n, out, NULL);
}

/*
 * put_dir(name, v, n): fuzz_dir's inputs for ${v}: its references and
 * object in version 2, and (name-v1) the version 1 object, no references.
 */
static void
put_dir(const char *name, const struct ss_ent *v, size_t n)
{
	struct ss_buf b = SS_BUF_INIT, refs = SS_BUF_INIT, in = SS_BUF_INIT;
	char *v1 = ss_asprintf("%s-v1", name);

	dir_encode_refs(v, n, &b, &refs);
	need(ss_buf_put_u8(&in, (uint8_t)(refs.len / SS_ID_LEN)), "encode");
	need(ss_buf_put(&in, refs.p, refs.len), "encode");
	need(ss_buf_put(&in, b.p, b.len), "encode");
	put_file("fuzz_dir", name, in.p, in.len);
	dir_encode_v1(v, n, &b);
	ss_buf_reset(&in);
	need(ss_buf_put_u8(&in, 0), "encode");
	need(ss_buf_put(&in, b.p, b.len), "encode");
	need(v1 != NULL ? 0 : SS_ENOMEM, "name");
	put_file("fuzz_dir", v1, in.p, in.len);
	free(v1);
	ss_buf_free(&b);
	ss_buf_free(&refs);
	ss_buf_free(&in);
}

/* dir_all_types(out): one entry of each type and content kind. */
static size_t
dir_all_types(struct ss_ent *v)
{
	/* Two xattrs: str16 name, str32 value each (docs/format.md 6.1). */
	static const uint8_t xa[] = {
		10, 0, 'u', 's', 'e', 'r', '.', 'c', 'o', 'l', 'o', 'r',
		4, 0, 0, 0, 'b', 'l', 'u', 'e',
		11, 0, 's', 'e', 'c', 'u', 'r', 'i', 't', 'y', '.', 'x', 'y',
		0, 0, 0, 0,
	};
	size_t n = 0;

	v[n] = ent("bdev", SS_FT_BLK, SS_CK_NONE, 1);
	v[n++].rdev = 0x0801;
	v[n] = ent("cdev", SS_FT_CHR, SS_CK_NONE, 2);
	v[n++].rdev = 0x0103;
	v[n++] = ent("dir", SS_FT_DIR, SS_CK_DIR, 3);
	v[n++] = ent("empty", SS_FT_REG, SS_CK_NONE, 4);
	v[n] = ent("fifo", SS_FT_FIFO, SS_CK_NONE, 5);
	v[n++].mode = 0600;
	v[n] = ent("link", SS_FT_LNK, SS_CK_NONE, 6);
	v[n].target = "../some/target";
	v[n++].targetlen = 14;
	v[n] = ent("map", SS_FT_REG, SS_CK_FILE, 7);
	v[n].size = 5u << 20;
	v[n++].hlgroup = 4096 + 7;
	v[n] = ent("small", SS_FT_REG, SS_CK_CHUNK, 8);
	v[n].size = 1234;
	v[n].mode = 04755;
	v[n].xattrs = xa;
	v[n++].xattrslen = sizeof(xa);
	return n;
}

static void
gen_dirs(struct ss_buf *b)
{
	static char longname[256];
	struct ss_ent v[16];
	size_t n;

	(void)b;
	put_dir("dir-empty", NULL, 0);
	n = dir_all_types(v);
	put_dir("dir-all-types", v, n);
	put_dir("dir-one-file", v + 7, 1);

	memset(longname, 'n', 255);
	v[0] = ent("a file with spaces", SS_FT_REG, SS_CK_CHUNK, 9);
	v[1] = ent(longname, SS_FT_REG, SS_CK_NONE, 10);
	v[2] = ent("\xc3\xa9t\xc3\xa9", SS_FT_DIR, SS_CK_DIR, 11);
	v[2].mtime_sec = -1;
	v[3] = ent("\xff", SS_FT_LNK, SS_CK_NONE, 12);
	v[3].target = "/";
	v[3].targetlen = 1;
	put_dir("dir-odd-names", v, 4);

	/* version 2 only: files inline, beside one in a chunk */
	v[0] = ent("inline-a", SS_FT_REG, SS_CK_INLINE, 0);
	v[0].size = 5;
	v[0].data = (const uint8_t *)"hello";
	v[1] = ent("inline-b", SS_FT_REG, SS_CK_INLINE, 0);
	v[1].size = 3;
	v[1].data = (const uint8_t *)"\0\1\2";
	v[2] = ent("small", SS_FT_REG, SS_CK_CHUNK, 13);
	v[2].size = 700;
	put_dir("dir-inline", v, 3);
}

/* ---------- sealed objects ---------- */

static void
put_object(struct ss_objctx *c, const char *name, uint8_t type,
    const void *p, size_t n, struct ss_id *refs, uint32_t nrefs,
    struct ss_buf *out)
{
	struct ss_id id;

	if (nrefs > 0)
		nrefs = (uint32_t)ss_ids_sort_unique(refs, nrefs);
	need(ss_obj_id(c, type, p, n, &id), "object id");
	need(ss_obj_seal(c, &id, type, p, n, refs, nrefs, out), "seal");
	/* The input of fuzz_object: ID || stored object. */
	need(ss_buf_reserve(out, SS_ID_LEN), "grow");
	memmove(out->p + SS_ID_LEN, out->p, out->len);
	memcpy(out->p, id.b, SS_ID_LEN);
	out->len += SS_ID_LEN;
	put_file("fuzz_object", name, out->p, out->len);
}

static void
gen_objects(struct ss_buf *b)
{
	struct ss_objctx *enc, *plain, *plainz;
	struct ss_ent v[16];
	struct ss_buf dir = SS_BUF_INIT;
	struct ss_id refs[8];
	uint8_t text[3000], noise[200];
	size_t n, nrefs = 0;

	enc = ss_objctx_new(FUZZ_K_ID, FUZZ_K_OBJ, SS_COMP_ZSTD, 3);
	plain = ss_objctx_new(NULL, NULL, SS_COMP_LZ4, 0);
	plainz = ss_objctx_new(NULL, NULL, SS_COMP_ZSTD, 3);
	if (enc == NULL || plain == NULL || plainz == NULL)
		need(SS_ENOMEM, "object context");
	fill_text(text, sizeof(text), 1);
	fill_noise(noise, sizeof(noise), 2);
	n = dir_all_types(v);
	dir_encode(v, n, &dir);
	for (size_t i = 0; i < n; i++)
		if (v[i].ckind != SS_CK_NONE)
			refs[nrefs++] = v[i].cid;

	put_object(plain, "obj-plain-chunk-lz4", SS_OT_CHUNK, text,
	    sizeof(text), NULL, 0, b);
	put_object(plainz, "obj-plain-chunk-zstd", SS_OT_CHUNK, text, 1500,
	    NULL, 0, b);
	put_object(plain, "obj-plain-chunk-raw", SS_OT_CHUNK, noise,
	    sizeof(noise), NULL, 0, b);
	put_object(plain, "obj-plain-empty", SS_OT_CHUNK, NULL, 0, NULL, 0, b);
	put_object(plain, "obj-plain-dir-refs", SS_OT_DIR, dir.p, dir.len,
	    refs, (uint32_t)nrefs, b);
	put_object(enc, "obj-enc-chunk-zstd", SS_OT_CHUNK, text, sizeof(text),
	    NULL, 0, b);
	put_object(enc, "obj-enc-chunk-raw", SS_OT_CHUNK, noise, 64, NULL, 0,
	    b);
	put_object(enc, "obj-enc-empty", SS_OT_CHUNK, NULL, 0, NULL, 0, b);
	put_object(enc, "obj-enc-dir-refs", SS_OT_DIR, dir.p, dir.len, refs,
	    (uint32_t)nrefs, b);
	for (size_t i = 0; i < 3; i++)
		memset(refs[i].b, 0x40 + (int)i, SS_ID_LEN);
	put_object(enc, "obj-enc-filemap-refs", SS_OT_FILE, noise, 120, refs,
	    3, b);
	ss_buf_free(&dir);
	ss_objctx_free(enc);
	ss_objctx_free(plain);
	ss_objctx_free(plainz);
}

/* ---------- wrapped keys ---------- */

static void
put_wrapped(const char *name, int kf, const uint8_t *wk)
{
	struct ss_wrapped w;
	struct ss_keyset ks;
	struct ss_buf b = SS_BUF_INIT;

	memset(&w, 0, sizeof(w));
	w.version = SS_WRAP_VERSION;
	w.keyformat = (uint8_t)kf;
	if (kf == SS_KF_PASSPHRASE) {
		w.iters = SS_PBKDF2_MIN;
		w.scrypt_logn = SS_SCRYPT_LOGN;
		memset(w.salt, 0x5a, sizeof(w.salt));
	}
	w.root_guid = 0x0123456789abcdefull;
	need(ss_keyset_derive(FUZZ_MK, &ks), "derive");
	memcpy(w.keyguid, ks.keyguid, sizeof(w.keyguid));
	ss_keyset_wipe(&ks);
	need(ss_key_wrap(wk, FUZZ_MK, &w), "wrap");
	need(ss_wrapped_encode(&w, &b), "encode wrapped key");
	put_file("fuzz_wrapped", name, b.p, b.len);
	ss_buf_free(&b);
}

static void
gen_wrapped(void)
{
	uint8_t other[SS_KEY_LEN];

	memset(other, 0x99, sizeof(other));
	put_wrapped("wrapped-raw", SS_KF_RAW, FUZZ_WK);
	put_wrapped("wrapped-hex", SS_KF_HEX, FUZZ_WK);
	put_wrapped("wrapped-passphrase", SS_KF_PASSPHRASE, FUZZ_WK);
	put_wrapped("wrapped-other-key", SS_KF_RAW, other);
}

/* ---------- compressed frames ---------- */

static void
put_compressed(const char *name, int algo, int level, const void *p,
    size_t n)
{
	struct ss_buf b = SS_BUF_INIT;
	int used = SS_COMP_OFF;

	need(ss_buf_put_u32(&b, (uint32_t)n), "grow");
	if (algo != SS_COMP_OFF) {
		need(ss_compress(algo, level, p, n, &b, &used), "compress");
		if (used != algo)
			need(SS_EINVAL, name);
	} else
		need(ss_buf_put(&b, p, n), "grow");
	put_file("fuzz_decompress", name, b.p, b.len);
	ss_buf_free(&b);
}

static void
gen_compressed(void)
{
	static uint8_t zeros[65536];
	uint8_t text[4000], noise[100];

	fill_text(text, sizeof(text), 3);
	fill_noise(noise, sizeof(noise), 4);
	put_compressed("lz4-text", SS_COMP_LZ4, 0, text, sizeof(text));
	put_compressed("lz4-zeros", SS_COMP_LZ4, 0, zeros, sizeof(zeros));
	put_compressed("zstd-text", SS_COMP_ZSTD, 3, text, sizeof(text));
	put_compressed("zstd-zeros", SS_COMP_ZSTD, 19, zeros, sizeof(zeros));
	put_compressed("off-noise", SS_COMP_OFF, 0, noise, sizeof(noise));
	put_compressed("off-empty", SS_COMP_OFF, 0, NULL, 0);
}

/* ---------- send streams ---------- */

/*
 * The payloads loosely follow docs/stream-format.md's DATASET, OBJECT and
 * SNAPSHOT layouts; the stream module checks only the framing, BEGIN and
 * END, so any bytes would do.
 */
static void
rec_dataset(struct ss_buf *b, const char *rel, uint64_t guid)
{
	ss_buf_reset(b);
	need(ss_buf_put_str16(b, rel, strlen(rel)), "encode");
	need(ss_buf_put_u64(b, guid), "encode");
	need(ss_buf_put_u64(b, 0), "encode");		/* not encrypted */
	need(ss_buf_put_u8(b, 0), "encode");		/* no key */
	need(ss_buf_put_u32(b, 1), "encode");
	need(ss_buf_put_str16(b, "compression", 11), "encode");
	need(ss_buf_put_str16(b, "zstd", 4), "encode");
	need(ss_buf_put_u8(b, 1), "encode");
}

static void
rec_object(struct ss_buf *b, const uint8_t *p, size_t n, uint8_t idbyte)
{
	uint8_t id[SS_ID_LEN];

	memset(id, idbyte, sizeof(id));
	ss_buf_reset(b);
	need(ss_buf_put(b, id, sizeof(id)), "encode");
	need(ss_buf_put_str32(b, p, n), "encode");
}

static void
rec_snapshot(struct ss_buf *b, uint64_t guid, uint64_t from)
{
	uint8_t id[SS_ID_LEN];

	memset(id, 0x33, sizeof(id));
	ss_buf_reset(b);
	need(ss_buf_put_str16(b, "", 0), "encode");
	need(ss_buf_put_u8(b, 1), "encode");
	need(ss_buf_put_u64(b, guid), "encode");
	need(ss_buf_put_str16(b, "daily-1", 7), "encode");
	need(ss_buf_put_u64(b, 1700000000000000000ull), "encode");
	need(ss_buf_put(b, id, sizeof(id)), "encode");	/* root */
	need(ss_buf_put_u64(b, from), "encode");	/* prev guid */
	need(ss_buf_put(b, id, sizeof(id)), "encode");	/* mac */
	need(ss_buf_put_u64(b, from), "encode");
	need(ss_buf_put_u64(b, 123456), "encode");
	need(ss_buf_put_u64(b, 234567), "encode");
	need(ss_buf_put_u64(b, 42), "encode");
}

/*
 * put_stream(name, flags, top, nobj, patch): a stream from the writer:
 * BEGIN, then (nobj >= 0) DATASET, an empty OBJECT, ${nobj} more OBJECTs
 * and SNAPSHOT, then END.
 */
static void
put_stream(const char *name, uint64_t flags, const char *top, int nobj,
    int patch)
{
	struct ss_swriter *w;
	struct ss_begin bg;
	struct ss_buf rec = SS_BUF_INIT, out = SS_BUF_INIT;
	uint8_t text[300], noise[64];
	int fd = memfd_create("gen_corpus", 0);
	off_t size;

	if (fd < 0)
		need(SS_EIO, "memfd_create");
	fill_text(text, sizeof(text), 5);
	fill_noise(noise, sizeof(noise), 6);
	memset(&bg, 0, sizeof(bg));
	bg.version = SS_STREAM_VERSION;
	bg.flags = flags;
	bg.guid = 0x5eed5eed00000001ull + (uint64_t)nobj;
	snprintf(bg.name, sizeof(bg.name), "%s", top);
	need(ss_sw_open(fd, &bg, &w), "stream open");
	if (nobj >= 0) {
		rec_dataset(&rec, "", 0xd5d5d5d5);
		need(ss_sw_record(w, SS_REC_DATASET, rec.p, rec.len), name);
		need(ss_sw_record(w, SS_REC_OBJECT, NULL, 0), name);
		for (int i = 0; i < nobj; i++) {
			rec_object(&rec, i % 2 ? noise : text, i % 2 ?
			    sizeof(noise) : sizeof(text), (uint8_t)(i + 1));
			need(ss_sw_record(w, SS_REC_OBJECT, rec.p, rec.len),
			    name);
		}
		rec_snapshot(&rec, 0x5a5a5a5a, flags &
		    SS_STREAMF_INCREMENTAL ? 0x4b4b4b4b : 0);
		need(ss_sw_record(w, SS_REC_SNAPSHOT, rec.p, rec.len), name);
	}
	need(ss_sw_end(w), "stream end");
	ss_sw_free(w);
	if ((size = lseek(fd, 0, SEEK_END)) < 0)
		need(SS_EIO, "lseek");
	need(ss_buf_reserve(&out, (size_t)size), "grow");
	out.len = (size_t)size;
	need(ss_pread_all(fd, out.p, out.len, 0), "read back");
	close(fd);
	/*
	 * Record 1 (DATASET) turned into an unknown non-critical type 9: its
	 * checksum no longer matches, but fuzz_stream's second pass
	 * recomputes the chain, which then reaches the skipping path.
	 */
	if (patch) {
		size_t at = SS_STREAM_RECHDR + ss_le32dec(out.p + 4) +
		    SS_SUM_LEN;

		out.p[at] = 9;
		out.p[at + 1] = 0;
	}
	put_file("fuzz_stream", name, out.p, out.len);
	ss_buf_free(&out);
	ss_buf_free(&rec);
}

static void
gen_streams(void)
{
	put_stream("stream-empty", SS_STREAMF_RAW, "pool", -1, 0);
	put_stream("stream-raw-full", SS_STREAMF_RAW, "pool/data", 3, 0);
	put_stream("stream-incremental", SS_STREAMF_RAW |
	    SS_STREAMF_INCREMENTAL | SS_STREAMF_PROPERTIES, "tank/home/user",
	    2, 0);
	put_stream("stream-plain-many", 0, "p", 12, 0);
	put_stream("stream-noncritical-unchained", SS_STREAMF_RAW, "pool/x",
	    1, 1);
}

/* ---------- streams of a real pool, for fuzz_receive ---------- */

/*
 * A source pool "src" in a temporary SNAPSEAL_HOME, made and sent with
 * the library calls the CLI makes (snapseal create, snapshot, change-key,
 * send), so the streams are what "snapseal send" writes:
 *
 *   src/plain           unencrypted; @a, then @b after a change
 *   src/enc             encryption root (raw key FUZZ_WK); @a, then
 *                       change-key (to FUZZ_MK) and @b
 *   src/enc/kid         inherits the key
 *   src/enc/open        encryption=off inside the encrypted tree
 *
 * Each seed is a selector byte (enum fuzz_rdest, FUZZ_RECV_*) and one
 * stream.
 */
struct gen_pool {
	struct ss_pool *p;
	char *tmp, *live;
	struct ss_buf last;	/* the last seed put_send wrote */
};

static void
gen_write(const char *dir, const char *name, const void *p, size_t n)
{
	char *path = ss_path_join(dir, name);

	if (path == NULL)
		need(SS_ENOMEM, name);
	need(ss_write_file_atomic(path, p, n, 0644), path);
	free(path);
}

static void
gen_fill(struct gen_pool *g, const char *ds, const char *file,
    unsigned seed, size_t n)
{
	uint8_t buf[3000];
	char *dir = ss_path_join(g->live, ds);

	if (dir == NULL || n > sizeof(buf))
		need(SS_ENOMEM, file);
	if (seed % 2)
		fill_noise(buf, n, seed);
	else
		fill_text(buf, n, seed);
	gen_write(dir, file, buf, n);
	free(dir);
}

static void
gen_snap(struct gen_pool *g, const char *name, int recursive)
{
	need(ss_snapshot(g->p, &name, 1, recursive, NULL), name);
}

/*
 * put_send(g, seed, dest, snap, from, flags): one send as a seed; the
 * seed is left in g->last.
 */
static void
put_send(struct gen_pool *g, const char *seed, int dest, const char *snap,
    const char *from, int flags)
{
	struct ss_send_opts o = { .flags = flags, .from = from };
	struct ss_buf out = SS_BUF_INIT;
	int fd = memfd_create("gen_corpus", 0);
	off_t size;

	if (fd < 0)
		need(SS_EIO, "memfd_create");
	need(ss_send(g->p, snap, &o, fd, NULL), seed);
	if ((size = lseek(fd, 0, SEEK_END)) < 0)
		need(SS_EIO, "lseek");
	need(ss_buf_put_u8(&out, (uint8_t)dest), "grow");
	need(ss_buf_reserve(&out, (size_t)size), "grow");
	need(ss_pread_all(fd, out.p + 1, (size_t)size, 0), "read back");
	out.len += (size_t)size;
	close(fd);
	put_file("fuzz_receive", seed, out.p, out.len);
	ss_buf_free(&g->last);
	g->last = out;
}

static void
gen_source(struct gen_pool *g)
{
	struct ss_kv enc[3] = { { "encryption", "on" },
	    { "keyformat", "raw" }, { "keylocation", NULL } };
	struct ss_kv off = { "encryption", "off" }, change[1];
	char *k1 = ss_asprintf("file://%s/key1", g->tmp);
	char *k2 = ss_asprintf("file://%s/key2", g->tmp);
	struct ss_ds ds;

	if (k1 == NULL || k2 == NULL)
		need(SS_ENOMEM, "keylocation");
	gen_write(g->tmp, "key1", FUZZ_WK, SS_KEY_LEN);
	gen_write(g->tmp, "key2", FUZZ_MK, SS_KEY_LEN);
	enc[2].value = k1;
	need(ss_ds_create(g->p, "src/plain", NULL, 0, 0), "create plain");
	need(ss_ds_create(g->p, "src/enc", enc, 3, 0), "create enc");
	need(ss_ds_create(g->p, "src/enc/kid", NULL, 0, 0), "create kid");
	need(ss_ds_create(g->p, "src/enc/open", &off, 1, 0), "create open");
	gen_fill(g, "plain", "a.txt", 10, 700);
	gen_fill(g, "plain", "noise.bin", 11, 300);
	gen_fill(g, "enc", "secret.txt", 12, 500);
	gen_fill(g, "enc/kid", "k.bin", 13, 200);
	gen_fill(g, "enc/open", "o.txt", 14, 100);
	gen_snap(g, "src/plain@a", 0);
	gen_snap(g, "src/enc@a", 1);
	gen_fill(g, "plain", "a.txt", 20, 900);
	gen_fill(g, "plain", "new.txt", 22, 200);
	gen_fill(g, "enc", "secret.txt", 24, 600);
	gen_fill(g, "enc/kid", "k2.bin", 25, 100);
	change[0].name = "keylocation";
	change[0].value = k2;
	need(ss_cat_ds_get(g->p->cat, "src/enc", &ds), "src/enc");
	need(ss_key_change(g->p, &ds, change, 1), "change-key");
	gen_snap(g, "src/plain@b", 0);
	gen_snap(g, "src/enc@b", 1);
	ss_ds_clear(&ds);
	free(k1);
	free(k2);
}

/* rec_at(p, n, i): the offset of record ${i} of stream ${p}. */
static size_t
rec_at(const uint8_t *p, size_t n, int i)
{
	size_t off = 0;

	for (; i > 0; i--) {
		if (n - off < SS_STREAM_RECHDR + SS_SUM_LEN)
			need(SS_ECORRUPT, "rec_at");
		off += SS_STREAM_RECHDR + ss_le32dec(p + off + 4) + SS_SUM_LEN;
		if (off > n)
			need(SS_ECORRUPT, "rec_at");
	}
	return off;
}

/* put_fixed(name, b): a fuzz_receive input with its checksums made right. */
static void
put_fixed(const char *name, struct ss_buf *b)
{
	fuzz_fixup_stream(b->p + 1, b->len - 1, 1);
	put_file("fuzz_receive", name, b->p, b->len);
}

/*
 * gen_regressions(seed): inputs that once found bugs in receive, made
 * again from ${seed} (FUZZ_RECV_BASE_PLAIN: BEGIN, DATASET without
 * properties, OBJECTs, SNAPSHOT, END) so that they follow the format.
 */
static void
gen_regressions(const struct ss_buf *seed)
{
	const uint8_t *s = seed->p + 1;
	size_t n = seed->len - 1, obj = rec_at(s, n, 2);
	size_t objlen = rec_at(s, n, 3) - obj, nprops = obj - SS_SUM_LEN - 4;
	struct ss_buf b = SS_BUF_INIT;

	/* a DATASET record announcing 1025 properties (at most 1024) */
	if (s[rec_at(s, n, 1)] != SS_REC_DATASET || s[obj] != SS_REC_OBJECT ||
	    ss_le32dec(s + nprops) != 0)
		need(SS_ECORRUPT, "gen_regressions: unexpected seed");
	need(ss_buf_put(&b, seed->p, seed->len), "grow");
	ss_le32enc(b.p + 1 + nprops, 1025);
	put_fixed("crash-recv-props-enomem", &b);
	/* the first OBJECT record again, under another identifier */
	ss_buf_reset(&b);
	need(ss_buf_put(&b, seed->p, 1 + obj), "grow");
	need(ss_buf_put(&b, s + obj, objlen), "grow");
	b.p[1 + obj + SS_STREAM_RECHDR] ^= 0xff;
	need(ss_buf_put(&b, s + obj, n - obj), "grow");
	put_fixed("crash-recv-orphan-object", &b);
	ss_buf_free(&b);
}

/* gen_sends(g): the seeds, each a send and the destination it fits. */
static void
gen_sends(struct gen_pool *g)
{
	const int w = SS_SEND_RAW, R = SS_SEND_REPLICATE;

	put_send(g, FUZZ_RECV_BASE_PLAIN, FUZZ_RD_NEW, "src/plain@a", NULL, 0);
	gen_regressions(&g->last);
	put_send(g, FUZZ_RECV_BASE_REPL, FUZZ_RD_NEW, "src/plain@b", NULL, R);
	put_send(g, "recv-incr-plain", FUZZ_RD_PLAIN, "src/plain@b", "@a", 0);
	put_send(g, "recv-incr-plain-force", FUZZ_RD_LATER | FUZZ_RECV_FORCE,
	    "src/plain@b", "@a", 0);
	put_send(g, "recv-repl-incr-plain", FUZZ_RD_PLAIN, "src/plain@b", "@a",
	    R);
	put_send(g, "recv-reseal-full", FUZZ_RD_UNDER_ENC, "src/plain@a", NULL,
	    0);
	put_send(g, "recv-reseal-incr", FUZZ_RD_SEALED, "src/plain@b", "@a", 0);
	put_send(g, FUZZ_RECV_BASE_RAW, FUZZ_RD_NEW, "src/enc@a", NULL, w | R);
	put_send(g, "recv-full-raw", FUZZ_RD_NEW, "src/enc@a", NULL, w);
	put_send(g, "recv-incr-raw", FUZZ_RD_RAW, "src/enc@b", "@a", w);
	put_send(g, "recv-repl-incr-raw", FUZZ_RD_RAW, "src/enc@b", "@a",
	    w | R);
	put_send(g, "recv-repl-raw", FUZZ_RD_UNDER_ENC, "src/enc@b", NULL,
	    w | R);
	/* decrypted sends of an encrypted dataset (its key is loaded) */
	put_send(g, "recv-decrypted-full", FUZZ_RD_NEW, "src/enc@a", NULL, 0);
	put_send(g, "recv-decrypted-reseal", FUZZ_RD_UNDER_ENC, "src/enc@b",
	    NULL, R);
}

static struct gen_pool gp;

/* gen_cleanup(): also when need() exits: no key, no directory left. */
static void
gen_cleanup(void)
{
	struct ss_ds ds;

	if (gp.p != NULL && ss_cat_ds_get(gp.p->cat, "src/enc", &ds) == 0) {
		(void)ss_key_unload(gp.p, &ds);
		ss_ds_clear(&ds);
	}
	ss_pool_close(gp.p);
	gp.p = NULL;
	if (gp.tmp != NULL)
		(void)ss_rm_rf(gp.tmp);
	free(gp.tmp);
	free(gp.live);
	gp.tmp = gp.live = NULL;
	ss_buf_free(&gp.last);
}

static void
gen_receive(void)
{
	char *home = NULL;

	atexit(gen_cleanup);
	if ((gp.tmp = fuzz_mkdtemp("gen")) == NULL ||
	    (home = ss_path_join(gp.tmp, "home")) == NULL ||
	    (gp.live = ss_path_join(gp.tmp, "live")) == NULL)
		need(SS_EIO, "temporary directory");
	setenv("SNAPSEAL_HOME", home, 1);
	free(home);
	need(ss_pool_create("src", NULL, gp.live, &gp.p), "pool create");
	gen_source(&gp);
	gen_sends(&gp);
	gen_cleanup();
	unsetenv("SNAPSEAL_HOME");
}

int
main(int argc, char **argv)
{
	struct ss_buf b = SS_BUF_INIT;

	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus OUTDIR\n");
		return 2;
	}
	outdir = argv[1];
	gen_dirs(&b);
	gen_objects(&b);
	gen_wrapped();
	gen_compressed();
	gen_streams();
	gen_receive();
	ss_buf_free(&b);
	return failed;
}
