#!/bin/bash
# shellcheck disable=SC2016,SC2317 # single-quoted bodies call the helpers
test_description='send and receive options: decrypted streams, incremental
replication, properties, -F rollback, -n estimates and dry runs'

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

srv() {
	SNAPSEAL_HOME=$TRASH_DIRECTORY/server "$SNAPSEAL" "$@"
}

test_expect_success KEYRING 'setup: an encrypted source, a plain and an encrypted target' '
	sstool randfile key 32 t5010-key random &&
	sstool randfile skey 32 t5010-server-key random &&
	snapseal pool create -m "$PWD/prod" zdata &&
	snapseal create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/key" zdata/enc &&
	snapseal create zdata/enc/docs &&
	sstool gen prod/enc/docs 5010 120 &&
	echo "MARKER-decrypted-5010" >prod/enc/docs/secret.txt &&
	ln prod/enc/docs/secret.txt prod/enc/docs/hardlink &&
	sstool randfile prod/enc/docs/sparse 0 1 &&
	truncate -s 5M prod/enc/docs/sparse &&
	echo tail >>prod/enc/docs/sparse &&
	snapseal snapshot zdata/enc/docs@a &&
	sstool digest prod/enc/docs >a.digest &&
	mkdir server &&
	srv pool create -m "$PWD/backup" zb &&
	srv create zb/plain &&
	srv pool create -m "$PWD/sbackup" zs &&
	srv create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/skey" zs/sealed
'

test_expect_success KEYRING 'send without -w decrypts: a plain pool receives readable data' '
	snapseal send zdata/enc/docs@a >dec.stream &&
	grep -q -a MARKER-decrypted-5010 dec.stream &&
	srv receive zb/plain/docs <dec.stream &&
	srv get -H -o value encryption zb/plain/docs >actual &&
	echo off >expect &&
	test_cmp expect actual &&
	srv restore zb/plain/docs@a r1 &&
	sstool digest r1 >actual &&
	test_cmp a.digest actual
'

test_expect_success KEYRING 'a decrypted stream under an encrypted parent is sealed with its key' '
	srv receive zs/sealed/docs <dec.stream &&
	srv get -H -o value encryptionroot zs/sealed/docs >actual &&
	echo zs/sealed >expect &&
	test_cmp expect actual &&
	test_must_fail sstool grepall server/zs MARKER-decrypted-5010 &&
	srv restore zs/sealed/docs@a r2 &&
	sstool digest r2 >actual &&
	test_cmp a.digest actual
'

test_expect_success KEYRING 'decrypted incrementals apply to both, and carry only the change' '
	echo change >>prod/enc/docs/secret.txt &&
	rm prod/enc/docs/hardlink &&
	mv prod/enc/docs/sparse prod/enc/docs/sparse.moved &&
	snapseal snapshot zdata/enc/docs@b &&
	sstool digest prod/enc/docs >b.digest &&
	snapseal send -i @a zdata/enc/docs@b >inc.stream &&
	test $(wc -c <inc.stream) -lt $(($(wc -c <dec.stream) / 10)) &&
	srv receive zb/plain/docs <inc.stream &&
	srv receive zs/sealed/docs <inc.stream &&
	srv restore zb/plain/docs@b r3 &&
	sstool digest r3 >actual &&
	test_cmp b.digest actual &&
	srv restore zs/sealed/docs@b r4 &&
	sstool digest r4 >actual &&
	test_cmp b.digest actual
'

test_expect_success KEYRING 'a decrypted stream is refused when the snapshot record was forged' '
	snapseal pool create -m "$PWD/forge" zforge &&
	snapseal send -w zdata/enc/docs@a | snapseal receive zforge/docs &&
	snapseal load-key -L "file://$PWD/key" zforge/docs &&
	snapseal send zforge/docs@a >/dev/null &&
	sqlite3 "$SNAPSEAL_HOME/zforge/catalog.db" \
		"UPDATE snaps SET creation = creation + 1" &&
	test_must_fail snapseal send zforge/docs@a >x.stream 2>err &&
	test_grep "failed authentication" err
'

