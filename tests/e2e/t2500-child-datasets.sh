#!/bin/bash
# shellcheck disable=SC2016,SC2317 # single-quoted bodies call the helpers
test_description='child datasets are separate filesystems

A snapshot of a dataset does not descend into the mountpoint of a child
(or of any other dataset, or another filesystem): it comes back as an
empty directory.  snapshot -r snapshots every dataset of the subtree,
atomically.'

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# prop PROP NAME: the parsable value of one property.
prop() {
	snapseal get -H -p -o value "$1" "$2"
}

# without_sub DIGEST SUB: DIGEST without the entries below SUB (SUB's own
# line is kept: the mountpoint directory itself belongs to the parent).
without_sub() {
	grep -v "^$2/" "$1"
}

test_lazy_prereq MOUNT 'mkdir m && mount -t tmpfs none m && umount m'

test_expect_success 'setup: datasets and children with files' '
	snapseal pool create -m "$PWD/mnt" tank &&
	head -c 32 /dev/urandom >key &&
	snapseal create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/key" tank/enc &&
	snapseal create tank/enc/child &&
	snapseal create tank/enc/child/grand &&
	snapseal create tank/plain &&
	snapseal create tank/plain/pc &&
	test -d mnt/enc/child/grand &&
	test -d mnt/plain/pc &&
	echo root >mnt/root-file &&
	sstool gen mnt/enc/own enc 30 &&
	sstool gen mnt/enc/child/own child 30 &&
	echo grand >mnt/enc/child/grand/g &&
	sstool gen mnt/plain/own plain 30 &&
	echo pc >mnt/plain/pc/f &&
	test "$(prop encryptionroot tank/enc/child)" = tank/enc &&
	test "$(prop encryptionroot tank/enc/child/grand)" = tank/enc
'

for ds in enc plain; do
	case $ds in enc) child=child ;; plain) child=pc ;; esac

test_expect_success "$ds: a snapshot does not include the child's files" '
	sstool digest mnt/$ds >live-$ds &&
	snapseal snapshot tank/$ds@s &&
	snapseal restore tank/$ds@s r-$ds &&
	test -d r-$ds/$child &&
	test -z "$(ls -A r-$ds/$child)" &&
	sstool digest r-$ds >actual &&
	without_sub live-$ds $child >expect &&
	test_cmp expect actual
'

test_expect_success "$ds: restore -v does not list the child's files" '
	snapseal restore -v tank/$ds@s rv-$ds >out &&
	test_grep "own/" out &&
	test_grep ! "$child/" out
'

done

test_expect_success 'the child snapshot has its files but not the grandchild'\''s' '
	sstool digest mnt/enc/child >live-child &&
	snapseal snapshot tank/enc/child@s &&
	snapseal restore tank/enc/child@s r-child &&
	without_sub live-child grand >expect &&
	sstool digest r-child >actual &&
	test_cmp expect actual &&
	test -d r-child/grand &&
	test -z "$(ls -A r-child/grand)"
'

test_expect_success 'the pool root dataset does not include its children either' '
	snapseal snapshot tank@s &&
	snapseal restore tank@s r-tank &&
	test "$(cat r-tank/root-file)" = root &&
	test -z "$(ls -A r-tank/enc)" &&
	test -z "$(ls -A r-tank/plain)"
'

test_expect_success 'snapshot -r snapshots every dataset of the subtree' '
	snapseal snapshot -r tank@r &&
	snapseal list -H -o name -t snapshot -r tank >all &&
	grep "@r\$" all | sort >actual &&
	sort >expect <<-\EOF &&
	tank@r
	tank/enc@r
	tank/enc/child@r
	tank/enc/child/grand@r
	tank/plain@r
	tank/plain/pc@r
	EOF
	test_cmp expect actual
'

test_expect_success 'each snapshot of snapshot -r holds its own dataset'\''s files' '
	snapseal restore tank/enc/child/grand@r r-grand &&
	echo grand >expect &&
	test_cmp expect r-grand/g &&
	snapseal restore tank/plain/pc@r r-pc &&
	echo pc >expect &&
	test_cmp expect r-pc/f &&
	snapseal restore tank/enc@r r-enc-r &&
	sstool digest r-enc-r >actual &&
	without_sub live-enc child >expect &&
	test_cmp expect actual
