#!/bin/sh
# run-tests.sh BUILDDIR [TEST...]: run tests with prove (TAP), two at a time.
#   With no TEST: every unit test binary in BUILDDIR/tests/unit/ and every
#   tests/e2e/t*.sh.  A TEST is a unit binary or an e2e script.
#   Exits non-zero if anything fails.  TEST_JOBS overrides -j2.
# The programs under test are BUILDDIR/snapseal and BUILDDIR/sstool; the
# sanitizers abort on the first report, so a crash or a leak always fails.
set -eu

# prove runs each test as "run-tests.sh --exec-one FILE": e2e scripts with
# bash (whatever their mode bits), everything else directly.
if [ "${1:-}" = --exec-one ]; then
	shift
	case $1 in
	*.sh) exec bash "$@" ;;
	*) exec "$@" ;;
	esac
fi

if [ $# -lt 1 ] || [ ! -d "$1" ]; then
	echo "usage: scripts/run-tests.sh BUILDDIR [TEST...]" >&2
	exit 2
fi
self=$(cd "$(dirname "$0")" && pwd -P)/$(basename "$0")
root=$(cd "$(dirname "$0")/.." && pwd -P)
build=$(cd "$1" && pwd -P)
shift

SNAPSEAL=$build/snapseal
SSTOOL=$build/sstool
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1
export SNAPSEAL SSTOOL ASAN_OPTIONS UBSAN_OPTIONS
for p in "$SNAPSEAL" "$SSTOOL"; do
	[ -x "$p" ] || echo "run-tests: warning: $p is not built" >&2
done

if [ $# -eq 0 ]; then
	cd "$root"
	for t in "$build"/tests/unit/test_* tests/e2e/t[0-9]*.sh; do
		case $t in *.o | *.d) continue ;; esac
		[ -f "$t" ] || continue
		set -- "$@" "${t#"$root"/}"
	done
	[ $# -gt 0 ] || { echo "run-tests: no tests found" >&2; exit 1; }
fi

case $self in
*[[:space:]]*) exec prove -j"${TEST_JOBS:-2}" -e '' "$@" ;;
*) exec prove -j"${TEST_JOBS:-2}" --exec "$self --exec-one" "$@" ;;
esac
