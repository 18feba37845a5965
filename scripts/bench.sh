#!/usr/bin/env bash
# snapseal against restic (and borg) on the same corpus, in the same run.
#
#   scripts/bench.sh [BUILDDIR]        (make bench: BUILDDIR=build/release)
#
# Environment: BENCH_SCALE (1: a corpus of about 3.4 GB, the Linux source
# tree of Debian's linux-source-6.1 and a 2 GiB disk image), BENCH_RUNS (3),
# BENCH_DIR (/tmp/snapseal-bench: corpus, repositories, logs), BENCH_OUT
# (build/bench-results.md), BENCH_BORG (1; 0 skips borg), BENCH_COMPRESSION
# (snapseal's compression property; empty: its default), BENCH_MANY
# (1000000 tiny files for the many-files rows; 0 skips them),
# BENCH_MANY_RUNS (1), BENCH_MANY_BORG (1; 0 leaves borg out of them),
# BENCH_SRC (linux; gen: the generated tree instead of the Linux one),
# BENCH_KEEP (auto: keep every restore until the end if the disk has room;
# 1, 0), BENCH_SETTLE (360: seconds between deleting a restore and the next
# timed restore, when restores are not kept), BENCH_FLOORS (1; 0 skips the
# floors).  See docs/benchmarks.md for what every figure means.
#
# For each run and each tool, on a fresh repository: a first snapshot, a
# second with no change, the small change (scripts/bench-corpus.sh) and a
# third snapshot, a full restore of the third, verified with `sstool digest`
# against the changed corpus.  Then the streams, on the same repository:
# snapseal's full raw send of the first snapshot piped into receive into a
# second pool in its own SNAPSEAL_HOME (the server), and the raw incremental
# from the first to the third snapshot into it; restic's equivalent is
# `restic copy` of the same snapshots into a second repository (initialised
# with --copy-chunker-params); borg has none.  Then the corpus is changed
# back.  Each timed step (the command, then sync) is run by a tiny wait4()
# wrapper (built here with cc) that records its wall time and peak RSS (each
# side of a send | receive pipe has its own); the page cache is dropped
# before each when we may.
# Then the many-files tree (BENCH_MANY tiny files, scripts/bench-corpus.sh
# many): for each tool, on a fresh repository, a first snapshot and a
# no-change snapshot, timed with their peak RSS; the repository is deleted
# right after.
# In every run, before the tools, the floors (BENCH_FLOORS=0 skips them):
# what the kernel and the disk take for the bare I/O of four jobs, with no
# work of any tool's own (see floors below); and after snapseal's restore,
# the restore floor again while its packs are read, and after its streams
# its packs copied.
# The table holds medians over the runs, and issue 4's targets (met or
# not), then the floors next to what the targets ask.  Exit status 1 if
# any step failed or any restore differed from the corpus.
set -eu

die() { echo "bench: $*" >&2; exit 1; }

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build/release}
[ -d "$build" ] || die "no build directory '$build' (run make all first)"
build=$(cd "$build" && pwd)
SS=$build/snapseal
SSTOOL=$build/sstool
[ -x "$SS" ] && [ -x "$SSTOOL" ] || die "$build has no snapseal or sstool"

BD=${BENCH_DIR:-/tmp/snapseal-bench}
mkdir -p "$BD"
BD=$(cd "$BD" && pwd)
export BENCH_DIR=$BD
RUNS=${BENCH_RUNS:-3}
case $RUNS in '' | *[!0-9]* | 0) die "BENCH_RUNS must be a positive integer" ;; esac
MANY=${BENCH_MANY:-1000000}
case $MANY in '' | *[!0-9]*) die "BENCH_MANY must be a number of files (0: none)" ;; esac
MANY=$((10#$MANY))
MANY_RUNS=${BENCH_MANY_RUNS:-1}
case $MANY_RUNS in '' | *[!0-9]* | 0) die "BENCH_MANY_RUNS must be a positive integer" ;; esac
OUT=${BENCH_OUT:-build/bench-results.md}
command -v restic >/dev/null ||
	die "restic is not installed: run 'make bench' as root (scripts/deps.sh bench installs it) or apt-get install restic"
tools="snapseal restic"
borg_note=
if [ "${BENCH_BORG:-1}" = 0 ]; then
	borg_note="borg: skipped (BENCH_BORG=0)"
elif command -v borg >/dev/null; then
	tools="$tools borg"
else
	borg_note="borg: not installed, skipped (apt-get install borgbackup)"
fi
many_tools=$tools
many_note=
case " $tools " in *" borg "*)
	if [ "${BENCH_MANY_BORG:-1}" = 0 ]; then
		many_tools="snapseal restic"
		many_note="borg: left out of the many-files rows (BENCH_MANY_BORG=0)"
	fi ;;
esac

corpus_sh() { "$root/scripts/bench-corpus.sh" "$SSTOOL" "$@"; }
CORPUS=$BD/corpus
MANY_DIR=$BD/many	# the many-files tree
DATA=$CORPUS		# what the tools back up: CORPUS, or MANY_DIR
WORK=$BD/work
LOGS=$BD/logs
RESULTS=$BD/results.tsv	# TOOL RUN KEY VALUE, one measure a line

# ---------- the wait4() wrapper: wall time and peak RSS of one command -------

