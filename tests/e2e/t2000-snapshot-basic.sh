#!/bin/bash
# shellcheck disable=SC2016,SC2317 # single-quoted bodies call the helpers
test_description='snapshot and restore: the basics

A snapshot of an encrypted and of a plain dataset restores bit for bit;
restore creates its target (with the root metadata of the snapshot),
refuses to overwrite anything; snapshots need the key, restore -l loads it.'

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# prop PROP NAME: the parsable value of one property.
prop() {
	snapseal get -H -p -o value "$1" "$2"
}

# ensure_loaded DS: load the key of DS unless it is loaded already.
ensure_loaded() {
	test "$(prop keystatus "$1")" = available ||
	snapseal load-key "$1"
}

# digest_noroot DIR: the digest without the line of the root itself.
digest_noroot() {
	sstool digest "$1" >digest.tmp &&
	sed 1d digest.tmp
}

test_expect_success 'setup: a pool, an encrypted and a plain dataset' '
	snapseal pool create -m "$PWD/mnt" tank &&
	head -c 32 /dev/urandom >key &&
	snapseal create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/key" tank/enc &&
	snapseal create tank/plain &&
	test -d mnt/enc &&
	test -d mnt/plain &&
	test "$(prop keystatus tank/enc)" = available
'

for ds in enc plain; do

test_expect_success "$ds: a generated tree restores bit for bit, root included" '
	sstool gen mnt/$ds "basic-$ds" 200 &&
	chmod 0750 mnt/$ds &&
	touch -d @1500000000.987654321 mnt/$ds &&
	sstool digest mnt/$ds >s1-$ds.digest &&
	snapseal snapshot tank/$ds@s1 &&
	snapseal restore tank/$ds@s1 out-$ds &&
	sstool digest out-$ds >actual &&
	test_cmp s1-$ds.digest actual
'

test_expect_success "$ds: taking a snapshot does not change the live directory" '
	sstool digest mnt/$ds >actual &&
	test_cmp s1-$ds.digest actual
'

test_expect_success "$ds: restore creates missing parents of TARGET, and nothing else beside it" '
	snapseal restore tank/$ds@s1 deep-$ds/a/b/ &&
	sstool digest deep-$ds/a/b >actual &&
	test_cmp s1-$ds.digest actual &&
	ls -A deep-$ds/a >actual &&
	echo b >expect &&
	test_cmp expect actual
'

test_expect_success "$ds: restore into an existing empty directory fills it, keeps its mode" '
	mkdir into-$ds &&
	chmod 0711 into-$ds &&
	snapseal restore tank/$ds@s1 into-$ds &&
	sed 1d s1-$ds.digest >expect &&
	digest_noroot into-$ds >actual &&
	test_cmp expect actual &&
	test "$(stat -c %a into-$ds)" = 711
'

test_expect_success "$ds: restore refuses a name that exists in TARGET, and keeps it" '
	name=$(cd mnt/$ds && find . -mindepth 1 -maxdepth 1 -type f | sed -n "s|^\./||p" | sort | head -n 1) &&
	test -n "$name" &&
	mkdir clash-$ds &&
	echo mine >"clash-$ds/$name" &&
	test_must_fail snapseal restore tank/$ds@s1 clash-$ds 2>err &&
	test_grep "already exists" err &&
	test_grep -F "$name" err &&
	echo mine >expect &&
	test_cmp expect "clash-$ds/$name"
'

test_expect_success "$ds: restore merges into an existing directory, keeping its files" '
	dir=$(cd mnt/$ds && find . -mindepth 1 -maxdepth 1 -type d | sed -n "s|^\./||p" | sort | head -n 1) &&
	test -n "$dir" &&
	mkdir -p "dclash-$ds/$dir" &&
	echo mine >"dclash-$ds/$dir/zzz-not-in-snapshot" &&
	snapseal restore tank/$ds@s1 dclash-$ds &&
	echo mine >expect &&
	test_cmp expect "dclash-$ds/$dir/zzz-not-in-snapshot" &&
	rm "dclash-$ds/$dir/zzz-not-in-snapshot" &&
	touch -r "mnt/$ds/$dir" "dclash-$ds/$dir" &&
	sed 1d s1-$ds.digest >expect &&
	digest_noroot dclash-$ds >actual &&
	test_cmp expect actual
