/*
 * util.c: error printing, pool opening and output tables for the CLI.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

void
opt_reset(void)
{
	optind = 0;
	opterr = 1;
}

int
fail(const char *verb, const char *name, int r)
{
	const char *d = ss_errmsg();

	if (d == NULL || *d == '\0')
		d = ss_strerror(r);
	if (name)
		fprintf(stderr, "cannot %s '%s': %s\n", verb, name, d);
	else
		fprintf(stderr, "%s: %s\n", verb, d);
	return 1;
}

void
warn_cb(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "warning: %s\n", msg);
}

int
open_pool_for(const char *verb, const char *name, int write,
    struct ss_pool **p)
{
	char pool[256];
	int r;

	*p = NULL;
	if ((r = ss_name_pool(name, pool, sizeof(pool))) != 0)
		return fail(verb, name, r);
	if ((r = ss_pool_open(pool, write == 1 ? SS_POOL_WRITE :
	    write == 2 ? SS_POOL_NOLOCK : write == 3 ? SS_POOL_WRITE |
	    SS_POOL_NOLOCK : 0, p)) != 0) {
		if (r == SS_ENOENT)
			ss_err(r, "dataset does not exist");
		return fail(verb, name, r);
	}
	(*p)->warn = warn_cb;
	return 0;
}

int
parse_kv(char *s, struct ss_kv *kv)
{
	char *eq = strchr(s, '=');

	if (eq == NULL || eq == s) {
		fprintf(stderr, "missing '=' for property=value argument"
		    " '%s'\n", s);
		return -1;
	}
	*eq = '\0';
	kv->name = s;
	kv->value = eq + 1;
	return 0;
}

/* ---------- tables ---------- */

struct table {
	size_t ncols;
	int scripted;
	char **hdr;
	int *right;
	size_t *width;
	char ***rows;
	size_t nrows, cap;
};

struct table *
table_new(size_t ncols, int scripted)
{
	struct table *t = ss_calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->ncols = ncols;
	t->scripted = scripted;
	t->hdr = ss_calloc(ncols, sizeof(*t->hdr));
	t->right = ss_calloc(ncols, sizeof(*t->right));
	t->width = ss_calloc(ncols, sizeof(*t->width));
	if (!t->hdr || !t->right || !t->width) {
		table_free(t);
		return NULL;
	}
	return t;
}

void
table_header(struct table *t, size_t col, const char *h, int right)
{
	free(t->hdr[col]);
	t->hdr[col] = ss_strdup(h);
	t->right[col] = right;
	if (strlen(h) > t->width[col])
		t->width[col] = strlen(h);
}

int
table_add(struct table *t, const char *const *cells)
{
	char **row;

	if (ss_grow(&t->rows, &t->cap, t->nrows, sizeof(*t->rows)) != 0)
		return SS_ENOMEM;
	if ((row = ss_calloc(t->ncols, sizeof(*row))) == NULL)
		return SS_ENOMEM;
	for (size_t i = 0; i < t->ncols; i++) {
		row[i] = ss_strdup(cells[i] ? cells[i] : "-");
		if (row[i] && strlen(row[i]) > t->width[i])
			t->width[i] = strlen(row[i]);
	}
	t->rows[t->nrows++] = row;
	return 0;
}

static void
print_row(const struct table *t, char *const *cells)
{
	for (size_t i = 0; i < t->ncols; i++) {
		const char *c = cells[i] ? cells[i] : "-";
		int last = i + 1 == t->ncols;

		if (t->scripted)
			printf("%s%s", c, last ? "" : "\t");
		else if (t->right[i])
			printf("%*s%s", (int)t->width[i], c, last ? "" : "  ");
		else if (last)
			printf("%s", c);
		else
			printf("%-*s  ", (int)t->width[i], c);
	}
	printf("\n");
}

void
table_print(struct table *t)
{
	if (t->nrows == 0)
		return;
	if (!t->scripted)
		print_row(t, t->hdr);
	for (size_t i = 0; i < t->nrows; i++)
		print_row(t, t->rows[i]);
	fflush(stdout);
}

void
table_free(struct table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nrows; i++) {
		for (size_t j = 0; j < t->ncols; j++)
			free(t->rows[i][j]);
		free(t->rows[i]);
	}
	for (size_t j = 0; t->hdr && j < t->ncols; j++)
		free(t->hdr[j]);
	free(t->rows);
	free(t->hdr);
	free(t->right);
	free(t->width);
	free(t);
}
