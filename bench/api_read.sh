#!/bin/sh
# api_read: keep-alive HTTPS GETs of a device record from rampart-server,
# side by side with nginx serving a static JSON file of the same size over
# the same TLS settings (TLS 1.3, the same P-256 certificate and key), in
# the same run. Prints requests/s of both and the ratio (target >= 0.5).
#
#   bench/api_read.sh BUILD_DIR [DURATION_S] [CONNECTIONS]
#
# Both servers run as one process pinned to one CPU; wrk runs pinned to the
# other (on a 2-core machine). rampart-server does the full request path:
# bearer-token lookup (SHA-256 + indexed SQLite read), role check, the
# record read from SQLite, JSON encoding, metrics and its per-request log
# line (written to a file, as nginx writes its access log). Its per-client
# rate limit is off (--rate-limit 0): wrk is one client.
set -eu
build=${1:?usage: bench/api_read.sh BUILD_DIR [DURATION_S] [CONNECTIONS]}
dur=${2:-10}
conns=${3:-32}
case "$build" in /*) ;; *) build="$(pwd)/$build" ;; esac
server_bin="$build/src/server/rampart-server"
[ -x "$server_bin" ] || { echo "api_read: $server_bin not built" >&2; exit 1; }
for t in wrk nginx curl; do
        command -v "$t" >/dev/null 2>&1 || [ -x "/usr/sbin/$t" ] || { echo "api_read: $t not installed" >&2; exit 1; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

tmp=$(mktemp -d)
srv_pid=""
ngx_pid=""
cleanup() {
        [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null && wait "$srv_pid" 2>/dev/null
        [ -n "$ngx_pid" ] && kill "$ngx_pid" 2>/dev/null && wait "$ngx_pid" 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

ncpu=$(nproc)
if [ "$ncpu" -ge 2 ]; then
        pin_srv="taskset -c 1"
        pin_wrk="taskset -c 0"
else
        pin_srv=""
        pin_wrk=""
fi

free_port() {
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ---- rampart-server ----
$pin_srv "$server_bin" --listen 127.0.0.1:0 --data "$tmp/data" --rate-limit 0 \
        >"$tmp/server.out" 2>"$tmp/server.log" &
srv_pid=$!
i=0
until grep -q '^rampart-server: ready' "$tmp/server.out" 2>/dev/null; do
        i=$((i + 1)); [ $i -gt 300 ] && { echo "api_read: server did not start" >&2; cat "$tmp/server.log" >&2; exit 1; }
        sleep 0.1
done
url=$(sed -n 's/^rampart-server: listening on \(https:[^ ]*\).*/\1/p' "$tmp/server.out" | head -1)
boot=$(sed -n 's/^rampart-server: bootstrap platform token.*: \(rpt_[A-Za-z0-9_-]*\).*/\1/p' "$tmp/server.out")

api() { # method path token [body]
        if [ $# -ge 4 ]; then
                curl -sk -X "$1" "$url$2" -H "Authorization: Bearer $3" -H 'Content-Type: application/json' -d "$4"
        else
                curl -sk -X "$1" "$url$2" -H "Authorization: Bearer $3"
        fi
}
jget() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

admin=$(api POST /api/v1/tenants "$boot" '{"name":"bench"}' | jget 'd["admin_token"]["token"]')
# A real device record: a manufacturer CA, one device provisioned by
# rampart-device (DICE DeviceID + registration record), registered by the
# platform operator and claimed into the tenant.
cli="$build/src/cli/rampart"
dev="$build/src/boot/rampart-device"
"$cli" keys generate --out "$tmp/platform.key" --pub "$tmp/platform.pub" >/dev/null
"$cli" keys mfg-init --out "$tmp/mfg" >/dev/null
"$dev" provision "$tmp/dev1" --mfg-ca "$tmp/mfg" --records "$tmp/rec.jsonl" \
        --platform-key "$tmp/platform.pub" >/dev/null
python3 -c 'import json,sys; print(json.dumps({"name": "bench-mfg", "root_pem": open(sys.argv[1]).read()}))' \
        "$tmp/mfg/root-ca.pem" >"$tmp/mfg.json"
api POST /api/v1/manufacturers "$boot" "$(cat "$tmp/mfg.json")" >/dev/null
curl -sk -X POST "$url/api/v1/registry/import" -H "Authorization: Bearer $boot" \
        -H 'Content-Type: application/x-ndjson' --data-binary @"$tmp/rec.jsonl" >/dev/null
ueid=$(jget 'd["ueid"]' <"$tmp/rec.jsonl")
group=$(api POST /api/v1/products "$admin" '{"name":"bench-product"}' |
        jget '[g["id"] for g in d["device_groups"] if g["name"] == "Development"][0]')
api POST /api/v1/devices "$admin" "{\"ueid\":\"$ueid\",\"group\":\"$group\"}" >/dev/null
path="/api/v1/devices/$ueid"
api GET "$path" "$admin" >"$tmp/record.json"
size=$(wc -c <"$tmp/record.json")
grep -q '"ueid"' "$tmp/record.json" || { echo "api_read: record GET failed: $(cat "$tmp/record.json")" >&2; exit 1; }

# ---- nginx with the same certificate, key and TLS version ----
nport=$(free_port)
mkdir -p "$tmp/www" "$tmp/nginx"
cp "$tmp/record.json" "$tmp/www/record.json"
cat >"$tmp/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log $tmp/nginx/access.log;
    client_body_temp_path $tmp/nginx/body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    keepalive_requests 100000000;
    keepalive_timeout 30s;
    server {
        listen 127.0.0.1:$nport ssl;
        ssl_certificate $tmp/data/server.crt;
        ssl_certificate_key $tmp/data/server.key;
        ssl_protocols TLSv1.3;
        ssl_ecdh_curve X25519:prime256v1;
        location = $path {
            default_type application/json;
            add_header Cache-Control no-store;
            alias $tmp/www/record.json;
        }
    }
}
EOF
$pin_srv "$NGINX" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/error.log" &
ngx_pid=$!
i=0
until curl -sk "https://127.0.0.1:$nport$path" >"$tmp/nginx.json" 2>/dev/null && [ -s "$tmp/nginx.json" ]; do
        i=$((i + 1)); [ $i -gt 100 ] && { echo "api_read: nginx did not start" >&2; cat "$tmp/nginx/error.log" >&2; exit 1; }
        sleep 0.1
