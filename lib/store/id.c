/*
 * store/id.c: helpers for object identifiers (ordering, sets, hex).
 */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

int
ss_id_cmp(const struct ss_id *a, const struct ss_id *b)
{
	return memcmp(a->b, b->b, SS_ID_LEN);
}

static int
id_qsort_cmp(const void *a, const void *b)
{
	return ss_id_cmp(a, b);
}

/*
 * ss_ids_sort_unique(ids, n): sort ${ids} in memcmp order and drop
 * duplicates in place; return the number of distinct IDs left at the front.
 */
size_t
ss_ids_sort_unique(struct ss_id *ids, size_t n)
{
	size_t i, k;

	if (n < 2)
		return n;
	qsort(ids, n, sizeof(ids[0]), id_qsort_cmp);
	for (i = 1, k = 1; i < n; i++) {
		if (ss_id_cmp(&ids[k - 1], &ids[i]) != 0)
			ids[k++] = ids[i];
	}
	return k;
}

void
ss_id_hex(const struct ss_id *id, char out[2 * SS_ID_LEN + 1])
{
	ss_hex_encode(id->b, SS_ID_LEN, out);
}
