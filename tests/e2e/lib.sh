#!/bin/bash
# lib.sh: the harness of snapseal's end-to-end tests, sourced by every
# tests/e2e/tNNNN-area-what.sh (see tests/README.md):
#
#	test_description='what this script covers'
#	. "$(dirname "$0")/lib.sh"
#	test_expect_success 'title' '
#		command &&
#		command
#	'
#	test_done
#
# Each script runs in its own trash directory with an empty SNAPSEAL_HOME
# and prints TAP on stdout.  Options: -v (show the output of every test),
# -d (keep the trash directory), -x (trace test bodies), -i (stop at the
# first failure), -h.
#
# shellcheck disable=SC2016 # test bodies are single-quoted on purpose

# ---------- options and environment ----------

verbose='' debug='' trace='' immediate=''
for _arg in "$@"; do
	case $_arg in
	-v | --verbose) verbose=t ;;
	-d | --debug) debug=t ;;
	-x | --trace) trace=t ;;
	-i | --immediate) immediate=t ;;
	-h | --help) printf '%s\n' "${test_description:-}"; exit 0 ;;
	*) echo "error: unknown option '$_arg'" >&2; exit 1 ;;
	esac
done

TEST_DIRECTORY=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
TEST_NAME=$(basename "$0" .sh)
SNAPSEAL_SRCDIR=$(cd "$TEST_DIRECTORY/../.." && pwd -P)
: "${SNAPSEAL:=$SNAPSEAL_SRCDIR/build/asan/snapseal}"
: "${SSTOOL:=$SNAPSEAL_SRCDIR/build/asan/sstool}"
case $SNAPSEAL in /*) ;; *) SNAPSEAL=$PWD/$SNAPSEAL ;; esac
case $SSTOOL in /*) ;; *) SSTOOL=$PWD/$SSTOOL ;; esac

# Nothing from the caller's snapseal configuration leaks into a test.
for _v in $(compgen -e); do
	case $_v in SNAPSEAL_*) unset "$_v" ;; esac
done
unset CDPATH
export LC_ALL=C TZ=UTC SNAPSEAL SSTOOL
umask 022
ulimit -c 0 2>/dev/null

# A sanitizer report must abort (exit 134), so that test_must_fail cannot
# mistake it for an ordinary failure.
: "${ASAN_OPTIONS:=detect_leaks=1}"
: "${UBSAN_OPTIONS:=print_stacktrace=1:halt_on_error=1}"
case :$ASAN_OPTIONS: in *:abort_on_error=1:*) ;;
*) ASAN_OPTIONS=$ASAN_OPTIONS:abort_on_error=1 ;; esac
case :$UBSAN_OPTIONS: in *:abort_on_error=1:*) ;;
*) UBSAN_OPTIONS=$UBSAN_OPTIONS:abort_on_error=1 ;; esac
export ASAN_OPTIONS UBSAN_OPTIONS

# $TEST_ROOT holds the trash directory (the tests' cwd), the output log and
# the prerequisite scratch directories, so tests never see the harness's files.
TEST_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/snapseal-$TEST_NAME.XXXXXX") &&
TEST_ROOT=$(cd "$TEST_ROOT" && pwd -P) || exit 1
TRASH_DIRECTORY=$TEST_ROOT/trash
TEST_LOG=$TEST_ROOT/log
mkdir "$TRASH_DIRECTORY" "$TRASH_DIRECTORY/home" "$TEST_ROOT/bin" || exit 1
export SNAPSEAL_HOME=$TRASH_DIRECTORY/home HOME=$TRASH_DIRECTORY
# The programs are also on PATH, for "env VAR=x snapseal" and "sh -c".
ln -s "$SNAPSEAL" "$TEST_ROOT/bin/snapseal" &&
ln -s "$SSTOOL" "$TEST_ROOT/bin/sstool" || exit 1
PATH=$TEST_ROOT/bin:$PATH
cd "$TRASH_DIRECTORY" || exit 1

test_count=0 test_failed=0 test_fixed=0 test_broken=0 test_skipped=0
_done='' _in_test='' _test_cleanup=()

snapseal() {
	test -x "$SNAPSEAL" ||
	{ echo "error: $SNAPSEAL is not built (make MODE=asan units)" >&2; return 127; }
	"$SNAPSEAL" "$@"
}

sstool() {
	test -x "$SSTOOL" ||
	{ echo "error: $SSTOOL is not built (make MODE=asan units)" >&2; return 127; }
	"$SSTOOL" "$@"
}

# pool_and_dataset MNT POOL DS KIND: the pool POOL mounted at MNT and the
# raw key ./key, unless MNT is there already; then the dataset POOL/DS,
# encrypted with that key if KIND is enc.
pool_and_dataset() {
	if ! test -d "$1"
	then
		mkdir "$1" && snapseal pool create -m "$PWD/$1" "$2" &&
		head -c 32 /dev/urandom >key || return 1
	fi
	if test "$4" = enc
	then
		snapseal create -o encryption=on -o keyformat=raw \
			-o keylocation="file://$PWD/key" "$2/$3"
	else
		snapseal create "$2/$3"
	fi
}

_bug() {
	echo "bug in the test script: $*" >&2
	exit 1
}

# ---------- keys loaded by tests ----------
#
# snapseal keeps loaded keys in the user keyring as "snapseal:<pool
# guid>:<root guid>", shared by every process of this uid.  At exit, keys
# added since this script started are unloaded with "snapseal unload-key
# -a" (it only sees this script's SNAPSEAL_HOME); whatever remains is
# invalidated only when no other test script holds the lock, so that
# parallel scripts (prove -j) never lose each other's keys.  The first
# script of a group records the keys that were there before the group
# (the user's own), and those are never touched.

_keys_fd='' _keys_start=''
_keys_lock=${TEST_KEYRING_LOCK:-/tmp/snapseal-test-keyring.$(id -u).lock}
_keys_prefix=${TEST_KEY_PREFIX:-snapseal:}
if command -v keyctl >/dev/null && command -v flock >/dev/null &&
   keyctl rlist @u >/dev/null 2>&1 &&
   { exec {_keys_fd}>>"$_keys_lock"; } 2>/dev/null; then
	if flock -n -x "$_keys_fd"; then
		keyctl rlist @u >"$_keys_lock.base" 2>/dev/null
	fi
	flock -s "$_keys_fd"
	_keys_start=$(keyctl rlist @u 2>/dev/null)
else
	_keys_fd=
fi

# _keys_new KEEP: ids of the keys with our prefix not listed in KEEP.
_keys_new() {
	local id desc
	for id in $(keyctl rlist @u 2>/dev/null); do
		case " $1 " in *" $id "*) continue ;; esac
		desc=$(keyctl rdescribe "$id" 2>/dev/null) || continue
		case ${desc%%;*}:${desc#*;*;*;*;} in
		user:"$_keys_prefix"*) printf '%s ' "$id" ;;
		esac
	done
}

_keys_cleanup() {
	local id base
	test -n "$_keys_fd" || return 0
	if test -n "$(_keys_new "$_keys_start")" && test -x "$SNAPSEAL"; then
		(cd "$TRASH_DIRECTORY" && SNAPSEAL_HOME=$TRASH_DIRECTORY/home \
			"$SNAPSEAL" unload-key -a) >>"$TEST_LOG" 2>&1 </dev/null
	fi
	flock -n -x "$_keys_fd" || return 0
	base=$(cat "$_keys_lock.base" 2>/dev/null) || base=$_keys_start
	for id in $(_keys_new "$base"); do
		keyctl invalidate "$id" 2>/dev/null
	done
	flock -u "$_keys_fd"
}

# ---------- prerequisites ----------

declare -A _prereq=() _lazy=()

test_set_prereq() {
	_prereq[$1]=yes
}

# test_lazy_prereq NAME 'script': NAME holds if the script succeeds; it is
# run once, on first use, in a subshell and a scratch directory beside the
# trash directory (same filesystem).
test_lazy_prereq() {
	_lazy[$1]=$2
}

_prereq_eval() {
	local dir=$TEST_ROOT/prereq-$1
	test -z "${_prereq[$1]:-}" || return 0
	_prereq[$1]=no
	test -n "${_lazy[$1]:-}" || return 0
	mkdir -p "$dir" &&
	(cd "$dir" && eval "${_lazy[$1]}") >/dev/null 2>&1 </dev/null &&
	_prereq[$1]=yes
	rm -rf "$dir"
	test -z "$verbose" || echo "# lazy prereq $1: ${_prereq[$1]}"
}

# test_have_prereq 'A,!B': all of A and none of B.  Sets $_missing.
test_have_prereq() {
	local p name want list
	_missing=
	IFS=, read -ra list <<<"$1"
	for p in "${list[@]}"; do
		name=${p#!} want=yes
		test "$name" = "$p" || want=no
		_prereq_eval "$name"
		test "${_prereq[$name]}" = "$want" || _missing=${_missing:+$_missing,}$p
	done
	test -z "$_missing"
}

test_lazy_prereq ROOT 'test "$(id -u)" = 0'
test_lazy_prereq XATTR '
	touch f && setfattr -n user.snapseal.test -v 1 f &&
	getfattr -n user.snapseal.test f
'
test_lazy_prereq SPARSE 'truncate -s 10M f && test "$(du -k f | cut -f1)" -lt 1024'
test_lazy_prereq KEYRING '
	id=$(keyctl add user "snapseal-test-probe:$$" x @u) &&
	keyctl invalidate "$id"
'
test_lazy_prereq MKNOD 'mknod null c 1 3'
# XXHASH: python3 can call libxxhash (tests/tool/packtool.py resum).
test_lazy_prereq XXHASH '
	python3 -c "import ctypes, ctypes.util, sys
sys.exit(0 if ctypes.util.find_library(\"xxhash\") else 1)"
'

# UNCACHED: RWF_DONTCACHE (Linux 6.14) is what keeps the large files a
# snapshot reads out of the cache; fincore reports what is cached; dd
# iflag=nocache drops a file's pages (POSIX_FADV_DONTNEED), which a tmpfs
# cannot.
test_lazy_prereq UNCACHED '
	fincore --version >/dev/null &&
	test "$(stat -f -c %T .)" != tmpfs &&
	v=$(uname -r | sed "s/^\([0-9]*\)\.\([0-9]*\).*/\1 \2/") &&
	set -- $v &&
	test "$1" -gt 6 -o \( "$1" = 6 -a "$2" -ge 14 \) &&
	head -c 1M /dev/urandom >probe && sync probe &&
	dd if=probe iflag=nocache count=0 status=none &&
	test "$(fincore --bytes --noheadings --output RES probe | tr -d " ")" = 0