'

test_expect_success "$ds: restore onto a TARGET that is a file fails and keeps it" '
	echo file >tfile-$ds &&
	test_must_fail snapseal restore tank/$ds@s1 tfile-$ds 2>err &&
	test -s err &&
	echo file >expect &&
	test_cmp expect tfile-$ds
'

test_expect_success "$ds: restore of a missing snapshot fails and creates nothing" '
	test_must_fail snapseal restore tank/$ds@nosuch none-$ds 2>err &&
	test_grep "does not exist" err &&
	test_line_count = 1 err &&
	! test -e none-$ds
'

test_expect_success "$ds: a second snapshot of the same name is refused" '
	test_must_fail snapseal snapshot tank/$ds@s1 2>err &&
	test_grep "exists" err &&
	snapseal list -H -o name -t snapshot tank/$ds >actual &&
	echo tank/$ds@s1 >expect &&
	test_cmp expect actual
'

test_expect_success "$ds: a later snapshot sees the change, the earlier one does not" '
	echo changed >>"mnt/$ds/$name" &&
	echo new >mnt/$ds/new-file &&
	sstool digest mnt/$ds >s2-$ds.digest &&
	snapseal snapshot tank/$ds@s2 &&
	snapseal restore tank/$ds@s2 s2-$ds &&
	snapseal restore tank/$ds@s1 s1-$ds &&
	sstool digest s2-$ds >actual &&
	test_cmp s2-$ds.digest actual &&
	sstool digest s1-$ds >actual &&
	test_cmp s1-$ds.digest actual
'

done

test_expect_success 'snapshot of several datasets in one command' '
	snapseal snapshot tank/enc@both tank/plain@both &&
	snapseal list -H -o name -t snapshot tank/enc tank/plain >actual &&
	cat >expect <<-\EOF &&
	tank/enc@s1
	tank/enc@s2
	tank/enc@both
	tank/plain@s1
	tank/plain@s2
	tank/plain@both
	EOF
	test_cmp expect actual
'

test_expect_success 'snapshot of a missing dataset fails and makes nothing' '
	test_must_fail snapseal snapshot tank/nosuch@x 2>err &&
	test_grep "does not exist" err &&
	test_must_fail snapseal snapshot tank/enc@x tank/nosuch@x 2>err &&
	test_must_fail snapseal list tank/enc@x
'

test_expect_success 'a snapshot without @ or with a bad name is refused' '
	snapseal list -H -o name -t snapshot tank/enc >expect &&
	test_must_fail snapseal snapshot tank/enc 2>err &&
	test -s err &&
	test_must_fail snapseal snapshot "tank/enc@a*b" 2>err &&
	test -s err &&
	test_must_fail snapseal snapshot "tank/enc@" 2>err &&
	test -s err &&
	snapseal list -H -o name -t snapshot tank/enc >actual &&
	test_cmp expect actual
'

test_expect_success 'the restored tree of each snapshot of enc and plain is its own' '
	snapseal restore tank/enc@both both-enc &&
	snapseal restore tank/plain@both both-plain &&
	sstool digest both-enc >actual &&
	test_cmp s2-enc.digest actual &&
	sstool digest both-plain >actual &&
	test_cmp s2-plain.digest actual
'

# An empty live directory (and any empty directory) must be captured.
for ds in enc plain; do
test_expect_success "$ds: an empty dataset snapshots and restores as an empty directory" '
	if test $ds = enc
	then
		snapseal create -o encryption=on -o keyformat=raw \
			-o keylocation="file://$PWD/key" tank/empty-$ds
	else
		snapseal create tank/empty-$ds
	fi &&
	test -d mnt/empty-$ds &&
	snapseal snapshot tank/empty-$ds@empty &&
	snapseal restore tank/empty-$ds@empty empty-$ds &&
	test -d empty-$ds &&
	test -z "$(ls -A empty-$ds)" &&
	sstool digest mnt/empty-$ds >expect &&
	sstool digest empty-$ds >actual &&
	test_cmp expect actual
