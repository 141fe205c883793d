#!/bin/sh
# install-user.sh: the part of "make install" that needs root: the system
# user the unit runs as, and what it must read and write.
#
# usage: contrib/install-user.sh [-s DESTDIR] CONFIG STATEDIR LOGDIR
#
# As root: makes the system user and group "sluice" if missing (adduser
# --system --group, or useradd where there is no adduser), gives CONFIG to
# root:sluice mode 0640 (only if its group is root or sluice: another group
# is the operator's choice and is left alone), and makes STATEDIR and
# LOGDIR owned by sluice, mode 0750. Prints each thing it did or found.
# With -s (a staged install into DESTDIR, for a package) or when not root,
# it changes nothing and says what is left to do. The Debian package does
# the same in debian/sluice-proxy.postinst.
set -e

USER=sluice
staged=""
if [ "$1" = "-s" ]; then
	staged=$2
	shift 2
fi
[ $# -eq 3 ] || { echo "usage: $0 [-s DESTDIR] CONFIG STATEDIR LOGDIR" >&2
    exit 1; }
CONFIG=$1
STATEDIR=$2
LOGDIR=$3

say() {
	echo "install: $*"
}

if [ -n "$staged" ] || [ "$(id -u)" != 0 ]; then
	if [ -n "$staged" ]; then
		say "staged in $staged: the $USER user and ownership are left" \
		    "to the package (debian/sluice-proxy.postinst does them)"
	else
		say "not root: the $USER user and ownership are left undone"
	fi
	say "the unit runs as user $USER: as root, create it and run" \
	    "contrib/install-user.sh $CONFIG $STATEDIR $LOGDIR"
	exit 0
fi

# The user and group.
if ! getent group "$USER" >/dev/null; then
	if command -v addgroup >/dev/null 2>&1; then
		addgroup --quiet --system "$USER"
	else
		groupadd --system "$USER"
	fi
	say "created system group $USER ($(getent group "$USER" | cut -d: -f3))"
fi
if getent passwd "$USER" >/dev/null; then
	say "system user $USER exists (uid $(id -u "$USER"))"
else
	if command -v adduser >/dev/null 2>&1; then
		adduser --quiet --system --ingroup "$USER" --home "$STATEDIR" \
		    --no-create-home "$USER"
	else
		useradd --system --gid "$USER" --home-dir "$STATEDIR" \
		    --no-create-home --shell /usr/sbin/nologin "$USER"
	fi
	say "created system user $USER (uid $(id -u "$USER"), group $USER," \
	    "home $STATEDIR, no login shell)"
fi

# The configuration: root writes it, the service reads it, nobody else.
if [ -e "$CONFIG" ]; then
	group=$(stat -c %G "$CONFIG")
	if [ "$group" = root ] || [ "$group" = "$USER" ]; then
		chown "root:$USER" "$CONFIG"
		chmod 0640 "$CONFIG"
		say "$CONFIG: owner root, group $USER, mode 0640 (the service" \
		    "reads it; it holds pool passwords)"
	else
		say "$CONFIG: group $group left as it is; user $USER must be" \
		    "able to read it"
	fi
fi

# The state and log folders.
for d in "$STATEDIR" "$LOGDIR"; do
	install -d -o "$USER" -g "$USER" -m 0750 "$d"
	say "$d: owner $USER, mode 0750"
done

say "start it with: systemctl daemon-reload && systemctl enable --now sluice"
