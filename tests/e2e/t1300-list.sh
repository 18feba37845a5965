#!/bin/bash
# shellcheck disable=SC2016,SC2317,SC2034,SC2283 # single-quoted bodies use the helpers and TAB
test_description='list: columns, -H, -p, -r, -d, -t, -o, -s and -S

zfs list: default columns NAME USED AVAIL REFER MOUNTPOINT, datasets in
name order with their snapshots under them by creation, "list -t snapshot
DS" lists the snapshots of DS, "no datasets available" on stderr when
nothing matches.'

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

TAB=$(printf '\t')


test_expect_success 'list with no pools at all: no datasets available' '
	snapseal list >out 2>err &&
	! test -s out &&
	echo "no datasets available" >expect &&
	test_cmp expect err &&
	snapseal list -t snapshot >out 2>err &&
	! test -s out &&
	test_cmp expect err
'

test_expect_success 'setup: a tree with snapshots made in a known order' '
	mkdir mnt &&
	snapseal pool create -m "$PWD/mnt" tank &&
	snapseal create tank/a &&
	snapseal create tank/a/b &&
	snapseal create tank/a-b &&
	snapseal create tank/c &&
	echo one >mnt/a/file &&
	echo bee >mnt/a/b/file &&
	echo sea >mnt/c/file &&
	snapseal snapshot tank/a@z &&
	snapseal snapshot tank/c@one &&
	echo two >>mnt/a/file &&
	snapseal snapshot tank/a@a &&
	snapseal snapshot tank/a/b@one &&
	echo three >>mnt/a/file &&
	snapseal snapshot tank/a@m
'

test_expect_success 'list: every filesystem, in name order' '
	snapseal list -H -o name >actual &&
	cat >expect <<-EOF &&
	tank
	tank/a
	tank/a-b
	tank/a/b
	tank/c
	EOF
	test_cmp expect actual
'

test_expect_success 'list: default columns and header' '
	snapseal list >out &&
	head -n 1 out >hdr &&
	test_grep -E "^NAME +USED +AVAIL +REFER +MOUNTPOINT$" hdr &&
	test_line_count = 6 out &&
	snapseal list -H >out &&
	test_line_count = 5 out &&
	awk -F"\t" "NF != 5" out >bad &&
	! test -s bad &&
	cut -f1,5 out >actual &&
	cat >expect <<-EOF &&
	tank${TAB}$PWD/mnt
	tank/a${TAB}$PWD/mnt/a
	tank/a-b${TAB}$PWD/mnt/a-b
	tank/a/b${TAB}$PWD/mnt/a/b
	tank/c${TAB}$PWD/mnt/c
	EOF
	test_cmp expect actual &&
	cut -f2-4 out >sizes &&
	awk -F"\t" "\$1 !~ /^[0-9.]+[BKMGTPE]\$/ || \$2 !~ /^[0-9.]+[BKMGTPE]\$/ || \$3 !~ /^[0-9.]+[BKMGTPE]\$/" sizes >bad &&
	! test -s bad
'

test_expect_success 'list: columns are aligned, numbers to the right' '
	snapseal list -o name,used,refer,mountpoint tank/a-b >actual &&
	cat >expect <<-EOF &&
	NAME      USED  REFER  MOUNTPOINT
	tank/a-b    0B     0B  $PWD/mnt/a-b
	EOF
	test_cmp expect actual
'

test_expect_success 'list -p prints exact numbers' '
	snapseal list -H -p -o name,used,available,referenced,logicalreferenced >out &&
	cut -f2- out >nums &&
	! grep -Ev "^[0-9]+${TAB}[0-9]+${TAB}[0-9]+${TAB}[0-9]+$" nums &&
	printf "tank/a-b\t0\t0\n" >expect &&
	snapseal list -H -p -o name,used,referenced tank/a-b >actual &&
	test_cmp expect actual
'

test_expect_success 'list -p: creation in seconds, the human form is the same time' '
	snapseal list -H -p -o creation tank/a >epoch &&
	test_grep -E "^[0-9]+$" epoch &&
	date -d "@$(cat epoch)" "+%a %b %e %H:%M %Y" >expect &&
	snapseal list -H -o creation tank/a >actual &&
	test_cmp expect actual
'

test_expect_success 'list DS shows only DS' '
	snapseal list -H -o name tank/a >actual &&
	echo tank/a >expect &&
	test_cmp expect actual
'

