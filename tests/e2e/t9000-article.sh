#!/bin/bash
# shellcheck disable=SC2016,SC2317 # single-quoted bodies call the helpers
test_description='the article, from start to finish

"Encrypted snapshot-based incremental backups with OpenZFS": plaintext
datasets with snapshots 2018..migration are migrated into an encrypted
parent, closed and opened again, sent raw to an insecure server (a second
home on this machine) that never has the key, updated incrementally, and
opened there in an emergency with the key brought over.  zfs becomes
snapseal; a live directory stands for each mounted filesystem.'

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# insecure CMD...: snapseal on the backup server.
insecure() {
	SNAPSEAL_HOME=$TRASH_DIRECTORY/insecure "$SNAPSEAL" "$@"
}

test_expect_success KEYRING 'the production pool with sensitive, very important data' '
	snapseal pool create -m "$PWD/zdata" zdata &&
	snapseal create zdata/jambon &&
	for ds in bayonne blanc parme pays
	do
		snapseal create zdata/jambon/$ds || return 1
	done &&
	sstool gen zdata/jambon/parme 9001 30 &&
	echo "jambons" >zdata/jambon/parme/jambons &&
	sstool gen zdata/jambon/blanc 9002 30 &&
	echo "jambons" >zdata/jambon/blanc/jambons &&
	# 2 KiB of noise first: a chunk stored as it is, in which the lines
	# below can be found (files of 1 KiB or less are inline, compressed
	# with their directory)
	head -c 2048 /dev/urandom >zdata/jambon/blanc/history &&
	for y in 2018 2019 2020 migration
	do
		echo "year $y" >>zdata/jambon/blanc/history &&
		snapseal snapshot zdata/jambon/blanc@$y &&
		sstool digest zdata/jambon/blanc >blanc-$y.digest || return 1
	done &&
	snapseal list -r zdata >out &&
	test_grep "^zdata/jambon/blanc " out
'

test_expect_success KEYRING 'a key and an encrypted dataset' '
	dd if=/dev/urandom of=jambon-zfs-key bs=1 count=32 2>/dev/null &&
	snapseal create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/jambon-zfs-key" zdata/encrypted &&
	snapseal get all zdata/encrypted >all &&
	test_grep "^zdata/encrypted  *encryption  *aes-256-gcm  *-$" all &&
	test_grep "^zdata/encrypted  *keylocation  *file://$PWD/jambon-zfs-key  *local$" all &&
	test_grep "^zdata/encrypted  *keyformat  *raw  *-$" all
'

test_expect_success KEYRING 'list the snapshots of the source dataset' '
	snapseal list -t snapshot -o name zdata/jambon/blanc >actual &&
	printf "%s\n" NAME zdata/jambon/blanc@2018 zdata/jambon/blanc@2019 \
		zdata/jambon/blanc@2020 zdata/jambon/blanc@migration >expect &&
	test_cmp expect actual
'

test_expect_success KEYRING 'copy the first snapshot into the encrypted parent' '
	snapseal create zdata/encrypted/jambon &&
	snapseal send -R zdata/jambon/blanc@2018 |
		snapseal recv -x encryption zdata/encrypted/jambon/blanc &&
	snapseal get -H -o property,value,source \
		encryption,keylocation,keyformat,pbkdf2iters,encryptionroot,keystatus \
		zdata/encrypted/jambon/blanc >actual &&
	printf "%s\t%s\t%s\n" encryption aes-256-gcm - keylocation none default \
		keyformat raw - pbkdf2iters 0 default \
		encryptionroot zdata/encrypted - keystatus available - >expect &&
	test_cmp expect actual
'

test_expect_success KEYRING 'copy the other snapshots incrementally' '
	snapseal send -i zdata/jambon/blanc@2018 zdata/jambon/blanc@2019 |
		snapseal recv -F zdata/encrypted/jambon/blanc &&
	snapseal send -i zdata/jambon/blanc@2019 zdata/jambon/blanc@2020 |
		snapseal recv -F zdata/encrypted/jambon/blanc &&
	snapseal send -i zdata/jambon/blanc@2020 zdata/jambon/blanc@migration |
		snapseal recv -F zdata/encrypted/jambon/blanc &&
	snapseal list -H -o name -t snapshot zdata/encrypted/jambon/blanc >actual &&
	printf "%s\n" zdata/encrypted/jambon/blanc@2018 \
		zdata/encrypted/jambon/blanc@2019 zdata/encrypted/jambon/blanc@2020 \
		zdata/encrypted/jambon/blanc@migration >expect &&
	test_cmp expect actual
'

