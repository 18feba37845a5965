#!/bin/bash
# shellcheck disable=SC2016,SC2317,SC2034,SC2283 # single-quoted bodies call the helpers and use the variables
test_description='crash: snapshot, destroy and restore killed with SIGKILL at
many points leave the pool as before or after the command, every listed
snapshot restores exactly, and no partial file appears under a real name'

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# The points at which commands are killed (seconds after the start).  A
# command that has already finished is fine; killed_at_least checks that
# enough runs were really cut short.  The durations of full runs are
# printed for reference (timing under load varies a lot).
DELAYS="0.005 0.02 0.04 0.07 0.1 0.14 0.19 0.25 0.33 0.45 0.6"

now_ms() {
	local ns
	ns=$(date +%s%N) && echo $((ns / 1000000))
}

# timed VAR CMD...: run snapseal CMD, store its duration in ms in VAR.
timed() {
	local var=$1 t0 t1
	shift
	t0=$(now_ms) &&
	snapseal "$@" &&
	t1=$(now_ms) &&
	eval "$var=\$((t1 - t0))"
}

# kill_at SECONDS CMD...: start snapseal CMD, SIGKILL it after SECONDS.
# Succeeds if it was killed or had already finished successfully; a crash
# or an error exit fails.  Sets $killed to yes or no.
kill_at() {
	local s=$1 pid rc
	shift
	"$SNAPSEAL" "$@" >kill.out 2>kill.err &
	pid=$!
	sleep "$s"
	kill -9 "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	case $rc in
	0) killed=no ;;
	137) killed=yes ;;
	*) echo "snapseal $* exited $rc:"; cat kill.err; return 1 ;;
	esac
	echo "$killed" >>"$TRASH_DIRECTORY/kills.$1"
	echo "snapseal $* after ${s}s: killed=$killed"
}

# killed_at_least N CMD: at least N runs of CMD (snapshot, destroy,
# restore) were really killed, so the loop tested something.
killed_at_least() {
	local n
	n=$(grep -c yes "kills.$2") &&
	echo "$2: $n run(s) killed" &&
	test "$n" -ge "$1"
}

# regen DIR SEED N: a fresh tree.
regen() {
	rm -rf "$1" &&
	sstool gen "$1" "$2" "$3"
}

# snaps DS: the names of DS's snapshots, one a line.
snaps() {
	snapseal list -H -o name -t snapshot "$1"
}

# restores_as SNAP DIGEST: SNAP restores to exactly DIGEST.
restores_as() {
	rm -rf check.out &&
	snapseal restore "$1" check.out &&
	sstool digest check.out >check.digest &&
	test_cmp "$2" check.digest &&
	rm -rf check.out
}

# packs_kb POOL: allocated size of the packs.
packs_kb() {
	local kb rest
	du -sk "$SNAPSEAL_HOME/$1/packs" >du.out &&
	read -r kb rest <du.out &&
	echo "$kb"
}

test_expect_success 'setup: encrypted dataset, base snapshot, timing' '
	sstool randfile key 32 crash-key random &&
	snapseal pool create cp &&
	regen live base 600 &&
	snapseal create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/key" -o mountpoint="$PWD/live" cp/e &&
	snapseal snapshot cp/e@base &&
	sstool digest live >base.digest &&
	BASE_KB=$(packs_kb cp) &&
	regen live timing 600 &&
	timed SNAP_MS snapshot cp/e@timing &&
	sstool digest live >timing.digest &&
	echo "a full snapshot takes $SNAP_MS ms" &&
	test "$SNAP_MS" -gt 0
'

test_expect_success 'snapshot killed at many points: nothing or a complete snapshot' '
	(
		i=0 &&
		for s in $DELAYS
		do
			i=$((i + 1)) &&
			regen live "kill-$i" 600 &&
			sstool digest live >"k$i.digest" &&
			snaps cp/e >before &&
			kill_at $s snapshot "cp/e@k$i" &&
			snaps cp/e >after &&
			sed "/^cp\/e@k$i\$/d" after >after.old &&
			test_cmp before after.old || exit 1
		done
	) &&
	echo "snapshots that survived:" && cat after &&
	killed_at_least 2 snapshot
