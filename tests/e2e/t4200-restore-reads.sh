#!/bin/bash
# shellcheck disable=SC2016,SC2317,SC2034 # single-quoted bodies call the helpers and use the variables
test_description='restore reads what it restores, and no more

A restore of one file from a large snapshot reads that file'"'"'s records
and the directory objects on its path from the packs, not the packs around
them: the read-ahead of restore (docs/design.md 3.2.1) announces the
blocks that hold the records to be read, nothing else.  Measured with the
read_bytes of /proc/PID/io (what reached the disk), after the packs were
dropped from the page cache (dd iflag=nocache); skipped where that cannot
be measured (no block device under the pool, as on tmpfs).  The snapshot
holds 60 MiB, the file 12 MiB.'

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

MIB=1048576
# What a restore may read besides the records it needs: the directory
# objects on the path, the 256 KiB blocks around each run of records
# (rwrite.c), and the kernel's read-ahead after the walker's reads of
# directory objects (read_ahead_kb, 8 MiB on some disks): up to 2 MiB seen.
SLACK=$((4 * MIB))

# drop_packs: write back and drop the pool's pack files from the page cache
drop_packs() {
	sync &&
	find "$SNAPSEAL_HOME" -name "*.pack" -type f >packs.list &&
	while read -r p; do
		dd if="$p" iflag=nocache count=0 status=none || return 1
	done <packs.list
}

# disk_reads CMD...: run CMD; print the bytes it read from the disk (the
# shell's read_bytes counts its reaped children's)
disk_reads() {
	sh -c 'b=$(sed -n "s/^read_bytes: //p" /proc/$$/io) &&
		"$@" >/dev/null &&
		a=$(sed -n "s/^read_bytes: //p" /proc/$$/io) &&
		echo $((a - b))' sh "$@"
}

test_lazy_prereq FINCORE 'fincore --version'

test_lazy_prereq DISKIO '
	test -r /proc/self/io &&
	head -c 4194304 /dev/urandom >probe &&
	sync &&
	dd if=probe iflag=nocache count=0 status=none &&
	n=$(disk_reads cat probe) &&
	test "$n" -ge 2097152
'

test_expect_success KEYRING 'setup: 48 MiB of files and one file of 12 MiB, snapshotted' '
	snapseal pool create -m "$PWD/mnt" tank &&
	head -c 32 /dev/urandom >key &&
	snapseal create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/key" tank/e &&
	mkdir -p mnt/e/big mnt/e/deep/er &&
	for i in 1 2 3 4 5 6; do
		sstool randfile mnt/e/big/f$i 8M "reads-$i" random || return 1
	done &&
	sstool gen mnt/e/gen reads 300 &&
	sstool randfile mnt/e/deep/er/one.bin 12M reads-one random &&
	snapseal snapshot tank/e@s &&
	sstool digest mnt/e >full.digest
'

test_expect_success KEYRING,DISKIO 'a full restore reads the packs (the measure works)' '
	drop_packs &&
	n=$(disk_reads snapseal restore tank/e@s full) &&
	echo "full restore read $n bytes" &&
	test "$n" -ge $((40 * MIB)) &&
	sstool digest full >actual &&
	test_cmp full.digest actual
'

# The writers let each record go from the page cache once read (drop-
# behind, docs/design.md 3.2.1): what stays is the pages a record shares
# with its neighbours and the directory objects the walker read.
test_expect_success KEYRING,DISKIO,FINCORE 'a full restore leaves the packs it read out of the page cache' '
	drop_packs &&
	snapseal restore tank/e@s full2 &&
	sstool digest full2 >actual &&
	test_cmp full.digest actual &&
	res=0 && size=0 &&
	while read -r p; do
		r=$(fincore --bytes --noheadings --output RES "$p" | tr -d " ") &&
		res=$((res + r)) &&
		size=$((size + $(stat -c %s "$p"))) || return 1
	done <packs.list &&
	echo "packs: $size bytes, $res in the page cache after the restore" &&
	test "$size" -ge $((40 * MIB)) &&
	test "$res" -le $((size / 8))
'

test_expect_success KEYRING,DISKIO 'a restore of one file reads about that file alone' '
	drop_packs &&
	n=$(disk_reads snapseal restore tank/e@s one deep/er/one.bin) &&
	echo "one-file restore read $n bytes" &&
	test "$n" -le $((12 * MIB + SLACK)) &&
	sstool digest one >actual &&
	grep "^deep/er/one.bin " actual >got &&
	grep "^deep/er/one.bin " full.digest >expect &&
	test_cmp expect got
'

test_expect_success KEYRING,DISKIO 'a restore of one small file reads little' '
	f=$(grep "^gen/.* type=f .* size=[1-9]" full.digest | head -n 1 |
		cut -d" " -f1) &&
	test -n "$f" &&
	drop_packs &&
	n=$(disk_reads snapseal restore tank/e@s small "$f") &&
	echo "small-file restore of $f read $n bytes" &&
	test "$n" -le "$SLACK"
'

test_done
