#!/bin/bash
# demo.sh BUILDDIR: the main job of snapseal, end to end, on one machine.
#
# A temporary SNAPSEAL_HOME, a sample tree standing for the article's
# zdata/jambon data, an encrypted dataset with a raw key file, several
# snapshots, a change, restores compared with the original, unload-key and
# a refused read, load-key and a successful read; then, as in the article,
# raw backups to a "server" (a second home) that never holds the key, an
# incremental, and the emergency opening of the data on the server.  Every step is printed as
# the command a user would type; the script stops at the first surprise.
set -euo pipefail

build=${1:-build/release}
S=$(cd "$build" && pwd -P)/snapseal
T=$(cd "$build" && pwd -P)/sstool
work=$(mktemp -d "${TMPDIR:-/tmp}/snapseal-demo.XXXXXX")
export SNAPSEAL_HOME=$work/home

cleanup() {
	"$S" unload-key -a >/dev/null 2>&1 || true
	SNAPSEAL_HOME=$work/server "$S" unload-key -a >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m# %s\033[0m\n' "$*"; }
run() {
	printf '$ %s\n' "$*"
	"$@"
}
check() {
	if "$@"; then printf '  ok: %s\n' "$*"; else
		printf '  FAILED: %s\n' "$*" >&2; exit 1; fi
}

cd "$work"
step "A pool is a directory; its datasets capture live directories under -m"
run "$S" pool create -m "$work/zdata" zdata
run "$S" pool list

step "The data: a sample tree (the article's sensitive, very important data)"
"$T" gen src 2018 300
mkdir -p src/jambons
"$T" randfile src/jambons/parme.bin $((8 << 20)) 1 random
"$T" randfile src/jambons/blanc.txt $((4 << 20)) 2 text
ln -s jambons/parme.bin src/latest

step "A 32-byte raw key, as in the article (dd if=/dev/random of=key bs=1 count=32)"
run dd if=/dev/urandom of="$work/jambon-key" bs=1 count=32 status=none
run "$S" create -o encryption=on -o keyformat=raw \
	-o keylocation="file://$work/jambon-key" zdata/encrypted
cp -a src/. zdata/encrypted/
run "$S" get encryption,keylocation,keyformat,pbkdf2iters,encryptionroot,keystatus \
	zdata/encrypted

step "Snapshots: 2018, then a change, then 2019 and 2020"
run "$S" snapshot zdata/encrypted@2018
"$T" digest zdata/encrypted >digest-2018
echo "new year, new ham" >zdata/encrypted/jambons/2019.txt
run "$S" snapshot zdata/encrypted@2019
"$T" digest zdata/encrypted >digest-2019
dd if=/dev/zero of=zdata/encrypted/another-file bs=1M count=5 status=none
run "$S" snapshot zdata/encrypted@2020
"$T" digest zdata/encrypted >digest-2020
run "$S" list -t snapshot -o name,used,referenced,written zdata/encrypted
run "$S" list -r zdata

step "Restore each snapshot and compare it with the tree it captured"
for s in 2018 2019 2020; do
	run "$S" restore "zdata/encrypted@$s" "$work/restore-$s"
	"$T" digest "restore-$s" >"restored-$s"
	check cmp -s "digest-$s" "restored-$s"
done

step "Restore a single file from the oldest snapshot"
run "$S" restore zdata/encrypted@2018 "$work/one" jambons/blanc.txt
check cmp -s src/jambons/blanc.txt one/jambons/blanc.txt

step "Close the data set: unload the key; reading is refused"
run "$S" unload-key zdata/encrypted
run "$S" get -H -o value keystatus zdata/encrypted
if "$S" restore zdata/encrypted@2020 "$work/refused" 2>err; then
	echo "  FAILED: restore without the key succeeded" >&2
	exit 1
fi
printf '  refused as expected: %s\n' "$(cat err)"

step "No plaintext anywhere in the pool: names and contents are sealed"
if "$T" grepall "$SNAPSEAL_HOME/zdata" "new year, new ham" ||
	"$T" grepall "$SNAPSEAL_HOME/zdata" "parme.bin"; then
	echo "  FAILED: plaintext found in the pool" >&2
	exit 1
fi
echo "  ok: no file content or file name found in the pool's bytes"

step "Open it again: load the key, read succeeds"
run "$S" load-key zdata/encrypted
run "$S" restore zdata/encrypted@2020 "$work/reopened"
"$T" digest reopened >reopened.digest
check cmp -s digest-2020 reopened.digest

step "Roll the live directory back to 2019"
run "$S" rollback -r zdata/encrypted@2019
"$T" digest zdata/encrypted >rolled
check cmp -s digest-2019 rolled
run "$S" list -t snapshot -o name zdata/encrypted

step "Destroy the oldest snapshot and see the space it held come back"
run "$S" destroy -nv zdata/encrypted@2018
run "$S" destroy zdata/encrypted@2018
run "$S" list -o name,used,referenced -r zdata

step "A backup server that never holds the key (a second home on this machine)"
srv() { SNAPSEAL_HOME=$work/server "$S" "$@"; }
mkdir -p "$work/server"
printf '$ %s\n' "snapseal pool create zbackups   # on the server"
srv pool create -m "$work/zbackups" zbackups
srv create zbackups/encrypted
run "$S" snapshot zdata/encrypted@to-remote-server
printf '$ %s\n' "snapseal send -w zdata/encrypted@to-remote-server | (server) snapseal receive zbackups/encrypted/jambon"
"$S" send -w zdata/encrypted@to-remote-server | srv receive zbackups/encrypted/jambon
srv get encryption,keylocation,encryptionroot,keystatus zbackups/encrypted/jambon
if "$T" grepall "$work/server" "new year, new ham"; then
	echo "  FAILED: plaintext on the server" >&2
	exit 1
fi
echo "  ok: the server holds no plaintext and no key"

step "Back up only the changes of the day"
dd if=/dev/zero of=zdata/encrypted/another-file bs=1M count=5 status=none
run "$S" snapshot zdata/encrypted@work-of-the-day
"$T" digest zdata/encrypted >digest-day
"$S" send -w -i @to-remote-server zdata/encrypted@work-of-the-day >day.stream
printf '  incremental stream: %s bytes\n' "$(wc -c <day.stream)"
srv receive zbackups/encrypted/jambon <day.stream
srv list -t snapshot -o name,used,referenced zbackups/encrypted/jambon

step "Emergency: bring the key to the server and open the data there"
srv set keylocation="file://$work/jambon-key" zbackups/encrypted/jambon
srv load-key zbackups/encrypted/jambon
srv restore zbackups/encrypted/jambon@work-of-the-day "$work/emergency"
"$T" digest emergency >emergency.digest
check cmp -s digest-day emergency.digest
srv unload-key zbackups/encrypted/jambon

printf '\nThe demo ran end to end.\n'