'

test_expect_success 'every listed snapshot restores exactly' '
	snaps cp/e >list &&
	test_grep -x cp/e@base list &&
	test_grep -x cp/e@timing list &&
	(
		while read -r s
		do
			restores_as "$s" "${s#*@}.digest" || exit 1
		done <list
	)
'

test_expect_success 'a new snapshot after the kills succeeds and restores' '
	regen live after-kills 300 &&
	sstool digest live >final.digest &&
	snapseal snapshot cp/e@final &&
	restores_as cp/e@final final.digest
'

test_expect_success 'no garbage is left: destroying all but the base gives back the space' '
	snapseal destroy cp/e@timing%final &&
	snaps cp/e >actual &&
	echo cp/e@base >expect &&
	test_cmp expect actual &&
	kb=$(packs_kb cp) &&
	echo "packs: $kb KiB now, $BASE_KB KiB after the base snapshot" &&
	test "$kb" -le $((BASE_KB + BASE_KB / 5 + 256)) &&
	restores_as cp/e@base base.digest
'

test_expect_success 'setup: snapshots with much unique data for destroy' '
	snapseal create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/key" -o mountpoint="$PWD/dlive" cp/d &&
	regen dlive d0 200 &&
	snapseal snapshot cp/d@d0 &&
	sstool digest dlive >d0.digest &&
	D0_KB=$(packs_kb cp) &&
	(
		for i in 1 2 3 4 5 6
		do
			regen dlive "d$i" 500 &&
			snapseal snapshot "cp/d@d$i" &&
			sstool digest dlive >"d$i.digest" || exit 1
		done
	) &&
	snaps cp/d >list &&
	test_line_count = 7 list &&
	timed DESTROY_MS destroy cp/d@d6 &&
	echo "a destroy takes $DESTROY_MS ms"
'

test_expect_success 'destroy killed at many points: the snapshot is gone or complete' '
	(
		i=0 &&
		for s in 0.01 0.05 0.1 0.2 0.4
		do
			i=$((i + 1)) &&
			snaps cp/d >before &&
			kill_at $s destroy "cp/d@d$i" &&
			snaps cp/d >after &&
			sed "/^cp\/d@d$i\$/d" before >before.rest &&
			sed "/^cp\/d@d$i\$/d" after >after.rest &&
			test_cmp before.rest after.rest &&
			if grep -x -F "cp/d@d$i" after
			then
				restores_as "cp/d@d$i" "d$i.digest"
			fi || exit 1
		done
	) &&
	# how many were really killed depends on speed: the crash points
	# below stop destroy deterministically at each step
	cat kills.destroy
'

test_expect_success 'after the killed destroys every snapshot restores; destroy then reclaims' '
	snaps cp/d >list &&
	test_grep -x cp/d@d0 list &&
	(
		while read -r s
		do
			restores_as "$s" "${s#*@}.digest" || exit 1
		done <list
	) &&
	sed -n "/^cp\/d@d0\$/d; s/^cp\/d@//p" list >names &&
	if test -s names
	then
		paste -s -d , names >names.csv &&
		snapseal destroy "cp/d@$(cat names.csv)"
	fi &&
	snaps cp/d >actual &&
	echo cp/d@d0 >expect &&
	test_cmp expect actual &&
	kb=$(packs_kb cp) &&
	echo "packs: $kb KiB now, $D0_KB KiB after cp/d@d0" &&
	test "$kb" -le $((D0_KB + D0_KB / 5 + 256)) &&
	restores_as cp/d@d0 d0.digest
'

