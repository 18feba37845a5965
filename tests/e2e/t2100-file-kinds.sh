#!/bin/bash
# shellcheck disable=SC2016,SC2317 # single-quoted bodies call the helpers
test_description='snapshot and restore: every kind of file, every piece of metadata

Regular, empty and sparse files, directories, symlinks, hard links, fifos,
devices, modes with setuid/setgid/sticky, owners, nanosecond mtimes,
xattrs and ACLs; sockets are skipped with a warning; odd names and deep
trees.  Each kind lives in a dataset of its own (tank/DS-KIND, where DS is
enc or plain), so that one broken kind does not hide the others; it is
snapshotted, restored and compared with sstool digest.  Then copies of all
of them are snapshotted together.'

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

test_lazy_prereq ACL 'touch f && setfacl -m u:1234:r f && getfacl f | grep -q user:1234'
test_lazy_prereq PYTHON 'python3 -c "import os; os.SEEK_DATA"'
test_lazy_prereq FINCORE 'fincore --version && test "$(stat -f -c %T .)" != tmpfs'
test_lazy_prereq DEEPDIGEST 'false' # sstool digest uses whole paths (< PATH_MAX)

# new_kind DS KIND: create the dataset tank/DS-KIND (encrypted if DS is
# enc) and the directory mnt/DS-KIND/KIND in it; sets $d to that directory.
new_kind() {
	pool_and_dataset mnt tank "$1-$2" "$1" &&
	d=mnt/$1-$2/$2 &&
	mkdir "$d"
}

# check_kind DS KIND: snapshot tank/DS-KIND@s, restore it into r-DS-KIND and
# compare mnt/DS-KIND/KIND with its restored copy.
check_kind() {
	snapseal snapshot "tank/$1-$2@s" &&
	snapseal restore "tank/$1-$2@s" "r-$1-$2" &&
	sstool digest "mnt/$1-$2/$2" >"expect-$1-$2" &&
	sstool digest "r-$1-$2/$2" >"actual-$1-$2" &&
	test_cmp "expect-$1-$2" "actual-$1-$2"
}

# sparse_sum FILE: size, then each data extent with the SHA-256 of its
# bytes (without reading the holes: a 20 GiB file is summed in no time).
sparse_sum() {
	python3 - "$1" <<-\EOF
	import errno, hashlib, os, sys
	fd = os.open(sys.argv[1], os.O_RDONLY)
	size = os.fstat(fd).st_size
	print("size=%d" % size)
	off = 0
	while off < size:
	    try:
	        d = os.lseek(fd, off, os.SEEK_DATA)
	    except OSError as e:
	        if e.errno == errno.ENXIO:
	            break
	        raise
	    h = min(os.lseek(fd, d, os.SEEK_HOLE), size)
	    m = hashlib.sha256()
	    pos = d
	    while pos < h:
	        b = os.pread(fd, min(h - pos, 1 << 20), pos)
	        if not b:
	            sys.exit("short read")
	        m.update(b)
	        pos += len(b)
	    print("%d+%d %s" % (d, h - d, m.hexdigest()))
	    off = h
	EOF
}

