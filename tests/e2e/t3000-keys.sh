#!/bin/bash
# shellcheck disable=SC2016,SC2317,SC2034,SC2283 # single-quoted bodies call the helpers and use the variables
test_description='keys: raw, hex and passphrase keys, load/unload cycles, every
key error, load-key -n/-L/-r/-a, keystatus, independent pools, the keyring
payload, change-key round trips and new encryption roots'

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# expect_props DS PROP[,PROP...] <<EOF: "PROP<TAB>VALUE" lines from get -H.
expect_props() {
	cat >expect.props &&
	snapseal get -H -o property,value "$2" "$1" >actual.props &&
	test_cmp expect.props actual.props
}

# keystatus DS VALUE
keystatus() {
	echo "$2" >expect.ks &&
	snapseal get -H -o value keystatus "$1" >actual.ks &&
	test_cmp expect.ks actual.ks
}

# same_tree DIR1 DIR2: equal digests.
same_tree() {
	sstool digest "$1" >same.1 &&
	sstool digest "$2" >same.2 &&
	test_cmp same.1 same.2
}

# one_line FILE TEXT: FILE is exactly the one line TEXT.
one_line() {
	printf '%s\n' "$2" >expect.line &&
	test_cmp expect.line "$1"
}

PASS='correct horse battery staple'

test_expect_success 'setup: pool, key files, a live tree' '
	snapseal pool create tank &&
	sstool randfile raw.key 32 raw-key random &&
	sstool randfile raw2.key 32 other-raw-key random &&
	sstool randfile hexsrc 32 hex-key random &&
	od -An -tx1 -v hexsrc >hex.od &&
	tr -d " \n" <hex.od >hexnonl.key &&
	test "$(wc -c <hexnonl.key)" = 64 &&
	{ cat hexnonl.key && echo; } >hex.key &&
	test "$(wc -c <hex.key)" = 65 &&
	sstool randfile hexsrc2 32 hex-key-2 random &&
	od -An -tx1 -v hexsrc2 >hex2.od &&
	tr -d " \n" <hex2.od >wronghex.key &&
	printf "%s\n" "a file passphrase" >pass.txt &&
	sstool gen data 1 20 &&
	snapseal create tank/plain
'

test_expect_success 'raw key: create, properties, unload, load' '
	snapseal create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/raw.key" \
		-o mountpoint="$PWD/data" tank/raw &&
	expect_props tank/raw encryption,keylocation,keyformat,pbkdf2iters,encryptionroot,keystatus <<-EOF &&
	encryption	aes-256-gcm
	keylocation	file://$PWD/raw.key
	keyformat	raw
	pbkdf2iters	0
	encryptionroot	tank/raw
	keystatus	available
	EOF
	snapseal unload-key tank/raw &&
	keystatus tank/raw unavailable &&
	snapseal load-key tank/raw &&
	keystatus tank/raw available
'

test_expect_success 'raw key: snapshot and restore need the key; restore -l loads it' '
	snapseal snapshot tank/raw@one &&
	snapseal unload-key tank/raw &&
	test_must_fail snapseal snapshot tank/raw@two 2>err &&
	test_grep "key not loaded" err &&
	test_must_fail snapseal restore tank/raw@one out.nokey 2>err &&
	test_grep "key not loaded" err &&
	test_line_count = 1 err &&
	! test -e out.nokey &&
	keystatus tank/raw unavailable &&
	snapseal restore -l tank/raw@one out.one &&
	keystatus tank/raw available &&
	same_tree data out.one
'

test_expect_success 'hex key with a trailing newline: cycle; the same key without newline loads' '
	snapseal create -o encryption=on -o keyformat=hex \
		-o keylocation="file://$PWD/hex.key" tank/hex &&
	expect_props tank/hex keyformat,keylocation,keystatus <<-EOF &&
	keyformat	hex
	keylocation	file://$PWD/hex.key
	keystatus	available
	EOF
	snapseal unload-key tank/hex &&
	keystatus tank/hex unavailable &&
	snapseal load-key -L "file://$PWD/hexnonl.key" tank/hex &&
	keystatus tank/hex available &&
	snapseal unload-key tank/hex &&
	snapseal load-key tank/hex &&
	keystatus tank/hex available
'

