#!/bin/bash
# shellcheck disable=SC2016,SC2317,SC2034,SC2283 # single-quoted bodies use the helpers and TAB
test_description='get, set, inherit: values, sources and validation

zfsprops(7): inheritable properties (mountpoint, compression, user
properties) show "local", "inherited from X" or "default"; statistics show
"-"; set refuses read-only, create-only, unknown and invalid values; the
encryption properties follow the table of zfs-behaviour.md section 4.2.'

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

TAB=$(printf '\t')


# props_of DS PROPS: "name<TAB>property<TAB>value<TAB>source" lines.
props_of() {
	snapseal get -H -o name,property,value,source "$@"
}

# all_props DS: "get -p all" of DS without "available" (the free space of
# the file system, which other processes change).
all_props() {
	props_of -p all "$1" >all_props.tmp &&
	sed "/^[^$TAB]*${TAB}available${TAB}/d" all_props.tmp
}

# set_refused DETAIL-ERE DS PROP=VALUE...: set fails with one error line
# and changes no property of DS.
set_refused() {
	local detail=$1 ds=$2
	shift 2
	all_props "$ds" >set_refused.before &&
	test_must_fail snapseal set "$@" "$ds" >set_refused.out 2>set_refused.err &&
	! test -s set_refused.out &&
	test_error set_refused.err "set property for" "$ds" "$detail" &&
	all_props "$ds" >set_refused.after &&
	test_cmp set_refused.before set_refused.after
}

test_expect_success 'setup' '
	mkdir mnt &&
	snapseal pool create -m "$PWD/mnt" tank &&
	snapseal create tank/a &&
	snapseal create tank/a/b &&
	snapseal create tank/c &&
	echo data >mnt/c/file &&
	snapseal snapshot tank/c@s1
'

# ---------- what get all shows ----------

test_expect_success 'get all: properties and sources of a plain dataset' '
	snapseal get -H -o property,source all tank/c >actual &&
	cat >expect <<-EOF &&
	type${TAB}-
	creation${TAB}-
	used${TAB}-
	available${TAB}-
	referenced${TAB}-
	compressratio${TAB}-
	mountpoint${TAB}inherited from tank
	compression${TAB}default
	createtxg${TAB}-
	guid${TAB}-
	logicalreferenced${TAB}-
	snapshot_count${TAB}-
	encryption${TAB}default
	keylocation${TAB}default
	keyformat${TAB}default
	pbkdf2iters${TAB}default
	EOF
	test_cmp expect actual
'

test_expect_success 'get: values of a plain dataset' '
	props_of type,compressratio,mountpoint,compression,snapshot_count,encryption,keylocation,keyformat,pbkdf2iters,encryptionroot,keystatus tank/c >actual &&
	cat >expect <<-EOF &&
	tank/c${TAB}type${TAB}filesystem${TAB}-
	tank/c${TAB}compressratio${TAB}1.00x${TAB}-
	tank/c${TAB}mountpoint${TAB}$PWD/mnt/c${TAB}inherited from tank
	tank/c${TAB}compression${TAB}zstd${TAB}default
	tank/c${TAB}snapshot_count${TAB}1${TAB}-
	tank/c${TAB}encryption${TAB}off${TAB}default
	tank/c${TAB}keylocation${TAB}none${TAB}default
	tank/c${TAB}keyformat${TAB}none${TAB}default
	tank/c${TAB}pbkdf2iters${TAB}0${TAB}default
	tank/c${TAB}encryptionroot${TAB}-${TAB}-
	tank/c${TAB}keystatus${TAB}-${TAB}-
	EOF
	test_cmp expect actual
'

test_expect_success 'get all on the pool root: mountpoint is local' '
	props_of mountpoint tank >actual &&
	printf "tank\tmountpoint\t%s\tlocal\n" "$PWD/mnt" >expect &&
	test_cmp expect actual
'

test_expect_success 'get all on a snapshot shows the snapshot properties only' '
	snapseal get -H -o property,source all tank/c@s1 >actual &&
	cat >expect <<-EOF &&
	type${TAB}-
	creation${TAB}-
	used${TAB}-
	referenced${TAB}-
	compressratio${TAB}-
	createtxg${TAB}-
	guid${TAB}-
	written${TAB}-
	logicalreferenced${TAB}-
	encryption${TAB}default
	EOF
	test_cmp expect actual &&
	snapseal get -H -o value type,encryption tank/c@s1 >actual &&
	printf "snapshot\noff\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'get: a property that does not apply prints -' '
	props_of mountpoint,compression,written tank/c@s1 tank/c >actual &&
	cat >expect <<-EOF &&
	tank/c@s1${TAB}mountpoint${TAB}-${TAB}-
	tank/c@s1${TAB}compression${TAB}-${TAB}-
	tank/c@s1${TAB}written${TAB}$(snapseal get -H -o value written tank/c@s1)${TAB}-
	tank/c${TAB}mountpoint${TAB}$PWD/mnt/c${TAB}inherited from tank
	tank/c${TAB}compression${TAB}zstd${TAB}default
	tank/c${TAB}written${TAB}-${TAB}-
	EOF
	test_cmp expect actual
