/*
 * cmd_list.c: list and get, with zfs list/get's columns, sources, sorting,
 * -H (tab-separated, no header) and -p (exact numbers).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define T_FS 1
#define T_SNAP 2
#define T_BM 4

/* One object that list/get print, in output order. */
struct item {
	struct ss_pool *pool;	/* borrowed */
	struct ss_obj_ref ref;
	char *name;
};

struct items {
	struct item *v;
	size_t n, cap;
};

static int
items_add(struct items *it, struct ss_pool *p, const struct ss_ds *ds,
    const struct ss_snap *s)
{
	struct item *x;

	if (ss_grow(&it->v, &it->cap, it->n, sizeof(*it->v)) != 0)
		return SS_ENOMEM;
	x = &it->v[it->n];
	memset(x, 0, sizeof(*x));
	x->pool = p;
	x->ref.ds = *ds;
	x->ref.ds.name = ss_strdup(ds->name);
	if (s) {
		x->ref.kind = s->kind;
		x->ref.snap = *s;
		x->ref.snap.name = ss_strdup(s->name);
		x->name = ss_asprintf("%s%c%s", ds->name,
		    s->kind == SS_SNAP ? '@' : '#', s->name);
	} else
		x->name = ss_strdup(ds->name);
	if (x->name == NULL || x->ref.ds.name == NULL)
		return SS_ENOMEM;
	it->n++;
	return 0;
}

static void
items_free(struct items *it)
{
	for (size_t i = 0; i < it->n; i++) {
		ss_obj_ref_clear(&it->v[i].ref);
		free(it->v[i].name);
	}
	free(it->v);
}

static int
parse_types(const char *s, int *types)
{
	char *dup = ss_strdup(s), *tok, *save = NULL;

	*types = 0;
	for (tok = strtok_r(dup, ",", &save); tok;
	    tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "filesystem") || !strcmp(tok, "fs"))
			*types |= T_FS;
		else if (!strcmp(tok, "snapshot") || !strcmp(tok, "snap"))
			*types |= T_SNAP;
		else if (!strcmp(tok, "bookmark"))
			*types |= T_BM;
		else if (!strcmp(tok, "all"))
			*types |= T_FS | T_SNAP | T_BM;
		else {
			fprintf(stderr, "invalid type '%s'\n", tok);
			free(dup);
			return -1;
		}
	}
	free(dup);
	return 0;
}

/*
 * collect(p, root, depth, types, it): the dataset named ${root} (or a
 * snapshot) and, to ${depth} levels (-1: all), its descendants, each
 * followed by its snapshots and bookmarks when ${types} asks for them.
 */
static int
collect(struct ss_pool *p, const char *root, int depth, int types,
    struct items *it)
{
	struct ss_ds *v = NULL;
	size_t n = 0, base;
	int r;

	if (strpbrk(root, "@#")) {
		struct ss_obj_ref o;

		if ((r = ss_resolve(p, root, &o)) != 0)
			return r;
		r = items_add(it, p, &o.ds, &o.snap);
		ss_obj_ref_clear(&o);
		return r;
	}
	if ((r = ss_cat_ds_list(p->cat, root, &v, &n)) != 0)
		return r;
	if (n == 0 || strcmp(v[0].name, root)) {
		ss_ds_list_free(v, n);
		return ss_err(SS_ENOENT, "dataset does not exist");
	}
	base = 0;
	for (const char *c = root; *c; c++)
		base += *c == '/';
	for (size_t i = 0; i < n && r == 0; i++) {
		size_t lvl = 0;
		struct ss_snap *s = NULL;
		size_t ns = 0;

		for (const char *c = v[i].name; *c; c++)
			lvl += *c == '/';
		if (depth >= 0 && lvl - base > (size_t)depth)
			continue;
		if ((types & T_FS) && (r = items_add(it, p, &v[i], NULL)))
			break;
		/* a dataset's own snapshots count one level deeper */
		if (!(types & (T_SNAP | T_BM)) ||
		    (depth >= 0 && lvl - base + 1 > (size_t)depth))
			continue;
		int kind = (types & T_SNAP) && (types & T_BM) ? 0 :
		    (types & T_SNAP) ? SS_SNAP : SS_BOOKMARK;
		if ((r = ss_cat_snap_list(p->cat, v[i].id, kind, &s, &ns)))
			break;
		for (size_t k = 0; k < ns && r == 0; k++)
			r = items_add(it, p, &v[i], &s[k]);
		ss_snap_list_free(s, ns);
	}
	ss_ds_list_free(v, n);
	return r;
}