test_expect_success 'hex key without a trailing newline: cycle; upper case loads too' '
	snapseal create -o encryption=on -o keyformat=hex \
		-o keylocation="file://$PWD/hexnonl.key" tank/hexnl &&
	snapseal unload-key tank/hexnl &&
	keystatus tank/hexnl unavailable &&
	snapseal load-key tank/hexnl &&
	keystatus tank/hexnl available &&
	tr a-f A-F <hex.key >hexupper.key &&
	snapseal load-key -n -L "file://$PWD/hexupper.key" tank/hexnl &&
	snapseal unload-key tank/hexnl &&
	snapseal load-key -L "file://$PWD/hex.key" tank/hexnl &&
	keystatus tank/hexnl available
'

test_expect_success 'passphrase from stdin: create, unload, load' '
	echo "$PASS" | snapseal create -o encryption=on \
		-o keyformat=passphrase -o pbkdf2iters=100000 tank/pass &&
	expect_props tank/pass keylocation,keyformat,pbkdf2iters,encryptionroot,keystatus <<-EOF &&
	keylocation	prompt
	keyformat	passphrase
	pbkdf2iters	100000
	encryptionroot	tank/pass
	keystatus	available
	EOF
	snapseal unload-key tank/pass &&
	keystatus tank/pass unavailable &&
	echo "$PASS" | snapseal load-key tank/pass &&
	keystatus tank/pass available
'

test_expect_success 'passphrase: one trailing newline is trimmed, not two' '
	printf "%s" "$PASS" | snapseal load-key -n tank/pass &&
	printf "%s\n" "$PASS" | snapseal load-key -n tank/pass &&
	printf "%s\n\n" "$PASS" >twonl &&
	test_must_fail snapseal load-key -n tank/pass <twonl 2>err &&
	test_grep -F "Incorrect key provided for '\''tank/pass'\''." err
'

test_expect_success 'passphrase: a wrong one is refused and nothing is loaded' '
	snapseal unload-key tank/pass &&
	echo "correct horse battery stapler" >wrongpass &&
	test_must_fail snapseal load-key tank/pass <wrongpass 2>err &&
	one_line err "Key load error: Incorrect key provided for '\''tank/pass'\''." &&
	keystatus tank/pass unavailable &&
	test_must_fail snapseal load-key tank/pass </dev/null 2>err &&
	one_line err "Key load error: Passphrase too short (min 8)." &&
	keystatus tank/pass unavailable &&
	echo "$PASS" | snapseal load-key tank/pass &&
	keystatus tank/pass available
'

test_expect_success 'passphrase from a file: cycle; a changed file is refused' '
	snapseal create -o encryption=on -o keyformat=passphrase \
		-o pbkdf2iters=100000 -o keylocation="file://$PWD/pass.txt" \
		tank/passf &&
	expect_props tank/passf keylocation,keyformat,pbkdf2iters <<-EOF &&
	keylocation	file://$PWD/pass.txt
	keyformat	passphrase
	pbkdf2iters	100000
	EOF
	snapseal unload-key tank/passf &&
	keystatus tank/passf unavailable &&
	snapseal load-key tank/passf &&
	keystatus tank/passf available &&
	snapseal unload-key tank/passf &&
	cp pass.txt pass.txt.orig &&
	test_when_finished "cp pass.txt.orig pass.txt" &&
	echo "a file passphrasf" >pass.txt &&
	test_must_fail snapseal load-key tank/passf 2>err &&
	one_line err "Key load error: Incorrect key provided for '\''tank/passf'\''." &&
	keystatus tank/passf unavailable &&
	cp pass.txt.orig pass.txt &&
	snapseal load-key tank/passf &&
	keystatus tank/passf available
'

# bad_create NAME MESSAGE ARGS...: create fails with exactly MESSAGE and
# the dataset does not exist afterwards.
bad_create() {
	local name=$1 msg=$2
	shift 2
	test_must_fail snapseal create "$@" "$name" 2>err &&
	one_line err "cannot create '$name': $msg" &&
	test_must_fail snapseal list "$name" 2>/dev/null
}

