/*
 * cmd_bookmark.c: bookmark (zfs-bookmark(8)).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int
cmd_bookmark(int argc, char **argv)
{
	struct ss_pool *p = NULL;
	const char *src, *bm;
	char *full = NULL;
	int r;

	if (getopt(argc, argv, "") != -1)
		return usage("bookmark");
	if (argc - optind < 1) {
		fprintf(stderr, "missing source argument\n");
		return usage("bookmark");
	}
	if (argc - optind < 2) {
		fprintf(stderr, "missing bookmark argument\n");
		return usage("bookmark");
	}
	if (argc - optind > 2) {
		fprintf(stderr, "too many arguments\n");
		return usage("bookmark");
	}
	src = argv[optind];
	bm = argv[optind + 1];
	if (strpbrk(src, "@#") == NULL) {
		fprintf(stderr, "invalid source name '%s': must contain a '@'"
		    " or '#'\n", src);
		return usage("bookmark");
	}
	if (strchr(bm, '#') == NULL) {
		fprintf(stderr, "invalid bookmark name '%s': must contain a"
		    " '#'\n", bm);
		return usage("bookmark");
	}
	if ((src[0] == '@' || src[0] == '#') && bm[0] == '#') {
		fprintf(stderr, "either source or bookmark must be specified"
		    " as full dataset paths\n");
		return usage("bookmark");
	}
	/* "#new" takes the source's dataset, in messages too */
	if (bm[0] == '#' && (full = ss_asprintf("%.*s%s",
	    (int)strcspn(src, "@#"), src, bm)) == NULL)
		return fail("create bookmark", bm, SS_ENOMEM);
	if ((r = open_pool_for("create bookmark", full ? full : bm, 1,
	    &p)) == 0) {
		if ((r = ss_bookmark(p, src, bm)) != 0)
			r = fail("create bookmark", full ? full : bm, r);
		ss_pool_close(p);
	}
	free(full);
	return r;
}