/* pools_for(argc, argv, ...): open each pool named by the arguments once. */
struct pools {
	struct ss_pool *v[64];
	size_t n;
};

static struct ss_pool *
pool_get(struct pools *ps, const char *name)
{
	char pn[256];
	struct ss_pool *p;
	int r;

	if ((r = ss_name_pool(name, pn, sizeof(pn))) != 0)
		return NULL;
	for (size_t i = 0; i < ps->n; i++)
		if (!strcmp(ps->v[i]->name, pn))
			return ps->v[i];
	if (ps->n == 64)
		return NULL;
	if ((r = ss_pool_open(pn, 0, &p)) != 0) {
		if (r == SS_ENOENT)
			ss_err(r, "dataset does not exist");
		return NULL;
	}
	p->warn = warn_cb;
	ps->v[ps->n++] = p;
	return p;
}

static void
pools_close(struct pools *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		ss_pool_close(ps->v[i]);
}

/*
 * gather(verb, names, n, recursive, depth, types, ps, it): what list or get
 * operates on; with no names, every dataset of every pool.  Prints errors
 * for names that do not resolve and returns 1 if any did not.
 */
static int
gather(const char *verb, char **names, int n, int depth, int types,
    struct pools *ps, struct items *it)
{
	char **all = NULL;
	size_t nall = 0;
	int r, bad = 0;

	if (n == 0) {
		if ((r = ss_pool_names(&all, &nall)) != 0)
			return fail(verb, NULL, r);
		names = all;
		n = (int)nall;
		depth = -1;
	}
	for (int i = 0; i < n; i++) {
		struct ss_pool *p = pool_get(ps, names[i]);

		if (p == NULL) {
			bad = fail(verb, names[i], SS_ENOENT);
			continue;
		}
		if ((r = ss_name_check(names[i], SS_NAME_DS | SS_NAME_SNAP |
		    SS_NAME_BOOKMARK)) != 0 ||
		    (r = collect(p, names[i], depth, types, it)) != 0)
			bad = fail(verb, names[i], r);
	}
	ss_strv_free(all, nall);
	return bad;
}

/* ---------- columns ---------- */

static const char *
canon(const char *col)
{
	static const struct { const char *alias, *name; } a[] = {
		{ "avail", "available" }, { "refer", "referenced" },
		{ "ratio", "compressratio" }, { "compress", "compression" },
		{ "encroot", "encryptionroot" }, { "lrefer",
		"logicalreferenced" },
	};

	for (size_t i = 0; i < sizeof(a) / sizeof(a[0]); i++)
		if (!strcmp(a[i].alias, col))
			return a[i].name;
	return col;
}

static void
upper(const char *s, char *out, size_t len)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < len; i++)
		out[i] = (char)((s[i] >= 'a' && s[i] <= 'z') ? s[i] - 32 : s[i]);
	out[i] = '\0';
}

static int
split_list(char *s, char ***v, size_t *n)
{
	char *tok, *save = NULL;

	*v = NULL;
	*n = 0;
	for (tok = strtok_r(s, ",", &save); tok;
	    tok = strtok_r(NULL, ",", &save)) {
		char **nv = ss_realloc(*v, (*n + 1) * sizeof(*nv));

		if (nv == NULL)
			return -1;
		*v = nv;
		(*v)[(*n)++] = tok;
	}
	return 0;
}

static int
check_col(const char *c)
{
	if (!strcmp(c, "name") || ss_prop_find(c) || ss_prop_is_user(c))
		return 0;
	fprintf(stderr, "invalid property '%s'\n", c);
	return -1;
}

