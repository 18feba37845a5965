#!/bin/bash
# shellcheck disable=SC2016,SC2317,SC2034,SC2283 # single-quoted bodies call the helpers and use the variables
test_description='no plaintext: marker strings planted in contents, names,
symlink targets and xattrs of encrypted datasets appear nowhere in the pool
(packs, catalog, WAL); the same markers in a plain dataset are found'

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# Markers share no substring of more than a few bytes with each other, so
# that a compressor cannot hide one behind a back-reference to another in
# the positive control.
M_SMALL=qZx7SmallContentVw3
M_SMALL2=Jr5pSecondFileKt8
M_BIG=Lw2mBigCompressibleYh6
M_RAND=Tc9dInsideRandomBf4
M_FNAME=Gk3vFileNameEp7
M_DNAME=Hs8uDirNameRa2
M_DEEP=Nb6yDeepComponentXo1
M_LNAME=Pf4tLinkNameWc9
M_TARGET=Ud1qSymlinkTargetZm5
M_XVAL=Ye7kXattrValueQs3
M_XNAME=Cv2nXattrNameLt6
M_HLINK=Wj9rHardLinkMd4
M_FIFO=Ax5sFifoNameGu8
M_NEW=Ko3bModifiedLaterYp2
M_RENAME=Ri6hRenamedLaterNe9
M_CHILD=Sd8fChildDatasetJv1
M_CONTENT_SNAP3=Em4gThirdSnapshotTw7

MARKERS="$M_SMALL $M_SMALL2 $M_BIG $M_RAND $M_FNAME $M_DNAME $M_DEEP $M_LNAME
$M_TARGET $M_HLINK $M_FIFO $M_NEW $M_RENAME $M_CHILD $M_CONTENT_SNAP3"
XMARKERS="$M_XVAL $M_XNAME"

# plant DIR: a tree holding every marker (xattrs only if supported).
plant() {
	local d=$1
	mkdir -p "$d/$M_DNAME/sub/$M_DEEP" "$d/plain" &&
	printf "hello %s world\n" "$M_SMALL" >"$d/notes.txt" &&
	printf "%s\n" "$M_SMALL2" >"$d/plain/short" &&
	printf "x\n" >"$d/$M_FNAME.txt" &&
	printf "y\n" >"$d/$M_DNAME/sub/$M_DEEP/inner" &&
	: >"$d/$M_DNAME/empty-$M_FNAME" &&
	awk -v m="$M_BIG" "BEGIN { for (i = 0; i < 60000; i++)
		printf \"row %d of the big file %s lorem ipsum\n\", i, m }" \
		>"$d/big.log" &&
	sstool randfile "$d/r1" 700K rand-a random &&
	sstool randfile "$d/r2" 700K rand-b random &&
	{ cat "$d/r1" && printf "%s" "$M_RAND" && cat "$d/r2"; } >"$d/random.bin" &&
	rm "$d/r1" "$d/r2" &&
	ln -s "../$M_TARGET/file" "$d/plain/$M_LNAME" &&
	ln -s "$M_TARGET" "$d/plain/link2" &&
	ln "$d/notes.txt" "$d/plain/$M_HLINK" &&
	mkfifo "$d/$M_FIFO" &&
	if test_have_prereq XATTR; then
		setfattr -n user.comment -v "$M_XVAL" "$d/notes.txt" &&
		setfattr -n "user.$M_XNAME" -v 1 "$d/plain/short" &&
		setfattr -n user.dir -v "dir-$M_XVAL" "$d/$M_DNAME"
	fi
}

# modify DIR: later changes, with new markers.
modify() {
	local d=$1
	printf "%s appended\n" "$M_NEW" >>"$d/notes.txt" &&
	mv "$d/plain/short" "$d/plain/$M_RENAME" &&
	# over 1 KiB: a chunk of its own, whose ID the controls look for
	printf "third %s\n%1100s\n" "$M_CONTENT_SNAP3" "" \
		>"$d/$M_DNAME/third"
}

