#!/bin/bash
# shellcheck disable=SC2016,SC2317 # single-quoted bodies call the helpers
test_description='restore: some paths of a snapshot, errors, -v

restore DS@S TARGET PATH... writes just those paths (with their parent
directories) under TARGET; a path that is not in the snapshot, or that
tries to leave it, is refused; nothing existing in TARGET is overwritten;
-v lists what is restored.'

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# sub_digest DIGEST PREFIX: the lines of DIGEST under PREFIX (a relative
# path), with PREFIX kept (so that it compares with a restored TARGET).
sub_digest() {
	grep -E "^$2( |/)" "$1"
}

test_expect_success 'setup: a pool, an encrypted and a plain dataset' '
	pool_and_dataset mnt tank enc enc &&
	pool_and_dataset mnt tank plain plain
'

for ds in enc plain; do

test_expect_success "$ds: setup: a tree, snapshotted" '
	d=mnt/$ds &&
	sstool gen $d/gen "paths-$ds" 60 &&
	mkdir -p $d/a/b/c $d/other &&
	echo f >$d/a/b/c/f &&
	echo g >$d/a/b/g &&
	echo top >$d/top &&
	echo "with space" >"$d/a/name with space" &&
	echo other >$d/other/file &&
	ln -s /etc $d/escape &&
	ln -s a $d/alink &&
	ln -s ../.. $d/a/up &&
	echo h >$d/a/b/h1 &&
	ln $d/a/b/h1 $d/other/h2 &&
	ln $d/a/b/h1 $d/h3 &&
	chmod 0750 $d/a/b &&
	touch -d @1600000000.1 $d/a/b/c/f $d/a/b/g $d/top "$d/a/name with space" $d/other/file $d/a/b/h1 &&
	touch -h -d @1600000000.2 $d/escape $d/alink $d/a/up &&
	touch -d @1600000000.3 $d/a/b/c $d/a/b $d/a $d/other $d &&
	sstool digest $d >full-$ds &&
	snapseal snapshot tank/$ds@s
'

test_expect_success "$ds: restore one file: it and its parent directories" '
	snapseal restore tank/$ds@s one-$ds a/b/c/f &&
	sstool digest one-$ds >actual &&
	grep -v " type=d " actual >actual-nodirs &&
	grep "^a/b/c/f " full-$ds >expect &&
	test_cmp expect actual-nodirs &&
	test "$(find one-$ds -mindepth 1 -type d -printf "%P\n" | sort)" = "$(printf "a\na/b\na/b/c")"
'

test_expect_success "$ds: the parent directories of a restored path get their snapshot metadata" '
	sstool digest one-$ds >actual &&
	sed 1d actual >actual-noroot &&
	grep -E "^(a|a/b|a/b/c|a/b/c/f) " full-$ds >expect &&
	test_cmp expect actual-noroot
'

test_expect_success "$ds: restore one directory: the whole subtree" '
	snapseal restore tank/$ds@s dir-$ds gen &&
	sstool digest dir-$ds >actual &&
	sed 1d actual >actual-noroot &&
	sub_digest full-$ds gen >expect &&
	test_cmp expect actual-noroot
'

test_expect_success "$ds: restore two paths at once" '
	snapseal restore tank/$ds@s two-$ds top a/b/c &&
	sstool digest two-$ds >actual &&
	grep -E "^(top|a/b/c|a/b/c/f) " actual >actual-paths &&
	grep -E "^(top|a/b/c|a/b/c/f) " full-$ds >expect &&
	test_cmp expect actual-paths &&
	test_line_count = 6 actual
'

test_expect_success "$ds: restore a name with a space" '
	snapseal restore tank/$ds@s space-$ds "a/name with space" &&
	test "$(cat "space-$ds/a/name with space")" = "with space"
'

test_expect_success "$ds: restore a symlink restores the link, not what it points to" '
	snapseal restore tank/$ds@s link-$ds escape alink &&
	test -L link-$ds/escape &&
	test "$(readlink link-$ds/escape)" = /etc &&
	test -L link-$ds/alink &&
	! test -e link-$ds/a &&
	test "$(find link-$ds | wc -l)" = 3
'

test_expect_success "$ds: a path through a symlink is not in the snapshot" '
	test_must_fail snapseal restore tank/$ds@s through-$ds escape/passwd 2>err &&
	test_grep "not in the snapshot" err &&
	test_must_fail snapseal restore tank/$ds@s through2-$ds alink/b/g 2>err &&
	test_grep "not in the snapshot" err &&
	! test -e through-$ds/escape &&
	! test -e through2-$ds/alink
'

