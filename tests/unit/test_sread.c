/*
 * test_sread: the snapshot's file reader (lib/tree/sread.c).  A region is
 * given back block by block exactly as the file holds it; a file that
 * ends before the region does (it shrank while being read) is
 * SS_ECHANGED with the message the snapshot reports, "file changed while
 * being read" (docs/man/snapseal-snapshot.8); a read error is reported
 * with its reason; the reader can start again after any of them.  And
 * ss_snap_open, which opens every file a snapshot reads, returns at once
 * on a FIFO (a file replaced by one after it was stat'ed) instead of
 * waiting for a writer, and still opens a file under a write lease (its
 * holder is told and gives it back) instead of failing with EWOULDBLOCK.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tree/scan.h"
#include "tap.h"

#define MiB (1024u * 1024)

static uint8_t *g_data;
static size_t g_size;

/* tmpfile_of(p, n): a regular file holding ${n} bytes of ${p}. */
static int
tmpfile_of(const uint8_t *p, size_t n)
{
	char tmpl[] = "/tmp/test_sread.XXXXXX";
	int fd = mkstemp(tmpl);

	if (fd < 0 || unlink(tmpl) != 0 || write(fd, p, n) != (ssize_t)n)
		exit(1);
	return fd;
}

/* The write lease of the lease test, given back when it is broken. */
static int g_lease_fd = -1;

static void
give_back(int sig)
{
	(void)sig;
	(void)fcntl(g_lease_fd, F_SETLEASE, F_UNLCK);
}

/*
 * read_all(rd, fd, off, end, &got): read [off, end) of ${fd}, comparing
 * what comes back with g_data; the result of the last ss_sread_next.
 */
static int
read_all(struct ss_sread *rd, int fd, uint64_t off, uint64_t end,
    size_t *got, int *same)
{
	const uint8_t *p;
	size_t n;
	int r;

	*got = 0;
	*same = 1;
	ss_errclear();
	if ((r = ss_sread_begin(rd, fd, off, end)) != 0)
		return r;
	while ((r = ss_sread_next(rd, &p, &n)) == 0 && n > 0) {
		if (off + *got + n > g_size ||
		    memcmp(p, g_data + off + *got, n) != 0)
			*same = 0;
		*got += n;
		ss_sread_release(rd);
	}
	ss_sread_end(rd);
	return r;
}