done
cmp -s "$tmp/nginx.json" "$tmp/record.json" || { echo "api_read: nginx serves different bytes" >&2; exit 1; }

run_wrk() { # url token
        $pin_wrk wrk -t1 -c"$conns" -d"${dur}s" -H "Authorization: Bearer $2" "$1" 2>&1
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# warm-up, then the measured runs
run_wrk "$url$path" "$admin" >/dev/null
run_wrk "https://127.0.0.1:$nport$path" "$admin" >/dev/null
c0=$(cpu_ticks "$srv_pid")
rampart_out=$(run_wrk "$url$path" "$admin")
c1=$(cpu_ticks "$srv_pid")
n0=$(cpu_ticks "$ngx_pid")
nginx_out=$(run_wrk "https://127.0.0.1:$nport$path" "$admin")
n1=$(cpu_ticks "$ngx_pid")
hz=$(getconf CLK_TCK)
rps() { echo "$1" | sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p'; }
errs() { echo "$1" | grep -E 'Non-2xx|Socket errors' || true; }
r=$(rps "$rampart_out")
n=$(rps "$nginx_out")
[ -n "$r" ] && [ -n "$n" ] || { echo "api_read: wrk failed"; echo "$rampart_out"; echo "$nginx_out"; exit 1; }
e1=$(errs "$rampart_out")
e2=$(errs "$nginx_out")
[ -z "$e1" ] || { echo "api_read: rampart-server errors: $e1" >&2; exit 1; }
[ -z "$e2" ] || { echo "api_read: nginx errors: $e2" >&2; exit 1; }
lat() { echo "$1" | awk '/Latency/ {print $2}'; }
total() { echo "$1" | sed -n 's/^ *\([0-9]*\) requests in.*/\1/p'; }
# CPU time the server process spent per request (user + system), which does
# not depend on what else the machine runs at the time
us_per_req() { python3 -c "print(f'{($2 - $1) / $3 * 1e6 / $4:.1f}')"; }
ru=$(us_per_req "$c0" "$c1" "$hz" "$(total "$rampart_out")")
nu=$(us_per_req "$n0" "$n1" "$hz" "$(total "$nginx_out")")
ratio=$(python3 -c "print(f'{$r/$n:.2f}')")
cratio=$(python3 -c "print(f'{$nu/$ru:.2f}' if $ru > 0 else 'n/a')")
echo "api_read: GET $path ($size bytes JSON), TLS 1.3, keep-alive, $conns connections, ${dur}s, wrk -t1"
printf '  %-16s %10s req/s   avg latency %-8s  server CPU %s us/request\n' "rampart-server" "$r" "$(lat "$rampart_out")" "$ru"
printf '  %-16s %10s req/s   avg latency %-8s  server CPU %s us/request\n' "nginx (static)" "$n" "$(lat "$nginx_out")" "$nu"
echo "  ratio rampart/nginx: ${ratio}x requests/s (target >= 0.5x); ${cratio}x by CPU per request"
echo "  load average during the run: $(cut -d' ' -f1-3 /proc/loadavg)"
