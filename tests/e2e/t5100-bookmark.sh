#!/bin/bash
# shellcheck disable=SC2016,SC2317,SC2034 # single-quoted bodies call the helpers
test_description='bookmarks: a snapshot'\''s identity without its data

zfs-bookmark(8): DS#NAME keeps the guid, createtxg and creation of the
snapshot it was made from, and the list of objects that snapshot reached,
but holds none of them: destroying the snapshot frees its space, and the
bookmark can still be the base of an incremental send (send -i DS#NAME).
A bookmark needs no key, so a backup server makes them too.'

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# srv CMD...: snapseal on the backup server (its own home).
srv() {
	SNAPSEAL_HOME=$TRASH_DIRECTORY/server "$SNAPSEAL" "$@"
}

# val PROP NAME: the exact value of one property.
val() {
	snapseal get -H -p -o value "$1" "$2"
}

# packs_kb POOLDIR: kilobytes the pool's pack files occupy on disk.
packs_kb() {
	du -sk "$1/packs" | cut -f1
}

# bmids POOL: rows of object lists in POOL's catalog (bookmark_ids).
bmids() {
	sqlite3 "$SNAPSEAL_HOME/$1/catalog.db" "SELECT count(*) FROM bookmark_ids"
}

test_lazy_prereq SQLITE3 'sqlite3 -version'

test_expect_success 'setup: a pool with a plain dataset and a snapshot' '
	snapseal pool create -m "$PWD/prod" zdata &&
	snapseal create zdata/plain &&
	sstool gen prod/plain 5100 60 &&
	snapseal snapshot zdata/plain@a &&
	echo more >prod/plain/more.txt &&
	snapseal snapshot zdata/plain@b
'

# ---------- create ----------

test_expect_success 'bookmark DS@SNAP DS#NAME makes a bookmark' '
	snapseal bookmark zdata/plain@a zdata/plain#a >out 2>err &&
	! test -s out && ! test -s err &&
	snapseal list -H -t bookmark -o name zdata/plain >actual &&
	echo zdata/plain#a >expect &&
	test_cmp expect actual
'

test_expect_success 'the bookmark has the guid, createtxg and creation of its snapshot' '
	snapseal get -H -p -o value guid,createtxg,creation zdata/plain@a >expect &&
	snapseal get -H -p -o value guid,createtxg,creation zdata/plain#a >actual &&
	test_cmp expect actual &&
	echo bookmark >expect &&
	val type zdata/plain#a >actual &&
	test_cmp expect actual
'

test_expect_success 'get all of a bookmark: type, creation, createtxg, guid, encryption' '
	snapseal get -H -o property,source all zdata/plain#a >actual &&
	printf "%s\t%s\n" type - creation - createtxg - guid - \
		encryption default >expect &&
	test_cmp expect actual &&
	snapseal get -H -o name,value name,type zdata/plain#a >actual &&
	printf "zdata/plain#a\t%s\n" zdata/plain#a bookmark >expect &&
	test_cmp expect actual
'

test_expect_success 'the short forms: #NAME takes the dataset of the source, @SNAP that of the bookmark' '
	snapseal bookmark zdata/plain@b "#b" &&
	snapseal bookmark @a zdata/plain#a2 &&
	val guid zdata/plain@b >expect &&
	val guid zdata/plain#b >actual &&
	test_cmp expect actual &&
	val guid zdata/plain@a >expect &&
	val guid zdata/plain#a2 >actual &&
	test_cmp expect actual
'

test_expect_success 'a bookmark may share its name with a snapshot; snapshot_count ignores bookmarks' '
	snapseal list -H -o name zdata/plain@a zdata/plain#a >actual &&
	printf "%s\n" zdata/plain@a zdata/plain#a >expect &&
	test_cmp expect actual &&
	echo 2 >expect &&
	val snapshot_count zdata/plain >actual &&
	test_cmp expect actual
'

test_expect_success 'bookmark DS#OLD DS#NEW copies a bookmark' '
	snapseal bookmark zdata/plain#a zdata/plain#copy &&
	snapseal get -H -p -o value guid,createtxg,creation zdata/plain#a >expect &&
	snapseal get -H -p -o value guid,createtxg,creation zdata/plain#copy >actual &&
	test_cmp expect actual
'

test_expect_success SQLITE3 'each bookmark has its object list in the catalog' '
	echo 4 >expect &&
	bmids zdata >actual &&
	test_cmp expect actual
'

# ---------- list ----------

test_expect_success 'list -t bookmark, -t snapshot,bookmark and -t all' '
	snapseal list -H -t bookmark -o name,type zdata/plain >actual &&
	printf "zdata/plain#%s\tbookmark\n" a a2 copy b >expect &&
	test_cmp expect actual &&
	snapseal list -H -t snapshot,bookmark -o name zdata/plain >actual &&
	printf "zdata/plain%s\n" @a "#a" "#a2" "#copy" @b "#b" >expect &&
	test_cmp expect actual &&
	snapseal list -H -t all -r -o name zdata >actual &&
	printf "%s\n" zdata zdata/plain >expect &&
	printf "zdata/plain%s\n" @a "#a" "#a2" "#copy" @b "#b" >>expect &&
	test_cmp expect actual &&
	snapseal list -H -t filesystem,snapshot -r -o name zdata >actual &&
	test_grep ! "#" actual
'

test_expect_success 'list of a bookmark by name; space columns do not apply' '
	snapseal list -H zdata/plain#a >actual &&
	printf "zdata/plain#a\t-\t-\t-\t-\n" >expect &&
	test_cmp expect actual &&
	snapseal list -H -o name,guid,createtxg -t bookmark zdata/plain >out &&
	test_line_count = 4 out &&
	printf "zdata/plain#a\t%s\t" "$(val guid zdata/plain@a)" >want &&
	grep -F -f want out
'

# ---------- refused ----------

test_expect_success 'a bookmark that exists is refused' '
	test_must_fail snapseal bookmark zdata/plain@b zdata/plain#a 2>err &&
	test_error err "create bookmark" zdata/plain#a "^bookmark exists$" &&
	test_must_fail snapseal bookmark zdata/plain@b "#a" 2>err &&
	test_error err "create bookmark" zdata/plain#a "^bookmark exists$" &&
	val guid zdata/plain@a >expect &&
	val guid zdata/plain#a >actual &&
	test_cmp expect actual
'

test_expect_success 'a bookmark of a missing snapshot, bookmark or dataset is refused' '
	test_must_fail snapseal bookmark zdata/plain@nope zdata/plain#x 2>err &&
	test_error err "create bookmark" zdata/plain#x "snapshot does not exist" &&
	test_must_fail snapseal bookmark zdata/plain#nope zdata/plain#x 2>err &&
	test_error err "create bookmark" zdata/plain#x "bookmark does not exist" &&
	test_must_fail snapseal bookmark zdata/none@a zdata/none#x 2>err &&
	test_error err "create bookmark" zdata/none#x "dataset does not exist" &&
	test_must_fail snapseal bookmark nopool/a@a nopool/a#x 2>err &&
	test_grep "does not exist" err &&
	test_must_fail snapseal list -t bookmark zdata/plain#x
'

test_expect_success 'bad names are refused' '
	for bad in "zdata/plain#" "zdata/plain#a/b" "zdata/plain#a@b" \
		"zdata/plain#a#b" "zdata/plain#bad*char" "zdata/plain#.." \
		"zdata/plain#$(printf "%0300d" 0)"
	do
		test_must_fail snapseal bookmark zdata/plain@a "$bad" 2>err &&
		test_error err "create bookmark" "$bad" "invalid name" || return 1
	done &&
	test_must_fail snapseal bookmark "zdata/plain@a*" zdata/plain#x 2>err &&
	test_error err "create bookmark" zdata/plain#x "invalid name" &&
	snapseal list -H -t bookmark -o name zdata/plain >actual &&
	test_line_count = 4 actual
'

test_expect_success 'usage errors exit 2: names without # or @, both abbreviated, arguments' '
	test_expect_code 2 snapseal bookmark zdata/plain@a zdata/plain@x 2>err &&
	test_grep "invalid bookmark name .zdata/plain@x.: must contain a .#." err &&
	test_expect_code 2 snapseal bookmark zdata/plain zdata/plain#x 2>err &&
	test_grep "invalid source name .zdata/plain.: must contain a .@. or .#." err &&
	test_expect_code 2 snapseal bookmark @a "#x" 2>err &&
	test_grep "either source or bookmark must be specified as full dataset paths" err &&
	test_expect_code 2 snapseal bookmark zdata/plain@a 2>err &&
	test_grep "missing bookmark argument" err &&
	test_expect_code 2 snapseal bookmark 2>err &&
	test_grep "missing source argument" err &&
	test_expect_code 2 snapseal bookmark zdata/plain@a zdata/plain#x zdata/plain#y 2>err &&
	test_grep "too many arguments" err &&
	test_expect_code 2 snapseal bookmark -x zdata/plain@a zdata/plain#x &&
	test_must_fail snapseal list zdata/plain#x
'

test_expect_success 'a bookmark must be in the dataset, and the pool, of its source' '
	snapseal create zdata/other &&
	test_must_fail snapseal bookmark zdata/plain@a zdata/other#x 2>err &&
	test_error err "create bookmark" zdata/other#x \
		"^source is not an ancestor of the new bookmark.s dataset$" &&
	test_must_fail snapseal bookmark zdata/plain@a zdata#x 2>err &&
	test_error err "create bookmark" zdata#x "not an ancestor" &&
	snapseal pool create -m "$PWD/second" zsecond &&
	test_must_fail snapseal bookmark zdata/plain@a zsecond#x 2>err &&
	test_error err "create bookmark" zsecond#x \
		"^bookmark is in a different pool$" &&
	snapseal list -H -t bookmark -o name zdata/other zsecond >actual &&
	! test -s actual
'

# ---------- space ----------

test_expect_success 'setup: a snapshot that alone holds 3 MB' '
	snapseal create zdata/space &&
	sstool randfile prod/space/big.bin 3000000 51 random &&
	echo small >prod/space/small.txt &&
	snapseal snapshot zdata/space@big &&
	rm prod/space/big.bin &&
	snapseal snapshot zdata/space@small &&
	val used zdata/space@big >used.before &&
	test "$(cat used.before)" -gt 2900000
'

test_expect_success 'a bookmark holds no data: the snapshot still alone holds its space' '
	snapseal bookmark zdata/space@big zdata/space#big &&
	val used zdata/space@big >used.after &&
	test_cmp used.before used.after &&
	snapseal destroy -nvp zdata/space@big >out &&
	printf "destroy\tzdata/space@big\nreclaim\t%s\n" "$(cat used.before)" >expect &&
	test_cmp expect out
'

test_expect_success 'destroying the snapshot frees its space and keeps the bookmark' '
	val guid zdata/space@big >guid &&
	val used zdata/space >fs.before &&
	kb_before=$(packs_kb "$SNAPSEAL_HOME/zdata") &&
	snapseal destroy zdata/space@big &&
	val used zdata/space >fs.after &&
	kb_after=$(packs_kb "$SNAPSEAL_HOME/zdata") &&
	echo "used $(cat fs.before) -> $(cat fs.after), packs ${kb_before}K -> ${kb_after}K" &&
	test "$(cat fs.after)" -lt 100000 &&
	test "$kb_after" -lt $((kb_before - 2500)) &&
	snapseal list -H -t snapshot,bookmark -o name zdata/space >actual &&
	printf "%s\n" "zdata/space#big" "zdata/space@small" >expect &&
	test_cmp expect actual &&
	val guid zdata/space#big >actual &&
	test_cmp guid actual
'

test_expect_success 'scrub is clean with a bookmark whose snapshot is gone' '
	snapseal pool scrub zdata >out &&
	test_grep "with 0 errors" out
'

test_expect_success 'a bookmark of a destroyed snapshot can still be copied' '
	snapseal bookmark zdata/space#big zdata/space#big2 &&
	val guid zdata/space#big2 >actual &&
	test_cmp guid actual
'

# ---------- destroy ----------

test_expect_success 'destroy -nv of a bookmark changes nothing' '
	snapseal destroy -nv zdata/plain#copy >actual &&
	printf "%s\n" "would destroy zdata/plain#copy" "would reclaim 0B" >expect &&
	test_cmp expect actual &&
	snapseal list -H -o name zdata/plain#copy
'

test_expect_success 'destroy DS#NAME destroys the bookmark and only it' '
	snapseal list -H -t all -r -o name zdata >before &&
	snapseal destroy -v zdata/plain#copy >actual &&
	printf "%s\n" "will destroy zdata/plain#copy" "will reclaim 0B" >expect &&
	test_cmp expect actual &&
	test_must_fail snapseal list zdata/plain#copy 2>err &&
	test_error err open zdata/plain#copy "bookmark does not exist" &&
	grep -v "^zdata/plain#copy$" before >expect &&
	snapseal list -H -t all -r -o name zdata >actual &&
	test_cmp expect actual &&
	val guid zdata/plain@a >expect &&
	val guid zdata/plain#a >actual &&
	test_cmp expect actual
'

test_expect_success 'destroying a missing bookmark fails' '
	test_must_fail snapseal destroy zdata/plain#copy 2>err &&
	test_error err destroy zdata/plain#copy "bookmark does not exist" &&
	test_must_fail snapseal destroy zdata/plain#bad/name 2>err &&
	test_error err destroy zdata/plain#bad/name "invalid name"
'

test_expect_success 'destroying a snapshot does not destroy the bookmark of the same name' '
	snapseal destroy zdata/plain@a &&
	snapseal list -H -t snapshot,bookmark -o name zdata/plain >actual &&
	printf "zdata/plain%s\n" "#a" "#a2" @b "#b" >expect &&
	test_cmp expect actual
'

test_expect_success SQLITE3 'a destroyed bookmark takes its object list along' '
	bmids zdata >before &&
	snapseal destroy zdata/plain#a2 &&
	bmids zdata >after &&
	test "$(cat after)" = $(($(cat before) - 1))
'

test_expect_success 'a dataset with bookmarks but no snapshots is destroyed without -r (as zfs)' '
	snapseal create zdata/onlybm &&
	echo x >prod/onlybm/x &&
	snapseal snapshot zdata/onlybm@s &&
	snapseal bookmark zdata/onlybm@s zdata/onlybm#s &&
	test_must_fail snapseal destroy zdata/onlybm 2>err &&
	test_grep "filesystem has children (zdata/onlybm@s)" err &&
	snapseal destroy zdata/onlybm@s &&
	snapseal destroy -v zdata/onlybm >out &&
	test_grep "will destroy zdata/onlybm#s" out &&
	test_must_fail snapseal list zdata/onlybm#s
'

test_expect_success SQLITE3 'destroy -r of a dataset removes its bookmarks and their object lists' '
	snapseal create zdata/tree &&
	snapseal create zdata/tree/kid &&
	echo t >prod/tree/t && echo k >prod/tree/kid/k &&
	snapseal snapshot -r zdata/tree@s &&
	snapseal bookmark zdata/tree@s zdata/tree#s &&
	snapseal bookmark zdata/tree/kid@s zdata/tree/kid#s &&
	bmids zdata >before &&
	snapseal destroy -rv zdata/tree >out &&
	test_grep "will destroy zdata/tree#s" out &&
	test_grep "will destroy zdata/tree/kid#s" out &&
	bmids zdata >after &&
	test "$(cat after)" = $(($(cat before) - 2)) &&
	test_must_fail snapseal list -t bookmark zdata/tree
'

test_expect_success 'pool destroy counts snapshots, not bookmarks' '
	snapseal pool create -m "$PWD/third" zthird &&
	snapseal create zthird/d &&
	echo d >third/d/d &&
	snapseal snapshot zthird/d@s &&
	snapseal bookmark zthird/d@s zthird/d#s &&
	test_must_fail snapseal pool destroy zthird 2>err &&
	test_grep "holds 1 snapshot;" err &&
	snapseal destroy zthird/d@s &&
	snapseal pool destroy zthird
'

# ---------- encrypted datasets and a server without the key ----------

test_expect_success KEYRING 'setup: an encrypted dataset, sent raw to a keyless server' '
	sstool randfile key 32 5100 random &&
	snapseal create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/key" zdata/enc &&
	sstool gen prod/enc 5101 80 &&
	sstool randfile prod/enc/big.bin 2000000 52 random &&
	echo "MARKER-content-5100" >prod/enc/secret.txt &&
	snapseal snapshot zdata/enc@base &&
	mkdir server &&
	srv pool create -m "$PWD/backup" zbackups &&
	snapseal send -w zdata/enc@base >enc-full.stream &&
	srv receive zbackups/enc <enc-full.stream &&
	echo unavailable >expect &&
	srv get -H -o value keystatus zbackups/enc >actual &&
	test_cmp expect actual
'

test_expect_success KEYRING 'a bookmark of an encrypted dataset, with and without its key' '
	snapseal bookmark zdata/enc@base zdata/enc#base &&
	snapseal unload-key zdata/enc &&
	snapseal bookmark zdata/enc@base zdata/enc#nokey &&
	snapseal load-key zdata/enc &&
	val guid zdata/enc@base >expect &&
	val guid zdata/enc#nokey >actual &&
	test_cmp expect actual &&
	echo aes-256-gcm >expect &&
	val encryption zdata/enc#base >actual &&
	test_cmp expect actual
'

test_expect_success KEYRING 'the keyless server makes bookmarks of what it received' '
	srv bookmark zbackups/enc@base zbackups/enc#base &&
	val guid zdata/enc@base >expect &&
	srv get -H -p -o value guid zbackups/enc#base >actual &&
	test_cmp expect actual &&
	srv list -H -t snapshot,bookmark -o name,type zbackups/enc >actual &&
	printf "zbackups/enc%s\n" "@base	snapshot" "#base	bookmark" >expect &&
	test_cmp expect actual &&
	echo unavailable >expect &&
	srv get -H -o value keystatus zbackups/enc >actual &&
	test_cmp expect actual &&
	test_must_fail sstool grepall server MARKER-content-5100
'

# ---------- send -i DS#NAME ----------

test_expect_success 'setup: a plain dataset received by the server' '
	snapseal create zdata/inc &&
	sstool gen prod/inc 5102 100 &&
	sstool randfile prod/inc/big.bin 2000000 53 random &&
	snapseal snapshot zdata/inc@base &&
	snapseal send zdata/inc@base >inc-full.stream &&
	mkdir -p server &&
	{
		srv list zbackups >/dev/null 2>&1 ||
		srv pool create -m "$PWD/backup" zbackups
	} &&
	srv receive zbackups/inc <inc-full.stream &&
	echo change >prod/inc/change.txt &&
	echo more >>prod/inc/file-1 &&
	snapseal snapshot zdata/inc@later &&
	sstool digest prod/inc >inc-later.digest &&
	snapseal send -i @base zdata/inc@later >from-snap.stream &&
	snapseal bookmark zdata/inc@base zdata/inc#base &&
	snapseal destroy zdata/inc@base
'

test_expect_success 'send -i DS#NAME after the base snapshot was destroyed (plain)' '
	snapseal send -i zdata/inc#base zdata/inc@later >from-bm.stream &&
	full=$(wc -c <inc-full.stream) && incr=$(wc -c <from-bm.stream) &&
	echo "full $full bytes, incremental from the bookmark $incr bytes" &&
	test "$incr" -lt $((full / 4))
'

test_expect_success 'the stream from the bookmark carries what the one from the snapshot did' '
	snap=$(wc -c <from-snap.stream) && bm=$(wc -c <from-bm.stream) &&
	echo "from the snapshot $snap bytes, from the bookmark $bm bytes" &&
	test "$snap" = "$bm"
'

test_expect_success 'a pool that holds the base snapshot receives it as an incremental' '
	srv receive zbackups/inc <from-bm.stream &&
	srv list -H -t snapshot -o name zbackups/inc >actual &&
	printf "zbackups/inc@%s\n" base later >expect &&
	test_cmp expect actual &&
	srv restore zbackups/inc@later r-inc &&
	sstool digest r-inc >actual &&
	test_cmp inc-later.digest actual
'

test_expect_success 'send -i #NAME: the short form' '
	snapseal send -i "#base" zdata/inc@later >short.stream &&
	test "$(wc -c <short.stream)" = "$(wc -c <from-bm.stream)"
'

test_expect_success 'an incremental from a bookmark is refused by a pool without its snapshot' '
	srv create zbackups/empty &&
	test_must_fail srv receive zbackups/empty/inc <from-bm.stream &&
	echo more >>prod/inc/file-2 &&
	snapseal snapshot zdata/inc@third &&
	snapseal send -i zdata/inc#base zdata/inc@third >stale.stream &&
	test_must_fail srv receive zbackups/inc <stale.stream 2>err &&
	test_grep "does not match incremental source" err &&
	srv list -H -t snapshot -o name zbackups/inc >actual &&
	printf "zbackups/inc@%s\n" base later >expect &&
	test_cmp expect actual
'

test_expect_success 'send -i from a bookmark of another dataset, or a missing one, is refused' '
	test_must_fail snapseal send -i zdata/plain#b zdata/inc@later >x.stream &&
	test_must_fail snapseal send -i zdata/inc#nope zdata/inc@later >x.stream
'

# bmsql POOL NAME EXPR|delete: replace the object list of bookmark NAME
# with the SQL blob EXPR (computed from the old, "ids"), or delete it.
bmsql() {
	local where="snap = (SELECT id FROM snaps WHERE name = '$2' AND kind = 2)"
	if test "$3" = delete; then
		set -- "$1" "DELETE FROM bookmark_ids WHERE $where"
	else
		set -- "$1" "UPDATE bookmark_ids SET ids = $3 WHERE $where"
	fi
	sqlite3 "$SNAPSEAL_HOME/$1/catalog.db" "$2"
}

test_expect_success SQLITE3 'a damaged object list fails the send, never sends less' '
	snapseal bookmark zdata/inc#base zdata/inc#dmg &&
	bmsql zdata dmg "substr(ids, 1, 40)" &&
	test_must_fail snapseal send -i zdata/inc#dmg zdata/inc@later >x.stream 2>err &&
	test_grep "bookmark object list is damaged" err &&
	bmsql zdata dmg "zeroblob(64)" &&
	test_must_fail snapseal send -i zdata/inc#dmg zdata/inc@later >x.stream 2>err &&
	test_grep "bookmark object list is damaged (not in order)" err &&
	test_expect_code 1 snapseal pool scrub zdata >out &&
	test_grep "bookmark zdata/inc#dmg: .*damaged (not in order)" out &&
	test_grep "state: DEGRADED" out &&
	bmsql zdata dmg delete &&
	test_must_fail snapseal send -i zdata/inc#dmg zdata/inc@later >x.stream 2>err &&
	test_grep "has no object list" err &&
	test_expect_code 1 snapseal pool scrub zdata >out &&
	test_grep "bookmark zdata/inc#dmg: it has no object list" out &&
	test_must_fail snapseal bookmark zdata/inc#dmg zdata/inc#dmg2 2>err &&
	test_error err "create bookmark" zdata/inc#dmg2 "has no object list" &&
	snapseal destroy zdata/inc#dmg &&
	snapseal pool scrub zdata >out &&
	test_grep "with 0 errors" out
'

test_expect_success KEYRING 'send -w -i DS#NAME after the base snapshot was destroyed (raw)' '
	echo change >prod/enc/change.txt &&
	echo more >>prod/enc/secret.txt &&
	snapseal snapshot zdata/enc@later &&
	sstool digest prod/enc >enc-later.digest &&
	snapseal destroy zdata/enc@base &&
	snapseal list -H -t snapshot,bookmark -o name zdata/enc >actual &&
	printf "zdata/enc%s\n" "#base" "#nokey" "@later" >expect &&
	test_cmp expect actual &&
	snapseal send -w -i zdata/enc#base zdata/enc@later >enc-incr.stream &&
	full=$(wc -c <enc-full.stream) && incr=$(wc -c <enc-incr.stream) &&
	echo "full $full bytes, incremental from the bookmark $incr bytes" &&
	test "$incr" -lt $((full / 4)) &&
	test_must_fail sstool grepall enc-incr.stream MARKER-content-5100
'

test_expect_success KEYRING 'the keyless server receives it; with the key, the data equals the source' '
	srv receive zbackups/enc <enc-incr.stream &&
	srv list -H -t snapshot -o name zbackups/enc >actual &&
	printf "zbackups/enc@%s\n" base later >expect &&
	test_cmp expect actual &&
	srv load-key -L "file://$PWD/key" zbackups/enc &&
	srv restore zbackups/enc@later r-enc &&
	sstool digest r-enc >actual &&
	test_cmp enc-later.digest actual &&
	srv unload-key zbackups/enc
'

test_expect_success KEYRING 'the keyless server sends on from its own bookmark' '
	srv pool create -m "$PWD/relay" zrelay &&
	srv send -w zbackups/enc@base | srv receive zrelay/enc &&
	srv destroy zbackups/enc@base &&
	srv send -w -i zbackups/enc#base zbackups/enc@later >relay.stream &&
	srv receive zrelay/enc <relay.stream &&
	srv list -H -t snapshot -o name zrelay/enc >actual &&
	printf "zrelay/enc@%s\n" base later >expect &&
	test_cmp expect actual &&
	srv pool scrub zrelay >out &&
	test_grep "with 0 errors" out
'

test_done
