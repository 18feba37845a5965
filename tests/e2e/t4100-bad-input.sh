#!/bin/bash
# shellcheck disable=SC2016,SC2317,SC2034,SC2283 # single-quoted bodies call the helpers and use the variables
test_description='bad input: a full disk under the pool and under a restore
target, an unreadable key file, a pool on a read-only file system, trees
that trip the sanitizers'

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

test_lazy_prereq TMPFS '
	test "$(id -u)" = 0 &&
	mkdir m &&
	mount -t tmpfs -o size=1m tmpfs m &&
	umount m
'
test_lazy_prereq NOBODY '
	test "$(id -u)" = 0 &&
	command -v runuser &&
	runuser -u nobody -- true
'

# one_line_err FILE PATTERN: FILE is one line matching PATTERN (grep -i).
one_line_err() {
	test_line_count = 1 "$1" &&
	test_grep -i -e "$2" "$1"
}

# mount_small DIR SIZE: a tmpfs of SIZE at DIR, unmounted after the test.
mount_small() {
	mkdir -p "$1" &&
	mount -t tmpfs -o "size=$2" tmpfs "$1" &&
	test_when_finished "umount '$PWD/$1'"
}

# regen DIR SEED N: a fresh tree.
regen() {
	rm -rf "$1" &&
	sstool gen "$1" "$2" "$3"
}

test_expect_success 'setup' '
	sstool randfile key 32 bad-input-key random &&
	regen live seed 40 &&
	sstool digest live >one.digest
'

# The tmpfs "small" stays mounted for the next two tests.
test_expect_success TMPFS 'full disk: the snapshot fails with one line, the pool stays consistent' '
	mkdir small &&
	mount -t tmpfs -o size=3m tmpfs small &&
	snapseal pool create -d "$PWD/small/pool" sp &&
	snapseal create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/key" -o mountpoint="$PWD/live" sp/e &&
	snapseal snapshot sp/e@one &&
	du -sk small/pool >du.before &&
	sstool randfile live/big.bin 6M big random &&
	test_when_finished "rm -f live/big.bin" &&
	test_must_fail snapseal snapshot sp/e@two 2>enospc.err &&
	test_line_count = 1 enospc.err &&
	test_grep -F "sp/e@two" enospc.err &&
	snapseal list -H -o name -t snapshot sp/e >actual &&
	echo sp/e@one >expect &&
	test_cmp expect actual &&
	snapseal restore sp/e@one r.one &&
	sstool digest r.one >actual &&
	test_cmp one.digest actual &&
	du -sk small/pool >du.after &&
	read -r before rest <du.before &&
	read -r after rest <du.after &&
	echo "pool: $before KiB before, $after KiB after the failed snapshot" &&
	test "$after" -le $((before + 128))
'

# Bug (since c1398ab): the pack writer keeps its first error but a later
# ss_packw_add()/ss_packw_flush() replaces the message with "pack writer
# failed earlier" (lib/store/pack.c), so the user sees "cannot create
# snapshot 'sp/e@two': pack writer failed earlier" instead of "write pack
# '...': No space left on device" (what d3af42c printed).
test_expect_success TMPFS 'full disk: the error says "No space left"' '
	test_grep -i "no space left" enospc.err
'

test_expect_success TMPFS 'full disk: after freeing space, snapshots succeed again' '
	test_when_finished "umount \"$PWD/small\"" &&
	rm -f live/big.bin &&
	echo "a small change" >live/small-change &&
	test_when_finished "rm -f live/big.bin live/small-change" &&
	snapseal snapshot sp/e@three &&
	sstool digest live >three.digest &&
	snapseal restore sp/e@three r.three &&
	sstool digest r.three >actual &&
	test_cmp three.digest actual &&
	mount -o remount,size=16m "$PWD/small" &&
	sstool randfile live/big.bin 6M big random &&
	snapseal snapshot sp/e@four &&
	sstool digest live >four.digest &&
	snapseal restore sp/e@four r.four &&
	sstool digest r.four >actual &&
	test_cmp four.digest actual
'