# no_partial DIGEST DIR: every regular file under a real name in DIR is
# complete (its digest line, times and mode included, is in DIGEST);
# temporaries are named .snapseal-*.
no_partial() {
	test -e "$2" || return 0
	sstool digest "$2" >partial.digest &&
	sed -n "/ type=f /p" partial.digest >partial.f &&
	sed "/\(^\|\/\)\.snapseal-[0-9a-f]* type=/d" partial.f >partial.real &&
	sort partial.real >partial.files &&
	sed -n "/ type=f /p" "$1" >source.f &&
	sort source.f >source.files &&
	comm -23 partial.files source.files >bad.files &&
	test_line_count = 0 bad.files
}

# crash CP CMD...: run snapseal CMD with SNAPSEAL_CRASHPOINT=CP; it must
# die of SIGKILL there (the point was reached).
crash() {
	local cp=$1 rc
	shift
	SNAPSEAL_CRASHPOINT=$cp "$SNAPSEAL" "$@" >crash.out 2>crash.err
	rc=$?
	test "$rc" = 137 || { echo "crash point $cp: exit $rc"; cat crash.err; return 1; }
}

# whole_or_absent DIGEST DIR: DIR does not exist, or is exactly DIGEST.
whole_or_absent() {
	test -e "$2" || return 0
	sstool digest "$2" >whole.digest &&
	test_cmp "$1" whole.digest
}

test_expect_success 'restore into a new directory killed at many points: all of it or nothing' '
	regen live restore-src 600 &&
	sstool randfile live/zz-big 4M big random &&
	sstool digest live >r.digest &&
	snapseal snapshot cp/e@r &&
	rm -rf r.full &&
	timed RESTORE_MS restore cp/e@r r.full &&
	sstool digest r.full >actual &&
	test_cmp r.digest actual &&
	echo "a full restore takes $RESTORE_MS ms" &&
	mkdir new &&
	(
		i=0 &&
		for s in $DELAYS
		do
			i=$((i + 1)) &&
			kill_at $s restore cp/e@r "new/r.$i" &&
			whole_or_absent r.digest "new/r.$i" || exit 1
		done
	) &&
	killed_at_least 1 restore &&
	echo "stages left by killed restores:" &&
	find new -maxdepth 1 -name ".snapseal-*" >stages &&
	cat stages &&
	find new -mindepth 1 -maxdepth 1 ! -name ".snapseal-*" ! -name "r.*" \
		>other &&
	test_line_count = 0 other
'

test_expect_success 'restore into an existing directory killed at many points: no partial file under a real name' '
	: >kills.restore &&
	(
		i=0 &&
		for s in $DELAYS
		do
			i=$((i + 1)) &&
			rm -rf "r.$i" &&
			mkdir "r.$i" &&
			kill_at $s restore cp/e@r "r.$i" &&
			no_partial r.digest "r.$i" || exit 1
		done
	) &&
	killed_at_least 1 restore
'

test_expect_success 'killed just before its rename: no target, the stage beside it, a rerun succeeds' '
	mkdir staged &&
	crash restore-staged restore cp/e@r staged/r &&
	! test -e staged/r &&
	find staged -mindepth 1 -maxdepth 1 >left &&
	test_line_count = 1 left &&
	test_grep "^staged/\.snapseal-[0-9a-f]\{16\}$" left &&
	sstool digest "$(cat left)" >actual &&
	test_cmp r.digest actual &&
	snapseal restore cp/e@r staged/r &&
	sstool digest staged/r >actual &&
	test_cmp r.digest actual
'

test_expect_success 'a target made while the restore ran is refused, untouched, and the stage removed' '
	mkdir appear &&
	{ SNAPSEAL_STOPPOINT=restore-staged "$SNAPSEAL" restore cp/e@r appear/r \
		2>appear.err & } &&
	pid=$! &&
	wait_stopped $pid &&
	find appear -mindepth 1 -maxdepth 1 -name ".snapseal-*" >left &&
	test_line_count = 1 left &&
	mkdir appear/r &&
	echo mine >appear/r/mine &&
	kill -CONT $pid &&
	{ wait $pid; echo $? >rc; } &&
	test "$(cat rc)" != 0 &&
	test_line_count = 1 appear.err &&
	test_grep -F "appear/r" appear.err &&
	test_grep "appeared during the restore" appear.err &&
	ls -A appear >actual &&
	echo r >expect &&
	test_cmp expect actual &&
	ls -A appear/r >actual &&
	echo mine >expect &&
	test_cmp expect actual