runm=$BD/bin/runm
build_runm() {
	mkdir -p "$BD/bin"
	cat >"$BD/bin/runm.c.new" <<'EOF'
/* runm OUT CMD [ARG]...: run CMD; write "SECONDS MAXRSS_KIB CPU_SECONDS"
 * to OUT (CPU: user + system, CMD's and that of the children it waited
 * for); exit with CMD's status (128 + signal if killed). */
#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct timespec a, b;
	struct rusage ru;
	int st;
	pid_t pid;
	FILE *f;

	if (argc < 3) {
		fputs("usage: runm OUT CMD [ARG]...\n", stderr);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	pid = fork();
	if (pid < 0) {
		perror("runm: fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	while (wait4(pid, &st, 0, &ru) < 0)
		if (errno != EINTR) {
			perror("runm: wait4");
			return 2;
		}
	clock_gettime(CLOCK_MONOTONIC, &b);
	f = fopen(argv[1], "w");
	if (f == NULL || fprintf(f, "%.3f %ld %.3f\n",
	    (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9,
	    ru.ru_maxrss, (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6) < 0 ||
	    fclose(f) != 0) {
		perror(argv[1]);
		return 2;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
EOF
	if [ -x "$runm" ] && cmp -s "$BD/bin/runm.c.new" "$BD/bin/runm.c"; then
		rm -f "$BD/bin/runm.c.new"
		return 0
	fi
	mv "$BD/bin/runm.c.new" "$BD/bin/runm.c"
	${CC:-cc} -O2 -o "$runm" "$BD/bin/runm.c" ||
		die "cannot compile $BD/bin/runm.c"
}

# ---------- page cache ----------

drop_caches=0
if [ "$(id -u)" -eq 0 ] && sync &&
    { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
	drop_caches=1
fi
cold() {
	sync
	if [ "$drop_caches" = 1 ]; then
		{ echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null || true
	fi
}

# ---------- the kernel keyring ----------

# snapseal keeps loaded keys in the user keyring, which every process of this
# uid shares.  The e2e harness (tests/e2e/lib.sh), when it ends, invalidates
# the snapseal keys that appeared while it ran, unless some other process
# holds this lock shared: hold it, so that a `make check` running meanwhile
# cannot unload our key between two snapshots.
keys_lock=${TEST_KEYRING_LOCK:-/tmp/snapseal-test-keyring.$(id -u).lock}
hold_keys_lock() {
	command -v flock >/dev/null || return 0
	{ exec {keys_fd}>>"$keys_lock"; } 2>/dev/null || return 0
	flock -s "$keys_fd"
}

# ---------- the tools: commands in the array cmd ----------

export SNAPSEAL_HOME=$WORK/snapseal-home
export RESTIC_CACHE_DIR=$WORK/restic-cache
export RESTIC_PASSWORD=snapseal-bench-password
export BORG_BASE_DIR=$WORK/borg-base
export BORG_PASSPHRASE=snapseal-bench-password
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes BORG_DISPLAY_PASSPHRASE=no
unset RESTIC_REPOSITORY RESTIC_REPOSITORY_FILE RESTIC_PASSWORD_FILE \
    RESTIC_PASSWORD_COMMAND RESTIC_FROM_REPOSITORY RESTIC_FROM_REPOSITORY_FILE \
    RESTIC_FROM_PASSWORD RESTIC_FROM_PASSWORD_FILE RESTIC_FROM_PASSWORD_COMMAND \
    RESTIC_FROM_KEY_HINT BORG_REPO BORG_PASSCOMMAND BORG_PASSPHRASE_FD
DS=bench/ds
COMPRESSION=${BENCH_COMPRESSION:-}	# empty: snapseal's default
KEY=$WORK/snapseal.key

repo_of() {
	case $1 in
	snapseal) echo "$SNAPSEAL_HOME/bench" ;;
	*) echo "$WORK/$1-repo" ;;
	esac
}

# init_cmd TOOL, backup_cmd TOOL SNAP, restore_cmd TOOL SNAP DIR
init_cmd() {
	case $1 in
	snapseal) cmd=(sh -c '"$1" pool create -m "$2" bench &&
		"$1" create -o encryption=on -o keyformat=raw \
		    -o keylocation="file://$3" -o mountpoint="$4" \
		    ${6:+-o compression="$6"} "$5"' \
		sh "$SS" "$WORK/mnt" "$KEY" "$DATA" "$DS" "$COMPRESSION") ;;
	restic) cmd=(restic init -q -r "$(repo_of restic)") ;;
	borg) cmd=(borg init -e repokey "$(repo_of borg)") ;;
	esac
}
backup_cmd() {
	case $1 in
	snapseal) cmd=("$SS" snapshot "$DS@$2") ;;
	restic) cmd=(restic -q -r "$(repo_of restic)" backup --tag "$2" \
		"$DATA") ;;
	borg) cmd=(borg create --compression lz4 "$(repo_of borg)::$2" \
		"$DATA") ;;
	esac
}
restore_cmd() {
	case $1 in
	snapseal) cmd=("$SS" restore "$DS@$2" "$3") ;;
	restic) cmd=(restic -q -r "$(repo_of restic)" restore latest \
		--target "$3") ;;
	borg) cmd=(sh -c 'mkdir -p "$1" && cd "$1" && exec borg extract "$2"' \
		sh "$3" "$(repo_of borg)::$2") ;;
	esac
}
# restored_root TOOL DIR: where the corpus is inside a restore into DIR
restored_root() {
	case $1 in
	snapseal) echo "$2" ;;
	*) echo "$2$CORPUS" ;;	# restic and borg keep the absolute path
	esac
}

# The streams' destination: snapseal's server pool (its own home, so that
# the key loaded for the source is not there, as on another machine), and
# restic's second repository.  borg has no equivalent of either.
SRV_HOME=$WORK/snapseal-server
SRV_DS=srv/ds
COPY_REPO=$WORK/restic-copy
PASSFILE=$WORK/restic-password
PIPE=$BD/pipe	# PIPE.send, PIPE.recv: "SECONDS MAXRSS_KIB" of each side

has_streams() { [ "$1" != borg ]; }

# stream_init_cmd TOOL: create the destination (not timed)
stream_init_cmd() {
	case $1 in
	snapseal) cmd=(env SNAPSEAL_HOME="$SRV_HOME" "$SS" pool create \
		-m "$WORK/srv-mnt" srv) ;;
	restic) cmd=(sh -c 'printf "%s\n" "$RESTIC_PASSWORD" >"$1" &&
		exec restic init -q -r "$2" --copy-chunker-params \
		    --from-repo "$3" --from-password-file "$1"' \
		sh "$PASSFILE" "$COPY_REPO" "$(repo_of restic)") ;;
	esac
}
# stream_cmd TOOL SNAP [BASE]: send SNAP (incremental from BASE) into the
# destination; for snapseal each side of the pipe runs under runm (no send
# -v: it makes send estimate the stream's size first, a pass of its own;
# receive -v only counts the stream's bytes, printed at the end)
stream_cmd() {
	case $1 in
	snapseal) cmd=(bash -c 'set -o pipefail
		"$1" "$2.send" "$3" send -w ${7:+-i "@$7"} "$4" |
		    SNAPSEAL_HOME="$5" "$1" "$2.recv" "$3" receive -v "$6"' \
		sh "$runm" "$PIPE" "$SS" "$DS@$2" "$SRV_HOME" "$SRV_DS" \
		"${3:-}") ;;
	restic) cmd=(restic -q -r "$COPY_REPO" copy --from-repo \
		"$(repo_of restic)" --from-password-file "$PASSFILE" \
		--tag "$2") ;;
	esac
}
# stream_dest TOOL: the destination's directory
stream_dest() {
	case $1 in
	snapseal) echo "$SRV_HOME" ;;
	restic) echo "$COPY_REPO" ;;
	esac
}

forget_tool() {
	if [ "$1" = snapseal ] && [ -d "$SNAPSEAL_HOME/bench" ]; then
		"$SS" unload-key "$DS" >/dev/null 2>&1 || true
	fi
	rm -rf "$WORK"
}

