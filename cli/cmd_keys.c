/*
 * cmd_keys.c: load-key, unload-key, change-key (zfs-load-key(8)).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

struct keyop {
	int load;		/* 1 load, 0 unload */
	int dry;
	const char *location;
	int recursive, all;
	size_t tried, done;
};

/* roots(p, name, recursive, &v, &n): encryption roots to operate on. */
static int
key_one(struct ss_pool *p, struct ss_ds *ds, struct keyop *o, int quiet)
{
	int r;

	o->tried++;
	r = o->load ? ss_key_load(p, ds, o->location, o->dry) :
	    ss_key_unload(p, ds);
	if (r == 0) {
		o->done++;
		return 0;
	}
	if (quiet && (r == SS_EEXIST || r == SS_ENOKEY)) {
		/* -r/-a: already loaded/unloaded roots are not errors */
		o->tried--;
		return 0;
	}
	fprintf(stderr, "Key %s error: %s\n", o->load ? "load" : "unload",
	    ss_errmsg());
	return 1;
}

static int
key_tree(const char *name, struct keyop *o)
{
	struct ss_pool *p = NULL;
	struct ss_ds *v = NULL;
	size_t n = 0;
	int r, bad = 0;

	if ((r = open_pool_for(o->load ? "load key for" : "unload key for",
	    name, 0, &p)) != 0)
		return r;
	r = ss_cat_ds_list(p->cat, name, &v, &n);
	if (r == 0 && (n == 0 || strcmp(v[0].name, name)))
		r = ss_err(SS_ENOENT, "dataset does not exist");
	if (r != 0) {
		bad = fail(o->load ? "load key for" : "unload key for", name, r);
		goto out;
	}
	if (!o->recursive) {
		bad = key_one(p, &v[0], o, 0);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (v[i].encroot == v[i].id && key_one(p, &v[i], o, 1))
			bad = 1;
out:
	ss_ds_list_free(v, n);
	ss_pool_close(p);
	return bad;
}

static int
key_cmd(int argc, char **argv, int load)
{
	struct keyop o;
	char **pools = NULL;
	size_t np = 0;
	int c, bad = 0, r;

	memset(&o, 0, sizeof(o));
	o.load = load;
	while ((c = getopt(argc, argv, load ? "arnL:" : "ar")) != -1) {
		switch (c) {
		case 'a': o.all = 1; break;
		case 'r': o.recursive = 1; break;
		case 'n': o.dry = 1; break;
		case 'L': o.location = optarg; break;
		default: return usage(load ? "load-key" : "unload-key");
		}
	}
	if ((o.all && optind != argc) || (!o.all && optind + 1 != argc))
		return usage(load ? "load-key" : "unload-key");
	if ((o.all || o.recursive) && o.location &&
	    strcmp(o.location, "prompt")) {
		fprintf(stderr, "alternate keylocation may only be 'prompt'"
		    " with -r or -a\n");
		return EXIT_USAGE;
	}
	if (o.all) {
		o.recursive = 1;
		if ((r = ss_pool_names(&pools, &np)) != 0)
			return fail("list pools", NULL, r);
		for (size_t i = 0; i < np; i++)
			bad |= key_tree(pools[i], &o);
		ss_strv_free(pools, np);
	} else
		bad = key_tree(argv[optind], &o);
	if (o.all || o.recursive || o.dry)
		printf("%zu / %zu key(s) successfully %s\n", o.done, o.tried,
		    o.dry ? "verified" : load ? "loaded" : "unloaded");
	return bad || o.done != o.tried ? 1 : 0;
}

int
cmd_load_key(int argc, char **argv)
{
	return key_cmd(argc, argv, 1);
}

int
cmd_unload_key(int argc, char **argv)
{
	return key_cmd(argc, argv, 0);
}

int
cmd_change_key(int argc, char **argv)
{
	struct ss_kv props[8];
	struct ss_pool *p = NULL;
	struct ss_ds ds, root;
	size_t n = 0;
	int c, load = 0, r;

	while ((c = getopt(argc, argv, "lo:i")) != -1) {
		if (c == 'l')
			load = 1;
		else if (c == 'o' && n < 8 && parse_kv(optarg, &props[n]) == 0)
			n++;
		else if (c == 'i') {
			fprintf(stderr, "Key change error: 'change-key -i' is"
			    " not supported: datasets cannot share a parent's"
			    " key after creation\n");
			return 1;
		} else
			return usage("change-key");
	}
	if (optind + 1 != argc)
		return usage("change-key");
	if ((r = open_pool_for("change key of", argv[optind], 1, &p)) != 0)
		return r;
	if ((r = ss_cat_ds_get(p->cat, argv[optind], &ds)) != 0) {
		ss_pool_close(p);
		ss_err(r, "dataset does not exist");
		return fail("change key of", argv[optind], r);
	}
	if (load && ds.encroot && ss_ds_keystatus(p, &ds) != 1 &&
	    ss_cat_ds_get_id(p->cat, ds.encroot, &root) == 0) {
		r = ss_key_load(p, &root, NULL, 0);
		ss_ds_clear(&root);
	}
	if (r == 0)
		r = ss_key_change(p, &ds, props, n);
	ss_ds_clear(&ds);
	ss_pool_close(p);
	if (r != 0) {
		fprintf(stderr, "Key change error: %s\n", ss_errmsg());
		return 1;
	}
	return 0;
}
