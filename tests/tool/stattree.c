/*
 * stattree: lstat every entry of a tree with several threads, and nothing
 * else.  make bench times it on a cold cache as the floor of a snapshot with
 * no change: what the kernel and the disk take to stat the tree, before any
 * work of snapseal's own (docs/benchmarks.md, "Floors").
 *
 * Directories wait on a stack shared by the threads; each thread lists one
 * (getdents through readdir on its descriptor), lstat's each entry relative
 * to it and pushes the subdirectories.  It prints "ENTRIES DIRECTORIES",
 * the root not counted.  Symlinks are not followed; other filesystems are
 * entered (the bench corpus has none).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sstool.h"

#define MAX_THREADS 256

struct tree {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char **stack;		/* directories to list */
	size_t n, cap;
	size_t busy;		/* threads listing a directory */
	uint64_t entries, dirs;
	int failed;
};

/* push(t, path): (under mu) one more directory to list. */
static void
push(struct tree *t, char *path)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 1024;
		char **v = realloc(t->stack, cap * sizeof(*v));

		if (v == NULL) {
			st_err("out of memory");
			exit(ST_ERR);
		}
		t->stack = v;
		t->cap = cap;
	}
	t->stack[t->n++] = path;
	pthread_cond_signal(&t->cv);
}

/* list(t, path, &entries): stat the entries of ${path}; 0 or -1. */
static int
list(struct tree *t, const char *path, uint64_t *entries)
{
	struct dirent *e;
	struct stat st;
	DIR *d;
	int fd;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0 || (d = fdopendir(fd)) == NULL) {
		st_errno("%s", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((errno = 0, e = readdir(d)) != NULL) {
		const char *s = e->d_name;

		if (s[0] == '.' && (s[1] == 0 || (s[1] == '.' && s[2] == 0)))
			continue;
		if (fstatat(fd, s, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			st_errno("%s/%s", path, s);
			closedir(d);
			return -1;
		}
		(*entries)++;
		if (S_ISDIR(st.st_mode)) {
			char *sub = st_join(path, s);

			pthread_mutex_lock(&t->mu);
			t->dirs++;
			push(t, sub);
			pthread_mutex_unlock(&t->mu);
		}
	}
	if (errno != 0) {
		st_errno("%s", path);
		closedir(d);
		return -1;
	}
	closedir(d);
	return 0;
}

static void *
worker(void *arg)
{
	struct tree *t = arg;
	uint64_t entries = 0;
	char *path;
	int r;

	pthread_mutex_lock(&t->mu);
	for (;;) {
		while (t->n == 0 && t->busy > 0 && !t->failed)
			pthread_cond_wait(&t->cv, &t->mu);
		if (t->n == 0 || t->failed)
			break;
		path = t->stack[--t->n];
		t->busy++;
		pthread_mutex_unlock(&t->mu);
		r = list(t, path, &entries);
		free(path);
		pthread_mutex_lock(&t->mu);
		t->busy--;
		if (r != 0)
			t->failed = 1;
		if (r != 0 || (t->n == 0 && t->busy == 0))
			pthread_cond_broadcast(&t->cv);
	}
	t->entries += entries;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

int
st_cmd_stattree(int argc, char **argv)
{
	pthread_t th[MAX_THREADS];
	struct tree t;
	uint64_t n;
	int started = 0;

	if (argc != 3 || st_parse_u64(argv[2], 0, &n) != 0 || n < 1 ||
	    n > MAX_THREADS)
		return st_err("usage: stattree DIR THREADS (1 to %d)",
		    MAX_THREADS);
	memset(&t, 0, sizeof(t));
	pthread_mutex_init(&t.mu, NULL);
	pthread_cond_init(&t.cv, NULL);
	push(&t, st_xstrdup(argv[1]));
	for (uint64_t i = 0; i < n; i++) {
		if (pthread_create(&th[i], NULL, worker, &t) != 0)
			break;
		started++;
	}
	if (started == 0)
		return st_err("cannot start a thread");
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	for (size_t i = 0; i < t.n; i++)
		free(t.stack[i]);
	free(t.stack);
	pthread_mutex_destroy(&t.mu);
	pthread_cond_destroy(&t.cv);
	if (t.failed)
		return ST_ERR;
	printf("%llu %llu\n", (unsigned long long)t.entries,
	    (unsigned long long)t.dirs);
	return ST_OK;
}