# ---------- one run of one tool ----------

# Restores are kept, not deleted, until the bench ends, when the disk has
# room for all of them (BENCH_KEEP=auto; 1 insists, 0 never keeps);
# otherwise each is deleted and the next timed restore waits (settle)
# until SETTLE seconds have passed since.  On ext4 without a journal (this
# VM's /tmp), the kernel will not reuse an inode deleted less than 60
# seconds ago, or 360 if its inode table block is dirty, which it is while
# a restore creates inodes next to it (recently_deleted): every inode a
# restore allocates then first skips over the ones deleted lately, and a
# restore within six minutes of deleting another took up to twice as
# long (docs/benchmarks.md, "What is measured", 5).  Whichever tool
# restores soonest after the previous tool's restore was deleted would pay
# the most.
SETTLE=${BENCH_SETTLE:-360}
KEPT=$BD/kept		# the restores kept until the end
keep_restores=0
last_rm=0
settle() {
	local left=$((last_rm + SETTLE - $(date +%s)))
	if [ "$left" -gt 0 ]; then
		echo "bench: waiting ${left}s after the last deletion" >&2
		sleep "$left"
	fi
}

# discard_restore DIR NAME: done with the restore in DIR: kept as NAME, or
# deleted
discard_restore() {
	if [ "$keep_restores" = 1 ] && mkdir -p "$KEPT" &&
	    mv "$1" "$KEPT/$2"; then
		return 0
	fi
	rm -rf "$1"
	last_rm=$(date +%s)
}

# choose_keep: whether to keep the restores (see above)
choose_keep() {
	local n need avail
	n=$(($(echo "$tools" | wc -w) + 2))	# the tools and the two floors
	need=$((n * RUNS * (bytes + bytes / 10) + (4 << 30)))
	avail=$(df -P -B1 "$BD" | awk 'NR == 2 { print $4 }')
	case ${BENCH_KEEP:-auto} in
	1) keep_restores=1 ;;
	0) keep_restores=0 ;;
	*) [ -n "$avail" ] && [ "$avail" -gt "$need" ] && keep_restores=1 ;;
	esac
	if [ -d "$KEPT" ]; then		# a run that was interrupted
		rm -rf "$KEPT"
		last_rm=$(date +%s)
	fi
	if [ "$keep_restores" = 1 ]; then
		keep_note="restores: kept until the end ($((need >> 30)) GiB), none deleted between timed restores"
	else
		keep_note="restores: each deleted, the next timed restore ${SETTLE}s later at least (no room to keep them: ${avail:-?} bytes free, $need needed)"
	fi
}
keep_note=

record() { printf '%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"; }

# step TOOL RUN PHASE CMD...: CMD then sync, on a cold cache, timed;
# records PHASE.s, PHASE.rss (KiB) and PHASE.cpu (user + system seconds).
# The sync makes the times comparable:
# snapseal restore ends with syncfs(), restic and borg fsync nothing they
# restore (all three fsync their repository writes).
step() {
	local t=$1 r=$2 p=$3 secs kib cpu log=$LOGS/$1-run$2-$3.log
	shift 3
	cold
	if ! "$runm" "$BD/step.out" sh -c '"$@" && sync' sh "$@" \
	    >"$log" 2>&1; then
		echo "bench: $t run $r: $p failed: $*" >&2
		tail -n 5 "$log" | sed 's/^/  | /' >&2
		record "$t" "$r" error "$p failed (log: $log)"
		return 1
	fi
	read -r secs kib cpu <"$BD/step.out"
	record "$t" "$r" "$p.s" "$secs"
	record "$t" "$r" "$p.rss" "$kib"
	record "$t" "$r" "$p.cpu" "$cpu"
}

# stream_step TOOL RUN PHASE SNAP [BASE]: step PHASE sending SNAP
# (incremental from BASE) into the destination; records besides PHASE.s and
# PHASE.rss: PHASE.bytes (snapseal: the stream's bytes, as receive -v
# counts them; restic: the bytes the copy added to its repository), PHASE.added
# (what the destination grew by), PHASE.send.rss and PHASE.recv.rss (each
# side of snapseal's pipe), PHASE.both.rss (their sum; restic: its copy)
stream_step() {
	local t=$1 r=$2 p=$3 before after n secs kib kib2 dest
	local log=$LOGS/$1-run$2-$3.log
	dest=$(stream_dest "$t")
	before=$(du -sb "$dest" | cut -f1)
	rm -f "$PIPE.send" "$PIPE.recv"
	stream_cmd "$t" "$4" "${5:-}"
	step "$t" "$r" "$p" "${cmd[@]}" || return 1
	read -r secs kib _ <"$BD/step.out"
	after=$(du -sb "$dest" | cut -f1)
	record "$t" "$r" "$p.added" "$((after - before))"
	case $t in
	snapseal)
		n=$(sed -n 's/^received .* stream of \([0-9]*\) bytes$/\1/p' \
		    "$log" | tail -n 1)
		if [ -z "$n" ]; then	# receive -v says it otherwise: count
			n=$("$SS" send -w ${5:+-i "@$5"} "$DS@$4" | wc -c) ||
				n=
		fi
		[ -n "$n" ] && record "$t" "$r" "$p.bytes" "$n"
		read -r secs kib _ <"$PIPE.send"
		read -r secs kib2 _ <"$PIPE.recv"
		record "$t" "$r" "$p.send.rss" "$kib"
		record "$t" "$r" "$p.recv.rss" "$kib2"
		record "$t" "$r" "$p.both.rss" "$((kib + kib2))" ;;
	restic)
		record "$t" "$r" "$p.bytes" "$((after - before))"
		record "$t" "$r" "$p.both.rss" "$kib" ;;
	esac
}

# bench_streams TOOL RUN: the full stream of s1 and the incremental s1..s3
bench_streams() {
	local t=$1 r=$2 log=$LOGS/$1-run$2-stream-init.log got
	stream_init_cmd "$t"
	if ! "${cmd[@]}" >"$log" 2>&1; then
		echo "bench: $t run $r: stream destination init failed" >&2
		tail -n 5 "$log" | sed 's/^/  | /' >&2
		record "$t" "$r" error "stream destination init failed (log: $log)"
		return 1
	fi
	stream_step "$t" "$r" stream s1 || return 1
	stream_step "$t" "$r" incr s3 s1 || return 1
	[ "$t" = snapseal ] || return 0
	got=$(SNAPSEAL_HOME=$SRV_HOME "$SS" list -H -o name -t snapshot \
	    "$SRV_DS" 2>&1 | tr '\n' ' ')
	if [ "$got" != "$SRV_DS@s1 $SRV_DS@s3 " ]; then
		echo "bench: $t run $r: the server holds '$got'" >&2
		record "$t" "$r" error "the server pool holds '$got', not s1 and s3"
		return 1
	fi
}

