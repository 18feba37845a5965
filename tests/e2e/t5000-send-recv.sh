#!/bin/bash
# shellcheck disable=SC2016,SC2317 # single-quoted bodies call the helpers
test_description='send and receive: raw streams to a pool that never holds the key

Two pools in two homes stand for the production server and the insecure
backup server of the article; keys loaded for one are invisible to the
other, as on two machines.'

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# srv CMD...: snapseal on the backup server (its own home).
srv() {
	SNAPSEAL_HOME=$TRASH_DIRECTORY/server "$SNAPSEAL" "$@"
}

test_expect_success KEYRING 'setup: production pool and backup pool' '
	sstool randfile key 32 t5000-key random &&
	snapseal pool create -m "$PWD/prod" zdata &&
	snapseal create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/key" zdata/encrypted &&
	snapseal create zdata/encrypted/jambon &&
	sstool gen prod/encrypted/jambon 5000 200 &&
	echo "MARKER-content-5000" >prod/encrypted/jambon/secret.txt &&
	mkdir prod/encrypted/jambon/MARKER-name-5000 &&
	sstool randfile prod/encrypted/jambon/big.bin 3000000 7 random &&
	snapseal snapshot zdata/encrypted/jambon@to-remote-server &&
	sstool digest prod/encrypted/jambon >s1.digest &&
	mkdir server &&
	srv pool create -m "$PWD/backup" zbackups &&
	srv create zbackups/encrypted
'

test_expect_success KEYRING 'a raw full stream is received by a pool without the key' '
	snapseal send -w zdata/encrypted/jambon@to-remote-server >full.stream &&
	srv receive zbackups/encrypted/jambon <full.stream &&
	srv list -H -o name -t snapshot zbackups/encrypted/jambon >actual &&
	echo zbackups/encrypted/jambon@to-remote-server >expect &&
	test_cmp expect actual
'

test_expect_success KEYRING 'the received dataset is its own encryption root, key unavailable' '
	srv get -H -o property,value,source \
		encryption,keylocation,keyformat,encryptionroot,keystatus \
		zbackups/encrypted/jambon >actual &&
	printf "%s\t%s\t%s\n" \
		encryption aes-256-gcm - \
		keylocation prompt local \
		keyformat raw - \
		encryptionroot zbackups/encrypted/jambon - \
		keystatus unavailable - >expect &&
	test_cmp expect actual
'

test_expect_success KEYRING 'neither the stream nor the server pool holds plaintext' '
	test_must_fail sstool grepall full.stream MARKER-content-5000 &&
	test_must_fail sstool grepall full.stream MARKER-name-5000 &&
	test_must_fail sstool grepall server MARKER-content-5000 &&
	test_must_fail sstool grepall server MARKER-name-5000
'

test_expect_success KEYRING 'the server cannot read without the key' '
	test_must_fail srv restore zbackups/encrypted/jambon@to-remote-server out 2>err &&
	test_grep "key not loaded" err &&
	! test -e out
'

test_expect_success KEYRING 'an incremental raw stream carries only the change' '
	dd if=/dev/zero of=prod/encrypted/jambon/another-file bs=1M count=5 2>/dev/null &&
	echo more >>prod/encrypted/jambon/secret.txt &&
	snapseal snapshot zdata/encrypted/jambon@work-of-the-day &&
	sstool digest prod/encrypted/jambon >s2.digest &&
	snapseal send -w -i zdata/encrypted/jambon@to-remote-server \
		zdata/encrypted/jambon@work-of-the-day >incr.stream &&
	full=$(wc -c <full.stream) && incr=$(wc -c <incr.stream) &&
	echo "full $full bytes, incremental $incr bytes" &&
	test "$incr" -lt $((full / 4)) &&
	srv receive zbackups/encrypted/jambon <incr.stream &&
	srv list -H -o name -t snapshot zbackups/encrypted/jambon >actual &&
	printf "%s\n" zbackups/encrypted/jambon@to-remote-server \
		zbackups/encrypted/jambon@work-of-the-day >expect &&
	test_cmp expect actual
'

test_expect_success KEYRING 'an incremental from the wrong base is refused' '
	snapseal snapshot zdata/encrypted/jambon@later &&
	snapseal send -w -i @to-remote-server zdata/encrypted/jambon@later >bad.stream &&
	test_must_fail srv receive zbackups/encrypted/jambon <bad.stream 2>err &&
	test_grep "does not match incremental source" err
'

