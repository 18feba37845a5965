#!/bin/sh
# The benchmark corpora of scripts/bench.sh: deterministic, built once, reused.
#
#   bench-corpus.sh SSTOOL prepare   build $BENCH_DIR/corpus, or reuse it when
#                                    its stamp matches (undoing a change left
#                                    behind by an interrupted run)
#   bench-corpus.sh SSTOOL change    apply the small change
#   bench-corpus.sh SSTOOL revert    undo it (idempotent)
#   bench-corpus.sh SSTOOL check     compare the corpus with its digest
#   bench-corpus.sh SSTOOL describe  print the corpus parameters as shell
#                                    assignments (KEY='VALUE')
#   bench-corpus.sh SSTOOL many N    build $BENCH_DIR/many: N tiny files, or
#                                    reuse it when its stamp matches; prints
#                                    its parameters as shell assignments
#
# At BENCH_SCALE=1 the corpus is about 3.4 GB:
#   src/          the Linux source tree of Debian 12's linux-source-6.1
#                 package (/usr/src/linux-source-6.1.tar.xz): about 78,600
#                 files and 1.3 GB, extracted with the extracting user as
#                 owner, modes from the archive (umask 022) and every mtime
#                 set to a fixed time, so that its digest depends only on the
#                 package's version and the owner
#   big/disk.img  2 GiB that look like a disk image: 64 blocks of 32 MiB,
#                 1 GiB of random bytes (incompressible), 768 MiB of text
#                 lines (compressible, about 3:1 with zstd) and 256 MiB of
#                 zeros (written, not holes), each block from its own seed
# BENCH_SCALE multiplies the size of disk.img; below 1, src/ keeps only the
# first files of the tree in path order (byte order), until BENCH_SCALE
# times the tree's bytes is reached.  Without the package (and not root to
# install it), or with BENCH_SRC=gen, src/ is `sstool gen src 1 N` instead,
# N = 80000 * BENCH_SCALE source-like files (about 700 MB at scale 1), and
# the description says so.
#
# The small change: every 100th file of src/ (sorted by name) gets one line
# appended and mtime 1700000000; 1/8 of big/disk.img, at most 64 MiB, in its
# middle, is overwritten with other random bytes (same size, same inode).
# Reverting truncates the appended files back to their size and copies the
# saved range back, restoring the mtimes: the corpus is then identical again,
# directory mtimes included (no entry is ever created or removed).
#
# The many-files tree ($BENCH_DIR/many) is N tiny text files (0 to 1023
# bytes, each different), 100 to a directory, in directories 2 levels deep
# (NNN/NN/fNNNNNNN.txt), made by the small Perl generator below; mtimes
# fixed.  The bench never changes it.
#
# Files in $BENCH_DIR: corpus/, corpus.stamp, corpus.dirty (while changed),
# state/{changes,range.*,digest.*,bytes.*,src,src.kept}, many/, many.stamp,
# many.describe.
set -eu

die() { echo "bench-corpus: $*" >&2; exit 1; }

[ $# -ge 2 ] || die "usage: bench-corpus.sh SSTOOL prepare|change|revert|check|describe|many N"
sstool=$1
cmd=$2
root=$(cd "$(dirname "$0")/.." && pwd)
bd=${BENCH_DIR:-/tmp/snapseal-bench}
scale=${BENCH_SCALE:-1}
corpus=$bd/corpus
state=$bd/state
umask 022

awk -v s="$scale" 'BEGIN { exit !(s ~ /^[0-9]*\.?[0-9]+$/ && s + 0 > 0) }' ||
	die "BENCH_SCALE must be a positive number, not '$scale'"
# scaled N MIN: round(N * scale), at least MIN
scaled() { awk -v n="$1" -v s="$scale" -v m="$2" \
	'BEGIN { v = int(n * s + 0.5); print (v < m ? m : v) }'; }

# src/: the Linux tree, or the generator when it cannot be had
pkg=linux-source-6.1
tarball=/usr/src/$pkg.tar.xz
src_kind=${BENCH_SRC:-linux}
case $src_kind in linux | gen) ;; *) die "BENCH_SRC must be linux or gen" ;; esac
pkg_version=
src_why=
if [ "$src_kind" = linux ]; then
	if [ -r "$tarball" ]; then
		pkg_version=$(dpkg-query -W -f='${Version}' "$pkg" \
		    2>/dev/null) || pkg_version=
		[ -n "$pkg_version" ] || pkg_version="unknown (not from dpkg)"
	else
		src_kind=gen
		src_why="$tarball is missing: run scripts/deps.sh bench as root, or apt-get install $pkg"
	fi
