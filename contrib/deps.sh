#!/bin/sh
# deps.sh: install the Debian packages sluice needs to build, test and run.
# Checks first and touches nothing when everything is present; otherwise says
# what it installs and runs apt-get. Run by make when configure has not run yet.
set -e

# Building and running sluice.
PKGS="autoconf automake pkg-config make g++ libevent-dev libssl-dev openssl \
libjansson-dev libluajit-5.1-dev libsqlite3-dev"
# Testing and trying it: Criterion (unit and integration tests), mandoc
# (make lint), prometheus (promtool, the API tests), curl (to query the
# API, as make demo suggests; make bench reads /metrics with it), clang
# and its runtime with libFuzzer (make fuzz-ci, which make check runs),
# sqlite3 (to look into the history database).
TEST_PKGS="libcriterion-dev mandoc prometheus curl clang libclang-rt-14-dev \
sqlite3"

missing=""
for p in $PKGS $TEST_PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done

if [ -z "$missing" ]; then
	[ "$1" = "-q" ] || echo "deps: all build dependencies present"
	exit 0
fi

echo "deps: installing missing packages:$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=sudo
	else
		echo "deps: not root and no sudo; install as root:$missing" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
echo "deps: done"