# none_in POOL MARKER...: grepall finds none of the markers in the pool.
none_in() {
	local pool=$1 m
	shift
	for m in "$@"; do
		test_expect_code 1 sstool grepall "$SNAPSEAL_HOME/$pool" "$m" >found ||
		{ echo "marker $m found in pool $pool:"; cat found; return 1; }
	done
}

# all_in POOL MARKER...: grepall finds every marker in the pool.
all_in() {
	local pool=$1 m
	shift
	for m in "$@"; do
		sstool grepall "$SNAPSEAL_HOME/$pool" "$m" >found ||
		{ echo "marker $m not found in pool $pool"; return 1; }
	done
}

test_expect_success 'setup: live trees holding the markers' '
	sstool randfile key 32 no-plaintext-key random &&
	mkdir live && plant live/off && plant live/zstd && plant live/lz4 &&
	mkdir live/off/kid && printf "%s\n" "$M_CHILD" >live/off/kid/kidfile &&
	mkdir "live/off/kid/$M_CHILD-dir" &&
	printf "k\n" >"live/off/kid/$M_CHILD-dir/f" &&
	plant clear &&
	mkdir clear/kid && printf "%s\n" "$M_CHILD" >clear/kid/kidfile &&
	mkdir "clear/kid/$M_CHILD-dir" &&
	printf "k\n" >"clear/kid/$M_CHILD-dir/f" &&
	sstool grepall live "$M_BIG" >found &&
	test_grep big.log found
'

test_expect_success 'encrypted datasets: several snapshots, a change, more snapshots' '
	snapseal pool create vault &&
	snapseal create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/key" -o compression=off \
		-o mountpoint="$PWD/live/off" vault/off &&
	snapseal create -o mountpoint="$PWD/live/off/kid" vault/off/kid &&
	snapseal create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/key" -o compression=zstd \
		-o mountpoint="$PWD/live/zstd" vault/zstd &&
	snapseal create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/key" -o compression=lz4 \
		-o mountpoint="$PWD/live/lz4" vault/lz4 &&
	snapseal snapshot -r vault/off@s1 vault/zstd@s1 vault/lz4@s1 &&
	snapseal snapshot -r vault/off@s2 vault/zstd@s2 vault/lz4@s2 &&
	modify live/off && modify live/zstd && modify live/lz4 &&
	printf "%s again\n" "$M_CHILD" >>live/off/kid/kidfile &&
	snapseal snapshot -r vault/off@s3 vault/zstd@s3 vault/lz4@s3 &&
	snapseal snapshot vault/off@s4 &&
	snapseal list -H -o name -t snapshot -r vault >actual &&
	cat >expect <<-EOF &&
	vault/lz4@s1
	vault/lz4@s2
	vault/lz4@s3
	vault/off/kid@s1
	vault/off/kid@s2
	vault/off/kid@s3
	vault/off@s1
	vault/off@s2
	vault/off@s3
	vault/off@s4
	vault/zstd@s1
	vault/zstd@s2
	vault/zstd@s3
	EOF
	sort actual >actual.sorted &&
	test_cmp expect actual.sorted
'

test_expect_success 'the snapshots hold the markers (restore shows them)' '
	snapseal restore vault/off@s3 r.off &&
	sstool digest live/off >expect.raw &&
	sed "/^kid[ \/]/d" expect.raw >expect &&
	sstool digest r.off >actual &&
	sed "/^kid /d" actual >actual.nokid &&
	test_cmp expect actual.nokid &&
	sstool grepall r.off "$M_NEW" >found &&
	test_grep notes.txt found &&
	snapseal restore vault/zstd@s1 r.zstd &&
	sstool grepall r.zstd "$M_BIG" >found &&
	snapseal restore vault/off/kid@s3 r.kid &&
	sstool digest live/off/kid >expect &&
	sstool digest r.kid >actual &&
	test_cmp expect actual
'

test_expect_success 'no marker in any byte of the encrypted pool' '
	snapseal list -t snapshot vault/off@s3 vault/off/kid@s3 vault/zstd@s3 \
		vault/lz4@s3 &&
	du -sk "$SNAPSEAL_HOME/vault/packs" >du.out &&
	read -r kb rest <du.out &&
	test "$kb" -gt 2000 &&
	none_in vault $MARKERS
