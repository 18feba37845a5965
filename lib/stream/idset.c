/*
 * stream/idset.c: a set of 32-byte object identifiers.
 *
 * The IDs live in one dense array in insertion order; the hash table holds
 * 1-based indexes into it (0 = empty slot), open addressing with linear
 * probing, a power-of-two number of slots, grown (doubled) before it gets
 * more than half full.  Growing rehashes 4-byte slots only, and a set of
 * n IDs costs about 32n bytes plus 8n to 16n for the table, instead of
 * 66n to 132n for a table of 33-byte slots.
 *
 * The hash is the first 8 bytes of the ID (MAC or hash outputs, already
 * uniform), multiplied by a 64-bit odd constant so that the top bits used
 * as the slot depend on all 8 bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "stream/stream.h"

#define IDSET_IDLEN 32
#define IDSET_MINBITS 6		/* 64 slots */
#define IDSET_MAXCOUNT 0x7fffffffu	/* indexes fit in uint32_t */

struct ss_idset {
	uint8_t (*ids)[IDSET_IDLEN];	/* dense, ${count} used */
	size_t count, idcap;
	uint32_t *slot;			/* 1-based index into ids, 0 empty */
	unsigned bits;			/* 2^bits slots */
};

static size_t
idset_home(const uint8_t id[IDSET_IDLEN], unsigned bits)
{
	uint64_t h = ss_le64dec(id) * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> (64 - bits));
}

/* idset_find(s, id): the slot holding ${id}, or the empty slot for it. */
static size_t
idset_find(const struct ss_idset *s, const uint8_t id[IDSET_IDLEN])
{
	size_t mask = ((size_t)1 << s->bits) - 1;
	size_t i = idset_home(id, s->bits);

	while (s->slot[i] != 0 &&
	    memcmp(s->ids[s->slot[i] - 1], id, IDSET_IDLEN) != 0)
		i = (i + 1) & mask;
	return i;
}

/* idset_rehash(s, bits): a new table of 2^bits slots. */
static int
idset_rehash(struct ss_idset *s, unsigned bits)
{
	uint32_t *old = s->slot;

	if ((s->slot = ss_calloc((size_t)1 << bits, sizeof(*s->slot))) ==
	    NULL) {
		s->slot = old;
		return ss_err(SS_ENOMEM, "id set of %zu entries", s->count);
	}
	s->bits = bits;
	for (size_t k = 0; k < s->count; k++) {
		size_t i = idset_home(s->ids[k], bits);

		while (s->slot[i] != 0)		/* the IDs are distinct */
			i = (i + 1) & (((size_t)1 << bits) - 1);
		s->slot[i] = (uint32_t)(k + 1);
	}
	free(old);
	return 0;
}

struct ss_idset *
ss_idset_new(void)
{
	struct ss_idset *s;

	if ((s = ss_calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if (idset_rehash(s, IDSET_MINBITS) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

void
ss_idset_free(struct ss_idset *s)
{
	if (s == NULL)
		return;
	free(s->ids);
	free(s->slot);
	free(s);
}

/* idset_grow_ids(s): room for one more ID in the dense array. */
static int
idset_grow_ids(struct ss_idset *s)
{
	size_t cap = s->idcap < 32 ? 32 : s->idcap * 2;
	void *p;

	if (s->count < s->idcap)
		return 0;
	if ((p = ss_realloc(s->ids, cap * IDSET_IDLEN)) == NULL)
		return ss_err(SS_ENOMEM, "id set of %zu entries", cap);
	s->ids = p;
	s->idcap = cap;
	return 0;
}

int
ss_idset_add(struct ss_idset *s, const uint8_t id[32])
{
	size_t i;
	int r;

	i = idset_find(s, id);
	if (s->slot[i] != 0)
		return 0;
	if (s->count >= IDSET_MAXCOUNT)
		return ss_err(SS_ERANGE, "id set full");
	if ((r = idset_grow_ids(s)) != 0)
		return r;
	/* Keep the load at most one half after this insertion. */
	if (2 * (s->count + 1) > ((size_t)1 << s->bits)) {
		if ((r = idset_rehash(s, s->bits + 1)) != 0)
			return r;
		i = idset_find(s, id);
	}
	memcpy(s->ids[s->count], id, IDSET_IDLEN);
	s->slot[i] = (uint32_t)(++s->count);
	return 1;
}

int
ss_idset_has(const struct ss_idset *s, const uint8_t id[32])
{
	return s->slot[idset_find(s, id)] != 0;
}

size_t
ss_idset_count(const struct ss_idset *s)
{
	return s->count;
}
