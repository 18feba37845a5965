/*
 * dirtest.h: helpers shared by the tests of directory objects (test_tree.c
 * for what both versions share, test_dir2.c for version 2's own fields,
 * the file maps and remapping).  Each test program includes it once.
 */
#ifndef SS_TEST_DIRTEST_H
#define SS_TEST_DIRTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tree/rwrite.h"
#include "tree/tree.h"
#include "tests/unit/entcmp.h"
#include "tap.h"


/* mkent(name, type): a valid entry of ${type}, content kind to match. */
static struct ss_ent __attribute__((unused))
mkent(const char *name, uint8_t type)
{
	struct ss_ent e;

	memset(&e, 0, sizeof(e));
	e.name = name;
	e.namelen = strlen(name);
	e.type = type;
	e.mode = type == SS_FT_DIR ? 0755 : 0644;
	e.uid = 1000;
	e.gid = 100;
	e.mtime_sec = 1700000000 + (int64_t)e.namelen;
	e.mtime_nsec = 5;
	e.ctime_sec = 1700000001;
	e.ctime_nsec = 999999999;
	e.ino = 77;
	switch (type) {
	case SS_FT_REG:
		e.ckind = SS_CK_CHUNK;
		e.size = 10;
		break;
	case SS_FT_DIR:
		e.ckind = SS_CK_DIR;
		break;
	case SS_FT_LNK:
		e.target = "target";
		e.targetlen = 6;
		break;
	case SS_FT_CHR:
	case SS_FT_BLK:
		e.rdev = 0x0801;
		break;
	}
	if (e.ckind != SS_CK_NONE) {
		memset(e.cid.b, 0xc0 | type, SS_ID_LEN);
		e.subtree = 4096;
	}
	return e;
}

/* The version the shared tests write, and the header references of the
 * last version 2 object written (what its decode is given). */
static uint8_t g_ver = SS_DIR_VERSION;
static struct ss_buf g_refs = SS_BUF_INIT;

/* enc_dir_v(version, count, v, n, b): a version 1 object, count as given. */
static void __attribute__((unused))
enc_dir_v(uint8_t version, uint32_t count, const struct ss_ent *v, size_t n,
    struct ss_buf *b)
{
	int r = 0;

	ss_buf_reset(b);
	r |= ss_buf_put_u8(b, version);
	r |= ss_buf_put_u32(b, count);
	for (size_t i = 0; i < n; i++)
		r |= ss_ent_encode_v1(&v[i], b);
	if (r != 0) {
		printf("Bail out! cannot encode a directory\n");
		exit(1);
	}
}

/* enc_dir(v, n, b): the object of ${v} in version g_ver. */
static void __attribute__((unused))
enc_dir(const struct ss_ent *v, size_t n, struct ss_buf *b)
{
	const struct ss_ent **pv = calloc(n + 1, sizeof(*pv));
	struct ss_id *refs = NULL;
	size_t nrefs = 0;

	if (g_ver == SS_DIR_VERSION_V1) {
		enc_dir_v(SS_DIR_VERSION_V1, (uint32_t)n, v, n, b);
		free(pv);
		return;
	}
	for (size_t i = 0; pv != NULL && i < n; i++)
		pv[i] = &v[i];
	ss_buf_reset(b);
	ss_buf_reset(&g_refs);
	if (pv == NULL || ss_dir_encode(pv, n, b, &refs, &nrefs) != 0 ||
	    ss_buf_put(&g_refs, refs, nrefs * SS_ID_LEN) != 0) {
		printf("Bail out! cannot encode a directory\n");
		exit(1);
	}
	free(refs);
	free(pv);
}

/*
 * refs_used(d): every header reference is named by an entry, as
 * ss_tree_load_dir checks after decoding (else the object is refused).
 */
static int __attribute__((unused))
refs_used(const struct ss_dir *d)
{
	struct ss_id *ids = calloc(d->n + 1, sizeof(*ids));
	size_t n = 0;
	int good;

	if (g_ver == SS_DIR_VERSION_V1 || ids == NULL) {
		free(ids);
		return 1;
	}
	for (size_t i = 0; i < d->n; i++)
		if (ss_ck_has_id(d->ents[i].ckind))
			ids[n++] = d->ents[i].cid;
	n = ss_ids_sort_unique(ids, n);
	good = n * SS_ID_LEN == g_refs.len &&
	    (n == 0 || memcmp(ids, g_refs.p, g_refs.len) == 0);
	free(ids);
	return good;
}