'

test_expect_success XATTR 'no xattr name or value in the encrypted pool' '
	none_in vault $XMARKERS
'

test_expect_success 'no marker while the catalog WAL holds uncheckpointed pages' '
	cat >reader.py <<-\EOF &&
	import os, sqlite3, sys, time
	db = sqlite3.connect(sys.argv[1], isolation_level=None)
	db.execute("BEGIN")
	db.execute("SELECT count(*) FROM snaps").fetchall()
	open(sys.argv[2], "w").close()
	for i in range(600):
	    if os.path.exists(sys.argv[3]):
	        break
	    time.sleep(0.05)
	db.execute("COMMIT")
	EOF
	{ python3 reader.py "$SNAPSEAL_HOME/vault/catalog.db" reader.started reader.stop & } &&
	reader=$! &&
	test_when_finished "touch reader.stop && wait $reader" &&
	n=0 &&
	while ! test -e reader.started && test $n -lt 200
	do
		sleep 0.05 && n=$((n + 1))
	done &&
	test -e reader.started &&
	printf "%s\n" "$M_SMALL2-wal" >live/off/wal.txt &&
	mv "live/off/$M_FNAME.txt" "live/off/$M_FNAME-wal.txt" &&
	snapseal snapshot vault/off@s5 &&
	none_in vault $MARKERS "$M_FNAME-wal" "$M_SMALL2-wal"
'

test_expect_success 'object identifiers are keyed: the SHA-256 of a known file is not stored' '
	cat >findbytes.py <<-\EOF &&
	import os, sys
	want = bytes.fromhex(sys.argv[2])
	hits = []
	for root, dirs, files in os.walk(sys.argv[1]):
	    for f in files:
	        p = os.path.join(root, f)
	        if not os.path.islink(p) and want in open(p, "rb").read():
	            hits.append(p)
	print("\n".join(hits))
	sys.exit(0 if hits else 1)
	EOF
	cat >plainid.py <<-\EOF &&
	import hashlib, sys
	data = open(sys.argv[1], "rb").read()
	print(hashlib.sha256(b"\x01" + data).hexdigest())
	EOF
	python3 plainid.py "live/zstd/$M_DNAME/third" >known.id &&
	test -s known.id &&
	test_expect_code 1 python3 findbytes.py "$SNAPSEAL_HOME/vault" "$(cat known.id)"
'

test_expect_success 'positive control: the markers are found in a plain dataset' '
	snapseal pool create open &&
	snapseal create -o compression=off -o mountpoint="$PWD/clear" open/plain &&
	snapseal create -o mountpoint="$PWD/clear/kid" open/plain/kid &&
	snapseal snapshot -r open/plain@s1 &&
	modify clear &&
	snapseal snapshot -r open/plain@s2 &&
	all_in open $MARKERS
'

test_expect_success XATTR 'positive control: xattr names and values are found in a plain dataset' '
	all_in open $XMARKERS
'

test_expect_success 'positive control: plain object IDs are the SHA-256 of the content' '
	python3 plainid.py "clear/$M_DNAME/third" >known.plain &&
	python3 findbytes.py "$SNAPSEAL_HOME/open" "$(cat known.plain)" >hits &&
	test_grep "\.pack$" hits
'

test_expect_success 'no marker after change-key and after destroying snapshots' '
	od -An -tx1 -v key >key.od &&
	tr -d " \n" <key.od >hexkey &&
	snapseal change-key -o keyformat=hex \
		-o keylocation="file://$PWD/hexkey" vault/off &&
	snapseal destroy vault/off@s1%s2 &&
	snapseal destroy vault/lz4@s1%s2 &&
	snapseal list -H -o name -t snapshot vault/off vault/lz4 >actual &&
	printf "%s\n" vault/off@s3 vault/off@s4 vault/off@s5 vault/lz4@s3 >expect &&
	test_cmp expect actual &&
	none_in vault $MARKERS "$M_FNAME-wal" &&
	if test_have_prereq XATTR; then none_in vault $XMARKERS; fi
'

test_done
