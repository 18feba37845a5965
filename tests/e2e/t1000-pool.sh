#!/bin/bash
# shellcheck disable=SC2016,SC2317,SC2034,SC2283 # single-quoted bodies use the helpers and TAB
test_description='pool create, list and destroy (zpool create/list/destroy)

A pool is a directory in $SNAPSEAL_HOME (or elsewhere with -d, registered by
a symlink); its root dataset carries the pool name.  pool destroy removes the
pool and nothing else, and refuses while snapshots exist unless -f.'

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

TAB=$(printf '\t')


# home_entries: what $SNAPSEAL_HOME holds, one name a line, dotfiles too.
home_entries() {
	ls -A "$SNAPSEAL_HOME"
}

test_expect_success 'pool list with no pools says so on stderr' '
	snapseal pool list >out 2>err &&
	echo "no pools available" >expect &&
	test_cmp expect err &&
	! test -s out
'

test_expect_success 'pool create makes a directory in SNAPSEAL_HOME' '
	snapseal pool create tank >out 2>err &&
	! test -s out && ! test -s err &&
	test -d "$SNAPSEAL_HOME/tank" &&
	! test -L "$SNAPSEAL_HOME/tank" &&
	test -f "$SNAPSEAL_HOME/tank/snapseal-pool" &&
	echo tank >expect &&
	home_entries >actual &&
	test_cmp expect actual
'

test_expect_success 'the root dataset has the pool name and mountpoint /NAME' '
	snapseal list -H -o name,type >actual &&
	printf "tank\tfilesystem\n" >expect &&
	test_cmp expect actual &&
	snapseal get -H mountpoint tank >actual &&
	printf "tank\tmountpoint\t/tank\tdefault\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'pool create -m sets the root mountpoint locally' '
	mkdir mnt &&
	snapseal pool create -m "$PWD/mnt" mpool &&
	snapseal get -H -o value,source mountpoint mpool >actual &&
	printf "%s\tlocal\n" "$PWD/mnt" >expect &&
	test_cmp expect actual
'

test_expect_success 'pool create of an existing pool fails and keeps it' '
	snapseal list -H -p -o name,guid,createtxg tank >before &&
	test_must_fail snapseal pool create tank >out 2>err &&
	! test -s out &&
	test_error err "create pool" tank "already exists" &&
	test_must_fail snapseal pool create -m "$PWD/mnt" tank 2>err &&
	test_error err "create pool" tank "already exists" &&
	snapseal list -H -p -o name,guid,createtxg tank >after &&
	test_cmp before after &&
	snapseal get -H -o value mountpoint tank >actual &&
	echo /tank >expect &&
	test_cmp expect actual
'

test_expect_success 'pool create refuses a relative mountpoint and creates nothing' '
	home_entries >before &&
	test_must_fail snapseal pool create -m relative/dir rel 2>err &&
	test_error err "create pool" rel "absolute" &&
	home_entries >after &&
	test_cmp before after &&
	! test -e relative
'

test_expect_success 'pool create refuses invalid pool names' '
	home_entries >before &&
	(
		for n in "" "a/b" "a@b" "a#b" "a b" "a*b" "a/" "-x" "tank/sub"
		do
			test_must_fail snapseal pool create -- "$n" 2>err &&
			test_error err "create pool" "$n" "invalid" || exit 1
		done
	) &&
	home_entries >after &&
	test_cmp before after
'

test_expect_success 'pool names must begin with a letter (a dot-name would be invisible)' '
	test_when_finished "(cd \"\$SNAPSEAL_HOME\" && rm -rf .hidden 1abc _x :x)" &&
	home_entries >before &&
	(
		for n in .hidden 1abc _x :x
		do
			test_must_fail snapseal pool create -- "$n" 2>err &&
			test_error err "create pool" "$n" "invalid" || exit 1
		done
	) &&
	home_entries >after &&
	test_cmp before after
'

