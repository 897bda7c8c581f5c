"""The parent side of benchmarks/worker.py: start contenders, send commands, collect replies."""

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from contenders import available
from worker import THREAD_ENVIRONMENT

HERE = Path(__file__).resolve().parent
SHARED_MNIST = HERE.parent.parent / "shared" / "datasets" / "mnist"


def worker_environment():
    environment = {**os.environ, **THREAD_ENVIRONMENT}
    if "HANDDIGIT_DATA" not in environment and SHARED_MNIST.is_dir():
        environment["HANDDIGIT_DATA"] = str(SHARED_MNIST)
    return environment


class Worker:
    def __init__(self, name, images=None, timeout=1800):
        self.name = name
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "worker.py"), name, *([str(images)] if images else [])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=worker_environment(),
        )
        self.timeout = timeout
        self.startup = self._reply()
        self.startup["seconds"] = time.perf_counter() - started

    def _reply(self):
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.name} exited with {self.process.wait()}")
        return json.loads(line)

    def ask(self, **command):
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self._reply()

    def close(self):
        if self.process.poll() is None:
            with contextlib.suppress(BrokenPipeError, RuntimeError, json.JSONDecodeError):
                self.ask(do="quit")
            self.process.wait(timeout=60)


def start_workers(names, images=None):
    """({name: Worker} for the contenders that can run here, [a note for each that cannot])."""
    workers, notes = {}, []
    for name in names:
        note = available(name)
        if note:
            notes.append(note)
        else:
            workers[name] = Worker(name, images)
    return workers, notes