bench_tool() {
	local t=$1 r=$2 got restored
	forget_tool "$t"
	mkdir -p "$WORK" || return 1
	head -c 32 /dev/urandom >"$KEY" || return 1
	init_cmd "$t"
	if ! "${cmd[@]}" >"$LOGS/$t-run$r-init.log" 2>&1; then
		echo "bench: $t run $r: init failed" >&2
		tail -n 5 "$LOGS/$t-run$r-init.log" | sed 's/^/  | /' >&2
		record "$t" "$r" error "init failed (log: $LOGS/$t-run$r-init.log)"
		return 1
	fi
	backup_cmd "$t" s1
	step "$t" "$r" first "${cmd[@]}" || return 1
	backup_cmd "$t" s2
	step "$t" "$r" nochange "${cmd[@]}" || return 1
	if ! corpus_sh change; then
		record "$t" "$r" error "could not change the corpus"
		return 1
	fi
	backup_cmd "$t" s3
	step "$t" "$r" change "${cmd[@]}" || return 1
	restore_cmd "$t" s3 "$WORK/restore"
	settle
	step "$t" "$r" restore "${cmd[@]}" || return 1
	record "$t" "$r" size "$(du -sb "$(repo_of "$t")" | cut -f1)"
	restored=$(restored_root "$t" "$WORK/restore")
	got=$LOGS/$t-run$r-restore.digest
	"$SSTOOL" digest "$restored" >"$got" 2>&1 || true
	if cmp -s "$got" "$BD/state/digest.changed"; then
		record "$t" "$r" verify OK
		rm -f "$got"
	else
		echo "bench: $t run $r: FAIL: the restore differs from the" \
		    "corpus (diff $BD/state/digest.changed $got)" >&2
		record "$t" "$r" verify FAIL
	fi
	discard_restore "$WORK/restore" "$t-run$r"
	if [ "$t" = snapseal ]; then
		floor_restore_read "$r" || return 1
	fi
	if has_streams "$t"; then
		bench_streams "$t" "$r" || return 1
	fi
	if [ "$t" = snapseal ]; then
		floor_copy "$r" || return 1
	fi
}

# bench_many TOOL RUN: on the many-files tree, a first snapshot and a
# no-change snapshot on a fresh repository, deleted afterwards
bench_many() {
	local t=$1 r=$2 rc=0 log=$LOGS/$1-many-run$2-init.log
	forget_tool "$t"
	mkdir -p "$WORK" || return 1
	head -c 32 /dev/urandom >"$KEY" || return 1
	DATA=$MANY_DIR
	init_cmd "$t"
	if ! "${cmd[@]}" >"$log" 2>&1; then
		echo "bench: $t many-files run $r: init failed" >&2
		tail -n 5 "$log" | sed 's/^/  | /' >&2
		record "$t" "$r" error "many-files init failed (log: $log)"
		rc=1
	else
		backup_cmd "$t" s1
		if step "$t" "$r" many.first "${cmd[@]}"; then
			backup_cmd "$t" s2
			step "$t" "$r" many.nochange "${cmd[@]}" || rc=1
		else
			rc=1
		fi
	fi
	DATA=$CORPUS
	forget_tool "$t"
	return "$rc"
}

# ---------- the floors ----------

# What this machine allows, timed in every run like a tool's steps (cold
# cache, then sync), recorded as the tool "floor":
# - nochange: `sstool stattree` of the corpus with 32 threads: stat'ing
#   every entry, the floor of a snapshot with no change; its CPU time
#   (nochange.cpu, almost all the kernel's) is set against the CPU the
#   target leaves a snapshot on all the machine's CPUs;
# - change: reading big/disk.img, which the small change rewrote 64 MiB
#   of, with direct 4 MiB reads: any snapshot after the small change must
#   read that file whole to find what changed in it (and stat every entry,
#   and read the small files changed, which are left out: reading them
#   while the image is read slows the image down as much);
# - restore: writing the corpus back with nothing else to do, into a fresh
#   directory, after the same settle as a restore: its directories made
#   (one mkdir -p), then src/ extracted from FLOOR_TARS tar files held in
#   memory (/dev/shm), all at once, while every other file is written from
#   /dev/zero with O_DIRECT (4 MiB writes; a tail under 4 MiB buffered),
#   then sync; the floor of a full restore, which also reads, checks and
#   decompresses what it writes;
# - restoreread: the same while every pack of snapseal's pool is read
#   (cat, cold), right after snapseal's restore (floor_restore_read): the
#   floor of a restore that reads its pool as it writes;
# - write.mbs: the disk's rate of direct 4 MiB writes (1 GiB from
#   /dev/zero): a raw send into receive stores every byte it moves, so its
#   MB/s cannot pass this;
# - copy.mbs: snapseal's packs read (cold) while as many bytes are written
#   with direct 4 MiB writes, right after snapseal's streams (floor_copy):
#   a raw send into receive on one disk reads there every byte it writes.
# The restore floor needs room in /dev/shm for src/ (and is skipped, with a
# note, without it).
FLOOR_TARS=4
NCPU=$(nproc)
FLOORS=${BENCH_FLOORS:-1}
FLOOR_MEM=		# the tar files, the directory list, the job
FLOOR_WORK=$BD/floor
FLOOR_ENTRIES=		# what the restore floor must write: every entry
floor_note=