else
	src_why="BENCH_SRC=gen"
fi
nsmall=$(scaled 80000 100)	# gen only

# big/disk.img: 64 blocks of img_mib/64 MiB
img_mib=$(scaled 2048 8)
block_kib=$((img_mib * 16))
# block I's kind: 4 random, 3 text, 1 zero in every 8
block_kind() {
	case $(($1 % 8)) in
	0 | 2 | 4 | 6) echo random ;;
	1 | 5 | 7) echo text ;;
	3) echo zero ;;
	esac
}
range_mib=$((img_mib / 8))
[ "$range_mib" -gt 64 ] && range_mib=64
[ "$range_mib" -lt 1 ] && range_mib=1
range_off=$(((img_mib - range_mib) / 2))
t_fixed=1600000000	# mtime of every file and directory of the corpus
t_changed=1700000000	# mtime of every file the change touches

stamp() {
	echo "snapseal bench corpus v2"
	if [ "$src_kind" = linux ]; then
		echo "src=linux $pkg $pkg_version" \
		    "$(stat -c '%s %Y' "$tarball") scale=$scale"
	else
		echo "src=gen nsmall=$nsmall"
	fi
	echo "img_mib=$img_mib block_kib=$block_kib layout=RTRZRTRT"
	echo "range_mib=$range_mib range_off=$range_off uid=$(id -u)"
	echo "generator=$(cat "$root/tests/tool/gen.c" "$root/tests/tool/rng.c" |
		cksum)"
}

# assign NAME VALUE: NAME='VALUE' for the shell's eval, quotes escaped
assign() {
	printf "%s='%s'\n" "$1" "$(printf '%s' "$2" | sed "s/'/'\\\\''/g")"
}

# build_src: $corpus/src, and state/src (its description, shell assignments)
build_src() {
	local_files='' local_bytes='' local_desc=''
	if [ "$src_kind" = gen ]; then
		echo "bench-corpus: src/: sstool gen src 1 $nsmall" >&2
		"$sstool" gen "$corpus/src" 1 "$nsmall"
		local_desc="GENERATED by sstool gen src 1 $nsmall, not the Linux source tree ($src_why)"
	else
		echo "bench-corpus: extracting $tarball ($pkg $pkg_version)" >&2
		mkdir -p "$corpus/src"
		tar -xJf "$tarball" -C "$corpus/src" --strip-components=1 \
		    --no-same-owner --no-same-permissions
		local_desc="$pkg $pkg_version (/usr/src/$pkg.tar.xz)"
		if awk -v s="$scale" 'BEGIN { exit !(s < 1) }'; then
			subset
			local_desc="$local_desc, a subset: $(cat "$state/src.kept")"
		else
			local_desc="$local_desc, the whole tree"
		fi
		# fixed mtimes, directories last (removing entries changes them)
		find "$corpus/src" ! -type d -exec touch -h -m -d "@$t_fixed" {} +
		find "$corpus/src" -type d -exec touch -m -d "@$t_fixed" {} +
	fi
	local_files=$(find "$corpus/src" -type f | wc -l)
	local_bytes=$(find "$corpus/src" -type f -printf '%s\n' |
		awk '{ s += $1 } END { printf "%.0f\n", s }')
	{
		assign src_kind "$src_kind"
		assign src_desc "$local_desc"
		assign src_files "$local_files"
		assign src_bytes "$local_bytes"
	} >"$state/src"
}

# subset: keep the first files (any non-directory) of src/ in byte order of
# their paths until scale * the tree's bytes is reached; remove the rest
# and the directories left empty
subset() {
	(cd "$corpus/src" && find . ! -type d -printf '%P\t%s\n' | LC_ALL=C sort |
	    awk -F'\t' -v s="$scale" -v kept="$state/src.kept" '
		{ p[NR] = $1; z[NR] = $2; t += $2 }
		END { b = s * t
		      for (i = 1; i <= NR; i++) {
			if (c < b) { c += z[i]; n++ } else print p[i] }
		      printf("the first %d of its %d files and symlinks in path order, %.1f%% of its %.0f bytes\n",
			  n, NR, 100 * c / t, t) > kept }' |
	    xargs -r -d '\n' rm -f -- &&
	    find . -mindepth 1 -depth -type d -empty -delete)
}

