"""Runs the backblaze-b2 (npm) scenario under node's test runner against the suite's server."""

import os
import subprocess

from conftest import ROOT_ID, ROOT_KEY


def test_backblaze_b2_npm(server):
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, STOWAGE_URL=server.url, STOWAGE_KEY_ID=ROOT_ID, STOWAGE_KEY=ROOT_KEY)
    proc = subprocess.run(["node", "--test", "backblaze_b2.test.js"], cwd=here, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