test_expect_success KEYRING 'a damaged or cut stream is refused and nothing appears' '
	srv list -H -o name -t snapshot zbackups/encrypted/jambon >before &&
	snapseal send -w -i @work-of-the-day zdata/encrypted/jambon@later >next.stream &&
	size=$(wc -c <next.stream) &&
	head -c $((size - 20)) next.stream >cut.stream &&
	test_must_fail srv receive zbackups/encrypted/jambon <cut.stream 2>err &&
	test_grep "incomplete stream\|checksum" err &&
	cp next.stream flip.stream &&
	sstool flip flip.stream $((size / 2)) &&
	test_must_fail srv receive zbackups/encrypted/jambon <flip.stream 2>err &&
	: >empty.stream &&
	test_must_fail srv receive zbackups/encrypted/jambon <empty.stream &&
	srv list -H -o name -t snapshot zbackups/encrypted/jambon >after &&
	test_cmp before after &&
	srv receive zbackups/encrypted/jambon <next.stream
'

test_expect_success KEYRING 'the server destroys snapshots and reclaims space without the key' '
	srv destroy -nv zbackups/encrypted/jambon@later >out &&
	test_grep "would destroy zbackups/encrypted/jambon@later" out &&
	srv destroy zbackups/encrypted/jambon@later &&
	srv list -H -o name -t snapshot zbackups/encrypted/jambon >actual &&
	test_line_count = 2 actual
'

test_expect_success KEYRING 'emergency: the key brought to the server opens the data' '
	srv set keylocation="file://$PWD/key" zbackups/encrypted/jambon &&
	srv load-key zbackups/encrypted/jambon &&
	srv get -H -o value keystatus zbackups/encrypted/jambon >actual &&
	echo available >expect &&
	test_cmp expect actual &&
	srv restore zbackups/encrypted/jambon@to-remote-server r1 &&
	sstool digest r1 >actual &&
	test_cmp s1.digest actual &&
	srv restore zbackups/encrypted/jambon@work-of-the-day r2 &&
	sstool digest r2 >actual &&
	test_cmp s2.digest actual
'

test_expect_success KEYRING 'keys loaded on the server do not open the production pool' '
	snapseal unload-key zdata/encrypted &&
	snapseal get -H -o value keystatus zdata/encrypted >actual &&
	echo unavailable >expect &&
	test_cmp expect actual &&
	srv get -H -o value keystatus zbackups/encrypted/jambon >actual &&
	echo available >expect &&
	test_cmp expect actual &&
	snapseal load-key zdata/encrypted
'

test_expect_success 'plain datasets send and receive without -w' '
	snapseal create -o encryption=off zdata/plain &&
	sstool gen prod/plain 5001 50 &&
	snapseal snapshot zdata/plain@a &&
	sstool digest prod/plain >p.digest &&
	snapseal send zdata/plain@a | srv receive zbackups/plain &&
	srv restore zbackups/plain@a pr &&
	sstool digest pr >actual &&
	test_cmp p.digest actual
'

test_expect_success KEYRING 'without -w an encrypted dataset is sent decrypted: that needs its key' '
	snapseal unload-key zdata/encrypted &&
	test_must_fail snapseal send zdata/encrypted/jambon@later >x.stream 2>err &&
	test_grep "key not loaded" err &&
	snapseal load-key zdata/encrypted
'

test_expect_success 'a stream that names objects it does not carry is refused' '
	snapseal snapshot zdata/plain@b &&
	echo changed >prod/plain/new.txt &&
	snapseal snapshot zdata/plain@c &&
	snapseal send -i @b zdata/plain@c >inc.stream &&
	srv create zbackups/other &&
	test_must_fail srv receive zbackups/other/p <inc.stream 2>err &&
	srv list -H -o name -r zbackups/other >actual &&
	echo zbackups/other >expect &&
	test_cmp expect actual
'

test_expect_success KEYRING 'change-key on the source reaches the server with the next incremental' '
	echo "a new passphrase" >pass &&
	snapseal change-key -o keyformat=passphrase -o pbkdf2iters=100000 \
		-o keylocation="file://$PWD/pass" zdata/encrypted &&
	echo change >>prod/encrypted/jambon/secret.txt &&
	snapseal snapshot zdata/encrypted/jambon@after-change &&
	snapseal send -w -i @work-of-the-day zdata/encrypted/jambon@after-change |
		srv receive zbackups/encrypted/jambon &&
	srv unload-key zbackups/encrypted/jambon &&
	test_must_fail srv load-key zbackups/encrypted/jambon 2>err &&
	srv get -H -o value keyformat zbackups/encrypted/jambon >actual &&
	echo passphrase >expect &&
	test_cmp expect actual &&
	srv load-key -L "file://$PWD/pass" zbackups/encrypted/jambon &&
	srv restore zbackups/encrypted/jambon@after-change r3 &&
	test_cmp prod/encrypted/jambon/secret.txt r3/secret.txt
'

