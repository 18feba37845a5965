#!/bin/bash
# shellcheck disable=SC2016,SC2317,SC2034,SC2283 # single-quoted bodies use the helpers and TAB
test_description='create: names, parents, -o properties, encryption at create

zfs create: a new dataset inherits its mountpoint (parent mountpoint plus
its own name), its mountpoint directory is made, -p makes missing parents,
and bad names or properties are refused without creating anything.'

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

TAB=$(printf '\t')


# all_datasets: every dataset of pool tank, one name a line.
all_datasets() {
	snapseal list -H -r -o name tank
}

# refused DETAIL-ERE NAME [OPTIONS...]: "create OPTIONS NAME" fails with
# one error line about NAME matching DETAIL, and creates nothing.
refused() {
	local detail=$1 name=$2
	shift 2
	all_datasets >refused.before &&
	(cd mnt && find . | sort) >refused.mnt.before &&
	test_must_fail snapseal create "$@" -- "$name" >refused.out 2>refused.err &&
	! test -s refused.out &&
	test_error refused.err create "$name" "$detail" &&
	all_datasets >refused.after &&
	test_cmp refused.before refused.after &&
	(cd mnt && find . | sort) >refused.mnt.after &&
	test_cmp refused.mnt.before refused.mnt.after
}

test_expect_success 'setup' '
	mkdir mnt &&
	snapseal pool create -m "$PWD/mnt" tank
'

test_expect_success 'create: a dataset under the root, mountpoint inherited' '
	snapseal create tank/a >out 2>err &&
	! test -s out && ! test -s err &&
	snapseal list -H -o name,mountpoint tank/a >actual &&
	printf "tank/a\t%s\n" "$PWD/mnt/a" >expect &&
	test_cmp expect actual &&
	snapseal get -H -o source mountpoint tank/a >actual &&
	echo "inherited from tank" >expect &&
	test_cmp expect actual
'

test_expect_success 'create makes the mountpoint directory' '
	test -d mnt/a
'

test_expect_success 'create: nested dataset gets parent mountpoint + /child' '
	snapseal create tank/a/b &&
	test -d mnt/a/b &&
	snapseal get -H -o value,source mountpoint tank/a/b >actual &&
	printf "%s\tinherited from tank\n" "$PWD/mnt/a/b" >expect &&
	test_cmp expect actual
'

test_expect_success 'create keeps files already in the mountpoint directory' '
	mkdir -p mnt/pre &&
	echo mine >mnt/pre/file &&
	snapseal create tank/pre &&
	echo mine >expect &&
	test_cmp expect mnt/pre/file
'

test_expect_success 'create of an existing dataset fails' '
	snapseal list -H -p -o name,guid,createtxg tank/a >before &&
	test_must_fail snapseal create tank/a 2>err &&
	test_error err create tank/a "already exists" &&
	snapseal list -H -p -o name,guid,createtxg tank/a >after &&
	test_cmp before after
'

test_expect_success 'create of the pool root dataset fails' '
	test_must_fail snapseal create tank 2>err &&
	test_error err create tank "already exists"
'

test_expect_success 'create under a missing parent fails and creates nothing' '
	refused "parent does not exist" tank/missing/child &&
	! test -e mnt/missing &&
	refused "parent does not exist" tank/x/y/z &&
	! test -e mnt/x
'

test_expect_success 'create in a pool that does not exist fails' '
	test_must_fail snapseal create nopool/a 2>err &&
	test_error err create nopool/a "does not exist" &&
	! test -e "$SNAPSEAL_HOME/nopool"
'

test_expect_success 'create -p makes the missing parents' '
	snapseal create -p tank/p1/p2/p3 &&
	snapseal list -H -r -o name,mountpoint tank/p1 >actual &&
	cat >expect <<-EOF &&
	tank/p1${TAB}$PWD/mnt/p1
	tank/p1/p2${TAB}$PWD/mnt/p1/p2
	tank/p1/p2/p3${TAB}$PWD/mnt/p1/p2/p3
	EOF
	test_cmp expect actual &&
	test -d mnt/p1/p2/p3
'

test_expect_success 'create -p -o sets properties on the target only' '
	snapseal create -p -o com.example:tag=leaf -o compression=zstd tank/q1/q2 &&
	snapseal get -H -o name,property,value,source compression,com.example:tag \
		tank/q1 tank/q1/q2 >actual &&
	cat >expect <<-EOF &&
	tank/q1${TAB}compression${TAB}zstd${TAB}default
	tank/q1${TAB}com.example:tag${TAB}-${TAB}-
	tank/q1/q2${TAB}compression${TAB}zstd${TAB}local
	tank/q1/q2${TAB}com.example:tag${TAB}leaf${TAB}local
	EOF
	test_cmp expect actual
'

test_expect_success 'create -p under an existing parent is a plain create' '
	snapseal create -p tank/a/c &&
	snapseal list -H -o name tank/a/c >actual &&
	echo tank/a/c >expect &&
	test_cmp expect actual
'