/* cell(it, col, exact, out): the value of one column for one item. */
static int
cell(struct item *it, const char *col, int exact, char *out, size_t len)
{
	struct ss_propval v;
	int r;

	if (!strcmp(col, "name")) {
		snprintf(out, len, "%s", it->name);
		return 0;
	}
	if ((r = ss_prop_get(it->pool, &it->ref, col, &v)) != 0)
		return r;
	/* zfs list shows "-" for what does not apply; snapshots have no
	 * mountpoint or available space */
	snprintf(out, len, "%s", exact ? v.exact : v.value);
	return 0;
}

/* ---------- sorting ---------- */

struct sortkey {
	const char *col;
	int desc;
};

static struct sortkey g_keys[16];
static size_t g_nkeys;
static char ***g_cells;
static size_t *g_keycol;

static int
numeric(const char *s, double *d)
{
	char *end;

	*d = strtod(s, &end);
	return *s && *end == '\0';
}

static int
cmp_rows(const void *a, const void *b)
{
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;

	for (size_t k = 0; k < g_nkeys; k++) {
		const char *x = g_cells[ia][g_keycol[k]];
		const char *y = g_cells[ib][g_keycol[k]];
		double dx, dy;
		int c;

		if (numeric(x, &dx) && numeric(y, &dy))
			c = dx < dy ? -1 : dx > dy;
		else
			c = strcmp(x, y);
		if (c)
			return g_keys[k].desc ? -c : c;
	}
	return ia < ib ? -1 : ia > ib;
}

/* ---------- list ---------- */

struct listopts {
	int scripted, exact, depth, types;
	char *cols;
};

static int
print_list(struct items *it, char **cols, size_t ncols,
    const struct listopts *o)
{
	struct table *t = table_new(ncols, o->scripted);
	char ***cells = ss_calloc(it->n + 1, sizeof(*cells));
	char buf[SS_PROPVAL_MAX];
	size_t *order = ss_calloc(it->n + 1, sizeof(*order));
	size_t keycol[16];
	int r = 0;

	if (!t || !cells || !order)
		return fail("list", NULL, SS_ENOMEM);
	for (size_t c = 0; c < ncols; c++) {
		const struct ss_propdef *d = ss_prop_find(cols[c]);

		upper(d ? d->header : cols[c], buf, sizeof(buf));
		table_header(t, c, buf, d && (d->flags & SS_PF_NUMBER) &&
		    strcmp(cols[c], "guid") && strcmp(cols[c], "createtxg"));
	}
	for (size_t i = 0; i < it->n && r == 0; i++) {
		cells[i] = ss_calloc(ncols + g_nkeys, sizeof(char *));
		order[i] = i;
		for (size_t c = 0; cells[i] && c < ncols + g_nkeys; c++) {
			const char *col = c < ncols ? cols[c] :
			    g_keys[c - ncols].col;

			if ((r = cell(&it->v[i], col, o->exact ||
			    c >= ncols, buf, sizeof(buf))) != 0) {
				r = fail("list", it->v[i].name, r);
				break;
			}
			cells[i][c] = ss_strdup(buf);
		}
	}
	for (size_t k = 0; k < g_nkeys; k++)
		keycol[k] = ncols + k;
	g_cells = cells;
	g_keycol = keycol;
	if (r == 0 && g_nkeys)
		qsort(order, it->n, sizeof(*order), cmp_rows);
	for (size_t i = 0; r == 0 && i < it->n; i++)
		table_add(t, (const char *const *)cells[order[i]]);
	if (r == 0)
		table_print(t);
	for (size_t i = 0; i < it->n; i++) {
		for (size_t c = 0; cells[i] && c < ncols + g_nkeys; c++)
			free(cells[i][c]);
		free(cells[i]);
	}
	free(cells);
	free(order);
	table_free(t);
	return r;
}