'

# cached FILE...: the bytes of each FILE in the page cache, one a line.
cached() {
	fincore --bytes --noheadings --output RES "$@" | tr -d " "
}

# drop FILE...: write FILE out and drop its pages.
drop() {
	sync "$@" &&
	for f in "$@"
	do
		dd if="$f" iflag=nocache count=0 status=none || return 1
	done
}

# ---------- running tests ----------

# _eval_body BODY: eval BODY in this shell (variables it sets persist, like
# git), stdin /dev/null, output to $TEST_LOG, then run its cleanups.
_eval_body() {
	local _b=$1 _c
	set --
	_test_cleanup=() _in_test=t
	{
		eval "${trace:+set -x;}$_b"
		{ _ret=$? && set +x; } 2>/dev/null
	} >"$TEST_LOG" 2>&1 </dev/null
	_in_test=
	if test "$_ret" = 0 || test -z "$immediate"; then
		for _c in "${_test_cleanup[@]}"; do
			{
				eval "${trace:+set -x;}$_c"
				{ _c=$? && set +x; } 2>/dev/null
			} >>"$TEST_LOG" 2>&1 </dev/null
			test "$_c" = 0 || test "$_ret" != 0 || _ret=$_c
		done
	fi
	cd "$TRASH_DIRECTORY" || _bug "cannot go back to $TRASH_DIRECTORY"
	return "$_ret"
}