'

# ---------- output format of get ----------

test_expect_success 'get: header and aligned columns without -H' '
	snapseal set compression=zstd tank/a &&
	snapseal get compression tank/a tank/a/b >actual &&
	cat >expect <<-EOF &&
	NAME      PROPERTY     VALUE  SOURCE
	tank/a    compression  zstd   local
	tank/a/b  compression  zstd   inherited from tank/a
	EOF
	test_cmp expect actual &&
	snapseal inherit compression tank/a
'

test_expect_success 'get -o value prints bare values, in the order asked' '
	snapseal get -H -o value mountpoint,type,compression tank/a >actual &&
	printf "%s\nfilesystem\nzstd\n" "$PWD/mnt/a" >expect &&
	test_cmp expect actual
'

test_expect_success 'get -o value keeps a VALUE header without -H' '
	snapseal get -o value type tank/a >actual &&
	printf "VALUE\nfilesystem\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'get -o with fields in another order' '
	snapseal get -H -o source,value,name compression tank/a >actual &&
	printf "default\tzstd\ttank/a\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'get accepts the column aliases and prints the full names' '
	snapseal get -H -o property avail,refer,compress,ratio,lrefer tank/a >actual &&
	printf "available\nreferenced\ncompression\ncompressratio\nlogicalreferenced\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'get -p prints exact numbers, get prints human ones' '
	snapseal get -H -p -o value used,referenced,available,creation,createtxg tank/c >exact &&
	test_line_count = 5 exact &&
	! grep -Ev "^[0-9]+$" exact &&
	used=$(sed -n 1p exact) && creation=$(sed -n 4p exact) &&
	test "$used" -gt 0 &&
	snapseal get -H -o value used,creation tank/c >human &&
	sed -n 1p human >u &&
	test_grep -E "^[0-9.]+[BKMGTPE]$" u &&
	date -d "@$creation" "+%a %b %e %H:%M %Y" >expect &&
	sed -n 2p human >actual &&
	test_cmp expect actual
'

test_expect_success 'get -p prints compressratio without the x' '
	snapseal get -H -p -o value compressratio tank/c >actual &&
	echo 1.00 >expect &&
	test_cmp expect actual
'

test_expect_success 'get -r lists the subtree, snapshots included' '
	snapseal get -H -r -o name,value type tank >actual &&
	cat >expect <<-EOF &&
	tank${TAB}filesystem
	tank/a${TAB}filesystem
	tank/a/b${TAB}filesystem
	tank/c${TAB}filesystem
	tank/c@s1${TAB}snapshot
	EOF
	test_cmp expect actual
'

test_expect_success 'get -r -t filesystem leaves snapshots out' '
	snapseal get -H -r -t filesystem -o name type tank >actual &&
	printf "tank\ntank/a\ntank/a/b\ntank/c\n" >expect &&
	test_cmp expect actual &&
	snapseal get -H -r -t snapshot -o name type tank >actual &&
	echo tank/c@s1 >expect &&
	test_cmp expect actual
'

test_expect_success 'get -d limits the depth' '
	snapseal get -H -d 1 -o name type tank >actual &&
	printf "tank\ntank/a\ntank/c\n" >expect &&
	test_cmp expect actual &&
	snapseal get -H -d 0 -o name type tank >actual &&
	echo tank >expect &&
	test_cmp expect actual &&
	snapseal get -H -d 2 -o name type tank/c >actual &&
	printf "tank/c\ntank/c@s1\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'get without -r does not descend' '
	snapseal get -H -o name type tank/a >actual &&
	echo tank/a >expect &&
	test_cmp expect actual
'