test_expect_success TMPFS 'full disk with no room for the catalog: snapshot fails cleanly, nothing lost' '
	mount_small small2 3m &&
	snapseal pool create -d "$PWD/small2/pool" sq &&
	snapseal create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/key" -o mountpoint="$PWD/live" sq/e &&
	snapseal snapshot sq/e@one &&
	sstool digest live >sq1.digest &&
	! dd if=/dev/zero of=small2/filler bs=4k 2>/dev/null &&
	echo "change" >live/change &&
	test_when_finished "rm -f live/change" &&
	test_must_fail snapseal snapshot sq/e@two 2>err &&
	test_line_count = 1 err &&
	test_grep -F "sq/e@two" err &&
	rm small2/filler &&
	snapseal list -H -o name -t snapshot sq/e >actual &&
	echo sq/e@one >expect &&
	test_cmp expect actual &&
	snapseal restore sq/e@one r.sq &&
	sstool digest r.sq >actual &&
	test_cmp sq1.digest actual &&
	snapseal snapshot sq/e@three &&
	sstool digest live >sq3.digest &&
	snapseal restore sq/e@three r.sq3 &&
	sstool digest r.sq3 >actual &&
	test_cmp sq3.digest actual
'

# Bug: with the pool's file system full, SQLite cannot create the
# catalog's -shm file: every command, reads included, fails with
# "catalog: PRAGMA journal_mode=WAL; ...: disk I/O error", so nothing can
# be restored from a full backup disk, and a snapshot does not say "No
# space left".
test_expect_failure TMPFS 'full disk: earlier snapshots still list and restore, the error says so' '
	mount_small small3 3m &&
	snapseal pool create -d "$PWD/small3/pool" sr &&
	snapseal create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/key" -o mountpoint="$PWD/live" sr/e &&
	snapseal snapshot sr/e@one &&
	sstool digest live >sr1.digest &&
	! dd if=/dev/zero of=small3/filler bs=4k 2>/dev/null &&
	echo "change" >live/change &&
	test_when_finished "rm -f live/change" &&
	test_must_fail snapseal snapshot sr/e@two 2>err &&
	one_line_err err "no space left" &&
	snapseal list -H -o name -t snapshot sr/e >actual &&
	echo sr/e@one >expect &&
	test_cmp expect actual &&
	snapseal restore sr/e@one r.sr &&
	sstool digest r.sr >actual &&
	test_cmp sr1.digest actual
'

test_expect_success TMPFS 'full restore target: one line naming the file, no target at all' '
	mount_small tgt 1m &&
	snapseal pool create tp &&
	snapseal create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/key" -o mountpoint="$PWD/live" tp/e &&
	sstool randfile live/big.bin 2M big random &&
	echo "written before big.bin" >live/a.txt &&
	test_when_finished "rm -f live/big.bin live/a.txt" &&
	snapseal snapshot tp/e@big &&
	sstool digest live >big.digest &&
	test_must_fail snapseal restore tp/e@big tgt/r 2>err &&
	one_line_err err "no space left" &&
	test_grep -F "tgt/r/big.bin" err &&
	! test -e tgt/r &&
	find tgt -mindepth 1 >leftover &&
	test_line_count = 0 leftover
'

test_expect_success TMPFS 'full existing target: no partial file, what it held stays' '
	mount_small tgt 1m &&
	mkdir tgt/r &&
	echo mine >tgt/r/mine &&
	test_must_fail snapseal restore tp/e@big tgt/r 2>err &&
	one_line_err err "no space left" &&
	test_grep -F "big.bin" err &&
	! test -e tgt/r/big.bin &&
	find tgt -name ".snapseal-*" >leftover &&
	test_line_count = 0 leftover &&
	echo mine >expect &&
	test_cmp expect tgt/r/mine &&
	rm tgt/r/mine &&
	sstool digest tgt/r >partial.digest &&
	sed -n "/ type=f /p" partial.digest >partial.f &&
	sed -n "/ type=f /p" big.digest >source.f &&
	sort partial.f >partial.files &&
	sort source.f >source.files &&
	comm -23 partial.files source.files >bad &&
	test_line_count = 0 bad