build_img() {
	local_i=0 local_k=
	: >"$corpus/big/disk.img"
	while [ "$local_i" -lt 64 ]; do
		local_k=$(block_kind "$local_i")
		"$sstool" randfile "$state/block" "${block_kib}K" \
		    "disk.img block $local_i" "$local_k"
		cat "$state/block" >>"$corpus/big/disk.img"
		local_i=$((local_i + 1))
	done
	rm -f "$state/block"
}

build() {
	echo "bench-corpus: building $corpus (scale $scale)" >&2
	rm -rf "$corpus" "$state" "$bd/corpus.stamp" "$bd/corpus.dirty"
	mkdir -p "$corpus/big" "$state"
	build_src
	build_img
	"$sstool" randfile "$state/range.new" "${range_mib}M" 4 random
	dd if="$corpus/big/disk.img" of="$state/range.orig" bs=1M \
	    skip="$range_off" count="$range_mib" status=none
	touch -m -d "@$t_fixed" "$corpus/big/disk.img" "$corpus/big" "$corpus"
	# "SIZE MTIME PATH" of every 100th small file, to append to and revert
	(cd "$corpus" && find src -type f -print | LC_ALL=C sort |
		awk 'NR % 100 == 1' | while IFS= read -r f; do
			stat -c '%s %.9Y %n' "$f"
		done) >"$state/changes"
	"$sstool" digest "$corpus" >"$state/digest.orig"
	total >"$state/bytes.orig"
	change
	"$sstool" digest "$corpus" >"$state/digest.changed"
	total >"$state/bytes.changed"
	revert
	check
	stamp >"$bd/corpus.stamp"
}

# total: the bytes of every regular file of the corpus
total() {
	find "$corpus" -type f -printf '%s\n' |
		awk '{ s += $1 } END { printf "%.0f\n", s }'
}

change() {
	[ -e "$bd/corpus.dirty" ] && die "corpus already changed"
	: >"$bd/corpus.dirty"
	while read -r size mtime path; do
		echo "bench change: one more line in $path" >>"$corpus/$path"
		touch -m -d "@$t_changed" "$corpus/$path"
	done <"$state/changes"
	dd if="$state/range.new" of="$corpus/big/disk.img" bs=1M \
	    seek="$range_off" conv=notrunc status=none
	touch -m -d "@$t_changed" "$corpus/big/disk.img"
}

revert() {
	while read -r size mtime path; do
		truncate -s "$size" "$corpus/$path"
		touch -m -d "@$mtime" "$corpus/$path"
	done <"$state/changes"
	dd if="$state/range.orig" of="$corpus/big/disk.img" bs=1M \
	    seek="$range_off" conv=notrunc status=none
	touch -m -d "@$t_fixed" "$corpus/big/disk.img"
	rm -f "$bd/corpus.dirty"
}

check() {
	"$sstool" digest "$corpus" | cmp -s - "$state/digest.orig" ||
		die "$corpus differs from its digest (state/digest.orig)"
}

describe() {
	cat "$state/src"
	echo "img_mib='$img_mib'"
	awk -v b="$block_kib" 'function m(k) { k /= 1024
		return k == int(k) ? sprintf("%d", k) : sprintf("%.1f", k) }
	    BEGIN { printf "img_desc=\047%s MiB random, %s MiB text, " \
		"%s MiB zeros, in 64 blocks of %s MiB\047\n",
		m(32 * b), m(24 * b), m(8 * b), m(b) }'
	echo "range_mib='$range_mib'"
	echo "nchanged='$(wc -l <"$state/changes")'"
	echo "files='$(grep -c ' type=f ' "$state/digest.orig")'"
	echo "bytes='$(cat "$state/bytes.orig")'"
	echo "bytes_changed='$(cat "$state/bytes.changed")'"
}

# ---------- the many-files tree ----------

# many_gen DIR N: N files of 0 to 1023 bytes (text: a header line naming
# the file, then a slice of a fixed pseudo-random pool of words), 100 to a
# directory, DIR/NNN/NN/fNNNNNNN.txt; files 0644, directories 0755, every
# mtime T
# shellcheck disable=SC2016
many_pl='use strict; use warnings;
my ($dir, $n, $t) = @ARGV;
my $x = 12345; my $pool = "";
my @w = qw(the of and to in is for on that with as by it from at be this
    not are or an was which file data block tree node page buffer read write
    size offset length count index entry struct static const return void int);
