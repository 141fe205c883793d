#!/bin/sh
# mkdeb.sh: "make deb". Builds the Debian package sluice-proxy (Debian has
# another "sluice") from debian/ with
# dpkg-buildpackage -us -uc -b in a clean copy of the source, so that the
# package's clean and build steps never touch the work tree (its build/,
# its config.mk), then runs lintian on it if lintian is installed.
#
# usage: contrib/mkdeb.sh OUTDIR
#
# The copy is the tracked and the untracked-but-not-ignored files of the
# work tree as they are now (git ls-files), or, outside git, the tree
# without build output. The .deb, .buildinfo and .changes end up in OUTDIR,
# with the build's log in OUTDIR/build.log. Fails if debian/changelog's
# version is not configure.ac's. DEB_BUILD_OPTIONS=nocheck skips the unit
# tests. The last line names the .deb.
set -eu

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 1; }
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
cd "$SRCDIR"

version=$(dpkg-parsechangelog -S Version)
upstream=$(sed -n 's/^AC_INIT(\[sluice\], \[\([^]]*\)\].*/\1/p' configure.ac)
if [ "$version" != "$upstream" ]; then
	echo "mkdeb: debian/changelog says $version, configure.ac $upstream:" \
	    "add a changelog entry (dch -v $upstream)" >&2
	exit 1
fi
arch=$(dpkg --print-architecture)

pkg=$(dpkg-parsechangelog -S Source)
src="$OUT/$pkg-$version"
rm -rf "$src" "$OUT/${pkg}_${version}"_* "$OUT/$pkg-dbgsym_${version}"_*
mkdir -p "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard |
	    tar --null -T - --ignore-failed-read -cf - 2>/dev/null |
	    tar -C "$src" -xf -
else
	tar --exclude=./build --exclude='./build-*' --exclude=./sluice \
	    --exclude=./config.mk --exclude=./config.status \
	    --exclude=./config.log --exclude=./configure \
	    --exclude=./aclocal.m4 --exclude=./autom4te.cache -cf - . |
	    tar -C "$src" -xf -
fi

echo "mkdeb: dpkg-buildpackage -us -uc -b in $src (log: $OUT/build.log)"
if ! (cd "$src" && dpkg-buildpackage -us -uc -b -jauto) >"$OUT/build.log" 2>&1
then
	tail -n 60 "$OUT/build.log" >&2
	echo "mkdeb: dpkg-buildpackage failed; the whole log is" \
	    "$OUT/build.log" >&2
	exit 1
fi
grep -E '^dpkg-deb: building package' "$OUT/build.log" || true

deb="$OUT/${pkg}_${version}_$arch.deb"
[ -f "$deb" ] || { echo "mkdeb: no $deb" >&2; exit 1; }
if command -v lintian >/dev/null 2>&1; then
	echo "mkdeb: lintian (an error or a warning fails the build)"
	lintian --fail-on error,warning --info \
	    "$OUT/${pkg}_${version}_$arch.changes"
else
	echo "mkdeb: lintian is not installed (contrib/deps.sh package)"
fi
dpkg-deb --info "$deb" | sed -n 's/^ \(Depends\|Installed-Size\):/  \1:/p'
echo "mkdeb: $deb"