test_expect_success 'create refuses bad raw keys' '
	sstool randfile short.key 31 short random &&
	sstool randfile long.key 33 long random &&
	: >empty.key &&
	bad_create tank/bad "Raw key too short (expected 32)." \
		-o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/short.key" &&
	bad_create tank/bad "Raw key too long (expected 32)." \
		-o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/long.key" &&
	bad_create tank/bad "Raw key too short (expected 32)." \
		-o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/empty.key" &&
	bad_create tank/bad "Raw key too long (expected 32)." \
		-o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/hex.key"
'

test_expect_success 'create refuses bad hex keys' '
	head -c 62 hexnonl.key >hexshort.key &&
	{ cat hexnonl.key && echo 00; } >hexlong.key &&
	{ head -c 63 hexnonl.key && echo g; } >hexbad.key &&
	{ head -c 10 hexnonl.key && printf " " && tail -c 53 hexnonl.key; } >hexspace.key &&
	{ cat hexnonl.key && printf "\n\n"; } >hex2nl.key &&
	bad_create tank/bad "Hex key too short (expected 64)." \
		-o encryption=on -o keyformat=hex \
		-o keylocation="file://$PWD/hexshort.key" &&
	bad_create tank/bad "Hex key too long (expected 64)." \
		-o encryption=on -o keyformat=hex \
		-o keylocation="file://$PWD/hexlong.key" &&
	bad_create tank/bad "Invalid hex character detected." \
		-o encryption=on -o keyformat=hex \
		-o keylocation="file://$PWD/hexbad.key" &&
	bad_create tank/bad "Invalid hex character detected." \
		-o encryption=on -o keyformat=hex \
		-o keylocation="file://$PWD/hexspace.key" &&
	bad_create tank/bad "Hex key too long (expected 64)." \
		-o encryption=on -o keyformat=hex \
		-o keylocation="file://$PWD/hex2nl.key"
'

test_expect_success 'create refuses short passphrases and low pbkdf2iters' '
	echo "1234567" >short.pass &&
	bad_create tank/bad "Passphrase too short (min 8)." \
		-o encryption=on -o keyformat=passphrase -o pbkdf2iters=100000 \
		<short.pass &&
	echo "$PASS" >good.pass &&
	bad_create tank/bad "minimum pbkdf2 iterations is 100000" \
		-o encryption=on -o keyformat=passphrase -o pbkdf2iters=99999 \
		<good.pass &&
	bad_create tank/bad "minimum pbkdf2 iterations is 100000" \
		-o encryption=on -o keyformat=passphrase -o pbkdf2iters=1 \
		-o keylocation="file://$PWD/pass.txt"
'

test_expect_success 'create with a missing key file names the file' '
	test_must_fail snapseal create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/no-such.key" tank/bad 2>err &&
	test_line_count = 1 err &&
	test_grep -F "$PWD/no-such.key" err &&
	test_grep "does not exist" err &&
	test_must_fail snapseal list tank/bad 2>/dev/null
'

# bad_load DS MESSAGE LOCATION: load-key -L LOCATION fails with exactly
# "Key load error: MESSAGE" and DS stays unavailable.
bad_load() {
	test_must_fail snapseal load-key -L "$3" "$1" 2>err &&
	one_line err "Key load error: $2" &&
	keystatus "$1" unavailable
}

test_expect_success 'load-key refuses malformed keys with the zfs texts' '
	snapseal unload-key tank/raw &&
	snapseal unload-key tank/hex &&
	bad_load tank/raw "Raw key too short (expected 32)." "file://$PWD/short.key" &&
	bad_load tank/raw "Raw key too long (expected 32)." "file://$PWD/long.key" &&
	bad_load tank/hex "Hex key too short (expected 64)." "file://$PWD/hexshort.key" &&
	bad_load tank/hex "Hex key too long (expected 64)." "file://$PWD/hexlong.key" &&
	bad_load tank/hex "Invalid hex character detected." "file://$PWD/hexbad.key" &&
	snapseal load-key tank/raw &&
	snapseal load-key tank/hex
'

