#!/bin/bash
# shellcheck disable=SC2016,SC2317,SC2034,SC2283 # single-quoted bodies use the helpers and TAB
test_description='destroy: snapshots, ranges, lists, datasets, -r, -n -v

zfs destroy: DS@a%c is a range in creation order, DS@a,b a list; -n -v
says what would be destroyed and how much would be reclaimed and changes
nothing; a dataset with children needs -r; the pool root cannot be
destroyed; the live mountpoint directory is never touched.'

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

TAB=$(printf '\t')


# snaps DS NAME...: snapshots DS@NAME..., a file of DS changed before each.
snaps() {
	local ds=$1 mp s
	shift
	mp=$(snapseal get -H -o value mountpoint "$ds") || return 1
	for s in "$@"; do
		echo "$ds@$s" >>"$mp/file" &&
		snapseal snapshot "$ds@$s" || return 1
	done
}

# snap_names DS: the names after the @ of DS's snapshots, in order.
snap_names() {
	snapseal list -H -t snapshot -o name "$1" >snap_names.out 2>snap_names.err &&
	sed "s/^.*@//" snap_names.out
}

# state POOL: everything list can say about POOL, exactly (no AVAIL).
state() {
	snapseal list -H -p -t all -r -o name,guid,createtxg,used,referenced,written "$1"
}

# packs POOL: checksums of the pool's pack files.
packs() {
	find "$SNAPSEAL_HOME/$1/packs" -type f -exec sha256sum {} + >packs.tmp &&
	sort packs.tmp
}

test_expect_success 'setup' '
	mkdir mnt &&
	snapseal pool create -m "$PWD/mnt" tank &&
	snapseal create tank/r &&
	snaps tank/r s1 s2 s3 s4 s5 &&
	snap_names tank/r >actual &&
	printf "s1\ns2\ns3\ns4\ns5\n" >expect &&
	test_cmp expect actual
'

# ---------- dry runs ----------

test_expect_success 'destroy -nv of a snapshot says what and how much, changes nothing' '
	state tank >before &&
	packs tank >packs.before &&
	snapseal get -H -o value used tank/r@s1 >used &&
	snapseal destroy -nv tank/r@s1 >actual 2>err &&
	! test -s err &&
	cat >expect <<-EOF &&
	would destroy tank/r@s1
	would reclaim $(cat used)
	EOF
	test_cmp expect actual &&
	state tank >after &&
	test_cmp before after &&
	packs tank >packs.after &&
	test_cmp packs.before packs.after
'

test_expect_success 'destroy -nv of a range lists each snapshot in order' '
	state tank >before &&
	snapseal destroy -nv tank/r@s2%s4 >out &&
	head -n 3 out >actual &&
	cat >expect <<-EOF &&
	would destroy tank/r@s2
	would destroy tank/r@s3
	would destroy tank/r@s4
	EOF
	test_cmp expect actual &&
	tail -n 1 out >last &&
	test_grep -E "^would reclaim [0-9.]+[BKMGTPE]$" last &&
	test_line_count = 4 out &&
	state tank >after &&
	test_cmp before after
'

test_expect_success 'destroy -n without -v prints nothing' '
	state tank >before &&
	snapseal destroy -n tank/r@s1 >out 2>err &&
	! test -s out && ! test -s err &&
	state tank >after &&
	test_cmp before after
'

test_expect_success 'destroy -nvp prints parsable lines (destroy, reclaim)' '
	snapseal get -H -p -o value used tank/r@s1 >used &&
	snapseal destroy -nvp tank/r@s1 >actual &&
	printf "destroy\ttank/r@s1\nreclaim\t%s\n" "$(cat used)" >expect &&
	test_cmp expect actual
'

# ---------- snapshots: ranges and lists ----------