test_expect_success 'get on several datasets keeps the argument order' '
	snapseal get -H -o name type tank/c tank/a tank/c@s1 >actual &&
	printf "tank/c\ntank/a\ntank/c@s1\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'get -s filters by source' '
	snapseal set compression=lz4 tank/a &&
	test_when_finished "snapseal inherit compression tank/a" &&
	snapseal get -H -r -t filesystem -s local -o name,property mountpoint,compression tank >actual &&
	printf "tank\tmountpoint\ntank/a\tcompression\n" >expect &&
	test_cmp expect actual &&
	snapseal get -H -r -t filesystem -s inherited -o name,property mountpoint,compression tank >actual &&
	cat >expect <<-EOF &&
	tank/a${TAB}mountpoint
	tank/a/b${TAB}mountpoint
	tank/a/b${TAB}compression
	tank/c${TAB}mountpoint
	EOF
	test_cmp expect actual &&
	snapseal get -H -s default -o property all tank/c >actual &&
	printf "compression\nencryption\nkeylocation\nkeyformat\npbkdf2iters\n" >expect &&
	test_cmp expect actual &&
	snapseal get -H -s none -o property type,mountpoint,used tank/c >actual &&
	printf "type\nused\n" >expect &&
	test_cmp expect actual &&
	snapseal get -H -s local,default -o property mountpoint,compression tank/a >actual &&
	echo compression >expect &&
	test_cmp expect actual
'

test_expect_success 'get -s local with nothing local prints nothing with -H' '
	snapseal get -H -s local all tank/c >out &&
	! test -s out
'

test_expect_success 'get prints no header when there is no row' '
	snapseal get -s local all tank/c >out &&
	! test -s out &&
	test_must_fail snapseal get all tank/nope >out 2>err &&
	! test -s out
'

# ---------- errors of get ----------

test_expect_success 'get on a missing dataset fails: dataset does not exist' '
	test_must_fail snapseal get all tank/nope 2>err &&
	test_error err open tank/nope "^dataset does not exist$" &&
	test_must_fail snapseal get -H type nopool 2>err &&
	test_error err open nopool "^dataset does not exist$" &&
	test_must_fail snapseal get -H type tank/c@nope 2>err &&
	test_error err open tank/c@nope "does not exist"
'

test_expect_success 'get on a missing dataset still prints the others' '
	test_must_fail snapseal get -H -o name type tank/a tank/nope tank/c >out 2>err &&
	printf "tank/a\ntank/c\n" >expect &&
	test_cmp expect out &&
	test_error err open tank/nope "dataset does not exist"
'

test_expect_success 'get of an unknown property is a usage error' '
	test_expect_code 2 snapseal get bogus tank/a >out 2>err &&
	test_grep "invalid property .bogus." err &&
	! test -s out
'

test_expect_success 'get -o with an unknown field is a usage error' '
	test_expect_code 2 snapseal get -o name,bogus type tank/a >out 2>err &&
	test_grep "bogus" err &&
	! test -s out
'

test_expect_success 'get -s with an unknown source is a usage error' '
	test_expect_code 2 snapseal get -s bogus type tank/a >out 2>err &&
	test_grep "bogus" err &&
	! test -s out
'

test_expect_success 'get -t with an unknown type is a usage error' '
	test_expect_code 2 snapseal get -t bogus type tank/a >out 2>err &&
	test_grep "bogus" err
'

test_expect_success 'get without a property is a usage error' '
	test_expect_code 2 snapseal get 2>err &&
	test_grep usage err
'

# ---------- inheritance: compression ----------

test_expect_success 'compression defaults to zstd everywhere' '
	props_of -r -t filesystem compression tank >actual &&
	cat >expect <<-EOF &&
	tank${TAB}compression${TAB}zstd${TAB}default
	tank/a${TAB}compression${TAB}zstd${TAB}default
	tank/a/b${TAB}compression${TAB}zstd${TAB}default
	tank/c${TAB}compression${TAB}zstd${TAB}default
	EOF
	test_cmp expect actual
'

test_expect_success 'set: local on the dataset, inherited by its children' '
	snapseal set compression=zstd tank/a >out 2>err &&
	! test -s out && ! test -s err &&
	props_of -r -t filesystem compression tank >actual &&
	cat >expect <<-EOF &&
	tank${TAB}compression${TAB}zstd${TAB}default
	tank/a${TAB}compression${TAB}zstd${TAB}local
	tank/a/b${TAB}compression${TAB}zstd${TAB}inherited from tank/a
	tank/c${TAB}compression${TAB}zstd${TAB}default
	EOF
	test_cmp expect actual
'

test_expect_success 'set on a child overrides the inherited value' '
	snapseal set compression=off tank/a/b &&
	props_of compression tank/a tank/a/b >actual &&
	cat >expect <<-EOF &&
	tank/a${TAB}compression${TAB}zstd${TAB}local
	tank/a/b${TAB}compression${TAB}off${TAB}local
	EOF
	test_cmp expect actual
'