test_expect_success 'wrong key files are refused: raw, hex, via the property too' '
	snapseal unload-key tank/raw &&
	snapseal unload-key tank/hex &&
	bad_load tank/raw "Incorrect key provided for '\''tank/raw'\''." "file://$PWD/raw2.key" &&
	bad_load tank/hex "Incorrect key provided for '\''tank/hex'\''." "file://$PWD/wronghex.key" &&
	snapseal set keylocation="file://$PWD/raw2.key" tank/raw &&
	test_when_finished "snapseal set keylocation=file://$PWD/raw.key tank/raw" &&
	test_must_fail snapseal load-key tank/raw 2>err &&
	one_line err "Key load error: Incorrect key provided for '\''tank/raw'\''." &&
	keystatus tank/raw unavailable &&
	snapseal set keylocation="file://$PWD/raw.key" tank/raw &&
	snapseal load-key tank/raw &&
	snapseal load-key tank/hex &&
	keystatus tank/raw available
'

test_expect_success 'a missing key file is named; -L loads from elsewhere, property unchanged' '
	snapseal unload-key tank/raw &&
	mv raw.key raw.moved &&
	test_when_finished "mv raw.moved raw.key" &&
	test_must_fail snapseal load-key tank/raw 2>err &&
	test_line_count = 1 err &&
	test_grep "^Key load error: " err &&
	test_grep -F "$PWD/raw.key" err &&
	keystatus tank/raw unavailable &&
	snapseal load-key -L "file://$PWD/raw.moved" tank/raw &&
	keystatus tank/raw available &&
	expect_props tank/raw keylocation <<-EOF
	keylocation	file://$PWD/raw.key
	EOF
'

test_expect_success 'a key file that is a directory is refused by name' '
	mkdir keydir &&
	snapseal unload-key tank/raw &&
	test_must_fail snapseal load-key -L "file://$PWD/keydir" tank/raw 2>err &&
	test_line_count = 1 err &&
	test_grep -F "$PWD/keydir" err &&
	keystatus tank/raw unavailable &&
	snapseal load-key tank/raw
'

test_expect_success 'load-key -L prompt reads a raw key from stdin' '
	snapseal unload-key tank/raw &&
	snapseal load-key -L prompt tank/raw <raw.key &&
	keystatus tank/raw available &&
	expect_props tank/raw keylocation <<-EOF
	keylocation	file://$PWD/raw.key
	EOF
'

test_expect_success 'key already loaded / already unloaded' '
	test_must_fail snapseal load-key tank/raw 2>err &&
	one_line err "Key load error: Key already loaded for '\''tank/raw'\''." &&
	keystatus tank/raw available &&
	snapseal unload-key tank/raw &&
	test_must_fail snapseal unload-key tank/raw 2>err &&
	one_line err "Key unload error: Key already unloaded for '\''tank/raw'\''." &&
	keystatus tank/raw unavailable &&
	snapseal load-key tank/raw
'

test_expect_success 'a child that inherits: keys belong to the encryption root' '
	snapseal create -o mountpoint="$PWD/childdata" tank/raw/child &&
	expect_props tank/raw/child encryption,keylocation,keyformat,encryptionroot,keystatus <<-EOF &&
	encryption	aes-256-gcm
	keylocation	none
	keyformat	raw
	encryptionroot	tank/raw
	keystatus	available
	EOF
	test_must_fail snapseal load-key tank/raw/child 2>err &&
	test_line_count = 1 err &&
	test_grep -F "Keys must be loaded for encryption root of '\''tank/raw/child'\''" err &&
	test_must_fail snapseal unload-key tank/raw/child 2>err &&
	test_line_count = 1 err &&
	test_grep -F "Keys must be unloaded for encryption root of '\''tank/raw/child'\''" err &&
	keystatus tank/raw/child available &&
	snapseal unload-key tank/raw &&
	keystatus tank/raw/child unavailable &&
	test_must_fail snapseal load-key tank/raw/child 2>err &&
	test_grep -F "Keys must be loaded for encryption root of '\''tank/raw/child'\''" err &&
	keystatus tank/raw/child unavailable &&
	mkdir -p childdata &&
	echo kid >childdata/f &&
	test_must_fail snapseal snapshot tank/raw/child@c1 2>err &&
	test_grep "key not loaded" err &&
	snapseal load-key tank/raw &&
	keystatus tank/raw/child available &&
	snapseal snapshot tank/raw/child@c1
'

