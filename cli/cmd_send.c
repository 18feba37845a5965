/*
 * cmd_send.c: send and receive (zfs-send(8), zfs-receive(8)).
 */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cli/cli.h"

#define STREAM_PIPE_SIZE (1 << 20)

/*
 * grow_pipe(fd): a stream through a pipe moves in pipe-sized steps, each a
 * switch between the two processes: ask for 1 MiB rather than the default
 * 64 KiB (the most an unprivileged process gets by default).  Failing is
 * harmless: the stream is the same, only slower.
 */
static void
grow_pipe(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
		(void)fcntl(fd, F_SETPIPE_SZ, STREAM_PIPE_SIZE);
}

/* Progress and estimates on stderr, as zfs send -v / -P print them. */
struct progress {
	int parsable, verbose, dry, quiet;
	time_t last;
	uint64_t total;
};

static void
print_size(const struct progress *pg, const char *what, uint64_t n)
{
	char nice[32];

	ss_nicenum(n, nice, sizeof(nice));
	if (pg->parsable)
		fprintf(stderr, "%s\t%llu\n", what, (unsigned long long)n);
	else
		fprintf(stderr, "%s estimated size is %s\n", what, nice);
}

static void
on_event(void *arg, const struct ss_send_event *ev)
{
	struct progress *pg = arg;
	char nice[32], when[16];
	time_t now;

	if (pg->quiet)
		return;
	if (pg->dry && ev->what == SS_SEV_SNAP) {
		pg->total += ev->bytes;
		if (pg->parsable && ev->from)
			fprintf(stderr, "incremental\t%s\t%s\t%llu\n",
			    ev->from + 1, ev->snap,
			    (unsigned long long)ev->bytes);
		else if (pg->parsable)
			fprintf(stderr, "full\t%s\t%llu\n", ev->snap,
			    (unsigned long long)ev->bytes);
		else {
			ss_nicenum(ev->bytes, nice, sizeof(nice));
			if (ev->from)
				fprintf(stderr, "send from %s to %s estimated"
				    " size is %s\n", ev->from, ev->snap, nice);
			else
				fprintf(stderr, "full send of %s estimated size"
				    " is %s\n", ev->snap, nice);
		}
		return;
	}
	if (pg->dry || ev->what != SS_SEV_PROGRESS || (now = time(NULL)) ==
	    pg->last)
		return;
	if (pg->last == 0 && !pg->parsable)
		fprintf(stderr, "TIME        SENT   SNAPSHOT %s\n", ev->snap);
	pg->last = now;
	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
	if (pg->parsable)
		fprintf(stderr, "%s\t%llu\t%s\n", when,
		    (unsigned long long)ev->bytes, ev->snap);
	else {
		ss_nicenum(ev->bytes, nice, sizeof(nice));
		fprintf(stderr, "%s   %-6s %s\n", when, nice, ev->snap);
	}
}

/* estimate(p, name, o, pg): the -n / -v estimate lines. */
static int
estimate(struct ss_pool *p, const char *name, const struct ss_send_opts *o,
    struct progress *pg)
{
	struct ss_send_opts d = *o;
	struct ss_send_stats st;
	int r;

	d.flags |= SS_SEND_DRYRUN;
	d.cb = on_event;
	d.arg = pg;
	pg->dry = 1;
	pg->total = 0;
	if ((r = ss_send(p, name, &d, -1, &st)) != 0)
		return r;
	if (!pg->quiet)
		print_size(pg, pg->parsable ? "size" : "total", st.bytes);
	pg->dry = 0;
	return 0;
}

