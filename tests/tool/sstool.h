/*
 * sstool: the test helper of snapseal (tests/README.md lists the commands).
 *
 * Test code: it uses libc and OpenSSL's EVP SHA-256 directly and nothing
 * of libsnapseal, so that a bug in the library cannot hide itself from the
 * tool that checks it.  Every output is deterministic.
 *
 * Exit codes of every command: 0 success, 1 a negative answer (grepall found
 * nothing), 2 usage or system error (message on stderr).
 */
#ifndef SSTOOL_H
#define SSTOOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#define ST_OK 0
#define ST_NO 1
#define ST_ERR 2

#define ST_BLOCK (1024 * 1024)	/* I/O block size */

/* ---------- sstool.c: errors, parsing, paths, escaping ---------- */

/* st_err(fmt, ...): print "sstool: msg" on stderr; returns ST_ERR. */
int st_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* st_errno(fmt, ...): as st_err, appending ": strerror(errno)". */
int st_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* st_xmalloc(n) / st_xstrdup(s): allocate or exit(ST_ERR). */
void *st_xmalloc(size_t n);
char *st_xstrdup(const char *s);

/* st_join(a, b): newly allocated "a/b", or "a" if ${b} is empty. */
char *st_join(const char *a, const char *b);

/*
 * st_parse_u64(s, suffix, out): a decimal (or 0x hex) number; with
 * ${suffix} non-zero, one of K, M, G, T (powers of 1024) may follow.
 * Returns 0, or -1 for anything else.
 */
int st_parse_u64(const char *s, int suffix, uint64_t *out);

/*
 * st_escape(f, p, n, extra): print ${n} bytes with every byte outside
 * 0x21..0x7e, every backslash and every byte of the string ${extra}
 * written as \xNN, so that names with spaces, newlines or invalid UTF-8
 * stay on one line and one field.
 */
void st_escape(FILE *f, const void *p, size_t n, const char *extra);

/* st_write_all(fd, p, n): 0 or -1 with errno set. */
int st_write_all(int fd, const void *p, size_t n);

/* ---------- rng.c: deterministic generators ---------- */

struct st_rng {
	uint64_t s[4];	/* xoshiro256** state, never all zero */
};

/* st_rng_seed(r, seed): seed from any string (its bytes are hashed). */
void st_rng_seed(struct st_rng *r, const char *seed);
/* st_rng_seed64(r, v): seed from a 64-bit value. */
void st_rng_seed64(struct st_rng *r, uint64_t v);
uint64_t st_rng_next(struct st_rng *r);
/* st_rng_below(r, n): uniform in [0, n), n > 0. */
uint64_t st_rng_below(struct st_rng *r, uint64_t n);
/* st_rng_word(r): a word from a fixed vocabulary of identifiers. */
const char *st_rng_word(struct st_rng *r);

/*
 * st_text_line(r, out, cap): write one source-like line (with its '\n')
 * into ${out}, which must hold at least ST_LINE_MAX bytes; returns its
 * length.  The same generator state gives the same line.
 */
#define ST_LINE_MAX 256
size_t st_text_line(struct st_rng *r, char *out);

/* ---------- walk.c: a whole tree, sorted ---------- */

struct st_entry {
	char *rel;		/* path relative to the root; "" is the root */
	struct stat st;		/* lstat */
	unsigned link;		/* hard-link group, 0 if none (st_tree_links) */
};

struct st_tree {
	char *root;
	struct st_entry *e;
	size_t n;
	size_t cap;
};

/*
 * st_tree_load(root, t): lstat ${root}, which must be a directory, and
 * everything below it without following symlinks; entries sorted by
 * relative path in byte order, the root first.  0, or ST_ERR with a
 * message printed.  st_tree_free(t) releases it (safe on a zeroed tree).
 */
int st_tree_load(const char *root, struct st_tree *t);
void st_tree_free(struct st_tree *t);

/*
 * st_tree_links(t): number the hard-link groups: inodes (not directories)
 * that appear at two or more paths of the tree get 1, 2, ... in the order
 * of their first path.  Returns 0, or ST_ERR.
 */
int st_tree_links(struct st_tree *t);

/* ---------- the commands ---------- */

int st_cmd_gen(int argc, char **argv);
int st_cmd_randfile(int argc, char **argv);
int st_cmd_digest(int argc, char **argv);
int st_cmd_flip(int argc, char **argv);
int st_cmd_grepall(int argc, char **argv);
int st_cmd_stattree(int argc, char **argv);	/* stattree.c */

#endif /* SSTOOL_H */
