#!/bin/bash
# shellcheck disable=SC2016,SC2317 # single-quoted bodies call the helpers
test_description='what a snapshot leaves in the page cache, and directories of many small files

A snapshot reads the small files of a directory with the kernel reading
the next ones ahead, and the large ones in blocks (docs/design.md, step 4
of snapshot).  Either way it leaves nothing in the page cache that was not
there: files that were not cached are not cached after it, and files that
were cached stay cached.  Directories with more small files than are read
ahead at once, empty files, large files and files of every size between
them, in any order, are stored exactly, also when few file descriptors
are allowed, and so are trees whose small files the scanners could not
hold in memory ahead of the walk.'

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# many DIR: 70 files of sizes from 0 to 700 KiB, in an order where small,
# empty and large files alternate (the large ones, and those past the
# directory's share of small ones, are read by the walker: only their
# start is read ahead).
many() {
	mkdir -p "$1" &&
	for i in $(seq -w 1 70)
	do
		case $((10#$i % 7)) in
		0) : >"$1/f$i" ;;
		1) sstool randfile "$1/f$i" 700K "many-$i" random ;;
		2) sstool randfile "$1/f$i" $((10#$i * 5000)) "many-$i" text ;;
		3) printf "tiny %s\n" "$i" >"$1/f$i" ;;
		*) sstool randfile "$1/f$i" $((10#$i * 300 + 1025)) \
			"many-$i" random ;;
		esac || return 1
	done
}

# restored_same SNAP TREE OUT [SUB]: SNAP restored into OUT holds (in
# OUT/SUB) exactly what TREE holds.
restored_same() {
	snapseal restore "$1" "$3" &&
	sstool digest "$2" >expect &&
	sstool digest "$3${4:+/$4}" >actual &&
	test_cmp expect actual
}

for ds in plain enc
do
	test_expect_success "$ds: set-up" '
		pool_and_dataset pmnt p $ds $ds
	'

	test_expect_success "$ds: directories of many files of every size are stored exactly" '
		d=pmnt/$ds &&
		many $d/a &&
		many $d/a/sub &&
		mkdir $d/b &&
		for i in $(seq 1 40)
		do
			echo "small $i" >$d/b/s$i || return 1
		done &&
		snapseal snapshot p/$ds@many &&
		restored_same p/$ds@many $d r-$ds-many
	'

	test_expect_success "$ds: with few descriptors, the same snapshot" '
		for n in 200 100 64
		do
			d=pmnt/$ds &&
			echo "more $n" >$d/b/s1 &&
			(ulimit -n $n && snapseal snapshot p/$ds@fd$n) &&
			restored_same p/$ds@fd$n $d r-$ds-fd$n || return 1
		done
	'

	test_expect_success UNCACHED "$ds: files not cached before are not cached after" '
		d=pmnt/$ds/cold &&
		mkdir $d &&
		for i in $(seq -w 1 30)
		do
			sstool randfile $d/s$i $((10#$i * 9000)) "cold-$i" text ||
				return 1
		done &&
		sstool randfile $d/large 3M cold-large random &&
		drop $d/* &&
		cached $d/* >before &&
		sort -u before >before.u &&
		echo 0 >zero &&
		test_cmp zero before.u &&
		snapseal snapshot p/$ds@cold &&
		cached $d/* >after &&
		test_cmp before after &&
		restored_same p/$ds@cold $d r-$ds-cold cold
	'

	# The walker chunks big/ first while the scanners go ahead through
	# d*/, past their 2 MiB of small files held in memory: the later
	# directories are only read ahead by the kernel, and copied when the
	# walker reaches them (light scans, docs/design.md 3.1.1).
	test_expect_success UNCACHED "$ds: past the scanners' look-ahead: exact, and nothing left cached" '
		echo 0 >zero &&
		d=pmnt/$ds/deep &&
		mkdir -p $d/big &&
		sstool randfile $d/big/img 48M "deep-img" random &&
		for i in $(seq -w 0 39)
		do
			mkdir $d/d$i &&
			for j in $(seq -w 1 20)
			do
				sstool randfile $d/d$i/f$j $((10#$j * 2500 + 9000)) \
					"deep-$i-$j" text || return 1
			done || return 1
		done &&
		drop $(find $d -type f) &&
		snapseal snapshot p/$ds@deep &&
		cached $(find $d -type f) | sort -u >after &&
		test_cmp zero after &&
		restored_same p/$ds@deep $d r-$ds-deep deep
	'

	test_expect_success UNCACHED "$ds: files cached before stay cached" '
		d=pmnt/$ds/warm &&
		mkdir $d &&
		for i in $(seq -w 1 20)
		do
			sstool randfile $d/s$i $((10#$i * 8192)) "warm-$i" text ||
				return 1
		done &&
		sstool randfile $d/large 2M warm-large random &&
		sstool randfile $d/zcold 64K zcold text &&
		sync $d/* &&
		cat $d/s* $d/large >/dev/null &&
		drop $d/zcold &&
		stat -c %s $d/s* $d/large >sizes &&
		cached $d/s* $d/large >before &&
		test_cmp sizes before &&
		snapseal snapshot p/$ds@warm &&
		cached $d/s* $d/large >after &&
		test_cmp sizes after &&
		cached $d/zcold >after.cold &&
		test_cmp zero after.cold
	'
done

test_done
