#!/bin/sh
# bench/egress.sh BUILD_DIR [ROUNDS] [CONNECTS_PER_ROUND] [OTHER_BUILD_DIR]
#
# connect() latency to an allowed loopback TCP server from inside a
# compartment (the call goes through the runtime's egress firewall: seccomp
# notification, policy check, the runtime's own connect in the host
# namespace, descriptor hand-over) versus the same static program run
# outside any compartment. Rounds alternate inside/outside; each round
# reports the median of its connects, and the figures are medians over the
# rounds. With OTHER_BUILD_DIR, every round also runs that build's runtime
# (an older version, say), so both are measured under the same load.
#
# Both sides make the same number of connects, each in a fresh process, to
# the same server, with the same socket (blocking, close-on-exec); only the
# connect() call is timed. CPU per connect (user + system, of the probe and, inside,
# of the runtime and the compartment) comes from the children's rusage, minus
# a 1-connect run of the same kind (start-up costs). A benchmark, not a test:
# it prints numbers and asserts nothing. Needs root.
set -eu
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [ROUNDS] [CONNECTS_PER_ROUND] [OTHER_BUILD_DIR]" >&2; exit 2; }
B=$(realpath "$1")
ROUNDS=${2:-7}
N=${3:-2000}
O=
[ $# -ge 4 ] && O=$(realpath "$4")
[ "$(id -u)" = 0 ] || { echo "$0: needs root (namespaces, mounts)" >&2; exit 2; }
for d in $B $O; do
        for f in "$d/src/sandbox/rampart-sandbox-run" "$d/src/sandbox/sbx-probe"; do
                [ -x "$f" ] || { echo "$0: $f not built" >&2; exit 2; }
        done
done

export RP_LOG_LEVEL=warn
tmp=$(mktemp -d)
srv=
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

# a loopback server that accepts and closes, on a free port
python3 - "$tmp/port" <<'PY' &
import os, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(4096)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    c, _ = s.accept()
    c.close()
PY
srv=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
PORT=$(cat "$tmp/port")

mkdir -p "$tmp/app/bin"
cp "$B/src/sandbox/sbx-probe" "$tmp/app/bin/probe"
cat > "$tmp/app/app_manifest.json" <<JSON
{"SchemaVersion":1,"Name":"bench-egress","ComponentId":"b0000000-0000-4000-8000-000000000002",
 "EntryPoint":"/bin/probe","Capabilities":{"AllowedConnections":["127.0.0.1:$PORT"]}}
JSON

python3 - "$tmp" "$PORT" "$ROUNDS" "$N" "$B" "$O" <<'PY'
import os, re, resource, statistics, subprocess, sys
tmp, port, rounds, n, build, other = sys.argv[1:7]
rounds, n = int(rounds), int(n)
probe = f"{build}/src/sandbox/sbx-probe"

def cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime

def run(kind, count):
    """One run of `count` connects; returns (median_us, mean_us, cpu_s)."""
    log = f"{tmp}/app.log"
    before = cpu()
    if kind == "outside":
        out = subprocess.run([probe, "connect-bench", "127.0.0.1", port, str(count)],
                             check=True, capture_output=True, text=True).stdout
    else:
        rt = f"{other if kind == 'other' else build}/src/sandbox/rampart-sandbox-run"
        open(log, "w").close()
        subprocess.run([rt, "--state", f"{tmp}/state", "--log", log, "--no-cgroup", f"{tmp}/app",
                        "connect-bench", "127.0.0.1", port, str(count)], check=True)
        out = open(log).read()
    used = cpu() - before
    m = re.search(r"median_ns=(\d+) mean_ns=(\d+)", out)
    if not m:
        sys.exit(f"egress: no result from the {kind} run: '{out.strip()}'")
    return int(m.group(1)) / 1e3, int(m.group(2)) / 1e3, used

kinds = ["inside", "outside"] + (["other"] if other else [])
res = {k: {"med": [], "mean": [], "cpu": []} for k in kinds}
for _ in range(rounds):
    for k in kinds:
        med, mean, used = run(k, n)
        _, _, base = run(k, 1)
        res[k]["med"].append(med)
        res[k]["mean"].append(mean)
        res[k]["cpu"].append(max(0.0, used - base) / (n - 1) * 1e6 if n > 1 else float("nan"))

def row(k, label):
    r = res[k]
    return (f"  {label:<21}median {statistics.median(r['med']):7.1f} us  "
            f"(mean {statistics.median(r['mean']):.1f} us, rounds {min(r['med']):.1f}..{max(r['med']):.1f}; "
            f"cpu {statistics.median(r['cpu']):.1f} us/connect)")

print(f"egress connect() to an allowed loopback server ({rounds} rounds x {n} connects)")
print(row("inside", "inside compartment"))
print(row("outside", "outside"))
if other:
    print(row("other", "inside, other build"))
mi, mo = statistics.median(res["inside"]["med"]), statistics.median(res["outside"]["med"])
print(f"  ratio inside/outside {mi / mo:.2f}x  (target < 2x)")
if other:
    print(f"  ratio other/outside  {statistics.median(res['other']['med']) / mo:.2f}x")
PY
