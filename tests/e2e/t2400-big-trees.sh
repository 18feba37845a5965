#!/bin/bash
# shellcheck disable=SC2016,SC2317 # single-quoted bodies call the helpers
test_description='a real tree of thousands of files, incrementals and dedup

A copy of /usr/share/doc (or a generated tree of 3000 files) is
snapshotted, restored and compared; a snapshot with no change writes
almost nothing; after small changes written stays small, and every
snapshot restores the tree as it was when it was taken.  Identical files
and shifted data are stored once.'

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

MiB=$((1024 * 1024))

# prop PROP NAME: the parsable value of one property.
prop() {
	snapseal get -H -p -o value "$1" "$2"
}

# check_snap DS SNAP: restore tank/DS@SNAP and compare it with SNAP-DS.digest.
check_snap() {
	rm -rf "r-$1-$2" &&
	snapseal restore "tank/$1@$2" "r-$1-$2" &&
	sstool digest "r-$1-$2" >"r-$1-$2.digest" &&
	test_cmp "$2-$1.digest" "r-$1-$2.digest" &&
	rm -rf "r-$1-$2"
}

# check_snap_under DS SNAP DIR: restore only DIR of tank/DS@SNAP and compare
# it with its lines in SNAP-DS.digest (cheaper than a whole restore).
check_snap_under() {
	rm -rf "r-$1-$2" &&
	snapseal restore "tank/$1@$2" "r-$1-$2" "$3" &&
	sstool digest "r-$1-$2" >"r-$1-$2.digest" &&
	grep "^$3[ /]" "r-$1-$2.digest" >"r-$1-$2.sub" &&
	grep "^$3[ /]" "$2-$1.digest" >"$2-$1.sub" &&
	test_cmp "$2-$1.sub" "r-$1-$2.sub" &&
	rm -rf "r-$1-$2"
}

test_lazy_prereq USRDOC 'test "$(find /usr/share/doc -type f | wc -l)" -ge 2000'

test_expect_success 'setup: a pool, an encrypted and a plain dataset' '
	pool_and_dataset mnt tank enc enc &&
	pool_and_dataset mnt tank plain plain
'

for ds in enc plain; do

test_expect_success "$ds: a tree of thousands of files snapshots and restores exactly" '
	# The real tree goes to the encrypted dataset; the plain one gets a
	# smaller generated tree (the code paths are the same, and files cost
	# time).
	if test $ds = enc && test_have_prereq USRDOC
	then
		# the files under 16 KiB: some 4000 files, 13 MB
		(cd /usr/share && find doc ! -type d -size -16k -print0 |
			tar --null -T - -cf -) >doc.tar &&
		tar -xf doc.tar -C mnt/$ds &&
		rm doc.tar
	elif test $ds = enc
	then
		sstool gen mnt/$ds/doc "doc-$ds" 3000
	else
		sstool gen mnt/$ds/doc "doc-$ds" 1000
	fi &&
	sstool gen mnt/$ds/gen "big-$ds" 500 &&
	test "$(find mnt/$ds -type f | wc -l)" -ge 1500 &&
	sstool digest mnt/$ds >s1-$ds.digest &&
	snapseal snapshot tank/$ds@s1 &&
	check_snap $ds s1 &&
	test "$(prop written tank/$ds@s1)" -gt 1000000 &&
	test "$(prop referenced tank/$ds@s1)" -ge "$(prop written tank/$ds@s1)"
'

test_expect_success "$ds: a second snapshot with no change: same referenced, tiny written" '
	snapseal snapshot tank/$ds@s2 &&
	cp s1-$ds.digest s2-$ds.digest &&
	test "$(prop referenced tank/$ds@s2)" = "$(prop referenced tank/$ds@s1)" &&
	w=$(prop written tank/$ds@s2) &&
	echo "written by s2: $w" &&
	test "$w" -le 4096 &&
	check_snap $ds s2
'

test_expect_success "$ds: a few files changed: written is small, each snapshot is its own" '
	g=mnt/$ds/gen &&
	files=$(cd $g && find . -type f -size +2k -printf "%P\n" | sort | head -n 5) &&
	set -- $files &&
	test $# = 5 &&
	echo appended >>"$g/$1" &&
	echo appended >>"$g/$2" &&
	printf X | dd of="$g/$3" bs=1 seek=10 conv=notrunc status=none &&
	rm "$g/$4" "$g/$5" &&
	sstool randfile $g/new-file 100K "new-$ds" &&
	sstool digest mnt/$ds >s3-$ds.digest &&
	snapseal snapshot tank/$ds@s3 &&
	w=$(prop written tank/$ds@s3) &&
	ref=$(prop referenced tank/$ds@s3) &&
	echo "written by s3: $w of $ref" &&
	test "$w" -lt $MiB &&
	test "$w" -lt $((ref / 20)) &&
	check_snap $ds s3 &&
	check_snap $ds s1
'