'

test_expect_success "$ds: an empty subdirectory is kept" '
	mkdir -p mnt/empty-$ds/hollow/inner &&
	echo x >mnt/empty-$ds/file &&
	touch -d @1600000000.5 mnt/empty-$ds/hollow/inner mnt/empty-$ds/hollow &&
	sstool digest mnt/empty-$ds >expect &&
	snapseal snapshot tank/empty-$ds@hollow &&
	snapseal restore tank/empty-$ds@hollow hollow-$ds &&
	sstool digest hollow-$ds >actual &&
	test_cmp expect actual
'
done

# ---------- keys ----------

test_expect_success KEYRING 'unload-key: the key is gone' '
	snapseal unload-key tank/enc &&
	test "$(prop keystatus tank/enc)" = unavailable
'

test_expect_success KEYRING 'snapshot without the key: "key not loaded", no snapshot' '
	test_must_fail snapseal snapshot tank/enc@nokey 2>err &&
	test_grep "key not loaded" err &&
	test_line_count = 1 err &&
	test_must_fail snapseal list tank/enc@nokey
'

test_expect_success KEYRING 'restore without the key: "key not loaded", nothing written' '
	test_must_fail snapseal restore tank/enc@s1 nokey 2>err &&
	test_grep "key not loaded" err &&
	test_line_count = 1 err &&
	! test -e nokey
'

test_expect_success KEYRING 'rollback without the key: "key not loaded", live dir kept' '
	sstool digest mnt/enc >expect &&
	test_must_fail snapseal rollback tank/enc@both 2>err &&
	test_grep "key not loaded" err &&
	sstool digest mnt/enc >actual &&
	test_cmp expect actual
'

test_expect_success KEYRING 'a plain dataset needs no key' '
	snapseal snapshot tank/plain@while-unloaded &&
	snapseal restore tank/plain@while-unloaded pu &&
	sstool digest pu >actual &&
	test_cmp s2-plain.digest actual
'

test_expect_success KEYRING 'restore -l loads the key and restores' '
	snapseal restore -l tank/enc@s1 withkey &&
	test "$(prop keystatus tank/enc)" = available &&
	sstool digest withkey >actual &&
	test_cmp s1-enc.digest actual
'

test_expect_success KEYRING 'rollback -l loads the key' '
	if test "$(prop keystatus tank/enc)" = available
	then
		snapseal unload-key tank/enc
	fi &&
	test "$(prop keystatus tank/enc)" = unavailable &&
	echo extra >mnt/enc/extra &&
	snapseal rollback -l tank/enc@both &&
	test "$(prop keystatus tank/enc)" = available &&
	sstool digest mnt/enc >actual &&
	test_cmp s2-enc.digest actual
'

test_expect_success KEYRING 'snapshot -l loads the key and snapshots' '
	test_when_finished "ensure_loaded tank/enc" &&
	snapseal unload-key tank/enc &&
	snapseal snapshot -l tank/enc@loaded &&
	test "$(prop keystatus tank/enc)" = available &&
	snapseal restore tank/enc@loaded loaded &&
	sstool digest loaded >actual &&
	test_cmp s2-enc.digest actual
'

test_expect_success KEYRING 'load-key then snapshot works again' '
	snapseal unload-key tank/enc &&
	snapseal load-key tank/enc &&
	snapseal snapshot tank/enc@reloaded &&
	snapseal restore tank/enc@reloaded reloaded &&
	sstool digest reloaded >actual &&
	test_cmp s2-enc.digest actual
'

test_expect_success KEYRING 'the wrong key file: restore fails, nothing written' '
	snapseal unload-key tank/enc &&
	head -c 32 /dev/urandom >wrongkey &&
	test_must_fail snapseal load-key -L "file://$PWD/wrongkey" tank/enc 2>err &&
	test -s err &&
	test "$(prop keystatus tank/enc)" = unavailable &&
	test_must_fail snapseal restore tank/enc@s1 wrong 2>err &&
	! test -e wrong &&
	snapseal load-key tank/enc
'

test_done