test_expect_success 'destroy DS@a%c destroys the range, ends included' '
	snapseal destroy -nv tank/r@s2%s4 >dry &&
	tail -n 1 dry >dry.reclaim &&
	snapseal destroy -v tank/r@s2%s4 >out 2>err &&
	! test -s err &&
	cat >expect <<-EOF &&
	will destroy tank/r@s2
	will destroy tank/r@s3
	will destroy tank/r@s4
	EOF
	head -n 3 out >actual &&
	test_cmp expect actual &&
	tail -n 1 out >reclaim &&
	sed "s/^would/will/" dry.reclaim >expect &&
	test_cmp expect reclaim &&
	snap_names tank/r >actual &&
	printf "s1\ns5\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'destroy DS@a,b destroys a list' '
	snapseal destroy tank/r@s1,s5 >out 2>err &&
	! test -s out && ! test -s err &&
	snapseal list -H -t snapshot -o name tank/r >out 2>err &&
	! test -s out &&
	snapseal list -H -p -o snapshot_count,used tank/r >actual &&
	printf "0\t0\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'destroy DS@a,c%d,f mixes ranges and names' '
	snapseal create tank/l &&
	snaps tank/l a b c d e f &&
	snapseal destroy tank/l@a,c%d,f &&
	snap_names tank/l >actual &&
	printf "b\ne\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'destroy DS@%b and DS@b%: open ranges' '
	snapseal create tank/o &&
	snaps tank/o p q r s t &&
	snapseal destroy tank/o@%q &&
	snap_names tank/o >actual &&
	printf "r\ns\nt\n" >expect &&
	test_cmp expect actual &&
	snapseal destroy tank/o@s% &&
	snap_names tank/o >actual &&
	echo r >expect &&
	test_cmp expect actual
'

test_expect_success 'a range follows creation order, not name order' '
	snapseal create tank/n &&
	snaps tank/n zz aa mm bb &&
	snapseal destroy -nv tank/n@aa%bb >out &&
	head -n 3 out >actual &&
	cat >expect <<-EOF &&
	would destroy tank/n@aa
	would destroy tank/n@mm
	would destroy tank/n@bb
	EOF
	test_cmp expect actual &&
	snapseal destroy tank/n@zz%aa &&
	snap_names tank/n >actual &&
	printf "mm\nbb\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'a reversed range is refused and destroys nothing' '
	state tank >before &&
	test_must_fail snapseal destroy tank/n@bb%mm >out 2>err &&
	! test -s out &&
	test_error err destroy tank/n@bb%mm "bb%mm" &&
	state tank >after &&
	test_cmp before after
'

test_expect_success 'a missing snapshot is refused and destroys nothing' '
	state tank >before &&
	test_must_fail snapseal destroy tank/n@nope 2>err &&
	test_error err destroy tank/n@nope "could not find any snapshots" &&
	test_must_fail snapseal destroy tank/n@mm%nope 2>err &&
	test_error err destroy tank/n@mm%nope "could not find" &&
	test_must_fail snapseal destroy tank/n@nope%bb 2>err &&
	test_error err destroy tank/n@nope%bb "could not find" &&
	state tank >after &&
	test_cmp before after
'

test_expect_success 'empty snapshot names are refused' '
	state tank >before &&
	test_must_fail snapseal destroy tank/n@ 2>err &&
	test_error err destroy tank/n@ "." &&
	test_must_fail snapseal destroy tank/n@mm,,bb 2>err &&
	test_error err destroy tank/n@mm,,bb "." &&
	state tank >after &&
	test_cmp before after
'

test_expect_success 'destroy -r DS@snap: that snapshot in the whole subtree' '
	snapseal create tank/rr &&
	snapseal create tank/rr/kid &&
	echo x >mnt/rr/file &&
	echo y >mnt/rr/kid/file &&
	snapseal snapshot -r tank/rr@x &&
	echo more >>mnt/rr/file &&
	echo more >>mnt/rr/kid/file &&
	snapseal snapshot -r tank/rr@y &&
	snapseal destroy -rnv tank/rr@x >out &&
	head -n 2 out >actual &&
	printf "would destroy tank/rr@x\nwould destroy tank/rr/kid@x\n" >expect &&
	test_cmp expect actual &&
	snapseal destroy -r tank/rr@x &&
	snapseal list -H -r -t snapshot -o name tank/rr >actual &&
	printf "tank/rr@y\ntank/rr/kid@y\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'destroy of a snapshot that frees nothing succeeds' '
	snapseal create tank/same &&
	echo same >mnt/same/file &&
	snapseal snapshot tank/same@one &&
	snapseal snapshot tank/same@two &&
	snapseal destroy -v tank/same@one >out &&
	test_grep "^will destroy tank/same@one$" out &&
	snap_names tank/same >actual &&
	echo two >expect &&
	test_cmp expect actual