test_expect_success 'list several names keeps their order' '
	snapseal list -H -o name tank/c tank/a tank >actual &&
	printf "tank/c\ntank/a\ntank\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'list -r DS: DS and its descendants only' '
	snapseal list -H -r -o name tank/a >actual &&
	printf "tank/a\ntank/a/b\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'list -d limits the depth' '
	snapseal list -H -d 0 -o name tank >actual &&
	echo tank >expect &&
	test_cmp expect actual &&
	snapseal list -H -d 1 -o name tank >actual &&
	printf "tank\ntank/a\ntank/a-b\ntank/c\n" >expect &&
	test_cmp expect actual &&
	snapseal list -H -d 2 -o name tank >actual &&
	printf "tank\ntank/a\ntank/a-b\ntank/a/b\ntank/c\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'list -d with -t all: snapshots count one level down' '
	snapseal list -H -d 1 -t all -o name tank >actual &&
	cat >expect <<-EOF &&
	tank
	tank/a
	tank/a-b
	tank/c
	EOF
	test_cmp expect actual &&
	snapseal list -H -d 1 -t all -o name tank/a >actual &&
	cat >expect <<-EOF &&
	tank/a
	tank/a@z
	tank/a@a
	tank/a@m
	tank/a/b
	EOF
	test_cmp expect actual
'

test_expect_success 'list -t snapshot -o name DS: its snapshots by creation' '
	snapseal list -t snapshot -o name tank/a >actual &&
	cat >expect <<-EOF &&
	NAME
	tank/a@z
	tank/a@a
	tank/a@m
	EOF
	test_cmp expect actual
'

test_expect_success 'list -t snapshot: every snapshot, grouped by dataset' '
	snapseal list -H -t snapshot -o name >actual &&
	cat >expect <<-EOF &&
	tank/a@z
	tank/a@a
	tank/a@m
	tank/a/b@one
	tank/c@one
	EOF
	test_cmp expect actual
'

test_expect_success 'list -r -t snapshot DS includes the descendants snapshots' '
	snapseal list -H -r -t snapshot -o name tank/a >actual &&
	printf "tank/a@z\ntank/a@a\ntank/a@m\ntank/a/b@one\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'list -t all -r: each dataset followed by its snapshots' '
	snapseal list -H -t all -r -o name,type tank >actual &&
	cat >expect <<-EOF &&
	tank${TAB}filesystem
	tank/a${TAB}filesystem
	tank/a@z${TAB}snapshot
	tank/a@a${TAB}snapshot
	tank/a@m${TAB}snapshot
	tank/a-b${TAB}filesystem
	tank/a/b${TAB}filesystem
	tank/a/b@one${TAB}snapshot
	tank/c${TAB}filesystem
	tank/c@one${TAB}snapshot
	EOF
	test_cmp expect actual &&
	snapseal list -H -t filesystem,snapshot -r -o name,type tank >actual2 &&
	test_cmp actual actual2 &&
	snapseal list -H -t fs,snap -r -o name,type tank >actual2 &&
	test_cmp actual actual2
'

test_expect_success 'list of a snapshot by name' '
	snapseal list -H -o name,type tank/a@a >actual &&
	printf "tank/a@a\tsnapshot\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'snapshot rows show - for AVAIL and MOUNTPOINT' '
	snapseal list -H -t snapshot -o name,avail,mountpoint,compression tank/c >actual &&
	printf "tank/c@one\t-\t-\t-\n" >expect &&
	test_cmp expect actual &&
	snapseal list -t snapshot tank/c >out &&
	test_grep -E "^tank/c@one +[0-9.]+[BKMGTPE] +- +[0-9.]+[BKMGTPE] +-$" out
'

test_expect_success 'list -t snapshot of a dataset without snapshots' '
	snapseal list -t snapshot tank/a-b >out 2>err &&
	! test -s out &&
	echo "no datasets available" >expect &&
	test_cmp expect err
'

test_expect_success 'written and referenced of snapshots' '
	snapseal list -H -p -t snapshot -o name,written,referenced tank/a >out &&
	test_line_count = 3 out &&
	sed -n 1p out >first &&
	awk -F"\t" "\$2 != \$3 || \$2 <= 0" first >bad &&
	! test -s bad &&
	awk -F"\t" "\$2 <= 0 || \$2 > \$3" out >bad &&
	! test -s bad
'

test_expect_success 'REFER of a dataset is that of its newest snapshot' '
	snapseal list -H -p -o referenced tank/a >ds &&
	snapseal list -H -p -o referenced tank/a@m >snap &&
	test_cmp snap ds &&
	test "$(cat ds)" -gt 0
