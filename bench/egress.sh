#!/bin/sh
# bench/egress.sh BUILD_DIR [ROUNDS] [CONNECTS_PER_ROUND]
#
# connect() latency to an allowed loopback TCP server from inside a
# compartment (the call goes through the runtime's egress firewall: seccomp
# notification, policy check, the runtime's own connect in the host
# namespace, descriptor hand-over) versus the same static program run
# outside any compartment. Rounds alternate inside/outside; each round
# reports the median of its connects, and the figures are medians over the
# rounds. A benchmark, not a test: it prints numbers and asserts nothing.
# Needs root.
set -eu
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [ROUNDS] [CONNECTS_PER_ROUND]" >&2; exit 2; }
B=$(realpath "$1")
ROUNDS=${2:-7}
N=${3:-2000}
RUN="$B/src/sandbox/rampart-sandbox-run"
PROBE="$B/src/sandbox/sbx-probe"
[ "$(id -u)" = 0 ] || { echo "$0: needs root (namespaces, mounts)" >&2; exit 2; }
for f in "$RUN" "$PROBE"; do [ -x "$f" ] || { echo "$0: $f not built" >&2; exit 2; }; done

export RP_LOG_LEVEL=warn
tmp=$(mktemp -d)
srv=
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

# a loopback server that accepts and closes, on a free port
python3 - "$tmp/port" <<'PY' &
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(4096)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    c, _ = s.accept()
    c.close()
PY
srv=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
PORT=$(cat "$tmp/port")

mkdir -p "$tmp/app/bin"
cp "$PROBE" "$tmp/app/bin/probe"
cat > "$tmp/app/app_manifest.json" <<JSON
{"SchemaVersion":1,"Name":"bench-egress","ComponentId":"b0000000-0000-4000-8000-000000000002",
 "EntryPoint":"/bin/probe","Capabilities":{"AllowedConnections":["127.0.0.1:$PORT"]}}
JSON

: > "$tmp/results.txt"
r=0
while [ $r -lt "$ROUNDS" ]; do
        out=$("$PROBE" connect-bench 127.0.0.1 "$PORT" "$N")
        echo "outside $out" >> "$tmp/results.txt"
        : > "$tmp/app.log"
        "$RUN" --state "$tmp/state" --log "$tmp/app.log" --no-cgroup "$tmp/app" connect-bench 127.0.0.1 "$PORT" "$N"
        echo "inside $(grep '^OK' "$tmp/app.log")" >> "$tmp/results.txt"
        r=$((r + 1))
done

python3 - "$tmp/results.txt" "$N" <<'PY'
import re, statistics, sys
med = {"inside": [], "outside": []}
mean = {"inside": [], "outside": []}
for line in open(sys.argv[1]):
    where = line.split()[0]
    m = re.search(r"median_ns=(\d+) mean_ns=(\d+)", line)
    if not m:
        sys.exit(f"egress: no result in '{line.strip()}'")
    med[where].append(int(m.group(1)) / 1e3)
    mean[where].append(int(m.group(2)) / 1e3)
mi, mo = statistics.median(med["inside"]), statistics.median(med["outside"])
print(f"egress connect() to an allowed loopback server ({len(med['inside'])} rounds x {sys.argv[2]} connects)")
print(f"  inside compartment   median {mi:7.1f} us  (mean {statistics.median(mean['inside']):.1f} us)")
print(f"  outside              median {mo:7.1f} us  (mean {statistics.median(mean['outside']):.1f} us)")
print(f"  ratio inside/outside {mi / mo:.2f}x  (target < 2x)")
PY
