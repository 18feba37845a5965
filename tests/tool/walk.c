/*
 * walk: load a whole tree (lstat of every entry, no symlink followed),
 * sort it by relative path, number its hard-link groups.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sstool.h"

static void
push(struct st_tree *t, char *rel, const struct stat *st)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 256;
		struct st_entry *e = realloc(t->e, cap * sizeof(*e));

		if (e == NULL) {
			st_err("out of memory");
			exit(ST_ERR);
		}
		t->e = e;
		t->cap = cap;
	}
	t->e[t->n].rel = rel;
	t->e[t->n].st = *st;
	t->e[t->n].link = 0;
	t->n++;
}

/* walk_dir(t, rel): add the entries of directory ${rel}, recursively. */
static int
walk_dir(struct st_tree *t, const char *rel)
{
	char *dpath = st_join(t->root, rel);
	DIR *d = opendir(dpath);
	struct dirent *de;
	int r = 0;

	if (d == NULL) {
		r = st_errno("opendir %s", dpath);
		goto out;
	}
	for (;;) {
		struct stat st;
		char *crel, *cpath;

		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		crel = *rel ? st_join(rel, de->d_name) : st_xstrdup(de->d_name);
		cpath = st_join(t->root, crel);
		if (lstat(cpath, &st) != 0) {
			r = st_errno("lstat %s", cpath);
			free(cpath);
			free(crel);
			goto out;
		}
		free(cpath);
		push(t, crel, &st);
		if (S_ISDIR(st.st_mode) && (r = walk_dir(t, crel)) != 0)
			goto out;
	}
	if (errno != 0)
		r = st_errno("readdir %s", dpath);
out:
	if (d != NULL)
		closedir(d);
	free(dpath);
	return r;
}

static int
cmp_rel(const void *a, const void *b)
{
	const struct st_entry *x = a, *y = b;

	return strcmp(x->rel, y->rel);
}

int
st_tree_load(const char *root, struct st_tree *t)
{
	struct stat st;

	memset(t, 0, sizeof(*t));
	t->root = st_xstrdup(root);
	if (stat(root, &st) != 0)
		return st_errno("stat %s", root);
	if (!S_ISDIR(st.st_mode))
		return st_err("%s: not a directory", root);
	push(t, st_xstrdup(""), &st);
	if (walk_dir(t, "") != 0)
		return ST_ERR;
	qsort(t->e, t->n, sizeof(t->e[0]), cmp_rel);
	return 0;
}

void
st_tree_free(struct st_tree *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->e[i].rel);
	free(t->e);
	free(t->root);
	memset(t, 0, sizeof(*t));
}

static int
cmp_inode(const void *a, const void *b)
{
	const struct st_entry *x = *(struct st_entry *const *)a;
	const struct st_entry *y = *(struct st_entry *const *)b;

	if (x->st.st_dev != y->st.st_dev)
		return x->st.st_dev < y->st.st_dev ? -1 : 1;
	if (x->st.st_ino != y->st.st_ino)
		return x->st.st_ino < y->st.st_ino ? -1 : 1;
	return x < y ? -1 : x > y;	/* path order: the array is sorted */
}

int
st_tree_links(struct st_tree *t)
{
	struct st_entry **v = st_xmalloc((t->n ? t->n : 1) * sizeof(*v));
	size_t *leader = st_xmalloc((t->n ? t->n : 1) * sizeof(*leader));
	size_t nv = 0;
	unsigned next = 0;

	/* Group paths by inode; each member points at the group's first path. */
	for (size_t i = 0; i < t->n; i++) {
		leader[i] = SIZE_MAX;
		if (!S_ISDIR(t->e[i].st.st_mode) && t->e[i].st.st_nlink > 1)
			v[nv++] = &t->e[i];
	}
	qsort(v, nv, sizeof(*v), cmp_inode);
	for (size_t i = 0; i < nv;) {
		size_t j = i + 1;

		while (j < nv && v[j]->st.st_dev == v[i]->st.st_dev &&
		    v[j]->st.st_ino == v[i]->st.st_ino)
			j++;
		for (size_t k = i; j - i > 1 && k < j; k++)
			leader[v[k] - t->e] = (size_t)(v[i] - t->e);
		i = j;
	}
	/* Number the groups in the order of their first path. */
	for (size_t i = 0; i < t->n; i++) {
		if (leader[i] == i)
			t->e[i].link = ++next;
		else if (leader[i] != SIZE_MAX)
			t->e[i].link = t->e[leader[i]].link;
	}
	free(leader);
	free(v);
	return 0;
}
