#!/bin/bash
# shellcheck disable=SC2016,SC2317 # single-quoted bodies call the helpers
test_description='pools written by an earlier version

data/pool-dirs-v1.tar.gz is a pool made by the build before directory
objects went to version 2 (commit be62239; docs/format.md 6.1): an
encrypted and a plain dataset, each with one snapshot of a small tree
(files, a file map, an empty file, a symlink, a fifo), their sstool
digests and the raw key.
This build restores them, snapshots on top of them (the previous
snapshot read in version 1, the new one written in version 2), and sends
them raw, decrypted and incrementally.'

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

test_expect_success 'the old pool opens' '
	tar xzf "$TEST_DIRECTORY/data/pool-dirs-v1.tar.gz" &&
	snapseal list -H -o name -t snapshot -r fx >snaps &&
	printf "%s\n" fx/enc@v1 fx/plain@v1 >expect &&
	test_cmp expect snaps &&
	snapseal set keylocation="file://$PWD/key" fx/enc &&
	snapseal load-key fx/enc
'

for ds in enc plain
do
	test_expect_success "$ds: a version 1 snapshot restores exactly" '
		snapseal restore fx/$ds@v1 r-$ds &&
		sstool digest r-$ds >got &&
		test_cmp digest-$ds got
	'

	test_expect_success "$ds: a snapshot on top of it sees every change" '
		snapseal set mountpoint="$PWD/r-$ds" fx/$ds &&
		echo more >>r-$ds/tree/$(ls r-$ds/tree | head -n 1) &&
		echo new >r-$ds/newfile &&
		rm r-$ds/empty &&
		snapseal snapshot fx/$ds@v2 &&
		snapseal restore fx/$ds@v2 r2-$ds &&
		sstool digest r-$ds >want &&
		sstool digest r2-$ds >got &&
		test_cmp want got &&
		snapseal restore fx/$ds@v1 r1-$ds &&
		sstool digest r1-$ds >got &&
		test_cmp digest-$ds got
	'

	test_expect_success "$ds: an unchanged snapshot on top reuses every object" '
		snapseal snapshot fx/$ds@v3 &&
		snapseal get -H -p -o value written fx/$ds@v3 >written &&
		test "$(cat written)" -lt 4096
	'
done

test_expect_success 'streams of version 1 snapshots: raw, decrypted, incremental' '
	mkdir bkmnt &&
	snapseal pool create -m "$PWD/bkmnt" bk &&
	snapseal send -w fx/enc@v1 | snapseal receive bk/raw &&
	snapseal send fx/enc@v1 | snapseal receive bk/dec &&
	snapseal send fx/plain@v1 | snapseal receive bk/plain &&
	snapseal send -i @v1 fx/plain@v2 | snapseal receive bk/plain &&
	snapseal load-key -L "file://$PWD/key" bk/raw &&
	snapseal restore bk/raw@v1 s-raw &&
	snapseal restore bk/dec@v1 s-dec &&
	snapseal restore bk/plain@v2 s-plain &&
	sstool digest s-raw >got && test_cmp digest-enc got &&
	sstool digest s-dec >got && test_cmp digest-enc got &&
	sstool digest r-plain >want && sstool digest s-plain >got &&
	test_cmp want got
'

test_done