test_expect_success 'inherit on the child goes back to the parent value' '
	snapseal inherit compression tank/a/b >out 2>err &&
	! test -s out && ! test -s err &&
	props_of compression tank/a/b >actual &&
	printf "tank/a/b\tcompression\tzstd\tinherited from tank/a\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'inherit on the parent goes back to the default' '
	snapseal inherit compression tank/a &&
	props_of compression tank/a tank/a/b >actual &&
	cat >expect <<-EOF &&
	tank/a${TAB}compression${TAB}zstd${TAB}default
	tank/a/b${TAB}compression${TAB}zstd${TAB}default
	EOF
	test_cmp expect actual
'

test_expect_success 'a value set on the pool root is inherited by all' '
	snapseal set compression=lz4 tank &&
	props_of -r -t filesystem compression tank >actual &&
	cat >expect <<-EOF &&
	tank${TAB}compression${TAB}lz4${TAB}local
	tank/a${TAB}compression${TAB}lz4${TAB}inherited from tank
	tank/a/b${TAB}compression${TAB}lz4${TAB}inherited from tank
	tank/c${TAB}compression${TAB}lz4${TAB}inherited from tank
	EOF
	test_cmp expect actual
'

test_expect_success 'inherit -r removes local values in the whole subtree' '
	snapseal set compression=zstd-3 tank/a &&
	snapseal set compression=off tank/a/b &&
	snapseal inherit -r compression tank &&
	props_of -r -t filesystem -s local compression tank >actual &&
	! test -s actual &&
	props_of -r -t filesystem compression tank >actual &&
	cat >expect <<-EOF &&
	tank${TAB}compression${TAB}zstd${TAB}default
	tank/a${TAB}compression${TAB}zstd${TAB}default
	tank/a/b${TAB}compression${TAB}zstd${TAB}default
	tank/c${TAB}compression${TAB}zstd${TAB}default
	EOF
	test_cmp expect actual
'

test_expect_success 'inherit without -r leaves the children alone' '
	snapseal set compression=zstd tank/a &&
	snapseal set compression=off tank/a/b &&
	snapseal inherit compression tank/a &&
	props_of compression tank/a tank/a/b >actual &&
	cat >expect <<-EOF &&
	tank/a${TAB}compression${TAB}zstd${TAB}default
	tank/a/b${TAB}compression${TAB}off${TAB}local
	EOF
	test_cmp expect actual &&
	snapseal inherit compression tank/a/b
'

test_expect_success 'inherit of a property that is not set is a no-op' '
	all_props tank/c >before &&
	snapseal inherit compression tank/c &&
	all_props tank/c >after &&
	test_cmp before after
'

test_expect_success 'a dataset created later inherits the current value' '
	snapseal set compression=zstd-7 tank/a &&
	snapseal create tank/a/late &&
	props_of compression tank/a/late >actual &&
	printf "tank/a/late\tcompression\tzstd-7\tinherited from tank/a\n" >expect &&
	test_cmp expect actual &&
	snapseal inherit compression tank/a
'

# ---------- compression values ----------

test_expect_success 'compression accepts off, on, lz4, zstd and zstd-1..19' '
	(
		for v in off on lz4 zstd zstd-1 zstd-9 zstd-19
		do
			snapseal set compression=$v tank/c &&
			props_of compression tank/c >actual &&
			printf "tank/c\tcompression\t%s\tlocal\n" $v >expect &&
			test_cmp expect actual || exit 1
		done
	) &&
	snapseal inherit compression tank/c
'

test_expect_success 'compression refuses other values' '
	snapseal set compression=lz4 tank/c &&
	test_when_finished "snapseal inherit compression tank/c" &&
	(
		for v in gzip gzip-9 zle lzjb zstd-0 zstd-20 zstd-100 zstd- zstd-1x \
			zstd-fast LZ4 ON "" " lz4" "lz4 " -1
		do
			set_refused "compression" tank/c "compression=$v" || exit 1
		done
	)
'

# ---------- mountpoint ----------

test_expect_success 'mountpoint: a local value is inherited with the child name appended' '
	snapseal set mountpoint="$PWD/alt" tank/a &&
	props_of -r -t filesystem mountpoint tank/a >actual &&
	cat >expect <<-EOF &&
	tank/a${TAB}mountpoint${TAB}$PWD/alt${TAB}local
	tank/a/b${TAB}mountpoint${TAB}$PWD/alt/b${TAB}inherited from tank/a
	tank/a/late${TAB}mountpoint${TAB}$PWD/alt/late${TAB}inherited from tank/a
	EOF
	test_cmp expect actual
'

