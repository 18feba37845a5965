/*
 * keyread: obtain user key material from a keylocation and validate it
 * with zfs's rules and texts (libzfs_crypto.c validate_key()).
 *
 * Material is read straight into the fixed buffer of a struct ss_secret
 * (never into a growable heap buffer, whose old copies could not be
 * wiped), so ss_read_file is not used here.  Error details never quote
 * key material.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "keys/keys.h"

#define RAW_LEN SS_KEY_LEN
#define HEX_LEN ((size_t)2 * SS_KEY_LEN)
#define PASS_MIN 8
#define PASS_MAX 512

void
ss_secret_wipe(struct ss_secret *s)
{
	if (s != NULL)
		ss_cleanse(s, sizeof(*s));
}

/* ---------- validation ---------- */

static void
trim_newline(struct ss_secret *s)
{
	if (s->len > 0 && s->b[s->len - 1] == '\n')
		s->b[--s->len] = 0;
}

static int
is_hex(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/* validate_hex(s, toolong): 64 hex chars, decoded in place to 32 bytes. */
static int
validate_hex(struct ss_secret *s, int toolong)
{
	uint8_t key[SS_KEY_LEN];
	int r = 0;

	trim_newline(s);
	if (toolong || s->len > HEX_LEN)
		return ss_err(SS_EINVAL, "Hex key too long (expected 64).");
	if (s->len < HEX_LEN)
		return ss_err(SS_EINVAL, "Hex key too short (expected 64).");
	for (size_t i = 0; i < HEX_LEN; i++)
		if (!is_hex(s->b[i]))
			return ss_err(SS_EINVAL,
			    "Invalid hex character detected.");
	if (ss_hex_decode((const char *)s->b, HEX_LEN, key, sizeof(key)) != 0)
		r = ss_err(SS_EINVAL, "Invalid hex character detected.");
	else {
		ss_cleanse(s->b, sizeof(s->b));
		memcpy(s->b, key, sizeof(key));
		s->len = sizeof(key);
	}
	ss_cleanse(key, sizeof(key));
	return r;
}

/*
 * validate(kf, s, toolong): check (and for hex, decode) the material read
 * into ${s}; ${toolong} says more bytes followed what ${s} could hold.
 */
static int
validate(int kf, struct ss_secret *s, int toolong)
{
	int r = 0;

	switch (kf) {
	case SS_KF_RAW:		/* no trimming: a newline is a key byte */
		if (toolong || s->len > RAW_LEN)
			r = ss_err(SS_EINVAL,
			    "Raw key too long (expected 32).");
		else if (s->len < RAW_LEN)
			r = ss_err(SS_EINVAL,
			    "Raw key too short (expected 32).");
		break;
	case SS_KF_HEX:
		r = validate_hex(s, toolong);
		break;
	case SS_KF_PASSPHRASE:
		trim_newline(s);
		if (toolong || s->len > PASS_MAX)
			r = ss_err(SS_EINVAL, "Passphrase too long (max 512).");
		else if (s->len < PASS_MIN)
			r = ss_err(SS_EINVAL, "Passphrase too short (min 8).");
		break;
	default:
		r = ss_err(SS_EINVAL, "keyformat %s has no key",
		    ss_keyformat_name(kf));
		break;
	}
	return r;
}

/* ---------- files and pipes ---------- */

/*
 * read_all(fd, s, toolong, what): read until end of file into ${s}; if it
 * fills up, read one more byte to set ${toolong}.  ${what} names the
 * source in errors.
 */
static int
read_all(int fd, struct ss_secret *s, int *toolong, const char *what)
{
	uint8_t extra = 0;
	ssize_t n = 1;

	*toolong = 0;
	s->len = 0;
	while (n != 0 && s->len < sizeof(s->b)) {
		n = read(fd, s->b + s->len, sizeof(s->b) - s->len);
		if (n < 0 && errno != EINTR)
			return ss_err_errno(SS_EIO, "cannot read key from '%s'",
			    what);
		if (n > 0)
			s->len += (size_t)n;
	}
	while (n != 0 && (n = read(fd, &extra, 1)) < 0)
		if (errno != EINTR)
			return ss_err_errno(SS_EIO, "cannot read key from '%s'",
			    what);
	*toolong = n > 0;
	ss_cleanse(&extra, sizeof(extra));
	return 0;
}

static int
read_file(const char *path, int kf, struct ss_secret *s)
{
	int fd, toolong = 0, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		if (errno == ENOENT)
			return ss_err(SS_ENOENT, "key file '%s' does not exist",
			    path);
		if (errno == EACCES || errno == EPERM)
			return ss_err(SS_EPERM, "cannot read key file '%s': "
			    "permission denied", path);
		return ss_err_errno(SS_EIO, "cannot open key file '%s'", path);
	}
	r = read_all(fd, s, &toolong, path);
	(void)close(fd);
	if (r == 0)
		r = validate(kf, s, toolong);
	return r;
}