test_expect_success 'create -p of a dataset that exists succeeds and changes nothing' '
	snapseal list -H -p -o name,guid,createtxg tank/p1/p2/p3 >before &&
	snapseal create -p tank/p1/p2/p3 &&
	snapseal list -H -p -o name,guid,createtxg tank/p1/p2/p3 >after &&
	test_cmp before after
'

test_expect_success 'create refuses an empty component' '
	refused "empty component" "tank//a" &&
	refused "invalid" "tank/a//b" &&
	refused "invalid" "/tank/a"
'

test_expect_success 'create refuses a trailing slash' '
	refused "trailing slash" "tank/a/" &&
	refused "trailing slash" "tank/new/"
'

test_expect_success 'create refuses bad characters' '
	(
		for n in "tank/a\$b" "tank/a*b" "tank/a%b" "tank/a!b" "tank/a,b" \
			"tank/a=b" "tank/a\"b" "tank/a|b" "tank/é" "tank/a	b"
		do
			refused "invalid character" "$n" || exit 1
		done
	)
'

test_expect_success 'create refuses . and .. components' '
	refused "invalid" "tank/." &&
	refused "invalid" "tank/.." &&
	refused "invalid" "tank/a/../b"
'

test_expect_success 'create refuses @ and # in a dataset name' '
	refused "@" "tank/a@snap" &&
	refused "@" "tank/new@snap" &&
	refused "#" "tank/new#mark"
'

test_expect_success 'create refuses a name longer than 255 bytes' '
	long=$(printf "%0250d" 0) &&
	refused "too long" "tank/a/$long"
'

test_expect_success 'create accepts the whole zfs alphabet' '
	snapseal create "tank/Az09_-.:x" &&
	snapseal list -H -o name "tank/Az09_-.:x" >actual &&
	echo "tank/Az09_-.:x" >expect &&
	test_cmp expect actual &&
	test -d "mnt/Az09_-.:x"
'

test_expect_success 'create -o sets local properties' '
	snapseal create -o compression=lz4 -o mountpoint="$PWD/elsewhere/deep" \
		tank/o &&
	test -d elsewhere/deep &&
	! test -e mnt/o &&
	snapseal get -H -o property,value,source -s local all tank/o >actual &&
	cat >expect <<-EOF &&
	mountpoint${TAB}$PWD/elsewhere/deep${TAB}local
	compression${TAB}lz4${TAB}local
	EOF
	test_cmp expect actual
'

test_expect_success 'create -o with a user property' '
	snapseal create -o com.example:owner=alice tank/ou &&
	snapseal get -H -o value,source com.example:owner tank/ou >actual &&
	printf "alice\tlocal\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'create -o refuses a read-only property' '
	refused ".used. is readonly" tank/ro -o used=1 &&
	refused ".guid. is readonly" tank/ro -o guid=1 &&
	refused "readonly" tank/ro -o encryptionroot=tank
'

test_expect_success 'create -o refuses an unknown property' '
	refused "invalid property .bogus." tank/unk -o bogus=1 &&
	refused "invalid property" tank/unk -o com.example=1 &&
	refused "invalid property" tank/unk -o Com.Example:x=1
'

test_expect_success 'create -o refuses a bad compression' '
	refused "gzip" tank/bc -o compression=gzip &&
	refused "zstd-20" tank/bc -o compression=zstd-20 &&
	refused "compression" tank/bc -o compression=
'

test_expect_success 'create -o refuses a relative mountpoint' '
	refused "absolute" tank/rel -o mountpoint=relative/dir &&
	! test -e relative
'

test_expect_success 'create -o without = is a usage error' '
	test_expect_code 2 snapseal create -o compression tank/u 2>err &&
	test_grep "compression" err &&
	test_must_fail snapseal list tank/u 2>err
'

test_expect_success 'create usage errors exit 2' '
	test_expect_code 2 snapseal create 2>err &&
	test_grep usage err &&
	test_expect_code 2 snapseal create tank/u1 tank/u2 2>err &&
	test_expect_code 2 snapseal create -x tank/u1 2>err &&
	all_datasets >actual &&
	test_grep ! "tank/u" actual
'

test_expect_success 'create records creation time, createtxg and a guid' '
	before=$(date +%s) &&
	snapseal create tank/t1 &&
	snapseal create tank/t2 &&
	after=$(date +%s) &&
	snapseal get -H -p -o value creation tank/t1 >c1 &&
	test "$(cat c1)" -ge "$before" &&
	test "$(cat c1)" -le "$after" &&
	snapseal get -H -p -o value createtxg tank/t1 >x1 &&
	snapseal get -H -p -o value createtxg tank/t2 >x2 &&
	test "$(cat x2)" -gt "$(cat x1)" &&
	snapseal get -H -p -o value guid tank/t1 >g1 &&
	snapseal get -H -p -o value guid tank/t2 >g2 &&
	test_grep -E "^[0-9]+$" g1 &&
	! test_cmp g1 g2 >/dev/null
'

