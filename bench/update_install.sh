#!/bin/sh
# update_install: install of an OS image package on an emulated device from
# a local rampart-server, end to end (download, verify, write, switch), side
# by side with `curl -o` of the same file from the same server followed by
# `openssl dgst -sha256`, in the same run. Prints both, the ratio (target
# <= 1.3x) and rampartd's peak RSS during the install (target < 8 MiB).
#
#   bench/update_install.sh BUILD_DIR [SIZE_MIB (64)] [RUNS (3)]
#
# The details of what each side does are in bench/update_install.py.
set -eu
build=${1:?usage: bench/update_install.sh BUILD_DIR [SIZE_MIB] [RUNS]}
case "$build" in /*) ;; *) build="$(pwd)/$build" ;; esac
for t in curl openssl /usr/bin/python3; do
        command -v "$t" >/dev/null 2>&1 || { echo "update_install: $t not installed" >&2; exit 1; }
done
[ -x "$build/src/runtime/rampartd" ] || { echo "update_install: $build/src/runtime/rampartd not built" >&2; exit 1; }
exec /usr/bin/python3 "$(dirname "$0")/update_install.py" "$build" "${2:-64}" "${3:-3}"
