/*
 * cli.h: shared declarations of the snapseal command line.
 * Exit codes (snapseal(8)): 0 success, 1 an operation failed, 2 usage.
 */
#ifndef SS_CLI_H
#define SS_CLI_H

#include <stddef.h>

#include "pool/pool.h"

#define EXIT_USAGE 2

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
};

/* Commands (cmd_*.c). */
int cmd_pool(int argc, char **argv);
int cmd_create(int argc, char **argv);
int cmd_destroy(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_set(int argc, char **argv);
int cmd_inherit(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_rollback(int argc, char **argv);
int cmd_bookmark(int argc, char **argv);
int cmd_load_key(int argc, char **argv);
int cmd_unload_key(int argc, char **argv);
int cmd_change_key(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_receive(int argc, char **argv);

/* usage(cmd): print the usage of ${cmd} on stderr, return EXIT_USAGE. */
int usage(const char *cmd);

/*
 * fail(verb, name, r): print "cannot VERB 'NAME': DETAIL" (or "VERB: DETAIL"
 * when name is NULL) and return 1.  DETAIL is ss_errmsg() or the generic
 * text of ${r}.
 */
int fail(const char *verb, const char *name, int r);

/* warn_cb: pool warning callback printing "warning: MSG" on stderr. */
void warn_cb(void *arg, const char *msg);

/*
 * open_pool_for(name, write, &p): open the pool that ${name} (a dataset,
 * snapshot or bookmark name) lives in; prints the error itself.  write: 0
 * shared lock, 1 exclusive, 2 no lock (send), 3 exclusive taken later with
 * ss_pool_lock (receive, once its stream begins).
 */
int open_pool_for(const char *verb, const char *name, int write,
    struct ss_pool **p);

/* parse_kv(s, &kv): split "prop=value" in place.  0 or -1. */
int parse_kv(char *s, struct ss_kv *kv);

/* getopt reset for a subcommand. */
void opt_reset(void);

/* Output tables (table.c). */
struct table;
struct table *table_new(size_t ncols, int scripted);
void table_header(struct table *t, size_t col, const char *h, int right);
int table_add(struct table *t, const char *const *cells);
void table_print(struct table *t);
void table_free(struct table *t);

#endif /* SS_CLI_H */
