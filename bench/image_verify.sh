#!/bin/sh
# image_verify.sh BUILD_DIR - how fast `rampart image verify` checks a
# 256 MiB image package, next to two references on the same machine:
#   openssl dgst -sha256   the same file hashed by OpenSSL (SHA extensions):
#                          the physical limit for any SHA-256 verifier
#   rauc info --keyring    RAUC verifying a plain bundle of the same payload
#                          size, signed with a P-256 key (CMS over squashfs)
# The page cache is warmed first; each time is the best of 5 runs. Targets:
# rampart >= 0.9x openssl's speed, and not slower than RAUC. Also prints
# the peak RSS of each verifier (rampart streams: constant memory).
set -eu

build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
case "$build" in /*) ;; *) build="$top/$build" ;; esac
rampart="$build/src/cli/rampart"
size_mib=${RAMPART_BENCH_MIB:-256}
runs=${RAMPART_BENCH_RUNS:-5}

[ -x "$rampart" ] || { echo "image_verify: $rampart not built" >&2; exit 1; }
for tool in openssl rauc mksquashfs /usr/bin/time; do
        command -v "$tool" >/dev/null 2>&1 || { echo "image_verify: '$tool' missing (make deps)" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/var/tmp}/rampart-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
cd "$work"

echo "payload: $size_mib MiB of random data (work dir $work)"
mkdir payload rauc-content
head -c $((size_mib * 1024 * 1024)) /dev/urandom >payload/blob

# --- rampart package ---
"$rampart" keys generate --out sign.key --pub sign.pub >/dev/null
"$rampart" image pack payload --out bench.rpi --name bench --type os --version 1.0 --svn 1 \
        --component-id 0c7e3c5e-9d7a-4b43-a1f4-5b0f1d2e3a4b >/dev/null
"$rampart" image sign bench.rpi --key sign.key >/dev/null

# --- RAUC plain bundle of the same payload, P-256 key + self-signed cert ---
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
        -subj "/CN=rampart bench signer" -keyout rauc.key -out rauc.pem 2>/dev/null
cp payload/blob rauc-content/rootfs.img
cat >rauc-content/manifest.raucm <<EOF
[update]
compatible=rampart-bench
version=1.0

[bundle]
format=plain

[image.rootfs]
filename=rootfs.img
EOF
rauc bundle --cert=rauc.pem --key=rauc.key rauc-content bench.raucb >/dev/null 2>&1 ||
        { echo "image_verify: rauc bundle failed" >&2; rauc bundle --cert=rauc.pem --key=rauc.key rauc-content bench2.raucb; exit 1; }
rm -rf rauc-content

# each must succeed before it is timed (a failing verifier is fast)
"$rampart" image verify bench.rpi --trust sign.pub >/dev/null
rauc info --keyring=rauc.pem bench.raucb >/dev/null 2>&1 ||
        { echo "image_verify: rauc info does not verify the bundle" >&2; rauc info --keyring=rauc.pem bench.raucb; exit 1; }

# ...and each must really be checking: a wrong key must fail
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
        -subj "/CN=someone else" -keyout other.key -out other.pem 2>/dev/null
"$rampart" keys generate --out other-sign.key --pub other-sign.pub >/dev/null
if rauc info --keyring=other.pem bench.raucb >/dev/null 2>&1 ||
        "$rampart" image verify bench.rpi --trust other-sign.pub >/dev/null 2>&1; then
        echo "image_verify: a verifier accepted the wrong key; the comparison would be meaningless" >&2
        exit 1
fi

# warm the page cache
cat bench.rpi bench.raucb >/dev/null

now_ns() { date +%s%N; }
# measure NAME CMD... -> sets NAME_wall (best ns), NAME_cpu (best user+sys
# ms) and NAME_rss (peak KiB) over $runs runs. CPU time is shown next to
# wall time because on a shared machine the wall clock also counts waiting.
measure() {
        name=$1
        shift
        bw= bc= rss=0 i=0
        while [ $i -lt $runs ]; do
                t0=$(now_ns)
                /usr/bin/time -f "%U %S %M" -o tm.out "$@" >/dev/null 2>&1
                t1=$(now_ns)
                d=$((t1 - t0))
                c=$(awk '{printf "%d", ($1 + $2) * 1000}' tm.out)
                m=$(awk '{print $3}' tm.out)
                if [ -z "$bw" ] || [ "$d" -lt "$bw" ]; then bw=$d; fi
                if [ -z "$bc" ] || [ "$c" -lt "$bc" ]; then bc=$c; fi
                if [ "$m" -gt "$rss" ]; then rss=$m; fi
                i=$((i + 1))
        done
        eval "${name}_wall=$bw ${name}_cpu=$bc ${name}_rss=$rss"
}

measure rampart "$rampart" image verify bench.rpi --trust sign.pub
measure openssl openssl dgst -sha256 bench.rpi
measure rauc rauc info --keyring=rauc.pem bench.raucb
pkg_bytes=$(stat -c %s bench.rpi)
rauc_bytes=$(stat -c %s bench.raucb)

awk -v tr="$rampart_wall" -v to="$openssl_wall" -v ta="$rauc_wall" -v pb="$pkg_bytes" -v rb="$rauc_bytes" \
    -v cr="$rampart_cpu" -v co="$openssl_cpu" -v ca="$rauc_cpu" \
    -v mr="$rampart_rss" -v mo="$openssl_rss" -v ma="$rauc_rss" -v runs="$runs" 'BEGIN {
        printf "\n%-36s %10s %8s %10s %12s\n", "verifier (best of " runs ", warm cache)", "wall", "GB/s", "user+sys", "peak RSS"
        printf "%-36s %7.1f ms %8.2f %7d ms %8d KiB\n", "rampart image verify", tr / 1e6, pb / tr, cr, mr
        printf "%-36s %7.1f ms %8.2f %7d ms %8d KiB\n", "openssl dgst -sha256", to / 1e6, pb / to, co, mo
        printf "%-36s %7.1f ms %8.2f %7d ms %8d KiB\n", "rauc info --keyring (plain bundle)", ta / 1e6, rb / ta, ca, ma
        printf "\nrampart speed vs openssl dgst: %.2fx (target >= 0.90x)\n", to / tr
        printf "rampart speed vs rauc info:    %.2fx (target >= 1.00x)\n", ta / tr
        ok = (to / tr >= 0.9) && (ta / tr >= 1.0)
        printf "targets: %s\n", ok ? "met" : "NOT met"
}'
