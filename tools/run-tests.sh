#!/bin/sh
# Runs every test against one build directory: meson's tests (unit tests and
# fuzz-corpus replays), then the pytest integration suite driving the real
# binaries. Ends with one line "N passed, N failed" adding both up.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
case "$build" in /*) ;; *) build="$top/$build" ;; esac
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

meson test -C "$build" --print-errorlogs --num-processes 2 >"$log/meson.out" 2>&1
meson_rc=$?
cat "$log/meson.out"
m_ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$log/meson.out" | tail -1)
m_fail=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$log/meson.out" | tail -1)
m_to=$(sed -n 's/^Timeout: *\([0-9]*\).*/\1/p' "$log/meson.out" | tail -1)
m_ok=${m_ok:-0}; m_fail=$(( ${m_fail:-0} + ${m_to:-0} ))
[ "$meson_rc" -ne 0 ] && [ "$m_fail" -eq 0 ] && m_fail=1

RAMPART_BUILD="$build" /usr/bin/python3 -m pytest -p no:cacheprovider -q -rfEs \
        "$top/tests/integration" >"$log/pytest.out" 2>&1
py_rc=$?
cat "$log/pytest.out"
# the last summary line, e.g. "3 failed, 40 passed, 2 skipped in 12.3s"
last=$(grep -E '[0-9]+ (passed|failed|error)' "$log/pytest.out" | tail -1)
p_ok=$(echo "$last" | awk '{for (i = 2; i <= NF; i++) if ($i ~ /^passed/) s += $(i-1)} END {print s+0}')
p_fail=$(echo "$last" | awk '{for (i = 2; i <= NF; i++) if ($i ~ /^(failed|error)/) s += $(i-1)} END {print s+0}')
# pytest exit 5 = no tests collected: not a failure by itself
[ "$py_rc" -ne 0 ] && [ "$py_rc" -ne 5 ] && [ "$p_fail" -eq 0 ] && p_fail=1

passed=$((m_ok + p_ok))
failed=$((m_fail + p_fail))
echo "meson: $m_ok passed, $m_fail failed; pytest: $p_ok passed, $p_fail failed"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
