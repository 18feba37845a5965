#!/bin/sh
# fuzz.sh: build and run the libFuzzer targets of tests/fuzz/ (clang).
#   scripts/fuzz.sh build            build every target into build/fuzz/
#   scripts/fuzz.sh replay           build; run every target once over its
#                                    committed corpus, then fuzz each one for
#                                    FUZZ_SHORT (10) seconds on a throwaway
#                                    copy.  What `make check` runs.
#   scripts/fuzz.sh long [SECONDS]   build; fuzz each target SECONDS (300)
#                                    and print the executions it survived.
#                                    The corpus grows in build/fuzz/corpus/.
#   scripts/fuzz.sh corpus           rewrite tests/fuzz/corpus/ (gen_corpus);
#                                    fuzz_receive's after a change of the
#                                    stream format (FUZZ_TARGETS=fuzz_receive
#                                    for that one alone)
#   scripts/fuzz.sh minimize TARGET CRASH
#                                    minimise a crashing input into
#                                    tests/fuzz/crashes/ and add it to the
#                                    target's corpus, so replay guards it.
# The library is compiled with the Makefile's flags plus ASan, UBSan and
# libFuzzer's coverage instrumentation into build/fuzz/lib/; only sources
# older than their objects (and than every header) are reused.
# Environment: CLANG (clang), FUZZ_BUILD (build/fuzz), FUZZ_SHORT (10),
# FUZZ_JOBS (nproc) parallel compilations, FUZZ_TARGETS (all) the targets
# to build and run, e.g. FUZZ_TARGETS=fuzz_receive scripts/fuzz.sh long.
# A target may print "TARGET: known bug, ..." lines at exit (bugs with a
# reproducer in its corpus that are not fixed yet); they are shown.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd -P)
self=$root/scripts/fuzz.sh
cd "$root"

CLANG=${CLANG:-clang}
B=${FUZZ_BUILD:-build/fuzz}
ALL_TARGETS="fuzz_dir fuzz_object fuzz_wrapped fuzz_decompress fuzz_stream \
fuzz_receive"
TARGETS=${FUZZ_TARGETS:-$ALL_TARGETS}
PKGS="libcrypto libzstd liblz4 libxxhash sqlite3 libkeyutils"
WARN="-Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
-Wmissing-prototypes -Wvla -Wno-unused-parameter"
CPPFLAGS="-Iinclude -Ilib -I. -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
CFLAGS="-std=c17 -O1 -g -fno-omit-frame-pointer $SAN $WARN -pthread"
ASAN_OPTIONS=${FUZZ_ASAN_OPTIONS:-detect_leaks=1}
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS UBSAN_OPTIONS

die() {
	echo "fuzz: $*" >&2
	exit 1
}

for t in $TARGETS; do
	case " $ALL_TARGETS " in
	*" $t "*) ;;
	*) die "FUZZ_TARGETS: unknown target '$t' (one of: $ALL_TARGETS)" ;;
	esac
done

pkgflags() {
	# shellcheck disable=SC2086
	pkg-config "$1" $PKGS 2>/dev/null || die "pkg-config $1 failed ($PKGS)"
}