'

test_expect_success 'snapshot_count, used and referenced of datasets' '
	snapseal list -H -p -r -o name,snapshot_count tank >actual &&
	cat >expect <<-EOF &&
	tank${TAB}0
	tank/a${TAB}3
	tank/a-b${TAB}0
	tank/a/b${TAB}1
	tank/c${TAB}1
	EOF
	test_cmp expect actual &&
	snapseal list -H -p -o used tank/a >a &&
	snapseal list -H -p -o used tank/a/b >b &&
	snapseal list -H -p -o used tank >t &&
	test "$(cat b)" -gt 0 &&
	test "$(cat a)" -ge "$(cat b)" &&
	test "$(cat t)" -ge "$(cat a)"
'

test_expect_success 'list -o: zfs column headers' '
	snapseal list -o name,type,creation,used,avail,refer,ratio,mountpoint,compress,createtxg,guid,written,lrefer,snapshot_count,encryption,keylocation,keyformat,pbkdf2iters,encroot,keystatus \
		tank/a-b >out &&
	head -n 1 out >hdr &&
	tr -s " " <hdr >actual &&
	echo "NAME TYPE CREATION USED AVAIL REFER RATIO MOUNTPOINT COMPRESS CREATETXG GUID WRITTEN LREFER SSCOUNT ENCRYPTION KEYLOCATION KEYFORMAT PBKDF2ITERS ENCROOT KEYSTATUS" >expect &&
	test_cmp expect actual &&
	snapseal list -H -o name,type,compress,written,encryption,keylocation,keyformat,pbkdf2iters,encroot,keystatus tank/a-b >actual &&
	printf "tank/a-b\tfilesystem\tzstd\t-\toff\tnone\tnone\t0\t-\t-\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'list -o with a user property: uppercase header, - when unset' '
	snapseal set com.example:rank=b tank/a &&
	snapseal list -o name,com.example:rank tank/a tank/c >out &&
	head -n 1 out >hdr &&
	test_grep -E "^NAME +COM.EXAMPLE:RANK$" hdr &&
	snapseal list -H -o name,com.example:rank -r tank/a >actual &&
	printf "tank/a\tb\ntank/a/b\tb\n" >expect &&
	test_cmp expect actual &&
	snapseal list -H -o com.example:rank tank/c >actual &&
	echo - >expect &&
	test_cmp expect actual
'

test_expect_success 'list -s createtxg: snapshots in creation order across datasets' '
	snapseal list -H -t snapshot -s createtxg -o name >actual &&
	cat >expect <<-EOF &&
	tank/a@z
	tank/c@one
	tank/a@a
	tank/a/b@one
	tank/a@m
	EOF
	test_cmp expect actual
'

test_expect_success 'list -S createtxg: newest first' '
	snapseal list -H -t snapshot -S createtxg -o name >actual &&
	cat >expect <<-EOF &&
	tank/a@m
	tank/a/b@one
	tank/a@a
	tank/c@one
	tank/a@z
	EOF
	test_cmp expect actual
'

test_expect_success 'list -s name and -S name' '
	snapseal list -H -r -s name -o name tank >actual &&
	printf "tank\ntank/a\ntank/a-b\ntank/a/b\ntank/c\n" >expect &&
	test_cmp expect actual &&
	snapseal list -H -r -S name -o name tank >actual &&
	printf "tank/c\ntank/a/b\ntank/a-b\ntank/a\ntank\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'list -s on a string property' '
	snapseal set com.example:rank=d tank &&
	snapseal set com.example:rank=e tank/a-b &&
	snapseal set com.example:rank=a tank/a/b &&
	snapseal set com.example:rank=c tank/c &&
	snapseal list -H -r -s com.example:rank -o name,com.example:rank tank >actual &&
	cat >expect <<-EOF &&
	tank/a/b${TAB}a
	tank/a${TAB}b
	tank/c${TAB}c
	tank${TAB}d
	tank/a-b${TAB}e
	EOF
	test_cmp expect actual
'

test_expect_success 'list -s on a size: numeric order, ties in name order' '
	snapseal list -H -p -r -s used -o name,used tank >out &&
	cut -f2 out >used &&
	sort -n used >sorted &&
	test_cmp sorted used &&
	head -n 1 out >first &&
	printf "tank/a-b\t0\n" >expect &&
	test_cmp expect first &&
	snapseal list -H -p -r -S used -o name,used tank >out &&
	cut -f2 out >used &&
	sort -rn used >sorted &&
	test_cmp sorted used &&
	tail -n 1 out >last &&
	test_cmp expect last