test_expect_success 'an unencrypted dataset has no key' '
	test_must_fail snapseal load-key tank/plain 2>err &&
	test_line_count = 1 err &&
	test_grep -F "'\''tank/plain'\'' is not encrypted" err &&
	test_must_fail snapseal unload-key tank/plain 2>err &&
	test_line_count = 1 err &&
	test_grep -F "'\''tank/plain'\'' is not encrypted" err &&
	test_must_fail snapseal change-key -o keyformat=raw \
		-o keylocation="file://$PWD/raw.key" tank/plain 2>err &&
	test_line_count = 1 err &&
	test_grep -F "'\''tank/plain'\'' is not encrypted" err &&
	expect_props tank/plain encryption,keystatus,encryptionroot <<-EOF
	encryption	off
	keystatus	-
	encryptionroot	-
	EOF
'

test_expect_success 'load-key on a dataset that does not exist' '
	test_must_fail snapseal load-key tank/nosuch 2>err &&
	test_line_count = 1 err &&
	test_grep -F "tank/nosuch" err &&
	test_must_fail snapseal unload-key nopool/ds 2>err &&
	test_line_count = 1 err &&
	test_grep -F "nopool/ds" err
'

test_expect_success 'load-key -n verifies only' '
	snapseal unload-key tank/raw &&
	snapseal load-key -n tank/raw >out &&
	one_line out "1 / 1 key(s) successfully verified" &&
	keystatus tank/raw unavailable &&
	test_must_fail snapseal load-key -n -L "file://$PWD/raw2.key" tank/raw >out 2>err &&
	test_grep -F "Incorrect key provided for '\''tank/raw'\''." err &&
	one_line out "0 / 1 key(s) successfully verified" &&
	keystatus tank/raw unavailable &&
	snapseal load-key tank/raw &&
	snapseal load-key -n tank/raw >out &&
	one_line out "1 / 1 key(s) successfully verified" &&
	keystatus tank/raw available
'

test_expect_success 'load-key -r: summaries, a failure counts and fails' '
	snapseal create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/raw.key" tank/rr &&
	snapseal create tank/rr/a &&
	cp hex.key rrb.key &&
	snapseal create -o encryption=on -o keyformat=hex \
		-o keylocation="file://$PWD/rrb.key" tank/rr/b &&
	snapseal create tank/rr/b/c &&
	snapseal unload-key -r tank/rr >out &&
	one_line out "2 / 2 key(s) successfully unloaded" &&
	snapseal get -H -r -o name,value keystatus tank/rr >actual &&
	printf "%s\tunavailable\n" tank/rr tank/rr/a tank/rr/b tank/rr/b/c >expect &&
	test_cmp expect actual &&
	snapseal load-key -r tank/rr >out &&
	one_line out "2 / 2 key(s) successfully loaded" &&
	snapseal get -H -r -o name,value keystatus tank/rr >actual &&
	printf "%s\tavailable\n" tank/rr tank/rr/a tank/rr/b tank/rr/b/c >expect &&
	test_cmp expect actual &&
	snapseal unload-key -r tank/rr >out &&
	mv rrb.key rrb.moved &&
	test_must_fail snapseal load-key -r tank/rr >out 2>err &&
	one_line out "1 / 2 key(s) successfully loaded" &&
	test_grep -F "$PWD/rrb.key" err &&
	keystatus tank/rr available &&
	keystatus tank/rr/b unavailable &&
	keystatus tank/rr/b/c unavailable &&
	mv rrb.moved rrb.key &&
	snapseal load-key -r tank/rr >out &&
	one_line out "1 / 1 key(s) successfully loaded" &&
	keystatus tank/rr/b/c available
'

test_expect_success 'load-key -r/-a accept only prompt as an alternate location' '
	snapseal unload-key tank/rr &&
	test_must_fail snapseal load-key -r -L "file://$PWD/raw.key" tank/rr 2>err &&
	test_grep "alternate keylocation may only be '\''prompt'\'' with -r or -a" err &&
	test_must_fail snapseal load-key -a -L "file://$PWD/raw.key" 2>err &&
	test_grep "alternate keylocation may only be '\''prompt'\'' with -r or -a" err &&
	keystatus tank/rr unavailable &&
	snapseal load-key -r -L prompt tank/rr <raw.key >out &&
	one_line out "1 / 1 key(s) successfully loaded" &&
	keystatus tank/rr/a available
'

