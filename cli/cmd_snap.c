/*
 * cmd_snap.c: snapshot, restore, rollback.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* load_if_needed(p, name): -l: load the key of ${name}'s root if needed. */
static int
load_if_needed(struct ss_pool *p, const char *name)
{
	struct ss_obj_ref o;
	struct ss_ds root;
	int r;

	if ((r = ss_resolve(p, name, &o)) != 0)
		return r;
	if (o.ds.encroot != 0 && ss_ds_keystatus(p, &o.ds) != 1) {
		if ((r = ss_cat_ds_get_id(p->cat, o.ds.encroot, &root)) == 0) {
			r = ss_key_load(p, &root, NULL, 0);
			ss_ds_clear(&root);
		}
	}
	ss_obj_ref_clear(&o);
	return r;
}

int
cmd_snapshot(int argc, char **argv)
{
	struct ss_pool *p = NULL;
	struct ss_snap_stats st;
	int c, recursive = 0, load = 0, verbose = 0, r;

	memset(&st, 0, sizeof(st));
	while ((c = getopt(argc, argv, "rlv")) != -1) {
		if (c == 'r')
			recursive = 1;
		else if (c == 'l')
			load = 1;
		else if (c == 'v')
			verbose = 1;
		else
			return usage("snapshot");
	}
	if (optind >= argc)
		return usage("snapshot");
	for (int i = optind + 1; i < argc; i++) {
		char a[256], b[256];

		if (ss_name_pool(argv[i], a, sizeof(a)) != 0 ||
		    ss_name_pool(argv[optind], b, sizeof(b)) != 0 ||
		    strcmp(a, b)) {
			fprintf(stderr, "cannot create snapshots: all snapshots"
			    " must be in the same pool\n");
			return 1;
		}
	}
	if ((r = open_pool_for("create snapshot", argv[optind], 1, &p)) != 0)
		return r;
	for (int i = optind; load && i < argc; i++) {
		char *at = strchr(argv[i], '@');

		if (at == NULL)
			continue;
		*at = '\0';
		r = load_if_needed(p, argv[i]);
		*at = '@';
		if (r != 0) {
			ss_pool_close(p);
			return fail("create snapshot", argv[i], r);
		}
	}
	r = ss_snapshot(p, (const char *const *)argv + optind,
	    (size_t)(argc - optind), recursive, &st);
	ss_pool_close(p);
	if (r != 0)
		return fail("create snapshot", argc - optind == 1 ?
		    argv[optind] : NULL, r);
	if (verbose)
		printf("%llu files (%llu unchanged, %llu racy), %llu"
		    " directories; %llu bytes read, %llu bytes new in %llu"
		    " objects\n", (unsigned long long)st.files,
		    (unsigned long long)st.skipped_unchanged,
		    (unsigned long long)st.racy, (unsigned long long)st.dirs,
		    (unsigned long long)st.bytes_read,
		    (unsigned long long)st.bytes_new,
		    (unsigned long long)st.objects_new);
	return 0;
}

static void
restore_cb(void *arg, const char *path)
{
	(void)arg;
	printf("%s\n", path);
}

int
cmd_restore(int argc, char **argv)
{
	struct ss_pool *p = NULL;
	int c, flags = 0, load = 0, r;

	while ((c = getopt(argc, argv, "vl")) != -1) {
		if (c == 'v')
			flags |= SS_RESTORE_VERBOSE;
		else if (c == 'l')
			load = 1;
		else
			return usage("restore");
	}
	if (argc - optind < 2)
		return usage("restore");
	if ((r = open_pool_for("restore", argv[optind], load, &p)) != 0)
		return r;
	if (load && (r = load_if_needed(p, argv[optind])) != 0) {
		ss_pool_close(p);
		return fail("restore", argv[optind], r);
	}
	r = ss_restore(p, argv[optind], argv[optind + 1],
	    (const char *const *)argv + optind + 2, (size_t)(argc - optind - 2),
	    flags, restore_cb, NULL);
	ss_pool_close(p);
	return r ? fail("restore", argv[optind], r) : 0;
}

static void
rollback_cb(void *arg, const char *name)
{
	(void)arg;
	(void)name;
}

int
cmd_rollback(int argc, char **argv)
{
	struct ss_pool *p = NULL;
	int c, recursive = 0, load = 0, r;

	while ((c = getopt(argc, argv, "rRfl")) != -1) {
		if (c == 'r' || c == 'R')
			recursive = 1;
		else if (c == 'l')
			load = 1;
		else if (c != 'f')
			return usage("rollback");
	}
	if (argc - optind != 1)
		return usage("rollback");
	if ((r = open_pool_for("rollback to", argv[optind], 1, &p)) != 0)
		return r;
	if (load && (r = load_if_needed(p, argv[optind])) != 0) {
		ss_pool_close(p);
		return fail("rollback to", argv[optind], r);
	}
	r = ss_rollback(p, argv[optind], recursive, rollback_cb, NULL);
	ss_pool_close(p);
	return r ? fail("rollback to", argv[optind], r) : 0;
}