while (length($pool) < 65536) {
	$x = ($x * 1103515245 + 12345) % 2147483648;
	$pool .= $w[($x >> 16) % @w] . ((($x >> 8) % 13) ? " " : "\n");
}
my ($top, $leaf) = (-1, -1);
mkdir $dir or die "mkdir $dir: $!";
for (my $i = 0; $i < $n; $i++) {
	my $d = int($i / 100);
	my $dt = sprintf("%s/%03d", $dir, int($d / 100));
	my $dl = sprintf("%s/%02d", $dt, $d % 100);
	if ($d != $leaf) {
		if (int($d / 100) != $top) {
			mkdir $dt or die "mkdir $dt: $!";
			$top = int($d / 100);
		}
		mkdir $dl or die "mkdir $dl: $!";
		$leaf = $d;
	}
	my $size = ($i * 2654435761) % 4294967296 % 1024;
	my $s = "many-files bench corpus, file $i of $n\n";
	$s .= substr($pool, ($i * 7919) % 64000, 1023);
	my $p = sprintf("%s/f%07d.txt", $dl, $i);
	open(my $f, ">", $p) or die "$p: $!";
	print $f substr($s, 0, $size) or die "$p: $!";
	close($f) or die "$p: $!";
	utime($t, $t, $p) or die "$p: $!";
}
my @dirs;
for (my $d = 0; $d <= int(($n - 1) / 100); $d++) {
	push @dirs, sprintf("%s/%03d/%02d", $dir, int($d / 100), $d % 100);
	push @dirs, sprintf("%s/%03d", $dir, int($d / 100)) if $d % 100 == 99
	    || $d == int(($n - 1) / 100);
}
push @dirs, $dir;
utime($t, $t, @dirs) == @dirs or die "utime: $!";
'

many_stamp() {
	echo "snapseal bench many-files v1"
	echo "n=$1 uid=$(id -u)"
	echo "generator=$(printf '%s' "$many_pl" | cksum)"
}

# many N: build or reuse $bd/many; print its description
many() {
	local_n=$1 local_dir=$bd/many
	case $local_n in '' | *[!0-9]* | 0) die "many: N must be a positive integer" ;; esac
	mkdir -p "$bd"
	if [ -f "$bd/many.stamp" ] && [ -f "$bd/many.describe" ] &&
	    many_stamp "$local_n" | cmp -s - "$bd/many.stamp" &&
	    [ "$(find "$local_dir" -type f | wc -l)" -eq "$local_n" ]; then
		echo "bench-corpus: reusing $local_dir" >&2
	else
		echo "bench-corpus: building $local_dir ($local_n files)" >&2
		rm -rf "$local_dir" "$bd/many.stamp" "$bd/many.describe"
		perl -e "$many_pl" "$local_dir" "$local_n" "$t_fixed" ||
			die "could not generate $local_dir"
		{
			echo "many_files='$local_n'"
			echo "many_dirs='$(find "$local_dir" -type d | wc -l)'"
			echo "many_bytes='$(find "$local_dir" -type f -printf '%s\n' |
				awk '{ s += $1 } END { printf "%.0f\n", s }')'"
			echo "many_digest='$("$sstool" digest "$local_dir" |
				sha256sum | cut -c1-16)'"
		} >"$bd/many.describe"
		many_stamp "$local_n" >"$bd/many.stamp"
	fi
	cat "$bd/many.describe"
}

case $cmd in
prepare)
	mkdir -p "$bd"
	if [ -f "$bd/corpus.stamp" ] && stamp | cmp -s - "$bd/corpus.stamp"
	then
		if [ -e "$bd/corpus.dirty" ]; then
			echo "bench-corpus: undoing a change left by an" \
			    "interrupted run" >&2
			revert
		fi
		if check 2>/dev/null; then
			echo "bench-corpus: reusing $corpus" >&2
		else
			build
		fi
	else
		build
	fi
	if [ "$src_kind" = gen ]; then
		echo "bench-corpus: NOTE: src/ is generated, not the Linux" \
		    "source tree: $src_why" >&2
	fi ;;
change) change ;;
revert) revert ;;
check) check ;;
describe) describe ;;
many) [ $# -eq 3 ] || die "usage: bench-corpus.sh SSTOOL many N"
	many "$3" ;;
*) die "unknown command '$cmd'" ;;
esac