# A separate home, so that -a sees a known set of encryption roots.
h2() {
	env SNAPSEAL_HOME="$TRASH_DIRECTORY/home2" snapseal "$@"
}

test_expect_success 'load-key -a / unload-key -a over every pool of the home' '
	mkdir home2 &&
	test_when_finished "h2 unload-key -a >/dev/null 2>&1; :" &&
	h2 pool create pa &&
	h2 pool create pb &&
	h2 create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/raw.key" pa/e1 &&
	h2 create pa/e1/c &&
	cp hex.key e2.key &&
	h2 create -o encryption=on -o keyformat=hex \
		-o keylocation="file://$PWD/e2.key" pa/e2 &&
	h2 create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/raw2.key" pb/e &&
	h2 create pb/plain &&
	h2 unload-key -a >out &&
	one_line out "3 / 3 key(s) successfully unloaded" &&
	h2 get -H -o name,value keystatus pa/e1 pa/e1/c pa/e2 pb/e pb/plain >actual &&
	printf "%s\n" "pa/e1	unavailable" "pa/e1/c	unavailable" \
		"pa/e2	unavailable" "pb/e	unavailable" "pb/plain	-" >expect &&
	test_cmp expect actual &&
	h2 load-key -a >out &&
	one_line out "3 / 3 key(s) successfully loaded" &&
	h2 get -H -o name,value keystatus pa/e1 pa/e1/c pa/e2 pb/e pb/plain >actual &&
	printf "%s\n" "pa/e1	available" "pa/e1/c	available" \
		"pa/e2	available" "pb/e	available" "pb/plain	-" >expect &&
	test_cmp expect actual &&
	h2 unload-key -a >out &&
	rm e2.key &&
	test_must_fail h2 load-key -a >out 2>err &&
	one_line out "2 / 3 key(s) successfully loaded" &&
	test_grep -F "$PWD/e2.key" err &&
	h2 get -H -o name,value keystatus pa/e1 pa/e2 pb/e >actual &&
	printf "%s\n" "pa/e1	available" "pa/e2	unavailable" "pb/e	available" >expect &&
	test_cmp expect actual
'

test_expect_success 'the same layout and key in two pools: keys are independent' '
	mkdir twin &&
	sstool gen twin 2 10 &&
	(
		for p in pool1 pool2; do
			snapseal pool create $p &&
			snapseal create -o encryption=on -o keyformat=raw \
				-o keylocation="file://$PWD/raw.key" \
				-o mountpoint="$PWD/twin" $p/enc || exit 1
		done
	) &&
	snapseal snapshot pool1/enc@s &&
	snapseal snapshot pool2/enc@s &&
	snapseal unload-key pool1/enc &&
	keystatus pool1/enc unavailable &&
	keystatus pool2/enc available &&
	test_must_fail snapseal restore pool1/enc@s twin.out1 2>err &&
	test_grep "key not loaded" err &&
	snapseal restore pool2/enc@s twin.out2 &&
	same_tree twin twin.out2 &&
	snapseal snapshot pool2/enc@t &&
	snapseal load-key pool1/enc &&
	snapseal unload-key pool2/enc &&
	keystatus pool1/enc available &&
	keystatus pool2/enc unavailable &&
	snapseal restore pool1/enc@s twin.out1 &&
	same_tree twin twin.out1 &&
	snapseal load-key pool2/enc
'

# keydesc POOL DS: the keyring description of DS (an encryption root).
keydesc() {
	local pg dg
	pg=$(sed -n "s/^guid=//p" "$SNAPSEAL_HOME/$1/snapseal-pool") &&
	test -n "$pg" &&
	dg=$(snapseal get -Hp -o value guid "$2") &&
	printf "snapseal:%s:%016x\n" "$pg" "$dg"
}