'

test_expect_success NOBODY 'an unreadable key file is refused by name (as nobody)' '
	chmod 711 "$TEST_ROOT" &&
	test_when_finished "chmod 700 \"$TEST_ROOT\"" &&
	mkdir nob &&
	chown nobody nob &&
	cat >nob/run <<-EOF &&
	#!/bin/sh
	exec runuser -u nobody -- env SNAPSEAL_HOME="$PWD/nob/home" \
		ASAN_OPTIONS="$ASAN_OPTIONS" UBSAN_OPTIONS="$UBSAN_OPTIONS" \
		"$SNAPSEAL" "\$@"
	EOF
	chmod 755 nob/run &&
	runuser -u nobody -- mkdir nob/home nob/live &&
	runuser -u nobody -- "$SSTOOL" randfile nob/key 32 nobody-key random &&
	runuser -u nobody -- cp nob/key nob/key000 &&
	chmod 000 nob/key000 &&
	nob/run pool create np &&
	test_when_finished "nob/run unload-key -a >/dev/null 2>&1; :" &&
	test_must_fail nob/run create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/nob/key000" np/bad 2>err &&
	test_line_count = 1 err &&
	test_grep -F "$PWD/nob/key000" err &&
	test_grep -i "permission denied" err &&
	test_must_fail nob/run list np/bad 2>/dev/null &&
	nob/run create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/nob/key" \
		-o mountpoint="$PWD/nob/live" np/e &&
	nob/run unload-key np/e &&
	test_must_fail nob/run load-key -L "file://$PWD/nob/key000" np/e 2>err &&
	test_line_count = 1 err &&
	test_grep -F "$PWD/nob/key000" err &&
	test_grep -i "permission denied" err &&
	nob/run get -H -o value keystatus np/e >actual &&
	echo unavailable >expect &&
	test_cmp expect actual
'

test_expect_success NOBODY 'a stage that cannot be removed is named in the error (as nobody)' '
	chmod 711 "$TEST_ROOT" &&
	test_when_finished "chmod 700 \"$TEST_ROOT\"" &&
	nob/run load-key np/e &&
	runuser -u nobody -- mkdir nob/live/ro &&
	runuser -u nobody -- sh -c "echo kept >nob/live/ro/f" &&
	chmod 555 nob/live/ro &&
	test_when_finished "chmod -R u+w nob; rm -rf nob/out nob/.snapseal-*" &&
	nob/run snapshot np/e@ro &&
	{ setpriv --reuid=nobody --regid=nogroup --clear-groups env \
		SNAPSEAL_HOME="$PWD/nob/home" SNAPSEAL_STOPPOINT=restore-staged \
		ASAN_OPTIONS="$ASAN_OPTIONS" UBSAN_OPTIONS="$UBSAN_OPTIONS" \
		"$SNAPSEAL" restore np/e@ro nob/out 2>err & } &&
	pid=$! &&
	wait_stopped $pid &&
	runuser -u nobody -- mkdir nob/out &&
	kill -CONT $pid &&
	{ wait $pid; echo $? >rc; } &&
	test "$(cat rc)" != 0 &&
	test_line_count = 1 err &&
	test_grep "appeared during the restore" err &&
	test_grep -F "the partial restore is left in '\''nob/.snapseal-" err &&
	stage=$(sed -n "s/.*left in .\(nob\/\.snapseal-[0-9a-f]*\).*/\1/p" err) &&
	test -d "$stage/ro" &&
	echo kept >expect &&
	test_cmp expect "$stage/ro/f"
'