# floor_prepare: the restore floor's tar files and job, made once, untimed
floor_prepare() {
	local need avail d i
	[ "$FLOORS" = 1 ] || return 0
	need=$((src_bytes + src_bytes / 4 + (64 << 20)))
	avail=$(df -P -B1 /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')
	if [ -z "$avail" ] || [ "$avail" -lt "$need" ]; then
		floor_note="restore floor: skipped (/dev/shm has ${avail:-no} bytes free, needs $need)"
		return 0
	fi
	FLOOR_MEM=$(mktemp -d /dev/shm/snapseal-bench-floor.XXXXXX) || return 0
	d=$FLOOR_MEM
	FLOOR_ENTRIES=$(find "$CORPUS" -mindepth 1 | wc -l)
	(cd "$CORPUS/src" && find . -mindepth 1 -type d -printf '%P\0') \
	    >"$d/dirs" || return 1
	# the files in path order, cut into FLOOR_TARS runs of about equal bytes
	(cd "$CORPUS/src" && find . ! -type d -printf '%s\t%P\0') |
	    sort -z -t "$(printf '\t')" -k2 |
	    awk -v RS='\0' -v n="$FLOOR_TARS" -v d="$d" '
		{ i = index($0, "\t"); sz[NR] = substr($0, 1, i - 1) + 0
		  nm[NR] = substr($0, i + 1); tot += sz[NR] }
		END { for (k = 1; k <= NR; k++) {
			g = int(cum * n / (tot + 1)); cum += sz[k]
			printf "%s%c", nm[k], 0 > (d "/list" g) } }' || return 1
	for i in $(seq 0 $((FLOOR_TARS - 1))); do
		[ -s "$d/list$i" ] || continue
		tar cf "$d/g$i.tar" --null --no-recursion -C "$CORPUS/src" \
		    -T "$d/list$i" || return 1
	done
	{
		echo '#!/bin/sh'
		echo '# the restore floor: DIR, fresh'
		echo 'set -e'
		echo 'mkdir "$1" "$1/src"'
		printf '(cd "$1/src" && xargs -0 mkdir -p) <"%s/dirs"\n' "$d"
		echo 'pids='
		for i in $(seq 0 $((FLOOR_TARS - 1))); do
			[ -e "$d/g$i.tar" ] || continue
			printf 'tar xf "%s/g%d.tar" -C "$1/src" & pids="$pids $!"\n' \
			    "$d" "$i"
		done
		(cd "$CORPUS" && find . -path ./src -prune -o -type f \
		    -printf '%P %s\n') | while read -r f sz; do
			printf 'mkdir -p "$1/%s"\n' "$(dirname "$f")"
			printf '{ dd if=/dev/zero of="$1/%s" bs=4M count=%d oflag=direct status=none && head -c %d /dev/zero >>"$1/%s"; } & pids="$pids $!"\n' \
			    "$f" $((sz / 4194304)) $((sz % 4194304)) "$f"
		done
		echo 'for p in $pids; do wait "$p"; done'
	} >"$d/restore.sh" || return 1
	chmod +x "$d/restore.sh"
}

# bench_floor RUN: the floors of one run
bench_floor() {
	local r=$1
	[ "$FLOORS" = 1 ] || return 0
	rm -rf "$FLOOR_WORK"
	mkdir -p "$FLOOR_WORK" || return 1
	step floor "$r" nochange "$SSTOOL" stattree "$CORPUS" 32 || return 1
	step floor "$r" change dd if="$CORPUS/big/disk.img" of=/dev/null \
	    bs=4M iflag=direct status=none || return 1
	if [ -n "$FLOOR_MEM" ]; then
		floor_restore_step "$r" restore floor-run"$r" \
		    "$FLOOR_MEM/restore.sh" "$FLOOR_WORK/restore" || return 1
	fi
	step floor "$r" write dd if=/dev/zero of="$FLOOR_WORK/direct" bs=4M \
	    count=256 oflag=direct status=none || return 1
	rm -rf "$FLOOR_WORK"
}

# floor_restore_read RUN: the restore floor's job again, with snapseal's
# packs read (cat, cold) beside it: a restore must also read its pool,
# and the disk does both at once.  Run right after snapseal's restore,
# while its pool is there, with the same settle.
floor_restore_read() {
	local r=$1
	[ -n "$FLOOR_MEM" ] || return 0
	rm -rf "$FLOOR_WORK"
	mkdir -p "$FLOOR_WORK" || return 1
	floor_restore_step "$r" restoreread floor-read-run"$r" sh -c '
		"$1" "$2" & p=$!
		find "$3" -name "*.pack" -type f -exec cat {} + >/dev/null &&
		wait "$p"' sh "$FLOOR_MEM/restore.sh" "$FLOOR_WORK/restore" \
	    "$(repo_of snapseal)" || return 1
	rm -rf "$FLOOR_WORK"
}

# floor_copy RUN: snapseal's packs read (cat, cold) while as many bytes
# are written with direct 4 MiB writes on the same disk, the two at once
# and each at its own pace, nothing else: a raw send into receive reads
# from the disk every byte it stores on it, so its MB/s cannot pass this.
# (A pipe from the one into the other was slower than snapseal: each side
# waited for the other.)  Run after snapseal's streams, while its pool is
# there.
floor_copy() {
	local r=$1 pool bytes
	[ "$FLOORS" = 1 ] || return 0
	pool=$(repo_of snapseal)
	rm -rf "$FLOOR_WORK"
	mkdir -p "$FLOOR_WORK" || return 1
	bytes=$(find "$pool" -name '*.pack' -type f -printf '%s\n' |
	    awk '{ s += $1 } END { print s + 0 }')
	step floor "$r" copy sh -c '
		find "$1" -name "*.pack" -type f -exec cat {} + >/dev/null &
		p=$!
		dd if=/dev/zero of="$2" bs=4M count="$3" oflag=direct \
		    status=none
		s=$?
		wait "$p" && [ "$s" = 0 ]' sh "$pool" "$FLOOR_WORK/copy" \
	    "$(((bytes + 4194303) / 4194304))" || return 1
	record floor "$r" copy.bytes "$bytes"
	rm -rf "$FLOOR_WORK"
}

# floor_restore_step RUN FIGURE NAME CMD...: after the settle, time CMD
# (which writes the corpus back into $FLOOR_WORK/restore) as the floor's
# FIGURE, check it wrote every entry, and keep or delete it as NAME
floor_restore_step() {
	local r=$1 fig=$2 name=$3 got
	shift 3
	settle
	step floor "$r" "$fig" "$@" || return 1
	got=$(find "$FLOOR_WORK/restore" -mindepth 1 | wc -l)
	if [ "$got" != "$FLOOR_ENTRIES" ]; then
		record floor "$r" error "the $fig floor wrote $got entries, not $FLOOR_ENTRIES"
		return 1
	fi
	discard_restore "$FLOOR_WORK/restore" "$name"
}

# ---------- the table ----------

# median TOOL KEY: median over the runs, empty if none
median() {
	awk -F'\t' -v t="$1" -v k="$2" '$1 == t && $3 == k { print $4 }' \
	    "$RESULTS" | sort -g | awk '{ v[NR] = $1 }
	    END { if (NR == 0) exit
		  if (NR % 2) print v[(NR + 1) / 2]
		  else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# value TOOL FIGURE: the median of FIGURE for TOOL, unrounded (empty if
# no run measured it); for verify, "OK n/RUNS" or "FAIL n/RUNS"
value() {
	local m b
	case $2 in
	verify)
		awk -F'\t' -v t="$1" -v runs="$RUNS" '
		    $1 == t && $3 == "verify" && $4 == "OK" { ok++ }
		    END { printf "%s %d/%d\n", ok == runs ? "OK" : "FAIL", ok, runs }' \
		    "$RESULTS" ;;
	write.mbs) m=$(median "$1" write.s)	# the floor's 1 GiB
		[ -z "$m" ] || awk -v s="$m" 'BEGIN { print 1073741824 / 1e6 / s }' ;;
	copy.mbs | stream.mbs)	# the median bytes over the median time
		m=$(median "$1" "${2%.mbs}.s")
		b=$(median "$1" "${2%.mbs}.bytes")
		[ -z "$m" ] || [ -z "$b" ] ||
			awk -v b="$b" -v s="$m" 'BEGIN { print b / 1e6 / s }' ;;
	first.mbs) m=$(median "$1" first.s)
		[ -z "$m" ] || awk -v b="$bytes" -v s="$m" 'BEGIN { print b / 1e6 / s }' ;;
	restore.mbs) m=$(median "$1" restore.s)
		[ -z "$m" ] || awk -v b="$bytes_changed" -v s="$m" \
		    'BEGIN { print b / 1e6 / s }' ;;
	first.tar) m=$(median "$1" first.s)
		[ -z "$m" ] || awk -v s="$m" -v t="$tar_s" 'BEGIN { print 100 * t / s }' ;;
	*.bytes) m=$(median "$1" "$2")
		[ -z "$m" ] || awk -v b="$m" 'BEGIN { print b / 1e6 }' ;;
	*.rss) m=$(median "$1" "$2")
		[ -z "$m" ] || awk -v k="$m" 'BEGIN { print k * 1024 / 1e6 }' ;;
	size) m=$(median "$1" size)
		[ -z "$m" ] || awk -v b="$m" 'BEGIN { print b / 1e6 }' ;;
	*) median "$1" "$2" ;;
	esac
}