test_expect_success 'mountpoint=none is inherited as none' '
	snapseal set mountpoint=none tank/a &&
	props_of mountpoint tank/a tank/a/b >actual &&
	cat >expect <<-EOF &&
	tank/a${TAB}mountpoint${TAB}none${TAB}local
	tank/a/b${TAB}mountpoint${TAB}none${TAB}inherited from tank/a
	EOF
	test_cmp expect actual
'

test_expect_success 'inherit mountpoint goes back to the parent path' '
	snapseal inherit mountpoint tank/a &&
	props_of mountpoint tank/a tank/a/b >actual &&
	cat >expect <<-EOF &&
	tank/a${TAB}mountpoint${TAB}$PWD/mnt/a${TAB}inherited from tank
	tank/a/b${TAB}mountpoint${TAB}$PWD/mnt/a/b${TAB}inherited from tank
	EOF
	test_cmp expect actual
'

test_expect_success 'a root mountpoint of / gives children /NAME' '
	snapseal set mountpoint=/ tank &&
	test_when_finished "snapseal set mountpoint=\"\$PWD/mnt\" tank" &&
	props_of mountpoint tank tank/a/b >actual &&
	cat >expect <<-EOF &&
	tank${TAB}mountpoint${TAB}/${TAB}local
	tank/a/b${TAB}mountpoint${TAB}/a/b${TAB}inherited from tank
	EOF
	test_cmp expect actual
'

test_expect_success 'inherit mountpoint on the pool root gives the default /POOL' '
	snapseal inherit mountpoint tank &&
	test_when_finished "snapseal set mountpoint=\"\$PWD/mnt\" tank" &&
	props_of mountpoint tank tank/a >actual &&
	cat >expect <<-EOF &&
	tank${TAB}mountpoint${TAB}/tank${TAB}default
	tank/a${TAB}mountpoint${TAB}/tank/a${TAB}default
	EOF
	test_cmp expect actual
'

test_expect_success 'mountpoint must be absolute or none' '
	set_refused "absolute" tank/a mountpoint=relative &&
	set_refused "absolute" tank/a mountpoint=./x &&
	set_refused "absolute" tank/a mountpoint= &&
	set_refused "absolute" tank/a mountpoint=None
'

# ---------- user properties ----------

test_expect_success 'a user property is local where set, inherited below' '
	snapseal set com.example:owner=alice tank/a &&
	props_of -r -t filesystem com.example:owner tank >actual &&
	cat >expect <<-EOF &&
	tank${TAB}com.example:owner${TAB}-${TAB}-
	tank/a${TAB}com.example:owner${TAB}alice${TAB}local
	tank/a/b${TAB}com.example:owner${TAB}alice${TAB}inherited from tank/a
	tank/a/late${TAB}com.example:owner${TAB}alice${TAB}inherited from tank/a
	tank/c${TAB}com.example:owner${TAB}-${TAB}-
	EOF
	test_cmp expect actual
'

test_expect_success 'a child created later inherits the user property' '
	snapseal create tank/a/b/grandchild &&
	props_of com.example:owner tank/a/b/grandchild >actual &&
	printf "tank/a/b/grandchild\tcom.example:owner\talice\tinherited from tank/a\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'a user property set on a child overrides, inherit restores' '
	snapseal set com.example:owner=bob tank/a/b &&
	props_of com.example:owner tank/a/b tank/a/b/grandchild >actual &&
	cat >expect <<-EOF &&
	tank/a/b${TAB}com.example:owner${TAB}bob${TAB}local
	tank/a/b/grandchild${TAB}com.example:owner${TAB}bob${TAB}inherited from tank/a/b
	EOF
	test_cmp expect actual &&
	snapseal inherit com.example:owner tank/a/b &&
	props_of com.example:owner tank/a/b/grandchild >actual &&
	printf "tank/a/b/grandchild\tcom.example:owner\talice\tinherited from tank/a\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'a user property value may hold spaces and = signs' '
	snapseal set "com.example:note=a b=c, d" tank/c &&
	snapseal get -H -o value com.example:note tank/c >actual &&
	echo "a b=c, d" >expect &&
	test_cmp expect actual &&
	snapseal inherit com.example:note tank/c
'

test_expect_success 'a user property value of 8,191 bytes is shown whole; 8,192 is refused' '
	v=$(printf "%8190s" "" | tr " " v)w &&
	snapseal set "com.example:long=$v" tank/c &&
	snapseal get -H -o value com.example:long tank/c >actual &&
	echo "$v" >expect &&
	test_cmp expect actual &&
	snapseal list -H -o com.example:long tank/c >actual &&
	test_cmp expect actual &&
	snapseal get -Hp -o value com.example:long tank/c >actual &&
	test_cmp expect actual &&
	test_expect_code 1 snapseal set "com.example:long=${v}x" tank/c 2>err &&
	test_grep "property value is too long" err &&
	snapseal get -H -o value com.example:long tank/c >actual &&
	test_cmp expect actual &&
	snapseal inherit com.example:long tank/c