'

test_expect_success 'snapshot -r of a subtree only' '
	snapseal snapshot -r tank/enc/child@sub &&
	snapseal list -H -o name -t snapshot -r tank >all &&
	grep "@sub\$" all | sort >actual &&
	printf "%s\n" tank/enc/child/grand@sub tank/enc/child@sub >expect &&
	test_cmp expect actual
'

test_expect_success 'snapshot -r refuses a name that exists in one of the datasets, atomically' '
	snapseal snapshot tank/plain/pc@clash &&
	test_must_fail snapseal snapshot -r tank@clash 2>err &&
	test -s err &&
	snapseal list -H -o name -t snapshot -r tank >all &&
	grep "@clash\$" all >actual &&
	echo tank/plain/pc@clash >expect &&
	test_cmp expect actual
'

test_expect_success KEYRING 'snapshot -r without the key of one dataset: refused, none made' '
	snapseal unload-key tank/enc &&
	test "$(prop keystatus tank/enc/child)" = unavailable &&
	test_must_fail snapseal snapshot -r tank@nokey 2>err &&
	test_grep "key not loaded" err &&
	snapseal list -H -o name -t snapshot -r tank >all &&
	! grep "@nokey" all &&
	test_must_fail snapseal snapshot tank/enc/child@nokey 2>err &&
	test_grep "key not loaded" err &&
	snapseal load-key tank/enc &&
	snapseal snapshot tank/enc/child@withkey
'

test_expect_success 'a dataset of another branch mounted inside is not included' '
	snapseal create -o mountpoint="$PWD/mnt/enc/foreign" tank/plain/foreign &&
	echo foreign >mnt/enc/foreign/f &&
	snapseal snapshot tank/enc@foreign &&
	snapseal restore tank/enc@foreign r-foreign &&
	test -d r-foreign/foreign &&
	test -z "$(ls -A r-foreign/foreign)" &&
	snapseal snapshot tank/plain/foreign@s &&
	snapseal restore tank/plain/foreign@s r-foreign-own &&
	echo foreign >expect &&
	test_cmp expect r-foreign-own/f
'

test_expect_success 'a child mounted outside its parent is captured where it is' '
	snapseal create -o mountpoint="$PWD/elsewhere" tank/enc/away &&
	echo away >elsewhere/f &&
	snapseal snapshot tank/enc/away@s &&
	snapseal restore tank/enc/away@s r-away &&
	echo away >expect &&
	test_cmp expect r-away/f
'

test_expect_success 'when a child moves its mountpoint, the old directory is the parent'\''s' '
	snapseal set mountpoint="$PWD/moved" tank/plain/pc &&
	test "$(prop mountpoint tank/plain/pc)" = "$PWD/moved" &&
	mkdir -p mnt/plain/pc &&
	echo now-parent >mnt/plain/pc/parent-owned &&
	mkdir -p moved &&
	echo moved >moved/m &&
	snapseal snapshot -r tank/plain@moved &&
	snapseal restore tank/plain@moved r-moved &&
	echo now-parent >expect &&
	test_cmp expect r-moved/pc/parent-owned &&
	snapseal restore tank/plain/pc@moved r-moved-pc &&
	echo moved >expect &&
	test_cmp expect r-moved-pc/m &&
	! test -e r-moved-pc/parent-owned
'

test_expect_success MOUNT 'another filesystem mounted inside is not crossed' '
	mkdir mnt/enc/tmpfs &&
	mount -t tmpfs none mnt/enc/tmpfs &&
	test_when_finished "umount mnt/enc/tmpfs" &&
	echo other-fs >mnt/enc/tmpfs/f &&
	snapseal snapshot tank/enc@mount 2>err &&
	snapseal restore tank/enc@mount r-mount &&
	test -d r-mount/tmpfs &&
	test -z "$(ls -A r-mount/tmpfs)" &&
	sstool digest mnt/enc/own >expect &&
	sstool digest r-mount/own >actual &&
	test_cmp expect actual
'

test_done