/* ---------- the terminal ---------- */

static const int tty_signals[] = { SIGINT, SIGQUIT, SIGTERM, SIGHUP };
#define NTTY_SIGNALS (sizeof(tty_signals) / sizeof(tty_signals[0]))
static volatile sig_atomic_t tty_caught;

/* What tty_ask changes besides the terminal, to put back. */
struct tty_saved {
	struct sigaction act[NTTY_SIGNALS];
	sigset_t mask;
};

static void
tty_onsignal(int sig)
{
	tty_caught = sig;
}

/*
 * tty_signals_set(sv): while echo is off, the signals that would kill us
 * are caught, so the terminal is restored first; tty_signals_restore
 * raises a caught one again.  They are also blocked, and unblocked only
 * inside ppoll() (tty_line): a signal can then never arrive just before a
 * read() and leave it waiting.
 */
static void
tty_signals_set(struct tty_saved *sv)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tty_onsignal;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	tty_caught = 0;
	for (size_t i = 0; i < NTTY_SIGNALS; i++) {
		(void)sigaction(tty_signals[i], &sa, &sv->act[i]);
		sigaddset(&block, tty_signals[i]);
	}
	(void)pthread_sigmask(SIG_BLOCK, &block, &sv->mask);
}

/* Handlers first, then the mask: a pending signal meets the old handler. */
static void
tty_signals_restore(const struct tty_saved *sv)
{
	for (size_t i = 0; i < NTTY_SIGNALS; i++)
		(void)sigaction(tty_signals[i], &sv->act[i], NULL);
	(void)pthread_sigmask(SIG_SETMASK, &sv->mask, NULL);
	if (tty_caught != 0)
		(void)raise(tty_caught);
}

/*
 * tty_wait(fd, mask): 1 when ${fd} is readable, 0 when a signal was
 * caught, -1 on error.  The timeout only re-checks the flag, in case a
 * signal went to another thread.
 */