test_expect_success KEYRING 'send -Rw: the dataset, its children and all their snapshots' '
	snapseal create zdata/encrypted/tree &&
	snapseal create zdata/encrypted/tree/blanc &&
	snapseal create zdata/encrypted/tree/parme &&
	snapseal create -o encryption=off zdata/encrypted/tree/plain &&
	sstool gen prod/encrypted/tree/blanc 6001 40 &&
	sstool gen prod/encrypted/tree/parme 6002 40 &&
	sstool gen prod/encrypted/tree/plain 6003 10 &&
	snapseal snapshot -r zdata/encrypted/tree@2018 &&
	echo 2019 >prod/encrypted/tree/blanc/year &&
	snapseal snapshot -r zdata/encrypted/tree@2019 &&
	sstool digest prod/encrypted/tree/blanc >blanc.digest &&
	sstool digest prod/encrypted/tree/plain >plain.digest &&
	snapseal send -Rw zdata/encrypted/tree@2019 >tree.stream &&
	srv receive zbackups/encrypted/tree <tree.stream &&
	srv list -H -o name -t all -r zbackups/encrypted/tree >actual &&
	printf "%s\n" zbackups/encrypted/tree zbackups/encrypted/tree@2018 \
		zbackups/encrypted/tree@2019 zbackups/encrypted/tree/blanc \
		zbackups/encrypted/tree/blanc@2018 zbackups/encrypted/tree/blanc@2019 \
		zbackups/encrypted/tree/parme zbackups/encrypted/tree/parme@2018 \
		zbackups/encrypted/tree/parme@2019 zbackups/encrypted/tree/plain \
		zbackups/encrypted/tree/plain@2018 zbackups/encrypted/tree/plain@2019 >expect &&
	test_cmp expect actual &&
	srv get -H -o value encryptionroot,keystatus zbackups/encrypted/tree/blanc >actual &&
	printf "zbackups/encrypted/tree\nunavailable\n" >expect &&
	test_cmp expect actual &&
	srv get -H -o value encryption zbackups/encrypted/tree/plain >actual &&
	echo off >expect &&
	test_cmp expect actual &&
	test_must_fail sstool grepall tree.stream MARKER-content-5000
'

test_expect_success KEYRING 'the replicated tree opens with the key of its top' '
	srv load-key -L "file://$PWD/pass" zbackups/encrypted/tree &&
	srv get -H -o value keystatus zbackups/encrypted/tree/parme >actual &&
	echo available >expect &&
	test_cmp expect actual &&
	srv restore zbackups/encrypted/tree/blanc@2019 rb &&
	sstool digest rb >actual &&
	test_cmp blanc.digest actual &&
	srv restore zbackups/encrypted/tree/plain@2019 rp &&
	sstool digest rp >actual &&
	test_cmp plain.digest actual
'

test_expect_success KEYRING 'send -R refuses descendants that lack the snapshot' '
	snapseal create zdata/encrypted/tree/late &&
	test_must_fail snapseal send -Rw zdata/encrypted/tree@2019 >x.stream 2>err &&
	test_grep "does not exist" err
'

test_expect_success KEYRING 'pool scrub verifies every object without a key' '
	srv pool scrub zbackups >out &&
	test_grep "with 0 errors" out &&
	test_grep "state: ONLINE" out &&
	srv pool create -m "$PWD/scrubmnt" zscrub &&
	snapseal send -w zdata/encrypted/jambon@to-remote-server |
		srv receive zscrub/j &&
	srv pool scrub zscrub >out &&
	test_grep "with 0 errors" out &&
	pack=$(find server/zscrub/packs -name "*.pack" | head -n 1) &&
	sstool flip "$pack" 80 &&
	test_expect_code 1 srv pool scrub zscrub >out &&
	test_grep "object [0-9a-f]*: " out &&
	test_grep "state: DEGRADED" out
'

test_expect_success 'send -I carries every intermediate snapshot' '
	for x in i1 i2 i3
	do
		echo $x >prod/plain/$x &&
		snapseal snapshot zdata/plain@$x || return 1
	done &&
	sstool digest prod/plain >i3.digest &&
	srv list -H -o name -t snapshot zbackups/plain >before &&
	tail -n 1 before >newest &&
	test_grep "@a$" newest &&
	snapseal send -I @a zdata/plain@i3 | srv receive zbackups/plain &&
	srv list -H -o name -t snapshot zbackups/plain >actual &&
	printf "%s\n" a b c i1 i2 i3 | sed "s|^|zbackups/plain@|" >expect &&
	test_cmp expect actual &&
	srv restore zbackups/plain@i3 ri &&
	sstool digest ri >actual &&
	test_cmp i3.digest actual
'

test_done
