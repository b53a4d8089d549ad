#!/usr/bin/env bash
# Transfer speed on this machine, against the reference tools on the same
# local servers:
#  * download: a 1 GiB model from nginx (the static block of docs/serving.md)
#    with `josi download` (which also hashes and verifies it) versus
#    `curl -o` (which does not);
#  * upload: the same 1 GiB as two 512 MiB GGUF files to the S3 test store
#    (s3rver, tests/integration/s3_test_server.js) with
#    `josi publish --upload-only` (which also hashes, verifies with HEAD and
#    uploads the manifest) versus `s3cmd put --acl-public` of the two files.
# Each side runs RUNS times, alternating, each run after a `sync` so that
# neither inherits the other's dirty pages; the table shows medians and bests.
# Usage: bench/transfer.sh [runs]   (default 3; needs ~5 GB free in $TMPDIR)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/lib/deps.sh"
josi="${JOSI:-${JOSI_BUILD_DIR:-$root/build}/josi}"
runs="${1:-3}"
[ -x "$josi" ] || { echo "bench: build josi first (scripts/test.sh)" >&2; exit 1; }
for tool in nginx curl s3cmd node; do
  command -v "$tool" >/dev/null || { echo "bench: $tool missing (scripts/test.sh installs it)" >&2; exit 1; }
done
[ -d "$JOSI_NPM_DIR/node_modules/s3rver" ] || { echo "bench: s3rver missing (scripts/test.sh installs it)" >&2; exit 1; }

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wait_port() { for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; echo "bench: nothing on port $1" >&2; exit 1; }
seconds() { local t0 t1; sync; t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || { echo "bench: failed: $*" >&2; exit 1; }; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}'; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
best() { printf '%s\n' "$@" | sort -g | head -1; }

# Two 512 MiB GGUF files (random payload), and the same bytes as one 1 GiB file.
node - "$work" <<'EOF'
const fs = require('fs'), crypto = require('crypto'), path = require('path');
function gguf(file, bytes) {
  const str = s => { const b = Buffer.alloc(8 + s.length); b.writeBigUInt64LE(BigInt(s.length)); b.write(s, 8); return b; };
  const u32 = v => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
  const u64 = v => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); return b; };
  const floats = Math.floor(bytes / 4);
  let head = Buffer.concat([Buffer.from('GGUF'), u32(3), u64(1), u64(1),
    str('general.file_type'), u32(4), u32(15),
    str('blob'), u32(1), u64(floats), u32(0), u64(0)]);
  head = Buffer.concat([head, Buffer.alloc((32 - head.length % 32) % 32)]);
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, head);
  const block = 16 << 20;
  for (let done = 0; done < floats * 4; done += block) fs.writeSync(fd, crypto.randomBytes(Math.min(block, floats * 4 - done)));
  fs.closeSync(fd);
}
const dir = process.argv[2];
gguf(path.join(dir, 'interpreter.gguf'), 512 << 20);
gguf(path.join(dir, 'explainer.gguf'), 512 << 20);
EOF
mkdir -p "$work/www"
cat "$work/interpreter.gguf" "$work/explainer.gguf" > "$work/www/josi-v5-interpreter-q4_k_m.gguf"
size=$(stat -c %s "$work/www/josi-v5-interpreter-q4_k_m.gguf")
sha=$(sha256sum "$work/www/josi-v5-interpreter-q4_k_m.gguf" | cut -d' ' -f1)
printf '{"version": "v5", "models": {"interpreter": {"file": "josi-v5-interpreter-q4_k_m.gguf", "size_bytes": %s, "sha256": "%s"}}}\n' \
  "$size" "$sha" > "$work/www/josi-v5-manifest.json"