test_expect_success KEYRING 'the keyring holds the master key, not the user key' '
	desc=$(keydesc pool1 pool1/enc) &&
	id=$(keyctl search @u user "$desc") &&
	keyctl pipe "$id" >payload &&
	test "$(wc -c <payload)" = 32 &&
	! cmp -s payload raw.key &&
	od -An -tx1 -v payload >payload.od &&
	tr -d " \n" <payload.od >payload.hex &&
	od -An -tx1 -v raw.key >rawkey.od &&
	tr -d " \n" <rawkey.od >rawkey.hex &&
	! cmp -s payload.hex rawkey.hex &&
	desc2=$(keydesc pool2 pool2/enc) &&
	test "$desc" != "$desc2" &&
	id2=$(keyctl search @u user "$desc2") &&
	keyctl pipe "$id2" >payload2 &&
	! cmp -s payload payload2 &&
	snapseal unload-key pool1/enc &&
	! keyctl search @u user "$desc" &&
	keyctl search @u user "$desc2" &&
	snapseal load-key pool1/enc &&
	keyctl pipe "$(keyctl search @u user "$desc")" >payload.again &&
	test_cmp payload payload.again
'

test_expect_success KEYRING 'a passphrase never reaches the keyring' '
	desc=$(keydesc tank tank/pass) &&
	id=$(keyctl search @u user "$desc") &&
	keyctl pipe "$id" >pp &&
	test "$(wc -c <pp)" = 32 &&
	! grep -F "correct horse" pp
'

# change-key round trips on tank/ck, with snapshots taken under each key.
test_expect_success 'change-key: setup with a raw key and a first snapshot' '
	sstool gen ckdata 3 20 &&
	snapseal create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/raw.key" \
		-o mountpoint="$PWD/ckdata" tank/ck &&
	snapseal snapshot tank/ck@s1 &&
	sstool digest ckdata >s1.digest
'

test_expect_success 'change-key raw -> passphrase: old snapshots restore, old key refused' '
	echo "$PASS" | snapseal change-key -o keyformat=passphrase \
		-o keylocation=prompt -o pbkdf2iters=100000 tank/ck &&
	expect_props tank/ck keyformat,keylocation,pbkdf2iters,encryptionroot,keystatus <<-EOF &&
	keyformat	passphrase
	keylocation	prompt
	pbkdf2iters	100000
	encryptionroot	tank/ck
	keystatus	available
	EOF
	echo change2 >ckdata/new2 &&
	snapseal snapshot tank/ck@s2 &&
	sstool digest ckdata >s2.digest &&
	snapseal unload-key tank/ck &&
	bad_load tank/ck "Incorrect key provided for '\''tank/ck'\''." "file://$PWD/raw.key" &&
	echo "$PASS" | snapseal load-key tank/ck &&
	snapseal restore tank/ck@s1 ck.r1 &&
	sstool digest ck.r1 >actual &&
	test_cmp s1.digest actual &&
	snapseal restore tank/ck@s2 ck.r2 &&
	sstool digest ck.r2 >actual &&
	test_cmp s2.digest actual
'

test_expect_success 'change-key passphrase -> hex: old passphrase refused' '
	snapseal change-key -o keyformat=hex \
		-o keylocation="file://$PWD/hex.key" tank/ck &&
	expect_props tank/ck keyformat,keylocation,pbkdf2iters <<-EOF &&
	keyformat	hex
	keylocation	file://$PWD/hex.key
	pbkdf2iters	0
	EOF
	echo change3 >ckdata/new3 &&
	snapseal snapshot tank/ck@s3 &&
	sstool digest ckdata >s3.digest &&
	snapseal unload-key tank/ck &&
	echo "$PASS" >pass.in &&
	test_must_fail snapseal load-key -L prompt tank/ck <pass.in 2>err &&
	test_line_count = 1 err &&
	test_grep "^Key load error: " err &&
	keystatus tank/ck unavailable &&
	snapseal load-key tank/ck &&
	(
		for s in 1 2 3; do
			rm -rf ck.r &&
			snapseal restore tank/ck@s$s ck.r &&
			sstool digest ck.r >actual &&
			test_cmp s$s.digest actual || exit 1
		done
	)
'

