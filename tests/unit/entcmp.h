/*
 * entcmp.h: comparing decoded directory entries, for the unit tests of
 * directory objects (dirtest.h) and the fuzz_dir harness; each compares
 * the content IDs by its own rule.
 */
#ifndef SS_TEST_ENTCMP_H
#define SS_TEST_ENTCMP_H

#include <string.h>

#include "tree/tree.h"

static int __attribute__((unused))
bytes_eq(const void *a, size_t an, const void *b, size_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/* ent_fields_eq(a, b): every field but the content ID is the same. */
static int __attribute__((unused))
ent_fields_eq(const struct ss_ent *a, const struct ss_ent *b)
{
	return bytes_eq(a->name, a->namelen, b->name, b->namelen) &&
	    a->type == b->type && a->ckind == b->ckind &&
	    a->mode == b->mode && a->uid == b->uid && a->gid == b->gid &&
	    a->mtime_sec == b->mtime_sec && a->mtime_nsec == b->mtime_nsec &&
	    a->ctime_sec == b->ctime_sec && a->ctime_nsec == b->ctime_nsec &&
	    a->ino == b->ino && a->size == b->size &&
	    a->hlgroup == b->hlgroup && a->rdev == b->rdev &&
	    a->subtree == b->subtree &&
	    (a->ckind != SS_CK_INLINE ||
	    bytes_eq(a->data, a->size, b->data, b->size)) &&
	    bytes_eq(a->target, a->targetlen, b->target, b->targetlen) &&
	    bytes_eq(a->xattrs, a->xattrslen, b->xattrs, b->xattrslen);
}

#endif
