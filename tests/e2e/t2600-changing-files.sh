#!/bin/bash
# shellcheck disable=SC2016,SC2317 # single-quoted bodies call the helpers
test_description='files that change, and files that cannot be read

A file that changes while the snapshot reads it is either stored as it
was at one instant or reported ("changed while being read"), never stored
torn; a change that keeps size and mtime is still seen by the next
snapshot; a file changed within two seconds of the previous snapshot is read
again (racy), as snapshot -v counts; an unreadable file or directory fails the snapshot with a
one-line error naming it, and no snapshot is made.'

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# As root, dropping CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH makes a file
# with mode 000 unreadable, as for any user.
test_lazy_prereq NOCAP '
	test "$(id -u)" = 0 &&
	echo x >f && chmod 000 f &&
	! setpriv --bounding-set=-dac_override,-dac_read_search -- cat f &&
	setpriv --bounding-set=-dac_override,-dac_read_search -- true
'

# snapseal_nocap ARGS: snapseal without the capabilities that bypass
# file permissions.
snapseal_nocap() {
	setpriv --bounding-set=-dac_override,-dac_read_search -- "$SNAPSEAL" "$@"
}

# stop_writer PID: stop a background writer started by a test.
stop_writer() {
	if kill -0 "$1" 2>/dev/null
	then
		kill "$1" 2>/dev/null
	fi
	wait "$1"
	return 0
}

# snapshot_or_changed DS@SNAP: run snapshot; succeed if it succeeded
# ($snap_ok=t) or failed cleanly saying the file changed ($snap_ok=).
snapshot_or_changed() {
	snap_ok=
	snapseal snapshot "$1" 2>err
	local rc=$?
	if test "$rc" = 0
	then
		snap_ok=t
		echo "snapshot succeeded"
		return 0
	fi
	if test "$rc" -ge 126
	then
		echo "snapshot died (exit $rc)"
		cat err
		return 1
	fi
	echo "snapshot refused (exit $rc):"
	cat err
	test_grep "changed while being read" err &&
	test_line_count "=" 1 err &&
	snapseal list -H -o name -t snapshot "${1%@*}" >snaps &&
	test_grep ! -F -x "$1" snaps
}

# prefix_then R X Y: R is X up to some offset and Y after it (what a file
# looks like at one instant while X is overwritten in place by Y).
prefix_then() {
	local n
	cmp -s "$1" "$2" && return 0
	# "R X differ: byte N, line L" ("char N" for older cmp)
	n=$(cmp "$1" "$2" | sed -n "s/.* differ: [a-z]* \([0-9]*\),.*/\1/p")
	test -n "$n" &&
	cmp -s -i $((n - 1)) "$1" "$3"
}

test_expect_success 'setup: a pool, an encrypted and a plain dataset' '
	snapseal pool create -m "$PWD/mnt" tank &&
	head -c 32 /dev/urandom >key &&
	snapseal create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/key" tank/enc &&
	snapseal create tank/plain &&
	sstool randfile A 8M version-a random &&
	sstool randfile B 8M version-b random
'

for ds in enc plain; do

test_expect_success "$ds: setup: a tree and a first snapshot" '
	sstool gen mnt/$ds/gen "changing-$ds" 40 &&
	sstool digest mnt/$ds >base-$ds.digest &&
	snapseal snapshot tank/$ds@base
'

test_expect_success "$ds: a file that keeps growing: stored whole at one instant, or refused" '
	mkdir mnt/$ds/grow &&
	yes x | head -c 16M >mnt/$ds/grow/log &&
	{ timeout 30 bash -c "while :; do echo x >>mnt/$ds/grow/log; done" & } &&
	pid=$! &&
	test_when_finished "stop_writer $pid" &&
	sleep 0.2 &&
	kill -0 $pid &&
	snapshot_or_changed tank/$ds@grow &&
	if test -n "$snap_ok"
	then
		snapseal restore tank/$ds@grow r-grow-$ds &&
		size=$(stat -c %s r-grow-$ds/grow/log) &&
		test "$size" -ge $((16 * 1024 * 1024)) &&
		test $((size % 2)) = 0 &&
		! grep -q -v -x x r-grow-$ds/grow/log
	fi