test_expect_success 'pool create usage errors exit 2' '
	test_expect_code 2 snapseal pool 2>err &&
	test_grep "usage" err &&
	test_expect_code 2 snapseal pool frobnicate 2>err &&
	test_grep "frobnicate" err &&
	test_expect_code 2 snapseal pool create 2>err &&
	test_expect_code 2 snapseal pool create a b 2>err &&
	test_expect_code 2 snapseal pool create -x a 2>err &&
	test_expect_code 2 snapseal pool destroy 2>err &&
	test_expect_code 2 snapseal pool destroy a b 2>err &&
	test_expect_code 2 snapseal pool list -x 2>err &&
	home_entries >actual &&
	printf "mpool\ntank\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'pool create -d puts the pool in DIR, registered by a symlink' '
	snapseal pool create -d "$PWD/elsewhere" -m "$PWD/mnt" far &&
	test -f elsewhere/snapseal-pool &&
	test -L "$SNAPSEAL_HOME/far" &&
	test "$(readlink "$SNAPSEAL_HOME/far")" = "$PWD/elsewhere" &&
	snapseal list -H -o name far >actual &&
	echo far >expect &&
	test_cmp expect actual
'

test_expect_success 'pool create -d accepts an existing empty directory' '
	mkdir empty &&
	snapseal pool create -d empty -m "$PWD/mnt" emp &&
	test -f empty/snapseal-pool &&
	test "$(readlink "$SNAPSEAL_HOME/emp")" = "$PWD/empty"
'

test_expect_success 'pool create -d refuses a directory that is not empty' '
	mkdir full &&
	echo precious >full/file &&
	(cd full && ls -A) >before &&
	home_entries >hbefore &&
	test_must_fail snapseal pool create -d full -m "$PWD/mnt" nope 2>err &&
	test_error err "create pool" nope "not empty" &&
	(cd full && ls -A) >after &&
	test_cmp before after &&
	echo precious >expect &&
	test_cmp expect full/file &&
	home_entries >hafter &&
	test_cmp hbefore hafter
'

test_expect_success 'pool list shows every pool, sorted, with its directory' '
	snapseal pool list -H >out &&
	cut -f1,6,7 out >actual &&
	cat >expect <<-EOF &&
	emp${TAB}ONLINE${TAB}$PWD/empty
	far${TAB}ONLINE${TAB}$PWD/elsewhere
	mpool${TAB}ONLINE${TAB}$SNAPSEAL_HOME/mpool
	tank${TAB}ONLINE${TAB}$SNAPSEAL_HOME/tank
	EOF
	test_cmp expect actual &&
	awk -F"\t" "NF != 7" out >bad &&
	! test -s bad
'

test_expect_success 'pool list has a header line without -H' '
	snapseal pool list >out &&
	head -n 1 out >hdr &&
	test_grep -E "^NAME +SIZE +ALLOC +FREE +CAP +HEALTH +DIRECTORY$" hdr &&
	test_line_count = 5 out &&
	test_grep -E "^tank +[0-9.]+[BKMGTPE] +[0-9.]+[BKMGTPE] +[0-9.]+[BKMGTPE] +[0-9]+% +ONLINE +/" out
'

test_expect_success 'pool list -p prints exact byte counts' '
	snapseal pool list -H -p tank >out &&
	test_line_count = 1 out &&
	cut -f2-4 out >sizes &&
	test_grep -E "^[0-9]+${TAB}[0-9]+${TAB}[0-9]+$" sizes &&
	size=$(cut -f1 sizes) && alloc=$(cut -f2 sizes) && free=$(cut -f3 sizes) &&
	test "$alloc" -gt 0 &&
	test "$size" -ge "$alloc"
'

test_expect_success 'pool list NAME... shows only those pools, in that order' '
	snapseal pool list -H tank far >out &&
	cut -f1 out >actual &&
	printf "tank\nfar\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'pool list of a pool that does not exist fails' '
	test_must_fail snapseal pool list -H nosuch >out 2>err &&
	test_grep "nosuch" err &&
	test_grep "no such pool" err &&
	! test -s out
'

test_expect_success 'pool destroy removes the directory' '
	snapseal pool destroy mpool >out 2>err &&
	! test -s out && ! test -s err &&
	! test -e "$SNAPSEAL_HOME/mpool" &&
	snapseal pool list -H >out &&
	test_grep ! "^mpool" out &&
	test_must_fail snapseal list mpool 2>err &&
	test_error err open mpool "dataset does not exist"
'

test_expect_success 'pool destroy of a -d pool removes DIR and the registry symlink' '
	snapseal pool destroy far &&
	! test -e elsewhere &&
	! test -e "$SNAPSEAL_HOME/far" &&
	! test -L "$SNAPSEAL_HOME/far" &&
	snapseal pool destroy emp &&
	! test -e empty &&
	! test -L "$SNAPSEAL_HOME/emp" &&
	home_entries >actual &&
	echo tank >expect &&
	test_cmp expect actual
