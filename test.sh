#!/usr/bin/env bash
# Runs every test Stowage has, installing what they need on a fresh machine with only the Rust toolchain:
# formatting and lints, Rust unit and integration tests (the real binary over HTTP), then the
# compatibility suite with real clients (b2sdk, the b2 CLI and boto3 from PyPI; backblaze-b2, the AWS SDK
# for JavaScript v3 and playwright-core from npm; rclone and Chromium from Debian), including a three-node
# deployment on PostgreSQL behind nginx (both from Debian, started by the tests on temporary directories).
set -euo pipefail
cd "$(dirname "$0")"
root=$(pwd)

step() { printf '\n==> %s\n' "$*"; }

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "installing Debian packages the tests start (PostgreSQL, nginx, rclone, Chromium)"
missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v rclone >/dev/null 2>&1 || missing+=(rclone)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    ($sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >/dev/null
    # The packages' own services are not wanted: the tests start their servers on temporary directories.
    $sudo service postgresql stop >/dev/null 2>&1 || true
    $sudo service nginx stop >/dev/null 2>&1 || true
fi
export PATH="$PATH:/usr/sbin"
# Tests that need PostgreSQL skip themselves on a developer's machine without it; here they must run.
export STOWAGE_REQUIRE_POSTGRES=1

step "Rust unit and integration tests"
cargo build --workspace --quiet
cargo test --workspace --quiet 2>&1 | tee /tmp/stowage-cargo-test.log
grep -q "test result: FAILED" /tmp/stowage-cargo-test.log && exit 1

step "Rust integration tests again, each server a node on PostgreSQL with a separate blob directory"
pg_dir=$(mktemp -u /tmp/stowage-pg-XXXXXX)
trap 'tests/postgres.sh stop "$pg_dir"' EXIT
STOWAGE_TEST_PG=$(tests/postgres.sh start "$pg_dir") cargo test -p stowage --tests --no-fail-fast --quiet 2>&1 | tee /tmp/stowage-cargo-test-pg.log
grep -q "test result: FAILED" /tmp/stowage-cargo-test-pg.log && exit 1
tests/postgres.sh stop "$pg_dir"
trap - EXIT

step "installing real clients"
compat="$root/tests/compat"
if [ ! -x "$compat/.venv/bin/pytest" ] || ! cmp -s "$compat/requirements.txt" "$compat/.venv/requirements.txt"; then
    python3 -m venv "$compat/.venv"
    "$compat/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$compat/requirements.txt"
    cp "$compat/requirements.txt" "$compat/.venv/requirements.txt"
fi
(cd "$compat" && npm install --silent --no-audit --no-fund >/dev/null)

step "compatibility suite (b2sdk, b2 CLI, backblaze-b2, rclone, boto3, AWS SDK v3 + Chromium)"
export STOWAGE_BIN="$root/target/debug/stowage"
export PATH="$compat/.venv/bin:$PATH"
cd "$compat"
pytest -q -p no:cacheprovider "$@"

step "compatibility suite again, against a node on PostgreSQL with a separate blob directory"
STOWAGE_TEST_META=postgres pytest -q -p no:cacheprovider --ignore=test_cluster.py "$@"
