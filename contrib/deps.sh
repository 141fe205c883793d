#!/bin/sh
# deps.sh: install the Debian packages sluice needs, one group at a time.
#
# usage: contrib/deps.sh [-q] [-n] [group ...]
#
#	build	compile and install sluice ("make", "make install"); the
#		default, and part of every other group
#	test	"make check": the test tools
#	package	"make deb" and "make check-deb": Debian's packaging tools
#
# -q says nothing when nothing is missing; -n only lists what is missing
# (exit 1 if anything is). It checks first and touches nothing when every
# package is there; otherwise it says what it installs and runs apt-get (as
# root, or through sudo). The Makefile runs it with the groups its goals
# need: "make" the build group only, "make check" the test group too.
#
# Nothing it installs is left enabled or running. Some packages here (or
# their dependencies) ship a service: prometheus (for promtool) would start
# a Prometheus server on :9090, redis-server a Redis. A policy-rc.d that
# answers 101 keeps invoke-rc.d and deb-systemd-invoke from starting
# anything during the install (unless one is there already), and afterwards
# every systemd unit and init script of a package this run installed is
# disabled, and stopped if it runs. "systemctl enable --now NAME" undoes
# that for a service you want.
set -e

# build: a C++20 compiler, autoconf (aclocal, autoconf; automake provides
# aclocal's macros), pkg-config, and the libraries' -dev packages (hiredis
# for switch.redis, SQLite for the hashrate history, gperftools' profiler
# for /debug/profile, wslay for WebSocket miners' framing).
BUILD_PKGS="autoconf automake pkg-config make g++ libevent-dev libssl-dev \
libjansson-dev libluajit-5.1-dev libhiredis-dev libsqlite3-dev \
libgoogle-perftools-dev libwslay-dev"
# test: Criterion (unit and integration tests), the openssl command (test
# certificates), mandoc (make lint), prometheus (only for promtool, which
# checks /metrics; its server is left off, above), curl (to query the API,
# as make demo suggests; make bench reads /metrics with it), clang and its
# runtime with libFuzzer (make fuzz-ci), redis-server (the redis tests
# start their own on a free port; the packaged service is left off,
# above), haproxy (the PROXY protocol tests put one in front of two
# sluice processes on loopback; its packaged service is left off, above),
# headless Chromium with its driver and Selenium for Debian's
# python3 (make check-browser: the dashboard in a real browser), sqlite3
# (to look into the history database), and python3-jsonschema (make
# check-grafana: the Grafana dashboard's schema), google-pprof
# (google-perftools: reads the profile /debug/profile answers), and
# python3-websockets (the WebSocket miners of the transport tests).
TEST_PKGS="libcriterion-dev openssl mandoc prometheus curl clang \
libclang-rt-14-dev redis-server haproxy chromium chromium-driver \
python3-selenium sqlite3 python3-jsonschema google-perftools \
python3-websockets"
# package: dpkg-buildpackage and debhelper (make deb), Criterion (the unit
# tests the package build runs, debian/control's Build-Depends), lintian
# (run on the package), debootstrap (make check-deb builds a clean
# bookworm root to install it in) and systemd's systemd-analyze (verifies
# the unit).
PACKAGE_PKGS="dpkg-dev debhelper libcriterion-dev lintian debootstrap systemd"

quiet=""
dry=""
while getopts "qn" opt; do
	case $opt in
	q) quiet=1 ;;
	n) dry=1 ;;
	*) echo "usage: $0 [-q] [-n] [build|test|package ...]" >&2; exit 1 ;;
	esac
done
shift $((OPTIND - 1))

pkgs="$BUILD_PKGS"
for g in "$@"; do
	case $g in
	build) ;;
	test) pkgs="$pkgs $TEST_PKGS" ;;
	package) pkgs="$pkgs $PACKAGE_PKGS" ;;
	*) echo "deps: unknown group $g (build, test, package)" >&2; exit 1 ;;
	esac
done

# The packages installed now, one per line, sorted.
installed() {
	dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' 2>/dev/null |
	    awk '$1 == "ii" { print $2 }' | sort
}

missing=""
for p in $pkgs; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) case " $missing " in *" $p "*) ;; *) missing="$missing $p" ;; esac ;;
	esac
done

if [ -z "$missing" ]; then
	[ -n "$quiet" ] || echo "deps: all packages present (${*:-build})"
	exit 0
fi
if [ -n "$dry" ]; then
	echo "deps: missing:$missing"
	exit 1
fi

echo "deps: installing missing packages (${*:-build}):$missing"
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

# Start no service while installing, unless a policy-rc.d is there already
# (it then decides; whatever it let start is stopped below).
policy=/usr/sbin/policy-rc.d
own_policy=""
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# contrib/deps.sh: start no service while installing.\nexit 101\n' |
	    $SUDO tee "$policy" >/dev/null
	$SUDO chmod 755 "$policy"
	own_policy=1
fi
trap '[ -z "$own_policy" ] || $SUDO rm -f "$policy"' EXIT

before=$(mktemp)
installed >"$before"
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing

# Every service of a package this run installed, the dependencies' too:
# disabled, and stopped where it runs.
systemd_up=""
[ -d /run/systemd/system ] && systemd_up=1
off=""
for p in $(installed | comm -13 "$before" -); do
	for f in $(dpkg-query -L "$p" 2>/dev/null); do
		case $f in
		/lib/systemd/system/*@.* | /usr/lib/systemd/system/*@.*) ;;
		/lib/systemd/system/*.service | /lib/systemd/system/*.socket | \
		/lib/systemd/system/*.timer | /lib/systemd/system/*.path | \
		/usr/lib/systemd/system/*.service | \
		/usr/lib/systemd/system/*.socket | \
		/usr/lib/systemd/system/*.timer | /usr/lib/systemd/system/*.path)
			u=${f##*/}
			[ "${f%/*}" = /lib/systemd/system ] ||
			    [ "${f%/*}" = /usr/lib/systemd/system ] || continue
			command -v systemctl >/dev/null 2>&1 || continue
			if [ -n "$systemd_up" ]; then
				if systemctl is-enabled --quiet "$u" 2>/dev/null ||
				    systemctl is-active --quiet "$u" 2>/dev/null; then
					$SUDO systemctl disable --now --quiet "$u" ||
					    { echo "deps: cannot disable $u" >&2;
					    exit 1; }
					off="$off $u"
				fi
			elif systemctl is-enabled --quiet "$u" 2>/dev/null; then
				$SUDO systemctl disable --quiet "$u" \
				    >/dev/null 2>&1 || true
				off="$off $u"
			fi
			;;
		/etc/init.d/?*)
			s=${f##*/}
			[ -x "$f" ] || continue
			if [ -z "$systemd_up" ] &&
			    "$f" status >/dev/null 2>&1; then
				$SUDO "$f" stop >/dev/null 2>&1 || true
				off="$off $s(stopped)"
			fi
			if command -v update-rc.d >/dev/null 2>&1 &&
			    ls /etc/rc[2-5].d/S??"$s" >/dev/null 2>&1; then
				$SUDO update-rc.d "$s" disable >/dev/null 2>&1 ||
				    true
				off="$off $s(init.d)"
			fi
			;;
		esac
	done
done
rm -f "$before"
if [ -n "$off" ]; then
	echo "deps: left disabled and stopped:$off"
	echo "deps: (the tests start their own; \"systemctl enable --now NAME\"" \
	    "if you want one)"
fi
echo "deps: done"
