/*
 * cmd_pool.c: snapseal pool create|list|destroy (zpool create, list,
 * destroy).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static void
nice(uint64_t n, int exact, char *out, size_t len)
{
	static const char units[] = "BKMGTPE";
	double d = (double)n;
	int i = 0;

	if (exact || n < 1024) {
		snprintf(out, len, exact ? "%llu" : "%lluB",
		    (unsigned long long)n);
		return;
	}
	while (d >= 1024 && i < 6) {
		d /= 1024;
		i++;
	}
	snprintf(out, len, d < 10 ? "%.2f%c" : d < 100 ? "%.1f%c" : "%.0f%c",
	    d, units[i]);
}

static int
pool_create(int argc, char **argv)
{
	const char *dir = NULL, *mp = NULL;
	struct ss_pool *p = NULL;
	int c, r;

	while ((c = getopt(argc, argv, "d:m:")) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'm':
			mp = optarg;
			break;
		default:
			return usage("pool");
		}
	}
	if (optind + 1 != argc)
		return usage("pool");
	if ((r = ss_pool_create(argv[optind], dir, mp, &p)) != 0)
		return fail("create pool", argv[optind], r);
	ss_pool_close(p);
	return 0;
}

static int
pool_row(struct table *t, const char *name, int exact)
{
	struct ss_pool *p = NULL;
	uint64_t size = 0, alloc = 0, avail = 0;
	char s[32], a[32], f[32], cap[16];
	const char *health = "ONLINE";
	int r;

	if ((r = ss_pool_open(name, 0, &p)) != 0)
		health = r == SS_ENOENT ? "UNAVAIL" : "FAULTED";
	else if (ss_pool_usage(p, &size, &alloc, &avail) != 0)
		health = "DEGRADED";
	nice(size, exact, s, sizeof(s));
	nice(alloc, exact, a, sizeof(a));
	nice(avail, exact, f, sizeof(f));
	snprintf(cap, sizeof(cap), "%llu%%", size ? (unsigned long long)
	    (alloc * 100 / size) : 0ULL);
	const char *row[] = { name, s, a, f, cap, health,
	    p ? p->dir : "-" };
	r = table_add(t, row);
	ss_pool_close(p);
	ss_errclear();
	return r;
}

static int
pool_list(int argc, char **argv)
{
	static const char *const hdr[] = { "NAME", "SIZE", "ALLOC", "FREE",
	    "CAP", "HEALTH", "DIRECTORY" };
	struct table *t;
	char **names = NULL;
	size_t n = 0;
	int c, scripted = 0, exact = 0, bad = 0, r;

	while ((c = getopt(argc, argv, "Hp")) != -1) {
		if (c == 'H')
			scripted = 1;
		else if (c == 'p')
			exact = 1;
		else
			return usage("pool");
	}
	if (optind == argc && (r = ss_pool_names(&names, &n)) != 0)
		return fail("list pools", NULL, r);
	if ((t = table_new(7, scripted)) == NULL)
		return fail("pool list", NULL, SS_ENOMEM);
	for (size_t i = 0; i < 7; i++)
		table_header(t, i, hdr[i], i >= 1 && i <= 4);
	if (optind < argc)
		for (int i = optind; i < argc; i++) {
			struct ss_pool *p = NULL;

			if ((r = ss_pool_open(argv[i], 0, &p)) == SS_ENOENT ||
			    r == SS_EINVAL) {
				ss_err(r, "no such pool");
				bad = fail("open", argv[i], r);
				continue;
			}
			ss_pool_close(p);
			pool_row(t, argv[i], exact);
		}
	else
		for (size_t i = 0; i < n; i++)
			pool_row(t, names[i], exact);
	if (optind == argc && n == 0)
		fprintf(stderr, "no pools available\n");
	else
		table_print(t);
	table_free(t);
	ss_strv_free(names, n);
	return bad;
}

static int
pool_destroy(int argc, char **argv)
{
	int c, force = 0, r;

	while ((c = getopt(argc, argv, "f")) != -1) {
		if (c == 'f')
			force = 1;
		else
			return usage("pool");
	}
	if (optind + 1 != argc)
		return usage("pool");
	if ((r = ss_pool_destroy(argv[optind], force)) != 0)
		return fail("destroy pool", argv[optind], r);
	return 0;
}

static void
scrub_cb(void *arg, const char *msg)
{
	(void)arg;
	printf("  %s\n", msg);
}

static int
pool_scrub(int argc, char **argv)
{
	struct ss_scrub_stats st;
	struct ss_pool *p = NULL;
	int r;

	if (argc != 2)
		return usage("pool");
	if ((r = ss_pool_open(argv[1], 0, &p)) != 0)
		return fail("scrub", argv[1], r);
	printf("  pool: %s\n  scan: verifying every object without a key\n",
	    argv[1]);
	fflush(stdout);
	r = ss_pool_scrub(p, &st, scrub_cb, NULL);
	ss_pool_close(p);
	if (r != 0)
		return fail("scrub", argv[1], r);
	printf("  scan: verified %llu objects (%llu bytes) and %llu"
	    " snapshots with %llu errors\n", (unsigned long long)st.objects,
	    (unsigned long long)st.bytes, (unsigned long long)st.snapshots,
	    (unsigned long long)st.errors);
	printf(" state: %s\n", st.errors ? "DEGRADED" : "ONLINE");
	return st.errors ? 1 : 0;
}

int
cmd_pool(int argc, char **argv)
{
	if (argc < 2)
		return usage("pool");
	if (!strcmp(argv[1], "create"))
		return pool_create(argc - 1, argv + 1);
	if (!strcmp(argv[1], "list"))
		return pool_list(argc - 1, argv + 1);
	if (!strcmp(argv[1], "destroy"))
		return pool_destroy(argc - 1, argv + 1);
	if (!strcmp(argv[1], "scrub"))
		return pool_scrub(argc - 1, argv + 1);
	fprintf(stderr, "unrecognized pool command '%s'\n", argv[1]);
	return usage("pool");
}
