#!/usr/bin/env bash
# Runs every test Stowage has, installing what they need on a fresh machine with only the Rust toolchain:
# formatting and lints, Rust unit and integration tests (the real binary over HTTP), then the
# compatibility suite with real clients (b2sdk, the b2 CLI and boto3 from PyPI; backblaze-b2, the AWS SDK
# for JavaScript v3 and playwright-core from npm; rclone and Chromium from Debian).
set -euo pipefail
cd "$(dirname "$0")"
root=$(pwd)

step() { printf '\n==> %s\n' "$*"; }

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "Rust unit and integration tests"
cargo build --workspace --quiet
cargo test --workspace --quiet 2>&1 | tee /tmp/stowage-cargo-test.log
grep -q "test result: FAILED" /tmp/stowage-cargo-test.log && exit 1

step "installing real clients"
compat="$root/tests/compat"
missing=()
command -v rclone >/dev/null 2>&1 || missing+=(rclone)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    ($sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >/dev/null
fi
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