'

test_expect_success 'after the killed restores a restore still succeeds' '
	find . -path "./r.*" -name ".snapseal-*" >temps &&
	echo "temporaries left by killed restores:" &&
	cat temps &&
	snapseal restore cp/e@r r.again &&
	sstool digest r.again >actual &&
	test_cmp r.digest actual
'

# ss_reclaim() once called qsort(NULL, 0, ...) here (UBSan abort).
test_expect_success 'destroy of a snapshot that frees nothing' '
	snapseal snapshot cp/e@same1 &&
	snapseal snapshot cp/e@same2 &&
	snapseal destroy cp/e@same2 &&
	snapseal list -H -o name -t snapshot cp/e >actual &&
	test_grep -x cp/e@same1 actual &&
	test_grep ! -x cp/e@same2 actual
'

test_expect_success 'crash points: a snapshot killed at each step is absent or complete' '
	snapseal create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/key" -o mountpoint="$PWD/clive" cp/c &&
	regen clive c0 100 &&
	snapseal snapshot cp/c@c0 &&
	sstool digest clive >c0.digest &&
	regen clive c1 300 &&
	sstool digest clive >c1.digest &&
	for cp in snapshot-object:1 snapshot-object:40 snapshot-flushed
	do
		crash $cp snapshot cp/c@c1 &&
		snaps cp/c >actual &&
		echo cp/c@c0 >expect &&
		test_cmp expect actual || return 1
	done &&
	crash snapshot-committed snapshot cp/c@c1 &&
	snaps cp/c >actual &&
	printf "cp/c@c0\ncp/c@c1\n" >expect &&
	test_cmp expect actual &&
	restores_as cp/c@c0 c0.digest &&
	restores_as cp/c@c1 c1.digest
'

test_expect_success 'crash points: a destroy killed at each step is undone or complete' '
	crash destroy-released destroy cp/c@c1 &&
	snaps cp/c >actual &&
	printf "cp/c@c0\ncp/c@c1\n" >expect &&
	test_cmp expect actual &&
	restores_as cp/c@c1 c1.digest &&
	crash destroy-punch:2 destroy cp/c@c1 &&
	snaps cp/c >actual &&
	echo cp/c@c0 >expect &&
	test_cmp expect actual &&
	restores_as cp/c@c0 c0.digest &&
	regen clive c2 300 &&
	snapseal snapshot cp/c@c2 &&
	crash destroy-committed destroy cp/c@c2 &&
	snaps cp/c >actual &&
	test_cmp expect actual &&
	restores_as cp/c@c0 c0.digest
'

test_expect_success 'crash points: space left by killed commands comes back' '
	regen clive c3 300 &&
	snapseal snapshot cp/c@c3 &&
	snapseal destroy cp/c@c3 &&
	kb=$(packs_kb cp) &&
	regen clive c4 300 &&
	crash snapshot-flushed snapshot cp/c@c4 &&
	crash snapshot-flushed snapshot cp/c@c4 &&
	snapseal snapshot cp/c@c4 &&
	snapseal destroy cp/c@c4 &&
	kb2=$(packs_kb cp) &&
	echo "packs: $kb KiB before, $kb2 KiB after two killed snapshots" &&
	test "$kb2" -le $((kb + 64))
'

test_expect_success 'crash points: a restore killed after some files leaves no partial file' '
	rm -rf cr &&
	crash restore-file:20 restore cp/c@c0 cr &&
	no_partial c0.digest cr &&
	rm -rf cr &&
	snapseal restore cp/c@c0 cr &&
	sstool digest cr >actual &&
	test_cmp c0.digest actual
'

test_done
