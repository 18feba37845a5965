/*
 * test_util: errors, buffers, the bounded reader, hex, and the durable file
 * operations.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tap.h"
#include "util/util.h"

static char tmpdir[] = "/tmp/ss-test-util.XXXXXX";

static int
file_is(const char *path, const char *want)
{
	struct ss_buf b = SS_BUF_INIT;
	int r;

	r = ss_read_file(path, 1 << 20, &b) == 0 && b.len == strlen(want) &&
	    memcmp(b.p, want, b.len) == 0;
	ss_buf_free(&b);
	return r;
}

/* 1 if ${dir} holds exactly ${n} entries besides "." and "..". */
static int
dir_count_is(const char *dir, int n)
{
	char *cmd = ss_asprintf("test $(ls -A '%s' | wc -l) -eq %d", dir, n);
	int r = cmd != NULL && system(cmd) == 0;

	free(cmd);
	return r;
}

static void
test_errors(void)
{
	int r;

	ss_errclear();
	ok(strcmp(ss_errmsg(), "") == 0, "errmsg empty after clear");
	r = ss_err(SS_ENOENT, "dataset '%s' does not exist", "p/a");
	is_int(r, SS_ENOENT, "ss_err returns its code");
	ok(strcmp(ss_errmsg(), "dataset 'p/a' does not exist") == 0,
	    "ss_err records the detail");
	r = ss_err(SS_EIO, "wrapped: %s", ss_errmsg());
	ok(strcmp(ss_errmsg(), "wrapped: dataset 'p/a' does not exist") == 0,
	    "ss_err may quote the previous detail");
	errno = ENOSPC;
	r = ss_err_errno(SS_EIO, "write %d", 7);
	is_int(r, SS_EIO, "ss_err_errno returns its code");
	ok(strcmp(ss_errmsg(), "write 7: No space left on device") == 0,
	    "ss_err_errno appends strerror (%s)", ss_errmsg());
	is_int(errno, ENOSPC, "ss_err_errno keeps errno");
	is_int(ss_errno_code(ENOSPC), SS_ENOSPC, "ENOSPC");
	is_int(ss_errno_code(EDQUOT), SS_ENOSPC, "EDQUOT");
	is_int(ss_errno_code(ENOENT), SS_ENOENT, "ENOENT");
	is_int(ss_errno_code(EEXIST), SS_EEXIST, "EEXIST");
	is_int(ss_errno_code(EACCES), SS_EPERM, "EACCES");
	is_int(ss_errno_code(EPERM), SS_EPERM, "EPERM");
	is_int(ss_errno_code(ENOMEM), SS_ENOMEM, "ENOMEM");
	is_int(ss_errno_code(EBADF), SS_EIO, "EBADF -> EIO");
	for (int c = SS_OK; c >= SS_EWRONGKEY; c--)
		ok(strcmp(ss_strerror(c), "unknown error") != 0,
		    "strerror(%d) = %s", c, ss_strerror(c));
	ok(strcmp(ss_strerror(-99), "unknown error") == 0, "strerror(-99)");
}

static void
test_buf(void)
{
	struct ss_buf b = SS_BUF_INIT;
	static const uint8_t want[] = {
		0xab, 0x34, 0x12, 0x78, 0x56, 0x34, 0x12,
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
		0x02, 0x00, 'h', 'i', 0x03, 0x00, 0x00, 0x00, 'x', 'y', 'z'
	};
	char big[70000];
	int r = 0;

	r |= ss_buf_put_u8(&b, 0xab);
	r |= ss_buf_put_u16(&b, 0x1234);
	r |= ss_buf_put_u32(&b, 0x12345678);
	r |= ss_buf_put_u64(&b, 0x0102030405060708ull);
	r |= ss_buf_put_str16(&b, "hi", 2);
	r |= ss_buf_put_str32(&b, "xyz", 3);
	is_int(r, 0, "puts succeed");
	ok(b.len == sizeof(want) && memcmp(b.p, want, b.len) == 0,
	    "little-endian encodings");
	memset(big, 'a', sizeof(big));
	is_int(ss_buf_put_str16(&b, big, 65536), SS_ERANGE,
	    "str16 longer than 65535 rejected");
	is_int(b.len, sizeof(want), "failed put appends nothing");
	is_int(ss_buf_put_str16(&b, big, 65535), 0, "str16 of 65535 ok");
	is_int(b.len, sizeof(want) + 2 + 65535, "length after big put");
	ss_buf_reset(&b);
	is_int(b.len, 0, "reset");
	ok(b.cap >= 65535, "reset keeps memory");
	is_int(ss_buf_put(&b, NULL, 0), 0, "empty put");
	ss_buf_wipe(&b);
	ok(b.p == NULL && b.len == 0 && b.cap == 0, "wipe frees");
	is_int(ss_buf_put(&b, "q", 1), 0, "buffer reusable after wipe");
	ss_buf_free(&b);
	ss_buf_free(&b);
	ok(b.p == NULL, "double free is harmless");
}