# na TOOL FIGURE: true if TOOL has no equivalent of FIGURE (borg has no
# copy; restic's copy is one process, so it has no sides), or was left out
# of the many-files rows
na() {
	case $1:$2 in
	borg:stream.* | borg:incr.* | restic:*.send.rss | restic:*.recv.rss)
		return 0 ;;
	*:many.*) case " $many_tools " in *" $1 "*) ;; *) return 0 ;; esac ;;
	esac
	return 1
}

# cell FIGURE VALUE: VALUE as printed in the table
cell() {
	[ -n "$2" ] || { echo "-"; return 0; }
	case $1 in
	verify) echo "$2" ;;
	*.s | *.cpu) awk -v v="$2" 'BEGIN { printf "%.2f\n", v }' ;;
	first.tar) awk -v v="$2" 'BEGIN { printf "%.0f%%\n", v }' ;;
	*) awk -v v="$2" 'BEGIN { printf (v < 10 ? "%.1f\n" : "%.0f\n"), v }' ;;
	esac
}

# ratio FIGURE A B [FORMAT]: how many times snapseal (value A) is better
# than B, printed with FORMAT (%.2f)
ratio() {
	local fmt=${4:-%.2f}
	[ -n "$2" ] && [ -n "$3" ] && [ "$1" != verify ] ||
		{ echo "-"; return 0; }
	case $1 in
	*.mbs | first.tar) awk -v a="$2" -v b="$3" -v f="$fmt\n" \
		'BEGIN { if (b > 0) printf f, a / b; else print "-" }' ;;
	*) awk -v a="$2" -v b="$3" -v f="$fmt\n" \
		'BEGIN { if (a > 0) printf f, b / a; else print "-" }' ;;
	esac
}

# met FIGURE CHECK S RESTIC: whether snapseal's value S meets issue 4's
# target CHECK: "xN", at least N times better than restic (value RESTIC);
# "vN", S at least N; "-" when there is no target or no value
met() {
	local got
	case $2 in
	x*) got=$(ratio "$1" "$3" "$4" %.17g) ;;
	v*) got=${3:--} ;;
	*) got=- ;;
	esac
	[ "$got" != - ] || { echo "-"; return 0; }
	awk -v g="$got" -v n="${2#?}" \
	    'BEGIN { print (g + 0 >= n + 0 ? "met" : "NOT met") }'
}

# FIGURE|LABEL|CHECK|TARGET: CHECK and TARGET are issue 4's target for
# the figure (see met), empty if it has none
figures="first.s|first snapshot, s|x3|>=3x restic
first.mbs|first snapshot, MB/s|x3|>=3x restic
first.tar|first snapshot, % of tar read rate|v60|>=60%
nochange.s|snapshot with no change, s|x10|>=10x restic
change.s|snapshot after the small change, s|x5|>=5x restic
restore.s|full restore, s|x4|>=4x restic
restore.mbs|full restore, MB/s|x4|>=4x restic
first.rss|peak RSS, first snapshot, MB|x2|<=1/2 restic
nochange.rss|peak RSS, no-change snapshot, MB|x2|<=1/2 restic
change.rss|peak RSS, small-change snapshot, MB|x2|<=1/2 restic
restore.rss|peak RSS, restore, MB|x2|<=1/2 restic
first.cpu|CPU (user + system), first snapshot, s||
nochange.cpu|CPU (user + system), no-change snapshot, s||
change.cpu|CPU (user + system), small-change snapshot, s||
restore.cpu|CPU (user + system), restore, s||
size|repository size after 3 snapshots, MB|x1|<=restic
verify|restore equals the corpus||
stream.s|full raw send into receive, s||
stream.mbs|full raw send into receive, MB/s of stream|v1500|>=1500 MB/s
stream.bytes|full stream, MB||
stream.send.rss|peak RSS, full send side, MB||
stream.recv.rss|peak RSS, full receive side, MB||
stream.both.rss|peak RSS, full send + receive, MB|x2|<=1/2 restic
incr.s|incremental send into receive, s||
incr.bytes|incremental stream, MB||
incr.both.rss|peak RSS, incremental send + receive, MB|x2|<=1/2 restic"

# many_figures: the rows of the many-files tree, named after its size
many_figures() {
	local n
	n=$(awk -v n="$MANY" 'BEGIN {
		if (n >= 1e6 && n % 1e6 == 0) printf "%dM", n / 1e6
		else if (n >= 1e3 && n % 1e3 == 0) printf "%dk", n / 1e3
		else printf "%d", n }')
	echo "many.first.s|$n files: first snapshot, s||"
	echo "many.nochange.s|$n files: no-change snapshot, s||"
	echo "many.first.rss|$n files: peak RSS, first snapshot, MB|x2|<=1/2 restic"
	echo "many.nochange.rss|$n files: peak RSS, no-change snapshot, MB|x2|<=1/2 restic"
}