'

# ---------- datasets ----------

test_expect_success 'setup: a subtree with snapshots and live files' '
	snapseal create tank/p &&
	snapseal create tank/p/k1 &&
	snapseal create tank/p/k1/g &&
	snapseal create tank/p/k2 &&
	sstool gen mnt/p/data 1 12 &&
	sstool gen mnt/p/k1/data 2 12 &&
	echo g >mnt/p/k1/g/file &&
	echo k2 >mnt/p/k2/file &&
	snapseal snapshot -r tank/p@one &&
	echo changed >>mnt/p/k1/g/file &&
	snapseal snapshot tank/p/k1/g@two &&
	sstool digest mnt/p >live.digest
'

test_expect_success 'a dataset with children needs -r, and the error names them' '
	state tank >before &&
	test_must_fail snapseal destroy tank/p >out 2>err &&
	! test -s out &&
	test_error err destroy tank/p "children" &&
	test_grep "tank/p/k1" err &&
	test_grep "tank/p/k1/g" err &&
	test_grep "tank/p/k2" err &&
	test_grep -e "-r" err &&
	state tank >after &&
	test_cmp before after
'

test_expect_success 'destroy -rnv names every dataset and changes nothing' '
	state tank >before &&
	packs tank >packs.before &&
	snapseal destroy -rnv tank/p >out &&
	grep "^would destroy " out >lines &&
	grep "@" -v lines >datasets &&
	sort datasets >actual &&
	cat >expect <<-EOF &&
	would destroy tank/p
	would destroy tank/p/k1
	would destroy tank/p/k1/g
	would destroy tank/p/k2
	EOF
	test_cmp expect actual &&
	tail -n 1 out >last &&
	test_grep -E "^would reclaim [0-9.]+[BKMGTPE]$" last &&
	state tank >after &&
	test_cmp before after &&
	packs tank >packs.after &&
	test_cmp packs.before packs.after &&
	sstool digest mnt/p >after.digest &&
	test_cmp live.digest after.digest
'

test_expect_success 'destroy -rnv names the snapshots too' '
	snapseal destroy -rnv tank/p >out &&
	grep "^would destroy .*@" out >lines &&
	sort lines >actual &&
	cat >expect <<-EOF &&
	would destroy tank/p/k1/g@one
	would destroy tank/p/k1/g@two
	would destroy tank/p/k1@one
	would destroy tank/p/k2@one
	would destroy tank/p@one
	EOF
	test_cmp expect actual
'

test_expect_success 'destroy -r removes the subtree and its snapshots' '
	snapseal destroy -r tank/p >out 2>err &&
	! test -s out && ! test -s err &&
	(
		for ds in tank/p tank/p/k1 tank/p/k1/g tank/p/k2
		do
			test_must_fail snapseal list "$ds" 2>err &&
			test_error err open "$ds" "dataset does not exist" || exit 1
		done
	) &&
	snapseal list -H -r -t all -o name tank >all &&
	test_grep ! "tank/p" all &&
	test_must_fail snapseal list tank/p@one 2>err
'

test_expect_success 'destroy -r left the live directories and files alone' '
	sstool digest mnt/p >after.digest &&
	test_cmp live.digest after.digest
'

test_expect_success 'destroy left the other datasets alone' '
	snap_names tank/l >actual &&
	printf "b\ne\n" >expect &&
	test_cmp expect actual &&
	snapseal list -H -r -t snapshot -o name tank/rr >actual &&
	printf "tank/rr@y\ntank/rr/kid@y\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'a destroyed dataset can be created again, with nothing in it' '
	snapseal create tank/p &&
	snapseal list -H -p -o name,snapshot_count,used tank/p >actual &&
	printf "tank/p\t0\t0\n" >expect &&
	test_cmp expect actual &&
	snapseal list -H -r -o name tank/p >actual &&
	echo tank/p >expect &&
	test_cmp expect actual
'

