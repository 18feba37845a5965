/*
 * fuzz_dir: ss_dir_decode on arbitrary bytes (the plaintext of a directory
 * object, docs/format.md 6.1).  Properties checked when it accepts:
 *   - the encoding is canonical: the version, the count and every entry
 *     re-encoded with ss_ent_encode give back exactly the input;
 *   - the re-encoding decodes to the same entries;
 *   - ss_dir_find finds every entry by name.
 * When it rejects, the result is a negative SS_E* code and ${d} is empty.
 */
#include <string.h>

#include "tree/tree.h"
#include "fuzz.h"

static int
bytes_eq(const void *a, size_t an, const void *b, size_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static int
ent_eq(const struct ss_ent *a, const struct ss_ent *b)
{
	return bytes_eq(a->name, a->namelen, b->name, b->namelen) &&
	    a->type == b->type && a->ckind == b->ckind &&
	    a->mode == b->mode && a->uid == b->uid && a->gid == b->gid &&
	    a->mtime_sec == b->mtime_sec && a->mtime_nsec == b->mtime_nsec &&
	    a->ctime_sec == b->ctime_sec && a->ctime_nsec == b->ctime_nsec &&
	    a->ino == b->ino && a->size == b->size &&
	    a->hlgroup == b->hlgroup && a->rdev == b->rdev &&
	    a->subtree == b->subtree &&
	    memcmp(a->cid.b, b->cid.b, SS_ID_LEN) == 0 &&
	    bytes_eq(a->target, a->targetlen, b->target, b->targetlen) &&
	    bytes_eq(a->xattrs, a->xattrslen, b->xattrs, b->xattrslen);
}

/* reencode(d, out): the directory object ${d} as ss_dir_decode reads it. */
static int
reencode(const struct ss_dir *d, struct ss_buf *out)
{
	int r;

	if ((r = ss_buf_put_u8(out, SS_DIR_VERSION)) != 0 ||
	    (r = ss_buf_put_u32(out, (uint32_t)d->n)) != 0)
		return r;
	for (size_t i = 0; i < d->n; i++)
		if ((r = ss_ent_encode(&d->ents[i], out)) != 0)
			return r;
	return 0;
}

static void
check_accepted(const uint8_t *data, size_t size, const struct ss_dir *d)
{
	struct ss_buf b = SS_BUF_INIT;
	struct ss_dir d2;
	int r;

	FUZZ_CHECK(reencode(d, &b) == 0);
	FUZZ_CHECK(bytes_eq(b.p, b.len, data, size));
	memset(&d2, 0, sizeof(d2));
	r = ss_dir_decode(b.p, b.len, &d2);
	FUZZ_CHECK(r == 0);
	FUZZ_CHECK(d2.n == d->n);
	for (size_t i = 0; i < d->n; i++) {
		const struct ss_ent *e = &d->ents[i];

		FUZZ_CHECK(ent_eq(e, &d2.ents[i]));
		FUZZ_CHECK(ss_dir_find(d, e->name, e->namelen) == e);
	}
	ss_dir_free(&d2);
	ss_buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ss_dir d;
	int r;

	memset(&d, 0, sizeof(d));
	r = ss_dir_decode(data, size, &d);
	if (r == 0)
		check_accepted(data, size, &d);
	else
		FUZZ_CHECK(r < 0 && r >= SS_EWRONGKEY && d.n == 0 &&
		    d.ents == NULL);
	ss_dir_free(&d);
	return 0;
}