test_expect_success 'change-key hex -> raw: old hex key refused, all snapshots restore' '
	snapseal change-key -o keyformat=raw \
		-o keylocation="file://$PWD/raw2.key" tank/ck &&
	expect_props tank/ck keyformat,keylocation <<-EOF &&
	keyformat	raw
	keylocation	file://$PWD/raw2.key
	EOF
	snapseal unload-key tank/ck &&
	test_must_fail snapseal load-key -n -L "file://$PWD/raw.key" tank/ck 2>err &&
	test_grep -F "Incorrect key provided for '\''tank/ck'\''." err &&
	test_must_fail snapseal load-key -n -L "file://$PWD/hex.key" tank/ck 2>err &&
	test_grep -F "Raw key too long (expected 32)." err &&
	keystatus tank/ck unavailable &&
	snapseal restore -l tank/ck@s3 ck.r3 &&
	sstool digest ck.r3 >actual &&
	test_cmp s3.digest actual &&
	rm -rf ck.r1 &&
	snapseal restore tank/ck@s1 ck.r1 &&
	sstool digest ck.r1 >actual &&
	test_cmp s1.digest actual &&
	echo change4 >ckdata/new4 &&
	snapseal snapshot tank/ck@s4
'

test_expect_success 'change-key: pbkdf2iters below the minimum is refused, nothing changes' '
	echo "$PASS" >pass.in &&
	test_must_fail snapseal change-key -o keyformat=passphrase \
		-o keylocation=prompt -o pbkdf2iters=99999 tank/ck <pass.in 2>err &&
	one_line err "Key change error: minimum pbkdf2 iterations is 100000" &&
	expect_props tank/ck keyformat,keylocation,pbkdf2iters <<-EOF &&
	keyformat	raw
	keylocation	file://$PWD/raw2.key
	pbkdf2iters	0
	EOF
	snapseal unload-key tank/ck &&
	snapseal load-key tank/ck &&
	keystatus tank/ck available
'

test_expect_success 'change-key needs the key loaded; -l loads it first' '
	snapseal unload-key tank/ck &&
	test_must_fail snapseal change-key -o keyformat=raw \
		-o keylocation="file://$PWD/raw.key" tank/ck 2>err &&
	one_line err "Key change error: Key must be loaded." &&
	keystatus tank/ck unavailable &&
	expect_props tank/ck keylocation <<-EOF &&
	keylocation	file://$PWD/raw2.key
	EOF
	snapseal change-key -l -o keyformat=raw \
		-o keylocation="file://$PWD/raw.key" tank/ck &&
	keystatus tank/ck available &&
	snapseal unload-key tank/ck &&
	bad_load tank/ck "Incorrect key provided for '\''tank/ck'\''." "file://$PWD/raw2.key" &&
	snapseal load-key tank/ck &&
	snapseal restore tank/ck@s2 ck.r2b &&
	sstool digest ck.r2b >actual &&
	test_cmp s2.digest actual
'

test_expect_success 'change-key on an inheriting child needs a keyformat' '
	snapseal create -o mountpoint="$PWD/kiddata" tank/ck/kid &&
	test_must_fail snapseal change-key -o keylocation="file://$PWD/hex.key" \
		tank/ck/kid 2>err &&
	one_line err "Key change error: Keyformat required for new encryption root." &&
	expect_props tank/ck/kid encryptionroot <<-EOF
	encryptionroot	tank/ck
	EOF
'

test_expect_success 'change-key -o keyformat on a child makes it a new encryption root' '
	mkdir -p kiddata &&
	sstool gen kiddata 4 8 &&
	snapseal snapshot tank/ck/kid@k1 &&
	sstool digest kiddata >k1.digest &&
	snapseal change-key -o keyformat=hex \
		-o keylocation="file://$PWD/hex.key" tank/ck/kid &&
	expect_props tank/ck/kid encryptionroot,keyformat,keylocation,keystatus <<-EOF &&
	encryptionroot	tank/ck/kid
	keyformat	hex
	keylocation	file://$PWD/hex.key
	keystatus	available
	EOF
	snapseal unload-key tank/ck &&
	keystatus tank/ck unavailable &&
	keystatus tank/ck/kid available &&
	snapseal unload-key tank/ck/kid &&
	keystatus tank/ck/kid unavailable &&
	snapseal load-key tank/ck/kid &&
	keystatus tank/ck unavailable &&
	snapseal restore tank/ck/kid@k1 kid.r &&
	sstool digest kid.r >actual &&
	test_cmp k1.digest actual &&
	snapseal unload-key tank/ck/kid &&
	bad_load tank/ck/kid "Incorrect key provided for '\''tank/ck/kid'\''." "file://$PWD/wronghex.key" &&
	snapseal load-key tank/ck &&
	keystatus tank/ck/kid unavailable &&
	snapseal load-key tank/ck/kid
'

test_done