int
main(void)
{
	struct ss_sread *rd = NULL;
	size_t got;
	int fd, same, r;

	g_size = 5 * MiB + 123;
	if ((g_data = malloc(g_size)) == NULL)
		return 1;
	for (size_t i = 0; i < g_size; i++)
		g_data[i] = (uint8_t)(i * 2654435761u >> 13);
	fd = tmpfile_of(g_data, g_size);
	is_int(ss_sread_new(&rd), 0, "a reader");

	r = read_all(rd, fd, 0, g_size, &got, &same);
	is_int(r, 0, "the whole file: read");
	ok(got == g_size && same, "the whole file: %zu bytes as written", got);

	r = read_all(rd, fd, MiB + 7, 4 * MiB + 1, &got, &same);
	is_int(r, 0, "a region inside: read");
	ok(got == 3 * MiB - 6 && same, "a region inside: %zu bytes as written",
	    got);

	/* one block (2 MiB) is read on the caller's thread, more by the reader */
	r = read_all(rd, fd, 7, 7 + 2 * MiB, &got, &same);
	is_int(r, 0, "one block: read");
	ok(got == 2 * MiB && same, "one block: %zu bytes as written", got);
	r = read_all(rd, fd, 7, 8 + 2 * MiB, &got, &same);
	is_int(r, 0, "a block and a byte: read");
	ok(got == 2 * MiB + 1 && same, "a block and a byte: %zu bytes as"
	    " written", got);
	r = read_all(rd, fd, 5 * MiB, g_size, &got, &same);
	is_int(r, 0, "the last 123 bytes: read");
	ok(got == 123 && same, "the last bytes: %zu as written", got);
	r = read_all(rd, fd, 5 * MiB, g_size + 1, &got, &same);
	is_int(r, SS_ECHANGED, "a small region one byte past the end:"
	    " SS_ECHANGED");
	ok(same && got <= 123, "what came before it was the file's bytes");

	r = read_all(rd, fd, 0, g_size + 1, &got, &same);
	is_int(r, SS_ECHANGED, "a region one byte past the end: SS_ECHANGED");
	ok(strstr(ss_errmsg(), "file changed while being read") != NULL,
	    "its message is the snapshot's: '%s'", ss_errmsg());
	ok(same && got <= g_size, "what came before it was the file's bytes");

	/* the file shrinks between two regions, as under a writer */
	if (ftruncate(fd, 3 * MiB) != 0)
		return 1;
	r = read_all(rd, fd, MiB, 5 * MiB, &got, &same);
	is_int(r, SS_ECHANGED, "a file shrunk to 3 MiB, read to 5: SS_ECHANGED");
	ok(strstr(ss_errmsg(), "file changed while being read") != NULL,
	    "its message: '%s'", ss_errmsg());
	r = read_all(rd, fd, 3 * MiB, 4 * MiB, &got, &same);
	is_int(r, SS_ECHANGED, "a region wholly past the new end: SS_ECHANGED");
	ok(got == 0, "and nothing of it is given");

	r = read_all(rd, fd, 0, 3 * MiB, &got, &same);
	is_int(r, 0, "after those, the reader starts again");
	ok(got == 3 * MiB && same, "the shrunk file's 3 MiB as written");

	{
		int wfd = open("/dev/null", O_WRONLY | O_CLOEXEC);

		r = read_all(rd, wfd, 0, MiB, &got, &same);
		is_int(r, SS_EIO, "a descriptor that cannot be read: SS_EIO");
		ok(strstr(ss_errmsg(), "read") != NULL &&
		    strstr(ss_errmsg(), strerror(EBADF)) != NULL,
		    "with its reason: '%s'", ss_errmsg());
		close(wfd);
	}

	r = read_all(rd, fd, 0, 0, &got, &same);
	is_int(r, 0, "an empty region: nothing, no error");
	ok(got == 0, "and no bytes");

	ss_sread_free(rd);
	close(fd);
	free(g_data);

	{
		char dir[] = "/tmp/test_sread.XXXXXX", path[64];
		struct stat st;
		int dfd, ffd;

		if (mkdtemp(dir) == NULL ||
		    (dfd = open(dir, O_RDONLY | O_DIRECTORY)) < 0 ||
		    mkfifoat(dfd, "fifo", 0600) != 0)
			return 1;
		alarm(10);	/* a blocking open ends the test here */
		ffd = ss_snap_open(dfd, "fifo");
		alarm(0);
		ok(ffd >= 0 && fstat(ffd, &st) == 0 && S_ISFIFO(st.st_mode),
		    "a FIFO is opened at once, and fstat tells it apart");
		if (ffd >= 0)
			close(ffd);
		snprintf(path, sizeof(path), "%s/fifo", dir);
		(void)unlink(path);

		/* a file under a write lease, as a Samba oplock holds one */
		struct sigaction sa;
		int wfd = openat(dfd, "leased", O_CREAT | O_WRONLY | O_CLOEXEC,
		    0600);

		if (wfd < 0 || write(wfd, "x", 1) != 1 || close(wfd) != 0)
			return 1;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = give_back;
		sa.sa_flags = SA_RESTART;
		if (sigaction(SIGIO, &sa, NULL) != 0 ||
		    (g_lease_fd = openat(dfd, "leased", O_RDONLY |
		    O_CLOEXEC)) < 0)
			return 1;
		if (fcntl(g_lease_fd, F_SETLEASE, F_WRLCK) != 0) {
			ok(1, "# SKIP no write lease here: %s",
			    strerror(errno));
		} else {
			alarm(10);
			ffd = ss_snap_open(dfd, "leased");
			alarm(0);
			ok(ffd >= 0, "a file under a write lease is opened once"
			    " its holder gives the lease back (%s)",
			    ffd >= 0 ? "ok" : strerror(errno));
			if (ffd >= 0)
				close(ffd);
		}
		close(g_lease_fd);
		snprintf(path, sizeof(path), "%s/leased", dir);
		(void)unlink(path);
		(void)rmdir(dir);
		close(dfd);
	}
	return done_testing();
}
