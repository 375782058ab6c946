#!/bin/sh
# bench/sandbox_start.sh BUILD_DIR [ROUNDS] [RUNS_PER_ROUND]
#
# Time to start an app compartment that runs a static `true`, next to
# bubblewrap with comparable namespaces (PID, mount, IPC, UTS, network; the
# image read-only at /app, /proc, /dev, a /tmp tmpfs, all capabilities
# dropped) in the same run. The commands alternate in rounds so that drift
# in machine load hits both; the figures are medians over all runs.
# Rampart does more than bwrap on every start (its own uid, Landlock, the
# seccomp filter with its notification listener, /etc, rlimits or cgroups);
# bwrap here sets no limits, so the like-for-like row is "--no-cgroup".
# A benchmark, not a test: it prints numbers and asserts nothing. Needs root.
set -eu
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [ROUNDS] [RUNS_PER_ROUND]" >&2; exit 2; }
B=$(realpath "$1")
ROUNDS=${2:-5}
RUNS=${3:-40}
RUN="$B/src/sandbox/rampart-sandbox-run"
PROBE="$B/src/sandbox/sbx-probe"
[ "$(id -u)" = 0 ] || { echo "$0: needs root (namespaces, mounts)" >&2; exit 2; }
for f in "$RUN" "$PROBE"; do [ -x "$f" ] || { echo "$0: $f not built" >&2; exit 2; }; done
command -v bwrap >/dev/null || { echo "$0: bwrap (bubblewrap) not installed" >&2; exit 2; }

export RP_LOG_LEVEL=warn
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/app/bin"
cp "$PROBE" "$tmp/app/bin/true"
cat > "$tmp/app/app_manifest.json" <<JSON
{"SchemaVersion":1,"Name":"bench-true","ComponentId":"b0000000-0000-4000-8000-000000000001",
 "EntryPoint":"/bin/true","CmdArgs":["true"]}
JSON
RP="$RUN --state $tmp/state --log $tmp/app.log --no-cgroup $tmp/app"
RPC="$RUN --state $tmp/state --log $tmp/app.log $tmp/app"
BW="bwrap --unshare-pid --unshare-net --unshare-ipc --unshare-uts --die-with-parent --new-session --cap-drop ALL --ro-bind $tmp/app /app --proc /proc --dev /dev --tmpfs /tmp --chdir /app /app/bin/true true"

$RP && $RPC && $BW || { echo "$0: a command failed; see $tmp/app.log" >&2; exit 1; }

if command -v hyperfine >/dev/null; then
        tool=hyperfine
        i=0
        while [ $i -lt "$ROUNDS" ]; do
                hyperfine -N --style none -w 3 -r "$RUNS" --export-json "$tmp/r$i.json" \
                        -n rampart "$RP" -n rampart-cgroup "$RPC" -n bwrap "$BW" >/dev/null
                i=$((i + 1))
        done
else
        tool="date +%s%N loop"
        i=0
        : > "$tmp/times.txt"
        while [ $i -lt $((ROUNDS * RUNS)) ]; do
                for name in rampart rampart-cgroup bwrap; do
                        case $name in rampart) cmd=$RP ;; rampart-cgroup) cmd=$RPC ;; *) cmd=$BW ;; esac
                        s=$(date +%s%N); $cmd; e=$(date +%s%N)
                        echo "$name $(( e - s ))" >> "$tmp/times.txt"
                done
                i=$((i + 1))
        done
fi

python3 - "$tmp" "$tool" <<'PY'
import glob, json, statistics, sys
tmp, tool = sys.argv[1], sys.argv[2]
t = {"rampart": [], "rampart-cgroup": [], "bwrap": []}
for f in glob.glob(tmp + "/r*.json"):
    for r in json.load(open(f))["results"]:
        t[r["command"]] += [x * 1e3 for x in r["times"]]
try:
    for line in open(tmp + "/times.txt"):
        n, v = line.split()
        t[n].append(int(v) / 1e6)
except FileNotFoundError:
    pass
med = {k: statistics.median(v) for k, v in t.items()}
print(f"sandbox_start ({tool}, {len(t['bwrap'])} runs each, median ms; mean in brackets)")
for k in ("rampart", "rampart-cgroup", "bwrap"):
    print(f"  {k:15s} {med[k]:7.2f} ms  [{statistics.mean(t[k]):.2f}]")
print(f"  ratio rampart/bwrap          {med['rampart'] / med['bwrap']:.2f}x  (target <= 1.0x)")
print(f"  ratio rampart-cgroup/bwrap   {med['rampart-cgroup'] / med['bwrap']:.2f}x")
PY