test_expect_success KEYRING 'send -R -i: an incremental for the whole tree, new children in full' '
	snapseal create zdata/enc/tree &&
	snapseal create zdata/enc/tree/one &&
	sstool gen prod/enc/tree/one 5011 30 &&
	snapseal snapshot -r zdata/enc/tree@t1 &&
	snapseal send -Rw zdata/enc/tree@t1 | srv receive zb/tree &&
	echo more >prod/enc/tree/one/more &&
	snapseal create zdata/enc/tree/two &&
	sstool gen prod/enc/tree/two 5012 20 &&
	snapseal snapshot -r zdata/enc/tree@t2 &&
	echo again >>prod/enc/tree/one/more &&
	snapseal snapshot -r zdata/enc/tree@t3 &&
	sstool digest prod/enc/tree/one >one.digest &&
	sstool digest prod/enc/tree/two >two.digest &&
	snapseal send -Rw -I @t1 zdata/enc/tree@t3 | srv receive zb/tree &&
	srv list -H -o name -t snapshot -r zb/tree >actual &&
	printf "%s\n" zb/tree@t1 zb/tree@t2 zb/tree@t3 zb/tree/one@t1 \
		zb/tree/one@t2 zb/tree/one@t3 zb/tree/two@t2 zb/tree/two@t3 >expect &&
	test_cmp expect actual &&
	srv load-key -L "file://$PWD/key" zb/tree &&
	srv restore zb/tree/one@t3 r5 &&
	sstool digest r5 >actual &&
	test_cmp one.digest actual &&
	srv restore zb/tree/two@t3 r6 &&
	sstool digest r6 >actual &&
	test_cmp two.digest actual &&
	srv unload-key zb/tree
'

test_expect_success KEYRING 'send -R -i sends only the named snapshot of each dataset' '
	echo four >prod/enc/tree/two/four &&
	snapseal snapshot -r zdata/enc/tree@t4 &&
	echo five >prod/enc/tree/two/five &&
	snapseal snapshot -r zdata/enc/tree@t5 &&
	snapseal send -Rw -i @t3 zdata/enc/tree@t5 | srv receive zb/tree &&
	srv list -H -o name -t snapshot zb/tree/two >actual &&
	printf "%s\n" zb/tree/two@t2 zb/tree/two@t3 zb/tree/two@t5 >expect &&
	test_cmp expect actual
'

test_expect_success KEYRING 'a keyless server sends raw onward to a third pool, which opens it with the key' '
	third() { SNAPSEAL_HOME=$TRASH_DIRECTORY/third "$SNAPSEAL" "$@"; } &&
	mkdir third &&
	third pool create -m "$PWD/third-mnt" zc &&
	srv get -H -o value keystatus zb/tree/one >actual &&
	echo unavailable >expect &&
	test_cmp expect actual &&
	srv send -w zb/tree/one@t1 | third receive zc/one &&
	srv send -w -I @t1 zb/tree/one@t3 | third receive zc/one &&
	third get -H -o value keystatus,encryptionroot zc/one >actual &&
	printf "unavailable\nzc/one\n" >expect &&
	test_cmp expect actual &&
	third load-key -L "file://$PWD/key" zc/one &&
	third restore zc/one@t3 r8 &&
	sstool digest r8 >actual &&
	test_cmp one.digest actual &&
	srv get -H -o value keystatus zb/tree/one >actual &&
	echo unavailable >expect &&
	test_cmp expect actual
'

test_expect_success KEYRING 'decrypted -R into an unencrypted parent: objects shared by two datasets' '
	snapseal create zdata/enc/share &&
	snapseal create zdata/enc/share/x &&
	snapseal create zdata/enc/share/y &&
	echo same-content >prod/enc/share/x/f &&
	echo same-content >prod/enc/share/y/f &&
	echo other >prod/enc/share/y/g &&
	snapseal snapshot -r zdata/enc/share@s &&
	snapseal send -R zdata/enc/share@s | srv receive zb/plain/share &&
	srv restore zb/plain/share/y@s ry &&
	test_cmp prod/enc/share/y/f ry/f &&
	test_cmp prod/enc/share/y/g ry/g &&
	srv restore zb/plain/share/x@s rx &&
	test_cmp prod/enc/share/x/f rx/f
'

test_expect_success 'send -n checks its arguments even when it prints nothing' '
	test_must_fail snapseal send -n zdata/enc/docs@nope 2>err &&
	test_grep "does not exist" err
'

test_expect_success 'properties: -p carries them as received, -x leaves one out, -o sets one' '
	snapseal create -o encryption=off -o compression=lz4 \
		-o mountpoint="$PWD/prod/props" zdata/props &&
	snapseal set org.example:owner=alice zdata/props &&
	mkdir -p prod/props &&
	echo x >prod/props/x &&
	snapseal snapshot zdata/props@p1 &&
	snapseal send -p zdata/props@p1 >props.stream &&
	srv receive -x mountpoint -o org.example:site=paris zb/props <props.stream &&
	srv get -H -o property,value,source compression,org.example:owner,org.example:site zb/props >actual &&
	printf "%s\t%s\t%s\n" compression lz4 received \
		org.example:owner alice received \
		org.example:site paris local >expect &&
	test_cmp expect actual &&
	srv get -H -o value,source mountpoint zb/props >actual &&
	printf "%s\tinherited from zb\n" "$PWD/backup/props" >expect &&
	test_cmp expect actual
'