_run_test() {
	# Underscored: the body runs inside this function and sees its locals.
	local _kind=$1 _title=$3 _body=$4 _r
	test_count=$((test_count + 1))
	if test -n "$2" && ! test_have_prereq "$2"; then
		test_skipped=$((test_skipped + 1))
		echo "ok $test_count # skip $_title (missing $_missing)"
		return 0
	fi
	test -z "$verbose" || printf '# expecting %s: %s\n' "$_kind" "$_body"
	_eval_body "$_body"
	_r=$?
	test -z "$verbose" || sed 's/^/# /' "$TEST_LOG"
	if test "$_r" = 0; then
		if test "$_kind" = success; then
			echo "ok $test_count - $_title"
		else
			test_fixed=$((test_fixed + 1))
			echo "ok $test_count - $_title # TODO known breakage vanished"
		fi
		return 0
	fi
	if test "$_kind" = failure; then
		test_broken=$((test_broken + 1))
		echo "not ok $test_count - $_title # TODO known breakage"
		return 0
	fi
	test_failed=$((test_failed + 1))
	echo "not ok $test_count - $_title"
	{
		printf '%s\n' "--- failed: $TEST_NAME $test_count - $_title" "$_body"
		echo "--- output:"
		cat "$TEST_LOG"
	} | sed 's/^/# /' >&2
	test -z "$immediate" || { _finish; exit 1; }
}

# test_expect_success [PREREQS] 'title' 'body'
test_expect_success() {
	test $# = 3 || set -- "" "$@"
	test $# = 3 || _bug "test_expect_success needs 2 or 3 arguments"
	_run_test success "$@"
}

# test_expect_failure [PREREQS] 'title' 'body': a known breakage (TAP TODO).
test_expect_failure() {
	test $# = 3 || set -- "" "$@"
	test $# = 3 || _bug "test_expect_failure needs 2 or 3 arguments"
	_run_test failure "$@"
}