'

test_expect_success 'get all lists user properties after the native ones' '
	snapseal get -H -o property,value,source all tank/a/b >out &&
	tail -n 1 out >actual &&
	printf "com.example:owner\talice\tinherited from tank/a\n" >expect &&
	test_cmp expect actual &&
	head -n 1 out >actual &&
	printf "type\tfilesystem\t-\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'inherit -r removes a user property from the subtree' '
	snapseal set com.example:owner=carol tank/a/b &&
	snapseal inherit -r com.example:owner tank/a &&
	props_of -r -t filesystem com.example:owner tank/a >actual &&
	cat >expect <<-EOF &&
	tank/a${TAB}com.example:owner${TAB}-${TAB}-
	tank/a/b${TAB}com.example:owner${TAB}-${TAB}-
	tank/a/b/grandchild${TAB}com.example:owner${TAB}-${TAB}-
	tank/a/late${TAB}com.example:owner${TAB}-${TAB}-
	EOF
	test_cmp expect actual
'

test_expect_success 'invalid user property names are refused' '
	(
		for p in Com.Example:x com.example:X nocolon :x com: "com:a b" "com:a@b"
		do
			set_refused "invalid property" tank/c "$p=1" || exit 1
		done
	)
'

# ---------- what set refuses ----------

test_expect_success 'set of a read-only property: NAME is readonly' '
	(
		for p in type creation used available referenced compressratio \
			createtxg guid written logicalreferenced snapshot_count \
			encryptionroot keystatus
		do
			set_refused "^.$p. is readonly$" tank/c "$p=1" || exit 1
		done
	)
'

test_expect_success 'set of a create-only property is refused' '
	set_refused "encryption" tank/c encryption=on &&
	set_refused "encryption" tank/c encryption=off &&
	set_refused "keyformat" tank/c keyformat=raw &&
	set_refused "pbkdf2iters" tank/c pbkdf2iters=350000
'

test_expect_success 'keylocation cannot be set on an unencrypted dataset' '
	set_refused "keylocation" tank/c keylocation=prompt &&
	set_refused "keylocation" tank/c "keylocation=file://$PWD/key"
'

test_expect_success 'set of an unknown property is refused' '
	set_refused "^invalid property .bogus.$" tank/c bogus=1 &&
	set_refused "invalid property" tank/c Compression=off
'

test_expect_success 'set PROP=VALUE on several datasets' '
	snapseal set compression=zstd-3 com.example:multi=yes tank/a tank/c &&
	props_of compression,com.example:multi tank/a tank/c >actual &&
	cat >expect <<-EOF &&
	tank/a${TAB}compression${TAB}zstd-3${TAB}local
	tank/a${TAB}com.example:multi${TAB}yes${TAB}local
	tank/c${TAB}compression${TAB}zstd-3${TAB}local
	tank/c${TAB}com.example:multi${TAB}yes${TAB}local
	EOF
	test_cmp expect actual &&
	snapseal inherit compression tank/a tank/c &&
	snapseal inherit com.example:multi tank/a tank/c &&
	props_of compression,com.example:multi tank/a >actual &&
	cat >expect <<-EOF &&
	tank/a${TAB}compression${TAB}zstd${TAB}default
	tank/a${TAB}com.example:multi${TAB}-${TAB}-
	EOF
	test_cmp expect actual
'

test_expect_success 'set is all or nothing: a bad property sets no other' '
	test_when_finished "snapseal inherit compression tank/c &&
		snapseal inherit com.example:x tank/c" &&
	set_refused "bogus" tank/c compression=off bogus=1 &&
	set_refused "compression" tank/c com.example:x=1 compression=gzip
'

test_expect_success 'set on a missing dataset fails: dataset does not exist' '
	test_must_fail snapseal set compression=off tank/nope 2>err &&
	test_error err "set property for" tank/nope "^dataset does not exist$" &&
	test_must_fail snapseal set compression=off nopool/x 2>err &&
	test_error err "set property for" nopool/x "does not exist"
'

test_expect_success 'set of a snapshot property is refused' '
	test_must_fail snapseal set compression=off tank/c@s1 2>err &&
	test_grep "tank/c@s1" err
'