# table: the table as tab-separated lines, header first
table() {
	local f label check target t line s all=$figures
	[ "$MANY" -gt 0 ] && all="$all
$(many_figures)"
	line="figure"
	for t in $tools; do line="$line	$t"; done
	for t in $tools; do
		[ "$t" = snapseal ] || line="$line	vs $t"
	done
	echo "$line	target	met"
	while IFS='|' read -r f label check target; do
		line=$label
		s=$(value snapseal "$f")
		for t in $tools; do
			if na "$t" "$f"; then
				line="$line	n/a"
			else
				line="$line	$(cell "$f" "$(value "$t" "$f")")"
			fi
		done
		for t in $tools; do
			[ "$t" = snapseal ] && continue
			if na "$t" "$f"; then
				line="$line	-"
			else
				line="$line	$(ratio "$f" "$s" "$(value "$t" "$f")")"
			fi
		done
		line="$line	${target:--}	$(met "$f" "$check" "$s" \
		    "$(value restic "$f")")"
		echo "$line"
	done <<<"$all"
}

# floors_table: the floors next to what the targets ask, tab-separated,
# header first; "reachable": whether the target leaves the tool at least
# the floor's time (or asks for no more than the floor's rate)
floors_table() {
	local f asks
	printf 'job alone, on this machine\tfloor\ttarget asks\tsnapseal\treachable here\n'
	f=$(value floor nochange.s)
	asks=$(awk -v r="$(value restic nochange.s)" \
	    'BEGIN { if (r != "") printf "%.17g", r / 10 }')
	floor_row "snapshot with no change, s: stat every entry, 32 threads" \
	    "$f" "$asks" "$(value snapseal nochange.s)" time
	# the CPU the same target leaves, on every CPU of the machine
	asks=$(awk -v a="$asks" -v n="$NCPU" \
	    'BEGIN { if (a != "") printf "%.17g", a * n }')
	floor_row "snapshot with no change, CPU s: the same, on $NCPU CPUs" \
	    "$(value floor nochange.cpu)" "$asks" \
	    "$(value snapseal nochange.cpu)" time
	f=$(value floor change.s)
	asks=$(awk -v r="$(value restic change.s)" \
	    'BEGIN { if (r != "") printf "%.17g", r / 5 }')
	floor_row "small change, s: read the changed disk.img, nothing else" \
	    "$f" "$asks" "$(value snapseal change.s)" time
	f=$(value floor restore.s)
	asks=$(awk -v r="$(value restic restore.s)" \
	    'BEGIN { if (r != "") printf "%.17g", r / 4 }')
	floor_row "full restore, s: write the corpus back, nothing else" \
	    "$f" "$asks" "$(value snapseal restore.s)" time
	floor_row "full restore, s: the same while the packs are read" \
	    "$(value floor restoreread.s)" "$asks" \
	    "$(value snapseal restore.s)" time
	floor_row "raw send into receive, MB/s: the disk's direct writes" \
	    "$(value floor write.mbs)" 1500 "$(value snapseal stream.mbs)" rate
	floor_row "raw send into receive, MB/s: the packs read while as much is written" \
	    "$(value floor copy.mbs)" 1500 "$(value snapseal stream.mbs)" rate
}

# floor_row LABEL FLOOR ASKS SNAPSEAL time|rate: one row of floors_table
floor_row() {
	awk -v l="$1" -v f="$2" -v a="$3" -v s="$4" -v k="$5" 'BEGIN {
		fmt = k == "time" ? "%.2f" : "%.0f"
		reach = "-"
		ok = k == "time" ? a + 0 >= f + 0 : a + 0 <= f + 0
		if (f != "" && a != "")
			reach = ok ? "yes" : "no: past the floor"
		printf "%s\t%s\t%s\t%s\t%s\n", l,
		    f == "" ? "-" : sprintf(fmt, f),
		    a == "" ? "-" : sprintf(fmt, a),
		    s == "" ? "-" : sprintf(fmt, s), reach }'
}

# align: tab-separated lines as columns, numbers on the right
align() {
	awk -F'\t' '{ for (i = 1; i <= NF; i++) { c[NR, i] = $i
			if (length($i) > w[i]) w[i] = length($i) }
		if (NF > nf) nf = NF }
	    END { for (r = 1; r <= NR; r++) { s = ""
			for (i = 1; i <= nf; i++)
				s = s sprintf(i == 1 ? "%-*s" : "  %*s", w[i], c[r, i])
			print s } }'
}

# raw: every measure of every run, for the record
raw() {
	awk -F'\t' '$3 != "error" { printf "%s\t%s\t%s\t%s\n", $1, $2, $3, $4 }' \
	    "$RESULTS"
}

finish() {
	local rc=$?
	set +e
	[ -e "$BD/corpus.dirty" ] && corpus_sh revert
	forget_tool snapseal
	[ -z "$FLOOR_MEM" ] || rm -rf "$FLOOR_MEM"
	rm -rf "$FLOOR_WORK" "$KEPT"
	exit "$rc"
}

# ---------- main ----------

build_runm
hold_keys_lock
trap finish EXIT
trap 'exit 130' INT TERM
corpus_sh prepare
files='' bytes='' bytes_changed='' src_kind='' src_desc='' src_files=''
src_bytes='' img_mib='' img_desc='' range_mib='' nchanged=''
eval "$(corpus_sh describe)"	# sets the variables above
many_files=0 many_dirs=0 many_bytes=0 many_digest=''
if [ "$MANY" -gt 0 ]; then
	eval "$(corpus_sh many "$MANY")"	# sets the variables above
fi
rm -rf "$LOGS" "$RESULTS"
mkdir -p "$LOGS"
: >"$RESULTS"
floor_prepare || die "could not prepare the restore floor's tar files"
choose_keep

rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git -C "$root" status --porcelain 2>/dev/null)" ] && rev="$rev+changes"
when=$(date -u '+%Y-%m-%d %H:%M UTC')
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
info="date: $when
machine: $NCPU cores ($cpu), $mem RAM, Linux $(uname -r), $BD on $(stat -f -c %T "$BD")
versions: snapseal $build/snapseal (built $(date -u -r "$SS" '+%Y-%m-%d %H:%M UTC'); tree at $rev), $(restic version | cut -d' ' -f1-2)$(
	case " $tools " in *" borg "*) echo ", $(borg --version)" ;; esac)
