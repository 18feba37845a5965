/*
 * main.c: snapseal's command dispatcher.  Verbs, flags and output follow
 * zfs(8); see docs/man/snapseal.8.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const struct cmd cmds[] = {
	{ "pool", cmd_pool,
	    "pool create [-d DIR] [-m MOUNTPOINT] NAME\n"
	    "\tpool list [-H] [-p] [NAME]...\n"
	    "\tpool destroy [-f] NAME\n"
	    "\tpool scrub NAME" },
	{ "create", cmd_create,
	    "create [-p] [-o property=value]... FILESYSTEM" },
	{ "destroy", cmd_destroy,
	    "destroy [-nprRv] FILESYSTEM\n"
	    "\tdestroy [-nrRv] FILESYSTEM@SNAP[%SNAP][,SNAP[%SNAP]]...\n"
	    "\tdestroy [-nv] FILESYSTEM#BOOKMARK" },
	{ "snapshot", cmd_snapshot,
	    "snapshot [-rlv] FILESYSTEM@SNAPNAME..." },
	{ "rollback", cmd_rollback, "rollback [-rl] SNAPSHOT" },
	{ "bookmark", cmd_bookmark, "bookmark SNAPSHOT|BOOKMARK BOOKMARK" },
	{ "restore", cmd_restore,
	    "restore [-v] [-l] SNAPSHOT TARGET_DIR [PATH]..." },
	{ "list", cmd_list,
	    "list [-H] [-p] [-r|-d DEPTH] [-o PROPERTY[,...]] "
	    "[-s PROPERTY]... [-S PROPERTY]...\n"
	    "\t    [-t TYPE[,...]] [FILESYSTEM|SNAPSHOT|BOOKMARK]..." },
	{ "get", cmd_get,
	    "get [-rHp] [-d DEPTH] [-o FIELD[,...]] [-t TYPE[,...]] "
	    "[-s SOURCE[,...]]\n"
	    "\t    all|PROPERTY[,...] [FILESYSTEM|SNAPSHOT|BOOKMARK]..." },
	{ "set", cmd_set, "set PROPERTY=VALUE... FILESYSTEM..." },
	{ "inherit", cmd_inherit, "inherit [-r] PROPERTY FILESYSTEM..." },
	{ "send", cmd_send, "send [-RwpcnvP] [-i|-I SNAPSHOT|BOOKMARK]"
	    " SNAPSHOT\n       send [-wnvPc] -t RECEIVE_RESUME_TOKEN" },
	{ "receive", cmd_receive, "receive [-Fnsuv] [-x PROPERTY]..."
	    " [-o PROPERTY=VALUE]... FILESYSTEM\n       receive -A FILESYSTEM" },
	{ "load-key", cmd_load_key,
	    "load-key [-rn] [-L KEYLOCATION] -a|FILESYSTEM" },
	{ "unload-key", cmd_unload_key, "unload-key [-r] -a|FILESYSTEM" },
	{ "change-key", cmd_change_key,
	    "change-key [-l] [-o keylocation=VALUE] [-o keyformat=VALUE]\n"
	    "\t    [-o pbkdf2iters=VALUE] FILESYSTEM" },
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

int
usage(const char *cmd)
{
	for (size_t i = 0; i < NCMDS; i++)
		if (cmd == NULL || !strcmp(cmds[i].name, cmd)) {
			if (cmd)
				fprintf(stderr, "usage:\n");
			fprintf(stderr, "\t%s\n", cmds[i].usage);
		}
	return EXIT_USAGE;
}

static int
main_usage(FILE *f)
{
	fprintf(f, "usage: snapseal command args ...\n"
	    "where 'command' is one of the following:\n\n");
	for (size_t i = 0; i < NCMDS; i++)
		fprintf(f, "\t%s\n", cmds[i].usage);
	fprintf(f, "\nEach dataset is of the form: pool/[dataset/]*dataset"
	    "[@name|#name]\n");
	return f == stdout ? 0 : EXIT_USAGE;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		return main_usage(stderr);
	if (!strcmp(argv[1], "-?") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))
		return main_usage(stdout);
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("snapseal %s\n", SNAPSEAL_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "recv"))
		argv[1] = "receive";
	if (!strcmp(argv[1], "snap"))
		argv[1] = "snapshot";
	for (size_t i = 0; i < NCMDS; i++)
		if (!strcmp(cmds[i].name, argv[1])) {
			opt_reset();
			return cmds[i].fn(argc - 1, argv + 1);
		}
	fprintf(stderr, "unrecognized command '%s'\n", argv[1]);
	return main_usage(stderr);
}
