#!/bin/sh
# Installs the Debian packages in tools/debian-packages.txt that are missing.
# Uses sudo when not root; runs `apt-get update` only when something is
# missing. Safe to run again: it does nothing when all are present.
set -eu
here=$(dirname "$0")
missing=""
for p in $(grep -v '^#' "$here/debian-packages.txt" | grep -v '^$'); do
        status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
        esac
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
# The benchmark's nginx must not hold port 80 as a system service.
if [ -d /run/systemd/system ] && echo "$missing" | grep -q nginx; then
        $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true
fi
