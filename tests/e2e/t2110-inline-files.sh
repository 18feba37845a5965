#!/bin/bash
# shellcheck disable=SC2016,SC2317 # single-quoted bodies call the helpers
test_description='small files inline in their directory object

A regular file of 1 to 1,024 bytes is stored in its directory object
(docs/format.md 6.1, content kind 4) while the directory holds at most
64 KiB of such files, in name order; past that, and above 1,024 bytes,
files are chunks.  Inline files are no objects: pool scrub counts what a
keyless server sees.  They restore exactly, survive unchanged snapshots
without new objects, change with their directory, roll back, and go
through every kind of stream.'

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# objects POOL: how many objects pool scrub verified.
objects() {
	snapseal pool scrub "$1" >scrub.out &&
	sed -n "s/^ *scan: verified \([0-9]*\) objects.*/\1/p" scrub.out
}

# snap_adds DS@SNAP: take the snapshot; how many objects it added.
snap_adds() {
	local before after
	before=$(objects p) &&
	snapseal snapshot "$1" &&
	after=$(objects p) &&
	echo $((after - before))
}

# fill DIR N SIZE TAG: N files of SIZE bytes, each different.
fill() {
	mkdir -p "$1" &&
	for i in $(seq -w 1 "$2")
	do
		printf "%s %s %s\n" "$4" "$i" "$(head -c "$3" /dev/zero |
			tr '\0' x)" | head -c "$3" >"$1/f$i" || return 1
	done
}

for ds in plain enc
do
	test_expect_success "$ds: set-up" '
		pool_and_dataset pmnt p $ds $ds
	'

	test_expect_success "$ds: files of 1 to 1,024 bytes make no object" '
		d=pmnt/$ds &&
		printf x >$d/one &&
		fill $d/s 1 500 half &&
		fill $d/k 1 1024 kib &&
		: >$d/empty &&
		# the root, the top directory, s/ and k/: four directory objects
		n=$(snap_adds p/$ds@a) &&
		test "$n" = 4 &&
		snapseal restore p/$ds@a r-$ds-a &&
		sstool digest $d >want && sstool digest r-$ds-a >got &&
		test_cmp want got
	'

	test_expect_success "$ds: a file of 1,025 bytes is a chunk" '
		d=pmnt/$ds &&
		fill $d/big 1 1025 big &&
		# root, top, big/ and the chunk
		n=$(snap_adds p/$ds@b) &&
		test "$n" = 4 &&
		snapseal restore p/$ds@b r-$ds-b &&
		cmp $d/big/f1 r-$ds-b/big/f1
	'

	test_expect_success "$ds: past 64 KiB in a directory, files are chunks" '
		d=pmnt/$ds &&
		fill $d/many 100 1000 many &&
		# 65 files of 1,000 bytes fit in 65,536: 35 chunks, and
		# root, top and many/
		n=$(snap_adds p/$ds@c) &&
		test "$n" = 38 &&
		snapseal restore p/$ds@c r-$ds-c &&
		sstool digest $d >want && sstool digest r-$ds-c >got &&
		test_cmp want got
	'

	test_expect_success "$ds: an unchanged inline file that no longer fits becomes a chunk" '
		d=pmnt/$ds &&
		fill $d/edge 65 1000 edge &&
		snapseal snapshot p/$ds@c1 &&
		sstool digest $d/edge >want-c1 &&
		# 65,000 bytes inline; one more file of 1,000 sorts first, so
		# the last of the 65 (unchanged) no longer fits: its chunk, and
		# root, top and edge/
		printf "%1000s" first >$d/edge/e0 &&
		n=$(snap_adds p/$ds@c2) &&
		test "$n" = 4 &&
		snapseal restore p/$ds@c2 r-$ds-c2 &&
		sstool digest $d/edge >want && sstool digest r-$ds-c2/edge >got &&
		test_cmp want got &&
		snapseal restore p/$ds@c1 r-$ds-c1 &&
		sstool digest r-$ds-c1/edge >got &&
		test_cmp want-c1 got
	'

	test_expect_success "$ds: an unchanged snapshot adds nothing" '
		n=$(snap_adds p/$ds@d) &&
		test "$n" = 0
	'

	test_expect_success "$ds: a changed inline file changes its directory only" '
		d=pmnt/$ds &&
		cp $d/many/f001 f001-$ds &&
		printf "%1000s" changed >$d/many/f001 &&
		# root, top, many/
		n=$(snap_adds p/$ds@e) &&
		test "$n" = 3 &&
		snapseal restore p/$ds@e r-$ds-e &&
		cmp $d/many/f001 r-$ds-e/many/f001 &&
		snapseal restore p/$ds@d r-$ds-d &&
		cmp f001-$ds r-$ds-d/many/f001
	'

	test_expect_success "$ds: rollback puts inline files back, keeps equal ones" '
		d=pmnt/$ds &&
		printf y >$d/one &&
		printf "%1000s" again >$d/many/f002 &&
		ino=$(stat -c %i $d/many/f003) &&
		snapseal rollback p/$ds@e &&
		sstool digest $d >got &&
		sstool digest r-$ds-e >want &&
		test_cmp want got &&
		test "$(stat -c %i $d/many/f003)" = "$ino"
	'
done

test_expect_success 'streams carry inline files: raw, decrypted, incremental' '
	mkdir bmnt &&
	snapseal pool create -m "$PWD/bmnt" b &&
	snapseal send -w p/enc@c | snapseal receive b/raw &&
	snapseal send p/enc@c | snapseal receive b/dec &&
	snapseal send p/plain@c | snapseal receive b/plain &&
	snapseal send -i @c p/plain@e | snapseal receive b/plain &&
	snapseal load-key -L "file://$PWD/key" b/raw &&
	snapseal restore b/raw@c s-raw &&
	snapseal restore b/dec@c s-dec &&
	snapseal restore b/plain@e s-plain &&
	sstool digest r-enc-c >want &&
	sstool digest s-raw >got && test_cmp want got &&
	sstool digest s-dec >got && test_cmp want got &&
	sstool digest r-plain-e >want &&
	sstool digest s-plain >got && test_cmp want got
'

test_done