test_expect_success "$ds: deleting a subtree, renaming, adding: every state restores" '
	g=mnt/$ds/gen &&
	sub=$(cd $g && find . -mindepth 1 -maxdepth 1 -type d -printf "%P\n" | sort | head -n 1) &&
	test -n "$sub" &&
	rm -r "$g/$sub" &&
	sstool digest mnt/$ds >s4-$ds.digest &&
	snapseal snapshot tank/$ds@s4 &&
	sub2=$(cd $g && find . -mindepth 1 -maxdepth 1 -type d -printf "%P\n" | sort | head -n 1) &&
	mv "$g/$sub2" "$g/renamed-$sub2" &&
	f=$(cd $g && find . -maxdepth 1 -type f -printf "%P\n" | sort | head -n 1) &&
	mv "$g/$f" "$g/renamed-$f" &&
	sstool digest mnt/$ds >s5-$ds.digest &&
	snapseal snapshot tank/$ds@s5 &&
	test "$(prop written tank/$ds@s5)" -lt 65536 &&
	sstool gen mnt/$ds/added "added-$ds" 50 &&
	mkdir "$g/$sub" &&
	echo back >"$g/$sub/back" &&
	sstool digest mnt/$ds >s6-$ds.digest &&
	snapseal snapshot tank/$ds@s6 &&
	check_snap_under $ds s4 gen &&
	check_snap_under $ds s5 gen &&
	check_snap $ds s6
'

test_expect_success "$ds: the snapshots are listed in order with their sizes" '
	snapseal list -H -p -t snapshot -o name,used,referenced,written tank/$ds >list &&
	cut -f1 list >actual &&
	printf "tank/$ds@%s\n" s1 s2 s3 s4 s5 s6 >expect &&
	test_cmp expect actual &&
	awk -F "\t" "NF != 4 || \$2 !~ /^[0-9]+\$/ || \$3 !~ /^[0-9]+\$/ || \$4 !~ /^[0-9]+\$/ { exit 1 }" list
'

# ---------- dedup ----------

test_expect_success "$ds: dedup: a 10 MiB file copied under 3 more names adds little" '
	snapseal create tank/$ds/dedup &&
	d=mnt/$ds/dedup &&
	sstool randfile $d/orig 10M "dedup-$ds" random &&
	snapseal snapshot tank/$ds/dedup@one &&
	w1=$(prop written tank/$ds/dedup@one) &&
	echo "one copy: $w1" &&
	test "$w1" -ge $((10 * MiB)) &&
	test "$w1" -lt $((11 * MiB)) &&
	mkdir $d/sub &&
	cp $d/orig $d/copy1 &&
	cp $d/orig $d/sub/copy2 &&
	cp $d/orig "$d/sub/copy 3" &&
	snapseal snapshot tank/$ds/dedup@copies &&
	w2=$(prop written tank/$ds/dedup@copies) &&
	echo "three more copies: $w2" &&
	test "$w2" -lt $((MiB / 4)) &&
	sstool digest $d >copies-$ds.digest &&
	snapseal restore tank/$ds/dedup@copies r-copies-$ds &&
	sstool digest r-copies-$ds >actual &&
	test_cmp copies-$ds.digest actual
'

test_expect_success "$ds: dedup: 3 identical files in one first snapshot are stored once" '
	snapseal create tank/$ds/dedup3 &&
	d=mnt/$ds/dedup3 &&
	sstool randfile $d/a 10M "dedup3-$ds" random &&
	cp $d/a $d/b &&
	cp $d/a $d/c &&
	snapseal snapshot tank/$ds/dedup3@s &&
	w=$(prop written tank/$ds/dedup3@s) &&
	echo "three copies at once: $w" &&
	test "$w" -lt $((11 * MiB))
'

test_expect_success "$ds: dedup: 100 bytes inserted at the start re-use most chunks" '
	d=mnt/$ds/dedup &&
	rm -r $d/copy1 $d/sub &&
	{ head -c 100 /dev/urandom && cat $d/orig; } >$d/shifted.tmp &&
	mv $d/shifted.tmp $d/orig &&
	snapseal snapshot tank/$ds/dedup@shifted &&
	w=$(prop written tank/$ds/dedup@shifted) &&
	echo "after inserting 100 bytes: $w" &&
	test "$w" -lt $((3 * MiB)) &&
	sstool digest $d >shifted-$ds.digest &&
	snapseal restore tank/$ds/dedup@shifted r-shifted-$ds &&
	sstool digest r-shifted-$ds >actual &&
	test_cmp shifted-$ds.digest actual
'

test_expect_success "$ds: dedup: 100 bytes appended and a byte changed in the middle" '
	d=mnt/$ds/dedup &&
	head -c 100 /dev/urandom >>$d/orig &&
	printf Y | dd of=$d/orig bs=1 seek=$((5 * MiB)) conv=notrunc status=none &&
	snapseal snapshot tank/$ds/dedup@edited &&
	w=$(prop written tank/$ds/dedup@edited) &&
	echo "after two small edits: $w" &&
	test "$w" -lt $((4 * MiB)) &&
	sstool digest $d >edited-$ds.digest &&
	snapseal restore tank/$ds/dedup@edited r-edited-$ds &&
	sstool digest r-edited-$ds >actual &&
	test_cmp edited-$ds.digest actual &&
	snapseal restore tank/$ds/dedup@one r-one-$ds &&
	cmp r-one-$ds/orig r-copies-$ds/sub/copy2
'

test_expect_success "$ds: compressible data is stored smaller than it is" '
	snapseal create tank/$ds/text &&
	sstool randfile mnt/$ds/text/t 8M "text-$ds" text &&
	snapseal snapshot tank/$ds/text@s &&
	w=$(prop written tank/$ds/text@s) &&
	echo "8 MiB of text: $w" &&
	test "$w" -lt $((6 * MiB))
'

done

test_done