# nginx with a block of the serving guide, made local (as the tests do); sets $port.
start_nginx() {  # name marker replacements...
  local name="$1" marker="$2"; shift 2
  local dir="$work/$name"; port=$(free_port); mkdir -p "$dir/tmp"
  local block; block=$(awk -v m="<!-- $marker -->" '$0==m {f=1; next} f && /^```nginx/ {p=1; next} p && /^```/ {exit} p' "$root/docs/serving.md")
  block="${block//listen 80;/listen 127.0.0.1:$port;}"
  while [ $# -gt 0 ]; do block="${block//$1/$2}"; shift 2; done
  cat > "$dir/nginx.conf" <<EOF
daemon off; master_process off; pid $dir/nginx.pid; error_log $dir/error.log;
$( [ "$(id -u)" = 0 ] && echo "user root;" )
events { worker_connections 64; }
http { default_type application/octet-stream; access_log off;
  client_body_temp_path $dir/tmp/body; proxy_temp_path $dir/tmp/proxy; fastcgi_temp_path $dir/tmp/f; uwsgi_temp_path $dir/tmp/u; scgi_temp_path $dir/tmp/s;
$block
}
EOF
  nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" >"$dir/out.log" 2>&1 & pids+=($!)
  wait_port "$port"
}

start_nginx static nginx-static /srv/josi/models "$work/www"
web=$port
start_josi=(); dl_josi=(); dl_curl=()
for _ in $(seq "$runs"); do start_josi+=("$(seconds "$josi" --version)"); done
for _ in $(seq "$runs"); do
  rm -rf "$work/out"; mkdir -p "$work/out"
  dl_curl+=("$(seconds curl -sf -o "$work/out/curl.gguf" "http://127.0.0.1:$web/josi-v5-interpreter-q4_k_m.gguf")")
  rm -rf "$work/out"
  dl_josi+=("$(seconds "$josi" download --manifest-url "http://127.0.0.1:$web/josi-v5-manifest.json" --output-dir "$work/out" --interpreter-only)")
  cmp -s "$work/out/josi-v5-interpreter-q4_k_m.gguf" "$work/www/josi-v5-interpreter-q4_k_m.gguf" || { echo "bench: download differs" >&2; exit 1; }
done
rm -rf "$work/out"

# The S3 test store; s3cmd and josi each upload into their own fresh store directory.
key=BENCHACCESSKEY; secret=bench-secret-key
s3port=$(free_port)
start_store() {
  rm -rf "$work/s3"; mkdir -p "$work/s3"
  NODE_PATH="$JOSI_NPM_DIR/node_modules" node "$root/tests/integration/s3_test_server.js" --dir "$work/s3" --port "$s3port" \
    --access-key "$key" --secret-key "$secret" --bucket mivalta-models >"$work/store.log" 2>&1 & store_pid=$!
  wait_port "$s3port"
}
stop_store() { kill "$store_pid"; wait "$store_pid" 2>/dev/null || true; }
start_nginx proxy nginx-proxy https://fsn1.your-objectstorage.com "http://127.0.0.1:$s3port"
proxy=$port
cat > "$work/s3cfg" <<EOF
[default]
access_key = $key
secret_key = $secret
host_base = 127.0.0.1:$s3port
host_bucket = 127.0.0.1:$s3port
use_https = False
signature_v2 = False
EOF
up_josi=(); up_s3cmd=()
for _ in $(seq "$runs"); do
  start_store
  up_s3cmd+=("$(seconds s3cmd -c "$work/s3cfg" put --acl-public "$work/interpreter.gguf" "$work/explainer.gguf" s3://mivalta-models/)")
  stop_store; start_store
  up_josi+=("$(seconds env S3_ACCESS_KEY=$key S3_SECRET_KEY=$secret "$josi" publish --upload-only \
    --gguf-interpreter "$work/interpreter.gguf" --gguf-explainer "$work/explainer.gguf" \
    --s3-endpoint "http://127.0.0.1:$s3port" --public-url "http://127.0.0.1:$proxy/models")")
  stop_store
done

mib=$(awk -v s="$size" 'BEGIN {print s / 1048576}')
row() {  # label statistic josi_seconds ref_seconds ref_name
  awk -v l="$1" -v st="$2" -v j="$3" -v r="$4" -v n="$5" -v m="$mib" \
    'BEGIN {printf "| %s | %s | %.2f s (%.0f MiB/s) | %s %.2f s (%.0f MiB/s) | %.2fx |\n", l, st, j, m/j, n, r, m/r, r/j}'
}
echo "1 GiB, $runs runs each; ratio = reference time / josi time (above 1: josi is faster)"
echo "| transfer | of $runs runs | josi | reference | ratio |"
echo "|---|---|---:|---:|---:|"
row "download from nginx" median "$(median "${dl_josi[@]}")" "$(median "${dl_curl[@]}")" curl
row "download from nginx" best "$(best "${dl_josi[@]}")" "$(best "${dl_curl[@]}")" curl
row "upload to s3rver" median "$(median "${up_josi[@]}")" "$(median "${up_s3cmd[@]}")" s3cmd
row "upload to s3rver" best "$(best "${up_josi[@]}")" "$(best "${up_s3cmd[@]}")" s3cmd
awk -v s="$(median "${start_josi[@]}")" 'BEGIN {printf "josi process start alone (josi --version, median): %.2f s, included in the josi times above\n", s}'
echo "all runs: josi download ${dl_josi[*]}; curl ${dl_curl[*]}; josi publish ${up_josi[*]}; s3cmd ${up_s3cmd[*]}"