test_expect_success 'a new dataset has no snapshots and uses no space' '
	snapseal list -H -p -o name,used,referenced,snapshot_count tank/t1 >actual &&
	printf "tank/t1\t0\t0\t0\n" >expect &&
	test_cmp expect actual &&
	snapseal list -t snapshot tank/t1 >out 2>err &&
	! test -s out &&
	echo "no datasets available" >expect &&
	test_cmp expect err
'

# ---------- encryption at create (zfs-create encryption matrix) ----------

test_expect_success 'keyformat without encryption is refused' '
	head -c 32 /dev/urandom >key &&
	refused "Encryption must be turned on" tank/e1 -o keyformat=raw \
		-o keylocation="file://$PWD/key" &&
	refused "Encryption must be turned on" tank/e1 -o encryption=off \
		-o keyformat=raw &&
	refused "Encryption must be turned on" tank/e1 \
		-o keylocation="file://$PWD/key"
'

test_expect_success 'encryption=on without keyformat is refused' '
	refused "Keyformat required" tank/e2 -o encryption=on &&
	refused "Keyformat required" tank/e2 -o encryption=aes-256-gcm \
		-o keylocation="file://$PWD/key"
'

test_expect_success 'an unsupported encryption value is refused' '
	refused "invalid encryption" tank/e3 -o encryption=aes-128-ccm \
		-o keyformat=raw -o keylocation="file://$PWD/key" &&
	refused "invalid encryption" tank/e3 -o encryption=yes \
		-o keyformat=raw -o keylocation="file://$PWD/key"
'

test_expect_success 'a bad keylocation or key file is refused' '
	refused "keylocation" tank/e4 -o encryption=on -o keyformat=raw \
		-o keylocation=file://relative/key &&
	refused "keylocation" tank/e4 -o encryption=on -o keyformat=raw \
		-o keylocation=/abs/but/no/scheme &&
	refused "does not exist" tank/e4 -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/no-such-key" &&
	head -c 31 /dev/urandom >shortkey &&
	refused "short" tank/e4 -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/shortkey" &&
	refused "keyformat" tank/e4 -o encryption=on -o keyformat=base64 \
		-o keylocation="file://$PWD/key"
'

test_expect_success KEYRING 'create -o encryption=on makes an encryption root' '
	snapseal create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/key" tank/enc &&
	test -d mnt/enc &&
	snapseal get -H -o property,value,source \
		encryption,keylocation,keyformat,encryptionroot,keystatus tank/enc >actual &&
	cat >expect <<-EOF &&
	encryption${TAB}aes-256-gcm${TAB}-
	keylocation${TAB}file://$PWD/key${TAB}local
	keyformat${TAB}raw${TAB}-
	encryptionroot${TAB}tank/enc${TAB}-
	keystatus${TAB}available${TAB}-
	EOF
	test_cmp expect actual
'

test_expect_success KEYRING 'a child of an encryption root inherits its key' '
	snapseal create tank/enc/child &&
	snapseal get -H -o value encryption,encryptionroot,keystatus \
		tank/enc/child >actual &&
	printf "aes-256-gcm\ntank/enc\navailable\n" >expect &&
	test_cmp expect actual
'

test_expect_success KEYRING 'a child with keylocation but no keyformat is refused' '
	refused "Keyformat required" tank/enc/c2 -o keylocation="file://$PWD/key"
'

test_expect_success KEYRING 'a child with encryption=off is not encrypted' '
	snapseal create -o encryption=off tank/enc/plain &&
	snapseal get -H -o value encryption,encryptionroot tank/enc/plain >actual &&
	printf "off\n-\n" >expect &&
	test_cmp expect actual
'

test_expect_success KEYRING 'a child with its own keyformat is a new encryption root' '
	head -c 32 /dev/urandom >key2 &&
	snapseal create -o keyformat=raw -o keylocation="file://$PWD/key2" \
		tank/enc/own &&
	snapseal get -H -o value encryption,encryptionroot tank/enc/own >actual &&
	printf "aes-256-gcm\ntank/enc/own\n" >expect &&
	test_cmp expect actual
'

test_expect_success KEYRING 'a passphrase shorter than 8 characters is refused' '
	printf "short\n" >pass &&
	refused "[Pp]assphrase" tank/e5 -o encryption=on -o keyformat=passphrase \
		-o keylocation="file://$PWD/pass"
'

test_expect_success KEYRING 'pbkdf2iters below the minimum is refused' '
	printf "long enough passphrase\n" >pass &&
	refused "pbkdf2" tank/e6 -o encryption=on -o keyformat=passphrase \
		-o pbkdf2iters=1000 -o keylocation="file://$PWD/pass" &&
	refused "pbkdf2" tank/e6 -o encryption=on -o keyformat=raw \
		-o pbkdf2iters=100000 -o keylocation="file://$PWD/key" &&
	refused "pbkdf2iters" tank/e6 -o encryption=on -o keyformat=passphrase \
		-o pbkdf2iters=many -o keylocation="file://$PWD/pass"
'

test_done