test_expect_success 'destroy of a dataset with snapshots needs -r (zfs: they are children)' '
	snapseal create tank/hs &&
	snaps tank/hs one two &&
	state tank >before &&
	test_must_fail snapseal destroy tank/hs >out 2>err &&
	test_grep "tank/hs@one" err &&
	state tank >after &&
	test_cmp before after
'

test_expect_success 'destroy -v of a dataset with snapshots' '
	snapseal create tank/v &&
	snaps tank/v one &&
	echo mine >mnt/v/extra &&
	sstool digest mnt/v >before.digest &&
	snapseal destroy -r -v tank/v >out &&
	test_grep "^will destroy tank/v$" out &&
	tail -n 1 out >last &&
	test_grep -E "^will reclaim [0-9.]+[BKMGTPE]$" last &&
	test_must_fail snapseal list tank/v 2>err &&
	sstool digest mnt/v >after.digest &&
	test_cmp before.digest after.digest
'

test_expect_success 'destroy of a dataset without snapshots keeps its directory' '
	snapseal create tank/empty &&
	echo mine >mnt/empty/file &&
	snapseal destroy tank/empty >out 2>err &&
	! test -s out && ! test -s err &&
	test_must_fail snapseal list tank/empty 2>err &&
	test_error err open tank/empty "dataset does not exist" &&
	echo mine >expect &&
	test_cmp expect mnt/empty/file
'

test_expect_success 'destroy of the pool root dataset is refused' '
	state tank >before &&
	test_must_fail snapseal destroy tank >out 2>err &&
	! test -s out &&
	test_error err destroy tank "pool" &&
	test_must_fail snapseal destroy -f tank 2>err &&
	test_error err destroy tank "pool" &&
	state tank >after &&
	test_cmp before after
'

test_expect_success 'destroy of something missing: dataset does not exist' '
	test_must_fail snapseal destroy tank/nope 2>err &&
	test_error err destroy tank/nope "^dataset does not exist$" &&
	test_must_fail snapseal destroy -r tank/nope 2>err &&
	test_error err destroy tank/nope "^dataset does not exist$" &&
	test_must_fail snapseal destroy tank/nope@x 2>err &&
	test_error err destroy tank/nope@x "^dataset does not exist$" &&
	test_must_fail snapseal destroy nopool/x 2>err &&
	test_error err destroy nopool/x "does not exist"
'

test_expect_success 'destroy of an invalid name is refused' '
	state tank >before &&
	test_must_fail snapseal destroy "tank//l" 2>err &&
	test_error err destroy "tank//l" "invalid" &&
	test_must_fail snapseal destroy "tank/l/" 2>err &&
	test_error err destroy "tank/l/" "invalid|trailing" &&
	state tank >after &&
	test_cmp before after
'

test_expect_success 'destroy usage errors exit 2' '
	state tank >before &&
	test_expect_code 2 snapseal destroy 2>err &&
	test_grep usage err &&
	test_expect_code 2 snapseal destroy tank/l tank/o 2>err &&
	test_expect_code 2 snapseal destroy -x tank/l 2>err &&
	state tank >after &&
	test_cmp before after
'

# ---------- space ----------

test_expect_success 'destroying the last snapshot gives the space back' '
	mkdir spmnt &&
	snapseal pool create -m "$PWD/spmnt" sp &&
	snapseal create sp/big &&
	sstool randfile spmnt/big/random 2M 1 random &&
	snapseal snapshot sp/big@one &&
	du -sk "$SNAPSEAL_HOME/sp/packs" >du.before &&
	kb_before=$(cut -f1 du.before) &&
	test "$kb_before" -ge 2048 &&
	snapseal get -H -p -o value used sp/big@one >used &&
	test "$(cat used)" -ge 2097152 &&
	snapseal destroy sp/big@one &&
	du -sk "$SNAPSEAL_HOME/sp/packs" >du.after &&
	kb_after=$(cut -f1 du.after) &&
	test $((kb_before - kb_after)) -ge 2000 &&
	snapseal get -H -p -o value used sp/big >actual &&
	echo 0 >expect &&
	test_cmp expect actual &&
	test -f spmnt/big/random
'

