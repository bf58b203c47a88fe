"""Runs the Node scenarios (backblaze-b2; AWS SDK v3 with a real Chromium) under node's test runner against
the suite's server."""

import os
import subprocess

import pytest

from conftest import ROOT_ID, ROOT_KEY

HERE = os.path.dirname(os.path.abspath(__file__))


def run_node(server, script):
    env = dict(os.environ, STOWAGE_URL=server.url, STOWAGE_KEY_ID=ROOT_ID, STOWAGE_KEY=ROOT_KEY)
    proc = subprocess.run(["node", "--test", script], cwd=HERE, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_backblaze_b2_npm(server):
    run_node(server, "backblaze_b2.test.js")


def test_browser_presigned_uploads_and_cors(server):
    run_node(server, "browser_cors.test.js")


def test_web_console_in_chromium(server):
    run_node(server, "console.test.js")
