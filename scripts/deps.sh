#!/bin/sh
# Install the Debian 12 packages snapseal needs, or say exactly what to run.
#   scripts/deps.sh build   compiler, libraries, test tools
#   scripts/deps.sh bench   the above plus restic, borgbackup and
#                           linux-source-6.1 (the source tree of the bench
#                           corpus; without it, and not root, the bench falls
#                           back to a generated tree and says so)
set -eu
what=${1:-build}
pkgs="build-essential pkg-config clang libssl-dev libzstd-dev liblz4-dev \
libxxhash-dev libsqlite3-dev libkeyutils-dev keyutils libfuse3-dev \
openssh-client openssh-server perl attr acl xxd sqlite3"
optional=
[ "$what" = bench ] && pkgs="$pkgs restic borgbackup" &&
	optional=linux-source-6.1
missing=
for p in $pkgs $optional; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
	echo "deps: installing:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null 2>&1 || apt-get update
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
	echo "deps: missing Debian packages; run as root:" >&2
	echo "  apt-get install -y$missing" >&2
	# only optional packages missing: go on without them
	[ "$missing" = " $optional" ] && exit 0
	exit 1
fi