test_expect_success 'set usage errors exit 2' '
	test_expect_code 2 snapseal set 2>err &&
	test_expect_code 2 snapseal set compression=off 2>err &&
	test_expect_code 2 snapseal set tank/a 2>err &&
	props_of compression tank/a >actual &&
	printf "tank/a\tcompression\tzstd\tdefault\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'set with an empty property name is a usage error' '
	test_expect_code 2 snapseal set =off tank/a 2>err &&
	test_grep "=off" err &&
	props_of compression tank/a >actual &&
	printf "tank/a\tcompression\tzstd\tdefault\n" >expect &&
	test_cmp expect actual
'

# ---------- what inherit refuses ----------

test_expect_success 'inherit of a read-only or create-only property is refused' '
	(
		for p in used type guid encryption keyformat pbkdf2iters
		do
			test_must_fail snapseal inherit $p tank/c 2>err &&
			test_error err inherit tank/c "$p" || exit 1
		done
	)
'

test_expect_success 'inherit of an unknown property is refused' '
	test_must_fail snapseal inherit bogus tank/c 2>err &&
	test_error err inherit tank/c "invalid property .bogus."
'

test_expect_success 'inherit on a missing dataset fails' '
	test_must_fail snapseal inherit compression tank/nope 2>err &&
	test_error err inherit tank/nope "dataset does not exist"
'

test_expect_success 'inherit usage errors exit 2' '
	test_expect_code 2 snapseal inherit 2>err &&
	test_expect_code 2 snapseal inherit compression 2>err &&
	test_expect_code 2 snapseal inherit -x compression tank/a 2>err
'

# ---------- encryption properties (zfs-behaviour.md 4.2) ----------

test_expect_success KEYRING 'setup: encryption roots of each key format' '
	head -c 32 /dev/urandom >key &&
	od -An -tx1 -N32 /dev/urandom >hex.raw &&
	tr -d " \n" <hex.raw >hexkey &&
	echo >>hexkey &&
	echo "a passphrase long enough" >pass &&
	snapseal create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/key" tank/enc &&
	snapseal create tank/enc/child &&
	snapseal create -o encryption=off tank/enc/plain &&
	snapseal create -o encryption=aes-256-gcm -o keyformat=hex \
		-o keylocation="file://$PWD/hexkey" tank/hex &&
	snapseal create -o encryption=on -o keyformat=passphrase \
		-o pbkdf2iters=100000 -o keylocation="file://$PWD/pass" tank/pp
'

test_expect_success KEYRING 'encryption rows of a raw-key root and its child' '
	props_of encryption,keylocation,keyformat,pbkdf2iters,encryptionroot,keystatus \
		tank/enc tank/enc/child >actual &&
	cat >expect <<-EOF &&
	tank/enc${TAB}encryption${TAB}aes-256-gcm${TAB}-
	tank/enc${TAB}keylocation${TAB}file://$PWD/key${TAB}local
	tank/enc${TAB}keyformat${TAB}raw${TAB}-
	tank/enc${TAB}pbkdf2iters${TAB}0${TAB}default
	tank/enc${TAB}encryptionroot${TAB}tank/enc${TAB}-
	tank/enc${TAB}keystatus${TAB}available${TAB}-
	tank/enc/child${TAB}encryption${TAB}aes-256-gcm${TAB}-
	tank/enc/child${TAB}keylocation${TAB}none${TAB}default
	tank/enc/child${TAB}keyformat${TAB}raw${TAB}-
	tank/enc/child${TAB}pbkdf2iters${TAB}0${TAB}default
	tank/enc/child${TAB}encryptionroot${TAB}tank/enc${TAB}-
	tank/enc/child${TAB}keystatus${TAB}available${TAB}-
	EOF
	test_cmp expect actual
'

test_expect_success KEYRING 'encryption rows of hex and passphrase roots' '
	props_of encryption,keylocation,keyformat,pbkdf2iters,encryptionroot,keystatus \
		tank/hex tank/pp >actual &&
	cat >expect <<-EOF &&
	tank/hex${TAB}encryption${TAB}aes-256-gcm${TAB}-
	tank/hex${TAB}keylocation${TAB}file://$PWD/hexkey${TAB}local
	tank/hex${TAB}keyformat${TAB}hex${TAB}-
	tank/hex${TAB}pbkdf2iters${TAB}0${TAB}default
	tank/hex${TAB}encryptionroot${TAB}tank/hex${TAB}-
	tank/hex${TAB}keystatus${TAB}available${TAB}-
	tank/pp${TAB}encryption${TAB}aes-256-gcm${TAB}-
	tank/pp${TAB}keylocation${TAB}file://$PWD/pass${TAB}local
	tank/pp${TAB}keyformat${TAB}passphrase${TAB}-
	tank/pp${TAB}pbkdf2iters${TAB}100000${TAB}-
	tank/pp${TAB}encryptionroot${TAB}tank/pp${TAB}-
	tank/pp${TAB}keystatus${TAB}available${TAB}-
	EOF
	test_cmp expect actual