# stale OUT IN...: true if OUT is missing or older than an IN or a header.
# (POSIX sh has no local variables: each function uses its own names.)
stale() {
	st_out=$1
	shift
	[ -f "$st_out" ] || return 0
	for st_f in "$@" include/*.h lib/*/*.h tests/fuzz/*.h; do
		# -nt is not POSIX, but dash, bash and busybox sh have it.
		# shellcheck disable=SC3013
		[ "$st_f" -nt "$st_out" ] && return 0
	done
	return 1
}

# cc_lib SRC: compile one library source (run in parallel through xargs).
cc_lib() {
	obj=$B/${1%.c}.o
	mkdir -p "$(dirname "$obj")"
	# shellcheck disable=SC2046,SC2086
	$CLANG $CPPFLAGS $CFLAGS -fsanitize=fuzzer-no-link \
	    $(pkgflags --cflags) -c -o "$obj" "$1"
}

build() {
	command -v "$CLANG" >/dev/null 2>&1 ||
		die "$CLANG not found (scripts/deps.sh build installs clang)"
	mkdir -p "$B"
	# Flags changed since the last build: start over.
	flags="$CLANG $CPPFLAGS $CFLAGS"
	if [ ! -f "$B/flags" ] || [ "$(cat "$B/flags")" != "$flags" ]; then
		rm -rf "${B:?}/lib" "${B:?}/libsnapseal-fuzz.a"
		printf '%s\n' "$flags" >"$B/flags"
	fi
	srcs=
	for s in lib/*/*.c; do
		stale "$B/${s%.c}.o" "$s" && srcs="$srcs $s"
	done
	if [ -n "$srcs" ]; then
		echo "fuzz: compiling$srcs"
		# shellcheck disable=SC2086
		printf '%s\n' $srcs | xargs -P "${FUZZ_JOBS:-$(nproc)}" -n 1 \
		    "$self" __cc_lib || die "compiling the library failed"
	fi
	objs=
	for s in lib/*/*.c; do
		objs="$objs $B/${s%.c}.o"
	done
	lib=$B/libsnapseal-fuzz.a
	# shellcheck disable=SC2086
	if stale "$lib" $objs; then
		rm -f "$lib"
		# shellcheck disable=SC2086
		ar rcs "$lib" $objs
	fi
	libs=$(pkgflags --libs)
	for bt in $TARGETS gen_corpus; do
		stale "$B/$bt" "tests/fuzz/$bt.c" "$lib" || continue
		echo "fuzz: linking $B/$bt"
		case $bt in
		gen_corpus) fz=-fsanitize=fuzzer-no-link ;;
		*) fz=-fsanitize=fuzzer ;;
		esac
		# shellcheck disable=SC2046,SC2086
		$CLANG $CPPFLAGS $CFLAGS $fz $(pkgflags --cflags) \
		    -o "$B/$bt" "tests/fuzz/$bt.c" "$lib" $libs ||
			die "building $bt failed"
	done
}

# gen_corpus DIR: write the seed corpora of every target under DIR.
gen_corpus() {
	"$B/gen_corpus" "$1" || die "gen_corpus failed"
}

# corpus_of T: the committed corpus of target T (generated if empty).
corpus_of() {
	c=tests/fuzz/corpus/$1
	if [ -z "$(ls -A "$c" 2>/dev/null)" ]; then
		echo "fuzz: $c is empty: generating the seed corpora" >&2
		gen_corpus tests/fuzz/corpus
	fi
	echo "$c"
}

# run T LOG ARGS...: run target T with common options, output in LOG.
run() {
	t=$1
	log=$2
	shift 2
	mkdir -p "$B/artifacts"
	"$B/$t" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$B/artifacts/$t-" "$@" >"$log" 2>&1
}

# fail T LOG WHAT: show why T failed: the report and its stack.
fail() {
	echo "fuzz: $1: FAILED ($3); from $2:" >&2
	pat='ERROR:|runtime error|property violated|deadly signal|Timeout'
	start=$(grep -n -m 1 -E "$pat|out-of-memory" "$2" | cut -d: -f1)
	if [ -n "$start" ]; then
		# The report and its stacks, without the shadow byte dump.
		sed -n "$start,$((start + 40))p" "$2" |
		    grep -v '^  0x\|^=>0x' >&2
	else
		tail -n 30 "$2" >&2
	fi
	artifacts=$(grep -o "Test unit written to .*" "$2" || true)
	[ -z "$artifacts" ] || echo "fuzz: $1: $artifacts" >&2
}

# notes T LOG: the known bugs T reported (see the header).
notes() {
	grep "^$1: known bug" "$2" | sed 's/^/fuzz: /' || true
}

# execs LOG: number of inputs run, from libFuzzer's final statistics.
execs() {
	n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$1" | tail -n 1)
	[ -n "$n" ] ||
		n=$(sed -n 's/^#\([0-9][0-9]*\).*DONE.*/\1/p' "$1" | tail -n 1)
	echo "${n:-?}"
}