test_expect_success "$ds: hard links within the restored paths stay linked" '
	snapseal restore tank/$ds@s hl-$ds a other &&
	test "$(stat -c %i hl-$ds/a/b/h1)" = "$(stat -c %i hl-$ds/other/h2)" &&
	! test -e hl-$ds/h3
'

test_expect_success "$ds: a path not in the snapshot is refused, naming it" '
	test_must_fail snapseal restore tank/$ds@s missing-$ds nosuch 2>err &&
	test_grep "'\''nosuch'\'' is not in the snapshot" err &&
	test_line_count = 1 err &&
	test_must_fail snapseal restore tank/$ds@s missing2-$ds a/b/nosuch 2>err &&
	test_grep "'\''a/b/nosuch'\'' is not in the snapshot" err &&
	test_must_fail snapseal restore tank/$ds@s missing3-$ds a/b/c/f/under-a-file 2>err &&
	test_grep "not in the snapshot" err
'

test_expect_success "$ds: a refused restore writes nothing, not even TARGET" '
	test_must_fail snapseal restore tank/$ds@s notarget-$ds nosuch 2>err &&
	! test -e notarget-$ds &&
	test_must_fail snapseal restore tank/$ds@s mixed-$ds top nosuch 2>err &&
	test_grep "nosuch" err &&
	! test -e mixed-$ds
'

test_expect_success "$ds: .. is refused and nothing is written outside TARGET" '
	mkdir jail-$ds &&
	(
		for p in .. ../top a/../../top a/b/../../.. "a/b/c/../../../../escaped"
		do
			test_must_fail snapseal restore tank/$ds@s jail-$ds/t "$p" 2>err &&
			test -s err || exit 1
		done
	) &&
	test -z "$(find jail-$ds -mindepth 2 ! -type d)" &&
	! test -e escaped &&
	! test -e jail-$ds/top
'

test_expect_success "$ds: restore refuses a file that exists in TARGET and keeps it" '
	mkdir -p exist-$ds/a/b/c &&
	echo mine >exist-$ds/a/b/c/f &&
	test_must_fail snapseal restore tank/$ds@s exist-$ds a/b/c/f 2>err &&
	test_grep "already exists" err &&
	echo mine >expect &&
	test_cmp expect exist-$ds/a/b/c/f
'

test_expect_success "$ds: restore refuses a symlink in TARGET where a file goes" '
	mkdir -p symexist-$ds &&
	ln -s ../victim-$ds symexist-$ds/top &&
	test_must_fail snapseal restore tank/$ds@s symexist-$ds top 2>err &&
	test_grep "already exists" err &&
	! test -e victim-$ds &&
	test "$(readlink symexist-$ds/top)" = ../victim-$ds
'

test_expect_success "$ds: a symlinked directory in TARGET is not followed" '
	mkdir -p symdir-$ds outside-$ds &&
	ln -s ../outside-$ds symdir-$ds/a &&
	test_must_fail snapseal restore tank/$ds@s symdir-$ds a/b/g 2>err &&
	test -z "$(ls -A outside-$ds)"
'

test_expect_success "$ds: restore -v lists every file restored" '
	snapseal restore -v tank/$ds@s verbose-$ds >out 2>err &&
	(cd mnt/$ds && find . ! -type d -printf "%P\n" | grep -v " " | sort) >expect &&
	test "$(wc -l <expect)" -gt 60 &&
	(
		while read -r p
		do
			grep -q -F -x -e "$p" -e "verbose-$ds/$p" -e "$PWD/verbose-$ds/$p" out ||
			{ echo "not listed: $p"; exit 1; }
		done <expect
	) &&
	grep -F "name with space" out &&
	sstool digest verbose-$ds >actual &&
	test_cmp full-$ds actual
'

test_expect_success "$ds: restore -v with paths lists only those" '
	snapseal restore -v tank/$ds@s vpath-$ds a/b/c/f >out &&
	grep "a/b/c/f\$" out &&
	! grep -e top -e gen/ out
'

test_expect_success "$ds: without -v restore prints nothing" '
	snapseal restore tank/$ds@s quiet-$ds top >out 2>err &&
	! test -s out &&
	! test -s err
'

done

# A name that is not a snapshot's used to free an uninitialised reference
# (a crash in release builds): a clear error, exit 1, nothing restored.
test_expect_success 'a malformed snapshot name is refused, not a crash' '
	for name in tank/plain@s/a tank/plain tank/plain@ tank/plain@@s; do
		test_expect_code 1 snapseal restore "$name" bad-name 2>err &&
		test_grep "invalid name" err &&
		! test -e bad-name &&
		test_expect_code 1 snapseal rollback "$name" 2>err &&
		test_grep "invalid name" err || return 1
	done
'

test_done
