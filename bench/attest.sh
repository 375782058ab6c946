#!/bin/sh
# attest: full attestations (nonce + simpleenroll, a new TLS connection
# each) from many simulated devices against a real rampart-server on
# loopback. Prints attestations/s, p50/p99 latency, and the server's CPU
# time per attestation next to the pure crypto cost of the same operations
# measured with the same OpenSSL in the same run (target: ratio <= 2).
#
#   bench/attest.sh BUILD_DIR [ATTESTATIONS] [DEVICES] [CLIENT_THREADS]
#
# Set-up (not measured): a manufacturer, DEVICES provisioned device
# directories (real DICE identities), the registry import, one tenant with
# every device claimed into its Development group, and the OS release the
# simulated devices measure. The server runs pinned to one CPU and the load
# generator to the others when there are several, so the two do not share
# a core. Its per-client rate limit is off (--rate-limit 0): the load
# generator is one client address.
set -eu
build=${1:?usage: bench/attest.sh BUILD_DIR [ATTESTATIONS] [DEVICES] [CLIENT_THREADS]}
n=${2:-1000}
ndev=${3:-64}
threads=${4:-4}
case "$build" in /*) ;; *) build="$(pwd)/$build" ;; esac
server_bin="$build/src/server/rampart-server"
bench_bin="$build/bench/rampart-bench-attest"
rampart="$build/src/cli/rampart"
device="$build/src/boot/rampart-device"
for b in "$server_bin" "$bench_bin" "$rampart" "$device"; do
        [ -x "$b" ] || { echo "attest: $b not built" >&2; exit 1; }
done
for t in curl jq; do
        command -v "$t" >/dev/null 2>&1 || { echo "attest: $t not installed" >&2; exit 1; }
done

tmp=$(mktemp -d)
srv_pid=""
cleanup() {
        [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null && wait "$srv_pid" 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

ncpu=$(nproc)
if [ "$ncpu" -ge 2 ]; then
        pin_srv="taskset -c 0"
        pin_gen="taskset -c 1-$((ncpu - 1))"
else
        pin_srv=""
        pin_gen=""
fi

$pin_srv "$server_bin" --listen 127.0.0.1:0 --data "$tmp/data" --rate-limit 0 \
        >"$tmp/server.out" 2>"$tmp/server.log" &
srv_pid=$!
i=0
until grep -q '^rampart-server: ready' "$tmp/server.out" 2>/dev/null; do
        i=$((i + 1)); [ $i -gt 300 ] && { echo "attest: server did not start" >&2; cat "$tmp/server.log" >&2; exit 1; }
        sleep 0.1
done
url=$(sed -n 's/^rampart-server: listening on \(https:[^ ]*\).*/\1/p' "$tmp/server.out" | head -1)
boot=$(sed -n 's/^rampart-server: bootstrap platform token.*: \(rpt_[A-Za-z0-9_-]*\).*/\1/p' "$tmp/server.out")

api() { # METHOD PATH TOKEN [BODY] [CONTENT-TYPE]
        curl -skf -X "$1" "$url$2" -H "Authorization: Bearer $3" \
                -H "Content-Type: ${5:-application/json}" ${4:+--data-binary "$4"}
}

echo "attest: setting up $ndev devices..." >&2
"$rampart" keys mfg-init --out "$tmp/mfg" >/dev/null
"$rampart" keys generate --out "$tmp/platform.key" --pub "$tmp/platform.pub" >/dev/null
api POST /api/v1/manufacturers "$boot" \
        "$(jq -n --rawfile pem "$tmp/mfg/root-ca.pem" '{name: "bench-mfg", root_pem: $pem}')" >/dev/null
j=0
devs=""
while [ $j -lt "$ndev" ]; do
        j=$((j + 1))
        "$device" provision "$tmp/dev$j" --mfg-ca "$tmp/mfg" --records "$tmp/records.jsonl" \
                --platform-key "$tmp/platform.pub" >/dev/null
        devs="$devs $tmp/dev$j"
done
api POST /api/v1/registry/import "$boot" "@$tmp/records.jsonl" application/x-ndjson >/dev/null
ten=$(api POST /api/v1/tenants "$boot" '{"name":"bench"}')
tid=$(echo "$ten" | jq -r .tenant.id)
admin=$(echo "$ten" | jq -r .admin_token.token)
grp=$(api POST /api/v1/products "$admin" '{"name":"bench-product"}' |
        jq -r '.device_groups[] | select(.name == "Development") | .id')
jq -r .ueid "$tmp/records.jsonl" | while read -r ueid; do
        api POST /api/v1/devices "$admin" "{\"ueid\":\"$ueid\",\"group\":\"$grp\"}" >/dev/null
done
fwid=$(printf 'rampart-os-1.0.0' | sha256sum | cut -d' ' -f1)
api POST /api/v1/os-releases "$boot" \
        "{\"name\":\"rampart-os\",\"version\":\"1.0.0\",\"svn\":1,\"sha256\":\"$fwid\"}" >/dev/null

# warm-up (first-use costs: statement preparation, page cache)
# shellcheck disable=SC2086
$pin_gen "$bench_bin" --url "$url" --tenant "$tid" --server-pid "$srv_pid" --n "$threads" \
        --threads "$threads" $devs >/dev/null
echo "attest: $n attestations..." >&2
# shellcheck disable=SC2086
$pin_gen "$bench_bin" --url "$url" --tenant "$tid" --server-pid "$srv_pid" --n "$n" \
        --threads "$threads" $devs