test_expect_success TMPFS 'a pool on a read-only file system: writes fail with one line, nothing lost' '
	mount_small ro 8m &&
	snapseal pool create -d "$PWD/ro/pool" rp &&
	snapseal create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/key" -o mountpoint="$PWD/live" rp/e &&
	snapseal snapshot rp/e@one &&
	sstool digest live >rp1.digest &&
	mount -o remount,ro "$PWD/ro" &&
	test_must_fail snapseal snapshot rp/e@two 2>err &&
	one_line_err err "read-only file system" &&
	test_grep -F "rp" err &&
	test_must_fail snapseal destroy rp/e@one 2>err &&
	test_line_count = 1 err &&
	test_must_fail snapseal pool create -d "$PWD/ro/other" other 2>err &&
	test_line_count = 1 err &&
	test_grep -F "$PWD/ro/other" err &&
	test_must_fail snapseal list other 2>/dev/null &&
	mount -o remount,rw "$PWD/ro" &&
	snapseal list -H -o name -t snapshot rp/e >actual &&
	echo rp/e@one >expect &&
	test_cmp expect actual &&
	snapseal restore rp/e@one r.rp &&
	sstool digest r.rp >actual &&
	test_cmp rp1.digest actual
'

# Bug: opening the WAL-mode catalog needs to create catalog.db-shm, so on
# a read-only file system even list, get and restore fail ("catalog:
# PRAGMA journal_mode=WAL; ...: unable to open database file"): a backup
# disk mounted read-only cannot be restored from.
test_expect_success TMPFS 'a pool on a read-only file system can be listed and restored' '
	mount_small ro2 8m &&
	snapseal pool create -d "$PWD/ro2/pool" rq &&
	snapseal create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/key" -o mountpoint="$PWD/live" rq/e &&
	snapseal snapshot rq/e@one &&
	sstool digest live >rq1.digest &&
	mount -o remount,ro "$PWD/ro2" &&
	snapseal list -H -o name -t snapshot rq/e >actual &&
	echo rq/e@one >expect &&
	test_cmp expect actual &&
	snapseal get -H -o value keystatus rq/e >actual &&
	echo available >expect &&
	test_cmp expect actual &&
	snapseal restore rq/e@one r.rq &&
	sstool digest r.rq >actual &&
	test_cmp rq1.digest actual
'

test_expect_success NOBODY 'a pool of another user (as nobody): one-line permission error' '
	chmod 711 "$TEST_ROOT" &&
	test_when_finished "chmod 700 \"$TEST_ROOT\"" &&
	test -x nob/run &&
	env SNAPSEAL_HOME="$PWD/nob/home" snapseal pool create rootpool &&
	env SNAPSEAL_HOME="$PWD/nob/home" snapseal create \
		-o mountpoint="$PWD/live" rootpool/ds &&
	env SNAPSEAL_HOME="$PWD/nob/home" snapseal snapshot rootpool/ds@one &&
	test_must_fail nob/run list -r rootpool 2>err &&
	test_line_count = 1 err &&
	test_grep -F "rootpool" err &&
	test_grep -i "permission denied" err &&
	test_must_fail nob/run snapshot rootpool/ds@two 2>err &&
	test_line_count = 1 err &&
	test_grep -i "permission denied" err &&
	env SNAPSEAL_HOME="$PWD/nob/home" snapseal list -H -o name -t snapshot \
		rootpool/ds >actual &&
	echo rootpool/ds@one >expect &&
	test_cmp expect actual
'

# list_dir() (lib/tree/snap.c) once called qsort(NULL, 0, ...) here.
test_expect_success 'a tree with an empty directory snapshots and restores' '
	mkdir -p emptydir/a/empty emptydir/b &&
	echo x >emptydir/b/f &&
	snapseal pool create ep &&
	snapseal create -o mountpoint="$PWD/emptydir" ep/ds &&
	snapseal snapshot ep/ds@one &&
	snapseal restore ep/ds@one r.empty &&
	sstool digest emptydir >expect &&
	sstool digest r.empty >actual &&
	test_cmp expect actual
'

# ss_pool_names() (lib/pool/pool.c) once called qsort(NULL, 0, ...) here.
test_expect_success 'pool list and load-key -a in a home without pools' '
	mkdir emptyhome &&
	env SNAPSEAL_HOME="$PWD/emptyhome" snapseal pool list >out 2>err &&
	env SNAPSEAL_HOME="$PWD/emptyhome" snapseal load-key -a >out 2>err &&
	env SNAPSEAL_HOME="$PWD/emptyhome" snapseal unload-key -a >out 2>err
'

test_done