int
cmd_list(int argc, char **argv)
{
	struct listopts o = { 0, 0, 0, 0, NULL };
	char dflt[] = "name,used,available,referenced,mountpoint";
	struct pools ps = { { NULL }, 0 };
	struct items it = { NULL, 0, 0 };
	char **cols = NULL;
	size_t ncols = 0;
	int c, recursive = 0, r;

	g_nkeys = 0;
	while ((c = getopt(argc, argv, "Hpro:d:t:s:S:")) != -1) {
		switch (c) {
		case 'H': o.scripted = 1; break;
		case 'p': o.exact = 1; break;
		case 'r': recursive = 1; break;
		case 'o': o.cols = optarg; break;
		case 'd': o.depth = atoi(optarg); recursive = 2; break;
		case 't':
			if (parse_types(optarg, &o.types) != 0)
				return usage("list");
			break;
		case 's': case 'S':
			if (g_nkeys == 16 || check_col(canon(optarg)))
				return usage("list");
			g_keys[g_nkeys].col = canon(optarg);
			g_keys[g_nkeys++].desc = c == 'S';
			break;
		default:
			return usage("list");
		}
	}
	if (o.types == 0)
		o.types = T_FS;
	if (split_list(o.cols ? o.cols : dflt, &cols, &ncols) != 0)
		return fail("list", NULL, SS_ENOMEM);
	for (size_t i = 0; i < ncols; i++)
		if (check_col(cols[i] = (char *)canon(cols[i])) != 0) {
			free(cols);
			return usage("list");
		}
	/* "list -t snapshot DS" lists DS's snapshots: depth 1 (zfs). */
	int depth = recursive == 1 ? -1 : recursive == 2 ? o.depth :
	    !(o.types & T_FS) ? 1 : 0;
	r = gather("open", argv + optind, argc - optind, depth, o.types, &ps,
	    &it);
	if (it.n == 0 && r == 0)
		fprintf(stderr, "no datasets available\n");
	else if (it.n > 0 && print_list(&it, cols, ncols, &o) != 0)
		r = 1;
	items_free(&it);
	pools_close(&ps);
	free(cols);
	return r;
}

/* ---------- get ---------- */

static const char *
source_text(const struct ss_propval *v, char *buf, size_t len)
{
	switch (v->source) {
	case SS_SOURCE_DEFAULT: return "default";
	case SS_SOURCE_LOCAL: return "local";
	case SS_SOURCE_RECEIVED: return "received";
	case SS_SOURCE_INHERITED:
		snprintf(buf, len, "inherited from %s", v->from);
		return buf;
	default: return "-";
	}
}

static int
source_wanted(int mask, int source)
{
	if (mask == 0)
		return 1;
	return (mask >> source) & 1;
}

static int
parse_sources(char *s, int *mask)
{
	static const char *const names[] = { "none", "default", "local",
	    "inherited", "received" };
	char *tok, *save = NULL;

	*mask = 0;
	for (tok = strtok_r(s, ",", &save); tok;
	    tok = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < 5 && strcmp(names[i], tok); i++)
			;
		if (i == 5) {
			fprintf(stderr, "invalid source '%s'\n", tok);
			return -1;
		}
		*mask |= 1 << i;
	}
	return 0;
}

/*
 * props_of(x, req, nreq, &v, &n, &user, &nu): property names to print for
 * one item; for "all", the applicable native ones then the user ones
 * (${user} owns those strings; free with ss_strv_free).
 */
static int
props_of(struct item *x, char **req, size_t nreq, char ***out, size_t *n,
    char ***user, size_t *nu)
{
	const struct ss_propdef *tab;
	char **v;
	size_t nt, k = 0;
	int all = nreq == 1 && !strcmp(req[0], "all");

	*user = NULL;
	*nu = 0;
	if (!all) {
		*out = req;
		*n = nreq;
		return 0;
	}
	tab = ss_prop_table(&nt);
	if (ss_prop_user_names(x->pool, &x->ref, user, nu) != 0)
		return SS_ENOMEM;
	if ((v = ss_calloc(nt + *nu + 1, sizeof(*v))) == NULL)
		return SS_ENOMEM;
	for (size_t i = 0; i < nt; i++) {
		struct ss_propval pv;

		if (tab[i].flags & SS_PF_HIDDEN)
			continue;
		if (ss_prop_get(x->pool, &x->ref, tab[i].name, &pv) != 0 ||
		    !pv.applies)
			continue;
		v[k++] = (char *)tab[i].name;
	}
	for (size_t i = 0; i < *nu; i++)
		v[k++] = (*user)[i];
	*out = v;
	*n = k;
	return 0;
}