'

test_expect_success "$ds: a file rewritten in place: one instant of it, or refused" '
	mkdir mnt/$ds/flip &&
	cp A mnt/$ds/flip/f &&
	{ timeout 30 bash -c "while :; do dd if=B of=mnt/$ds/flip/f bs=1M conv=notrunc status=none; dd if=A of=mnt/$ds/flip/f bs=1M conv=notrunc status=none; done" & } &&
	pid=$! &&
	test_when_finished "stop_writer $pid" &&
	sleep 0.2 &&
	kill -0 $pid &&
	snapshot_or_changed tank/$ds@flip &&
	if test -n "$snap_ok"
	then
		snapseal restore tank/$ds@flip r-flip-$ds &&
		{ prefix_then r-flip-$ds/flip/f A B || prefix_then r-flip-$ds/flip/f B A; }
	fi
'

test_expect_success "$ds: a file truncated and refilled: one instant of it, or refused" '
	mkdir mnt/$ds/trunc &&
	cp A mnt/$ds/trunc/f &&
	{ timeout 30 bash -c "while :; do : >mnt/$ds/trunc/f; cat A >mnt/$ds/trunc/f; done" & } &&
	pid=$! &&
	test_when_finished "stop_writer $pid" &&
	sleep 0.2 &&
	kill -0 $pid &&
	snapshot_or_changed tank/$ds@trunc &&
	if test -n "$snap_ok"
	then
		snapseal restore tank/$ds@trunc r-trunc-$ds &&
		size=$(stat -c %s r-trunc-$ds/trunc/f) &&
		head -c $size A >prefix &&
		cmp prefix r-trunc-$ds/trunc/f
	fi
'

test_expect_success "$ds: once the writers stop, the snapshot succeeds and is exact" '
	rm -rf mnt/$ds/grow mnt/$ds/flip mnt/$ds/trunc &&
	sstool digest mnt/$ds >expect &&
	snapseal snapshot tank/$ds@quiet &&
	snapseal restore tank/$ds@quiet r-quiet-$ds &&
	sstool digest r-quiet-$ds >actual &&
	test_cmp expect actual
'

test_expect_success "$ds: a rewrite that keeps size and mtime is still seen" '
	f=$(cd mnt/$ds/gen && find . -type f -size +100c -printf "%P\n" | sort | head -n 1) &&
	test -n "$f" &&
	touch -d @1600000000.123456789 "mnt/$ds/gen/$f" &&
	snapseal snapshot tank/$ds@before &&
	before=$(stat -c "%s %i %y" "mnt/$ds/gen/$f") &&
	size=$(stat -c %s "mnt/$ds/gen/$f") &&
	head -c $size /dev/zero | tr "\0" Q >samesize &&
	cat samesize >"mnt/$ds/gen/$f" &&
	touch -d @1600000000.123456789 "mnt/$ds/gen/$f" &&
	test "$(stat -c "%s %i %y" "mnt/$ds/gen/$f")" = "$before" &&
	sstool digest mnt/$ds >expect &&
	snapseal snapshot tank/$ds@after &&
	snapseal restore tank/$ds@after r-after-$ds &&
	sstool digest r-after-$ds >actual &&
	test_cmp expect actual &&
	cmp samesize "r-after-$ds/gen/$f"
'