'

test_expect_success KEYRING 'a passphrase root gets 350000 iterations by default' '
	snapseal create -o encryption=on -o keyformat=passphrase \
		-o keylocation="file://$PWD/pass" tank/ppdefault &&
	props_of pbkdf2iters tank/ppdefault >actual &&
	printf "tank/ppdefault\tpbkdf2iters\t350000\t-\n" >expect &&
	test_cmp expect actual
'

test_expect_success KEYRING 'an unencrypted child of an encrypted root' '
	props_of encryption,keylocation,keyformat,pbkdf2iters,encryptionroot,keystatus \
		tank/enc/plain >actual &&
	cat >expect <<-EOF &&
	tank/enc/plain${TAB}encryption${TAB}off${TAB}default
	tank/enc/plain${TAB}keylocation${TAB}none${TAB}default
	tank/enc/plain${TAB}keyformat${TAB}none${TAB}default
	tank/enc/plain${TAB}pbkdf2iters${TAB}0${TAB}default
	tank/enc/plain${TAB}encryptionroot${TAB}-${TAB}-
	tank/enc/plain${TAB}keystatus${TAB}-${TAB}-
	EOF
	test_cmp expect actual
'

test_expect_success KEYRING 'get all of an encrypted dataset ends with the encryption block' '
	snapseal get -H -o property,value,source all tank/enc/child >out &&
	tail -n 6 out >actual &&
	cat >expect <<-EOF &&
	encryption${TAB}aes-256-gcm${TAB}-
	keylocation${TAB}none${TAB}default
	keyformat${TAB}raw${TAB}-
	pbkdf2iters${TAB}0${TAB}default
	encryptionroot${TAB}tank/enc${TAB}-
	keystatus${TAB}available${TAB}-
	EOF
	test_cmp expect actual &&
	test_line_count = 18 out
'

test_expect_success KEYRING 'get all omits encryptionroot and keystatus when unencrypted' '
	snapseal get -H -o property all tank/enc/plain >out &&
	test_grep ! encryptionroot out &&
	test_grep ! keystatus out &&
	test_line_count = 16 out
'

test_expect_success KEYRING 'get all of an encrypted snapshot' '
	echo secret >mnt/enc/file &&
	snapseal snapshot tank/enc@s1 &&
	snapseal get -H -o property,value,source all tank/enc@s1 >out &&
	tail -n 3 out >actual &&
	cat >expect <<-EOF &&
	encryption${TAB}aes-256-gcm${TAB}-
	encryptionroot${TAB}tank/enc${TAB}-
	keystatus${TAB}available${TAB}-
	EOF
	test_cmp expect actual &&
	test_grep ! -E "^(keylocation|keyformat|pbkdf2iters)" out
'

test_expect_success KEYRING 'keylocation can be changed on an encryption root' '
	cp key key.copy &&
	snapseal set keylocation="file://$PWD/key.copy" tank/enc &&
	props_of keylocation tank/enc >actual &&
	printf "tank/enc\tkeylocation\tfile://%s/key.copy\tlocal\n" "$PWD" >expect &&
	test_cmp expect actual &&
	snapseal set keylocation=prompt tank/enc &&
	props_of keylocation tank/enc >actual &&
	printf "tank/enc\tkeylocation\tprompt\tlocal\n" >expect &&
	test_cmp expect actual &&
	snapseal set keylocation="file://$PWD/key" tank/enc
'

test_expect_success KEYRING 'keylocation is refused on a child, none or relative' '
	set_refused "encryption root" tank/enc/child "keylocation=file://$PWD/key" &&
	set_refused "none" tank/enc keylocation=none &&
	set_refused "keylocation" tank/enc keylocation=file://relative/key &&
	set_refused "keylocation" tank/enc keylocation=/no/scheme
'

test_expect_success KEYRING 'encryption properties cannot be set after create' '
	set_refused "encryption" tank/enc encryption=off &&
	set_refused "keyformat" tank/enc keyformat=hex &&
	set_refused "pbkdf2iters" tank/pp pbkdf2iters=200000 &&
	set_refused "readonly" tank/enc encryptionroot=tank &&
	set_refused "readonly" tank/enc keystatus=unavailable
'

test_done
