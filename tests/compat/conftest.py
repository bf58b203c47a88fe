"""Starts the real stowage binary for the compatibility suite and hands out configured clients."""

import atexit
import contextlib
import os
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

ROOT_ID = "compatrootid"
ROOT_KEY = "compatrootsecret"
PART_SIZE = 5_000_000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_postgres = None


def metadata_args(data_dir):
    """With STOWAGE_TEST_META=postgres, each server is one node of a PostgreSQL deployment (its own database,
    blobs in a directory apart from its data, as nodes sharing one would have them); else embedded."""
    global _postgres
    if os.environ.get("STOWAGE_TEST_META") != "postgres":
        return []
    if _postgres is None:
        from cluster import Postgres
        _postgres = Postgres().start()
        atexit.register(_postgres.remove)
    database = f"compat_{len(_postgres.databases) + 1}"
    url = _postgres.create_database(database)
    return ["--meta", url, "--blobs", os.path.join(data_dir, "shared-blobs")]


def wait_until_answering(url, proc, log_path, seconds=30):
    """Waits for `url` to answer 200; fails with the log's tail if the process exits first."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            with open(log_path) as log:
                raise RuntimeError(f"stowage exited: {log.read()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer")


class Server:
    def __init__(self, data_dir, extra_args=(), extra_env=None):
        self.data_dir = data_dir
        self.meta_args = metadata_args(data_dir)
        self.extra_args = self.meta_args + list(extra_args)
        self.extra_env = extra_env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None

    @staticmethod
    def binary():
        return os.environ.get("STOWAGE_BIN", os.path.join(os.path.dirname(__file__), "../../target/debug/stowage"))

    def admin(self, *args):
        """Runs an administrative command (`kms create …`) on this server's deployment, as an operator would."""
        meta = [a for a in self.meta_args[:2]] if self.meta_args[:1] == ["--meta"] else []
        return subprocess.run([self.binary(), *args, "--data", self.data_dir, *meta], capture_output=True, text=True, timeout=60)

    def start(self):
        binary = self.binary()
        env = dict(os.environ, STOWAGE_ROOT_KEY_ID=ROOT_ID, STOWAGE_ROOT_KEY=ROOT_KEY, **self.extra_env)
        self.log = open(os.path.join(self.data_dir, "server.log"), "w")
        self.proc = subprocess.Popen(
            [binary, "serve", "--data", self.data_dir, "--listen", f"127.0.0.1:{self.port}",
             "--min-part-size", str(PART_SIZE), "--recommended-part-size", str(PART_SIZE), "--test-hooks", *self.extra_args],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)
        wait_until_answering(self.url + "/_health", self.proc, os.path.join(self.data_dir, "server.log"))
        return self

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.log.close()

    def metrics(self):
        with urllib.request.urlopen(self.url + "/_metrics") as r:
            return r.read().decode()


@contextlib.contextmanager
def running_server():
    """A server on a temporary directory; no request it served may have ended in a server error."""
    with tempfile.TemporaryDirectory() as data:
        s = Server(data).start()
        yield s
        metrics = s.metrics()
        s.stop()
        assert 'status="500"' not in metrics, metrics


@pytest.fixture(scope="session")
def server():
    with running_server() as s:
        yield s


@pytest.fixture
def workdir(tmp_path):
    return tmp_path