test_expect_success 'a stream without -p carries no properties' '
	snapseal send zdata/props@p1 | srv receive zb/noprops &&
	srv get -H -o value,source compression zb/noprops >actual &&
	printf "zstd\tdefault\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'an incremental with -p replaces the received properties' '
	snapseal set org.example:owner=bob zdata/props &&
	snapseal set compression=zstd-9 zdata/props &&
	echo y >prod/props/y &&
	snapseal snapshot zdata/props@p2 &&
	snapseal send -p -i @p1 zdata/props@p2 | srv receive -x mountpoint zb/props &&
	srv get -H -o value compression,org.example:owner zb/props >actual &&
	printf "zstd-9\nbob\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'receive -F destroys snapshots newer than the base; without -F refused' '
	snapseal create -o encryption=off zdata/roll &&
	mkdir -p prod/roll &&
	for s in r1 r2 r3
	do
		echo $s >prod/roll/$s &&
		snapseal snapshot zdata/roll@$s || return 1
	done &&
	snapseal send -I @r1 zdata/roll@r2 >r12.stream &&
	snapseal send zdata/roll@r1 | srv receive zb/roll &&
	srv receive zb/roll <r12.stream &&
	snapseal send -i @r1 zdata/roll@r3 >r13.stream &&
	test_must_fail srv receive zb/roll <r13.stream 2>err &&
	test_error err receive zb/roll "most recent snapshot of zb/roll does not match incremental source" &&
	srv receive -F zb/roll <r13.stream 2>err &&
	test_grep "destroying zb/roll@r2" err &&
	srv list -H -o name -t snapshot zb/roll >actual &&
	printf "zb/roll@r1\nzb/roll@r3\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'receive -F into an existing empty dataset; refused with snapshots' '
	srv create zb/empty &&
	snapseal send zdata/roll@r1 >r1.stream &&
	test_must_fail srv receive zb/empty <r1.stream 2>err &&
	test_grep "must specify -F" err &&
	srv receive -F zb/empty <r1.stream &&
	srv list -H -o name -t snapshot zb/empty >actual &&
	echo zb/empty@r1 >expect &&
	test_cmp expect actual &&
	test_must_fail srv receive -F zb/empty <r1.stream 2>err &&
	test_grep "destination has snapshots" err
'

test_expect_success 'receive -n reads and checks the stream but keeps nothing' '
	srv receive -n -v zb/dry <r1.stream 2>err &&
	test_grep "would receive" err &&
	test_must_fail srv list zb/dry 2>/dev/null &&
	sstool flip r1.stream 300 &&
	test_must_fail srv receive -n zb/dry <r1.stream
'

test_expect_success KEYRING 'send -n -v and -P estimate without writing a stream' '
	snapseal send -nv zdata/enc/docs@b >out 2>err &&
	test_line_count = 0 out &&
	test_grep "^full send of zdata/enc/docs@b estimated size is [0-9.]*[BKMG]$" err &&
	test_grep "^total estimated size is " err &&
	snapseal send -nP -I @a -w zdata/enc/docs@b >out 2>err &&
	test_line_count = 0 out &&
	printf "incremental\ta\tzdata/enc/docs@b\n" >expect &&
	cut -f1-3 err | head -n 1 >actual &&
	test_cmp expect actual &&
	est=$(sed -n "s/^size\t//p" err) &&
	real=$(snapseal send -w -I @a zdata/enc/docs@b | wc -c) &&
	test "$est" -ge $((real * 9 / 10)) &&
	test "$est" -le $((real * 11 / 10))
'

test_expect_success KEYRING 'an idmap entry whose object was freed is not trusted' '
	snapseal send zdata/enc/docs@a >again.stream &&
	srv destroy -r zs/sealed/docs &&
	srv receive zs/sealed/docs2 <again.stream &&
	srv restore zs/sealed/docs2@a r7 &&
	sstool digest r7 >actual &&
	test_cmp a.digest actual &&
	srv pool scrub zs >out &&
	test_grep "with 0 errors" out
'

test_expect_success KEYRING,XXHASH 'ciphertext a server rewrote with a valid checksum: scrub passes, the key holder refuses' '
	srv pool create -m "$PWD/tamper-mnt" zt &&
	snapseal send -w zdata/enc/docs@a | srv receive zt/docs &&
	pk=$(find server/zt/packs -name "*.pack" | head -n 1) &&
	tool="$SNAPSEAL_SRCDIR/tests/tool/packtool.py" &&
	big=$(python3 "$tool" biggest "$pk") &&
	at=$(python3 "$tool" payload "$pk" $big) &&
	sstool flip "$pk" $at 0x80 &&
	python3 "$tool" resum "$pk" $big &&
	srv pool scrub zt >out &&
	test_grep "with 0 errors" out &&
	srv load-key -L "file://$PWD/key" zt/docs &&
	test_must_fail srv restore zt/docs@a r9 2>err &&
	test_grep -i "authenticat" err
'

test_done
