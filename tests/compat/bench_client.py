"""The client benchmark (issue 19): `stowage cp`/`sync` beside the b2 CLI and rclone's b2 backend, against one
release server on 127.0.0.1 — one big file up and down, and a sync of many small files up and down; prints
seconds, MB/s, the ratios, and the peak memory of `stowage cp`.

    cargo build --release && (cd tests/compat && .venv/bin/python bench_client.py)
    # STOWAGE_BENCH_MB=1024 (the big file), STOWAGE_BENCH_FILES=10000 (the small ones),
    # STOWAGE_BENCH_PART_MB=100 (the part size the server recommends: B2's own default), STOWAGE_BIN=...
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from conftest import ROOT_ID, ROOT_KEY, Server  # noqa: E402

BIN = os.environ.get("STOWAGE_BIN", os.path.join(HERE, "../../target/release/stowage"))
MB = int(os.environ.get("STOWAGE_BENCH_MB", "1024"))
FILES = int(os.environ.get("STOWAGE_BENCH_FILES", "10000"))
PART_MB = int(os.environ.get("STOWAGE_BENCH_PART_MB", "100"))
# The big file moves this many times per client, interleaved; the median counts (this VM's disk write-back
# moves single figures by 2x from run to run).
ROUNDS = int(os.environ.get("STOWAGE_BENCH_ROUNDS", "3"))
THREADS = 8


def timed(args, env, label, cwd=None):
    """Runs a command after flushing what earlier steps left dirty; returns (seconds, peak RSS in MiB)."""
    os.sync()
    started = time.monotonic()
    proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - started
    if status != 0:
        raise SystemExit(f"{' '.join(args)} failed: {proc.stderr.read().decode()[-2000:]}")
    print(f"  {label:18} {elapsed:7.2f} s  (client CPU {usage.ru_utime + usage.ru_stime:.2f} s)", file=sys.stderr)
    return elapsed, usage.ru_maxrss / 1024


def main():
    os.environ["STOWAGE_BIN"] = BIN
    work = tempfile.mkdtemp(prefix="stowage-bench-client-")
    data = os.path.join(work, "data")
    os.makedirs(data)
    part = str(PART_MB * 1_000_000)
    server = Server(data, extra_args=["--recommended-part-size", part]).start()
    try:
        env = dict(os.environ, STOWAGE_CONFIG_DIR=os.path.join(work, "config"), B2_ENVIRONMENT=server.url,
                   B2_APPLICATION_KEY_ID=ROOT_ID, B2_APPLICATION_KEY=ROOT_KEY, B2_ACCOUNT_INFO=os.path.join(work, "b2-account"),
                   HOME=work, RCLONE_CONFIG="/dev/null", RCLONE_CONFIG_BENCH_TYPE="b2", RCLONE_CONFIG_BENCH_ACCOUNT=ROOT_ID,
                   RCLONE_CONFIG_BENCH_KEY=ROOT_KEY, RCLONE_CONFIG_BENCH_ENDPOINT=server.url)
        subprocess.run([BIN, "mb", "b2://bench-client"], env=env, check=True, capture_output=True)
        big = os.path.join(work, "big.bin")
        with open(big, "wb") as f:
            for _ in range(MB):
                f.write(os.urandom(1 << 20))
        small = os.path.join(work, "small")
        for i in range(FILES):
            folder = os.path.join(small, f"d{i % 100:02d}")
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, f"f{i:05d}.bin"), "wb") as f:
                f.write(os.urandom(4096))
        out = os.path.join(work, "out")
        os.makedirs(out)

        clients = {
            "stowage": {
                "up": [BIN, "cp", "--quiet", "--threads", str(THREADS), big, "b2://bench-client/stowage.bin"],
                "down": [BIN, "cp", "--quiet", "--threads", str(THREADS), "b2://bench-client/stowage.bin", os.path.join(out, "stowage.bin")],
                "sync up": [BIN, "sync", "--quiet", "--threads", str(THREADS), small, "b2://bench-client/sync-stowage"],
                "sync down": [BIN, "sync", "--quiet", "--threads", str(THREADS), "b2://bench-client/sync-stowage", os.path.join(out, "sync-stowage")],
            },
            "b2 CLI": {
                "up": ["b2", "file", "upload", "--no-progress", "--threads", str(THREADS), "bench-client", big, "b2cli.bin"],
                "down": ["b2", "file", "download", "--no-progress", "--threads", str(THREADS), "b2://bench-client/b2cli.bin", os.path.join(out, "b2cli.bin")],
                "sync up": ["b2", "sync", "--no-progress", "--threads", str(THREADS), small, "b2://bench-client/sync-b2"],
                "sync down": ["b2", "sync", "--no-progress", "--threads", str(THREADS), "b2://bench-client/sync-b2", os.path.join(out, "sync-b2")],
            },
            "rclone": {
                "up": ["rclone", "copyto", "--ignore-times", "--transfers", str(THREADS), big, "bench:bench-client/rclone.bin"],
                "down": ["rclone", "copyto", "--ignore-times", "--transfers", str(THREADS), "bench:bench-client/rclone.bin", os.path.join(out, "rclone.bin")],
                "sync up": ["rclone", "sync", "--transfers", str(THREADS), "--checkers", str(THREADS), small, "bench:bench-client/sync-rclone"],
                "sync down": ["rclone", "sync", "--transfers", str(THREADS), "--checkers", str(THREADS), "bench:bench-client/sync-rclone", os.path.join(out, "sync-rclone")],
            },
        }
        results = {}
        runs = {}
        names = list(clients)
        for round_ in range(ROUNDS):
            # Each round starts with another client, so none always follows the same one.
            order = names[round_ % len(names):] + names[:round_ % len(names)]
            for step in ("up", "down"):
                for name in order:
                    args = clients[name][step]
                    runs.setdefault((name, step), []).append(timed(args, env, label=f"{name} {step}"))
                    os.path.exists(args[-1]) and os.remove(args[-1])
        for key, measured in runs.items():
            seconds = sorted(m[0] for m in measured)[len(measured) // 2]
            results[key] = (seconds, max(m[1] for m in measured))
        for name, steps in clients.items():
            for step in ("sync up", "sync down"):
                results[(name, step)] = timed(steps[step], env, label=f"{name} {step}")

        print(f"\nClients against one Stowage (release) on 127.0.0.1: one {MB} MiB file, {FILES} files of 4 KiB, {THREADS} threads, {PART_MB} MB parts; "
              f"big file: median of {ROUNDS} interleaved runs")
        print(f"{'':10}{'up MB/s':>10}{'down MB/s':>11}{'sync up s':>11}{'sync down s':>13}{'peak RSS MiB (up)':>19}")
        for name in clients:
            up, down = results[(name, "up")], results[(name, "down")]
            print(f"{name:10}{MB * 1.048576 / up[0]:>10.0f}{MB * 1.048576 / down[0]:>11.0f}{results[(name, 'sync up')][0]:>11.1f}"
                  f"{results[(name, 'sync down')][0]:>13.1f}{up[1]:>19.0f}")
        for other in ("b2 CLI", "rclone"):
            ratio = [results[(other, s)][0] / results[("stowage", s)][0] for s in ("up", "down", "sync up", "sync down")]
            print(f"stowage vs {other}: " + ", ".join(f"{s} {r:.2f}x" for s, r in zip(("up", "down", "sync up", "sync down"), ratio)))
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