test_expect_success 'space shared with a kept snapshot is not reclaimed' '
	snapseal snapshot sp/big@two &&
	echo small >spmnt/big/small &&
	snapseal snapshot sp/big@three &&
	snapseal get -H -p -o value used sp/big@two >used &&
	test "$(cat used)" -lt 1048576 &&
	snapseal destroy sp/big@two &&
	snapseal get -H -p -o value referenced sp/big@three >ref &&
	test "$(cat ref)" -ge 2097152 &&
	snapseal restore sp/big@three restored &&
	cmp spmnt/big/random restored/random
'

# dry_each ARG...: snapseal ARG... (a dry run) into ./dry, and the same
# again with the dry run's table bounded to 8 to 256 slots, so that it
# goes on in the index at every point of the walk: the same output.
dry_each() {
	local n
	snapseal "$@" >dry || return 1
	for n in 8 16 32 64 128 256
	do
		SNAPSEAL_DRY_SLOTS=$n snapseal "$@" >dry.$n &&
		test_cmp dry dry.$n || return 1
	done
}

# USED and destroy -n count the references they would drop in memory;
# past a bounded table they go on in the index.  Either way the bytes
# must be exactly those a real destroy frees, with objects shared between
# snapshots and between datasets: ex/a/b's large file is ex/a's,
# deduplicated, and its space moves to ex/a/b once ex/a@1 and @2, which
# shared it, are gone.
test_expect_success 'USED and destroy -n are exactly what destroy frees' '
	mkdir exmnt &&
	snapseal pool create -m "$PWD/exmnt" ex &&
	snapseal create ex/a &&
	snapseal create ex/a/b &&
	sstool randfile exmnt/a/big 3M ex-big random &&
	sstool randfile exmnt/a/smalls 100K ex-small random &&
	(cd exmnt/a && split -b 2000 smalls s && rm smalls) &&
	cp exmnt/a/big exmnt/a/b/big &&
	snapseal snapshot -r ex/a@1 &&
	sstool randfile exmnt/a/more 1M ex-more random &&
	cat exmnt/a/more >>exmnt/a/big &&
	sstool randfile exmnt/a/others 80K ex-others random &&
	(cd exmnt/a && split -b 2000 others t && rm others) &&
	snapseal snapshot -r ex/a@2 &&
	rm exmnt/a/saa exmnt/a/taa &&
	snapseal snapshot ex/a@3 &&
	dry_each get -H -p -o value used ex/a/b &&
	test "$(cat dry)" -lt 100000 &&
	dry_each get -H -p -o value used ex/a &&
	test "$(cat dry)" -gt 4000000 &&
	dry_each destroy -nvp ex/a@1%2 &&
	snapseal destroy -vp ex/a@1%2 >real &&
	test_cmp dry real &&
	tail -n 1 real >reclaim &&
	test_grep -E "^reclaim${TAB}[0-9]{4,}$" reclaim &&
	dry_each get -H -p -o value used ex/a/b &&
	mv dry used.b &&
	test "$(cat used.b)" -gt 100000 &&
	dry_each destroy -rnvp ex/a/b &&
	printf "reclaim\t%s\n" "$(cat used.b)" >expect &&
	tail -n 1 dry >actual &&
	test_cmp expect actual &&
	snapseal destroy -rvp ex/a/b >real &&
	test_cmp dry real &&
	dry_each get -H -p -o value used ex/a &&
	mv dry used.a &&
	dry_each destroy -rnvp ex/a &&
	printf "reclaim\t%s\n" "$(cat used.a)" >expect &&
	tail -n 1 dry >actual &&
	test_cmp expect actual &&
	snapseal destroy -rvp ex/a >real &&
	test_cmp dry real &&
	snapseal list -H -p -o used ex >actual &&
	echo 0 >expect &&
	test_cmp expect actual
'

# ---------- the count of objects per pack ----------

test_lazy_prereq SQLITE3 'sqlite3 -version'

