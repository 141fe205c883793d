#!/bin/sh
# deps.sh: install the Debian packages sluice needs to build, test and run.
# Checks first and touches nothing when everything is present; otherwise says
# what it installs and runs apt-get. Run by make when configure has not run yet.
set -e

# Building and running sluice.
PKGS="autoconf automake pkg-config make g++ libevent-dev libssl-dev openssl \
libjansson-dev libluajit-5.1-dev libhiredis-dev libsqlite3-dev"
# Testing and trying it: Criterion (unit and integration tests), mandoc
# (make lint), prometheus (promtool, the API tests), curl (to query the
# API, as make demo suggests; make bench reads /metrics with it), clang
# and its runtime with libFuzzer (make fuzz-ci, which make check runs),
# redis-server (the redis tests start their own on a free port; the
# packaged service is never left running), headless Chromium with its
# driver and Selenium for Debian's python3 (make check-browser: the
# dashboard in a real browser), and sqlite3 (to look into the history
# database).
TEST_PKGS="libcriterion-dev mandoc prometheus curl clang libclang-rt-14-dev \
redis-server chromium chromium-driver python3-selenium sqlite3"

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
# Packages that bring a service (redis-server) must not start it: a
# policy-rc.d that says no (101) keeps invoke-rc.d and deb-systemd-invoke
# from starting anything during the install, unless one is there already.
policy=/usr/sbin/policy-rc.d
own_policy=""
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# deps.sh: start no service while installing.\nexit 101\n' |
	    $SUDO tee "$policy" >/dev/null
	$SUDO chmod 755 "$policy"
	own_policy=1
fi
trap '[ -z "$own_policy" ] || $SUDO rm -f "$policy"' EXIT
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
# The tests run their own redis-server; leave the packaged one neither
# enabled nor running, with systemd (stop it too) or without (the links).
case " $missing " in
*" redis-server "*)
	if [ -d /run/systemd/system ]; then
		$SUDO systemctl disable --now redis-server.service ||
		    { echo "deps: cannot disable redis-server.service" >&2;
		    exit 1; }
	elif command -v systemctl >/dev/null 2>&1; then
		$SUDO systemctl disable redis-server.service >/dev/null 2>&1 ||
		    true
	fi
	if [ ! -d /run/systemd/system ] && [ -x /etc/init.d/redis-server ]
	then
		$SUDO /etc/init.d/redis-server stop >/dev/null 2>&1 || true
	fi
	if command -v update-rc.d >/dev/null 2>&1 &&
	    [ -e /etc/init.d/redis-server ]; then
		$SUDO update-rc.d redis-server disable >/dev/null 2>&1 || true
	fi
	;;
esac
echo "deps: done"