# test_when_finished 'cmd': run cmd after the current test, pass or fail
# (last registered runs first).  A failing cmd fails the test.
test_when_finished() {
	test -n "$_in_test" || _bug "test_when_finished outside a test"
	if test "$BASH_SUBSHELL" != 0; then
		echo "bug in the test script: test_when_finished in a subshell" >&2
		return 1
	fi
	_test_cleanup=("$*" "${_test_cleanup[@]}")
}

# ---------- assertions ----------

# test_must_fail CMD...: CMD (snapseal or sstool, not a system command)
# must exit 1..125.  Success, "not found" (126, 127) and death by a signal
# (>= 128: a crash, a sanitizer abort) are failures.
test_must_fail() {
	"$@"
	local code=$?
	if test $code = 0; then
		echo "test_must_fail: command succeeded: $*" >&2
	elif test $code -ge 128; then
		echo "test_must_fail: died of signal $((code - 128)) (exit $code): $*" >&2
	elif test $code -ge 126; then
		echo "test_must_fail: command not found or not runnable: $*" >&2
	else
		return 0
	fi
	return 1
}

# test_expect_code N CMD...: CMD must exit with exactly N.
test_expect_code() {
	local want=$1 code
	shift
	"$@"
	code=$?
	test "$code" = "$want" && return 0
	echo "test_expect_code: exit $code, wanted $want: $*" >&2
	return 1
}

# test_cmp EXPECTED ACTUAL: the files are equal (diff -u on failure).
test_cmp() {
	test $# = 2 || _bug "test_cmp needs 2 arguments"
	diff -u "$@"
}

# test_grep [!] [GREP-OPTIONS] PATTERN FILE: with "!", must not match.
# On failure, says what was looked for and shows the file.
test_grep() {
	local neg='' code file
	if test "$1" = "!"; then neg=t; shift; fi
	test $# -ge 2 || _bug "test_grep needs a pattern and a file"
	file=${!#}
	grep "$@" >/dev/null
	code=$?
	if test -n "$neg" && test $code = 1; then return 0; fi
	if test -z "$neg" && test $code = 0; then return 0; fi
	echo "test_grep: '${neg:+! }grep $*' failed (grep exit $code); $file is:" >&2
	if test -s "$file"; then cat "$file" >&2; else echo "<empty or missing>" >&2; fi
	return 1
}

# test_line_count OP N FILE: e.g. test_line_count = 3 out.
# test_error FILE VERB NAME DETAIL-ERE: FILE holds exactly one line,
# "cannot VERB 'NAME': DETAIL", DETAIL matching the extended regex.
test_error() {
	local line
	test_line_count = 1 "$1" || { cat "$1" >&2; return 1; }
	line=$(cat "$1")
	case $line in
	"cannot $2 '$3': "*) ;;
	*)
		echo "test_error: wanted \"cannot $2 '$3': ...\", got: $line" >&2
		return 1
		;;
	esac
	printf '%s\n' "${line#"cannot $2 '$3': "}" | grep -E -q -e "$4" && return 0
	echo "test_error: detail does not match /$4/: $line" >&2
	return 1
}

test_line_count() {
	test $# = 3 || _bug "test_line_count needs 3 arguments"
	local n
	n=$(wc -l <"$3") || return 1
	test "$n" "$1" "$2" && return 0
	echo "test_line_count: $3 has $n lines, wanted $1 $2" >&2
	return 1
}

# wait_stopped PID: wait (up to 60 s) until PID is stopped (SIGSTOP).
wait_stopped() {
	local i=0 st
	while [ $i -lt 600 ]; do
		st=$(sed "s/.*) //" "/proc/$1/stat" 2>/dev/null | cut -d" " -f1)
		[ "$st" = T ] && return 0
		[ -e "/proc/$1" ] || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# ---------- the end ----------

_finish() {
	_done=t
	_keys_cleanup
	if test "$test_failed" != 0 || test -n "$debug"; then
		echo "# trash directory kept: $TRASH_DIRECTORY" >&2
	else
		cd / && rm -rf "$TEST_ROOT"
	fi
}

test_done() {
	test "$test_fixed" = 0 || echo "# $test_fixed known breakage(s) vanished"
	test "$test_broken" = 0 || echo "# still have $test_broken known breakage(s)"
	test "$test_skipped" = 0 || echo "# skipped $test_skipped test(s)"
	echo "1..$test_count"
	_finish
	if test "$test_failed" != 0; then
		echo "# failed $test_failed among $test_count test(s)"
		exit 1
	fi
	exit 0
}

_on_exit() {
	local code=$?
	test -z "$_done" || return 0
	debug=t _finish
	echo "# FATAL: $TEST_NAME exited (code $code) without test_done" >&2
	test "$code" != 0 || exit 1
}
trap _on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