test_expect_success KEYRING 'the data is there twice; the encrypted copy is exact and sealed' '
	for y in 2018 2019 2020 migration
	do
		rm -rf r &&
		snapseal restore zdata/encrypted/jambon/blanc@$y r &&
		sstool digest r >actual &&
		test_cmp blanc-$y.digest actual || return 1
	done &&
	sstool grepall "$SNAPSEAL_HOME/zdata" "year migration" >/dev/null
'

test_expect_success KEYRING 'delete the unencrypted version; the live data stays' '
	snapseal destroy -r zdata/jambon &&
	test_must_fail snapseal list zdata/jambon 2>err &&
	test_grep "dataset does not exist" err &&
	test -f zdata/jambon/parme/jambons &&
	test_must_fail sstool grepall "$SNAPSEAL_HOME/zdata" "year migration"
'

test_expect_success KEYRING 'close and open the data set again' '
	snapseal unload-key zdata/encrypted &&
	snapseal get -H -o value keystatus zdata/encrypted/jambon/blanc >actual &&
	echo unavailable >expect &&
	test_cmp expect actual &&
	test_must_fail snapseal restore zdata/encrypted/jambon/blanc@migration x &&
	snapseal load-key zdata/encrypted &&
	snapseal restore zdata/encrypted/jambon/blanc@migration x &&
	test -f x/jambons
'

test_expect_success KEYRING 'the insecure server and its pool' '
	mkdir insecure &&
	insecure pool create -m "$PWD/zbackups" zbackups &&
	insecure list >out &&
	test_grep "^zbackups " out &&
	insecure create zbackups/encrypted
'

test_expect_success KEYRING 'snapshot and send everything raw to the backup server' '
	echo "jambon state" >zdata/encrypted/jambon/state &&
	snapseal snapshot -r zdata/encrypted/jambon@to-remote-server &&
	sstool digest zdata/encrypted/jambon >jambon-1.digest &&
	snapseal send -Rw zdata/encrypted/jambon@to-remote-server |
		insecure receive zbackups/encrypted/jambon &&
	insecure list -H -o name -r zbackups >actual &&
	printf "%s\n" zbackups zbackups/encrypted zbackups/encrypted/jambon \
		zbackups/encrypted/jambon/blanc >expect &&
	test_cmp expect actual &&
	insecure list -H -o name -t snapshot zbackups/encrypted/jambon/blanc >actual &&
	printf "%s\n" 2018 2019 2020 migration to-remote-server |
		sed "s|^|zbackups/encrypted/jambon/blanc@|" >expect &&
	test_cmp expect actual
'

test_expect_success KEYRING 'the data is still encrypted on the backup server' '
	insecure get -H -o property,value,source \
		encryption,keylocation,keyformat,pbkdf2iters,encryptionroot,keystatus \
		zbackups/encrypted/jambon/blanc >actual &&
	printf "%s\t%s\t%s\n" encryption aes-256-gcm - keylocation none default \
		keyformat raw - pbkdf2iters 0 default \
		encryptionroot zbackups/encrypted/jambon - \
		keystatus unavailable - >expect &&
	test_cmp expect actual &&
	test_must_fail sstool grepall insecure "year migration" &&
	test_must_fail sstool grepall insecure "jambon state"
'

test_expect_success KEYRING 'back up only the changes of the day' '
	dd if=/dev/zero of=zdata/encrypted/jambon/another-file bs=1M count=5 2>/dev/null &&
	snapseal snapshot -r zdata/encrypted/jambon@work-of-the-day &&
	sstool digest zdata/encrypted/jambon >jambon-2.digest &&
	snapseal send -w -i zdata/encrypted/jambon@to-remote-server \
		zdata/encrypted/jambon@work-of-the-day >day.stream &&
	test "$(wc -c <day.stream)" -lt 200000 &&
	insecure receive zbackups/encrypted/jambon <day.stream &&
	snapseal send -w -i @to-remote-server zdata/encrypted/jambon/blanc@work-of-the-day |
		insecure receive zbackups/encrypted/jambon/blanc &&
	insecure list -H -o name -t snapshot zbackups/encrypted/jambon/blanc >actual &&
	test_grep "@work-of-the-day$" actual
'

test_expect_success KEYRING 'in an emergency the key opens the data on the server' '
	cp jambon-zfs-key insecure-key &&
	insecure set keylocation="file://$PWD/insecure-key" zbackups/encrypted/jambon &&
	insecure load-key zbackups/encrypted/jambon &&
	insecure restore zbackups/encrypted/jambon@work-of-the-day rj &&
	sstool digest rj >actual &&
	test_cmp jambon-2.digest actual &&
	insecure restore zbackups/encrypted/jambon/blanc@work-of-the-day rb &&
	sstool digest rb >actual &&
	test_cmp blanc-migration.digest actual &&
	ls rj >actual &&
	test_grep "^another-file$" actual
'

test_done