'

test_expect_success 'list with two sort keys' '
	snapseal set com.example:grp=x tank &&
	snapseal set com.example:grp=x tank/a-b &&
	snapseal set com.example:grp=y tank/a &&
	snapseal set com.example:grp=x tank/c &&
	snapseal list -H -r -s com.example:grp -S name -o name tank >actual &&
	cat >expect <<-EOF &&
	tank/c
	tank/a-b
	tank
	tank/a/b
	tank/a
	EOF
	test_cmp expect actual
'

test_expect_success 'list of a missing dataset fails: dataset does not exist' '
	test_must_fail snapseal list tank/nope >out 2>err &&
	! test -s out &&
	test_error err open tank/nope "^dataset does not exist$" &&
	test_must_fail snapseal list nopool >out 2>err &&
	test_error err open nopool "^dataset does not exist$" &&
	test_must_fail snapseal list -r tank/nope 2>err &&
	test_error err open tank/nope "^dataset does not exist$" &&
	test_must_fail snapseal list -t snapshot tank/nope 2>err &&
	test_error err open tank/nope "^dataset does not exist$"
'

test_expect_success 'list of a missing snapshot fails' '
	test_must_fail snapseal list tank/a@nope >out 2>err &&
	! test -s out &&
	test_error err open tank/a@nope "does not exist"
'

test_expect_success 'list of a missing dataset still lists the others' '
	test_must_fail snapseal list -H -o name tank/a tank/nope tank/c >out 2>err &&
	printf "tank/a\ntank/c\n" >expect &&
	test_cmp expect out &&
	test_error err open tank/nope "dataset does not exist"
'

test_expect_success 'list of an invalid name fails' '
	test_must_fail snapseal list "tank//a" >out 2>err &&
	! test -s out &&
	test_error err open "tank//a" "invalid" &&
	test_must_fail snapseal list "tank/a/" 2>err &&
	test_error err open "tank/a/" "invalid|trailing"
'

test_expect_success 'list: unknown column, type or sort key is a usage error' '
	test_expect_code 2 snapseal list -o name,bogus >out 2>err &&
	test_grep "bogus" err &&
	! test -s out &&
	test_expect_code 2 snapseal list -t volume2 >out 2>err &&
	test_grep "volume2" err &&
	test_expect_code 2 snapseal list -s bogus >out 2>err &&
	test_grep "bogus" err &&
	test_expect_code 2 snapseal list -S bogus >out 2>err &&
	test_grep "bogus" err &&
	test_expect_code 2 snapseal list -x 2>err
'

test_expect_success KEYRING 'list the encryption columns of an encrypted tree' '
	head -c 32 /dev/urandom >key &&
	snapseal create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/key" tank/enc &&
	snapseal create tank/enc/child &&
	snapseal list -H -r -o name,encryption,keylocation,keyformat,encroot,keystatus tank/enc >actual &&
	cat >expect <<-EOF &&
	tank/enc${TAB}aes-256-gcm${TAB}file://$PWD/key${TAB}raw${TAB}tank/enc${TAB}available
	tank/enc/child${TAB}aes-256-gcm${TAB}none${TAB}raw${TAB}tank/enc${TAB}available
	EOF
	test_cmp expect actual
'

# The lookups of a command land all over the catalog's B-trees; a catalog
# of moderate size is read ahead whole when it is opened instead of one
# cold page after the other.  User properties of 8,000 bytes make this
# one 1.6 MB, of which listing names reads a few pages.
test_expect_success UNCACHED 'a command reads the catalog ahead whole' '
	snapseal create tank/pad &&
	v=$(printf "%8000s" "" | tr " " x) &&
	for k in 1 2 3 4
	do
		set -- &&
		for i in $(seq 1 50)
		do
			set -- "$@" "user:pad$k.$i=$v"
		done &&
		snapseal set "$@" tank/pad || return 1
	done &&
	cat="$SNAPSEAL_HOME/tank/catalog.db" &&
	size=$(stat -c %s "$cat") &&
	test "$size" -gt 1500000 &&
	drop "$cat" &&
	test "$(cached "$cat")" = 0 &&
	snapseal list -H -o name tank/pad >out &&
	echo tank/pad >expect &&
	test_cmp expect out &&
	# the kernel goes on reading after the command has exited
	for i in $(seq 1 50)
	do
		test "$(cached "$cat")" = "$size" && break
		sleep 0.1
	done &&
	test "$(cached "$cat")" = "$size"
'

test_done
