/*
 * cmd_dataset.c: create, destroy, set, inherit.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int
cmd_create(int argc, char **argv)
{
	struct ss_kv *props;
	struct ss_pool *p = NULL;
	size_t n = 0;
	int c, parents = 0, r;

	if ((props = ss_calloc((size_t)argc, sizeof(*props))) == NULL)
		return fail("create", NULL, SS_ENOMEM);
	while ((c = getopt(argc, argv, "po:")) != -1) {
		if (c == 'p')
			parents = 1;
		else if (c == 'o' && parse_kv(optarg, &props[n]) == 0)
			n++;
		else {
			free(props);
			return usage("create");
		}
	}
	if (optind + 1 != argc) {
		free(props);
		return usage("create");
	}
	r = open_pool_for("create", argv[optind], 1, &p);
	if (r == 0 && (r = ss_ds_create(p, argv[optind], props, n, parents)))
		r = fail("create", argv[optind], r);
	ss_pool_close(p);
	free(props);
	return r;
}

static void
nicebytes(uint64_t n, char *out, size_t len)
{
	static const char units[] = "BKMGTPE";
	double d = (double)n;
	int i = 0;

	while (d >= 1024 && i < 6) {
		d /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(out, len, "%lluB", (unsigned long long)n);
	else
		snprintf(out, len, d < 10 ? "%.2f%c" : d < 100 ? "%.1f%c" :
		    "%.0f%c", d, units[i]);
}

struct dcb {
	int verbose, dry, exact;
};

static void
destroy_cb(void *arg, const char *name)
{
	const struct dcb *d = arg;

	if (!d->verbose)
		return;
	if (d->exact)
		printf("destroy\t%s\n", name);
	else
		printf("%s %s\n", d->dry ? "would destroy" : "will destroy",
		    name);
}

int
cmd_destroy(int argc, char **argv)
{
	struct dcb d = { 0, 0, 0 };
	struct ss_pool *p = NULL;
	uint64_t freed = 0;
	char *at, *name, buf[32];
	int c, flags = 0, r;

	while ((c = getopt(argc, argv, "nprRvf")) != -1) {
		switch (c) {
		case 'n': flags |= SS_DESTROY_DRYRUN; d.dry = 1; break;
		case 'p': d.exact = 1; d.verbose = 1; break;
		case 'r': case 'R': flags |= SS_DESTROY_RECURSIVE; break;
		case 'v': d.verbose = 1; break;
		case 'f': break;
		default: return usage("destroy");
		}
	}
	if (optind + 1 != argc)
		return usage("destroy");
	name = argv[optind];
	if ((r = open_pool_for("destroy", name, 1, &p)) != 0)
		return r;
	if ((at = strchr(name, '@')) != NULL) {
		*at = '\0';
		r = ss_snap_destroy(p, name, at + 1, flags, &freed, destroy_cb,
		    &d);
		*at = '@';
	} else if (strchr(name, '#'))
		r = ss_bookmark_destroy(p, name, flags, destroy_cb, &d);
	else
		r = ss_ds_destroy(p, name, flags, &freed, destroy_cb, &d);
	ss_pool_close(p);
	if (r != 0)
		return fail("destroy", name, r);
	if (d.verbose && d.exact)
		printf("reclaim\t%llu\n", (unsigned long long)freed);
	else if (d.verbose) {
		nicebytes(freed, buf, sizeof(buf));
		printf("%s %s\n", d.dry ? "would reclaim" : "will reclaim", buf);
	}
	return 0;
}

/*
 * set_all(p, name, kv, n): every property of one dataset in one
 * transaction, so that a bad value sets none of them.
 */
static int
set_all(struct ss_pool *p, const char *name, const struct ss_kv *kv,
    size_t n)
{
	struct ss_ds ds;
	int r;

	if ((r = ss_cat_begin(p->cat)) != 0)
		return r;
	if ((r = ss_cat_ds_get(p->cat, name, &ds)) == SS_ENOENT)
		r = ss_err(SS_ENOENT, "dataset does not exist");
	for (size_t k = 0; r == 0 && k < n; k++)
		r = ss_prop_set(p, &ds, kv[k].name, kv[k].value);
	if (r == 0)
		r = ss_cat_commit(p->cat);
	if (r != 0)
		ss_cat_rollback(p->cat);
	ss_ds_clear(&ds);
	return r;
}

int
cmd_set(int argc, char **argv)
{
	struct ss_pool *p = NULL;
	struct ss_kv *kv;
	int first_ds, r = 0;

	for (first_ds = 1; first_ds < argc && strchr(argv[first_ds], '=');)
		first_ds++;
	if (first_ds == 1 || first_ds == argc)
		return usage("set");
	if ((kv = ss_calloc((size_t)first_ds, sizeof(*kv))) == NULL)
		return fail("set", NULL, SS_ENOMEM);
	for (int k = 1; k < first_ds; k++)
		if (parse_kv(argv[k], &kv[k - 1]) != 0) {
			free(kv);
			return usage("set");
		}
	for (int i = first_ds; i < argc && r == 0; i++) {
		if ((r = open_pool_for("set property for", argv[i], 1, &p)))
			break;
		if ((r = set_all(p, argv[i], kv, (size_t)first_ds - 1)) != 0)
			r = fail("set property for", argv[i], r);
		ss_pool_close(p);
		p = NULL;
	}
	free(kv);
	return r;
}

int
cmd_inherit(int argc, char **argv)
{
	struct ss_pool *p = NULL;
	struct ss_ds *v = NULL;
	size_t n = 0;
	int c, recursive = 0, r = 0;

	while ((c = getopt(argc, argv, "rS")) != -1) {
		if (c == 'r')
			recursive = 1;
		else if (c != 'S')
			return usage("inherit");
	}
	if (optind + 2 > argc)
		return usage("inherit");
	const char *prop = argv[optind];
	for (int i = optind + 1; i < argc && r == 0; i++) {
		if ((r = open_pool_for("inherit", argv[i], 1, &p)) != 0)
			break;
		r = ss_cat_ds_list(p->cat, argv[i], &v, &n);
		if (r == 0 && (n == 0 || strcmp(v[0].name, argv[i])))
			r = ss_err(SS_ENOENT, "dataset does not exist");
		for (size_t k = 0; r == 0 && k < (recursive ? n : 1); k++)
			r = ss_prop_inherit(p, &v[k], prop);
		if (r != 0)
			r = fail("inherit", argv[i], r);
		ss_ds_list_free(v, n);
		v = NULL;
		n = 0;
		ss_pool_close(p);
		p = NULL;
	}
	return r;
}