replay() {
	build
	short=${FUZZ_SHORT:-10}
	bad=0
	for t in $TARGETS; do
		c=$(corpus_of "$t")
		log=$B/$t.replay.log
		nfiles=$(find "$c" -type f | wc -l)
		if ! run "$t" "$log" -runs=0 "$c"; then
			fail "$t" "$log" "replay of $c"
			bad=1
			continue
		fi
		tmp=$(mktemp -d "${TMPDIR:-/tmp}/snapseal-fuzz.XXXXXX")
		log=$B/$t.short.log
		if run "$t" "$log" -max_total_time="$short" "$tmp" "$c"; then
			echo "fuzz: $t: $nfiles corpus inputs replayed;" \
			    "$(execs "$log") executions in ${short}s, no crash"
			notes "$t" "$log"
		else
			fail "$t" "$log" "short fuzzing run"
			bad=1
		fi
		rm -rf "$tmp"
	done
	[ "$bad" -eq 0 ] || die "a fuzz target failed (see above)"
}

long() {
	secs=${1:-300}
	case $secs in
	'' | *[!0-9]*) die "long: SECONDS must be a number" ;;
	esac
	build
	bad=0
	for t in $TARGETS; do
		c=$(corpus_of "$t")
		work=$B/corpus/$t
		mkdir -p "$work"
		log=$B/$t.long.log
		echo "fuzz: $t: fuzzing for ${secs}s (log $log)"
		if run "$t" "$log" -max_total_time="$secs" "$work" "$c"; then
			echo "fuzz: $t: survived $(execs "$log") executions" \
			    "in ${secs}s ($(find "$work" -type f | wc -l)" \
			    "inputs in $work)"
			notes "$t" "$log"
		else
			fail "$t" "$log" \
			    "crash after $(execs "$log") executions"
			bad=1
		fi
	done
	[ "$bad" -eq 0 ] || die "a fuzz target crashed: minimise with" \
	    "scripts/fuzz.sh minimize TARGET ARTIFACT"
}

minimize() {
	[ $# -eq 2 ] || die "usage: scripts/fuzz.sh minimize TARGET CRASH"
	mt=$1
	mc=$2
	case " $ALL_TARGETS " in
	*" $mt "*) ;;
	*) die "minimize: unknown target '$mt' (one of: $ALL_TARGETS)" ;;
	esac
	[ -f "$mc" ] || die "$mc: no such file"
	TARGETS=$mt build
	mkdir -p tests/fuzz/crashes "tests/fuzz/corpus/$mt"
	mo=tests/fuzz/crashes/$mt-$(sha1sum "$mc" | cut -c1-16)
	"$B/$mt" -minimize_crash=1 -runs=100000 -exact_artifact_path="$mo" \
	    "$mc" >"$B/$mt.minimize.log" 2>&1 || true
	[ -f "$mo" ] || cp "$mc" "$mo"
	cp "$mo" "tests/fuzz/corpus/$mt/"
	echo "fuzz: minimised reproducer: $mo ($(wc -c <"$mo") bytes):"
	od -An -tx1 -v "$mo" | head -n 16
	"$B/$mt" "$mo" >"$B/$mt.repro.log" 2>&1 &&
		die "$mo does not crash $mt"
	fail "$mt" "$B/$mt.repro.log" "reproducer"
}

case ${1:-} in
__cc_lib) cc_lib "$2" ;;
build) build ;;
replay) replay ;;
long) shift; long "${1:-300}" ;;
corpus)
	build
	rm -rf "${B:?}/corpus.new"
	gen_corpus "$B/corpus.new"
	for t in $TARGETS; do
		# Replace the seeds; keep reproducers of past crashes.
		mkdir -p "tests/fuzz/corpus/$t"
		cp "$B/corpus.new/$t"/* "tests/fuzz/corpus/$t/"
	done
	rm -rf "${B:?}/corpus.new"
	;;
minimize) shift; minimize "$@" ;;
*)
	sed -n '2,/^set -eu/p' "$self" | sed '$d' | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