static int
get_rows(struct item *x, char **req, size_t nreq, int exact, int smask,
    char **fields, size_t nf, struct table *t)
{
	char **props = NULL, **user = NULL, srcbuf[600];
	size_t np, nu = 0;
	int r;

	if ((r = props_of(x, req, nreq, &props, &np, &user, &nu)) != 0) {
		ss_strv_free(user, nu);
		return fail("get", x->name, r);
	}
	for (size_t i = 0; i < np; i++) {
		struct ss_propval v;
		const char *cells[5];

		if ((r = ss_prop_get(x->pool, &x->ref, props[i], &v)) != 0) {
			r = fail("get", x->name, r);
			break;
		}
		if (!source_wanted(smask, v.source))
			continue;
		for (size_t f = 0; f < nf; f++) {
			const char *fn = fields[f];

			cells[f] = !strcmp(fn, "name") ? x->name :
			    !strcmp(fn, "property") ? props[i] :
			    !strcmp(fn, "value") ? (exact ? v.exact : v.value) :
			    !strcmp(fn, "source") ? source_text(&v, srcbuf,
			    sizeof(srcbuf)) : "-";
		}
		table_add(t, cells);
	}
	if (props != req)
		free(props);
	ss_strv_free(user, nu);
	return r;
}

static int
check_fields(char **f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(f[i], "name") && strcmp(f[i], "property") &&
		    strcmp(f[i], "value") && strcmp(f[i], "source") &&
		    strcmp(f[i], "received")) {
			fprintf(stderr, "invalid column name '%s'\n", f[i]);
			return -1;
		}
	return 0;
}

static int
check_req(char **req, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		req[i] = (char *)canon(req[i]);
		if (strcmp(req[i], "all") && check_col(req[i]) != 0)
			return -1;
	}
	return 0;
}

int
cmd_get(int argc, char **argv)
{
	char dflt[] = "name,property,value,source", *fl = NULL, *sl = NULL;
	struct pools ps = { { NULL }, 0 };
	struct items it = { NULL, 0, 0 };
	char **fields = NULL, **req = NULL;
	size_t nf = 0, nreq = 0;
	int c, scripted = 0, exact = 0, depth = 0, types = T_FS | T_SNAP |
	    T_BM, smask = 0, r;
	struct table *t = NULL;

	while ((c = getopt(argc, argv, "Hprd:o:s:t:")) != -1) {
		switch (c) {
		case 'H': scripted = 1; break;
		case 'p': exact = 1; break;
		case 'r': depth = -1; break;
		case 'd': depth = atoi(optarg); break;
		case 'o': fl = optarg; break;
		case 's': sl = optarg; break;
		case 't':
			if (parse_types(optarg, &types) != 0)
				return usage("get");
			break;
		default:
			return usage("get");
		}
	}
	if (optind >= argc)
		return usage("get");
	if (split_list(fl ? fl : dflt, &fields, &nf) != 0 || nf > 5 ||
	    split_list(argv[optind], &req, &nreq) != 0 ||
	    (sl && parse_sources(sl, &smask) != 0) ||
	    check_fields(fields, nf) != 0 || check_req(req, nreq) != 0) {
		free(fields);
		free(req);
		return usage("get");
	}
	r = gather("open", argv + optind + 1, argc - optind - 1, depth,
	    types, &ps, &it);
	if ((t = table_new(nf, scripted)) == NULL)
		return fail("get", NULL, SS_ENOMEM);
	for (size_t f = 0; f < nf; f++) {
		char h[32];

		upper(fields[f], h, sizeof(h));
		table_header(t, f, h, 0);
	}
	for (size_t i = 0; i < it.n; i++)
		if (get_rows(&it.v[i], req, nreq, exact, smask, fields, nf,
		    t) != 0)
			r = 1;
	table_print(t);
	table_free(t);
	items_free(&it);
	pools_close(&ps);
	free(fields);
	free(req);
	return r;
}