# catalog POOL SQL: run SQL on POOL's catalog.
catalog() {
	sqlite3 "$SNAPSEAL_HOME/$1/catalog.db" "$2"
}
# counted POOL: each pack holding objects and how many, by a scan.
counted() {
	catalog "$1" "SELECT printf('%016x', pack), count(*) FROM objects
		GROUP BY pack ORDER BY 1"
}
# kept POOL: the same from the packs table the catalog keeps.
kept() {
	catalog "$1" "SELECT printf('%016x', pack), live FROM packs ORDER BY 1"
}
# pack_files POOL: the numbers of POOL's pack files.
pack_files() {
	find "$SNAPSEAL_HOME/$1/packs" -name "*.pack" >pack_files.tmp &&
	sed "s|.*/||; s|[.]pack\$||" pack_files.tmp | sort
}
# packs_agree POOL: the table, a scan of the index and the files agree.
packs_agree() {
	counted "$1" >counted.out &&
	kept "$1" >kept.out &&
	test_cmp counted.out kept.out &&
	cut -d"|" -f1 counted.out >expect.files &&
	pack_files "$1" >actual.files &&
	test_cmp expect.files actual.files
}

test_expect_success SQLITE3 'each pack counts its objects; an emptied pack is deleted' '
	mkdir pcmnt &&
	snapseal pool create -m "$PWD/pcmnt" pc &&
	snapseal create pc/d &&
	sstool randfile pcmnt/d/a 3M 1 random &&
	snapseal snapshot pc/d@one &&
	sstool randfile pcmnt/d/a 3M 2 random &&
	snapseal snapshot pc/d@two &&
	packs_agree pc &&
	pack_files pc >files.two &&
	snapseal destroy pc/d@one &&
	packs_agree pc &&
	pack_files pc >files.after &&
	test $(wc -l <files.after) -lt $(wc -l <files.two) &&
	snapseal restore pc/d@two pcrestored &&
	cmp pcmnt/d/a pcrestored/a
'

test_expect_success SQLITE3 'a wrong count never deletes a pack that holds objects' '
	catalog pc "DELETE FROM packs" &&
	echo more >pcmnt/d/b &&
	snapseal snapshot pc/d@three 2>err.wrong &&
	grep "warning: the catalog miscounted the objects of [1-9][0-9]* pack(s); counted again" err.wrong &&
	packs_agree pc &&
	catalog pc "UPDATE packs SET live = 0" &&
	snapseal destroy pc/d@two 2>err.zero &&
	grep "miscounted" err.zero &&
	packs_agree pc &&
	snapseal restore pc/d@three pcrestored3 &&
	cmp pcmnt/d/a pcrestored3/a &&
	snapseal pool scrub pc
'

test_expect_success SQLITE3 'a catalog indexing objects by pack (older) is brought up to date' '
	catalog pc "DROP TRIGGER objects_add; DROP TRIGGER objects_del;
		DROP TRIGGER objects_move; DROP TABLE packs;
		CREATE INDEX objects_pack ON objects(pack)" &&
	snapseal list pc >/dev/null &&
	catalog pc "SELECT name FROM sqlite_schema
		WHERE tbl_name IN (\"objects\", \"packs\") ORDER BY name" >actual &&
	printf "objects\nobjects_add\nobjects_del\nobjects_move\npacks\n" >expect &&
	test_cmp expect actual &&
	packs_agree pc &&
	sstool randfile pcmnt/d/a 3M 3 random &&
	snapseal snapshot pc/d@four &&
	packs_agree pc &&
	snapseal destroy pc/d@three &&
	packs_agree pc &&
	snapseal restore pc/d@four pcrestored4 &&
	cmp pcmnt/d/a pcrestored4/a
'

# ---------- without the key ----------

test_expect_success KEYRING 'snapshots of an encrypted dataset are destroyed without its key' '
	head -c 32 /dev/urandom >key &&
	snapseal create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/key" tank/enc &&
	snaps tank/enc one two three &&
	snapseal unload-key tank/enc &&
	snapseal get -H -o value keystatus tank/enc >actual &&
	echo unavailable >expect &&
	test_cmp expect actual &&
	snapseal get -H -o value used tank/enc@one >used &&
	snapseal destroy -v tank/enc@one >out &&
	printf "will destroy tank/enc@one\nwill reclaim %s\n" "$(cat used)" >expect &&
	test_cmp expect out &&
	snap_names tank/enc >actual &&
	printf "two\nthree\n" >expect &&
	test_cmp expect actual &&
	snapseal destroy -r tank/enc &&
	test_must_fail snapseal list tank/enc 2>err &&
	test_error err open tank/enc "dataset does not exist"
'

test_done