'

test_expect_success 'a destroyed pool name can be created again' '
	snapseal pool create -m "$PWD/mnt" mpool &&
	snapseal list -H -o name mpool >actual &&
	echo mpool >expect &&
	test_cmp expect actual
'

test_expect_success 'pool destroy of a pool that does not exist fails' '
	test_must_fail snapseal pool destroy nosuch 2>err &&
	test_error err "destroy pool" nosuch "no such pool" &&
	test_must_fail snapseal pool destroy -f nosuch 2>err &&
	test_error err "destroy pool" nosuch "no such pool"
'

test_lazy_prereq SQLITE3 'sqlite3 -version'

# The last process to close a catalog holds it exclusively while it
# checkpoints; a command opening it then must wait, not fall back to the
# read-only open meant for read-only file systems (whose writes fail with
# "attempt to write a readonly database").
test_expect_success SQLITE3 'a catalog another process holds is waited for, not opened read-only' '
	mkdir heldmnt &&
	snapseal pool create -m "$PWD/heldmnt" held &&
	snapseal create held/d &&
	echo one >heldmnt/d/f &&
	(
		echo "PRAGMA locking_mode=EXCLUSIVE;" &&
		echo "SELECT count(*) FROM meta;" &&
		echo ".shell touch locked" &&
		sleep 3
	) | sqlite3 "$SNAPSEAL_HOME/held/catalog.db" >/dev/null &
	holder=$! &&
	for i in $(seq 100); do test -f locked && break; sleep 0.05; done &&
	test -f locked &&
	snapseal snapshot held/d@while &&
	wait $holder &&
	snapseal list -H -o name -t snapshot held/d >actual &&
	echo held/d@while >expect &&
	test_cmp expect actual
'

test_expect_success 'setup: a pool holding snapshots' '
	mkdir snapmnt &&
	snapseal pool create -m "$PWD/snapmnt" sp &&
	snapseal create sp/data &&
	sstool gen snapmnt/data 1 20 &&
	echo root file >snapmnt/top &&
	snapseal snapshot sp@one &&
	snapseal snapshot sp/data@one &&
	snapseal snapshot sp/data@two &&
	sstool digest snapmnt >live.digest
'

test_expect_success 'pool destroy refuses while the pool holds snapshots' '
	snapseal list -H -p -t all -r -o name,guid sp >before &&
	test_must_fail snapseal pool destroy sp >out 2>err &&
	! test -s out &&
	test_error err "destroy pool" sp "3 snapshots" &&
	test_grep -e "-f" err &&
	test -f "$SNAPSEAL_HOME/sp/snapseal-pool" &&
	snapseal list -H -p -t all -r -o name,guid sp >after &&
	test_cmp before after
'

test_expect_success 'pool destroy -f destroys it, leaving the live directories alone' '
	snapseal pool destroy -f sp &&
	! test -e "$SNAPSEAL_HOME/sp" &&
	test_must_fail snapseal list sp 2>err &&
	test_error err open sp "dataset does not exist" &&
	sstool digest snapmnt >after.digest &&
	test_cmp live.digest after.digest
'

test_expect_success 'pool destroy without snapshots leaves the mountpoints alone' '
	mkdir livemnt &&
	echo mine >livemnt/file &&
	snapseal pool create -m "$PWD/livemnt" lp &&
	snapseal create lp/sub &&
	echo also mine >livemnt/sub/file &&
	sstool digest livemnt >before &&
	snapseal pool destroy lp &&
	! test -e "$SNAPSEAL_HOME/lp" &&
	sstool digest livemnt >after &&
	test_cmp before after
'

test_expect_success KEYRING 'a refused pool destroy leaves loaded keys loaded' '
	head -c 32 /dev/urandom >key &&
	mkdir emnt &&
	snapseal pool create -m "$PWD/emnt" ep &&
	snapseal create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/key" ep/enc &&
	echo secret >emnt/enc/file &&
	snapseal snapshot ep/enc@one &&
	snapseal get -H -o value keystatus ep/enc >actual &&
	echo available >expect &&
	test_cmp expect actual &&
	test_must_fail snapseal pool destroy ep 2>err &&
	test_error err "destroy pool" ep "snapshot" &&
	snapseal get -H -o value keystatus ep/enc >actual &&
	test_cmp expect actual
'

test_done