static void
test_rd(void)
{
	static const uint8_t in[] = {
		0xab, 0x34, 0x12, 0x78, 0x56, 0x34, 0x12,
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
		0x02, 0x00, 'h', 'i', 0x03, 0x00, 0x00, 0x00, 'x', 'y', 'z'
	};
	struct ss_rd r;
	const uint8_t *p;
	size_t n;

	ss_rd_init(&r, in, sizeof(in));
	is_int(ss_rd_u8(&r), 0xab, "rd u8");
	is_int(ss_rd_u16(&r), 0x1234, "rd u16");
	is_int(ss_rd_u32(&r), 0x12345678, "rd u32");
	ok(ss_rd_u64(&r) == 0x0102030405060708ull, "rd u64");
	p = ss_rd_str16(&r, &n);
	ok(p != NULL && n == 2 && memcmp(p, "hi", 2) == 0, "rd str16");
	p = ss_rd_str32(&r, 3, &n);
	ok(p != NULL && n == 3 && memcmp(p, "xyz", 3) == 0, "rd str32");
	is_int(r.err, 0, "no error after exact read");
	is_int(ss_rd_left(&r), 0, "nothing left");
	ok(ss_rd_bytes(&r, 0) != NULL && r.err == 0, "zero-length get at end");

	/* underflow: a u32 with only 3 bytes left */
	ss_rd_init(&r, in, 3);
	is_int(ss_rd_u8(&r), 0xab, "u8 before underflow");
	is_int(ss_rd_u32(&r), 0, "underflowing u32 returns 0");
	is_int(r.err, SS_ECORRUPT, "underflow sets SS_ECORRUPT");
	is_int(ss_rd_u8(&r), 0, "later get fails although a byte remains");
	is_int(ss_rd_u16(&r), 0, "later u16 fails");
	ok(ss_rd_bytes(&r, 0) == NULL, "later bytes(0) fails");
	is_int(ss_rd_left(&r), 0, "left is 0 after an error");
	is_int(r.err, SS_ECORRUPT, "error is sticky");

	/* every truncation of the record fails exactly once at the end */
	for (size_t len = 0; len < sizeof(in); len++) {
		ss_rd_init(&r, in, len);
		ss_rd_u8(&r);
		ss_rd_u16(&r);
		ss_rd_u32(&r);
		ss_rd_u64(&r);
		ss_rd_str16(&r, &n);
		p = ss_rd_str32(&r, 100, &n);
		if (!ok(r.err == SS_ECORRUPT && p == NULL && n == 0,
		    "truncation to %zu detected", len))
			break;
	}

	/* a length prefix larger than the data or than max */
	ss_rd_init(&r, "\x05\x00" "abc", 5);
	ok(ss_rd_str16(&r, &n) == NULL && n == 0 && r.err == SS_ECORRUPT,
	    "str16 length beyond the data");
	ss_rd_init(&r, "\x03\x00\x00\x00" "abc", 7);
	ok(ss_rd_str32(&r, 2, &n) == NULL && r.err == SS_ECORRUPT,
	    "str32 longer than max");
	ss_rd_init(&r, "\xff\xff\xff\xff" "abc", 7);
	ok(ss_rd_str32(&r, SIZE_MAX, &n) == NULL && r.err == SS_ECORRUPT,
	    "str32 huge length");
	ss_rd_init(&r, in, sizeof(in));
	ok(ss_rd_bytes(&r, SIZE_MAX) == NULL && r.err == SS_ECORRUPT,
	    "bytes(SIZE_MAX) does not wrap");
	ss_rd_init(&r, NULL, 0);
	ss_rd_u8(&r);
	is_int(r.err, SS_ECORRUPT, "empty reader underflows");
}