test_expect_success "$ds: a file replaced by rename with the same size and mtime is seen" '
	f=$(cd mnt/$ds/gen && find . -type f -size +100c -printf "%P\n" | sort | tail -n 1) &&
	test -n "$f" &&
	snapseal snapshot tank/$ds@before-rename &&
	size=$(stat -c %s "mnt/$ds/gen/$f") &&
	head -c $size /dev/zero | tr "\0" R >"mnt/$ds/gen/new.tmp" &&
	touch -r "mnt/$ds/gen/$f" "mnt/$ds/gen/new.tmp" &&
	mv "mnt/$ds/gen/new.tmp" "mnt/$ds/gen/$f" &&
	sstool digest mnt/$ds >expect &&
	snapseal snapshot tank/$ds@after-rename &&
	snapseal restore tank/$ds@after-rename r-rename-$ds &&
	sstool digest r-rename-$ds >actual &&
	test_cmp expect actual
'

# A file changed again within the clock tick in which a snapshot read it
# keeps the size, mtime and ctime that snapshot recorded.  So a file whose
# ctime is less than two seconds before the previous snapshot began is read
# again, not taken as unchanged (docs/design.md, "Racy entries").
# snapshot -v prints "F files (U unchanged, R racy), D directories; ...".
vcount() {
	sed -n "s/^\([0-9]*\) files (\([0-9]*\) unchanged, \([0-9]*\) racy), \([0-9]*\) directories; .*/\1 \2 \3 \4/p" "$1"
}

test_expect_success "$ds: a file changed within two seconds of the last snapshot is read again" '
	sleep 2.1 &&
	mkdir mnt/$ds/racy &&
	echo "just written" >mnt/$ds/racy/f &&
	snapseal snapshot tank/$ds@racy1 &&
	files=$(find mnt/$ds -type f | wc -l) &&
	dirs=$(find mnt/$ds -type d | wc -l) &&
	snapseal snapshot -v tank/$ds@racy2 >out &&
	echo "$files $((files - 1)) 1 $dirs" >expect &&
	vcount out >actual &&
	test_cmp expect actual &&
	grep -q "; 13 bytes read, " out &&
	sleep 2.1 &&
	snapseal snapshot tank/$ds@racy3 &&
	snapseal snapshot -v tank/$ds@racy4 >out &&
	echo "$files $files 0 $dirs" >expect &&
	vcount out >actual &&
	test_cmp expect actual &&
	grep -q "; 0 bytes read, 0 bytes new in 0 objects$" out &&
	sstool digest mnt/$ds >expect &&
	for s in racy2 racy4
	do
		snapseal restore tank/$ds@$s r-$s-$ds &&
		sstool digest r-$s-$ds >actual &&
		test_cmp expect actual || return 1
	done
'

test_expect_success "$ds: snapshot -v of a new tree counts every file and directory as read" '
	if test $ds = enc
	then
		snapseal create -o encryption=on -o keyformat=raw \
			-o keylocation="file://$PWD/key" tank/enc-fresh
	else
		snapseal create tank/plain-fresh
	fi &&
	mkdir -p mnt/$ds-fresh/a/b &&
	printf 12345 >mnt/$ds-fresh/a/one &&
	printf 123 >mnt/$ds-fresh/a/b/two &&
	snapseal snapshot -v tank/$ds-fresh@s >out &&
	echo "2 0 0 3" >expect &&
	vcount out >actual &&
	test_cmp expect actual &&
	grep -q "; 8 bytes read, [1-9][0-9]* bytes new in [1-9][0-9]* objects$" out
'