corpus: scale ${BENCH_SCALE:-1}, $files files, $bytes bytes: src/ $src_files files, $src_bytes bytes: $src_desc; big/disk.img $img_mib MiB: $img_desc
small change: $nchanged files of src/ (every 100th) get a line appended, ${range_mib} MiB rewritten in the middle of big/disk.img
many files: $(if [ "$MANY" -gt 0 ]; then
	echo "$many_files tiny files (0 to 1023 bytes; $many_bytes bytes in $many_dirs directories; digest $many_digest): first and no-change snapshot, $MANY_RUNS run(s), ${many_tools// /, }"
else
	echo "skipped (BENCH_MANY=0)"
fi)
settings: snapseal encryption=on keyformat=raw compression=${COMPRESSION:-default}; restic repository v2 (compression auto); borg repokey, lz4
runs: $RUNS on fresh repositories, medians; page cache $(
	[ "$drop_caches" = 1 ] && echo "dropped before every timed step" ||
	echo "NOT dropped (not root or not permitted): later steps read warm data")${borg_note:+
$borg_note}${many_note:+
$many_note}
$keep_note${floor_note:+
$floor_note}$([ "$FLOORS" = 1 ] || echo "
floors: skipped (BENCH_FLOORS=0)")"
echo "$info" | sed 's/^/bench: /' >&2
if [ "$src_kind" = gen ]; then
	echo "bench: NOTE: src/ is GENERATED (sstool gen), not the Linux source tree of issue 4" >&2
fi

tar_s=
start=$(date +%s)
for r in $(seq 1 "$RUNS"); do
	cold
	"$runm" "$BD/step.out" sh -c 'tar cf - -C "$1" . | cat >/dev/null' \
	    sh "$CORPUS" >"$LOGS/tar-run$r.log" 2>&1 ||
		die "tar could not read $CORPUS (see $LOGS/tar-run$r.log)"
	read -r secs kib _ <"$BD/step.out"
	record tar "$r" read.s "$secs"
	echo "bench: run $r/$RUNS: floors ($(date -u +%T))" >&2
	bench_floor "$r" || echo "bench: run $r: a floor failed" >&2
	# rotate the order from run to run, so that no tool always goes first
	# shellcheck disable=SC2086
	order=$(echo $tools | awk -v r="$r" '{ for (i = 0; i < NF; i++)
		printf "%s ", $((i + r - 1) % NF + 1) }')
	for t in $order; do
		echo "bench: run $r/$RUNS: $t ($(date -u +%T))" >&2
		bench_tool "$t" "$r" || true
		if [ -e "$BD/corpus.dirty" ]; then
			corpus_sh revert
			# let the tree settle: snapseal reads again what changed
			# in the 2 s before its previous snapshot began (racy
			# entries, docs/design.md 3.1), and the no-change row is
			# about a tree that did not change
			sleep 3
		fi
		forget_tool "$t"
	done
done
corpus_sh check
if [ "$MANY" -gt 0 ]; then
	for r in $(seq 1 "$MANY_RUNS"); do
		# shellcheck disable=SC2086
		order=$(echo $many_tools | awk -v r="$r" '{ for (i = 0; i < NF; i++)
			printf "%s ", $((i + r - 1) % NF + 1) }')
		for t in $order; do
			echo "bench: many files, run $r/$MANY_RUNS: $t ($(date -u +%T))" >&2
			bench_many "$t" "$r" || true
		done
	done
fi
tar_s=$(median tar read.s)
tar_line="tar cf - | cat reads the corpus at $(awk -v b="$bytes" -v s="$tar_s" \
    'BEGIN { printf "%.0f", b / 1e6 / s }') MB/s (median, cold cache)"

stream_line="snapseal's raw send into receive moved $(cell stream.mbs \
    "$(value snapseal stream.mbs)") MB/s of stream (median; issue 4 asks for 1500 at least)"
streams_note="send into receive: for restic, \`restic copy\` of the same snapshot into a second repository (init --copy-chunker-params), its stream MB what the copy added to that repository; n/a: no equivalent (borg has no copy; restic's copy is one process)"
target_note="target: issue 4's target for snapseal, on the vs restic ratio (>=Nx restic: at least N times better; <=1/2 restic: at most half of restic's RSS; <=restic: no larger) or on snapseal's own figure; met: judged on the unrounded medians"
tab=$(table)
ftab=
[ "$FLOORS" = 1 ] && ftab=$(floors_table)
floors_note="floors: the bare I/O of each job on this machine, timed like the tools' steps (cold cache, then sync; medians): see docs/benchmarks.md, \"Floors\"; target asks: restic's time / 10 (no change; its CPU row: that time on all $NCPU CPUs), / 5 (small change) or / 4 (restore), and 1500 MB/s"
{
	echo
	echo "$info"
	echo "$tar_line"
	echo "$stream_line"
	echo "$streams_note"
	echo "MB = 10^6 bytes; vs X: how many times snapseal is better than X" \
	    "(X's time / snapseal's, snapseal's rate / X's, X's MB / snapseal's)"
	echo "$target_note"
	echo
	echo "$tab" | align
	echo
	if [ -n "$ftab" ]; then
		echo "$floors_note"
		echo
		echo "$ftab" | align
		echo
	fi
} >&2
mkdir -p "$(dirname "$OUT")"
{
	echo "# snapseal benchmark"
	echo
	echo "$info" | sed 's/^/- /'
	echo "- $tar_line"
	echo "- $stream_line"
	echo "- $streams_note"
	echo
	echo "MB = 10^6 bytes. \"vs X\": how many times snapseal is better than X"
	echo "(X's time ÷ snapseal's, snapseal's rate ÷ X's, X's MB ÷ snapseal's);"
	echo "above 1 means snapseal is ahead. $target_note"
	echo
	echo "$tab" | awk -F'\t' '{ s = "|"; for (i = 1; i <= NF; i++) s = s " " $i " |"
		print s
		if (NR == 1) { s = "|---"; for (i = 2; i <= NF; i++) s = s "|---:"
			print s "|" } }'
	if [ -n "$ftab" ]; then
		echo
		echo "$floors_note."
		echo
		echo "$ftab" | awk -F'\t' '{ s = "|"; for (i = 1; i <= NF; i++) s = s " " $i " |"
			print s
			if (NR == 1) print "|---|---:|---:|---:|---|" }'
	fi
	echo
	echo "Every run (seconds, RSS in KiB, sizes in bytes):"
	echo
	echo '```'
	raw | align
	echo '```'
} >"$OUT"
echo "bench: table written to $OUT; the runs took" \
    "$((($(date +%s) - start + 30) / 60)) min" >&2
if grep -q FAIL <<<"$tab" ||
    awk -F'\t' '$3 == "error" { f = 1 } END { exit !f }' "$RESULTS"; then
	awk -F'\t' '$3 == "error" { print "bench: FAIL: " $1 " run " $2 ": " $4 }
	    $3 == "verify" && $4 != "OK" {
		print "bench: FAIL: " $1 " run " $2 ": restore differs" }' \
	    "$RESULTS" >&2
	echo "bench: FAIL" >&2
	exit 1
fi
echo "bench: all restores verified" >&2
