/*
 * fuzz_dir: ss_dir_decode on arbitrary bytes (the plaintext of a directory
 * object, docs/format.md 6.1).  An input is a u8 count k (at most 16), k
 * header references of 32 bytes (strictly ascending, else the input is
 * skipped), then the payload.  Properties checked when it accepts:
 *   - the encoding is canonical: re-encoded (version 2 with ss_dir_encode,
 *     version 1 with ss_ent_encode_v1) it gives back exactly the payload,
 *     and version 2's references come back the same (when the entries
 *     name every one: else ss_tree_load_dir refuses the object);
 *   - the re-encoding decodes to the same entries;
 *   - ss_dir_find finds every entry by name.
 * When it rejects, the result is a negative SS_E* code and ${d} is empty.
 */
#include <stdlib.h>
#include <string.h>

#include "tree/tree.h"
#include "tests/unit/entcmp.h"
#include "fuzz.h"

/* ent_eq(a, b): the same entry, content ID included. */
static int
ent_eq(const struct ss_ent *a, const struct ss_ent *b)
{
	return ent_fields_eq(a, b) &&
	    memcmp(a->cid.b, b->cid.b, SS_ID_LEN) == 0;
}

/*
 * reencode(d, version, out, &refs, &nrefs): the directory object ${d} as
 * ss_dir_decode reads it; *refs (malloc'd, version 2 only) its references.
 */
static int
reencode(const struct ss_dir *d, uint8_t version, struct ss_buf *out,
    struct ss_id **refs, size_t *nrefs)
{
	const struct ss_ent **v;
	int r = 0;

	*refs = NULL;
	*nrefs = 0;
	if (version == SS_DIR_VERSION_V1) {
		if ((r = ss_buf_put_u8(out, version)) != 0 ||
		    (r = ss_buf_put_u32(out, (uint32_t)d->n)) != 0)
			return r;
		for (size_t i = 0; i < d->n && r == 0; i++)
			r = ss_ent_encode_v1(&d->ents[i], out);
		return r;
	}
	if ((v = calloc(d->n + 1, sizeof(*v))) == NULL)
		return SS_ENOMEM;
	for (size_t i = 0; i < d->n; i++)
		v[i] = &d->ents[i];
	r = ss_dir_encode(v, d->n, out, refs, nrefs);
	free(v);
	return r;
}

static void
check_accepted(const uint8_t *data, size_t size, const uint8_t *hrefs,
    size_t nhrefs, const struct ss_dir *d)
{
	struct ss_buf b = SS_BUF_INIT;
	struct ss_id *refs = NULL;
	size_t nrefs = 0;
	struct ss_dir d2;
	int r;

	FUZZ_CHECK(reencode(d, data[0], &b, &refs, &nrefs) == 0);
	if (data[0] == SS_DIR_VERSION && (nrefs != nhrefs ||
	    (nrefs && memcmp(refs, hrefs, nrefs * SS_ID_LEN) != 0))) {
		/* a reference no entry names: refused after decoding */
		free(refs);
		ss_buf_free(&b);
		return;
	}
	FUZZ_CHECK(bytes_eq(b.p, b.len, data, size));
	memset(&d2, 0, sizeof(d2));
	r = ss_dir_decode(b.p, b.len, hrefs, nhrefs, &d2);
	FUZZ_CHECK(r == 0);
	FUZZ_CHECK(d2.n == d->n);
	for (size_t i = 0; i < d->n; i++) {
		const struct ss_ent *e = &d->ents[i];

		FUZZ_CHECK(ent_eq(e, &d2.ents[i]));
		FUZZ_CHECK(ss_dir_find(d, e->name, e->namelen) == e);
	}
	ss_dir_free(&d2);
	ss_buf_free(&b);
	free(refs);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *refs = data + 1;
	size_t k;
	struct ss_dir d;
	int r;

	if (size < 1 || (k = data[0]) > 16 || size - 1 < k * SS_ID_LEN)
		return 0;
	for (size_t i = 1; i < k; i++)
		if (memcmp(refs + (i - 1) * SS_ID_LEN, refs + i * SS_ID_LEN,
		    SS_ID_LEN) >= 0)
			return 0;	/* unsorted: no object's refs */
	data += 1 + k * SS_ID_LEN;
	size -= 1 + k * SS_ID_LEN;
	memset(&d, 0, sizeof(d));
	r = ss_dir_decode(data, size, refs, k, &d);
	if (r == 0)
		check_accepted(data, size, refs, k, &d);
	else
		FUZZ_CHECK(r < 0 && r >= SS_EWRONGKEY && d.n == 0 &&
		    d.ents == NULL);
	ss_dir_free(&d);
	return 0;
}