# A changed large file is read again whole; in an encrypted dataset, a
# chunk whose place, length and keyed fingerprint are those of the
# previous version's chunk keeps its ID without being hashed again
# (docs/format.md 6.2).  One changed byte keeps a chunk's place and length:
# its fingerprint must tell it apart.
test_expect_success "$ds: large files changed in place: every change is in the next snapshot" '
	test_when_finished "rm -rf mnt/$ds/large r-large?-$ds img?-$ds grows?-$ds" &&
	mkdir mnt/$ds/large &&
	sstool randfile mnt/$ds/large/img 24M "img-$ds" random &&
	sstool randfile mnt/$ds/large/grows 6M "grows-$ds" text &&
	snapseal snapshot tank/$ds@large1 &&
	cp mnt/$ds/large/img img1-$ds &&
	cp mnt/$ds/large/grows grows1-$ds &&
	sstool flip mnt/$ds/large/img 12345678 &&
	sstool flip mnt/$ds/large/img 100 &&
	dd if=B of=mnt/$ds/large/img bs=1M seek=5 count=2 conv=notrunc \
		status=none &&
	cat A >>mnt/$ds/large/grows &&
	snapseal snapshot tank/$ds@large2 &&
	cp mnt/$ds/large/img img2-$ds &&
	cp mnt/$ds/large/grows grows2-$ds &&
	sstool flip mnt/$ds/large/img 20000000 &&
	snapseal snapshot tank/$ds@large3 &&
	snapseal get -H -p -o value written tank/$ds@large3 >written &&
	test "$(cat written)" -lt 10485760 &&
	for s in 1 2
	do
		snapseal restore tank/$ds@large$s r-large$s-$ds &&
		cmp img$s-$ds r-large$s-$ds/large/img &&
		cmp grows$s-$ds r-large$s-$ds/large/grows || return 1
	done &&
	snapseal restore tank/$ds@large3 r-large3-$ds &&
	cmp mnt/$ds/large/img r-large3-$ds/large/img &&
	! cmp -s img2-$ds r-large3-$ds/large/img
'

test_expect_success NOCAP "$ds: an unreadable file: one-line error naming it, no snapshot" '
	echo secret >mnt/$ds/gen/unreadable-file &&
	chmod 000 mnt/$ds/gen/unreadable-file &&
	test_when_finished "chmod 644 mnt/$ds/gen/unreadable-file" &&
	test_must_fail snapseal_nocap snapshot tank/$ds@unreadable 2>err &&
	test_line_count "=" 1 err &&
	test_grep "unreadable-file" err &&
	test_grep -i "permission denied" err &&
	snapseal list -H -o name -t snapshot tank/$ds >snaps &&
	test_grep ! "@unreadable" snaps
'

test_expect_success NOCAP "$ds: an unreadable directory: one-line error naming it, no snapshot" '
	mkdir mnt/$ds/gen/closed-dir &&
	echo inside >mnt/$ds/gen/closed-dir/f &&
	chmod 000 mnt/$ds/gen/closed-dir &&
	test_when_finished "chmod 755 mnt/$ds/gen/closed-dir" &&
	test_must_fail snapseal_nocap snapshot tank/$ds@closed 2>err &&
	test_line_count "=" 1 err &&
	test_grep "closed-dir" err &&
	snapseal list -H -o name -t snapshot tank/$ds >snaps &&
	test_grep ! "@closed" snaps
'

test_expect_success NOCAP "$ds: the error still names the file and the reason when its path is long" '
	n=$(printf "q%.0s" $(seq 200)) &&
	p=mnt/$ds/gen/long &&
	for i in 1 2 3 4 5 6
	do
		p=$p/$n$i
	done &&
	mkdir -p $p &&
	echo secret >$p/unreadable-file &&
	chmod 000 $p/unreadable-file &&
	test_when_finished "rm -rf mnt/$ds/gen/long" &&
	test_must_fail snapseal_nocap snapshot tank/$ds@longpath 2>err &&
	test_line_count "=" 1 err &&
	test_grep "unreadable-file" err &&
	test_grep -i "permission denied" err
'

test_expect_success NOCAP "$ds: after a refused snapshot the pool is fine and readable again" '
	sstool digest mnt/$ds >expect &&
	snapseal_nocap snapshot tank/$ds@readable &&
	snapseal restore tank/$ds@readable r-readable-$ds &&
	sstool digest r-readable-$ds >actual &&
	test_cmp expect actual &&
	snapseal restore tank/$ds@base r-base-$ds &&
	sstool digest r-base-$ds >actual &&
	test_cmp base-$ds.digest actual
'

done

test_done