static void
test_hex_misc(void)
{
	uint8_t b[4] = { 0x00, 0x9f, 0xa0, 0xff }, d[4];
	char s[9];
	uint64_t x, y;
	char *j;

	ss_hex_encode(b, 4, s);
	ok(strcmp(s, "009fa0ff") == 0, "hex encode");
	is_int(ss_hex_decode("009FA0ff", 8, d, 4), 0, "hex decode");
	ok(memcmp(b, d, 4) == 0, "hex round trip");
	is_int(ss_hex_decode("009fa0f", 7, d, 4), SS_EINVAL, "odd length");
	is_int(ss_hex_decode("009fa0ff00", 10, d, 4), SS_EINVAL, "too long");
	is_int(ss_hex_decode("009fa0fg", 8, d, 4), SS_EINVAL, "bad digit");
	x = ss_random_u64();
	y = ss_random_u64();
	ok(x != 0 && y != 0 && x != y, "random_u64 non-zero and varying");
	ok(ss_now_ns() > 1600000000LL * 1000000000LL, "now_ns plausible");
	j = ss_path_join("a", "b");
	ok(j != NULL && strcmp(j, "a/b") == 0, "path_join");
	free(j);
	j = ss_path_join("/", "b");
	ok(j != NULL && strcmp(j, "/b") == 0, "path_join root");
	free(j);
	j = ss_asprintf("%d-%s", 4, "x");
	ok(j != NULL && strcmp(j, "4-x") == 0, "asprintf");
	free(j);
}

