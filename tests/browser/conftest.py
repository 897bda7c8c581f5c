"""Real-browser fixtures: `handdigit app` (or JupyterLab) on 127.0.0.1, Debian's Chromium driven by
Playwright (see ../shared/BROWSER.md). Screenshots and timings go to artifacts/browser/.

Without Chromium or Playwright these tests skip with the reason, except under CI=true, where a
missing browser is a failure: scripts/test.sh installs it when it runs as root.
"""

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.handdigit.helpers import REPOSITORY, SHARED_MNIST

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPOSITORY / "artifacts" / "browser"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_LIFETIME = "900"  # seconds: a hard limit, whatever happens to the test process


def _missing(reason):
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"CI must run the browser tests: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        _missing(
            f"Debian's Chromium is not installed at {CHROMIUM} (scripts/test.sh installs it when run as root)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed (pip install -e '.[dev]')")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        yield browser
        browser.close()


def private_jupyter_environment(directory):
    """Environment variables that keep the user's Jupyter and IPython settings out of a test server."""
    directory = Path(directory)
    names = ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR", "IPYTHONDIR")
    environment = {name: str(directory / name.lower()) for name in names}
    for path in environment.values():
        Path(path).mkdir(parents=True, exist_ok=True)
    return {**os.environ, **environment, "HANDDIGIT_DATA": str(SHARED_MNIST), "PYTHONUNBUFFERED": "1"}


class Server:
    """A server process in its own process group, its output collected by a thread."""

    def __init__(self, command, environment, url_pattern, cwd=None):
        self.started = time.monotonic()
        self.lines = []
        timeout = shutil.which("timeout")
        prefix = [timeout, SERVER_LIFETIME] if timeout else []
        self.process = subprocess.Popen(
            prefix + command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=environment,
            cwd=cwd,
            start_new_session=True,
        )
        threading.Thread(target=self._collect, daemon=True).start()
        self.url = self._wait_for(url_pattern)

    def _collect(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def _wait_for(self, pattern, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                match = re.search(pattern, line)
                if match:
                    return match.group(1)
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError("server did not print its address; output:\n" + "\n".join(self.lines[-40:]))

    def wait_until_answering(self, path, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(self.url.rstrip("/") + path, timeout=5) as response,
            ):
                if response.status == 200:
                    return time.monotonic() - self.started
            time.sleep(0.1)
        raise AssertionError(f"{self.url}{path} did not answer; output:\n" + "\n".join(self.lines[-40:]))

    def stop(self):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)


def start_app(tmp_path, *options, environment=None):
    server = Server(
        [sys.executable, "-m", "handdigit", "app", "--port", "0", "--no-browser", *options],
        {**private_jupyter_environment(tmp_path), **(environment or {})},
        r"HandDigit is running at (http://\S+)",
    )
    server.listening_after = server.wait_until_answering("/voila/static/voila.js")
    return server


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    # Room for every page the module opens, and for a reload after a page stuck at loading (its
    # session still counts until it is culled): a full app would answer that reload with 503.
    server = start_app(tmp_path_factory.mktemp("app"), "--max-sessions", "10")
    yield server
    server.stop()
