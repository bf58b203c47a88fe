#!/usr/bin/env bash
# Runs every test Stowage has, installing what they need on a fresh machine with only the Rust toolchain:
# formatting and lints, Rust unit and integration tests (the real binary over HTTP), then the
# compatibility suite with real clients (b2sdk and the b2 CLI from PyPI, backblaze-b2 from npm,
# rclone from Debian).
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
if ! command -v rclone >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rclone) >/dev/null
    else
        (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rclone) >/dev/null
    fi
fi
if [ ! -x "$compat/.venv/bin/pytest" ]; then
    python3 -m venv "$compat/.venv"
    "$compat/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$compat/requirements.txt"
fi
(cd "$compat" && npm install --silent --no-audit --no-fund >/dev/null)

step "compatibility suite (b2sdk, b2 CLI, backblaze-b2, rclone)"
export STOWAGE_BIN="$root/target/debug/stowage"
export PATH="$compat/.venv/bin:$PATH"
cd "$compat"
pytest -q -p no:cacheprovider "$@"
