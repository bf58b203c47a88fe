#!/usr/bin/env bash
# Fuzzes the parsers that face the network before authentication, each target for a bounded time, and
# prints executions and crashes per target. Not part of CI: `fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]`
# (default 60 seconds, every target).
# Needs cargo-fuzz (installed here if missing); RUSTC_BOOTSTRAP lets the stable toolchain build with
# libFuzzer's instrumentation. Crash inputs land in fuzz/artifacts/<target>/; each one found becomes a
# regression test in the crate whose parser it broke.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
targets=(form_policy b2_params ranges_and_names http_request)
if [ $# -gt 1 ]; then targets=("${@:2}"); fi

# Seeds: a few well-formed inputs per target, written fresh (the corpus itself is not committed).
seed() { mkdir -p "corpus/$1"; printf '%b' "$3" > "corpus/$1/$2"; }
seed form_policy policy '{"expiration":"2030-01-01T00:00:00Z","conditions":[{"bucket":"fuzz-bucket"},["starts-with","$key","up/"],["content-length-range",1,100]]}\x00key=up/a\nx-amz-date=20260101T000000Z\n'
seed b2_params json '{"bucketId":"b","fileName":"a b/\\u00fc","maxFileCount":10,"prefix":null}'
seed b2_params query '\x00bucketId=abc&fileName=a+b%2Fc%C3%BC&maxFileCount=5'
seed ranges_and_names range 'bytes=0-99'
seed ranges_and_names suffix 'bytes=-500'
seed ranges_and_names name 'photos/2026/\xc3\xbc.jpg'
seed http_request b2_list 'POST /b2api/v4/b2_list_buckets HTTP/1.1\r\nAuthorization: B2TOKEN\r\nContent-Type: application/json\r\n\r\n{"accountId":"x"}'
seed http_request b2_create 'POST /b2api/v2/b2_create_bucket HTTP/1.1\r\nAuthorization: B2TOKEN\r\n\r\n{"accountId":"x","bucketName":"fuzz-bucket","bucketType":"allPrivate"}'
seed http_request b2_download 'GET /file/fuzz-bucket/a%20b/%C3%BC.txt?Authorization=B2TOKEN&b2ContentDisposition=x HTTP/1.1\r\nRange: bytes=1-2\r\n\r\n'
seed http_request s3_sigv4 'GET /fuzz-bucket/key?list-type=2&prefix=a HTTP/1.1\r\nHost: 127.0.0.1\r\nx-amz-date: 20260101T000000Z\r\nx-amz-content-sha256: UNSIGNED-PAYLOAD\r\nAuthorization: AWS4-HMAC-SHA256 Credential=fuzzroot/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=00\r\n\r\n'
seed http_request s3_presigned 'GET /fuzz-bucket/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=fuzzroot%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00 HTTP/1.1\r\nHost: h\r\n\r\n'
seed http_request s3_sigv2 'PUT /fuzz-bucket/key HTTP/1.1\r\nDate: Thu, 01 Jan 2026 00:00:00 GMT\r\nAuthorization: AWS fuzzroot:AAAA\r\nContent-Length: 3\r\n\r\nabc'
seed http_request s3_chunked 'PUT /fuzz-bucket/key HTTP/1.1\r\nx-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER\r\nx-amz-decoded-content-length: 3\r\nx-amz-trailer: x-amz-checksum-crc32\r\nContent-Encoding: aws-chunked\r\nContent-Length: 47\r\n\r\n3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n'
seed http_request s3_delete 'POST /fuzz-bucket?delete HTTP/1.1\r\nContent-Length: 60\r\n\r\n<Delete><Object><Key>a</Key></Object><Quiet>true</Quiet></Delete>'
seed http_request s3_form 'POST /fuzz-bucket HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n\r\n--XyZ\r\nContent-Disposition: form-data; name="key"\r\n\r\n${filename}\r\n--XyZ\r\nContent-Disposition: form-data; name="policy"\r\n\r\neyJ9\r\n--XyZ\r\nContent-Disposition: form-data; name="file"; filename="\xc3\xa9.txt"\r\n\r\nx\r\n--XyZ--\r\n'

mkdir -p logs
printf '\n%-18s %14s %8s\n' target executions crashes
for target in "${targets[@]}"; do
    mkdir -p "artifacts/$target"
    cargo fuzz run "$target" "corpus/$target" -- -max_total_time="$seconds" -artifact_prefix="artifacts/$target/" \
        -print_final_stats=1 -rss_limit_mb=4096 > "logs/$target.log" 2>&1 || true
    runs=$( (grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$target.log" || true) | grep -o '[0-9]*$' | tail -1 || true)
    crashes=$(find "artifacts/$target" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
    grep -q 'failed to build fuzz script' "logs/$target.log" && runs="build failed"
    printf '%-18s %14s %8s\n' "$target" "${runs:-?}" "$crashes"
done
echo "logs in fuzz/logs/, crash inputs in fuzz/artifacts/"