int
cmd_send(int argc, char **argv)
{
	struct ss_send_opts o;
	struct ss_send_stats st;
	struct progress pg;
	struct ss_token tk;
	struct ss_pool *p = NULL;
	const char *name;
	int c, dry = 0, r;

	memset(&st, 0, sizeof(st));
	memset(&o, 0, sizeof(o));
	memset(&pg, 0, sizeof(pg));
	while ((c = getopt(argc, argv, "wRpLecni:I:vPt:")) != -1) {
		switch (c) {
		case 't': o.token = optarg; break;
		case 'w': o.flags |= SS_SEND_RAW; break;
		case 'R': o.flags |= SS_SEND_REPLICATE; break;
		case 'p': o.flags |= SS_SEND_PROPS; break;
		case 'c': o.flags |= SS_SEND_COMPRESS; break;
		case 'L': case 'e': break;	/* no record size limits here */
		case 'n': dry = 1; break;
		case 'i': o.from = optarg; break;
		case 'I':
			o.from = optarg;
			o.flags |= SS_SEND_INTERMEDIATE;
			break;
		case 'v': pg.verbose = 1; break;
		case 'P': pg.parsable = 1; break;
		default: return usage("send");
		}
	}
	if (o.token && (optind != argc || o.from ||
	    (o.flags & ~(SS_SEND_COMPRESS | SS_SEND_RAW)))) {
		fprintf(stderr, "send -t takes the stream's flags from the"
		    " token: only -w, -n, -v, -P and -c go with it\n");
		return usage("send");
	}
	if (!o.token && optind + 1 != argc)
		return usage("send");
	if (!dry && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "Error: Stream can not be written to a terminal."
		    "\nYou must redirect standard output.\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (o.token) {
		if ((r = ss_token_parse(o.token, &tk)) != 0)
			return fail("resume send", NULL, r);
		name = tk.ds;
	} else
		name = argv[optind];
	if ((r = open_pool_for("send", name, 2, &p)) != 0)
		return r;
	pg.quiet = !pg.verbose && !pg.parsable;
	if (dry || !pg.quiet)
		r = estimate(p, name, &o, &pg);
	if (r == 0 && !dry) {
		grow_pipe(STDOUT_FILENO);
		o.cb = pg.verbose || pg.parsable ? on_event : NULL;
		o.arg = &pg;
		r = ss_send(p, name, &o, STDOUT_FILENO, &st);
	}
	ss_pool_close(p);
	if (r != 0)
		return fail("send", name, r);
	if (pg.verbose && !dry)
		fprintf(stderr, "sent %llu objects (%llu bytes stored), stream"
		    " of %llu bytes\n", (unsigned long long)st.objects,
		    (unsigned long long)st.objbytes,
		    (unsigned long long)st.bytes);
	return 0;
}

int
cmd_receive(int argc, char **argv)
{
	struct ss_recv_opts o;
	struct ss_recv_stats st;
	struct ss_pool *p = NULL;
	const char **ex = NULL;
	struct ss_kv *set = NULL;
	int c, verbose = 0, abort_it = 0, r = 0;

	memset(&st, 0, sizeof(st));
	memset(&o, 0, sizeof(o));
	if ((ex = calloc((size_t)argc, sizeof(*ex))) == NULL ||
	    (set = calloc((size_t)argc, sizeof(*set))) == NULL) {
		r = fail("receive", NULL, SS_ENOMEM);
		goto out;
	}
	while ((c = getopt(argc, argv, "vunFsAx:o:")) != -1) {
		switch (c) {
		case 'v': verbose = 1; break;
		case 's': o.flags |= SS_RECV_RESUMABLE; break;
		case 'A': abort_it = 1; break;
		case 'u': break;	/* nothing is mounted by receive */
		case 'n': o.flags |= SS_RECV_DRYRUN; break;
		case 'F': o.flags |= SS_RECV_FORCE; break;
		case 'x': ex[o.nexclude++] = optarg; break;
		case 'o':
			if (parse_kv(optarg, &set[o.nset]) != 0) {
				fprintf(stderr, "invalid property '%s':"
				    " expected PROP=VALUE\n", optarg);
				r = EXIT_USAGE;
				goto out;
			}
			o.nset++;
			break;
		default: r = usage("receive"); goto out;
		}
	}
	if (optind + 1 != argc) {
		r = usage("receive");
		goto out;
	}
	o.exclude = ex;
	o.set = set;
	if ((r = open_pool_for("receive", argv[optind], abort_it ? 1 : 3,
	    &p)) != 0)
		goto out;
	if (abort_it) {
		r = ss_receive_abort(p, argv[optind]);
		ss_pool_close(p);
		if (r != 0)
			r = fail("abort receive of", argv[optind], r);
		goto out;
	}
	grow_pipe(STDIN_FILENO);
	r = ss_receive_with(p, argv[optind], STDIN_FILENO, &o, &st);
	ss_pool_close(p);
	if (r != 0) {
		r = fail("receive", argv[optind], r);
		goto out;
	}
	if (verbose)
		fprintf(stderr, "%s %llu objects (%llu already held),"
		    " stream of %llu bytes\n", o.flags & SS_RECV_DRYRUN ?
		    "would receive" : "received",
		    (unsigned long long)st.objects,
		    (unsigned long long)st.skipped,
		    (unsigned long long)st.bytes);
out:
	free(ex);
	free(set);
	return r;
}
