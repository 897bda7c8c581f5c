"""`handdigit app`: the drawing widget as a standalone web page, served by Voila.

Voila runs the notebook shipped in this package (`app.ipynb`: one DigitPad) in a fresh kernel for
every visitor, and shows only its widgets. On top of Voila's defaults HandDigit sets:
- 127.0.0.1 unless told otherwise (any other host prints a warning: every visitor gets a Python
  kernel on this machine);
- idle visitors' kernels are shut down after `--idle-minutes`, and at most `--max-sessions`
  kernels run at once: the next visitor gets a page saying the app is full;
- no tracebacks sent to visitors, and nothing fetched from the internet.
"""

import socket
import sys
from pathlib import Path

NOTEBOOK = Path(__file__).with_name("app.ipynb")
DEFAULT_PORT = 8866
DEFAULT_MAX_SESSIONS = 8
DEFAULT_IDLE_MINUTES = 15
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def free_port(host):
    """A TCP port that nothing listens on right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def session_limit(max_sessions):
    """A Voila prelaunch hook that refuses a new visitor while `max_sessions` kernels run."""

    def hook(request_handler, notebook, cwd):
        from tornado.web import HTTPError

        running = len(request_handler.kernel_manager.list_kernel_ids())
        if running >= max_sessions:
            message = (
                f"HandDigit is full: {max_sessions} people are drawing right now. "
                "Please try again in a few minutes."
            )
            raise HTTPError(503, message, reason=message)  # Voila's error page shows the reason
        return notebook

    return hook


def voila_arguments(host, port, open_browser):
    return [
        str(NOTEBOOK),
        f"--Voila.ip={host}",
        f"--port={port}",
        "--theme=light",
        *([] if open_browser else ["--no-browser"]),
    ]


def voila_config(max_sessions, idle_minutes):
    from traitlets.config import Config

    config = Config()
    config.VoilaConfiguration.prelaunch_hook = session_limit(max_sessions)
    config.VoilaConfiguration.show_tracebacks = False
    config.MappingKernelManager.cull_idle_timeout = int(idle_minutes * 60)
    config.MappingKernelManager.cull_interval = max(10, min(60, int(idle_minutes * 60) // 4))
    config.MappingKernelManager.cull_connected = True  # an open but untouched tab counts as idle
    return config


def run(
    host="127.0.0.1",
    port=DEFAULT_PORT,
    open_browser=True,
    max_sessions=DEFAULT_MAX_SESSIONS,
    idle_minutes=DEFAULT_IDLE_MINUTES,
):
    """Serve the app until Ctrl-C; returns the process exit status."""
    try:
        from voila.app import Voila
    except ImportError:
        print("handdigit app: error: Voila is not installed (pip install voila)", file=sys.stderr)
        return 1
    if host not in LOCAL_HOSTS:
        print(
            f"handdigit app: warning: serving on {host}: anyone who can reach this machine can use the app, "
            "and each visitor runs a Python kernel here.",
            file=sys.stderr,
        )
    if port == 0:
        port = free_port(host)
    shown_host = f"[{host}]" if ":" in host else host
    print(f"HandDigit is running at http://{shown_host}:{port}/ (Ctrl-C to stop)", flush=True)
    Voila.launch_instance(
        argv=voila_arguments(host, port, open_browser), config=voila_config(max_sessions, idle_minutes)
    )
    return 0
