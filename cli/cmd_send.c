/*
 * cmd_send.c: send and receive (zfs-send(8), zfs-receive(8)); this release
 * handles one dataset per stream, full or incremental (-i), raw (-w) for
 * encrypted datasets.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

int
cmd_send(int argc, char **argv)
{
	struct ss_send_stats st;
	struct ss_pool *p = NULL;
	const char *from = NULL;
	int c, flags = 0, verbose = 0, r;

	memset(&st, 0, sizeof(st));
	while ((c = getopt(argc, argv, "wRLeci:I:v")) != -1) {
		switch (c) {
		case 'w': flags |= SS_SEND_RAW; break;
		case 'R': flags |= SS_SEND_REPLICATE; break;
		case 'L': case 'e': case 'c': break;	/* implied by -w */
		case 'i': from = optarg; break;
		case 'I': from = optarg; flags |= SS_SEND_INTERMEDIATE; break;
		case 'v': verbose = 1; break;
		default: return usage("send");
		}
	}
	if (optind + 1 != argc)
		return usage("send");
	if (isatty(STDOUT_FILENO)) {
		fprintf(stderr, "Error: Stream can not be written to a terminal."
		    "\nYou must redirect standard output.\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((r = open_pool_for("send", argv[optind], 2, &p)) != 0)
		return r;
	r = ss_send(p, argv[optind], from, flags, STDOUT_FILENO, &st);
	ss_pool_close(p);
	if (r != 0)
		return fail("send", argv[optind], r);
	if (verbose)
		fprintf(stderr, "sent %llu objects (%llu bytes stored), stream"
		    " of %llu bytes\n", (unsigned long long)st.objects,
		    (unsigned long long)st.objbytes,
		    (unsigned long long)st.bytes);
	return 0;
}

int
cmd_receive(int argc, char **argv)
{
	struct ss_recv_stats st;
	struct ss_pool *p = NULL;
	int c, verbose = 0, r;

	memset(&st, 0, sizeof(st));
	while ((c = getopt(argc, argv, "vuFx:")) != -1) {
		switch (c) {
		case 'v': verbose = 1; break;
		case 'u': break;	/* nothing is mounted by receive */
		/*
		 * -F: a received dataset has no live directory that could
		 * have changed, so there is nothing to roll back when the
		 * base matches; a newer snapshot still refuses the stream.
		 */
		case 'F': break;
		/*
		 * -x PROP: streams carry no properties yet, so nothing is
		 * taken from them; a plain stream under an encrypted parent
		 * is always sealed with the parent's key (-x encryption).
		 */
		case 'x': break;
		default: return usage("receive");
		}
	}
	if (optind + 1 != argc)
		return usage("receive");
	if ((r = open_pool_for("receive", argv[optind], 1, &p)) != 0)
		return r;
	r = ss_receive(p, argv[optind], STDIN_FILENO, &st);
	ss_pool_close(p);
	if (r != 0)
		return fail("receive", argv[optind], r);
	if (verbose)
		fprintf(stderr, "received %llu objects (%llu already held),"
		    " stream of %llu bytes\n", (unsigned long long)st.objects,
		    (unsigned long long)st.skipped,
		    (unsigned long long)st.bytes);
	return 0;
}