# put_at FILE OFFSET STRING: write STRING at OFFSET without truncating.
put_at() {
	printf %s "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

test_expect_success 'setup: a pool, an encrypted and a plain dataset' '
	pool_and_dataset mnt tank enc enc &&
	pool_and_dataset mnt tank plain plain
'

for ds in enc plain; do

test_expect_success "$ds: regular files, empty, one byte, multi-chunk, zeros" '
	new_kind $ds files &&
	: >$d/empty &&
	printf x >$d/one &&
	printf "no newline at end" >$d/nonl &&
	sstool randfile $d/text 200K "text-$ds" text &&
	sstool randfile $d/random 5M "random-$ds" random &&
	sstool randfile $d/zeros 3M zeros zero &&
	sstool randfile $d/exact 1M "exact-$ds" random &&
	touch -d @1600000000.123456789 $d/* &&
	touch -d @1600000001.5 $d &&
	check_kind $ds files &&
	test ! -s r-$ds-files/files/empty
'

test_expect_success "$ds: explicit zeros stay data (no holes punched)" '
	! grep " data=" actual-$ds-files
'

test_expect_success "$ds: runs of zeros between data, longer than a chunk" '
	new_kind $ds zruns &&
	sstool randfile $d/a 3M "za-$ds" random &&
	sstool randfile $d/z 17M zz zero &&
	sstool randfile $d/b 700K "zb-$ds" random &&
	cat $d/a $d/z $d/b $d/z $d/a >$d/mixed &&
	cat $d/z $d/b >$d/zfirst &&
	rm $d/a $d/b &&
	check_kind $ds zruns &&
	cmp $d/mixed r-$ds-zruns/zruns/mixed &&
	cmp $d/zfirst r-$ds-zruns/zruns/zfirst
'

test_expect_success SPARSE "$ds: small sparse files keep their holes" '
	new_kind $ds sparse &&
	truncate -s 64M $d/tail-hole &&
	put_at $d/tail-hole 0 head &&
	put_at $d/tail-hole $((10 * 1024 * 1024)) middle &&
	truncate -s 64M $d/data-at-end &&
	put_at $d/data-at-end $((64 * 1024 * 1024 - 3)) end &&
	sstool randfile $d/mixed 1M "mixed-$ds" random &&
	truncate -s 12M $d/mixed &&
	sstool randfile part 1M "part-$ds" random &&
	dd if=part of=$d/mixed bs=1M seek=11 conv=notrunc status=none &&
	touch -d @1600000002.000000001 $d/* $d &&
	check_kind $ds sparse &&
	grep "^tail-hole .* data=" actual-$ds-sparse &&
	grep "^data-at-end .* data=" actual-$ds-sparse &&
	grep "^mixed .* data=" actual-$ds-sparse
'

# Files of 4 MiB and more are restored partly with direct writes, in
# aligned blocks of 1 MiB assembled from their chunks (lib/tree/rdio.c);
# the bytes of blocks that touch a hole or the end go through the cache.
test_expect_success SPARSE,PYTHON "$ds: large files written directly keep every byte and hole" '
	new_kind $ds direct &&
	sstool randfile $d/aligned 8M "al-$ds" random &&
	sstool randfile $d/odd 9437185 "odd-$ds" text &&
	sstool randfile $d/r1 3158016 "r1-$ds" random &&
	sstool randfile $d/r2 8400896 "r2-$ds" random &&
	truncate -s 20M $d/holes &&
	dd if=$d/r1 of=$d/holes bs=4096 seek=3 conv=notrunc status=none &&
	dd if=$d/r2 of=$d/holes bs=4096 seek=1800 conv=notrunc status=none &&
	rm $d/r1 $d/r2 &&
	touch -d @1600000002.000000003 $d/* $d &&
	snapseal snapshot tank/$ds-direct@s &&
	snapseal restore tank/$ds-direct@s r-$ds-direct &&
	if test_have_prereq FINCORE
	then
		# written directly, whole blocks only: nothing in the page cache
		fincore --bytes --noheadings --output RES \
			r-$ds-direct/direct/aligned >res.out &&
		tr -d " " <res.out >res &&
		echo 0 >expect.res &&
		test_cmp expect.res res
	fi &&
	sstool digest $d >expect-$ds-direct &&
	sstool digest r-$ds-direct/direct >actual-$ds-direct &&
	test_cmp expect-$ds-direct actual-$ds-direct &&
	for f in aligned odd holes
	do
		sparse_sum $d/$f >expect.sum &&
		sparse_sum r-$ds-direct/direct/$f >actual.sum &&
		test_cmp expect.sum actual.sum || return 1
	done &&
	test $(wc -l <actual.sum) = 3
'

# The chunks of a file map are written in segments of 64 (RQ_SEGJOBS in
# lib/tree/rq.h), each by one writer in the file's order, while the other
# writers take the small files.  150 islands of data between holes are 150
# extents, each its own chunk: three segments, the last one short; the
# same with one writer and with four, among small files.
test_expect_success SPARSE,PYTHON "$ds: a file of many extents, written in segments, keeps every byte and hole" '
	new_kind $ds segs &&
	python3 - $d/islands "$ds" <<-\EOF &&
	import hashlib, os, sys
	fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
	for i in range(150):
	    n = 4096 * (1 + i % 7)
	    b = b"".join(hashlib.sha256(b"%s-%d-%d" % (sys.argv[2].encode(), i, k)).digest()
	                 for k in range(n // 32))
	    os.pwrite(fd, b, i * 262144 + 4096 * (i % 3))
	os.ftruncate(fd, 150 * 262144 + 12345)
	os.close(fd)
	EOF
	sstool gen $d/small segs-$ds 200 &&
	sstool randfile $d/after 2M "after-$ds" random &&
	touch -d @1600000003 $d/islands $d/after $d &&
	sparse_sum $d/islands >expect.sum &&
	test_line_count = 151 expect.sum &&
	snapseal snapshot tank/$ds-segs@s &&
	sstool digest $d >expect-$ds-segs &&
	for w in 1 4
	do
		SNAPSEAL_RESTORE_THREADS=$w \
			snapseal restore tank/$ds-segs@s r-$ds-segs-$w &&
		sstool digest r-$ds-segs-$w/segs >actual-$ds-segs &&
		test_cmp expect-$ds-segs actual-$ds-segs &&
		sparse_sum r-$ds-segs-$w/segs/islands >actual.sum &&
		test_cmp expect.sum actual.sum || return 1
	done
'

test_expect_success SPARSE "$ds: a file that is all hole (data=none)" '
	new_kind $ds holeonly &&
	truncate -s 64M $d/hole-only &&
	echo x >$d/other &&
	touch -d @1600000002.000000002 $d/hole-only $d/other $d &&
	check_kind $ds holeonly &&
	grep "^hole-only .* data=none" actual-$ds-holeonly &&
	test "$(du -k r-$ds-holeonly/holeonly/hole-only | cut -f1)" = 0
'

test_expect_success SPARSE,PYTHON "$ds: a 20 GiB sparse file comes back sparse" '
	new_kind $ds huge &&
	test_when_finished "rm -rf $d r-$ds-huge" &&
	f=$d/file &&
	truncate -s 20G $f &&
	put_at $f 0 first &&
	put_at $f $((5 * 1024 * 1024 * 1024)) "five GiB" &&
	put_at $f $((10 * 1024 * 1024 * 1024 + 12345)) "ten GiB and a bit" &&
	put_at $f $((20 * 1024 * 1024 * 1024 - 1)) Z &&
	truncate -s 30G $d/trailing-hole &&
	put_at $d/trailing-hole $((7 * 1024 * 1024 * 1024)) seven &&
	sparse_sum $f >expect &&
	sparse_sum $d/trailing-hole >expect2 &&
	test_line_count = 5 expect &&
	timeout 120 snapseal snapshot tank/$ds-huge@s &&
	timeout 120 snapseal restore tank/$ds-huge@s r-$ds-huge &&
	sparse_sum r-$ds-huge/huge/file >actual &&
	test_cmp expect actual &&
	sparse_sum r-$ds-huge/huge/trailing-hole >actual2 &&
	test_cmp expect2 actual2 &&
	test "$(du -k r-$ds-huge/huge/file | cut -f1)" -lt 1024 &&
	test "$(du -k r-$ds-huge/huge/trailing-hole | cut -f1)" -lt 1024 &&
	test "$(dd if=r-$ds-huge/huge/file bs=1 skip=$((5 * 1024 * 1024 * 1024)) count=8 status=none)" = "five GiB" &&
	test "$(stat -c %Y.%s r-$ds-huge/huge/file)" = "$(stat -c %Y.%s $f)"
'

test_expect_success "$ds: directories, nested, with their own mtimes" '
	new_kind $ds dirs &&
	mkdir -p $d/a/b/c/d $d/x/y $d/z &&
	echo leaf >$d/a/b/c/d/leaf &&
	echo y >$d/x/y/f &&
	echo z >$d/z/f &&
	touch -d @1600000003.111111111 $d/a/b/c/d/leaf &&
	touch -d @1600000004.222222222 $d/a/b/c/d &&
	touch -d @1600000005.333333333 $d/a/b/c &&
	touch -d @1600000006.444444444 $d/a/b &&
	touch -d @1600000007.555555555 $d/a &&
	touch -d @1000000000.000000001 $d/x/y $d/x &&
	touch -d @1600000008.999999999 $d &&
	check_kind $ds dirs
'

test_expect_success "$ds: symlinks: relative, absolute, dangling, to a directory, long" '
	new_kind $ds links &&
	mkdir -p $d/sub &&
	echo target >$d/file &&
	ln -s file $d/rel &&
	ln -s /etc/passwd $d/abs &&
	ln -s nowhere/at/all $d/dangling &&
	ln -s ../links/sub $d/todir &&
	ln -s .. $d/sub/up &&
	ln -s "$(printf "%01000d" 0)" $d/long1000 &&
	long=$(printf "d/%.0s" $(seq 2047))x &&
	test ${#long} = 4095 &&
	ln -s "$long" $d/long4095 &&
	ln -s "$(printf "odd\nname \377\376 target")" $d/oddtarget &&
	ln -s self $d/self &&
	touch -h -d @1600000009.123456789 $d/rel $d/abs $d/dangling $d/long4095 &&
	touch -h -d @1500000000.000000007 $d/todir $d/sub/up &&
	touch -d @1600000010.5 $d/sub $d &&
	check_kind $ds links &&
	test "$(readlink r-$ds-links/links/long4095)" = "$long" &&
	test "$(readlink r-$ds-links/links/abs)" = /etc/passwd &&
	test -L r-$ds-links/links/dangling
'

test_expect_success "$ds: hard links: a group of three names in three directories" '
	new_kind $ds hard &&
	mkdir -p $d/one $d/two/deeper &&
	sstool randfile $d/one/a 100K "hard-$ds" &&
	ln $d/one/a $d/two/b &&
	ln $d/one/a $d/two/deeper/c &&
	echo pair >$d/p1 &&
	ln $d/p1 $d/p2 &&
	: >$d/empty1 &&
	ln $d/empty1 $d/empty2 &&
	echo single >$d/single &&
	touch -d @1600000011.1 $d/one/a $d/p1 $d/empty1 $d/single &&
	touch -d @1600000012.2 $d/one $d/two/deeper $d/two $d &&
	check_kind $ds hard &&
	r=r-$ds-hard/hard &&
	test "$(stat -c %i $r/one/a)" = "$(stat -c %i $r/two/b)" &&
	test "$(stat -c %i $r/one/a)" = "$(stat -c %i $r/two/deeper/c)" &&
	test "$(stat -c %h $r/one/a)" = 3 &&
	test "$(stat -c %i $r/p1)" = "$(stat -c %i $r/p2)" &&
	test "$(stat -c %i $r/empty1)" = "$(stat -c %i $r/empty2)" &&
	test "$(stat -c %i $r/p1)" != "$(stat -c %i $r/one/a)" &&
	test "$(stat -c %h $r/single)" = 1 &&
	grep "^two/deeper/c .* link=[0-9]" actual-$ds-hard
'

test_expect_success "$ds: hard links between fifos and between symlinks" '
	new_kind $ds hardfifo &&
	mkfifo $d/fifo1 &&
	ln $d/fifo1 $d/fifo2 &&
	ln -s target $d/sym1 &&
	ln $d/sym1 $d/sym2 &&
	touch -h -d @1600000011.1 $d/fifo1 $d/sym1 $d &&
	check_kind $ds hardfifo &&
	r=r-$ds-hardfifo/hardfifo &&
	test "$(stat -c %i $r/fifo1)" = "$(stat -c %i $r/fifo2)" &&
	test "$(stat -c %i $r/sym1)" = "$(stat -c %i $r/sym2)"
'

test_expect_success "$ds: a hard link to a file outside the tree is just a file" '
	new_kind $ds hardout &&
	echo outside >$d/inner &&
	ln $d/inner outside-$ds &&
	touch -d @1600000013 $d/inner $d &&
	check_kind $ds hardout &&
	test "$(stat -c %h r-$ds-hardout/hardout/inner)" = 1
'

test_expect_success "$ds: fifos" '
	new_kind $ds fifos &&
	mkfifo -m 0600 $d/p600 &&
	mkfifo -m 0644 $d/p644 &&
	touch -d @1600000014.987654321 $d/p600 $d/p644 $d &&
	check_kind $ds fifos &&
	test -p r-$ds-fifos/fifos/p600
'

test_expect_success ROOT,MKNOD "$ds: device nodes (c 1 3, b 7 0), with owner and mode" '
	new_kind $ds devs &&
	mknod $d/null c 1 3 &&
	mknod $d/loop b 7 0 &&
	mknod $d/big c 4095 1048575 &&
	chmod 0620 $d/null &&
	chown 1234:5678 $d/loop &&
	touch -d @1600000015.000000015 $d/null $d/loop $d/big $d &&
	check_kind $ds devs &&
	grep "^null type=c .* rdev=1:3" actual-$ds-devs &&
	grep "^loop type=b .* rdev=7:0" actual-$ds-devs &&
	test -c r-$ds-devs/devs/null &&
	test -b r-$ds-devs/devs/loop
'

test_expect_success "$ds: modes: setuid, setgid, sticky, none, read-only directories" '
	new_kind $ds modes &&
	mkdir -p $d/sticky $d/sgid $d/ro $d/closed &&
	(
		for m in 4755 2755 6755 4711 0000 0400 0777 0640 2710 1644
		do
			echo $m >$d/f$m &&
			chmod $m $d/f$m || exit 1
		done
	) &&
	echo in >$d/sticky/in &&
	echo in >$d/sgid/in &&
	echo in >$d/ro/in &&
	echo in >$d/closed/in &&
	chmod 1777 $d/sticky &&
	chmod 2775 $d/sgid &&
	chmod 0555 $d/ro &&
	chmod 0000 $d/closed &&
	touch -d @1600000016.16 $d/f* $d/*/in $d/sticky $d/sgid $d/ro $d/closed $d &&
	check_kind $ds modes &&
	grep "^f4755 .* mode=4755 " actual-$ds-modes &&
	grep "^sticky .* mode=1777 " actual-$ds-modes &&
	grep "^closed .* mode=0000 " actual-$ds-modes
'

test_expect_success ROOT "$ds: owners, set exactly, setuid kept on chowned files" '
	new_kind $ds owners &&
	mkdir -p $d/dir &&
	echo a >$d/a &&
	echo b >$d/dir/b &&
	echo big >$d/biguid &&
	echo s >$d/suid &&
	ln -s a $d/link &&
	mkfifo $d/fifo &&
	chown 1234:5678 $d/a $d/dir $d/fifo &&
	chown 0:5678 $d/dir/b &&
	chown 4000000000:4000000001 $d/biguid &&
	chown -h 4321:8765 $d/link &&
	chown 1234:5678 $d/suid &&
	chmod 6755 $d/suid &&
	touch -d @1600000017.17 $d/a $d/dir/b $d/biguid $d/suid $d/fifo $d/dir &&
	touch -h -d @1600000017.17 $d/link &&
	chown 99:99 $d &&
	touch -d @1600000017.18 $d &&
	check_kind $ds owners &&
	grep "^a .* uid=1234 gid=5678 " actual-$ds-owners &&
	grep "^biguid .* uid=4000000000 gid=4000000001 " actual-$ds-owners &&
	grep "^link .* uid=4321 gid=8765 " actual-$ds-owners &&
	grep "^suid .* mode=6755 uid=1234 gid=5678 " actual-$ds-owners
'

test_expect_success "$ds: mtimes to the nanosecond, before 1970 and after 2038" '
	new_kind $ds times &&
	mkdir -p $d/sub &&
	(
		for t in 1600000000.123456789 0 1.000000001 1600000000.999999999 \
			4102444800.5 2147483648 -1 -1000000000.25
		do
			echo "$t" >"$d/t$t" &&
			touch -d "@$t" "$d/t$t" || exit 1
		done
	) &&
	echo sub >$d/sub/f &&
	touch -d @1600000018.000000001 $d/sub/f &&
	touch -d @-86400.5 $d/sub &&
	touch -d @1600000018.123 $d &&
	check_kind $ds times &&
	grep "^t1600000000.123456789 .* mtime=1600000000.123456789 " actual-$ds-times &&
	grep "^sub .* mtime=-86401.500000000$" actual-$ds-times &&
	grep "^t-1000000000.25 .* mtime=-1000000001.750000000 " actual-$ds-times
'

test_expect_success XATTR "$ds: xattrs: text, binary, empty, large, many, on directories" '
	new_kind $ds xattrs &&
	mkdir -p $d/dir &&
	echo x >$d/text &&
	echo b >$d/binary &&
	echo e >$d/empty &&
	echo l >$d/large &&
	echo m >$d/many &&
	echo n >$d/dir/inner &&
	setfattr -n user.x -v "some text value" $d/text &&
	setfattr -n user.bin -v 0x00ff00fe0a0d5c $d/binary &&
	setfattr -n user.nul -v 0x00 $d/binary &&
	setfattr -n user.empty $d/empty &&
	setfattr -n user.large -v "0x$(head -c 2000 /dev/urandom | od -An -tx1 | tr -d " \n")" $d/large &&
	(
		for i in $(seq 1 60)
		do
			setfattr -n user.attr$i -v "value $i" $d/many || exit 1
		done
	) &&
	setfattr -n user.on-dir -v dirvalue $d/dir &&
	setfattr -n user.on-top -v top $d &&
	setfattr -n "user.odd name" -v odd $d/text &&
	touch -d @1600000019.19 $d/* $d/dir/inner $d &&
	check_kind $ds xattrs &&
	grep "^many .* xattr:user.attr60=" actual-$ds-xattrs &&
	grep "^dir .* xattr:user.on-dir=" actual-$ds-xattrs &&
	grep "^\. .* xattr:user.on-top=" actual-$ds-xattrs &&
	test "$(getfattr --only-values -n user.x r-$ds-xattrs/xattrs/text)" = "some text value"
'

test_expect_success ROOT,XATTR "$ds: trusted.* and security.* xattrs, also on a symlink (root only)" '
	new_kind $ds trusted &&
	echo t >$d/f &&
	ln -s f $d/link &&
	setfattr -n trusted.snapseal -v secret $d/f &&
	setfattr -n security.snapseal -v label $d/f &&
	setfattr -h -n trusted.onlink -v linkvalue $d/link &&
	touch -d @1600000020 $d/f $d &&
	touch -h -d @1600000020 $d/link &&
	check_kind $ds trusted &&
	grep "^f .* xattr:trusted.snapseal=" actual-$ds-trusted &&
	grep "^f .* xattr:security.snapseal=" actual-$ds-trusted &&
	grep "^link .* xattr:trusted.onlink=" actual-$ds-trusted
'

test_expect_success ACL "$ds: POSIX ACLs, access and default" '
	new_kind $ds acls &&
	mkdir -p $d/dir &&
	echo a >$d/file &&
	setfacl -m u:1234:rwx,g:5678:r,m::rwx $d/file &&
	echo "no acl" >$d/dir/before-default &&
	mkdir $d/dir/subdir-before &&
	setfacl -d -m u:1234:rx,g::r $d/dir &&
	echo inherited >$d/dir/child &&
	setfacl -m u:4321:r $d/dir &&
	touch -d @1600000021.21 $d/file $d/dir/child $d/dir/before-default $d/dir/subdir-before $d/dir $d &&
	(cd $d && getfacl -R -P -n . >../../../acl-expect-$ds) &&
	check_kind $ds acls &&
	(cd r-$ds-acls/acls && getfacl -R -P -n . >../../acl-actual-$ds) &&
	test_cmp acl-expect-$ds acl-actual-$ds &&
	grep "^file .* xattr:system.posix_acl_access=" actual-$ds-acls &&
	grep "^dir .* xattr:system.posix_acl_default=" actual-$ds-acls &&
	! grep "^dir/before-default .*xattr:" actual-$ds-acls &&
	! grep "^dir/subdir-before .*xattr:" actual-$ds-acls
'

test_expect_success PYTHON "$ds: a socket is skipped with a warning, the snapshot succeeds" '
	new_kind $ds sockets &&
	echo keep >$d/file &&
	(cd $d && python3 -c "import socket; s = socket.socket(socket.AF_UNIX); s.bind(\"sock\")") &&
	test -S $d/sock &&
	touch -d @1600000022 $d/file $d &&
	snapseal snapshot tank/$ds-sockets@s 2>err &&
	test_grep sock err &&
	test_grep -i "socket" err &&
	snapseal restore tank/$ds-sockets@s r-$ds-sockets &&
	! test -e r-$ds-sockets/sockets/sock &&
	sstool digest $d >digest-all &&
	grep " type=s " digest-all &&
	grep -v " type=s " digest-all >expect &&
	sstool digest r-$ds-sockets/sockets >actual &&
	test_cmp expect actual
'

test_expect_success "$ds: names: 255 bytes, not UTF-8, newline, spaces, dashes, globs" '
	new_kind $ds names &&
	n255=$(printf "n%.0s" $(seq 255)) &&
	echo long >$d/$n255 &&
	mkdir $d/d${n255%?} &&
	echo in >$d/d${n255%?}/$n255 &&
	ln -s $n255 $d/l${n255%?} &&
	echo ff >"$d/$(printf "\377\376")" &&
	echo latin1 >"$d/$(printf "caf\351")" &&
	echo utf8 >"$d/$(printf "caf\303\251 \342\202\254")" &&
	echo nl >"$d/new
line" &&
	echo nl2 >"$d/
" &&
	echo sp >"$d/ spaces  in name " &&
	echo tab >"$d/$(printf "tab\there")" &&
	echo dash >"$d/-rf" &&
	echo dash2 >"$d/--help" &&
	echo dash3 >"$d/-" &&
	echo glob >"$d/*?[a]" &&
	echo bs >"$d/back\\slash" &&
	echo q >"$d/\"quote'\''s\"" &&
	echo dot >"$d/.hidden" &&
	echo dd >"$d/..dots" &&
	echo dd >"$d/...   " &&
	echo case >$d/Case &&
	echo case >$d/case &&
	echo ctrl >"$d/$(printf "\001\033[31m")" &&
	echo eq >"$d/a=b c=d" &&
	find $d -mindepth 1 -exec touch -h -d @1600000023.23 {} + &&
	touch -d @1600000023.24 $d/d${n255%?} $d &&
	check_kind $ds names &&
	test_line_count = 25 actual-$ds-names
'

test_expect_success "$ds: a tree 150 directories deep" '
	new_kind $ds deep &&
	(
		cd $d &&
		for i in $(seq 150)
		do
			mkdir d$i && cd d$i || exit 1
		done &&
		echo bottom >bottom
	) &&
	check_kind $ds deep &&
	test "$(find r-$ds-deep/deep -type d | wc -l)" = 151 &&
	grep "/d150/bottom type=f" actual-$ds-deep
'

test_expect_success "$ds: a tree whose paths are longer than PATH_MAX" '
	n=$(printf "p%.0s" $(seq 200)) &&
	new_kind $ds longpath &&
	(
		cd $d &&
		for i in $(seq 30)
		do
			mkdir $n$i && cd $n$i || exit 1
		done &&
		echo bottom >bottom &&
		ln -s bottom link &&
		touch -d @1600000024.5 bottom
	) &&
	test "$(cd $d && find . -name bottom -printf "%d\n")" = 31 &&
	(cd $d && find . -printf "%y %m %s %U %G %T@ %n %p %l\n" | sort) >expect &&
	snapseal snapshot tank/$ds-longpath@s &&
	snapseal restore tank/$ds-longpath@s r-$ds-longpath &&
	(cd r-$ds-longpath/longpath && find . -printf "%y %m %s %U %G %T@ %n %p %l\n" | sort) >actual &&
	test_cmp expect actual &&
	(cd r-$ds-longpath/longpath && find . -name bottom -execdir cat {} \;) >actual &&
	echo bottom >expect &&
	test_cmp expect actual
'

test_expect_success "$ds: everything together, root metadata included" '
	new_kind $ds all &&
	rmdir $d &&
	(
		for k in files sparse dirs links hard hardout fifos devs modes \
			owners times xattrs trusted acls sockets names deep
		do
			if test -d mnt/$ds-$k/$k
			then
				cp -a mnt/$ds-$k/$k mnt/$ds-all/ || exit 1
			fi
		done
	) &&
	chmod 0751 mnt/$ds-all &&
	touch -d @1234567890.123456789 mnt/$ds-all &&
	sstool digest mnt/$ds-all >expect &&
	grep -v " type=s " expect >expect-nosock &&
	snapseal snapshot tank/$ds-all@s 2>err &&
	snapseal restore tank/$ds-all@s all-$ds &&
	sstool digest all-$ds >actual &&
	test_cmp expect-nosock actual
'

test_expect_success "$ds: restoring the same snapshot twice gives the same tree" '
	snapseal restore tank/$ds-all@s all2-$ds &&
	sstool digest all2-$ds >actual &&
	test_cmp expect-nosock actual
'

done

test_expect_success 'an encrypted and a plain dataset give the same trees' '
	sed "s/ uid=[0-9]* gid=[0-9]*//" expect-enc-modes >a &&
	sed "s/ uid=[0-9]* gid=[0-9]*//" expect-plain-modes >b &&
	test_cmp a b &&
	test_cmp expect-enc-times expect-plain-times &&
	test_cmp actual-enc-names actual-plain-names
'

test_done