/*
 * struct dec: a decoded directory over a private, exactly sized copy of the
 * bytes (the entries point into it).
 */
struct dec {
	uint8_t *copy;
	struct ss_dir d;
	int r;
};

static void __attribute__((unused))
dec_open(struct dec *x, const uint8_t *p, size_t n)
{
	memset(x, 0, sizeof(*x));
	if ((x->copy = malloc(n > 0 ? n : 1)) == NULL) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
	if (n > 0)
		memcpy(x->copy, p, n);
	x->r = ss_dir_decode(x->copy, n, g_refs.p, g_refs.len / SS_ID_LEN,
	    &x->d);
	/* A rejected object leaves no entries behind. */
	if (x->r != 0 && (x->d.n != 0 || x->d.ents != NULL)) {
		printf("#   rejected decode left %zu entries\n", x->d.n);
		x->r = 1;
	}
}

static void __attribute__((unused))
dec_close(struct dec *x)
{
	ss_dir_free(&x->d);
	free(x->copy);
	x->copy = NULL;
}

/* decode_rc(p, n): ss_dir_decode's result (1: broke the failure contract). */
static int __attribute__((unused))
decode_rc(const uint8_t *p, size_t n)
{
	struct dec x;
	int r;

	dec_open(&x, p, n);
	r = x.r;
	dec_close(&x);
	return r;
}

/*
 * ent_eq(a, b): the same entry; the content ID counts only where the
 * content kind has one (${a} must hold zeros where it has not).
 */
static int __attribute__((unused))
ent_eq(const struct ss_ent *a, const struct ss_ent *b)
{
	static const struct ss_id zero;

	return ent_fields_eq(a, b) &&
	    memcmp(a->cid.b, ss_ck_has_id(a->ckind) ? b->cid.b : zero.b,
	    SS_ID_LEN) == 0;
}

/* roundtrip(v, n): decodes to exactly ${v}, and re-encodes to the bytes. */
static int __attribute__((unused))
roundtrip(const struct ss_ent *v, size_t n)
{
	struct ss_buf b = SS_BUF_INIT, b2 = SS_BUF_INIT;
	struct dec x;
	int good;

	enc_dir(v, n, &b);
	dec_open(&x, b.p, b.len);
	good = x.r == 0 && x.d.n == n;
	for (size_t i = 0; good && i < n; i++)
		good = ent_eq(&v[i], &x.d.ents[i]);
	if (good) {
		enc_dir(x.d.ents, x.d.n, &b2);
		good = bytes_eq(b.p, b.len, b2.p, b2.len);
	}
	if (!good)
		printf("#   decode: %d %s\n", x.r, ss_errmsg());
	dec_close(&x);
	ss_buf_free(&b);
	ss_buf_free(&b2);
	return good;
}

/* reject(v, n): the encoded directory is refused as corrupt. */
static int __attribute__((unused))
reject(const struct ss_ent *v, size_t n)
{
	struct ss_buf b = SS_BUF_INIT;
	int r;

	enc_dir(v, n, &b);
	r = decode_rc(b.p, b.len);
	ss_buf_free(&b);
	if (r != SS_ECORRUPT)
		printf("#   decode returned %d, want SS_ECORRUPT\n", r);
	return r == SS_ECORRUPT;
}

/* reject_mid(e): ${e} between two valid entries is refused (no leak). */
static int __attribute__((unused))
reject_mid(struct ss_ent e)
{
	struct ss_ent v[3];

	v[0] = mkent("", SS_FT_REG);
	v[0].name = "\x01";
	v[0].namelen = 1;
	v[1] = e;
	v[2] = mkent("\xff\xff", SS_FT_FIFO);
	return reject(v, 3) && reject(&e, 1);
}

#endif /* SS_TEST_DIRTEST_H */
