#!/bin/sh
# The benchmark corpus of scripts/bench.sh: deterministic, built once, reused.
#
#   bench-corpus.sh SSTOOL prepare   build $BENCH_DIR/corpus, or reuse it when
#                                    its stamp matches (undoing a change left
#                                    behind by an interrupted run)
#   bench-corpus.sh SSTOOL change    apply the small change
#   bench-corpus.sh SSTOOL revert    undo it (idempotent)
#   bench-corpus.sh SSTOOL check     compare the corpus with its digest
#   bench-corpus.sh SSTOOL describe  print the corpus parameters as KEY=VALUE
#
# At BENCH_SCALE=1 the corpus is about 1.5 GB:
#   src/             `sstool gen src 1 20000`: 20000 source-like files (~176 MB)
#   big/text.txt     512 MiB of text lines (compressible, about 3:1 with zstd)
#   big/random.bin   768 MiB of random bytes (incompressible), the largest file
# Every count and size is multiplied by BENCH_SCALE.  Times are fixed, so the
# digest (`sstool digest`) of the corpus only depends on the scale, the
# generator's sources and the owner of the files.
#
# The small change: every 100th file of src/ (sorted by name) gets one line
# appended and mtime 1700000000; 1/8 of big/random.bin, at most 64 MiB, in its
# middle, is overwritten with other random bytes (same size, same inode).
# Reverting truncates the appended files back to their size and copies the
# saved range back, restoring the mtimes: the corpus is then identical again,
# directory mtimes included (no entry is ever created or removed).
#
# Files in $BENCH_DIR: corpus/, corpus.stamp, corpus.dirty (while changed),
# state/{changes,range.*,digest.*,bytes.*}.
set -eu

die() { echo "bench-corpus: $*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: bench-corpus.sh SSTOOL prepare|change|revert|check|describe"
sstool=$1
cmd=$2
root=$(cd "$(dirname "$0")/.." && pwd)
bd=${BENCH_DIR:-/tmp/snapseal-bench}
scale=${BENCH_SCALE:-1}
corpus=$bd/corpus
state=$bd/state

awk -v s="$scale" 'BEGIN { exit !(s ~ /^[0-9]*\.?[0-9]+$/ && s + 0 > 0) }' ||
	die "BENCH_SCALE must be a positive number, not '$scale'"
# scaled N MIN: round(N * scale), at least MIN
scaled() { awk -v n="$1" -v s="$scale" -v m="$2" \
	'BEGIN { v = int(n * s + 0.5); print (v < m ? m : v) }'; }
nsmall=$(scaled 20000 100)
text_mib=$(scaled 512 1)
rand_mib=$(scaled 768 1)
range_mib=$((rand_mib / 8))
[ "$range_mib" -gt 64 ] && range_mib=64
[ "$range_mib" -lt 1 ] && range_mib=1
range_off=$(((rand_mib - range_mib) / 2))
t_fixed=1600000000	# mtime of the big files and of their directory
t_changed=1700000000	# mtime of every file the change touches

stamp() {
	echo "snapseal bench corpus v1"
	echo "nsmall=$nsmall text_mib=$text_mib rand_mib=$rand_mib"
	echo "range_mib=$range_mib range_off=$range_off uid=$(id -u)"
	echo "generator=$(cat "$root/tests/tool/gen.c" "$root/tests/tool/rng.c" |
		cksum)"
}

build() {
	echo "bench-corpus: building $corpus (scale $scale)" >&2
	rm -rf "$corpus" "$state" "$bd/corpus.stamp" "$bd/corpus.dirty"
	mkdir -p "$corpus/big" "$state"
	"$sstool" gen "$corpus/src" 1 "$nsmall"
	"$sstool" randfile "$corpus/big/text.txt" "${text_mib}M" 2 text
	"$sstool" randfile "$corpus/big/random.bin" "${rand_mib}M" 3 random
	"$sstool" randfile "$state/range.new" "${range_mib}M" 4 random
	dd if="$corpus/big/random.bin" of="$state/range.orig" bs=1M \
	    skip="$range_off" count="$range_mib" status=none
	touch -m -d "@$t_fixed" "$corpus/big/text.txt" \
	    "$corpus/big/random.bin" "$corpus/big" "$corpus"
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
		awk '{ s += $1 } END { printf "%d\n", s }'
}

change() {
	[ -e "$bd/corpus.dirty" ] && die "corpus already changed"
	: >"$bd/corpus.dirty"
	while read -r size mtime path; do
		echo "bench change: one more line in $path" >>"$corpus/$path"
		touch -m -d "@$t_changed" "$corpus/$path"
	done <"$state/changes"
	dd if="$state/range.new" of="$corpus/big/random.bin" bs=1M \
	    seek="$range_off" conv=notrunc status=none
	touch -m -d "@$t_changed" "$corpus/big/random.bin"
}

revert() {
	while read -r size mtime path; do
		truncate -s "$size" "$corpus/$path"
		touch -m -d "@$mtime" "$corpus/$path"
	done <"$state/changes"
	dd if="$state/range.orig" of="$corpus/big/random.bin" bs=1M \
	    seek="$range_off" conv=notrunc status=none
	touch -m -d "@$t_fixed" "$corpus/big/random.bin"
	rm -f "$bd/corpus.dirty"
}

check() {
	"$sstool" digest "$corpus" | cmp -s - "$state/digest.orig" ||
		die "$corpus differs from its digest (state/digest.orig)"
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
	fi ;;
change) change ;;
revert) revert ;;
check) check ;;
describe)
	echo "nsmall=$nsmall text_mib=$text_mib rand_mib=$rand_mib"
	echo "range_mib=$range_mib nchanged=$(wc -l <"$state/changes")"
	echo "files=$(grep -c ' type=f ' "$state/digest.orig")"
	echo "bytes=$(cat "$state/bytes.orig")"
	echo "bytes_changed=$(cat "$state/bytes.changed")" ;;
*) die "unknown command '$cmd'" ;;
esac