/* Run ss_write_file_atomic as an unprivileged user (root ignores modes). */
static int
write_as_nobody(const char *path, const char *data)
{
	pid_t pid;
	int st;

	if ((pid = fork()) < 0)
		return -100;
	if (pid == 0) {
		if (geteuid() == 0 && (setgid(65534) != 0 ||
		    setuid(65534) != 0))
			_exit(100);
		_exit(-ss_write_file_atomic(path, data, strlen(data), 0644));
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
		return -100;
	return WEXITSTATUS(st) == 100 ? -100 : -WEXITSTATUS(st);
}

static void
test_files(void)
{
	char *a, *ro, *rof, *d, *deep, *link, *outside, *outf, *x;
	struct ss_buf b = SS_BUF_INIT;
	int fd, r;
	uint8_t buf[8];

	a = ss_path_join(tmpdir, "a");
	is_int(ss_write_file_atomic(a, "one", 3, 0600), 0, "atomic create");
	ok(file_is(a, "one"), "content after create");
	is_int(ss_write_file_atomic(a, "two!", 4, 0600), 0, "atomic replace");
	ok(file_is(a, "two!"), "content after replace");
	is_int(ss_write_file_atomic(a, NULL, 0, 0600), 0, "atomic empty");
	ok(file_is(a, ""), "empty content");

	/* the path is a directory: rename fails, nothing is left behind */
	d = ss_path_join(tmpdir, "d");
	is_int(ss_mkdir_p(d, 0755), 0, "mkdir d");
	r = ss_write_file_atomic(d, "x", 1, 0600);
	ok(r < 0, "write over a directory fails (%d)", r);
	ok(dir_count_is(tmpdir, 2), "no temporary left beside the directory");
	ok(dir_count_is(d, 0), "directory still empty");

	/* a read-only directory keeps the old content */
	ro = ss_path_join(tmpdir, "ro");
	rof = ss_path_join(ro, "f");
	is_int(ss_mkdir_p(ro, 0755), 0, "mkdir ro");
	is_int(ss_write_file_atomic(rof, "old", 3, 0644), 0, "old content");
	chmod(tmpdir, 0755);
	chmod(ro, 0555);
	r = write_as_nobody(rof, "new");
	if (r == -100) {
		ok(1, "# SKIP cannot drop privileges");
		ok(1, "# SKIP cannot drop privileges");
	} else {
		is_int(r, SS_EPERM, "write in a read-only directory: SS_EPERM");
		ok(file_is(rof, "old"), "old content kept");
	}
	chmod(ro, 0755);
	ok(dir_count_is(ro, 1), "no temporary in the read-only directory");

	/* ss_read_file bounds */
	is_int(ss_write_file_atomic(a, "0123456789", 10, 0600), 0, "ten bytes");
	is_int(ss_read_file(a, 10, &b), 0, "read_file at max");
	is_int(b.len, 10, "read_file length");
	is_int(ss_read_file(a, 9, &b), SS_ERANGE, "read_file over max");
	x = ss_path_join(tmpdir, "missing");
	is_int(ss_read_file(x, 10, &b), SS_ENOENT, "read_file missing");
	is_int(ss_rm_rf(x), 0, "rm_rf of an absent path");
	free(x);

	/* pread_all short read */
	fd = open(a, O_RDONLY);
	is_int(ss_pread_all(fd, buf, 8, 2), 0, "pread_all");
	ok(memcmp(buf, "23456789", 8) == 0, "pread_all content");
	is_int(ss_pread_all(fd, buf, 8, 3), SS_ECORRUPT, "pread_all past EOF");
	close(fd);

	/* mkdir_p and rm_rf that must not follow a symlink */
	deep = ss_path_join(tmpdir, "t/u//v/w");
	is_int(ss_mkdir_p(deep, 0755), 0, "mkdir_p deep");
	is_int(ss_mkdir_p(deep, 0755), 0, "mkdir_p existing");
	is_int(ss_mkdir_p(a, 0755), SS_EEXIST, "mkdir_p over a file");
	outside = ss_path_join(tmpdir, "outside");
	outf = ss_path_join(outside, "keep");
	ss_mkdir_p(outside, 0755);
	ss_write_file_atomic(outf, "k", 1, 0644);
	link = ss_path_join(deep, "link");
	ok(symlink(outside, link) == 0, "symlink to outside");
	x = ss_path_join(deep, "file");
	ss_write_file_atomic(x, "f", 1, 0644);
	free(x);
	x = ss_path_join(tmpdir, "t");
	is_int(ss_rm_rf(x), 0, "rm_rf tree");
	ok(access(x, F_OK) != 0 && errno == ENOENT, "tree gone");
	ok(file_is(outf, "k"), "symlink target untouched");
	free(x);
	x = ss_path_join(tmpdir, "toplink");
	symlink(outside, x);
	is_int(ss_rm_rf(x), 0, "rm_rf of a symlink to a directory");
	ok(file_is(outf, "k"), "target of top-level symlink untouched");
	free(x);
	is_int(ss_fsync_parent(a), 0, "fsync_parent");
	is_int(ss_fsync_dir(tmpdir), 0, "fsync_dir");

	ss_buf_free(&b);
	free(a);
	free(ro);
	free(rof);
	free(d);
	free(deep);
	free(link);
	free(outside);
	free(outf);
}

/* varint(v, want): ${v} encodes to ${want} bytes and reads back. */
static int
varint(uint64_t v, size_t want)
{
	struct ss_buf b = SS_BUF_INIT;
	struct ss_rd rd;
	uint64_t got;
	int good;

	if (ss_buf_put_varint(&b, v) != 0)
		return 0;
	ss_rd_init(&rd, b.p, b.len);
	got = ss_rd_varint(&rd);
	good = b.len == want && got == v && rd.err == 0 && ss_rd_left(&rd) == 0;
	ss_buf_free(&b);
	return good;
}

/* varint_bad(p, n): the bytes are refused as a varint. */
static int
varint_bad(const uint8_t *p, size_t n)
{
	struct ss_rd rd;

	ss_rd_init(&rd, p, n);
	(void)ss_rd_varint(&rd);
	return rd.err == SS_ECORRUPT;
}

static void
test_varints(void)
{
	static const uint8_t over1[] = { 0x80, 0x00 };
	static const uint8_t over2[] = { 0xff, 0x80, 0x00 };
	static const uint8_t big[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0x02 };
	static const uint8_t eleven[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	    0x80, 0x80, 0x80, 0x81, 0x00 };
	static const uint8_t open[] = { 0x80 };
	struct ss_rd rd;
	const uint8_t *p;
	size_t n;

	ok(varint(0, 1) && varint(127, 1) && varint(128, 2) &&
	    varint(16383, 2) && varint(16384, 3), "varints of 1 to 3 bytes");
	ok(varint(UINT32_MAX, 5) && varint((uint64_t)1 << 63, 10) &&
	    varint(UINT64_MAX, 10), "varints up to 2^64-1 in 10 bytes");
	ok(varint_bad(over1, sizeof(over1)) && varint_bad(over2, sizeof(over2)),
	    "rejects a varint not in its shortest form");
	ok(varint_bad(big, sizeof(big)), "rejects a varint past 64 bits");
	ok(varint_bad(eleven, sizeof(eleven)), "rejects an 11-byte varint");
	ok(varint_bad(open, sizeof(open)) && varint_bad(open, 0),
	    "rejects a truncated varint");
	ss_rd_init(&rd, "\003abcd", 5);
	p = ss_rd_vstr(&rd, 3, &n);
	ok(p != NULL && n == 3 && memcmp(p, "abc", 3) == 0 && rd.err == 0,
	    "vstr: length then bytes");
	ss_rd_init(&rd, "\003abc", 4);
	ok(ss_rd_vstr(&rd, 2, &n) == NULL && n == 0 && rd.err == SS_ECORRUPT,
	    "vstr: rejects a length over its bound");
	ss_rd_init(&rd, "\005abc", 4);
	ok(ss_rd_vstr(&rd, 9, &n) == NULL && rd.err == SS_ECORRUPT,
	    "vstr: rejects a length past the end");
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	test_errors();
	test_buf();
	test_rd();
	test_varints();
	test_hex_misc();
	test_files();
	is_int(ss_rm_rf(tmpdir), 0, "rm_rf the test directory");
	return done_testing();
}