static int
tty_wait(int fd, const sigset_t *mask)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	const struct timespec tick = { 1, 0 };
	int n;

	for (;;) {
		if (tty_caught != 0)
			return 0;
		n = ppoll(&pfd, 1, &tick, mask);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/*
 * tty_line(fd, mask, s, toolong): one line without its '\n'; echo is off
 * and the signals are blocked but for ${mask} while waiting.
 */
static int
tty_line(int fd, const sigset_t *mask, struct ss_secret *s, int *toolong)
{
	uint8_t c = 0;
	ssize_t n = 0;
	int r = 0, w;

	s->len = 0;
	*toolong = 0;
	while ((w = tty_wait(fd, mask)) > 0) {
		if ((n = read(fd, &c, 1)) < 0 && errno == EINTR)
			continue;
		if (n <= 0 || c == '\n')
			break;
		if (s->len < sizeof(s->b))
			s->b[s->len++] = c;
		else
			*toolong = 1;
	}
	if (w == 0)
		r = ss_err(SS_EIO, "key entry interrupted");
	else if (w < 0 || n < 0)
		r = ss_err_errno(SS_EIO, "cannot read the terminal");
	ss_cleanse(&c, sizeof(c));
	return r;
}

/*
 * tty_ask(fd, prompt, s, toolong): turn echo off, then write ${prompt} (so
 * nothing typed after the prompt is echoed), read a line, restore the
 * terminal, then the signal handlers and mask, on every path.
 */
static int
tty_ask(int fd, const char *prompt, struct ss_secret *s, int *toolong)
{
	struct tty_saved sv;
	struct termios saved, noecho;
	int r;

	if (tcgetattr(fd, &saved) != 0)
		return ss_err_errno(SS_EIO, "cannot get terminal attributes");
	noecho = saved;
	noecho.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	tty_signals_set(&sv);
	if (tcsetattr(fd, TCSAFLUSH, &noecho) != 0) {
		r = ss_err_errno(SS_EIO, "cannot turn terminal echo off");
		goto out;
	}
	if ((r = ss_write_all(fd, prompt, strlen(prompt))) != 0)
		goto out;
	r = tty_line(fd, &sv.mask, s, toolong);
	(void)ss_write_all(fd, "\n", 1);
out:
	(void)tcsetattr(fd, TCSANOW, &saved);
	tty_signals_restore(&sv);
	return r;
}

/* tty_prompt(kf, dsname, again, flags, out): "Enter new hex key for 'x': " */
static void
tty_prompt(int kf, const char *dsname, int again, int flags, char *out,
    size_t n)
{
	const char *what = kf == SS_KF_HEX ? "hex key" : "passphrase";
	const char *verb = again ? "Re-enter" : "Enter";
	const char *isnew = (flags & SS_KEYREAD_NEW) ? "new " : "";

	if (dsname != NULL)
		(void)snprintf(out, n, "%s %s%s for '%s': ", verb, isnew, what,
		    dsname);
	else
		(void)snprintf(out, n, "%s %s%s: ", verb, isnew, what);
}

/* tty_read_key(fd, ...): ask, validate, and for a new key ask again. */
static int
tty_read_key(int fd, int kf, const char *dsname, int flags,
    struct ss_secret *out)
{
	struct ss_secret again;
	char prompt[1024];
	int toolong = 0, r;

	memset(&again, 0, sizeof(again));
	tty_prompt(kf, dsname, 0, flags, prompt, sizeof(prompt));
	if ((r = tty_ask(fd, prompt, out, &toolong)) != 0 ||
	    (r = validate(kf, out, toolong)) != 0 ||
	    !(flags & SS_KEYREAD_NEW))
		goto out;
	tty_prompt(kf, dsname, 1, flags, prompt, sizeof(prompt));
	if ((r = tty_ask(fd, prompt, &again, &toolong)) != 0)
		goto out;
	if (validate(kf, &again, toolong) != 0 || again.len != out->len ||
	    !ss_ct_eq(again.b, out->b, out->len))
		r = ss_err(SS_EINVAL, "Provided keys do not match.");
out:
	ss_secret_wipe(&again);
	return r;
}

/*
 * read_prompt: on a terminal, prompt on /dev/tty with echo off; otherwise
 * read all of stdin once, without confirmation (as zfs).
 */
static int
read_prompt(int kf, const char *dsname, int flags, struct ss_secret *out)
{
	int fd, toolong = 0, r;

	if (!isatty(STDIN_FILENO)) {
		if ((r = read_all(STDIN_FILENO, out, &toolong, "stdin")) == 0)
			r = validate(kf, out, toolong);
		return r;
	}
	if (kf == SS_KF_RAW)
		return ss_err(SS_EINVAL,
		    "Cannot enter raw keys on the terminal");
	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0)
		return ss_err_errno(SS_EIO, "cannot open /dev/tty");
	r = tty_read_key(fd, kf, dsname, flags, out);
	(void)close(fd);
	return r;
}

/*
 * ss_key_read: ${out} is wiped first, and again on failure.  "none" and
 * invalid locations are SS_EINVAL; a missing key file SS_ENOENT, an
 * unreadable one SS_EPERM, other system failures SS_EIO.
 */
int
ss_key_read(const char *location, int kf, const char *dsname, int flags,
    struct ss_secret *out)
{
	int r;

	ss_secret_wipe(out);
	if (kf != SS_KF_RAW && kf != SS_KF_HEX && kf != SS_KF_PASSPHRASE) {
		r = ss_err(SS_EINVAL, "keyformat %s has no key",
		    ss_keyformat_name(kf));
		goto out;
	}
	if ((r = ss_keylocation_valid(location)) != 0)
		goto out;
	if (strcmp(location, "prompt") == 0)
		r = read_prompt(kf, dsname, flags, out);
	else if (strcmp(location, "none") == 0)
		r = ss_err(SS_EINVAL,
		    "keylocation 'none' cannot provide a key");
	else
		r = read_file(location + strlen("file://"), kf, out);
out:
	if (r != 0)
		ss_secret_wipe(out);
	return r;
}
