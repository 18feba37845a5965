#!/bin/bash
# shellcheck disable=SC2016,SC2317 # single-quoted bodies call the helpers
test_description='rollback: the live directory becomes the snapshot again

Added files go, modified and deleted ones come back, unchanged files are
not rewritten (same inode); refused while later snapshots exist unless -r
destroys them; never touches the mountpoint of a child dataset; never
follows a symlink out of the live directory.'

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# inodes DIR: "inode path" of every regular file under DIR, by path.
inodes() {
	(cd "$1" && find . -type f -printf "%i %P\n" | sort -k2)
}

test_expect_success 'setup: a pool, an encrypted and a plain dataset' '
	pool_and_dataset mnt tank enc enc &&
	pool_and_dataset mnt tank plain plain
'

for ds in enc plain; do

test_expect_success "$ds: setup: a tree of every kind, snapshot s1" '
	d=mnt/$ds &&
	sstool gen $d/gen "rollback-$ds" 150 &&
	mkdir -p $d/k/dir $d/k/ro $d/k/todel/sub &&
	echo same >$d/k/same-size &&
	echo data >$d/k/chmod-me &&
	echo data >$d/k/touch-me &&
	echo data >$d/k/becomes-dir &&
	echo sub >$d/k/dir/f &&
	echo del >$d/k/todel/sub/f &&
	echo del >$d/k/deleted &&
	echo ren >$d/k/renamed &&
	echo ro >$d/k/ro/f &&
	echo h >$d/k/h1 &&
	ln $d/k/h1 $d/k/dir/h2 &&
	ln -s dir $d/k/link &&
	ln -s target1 $d/k/relink &&
	mkfifo $d/k/fifo &&
	sstool randfile $d/k/big 3M "big-$ds" &&
	chmod 0555 $d/k/ro &&
	touch -d @1600000000.5 $d/k/* $d/k/dir/f $d/k/todel/sub/f $d/k/ro/f &&
	touch -h -d @1600000000.6 $d/k/link $d/k/relink &&
	touch -d @1600000000.7 $d/k/dir $d/k/ro $d/k/todel/sub $d/k/todel $d/k $d &&
	sstool digest $d >s1-$ds.digest &&
	inodes $d >s1-$ds.inodes &&
	snapseal snapshot tank/$ds@s1
'

test_expect_success "$ds: rollback to the newest snapshot with nothing changed keeps every file" '
	snapseal rollback tank/$ds@s1 &&
	sstool digest mnt/$ds >actual &&
	test_cmp s1-$ds.digest actual &&
	inodes mnt/$ds | grep -v -e " k/h1\$" -e " k/dir/h2\$" >actual &&
	grep -v -e " k/h1\$" -e " k/dir/h2\$" s1-$ds.inodes >expect &&
	test_cmp expect actual
'

test_expect_success "$ds: ... hard-linked files included (not rewritten)" '
	inodes mnt/$ds >actual &&
	test_cmp s1-$ds.inodes actual
'

test_expect_success "$ds: change everything, then rollback: the tree is s1 again" '
	d=mnt/$ds &&
	echo new >$d/added &&
	mkdir -p $d/added-dir/deep &&
	echo new >$d/added-dir/deep/f &&
	mod=$(cd $d/gen && find . -type f -size +1k -printf "%P\n" | sort | head -n 1) &&
	test -n "$mod" &&
	echo more >>"$d/gen/$mod" &&
	echo SAME >$d/k/same-size &&
	touch -d @1600000000.5 $d/k/same-size &&
	chmod 0600 $d/k/chmod-me &&
	touch -d @1700000000 $d/k/touch-me &&
	rm $d/k/becomes-dir && mkdir $d/k/becomes-dir && echo x >$d/k/becomes-dir/x &&
	rm -r $d/k/dir && echo "was a dir" >$d/k/dir &&
	rm -r $d/k/todel &&
	rm $d/k/deleted &&
	mv $d/k/renamed $d/k/renamed-new &&
	chmod u+w $d/k/ro && echo extra >$d/k/ro/extra && rm $d/k/ro/f && chmod 0555 $d/k/ro &&
	rm $d/k/relink && ln -s target2 $d/k/relink &&
	rm $d/k/link && echo "no longer a link" >$d/k/link &&
	rm $d/k/fifo && echo "no longer a fifo" >$d/k/fifo &&
	dd if=/dev/zero of=$d/k/big bs=1 count=10 seek=1000000 conv=notrunc status=none &&
	chmod 0700 $d &&
	! sstool digest $d | cmp -s - s1-$ds.digest &&
	snapseal rollback tank/$ds@s1 &&
	sstool digest $d >actual &&
	test_cmp s1-$ds.digest actual
'

test_expect_success "$ds: files rollback did not need to change kept their inode" '
	inodes mnt/$ds >after &&
	grep " gen/" s1-$ds.inodes | grep -v -F -x -e "$(grep " gen/$mod\$" s1-$ds.inodes)" >expect-gen &&
	test "$(wc -l <expect-gen)" -gt 100 &&
	grep " gen/" after | grep -v " gen/$mod\$" >actual-gen &&
	test_cmp expect-gen actual-gen
'

test_expect_success "$ds: a second rollback with nothing changed rewrites nothing" '
	inodes mnt/$ds | grep -v -e " k/h1\$" -e " k/dir/h2\$" >before &&
	snapseal rollback tank/$ds@s1 &&
	inodes mnt/$ds | grep -v -e " k/h1\$" -e " k/dir/h2\$" >after &&
	test_cmp before after
'

test_expect_success "$ds: a hard-link group broken after the snapshot is one inode again" '
	test "$(stat -c %i mnt/$ds/k/h1)" = "$(stat -c %i mnt/$ds/k/dir/h2)"
'

test_expect_success "$ds: rollback is refused while later snapshots exist" '
	echo later >mnt/$ds/later &&
	snapseal snapshot tank/$ds@s2 &&
	echo later2 >mnt/$ds/later2 &&
	snapseal snapshot tank/$ds@s3 &&
	sstool digest mnt/$ds >s3-$ds.digest &&
	echo after-s3 >mnt/$ds/after-s3 &&
	sstool digest mnt/$ds >expect &&
	test_must_fail snapseal rollback tank/$ds@s1 2>err &&
	test_grep -e "-r" err &&
	test_grep "s2" err &&
	test_line_count = 1 err &&
	sstool digest mnt/$ds >actual &&
	test_cmp expect actual &&
	snapseal list -H -o name -t snapshot tank/$ds >actual &&
	printf "tank/$ds@%s\n" s1 s2 s3 >expect &&
	test_cmp expect actual
'

test_expect_success "$ds: rollback to the newest snapshot is allowed without -r" '
	snapseal rollback tank/$ds@s3 &&
	sstool digest mnt/$ds >actual &&
	test_cmp s3-$ds.digest actual
'

test_expect_success "$ds: rollback -r destroys the later snapshots" '
	snapseal rollback -r tank/$ds@s1 &&
	snapseal list -H -o name -t snapshot tank/$ds >actual &&
	echo tank/$ds@s1 >expect &&
	test_cmp expect actual &&
	sstool digest mnt/$ds >actual &&
	test_cmp s1-$ds.digest actual &&
	test_must_fail snapseal restore tank/$ds@s2 gone-$ds 2>err &&
	test_grep "does not exist" err
'

test_expect_success "$ds: s1 still restores after all this" '
	snapseal restore tank/$ds@s1 s1-$ds &&
	sstool digest s1-$ds >actual &&
	test_cmp s1-$ds.digest actual
'

test_expect_success "$ds: rollback never follows a symlink out of the live directory" '
	mkdir outside-$ds &&
	echo precious >outside-$ds/precious &&
	sstool digest outside-$ds >outside-expect &&
	rm mnt/$ds/k/becomes-dir &&
	chmod u+w mnt/$ds/k/ro && rm -r mnt/$ds/k/ro &&
	ln -s "$PWD/outside-$ds" mnt/$ds/k/ro &&
	ln -s "$PWD/outside-$ds" mnt/$ds/k/becomes-dir &&
	ln -sf "$PWD/outside-$ds/precious" mnt/$ds/k/same-size &&
	snapseal rollback tank/$ds@s1 &&
	sstool digest outside-$ds >actual &&
	test_cmp outside-expect actual &&
	sstool digest mnt/$ds >actual &&
	test_cmp s1-$ds.digest actual
'

test_expect_success "$ds: rollback to a missing snapshot fails and changes nothing" '
	echo stay >mnt/$ds/stay &&
	test_when_finished "rm -f mnt/$ds/stay" &&
	test_must_fail snapseal rollback tank/$ds@nosuch 2>err &&
	test_grep "does not exist" err &&
	test -f mnt/$ds/stay
'

done

# ---------- child datasets ----------

test_expect_success 'a child created after the snapshot is left alone' '
	snapseal create tank/enc/child &&
	test -d mnt/enc/child &&
	sstool gen mnt/enc/child child 20 &&
	sstool digest mnt/enc/child >child.digest &&
	echo extra >mnt/enc/extra &&
	snapseal rollback tank/enc@s1 &&
	sstool digest mnt/enc/child >actual &&
	test_cmp child.digest actual &&
	! test -e mnt/enc/extra
'

test_expect_success 'a child that existed at the snapshot is left alone too' '
	snapseal snapshot tank/enc@withchild &&
	echo more >>mnt/enc/child/$(cd mnt/enc/child && find . -type f -printf "%P\n" | sort | head -n 1) &&
	echo new >mnt/enc/child/new &&
	sstool digest mnt/enc/child >child2.digest &&
	echo extra >mnt/enc/extra &&
	snapseal rollback tank/enc@withchild &&
	sstool digest mnt/enc/child >actual &&
	test_cmp child2.digest actual &&
	! test -e mnt/enc/extra
'

test_expect_success 'a child of a child, and a plain child of the plain dataset' '
	snapseal create tank/enc/child/grand &&
	echo grand >mnt/enc/child/grand/g &&
	snapseal create tank/plain/pchild &&
	echo p >mnt/plain/pchild/p &&
	snapseal rollback -r tank/enc@s1 &&
	snapseal rollback tank/plain@s1 &&
	test "$(cat mnt/enc/child/grand/g)" = grand &&
	test "$(cat mnt/plain/pchild/p)" = p &&
	test -e mnt/enc/child/new
'

test_expect_success 'another dataset mounted inside the live directory is left alone' '
	snapseal create -o mountpoint="$PWD/mnt/plain/foreign" tank/enc/foreign &&
	echo foreign >mnt/plain/foreign/f &&
	snapseal rollback tank/plain@s1 &&
	test "$(cat mnt/plain/foreign/f)" = foreign
'

test_expect_success 'rolling back the child does not touch the parent' '
	snapseal snapshot tank/enc/child@c1 &&
	sstool digest mnt/enc/child >c1.digest &&
	echo parent >mnt/enc/parent-file &&
	echo child >mnt/enc/child/child-file &&
	snapseal rollback tank/enc/child@c1 &&
	test -f mnt/enc/parent-file &&
	sstool digest mnt/enc/child >actual &&
	test_cmp c1.digest actual
'

test_done
