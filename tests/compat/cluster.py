"""A real multi-node deployment for tests: PostgreSQL from Debian's package on a temporary directory (run as
`nobody` when the tests run as root: initdb refuses root), several `stowage serve` nodes sharing it and one
blob directory, and nginx in front of them."""

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

from conftest import PART_SIZE, ROOT_ID, ROOT_KEY, free_port, wait_until_answering

NOBODY = 65534
MASTER_KEY = "5a" * 32


def pg_bin(program):
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not versions:
        raise RuntimeError("PostgreSQL is not installed (./test.sh installs it)")
    return os.path.join(versions[-1], program)


class Postgres:
    def __init__(self):
        # Its own directory straight under /tmp: pytest's are private to the user running the tests.
        self.dir = tempfile.mkdtemp(prefix="stowage-pg-")
        self.user = {}
        if os.geteuid() == 0:
            os.chown(self.dir, NOBODY, NOBODY)
            self.user = {"user": NOBODY, "group": NOBODY}
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.url = f"postgres://stowage@127.0.0.1:{self.port}/postgres"
        self.databases = []
        subprocess.run([pg_bin("initdb"), "-D", self.data, "-U", "stowage", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"],
                       check=True, stdout=subprocess.DEVNULL, cwd=self.dir, **self.user)

    def start(self):
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300"
        subprocess.run([pg_bin("pg_ctl"), "-D", self.data, "-l", os.path.join(self.dir, "log"), "-o", options, "-w", "start"],
                       check=True, stdout=subprocess.DEVNULL, cwd=self.dir, **self.user)
        return self

    def create_database(self, name):
        subprocess.run([pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "stowage", name], check=True)
        self.databases.append(name)
        return f"postgres://stowage@127.0.0.1:{self.port}/{name}"

    def stop(self, mode="fast"):
        subprocess.run([pg_bin("pg_ctl"), "-D", self.data, "-m", mode, "-w", "stop"],
                       check=False, stdout=subprocess.DEVNULL, cwd=self.dir, **self.user)

    def remove(self):
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class Node:
    def __init__(self, root, index, meta, blobs, public_url, extra_args=()):
        self.data = os.path.join(root, f"node{index}")
        os.makedirs(self.data, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = ["serve", "--data", self.data, "--listen", f"127.0.0.1:{self.port}", "--meta", meta, "--blobs", blobs,
                     "--public-url", public_url, "--min-part-size", str(PART_SIZE), "--recommended-part-size", str(PART_SIZE),
                     "--test-hooks", *extra_args]
        self.proc = None
        self.log_path = os.path.join(self.data, "server.log")

    def start(self):
        return self.spawn().wait_ready()

    def spawn(self, master_key=MASTER_KEY):
        binary = os.environ.get("STOWAGE_BIN", os.path.join(os.path.dirname(__file__), "../../target/debug/stowage"))
        env = dict(os.environ, STOWAGE_ROOT_KEY_ID=ROOT_ID, STOWAGE_ROOT_KEY=ROOT_KEY, STOWAGE_MASTER_KEY=master_key,
                   RUST_LOG="info,stowage::request=warn,stowage::jobs=debug")
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen([binary, *self.args], env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return self

    def wait_ready(self):
        wait_until_answering(self.url + "/_health/ready", self.proc, self.log_path)
        return self

    def kill(self):
        """`kill -9`: no shutdown work at all."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def log(self):
        with open(self.log_path) as f:
            return f.read()


NGINX_CONF = """
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    upstream stowage {{
{servers}
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 0;
        proxy_request_buffering off;
        proxy_buffering off;
        location / {{
            proxy_pass http://stowage;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_next_upstream error timeout;
            proxy_connect_timeout 2s;
        }}
    }}
}}
"""


class Balancer:
    """nginx, round-robin over the nodes; a node that refuses connections is skipped."""

    def __init__(self, root, port):
        self.dir = os.path.join(root, "nginx")
        os.makedirs(self.dir, exist_ok=True)
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.proc = None

    def start(self, nodes):
        servers = "\n".join(f"        server 127.0.0.1:{n.port} max_fails=0;" for n in nodes)
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(dir=self.dir, servers=servers, port=self.port))
        user = ["-g", "daemon off; user root;"] if os.geteuid() == 0 else ["-g", "daemon off;"]
        self.proc = subprocess.Popen(["nginx", "-c", conf, "-p", self.dir, "-e", os.path.join(self.dir, "error.log"), *user])
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/_health", timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start")

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=10)


class Cluster:
    def __init__(self, root, nodes=3, extra_args=()):
        self.pg = Postgres().start()
        self.blobs = os.path.join(root, "shared-blobs")
        balancer_port = free_port()
        public_url = f"http://127.0.0.1:{balancer_port}"
        self.nodes = [Node(root, i, self.pg.url, self.blobs, public_url, extra_args) for i in range(nodes)]
        # All start together, racing for the schema migration and the deployment's first facts.
        for n in self.nodes:
            n.spawn()
        for n in self.nodes:
            n.wait_ready()
        self.balancer = Balancer(root, balancer_port).start(self.nodes)
        self.url = self.balancer.url

    def stop(self):
        self.balancer.stop()
        for n in self.nodes:
            n.stop()
        self.pg.remove()
