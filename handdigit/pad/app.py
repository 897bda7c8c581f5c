"""`handdigit app`: the drawing widget as a standalone web page, served by Voila.

Voila runs the notebook shipped in this package (`app.ipynb`: one DigitPad) in a fresh kernel for
every visitor, and shows only its widgets. On top of Voila's defaults HandDigit sets:
- 127.0.0.1 unless told otherwise (any other host prints a warning: every visitor gets a Python
  kernel on this machine);
- idle visitors' kernels are shut down after `--idle-minutes`, every kernel after
  `--session-minutes`, and at most `--max-sessions` kernels run or start at once, within a memory
  budget (handdigit.pad.sessions): the next visitor gets a page saying the app is full;
- the kernel websocket's frame parsers checked before they loop (handdigit.pad.guards), and
  messages up to 64 MiB (uploads of up to 25 MiB reach the pad, which explains a bigger one);
- no tracebacks sent to visitors, and nothing fetched from the internet;
- what a visitor teaches the pad (handdigit.pad.teaching) is kept in the user's data directory on
  127.0.0.1 (one user, their own machine), and only in that visitor's kernel when other hosts are
  served, so that it never changes what others see;
- the address and port checked before Voila starts, so the URL printed is the one served.
"""

import errno
import math
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path

from handdigit.pad.sessions import FULL

NOTEBOOK = Path(__file__).with_name("app.ipynb")
DEFAULT_PORT = 8866
DEFAULT_MAX_SESSIONS = 8
DEFAULT_IDLE_MINUTES = 15
DEFAULT_SESSION_MINUTES = 60
MAX_MESSAGE_BYTES = 64 << 20  # Tornado's default, 10 MiB, closed the connection on a 10 MiB upload
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def free_port(host):
    """A TCP port that nothing listens on right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class AddressError(ValueError):
    """The app cannot listen where it was asked to; the message says why."""


def check_address(host, port):
    """Bind `host`:`port` once to find out now (not after Voila started) if the app can listen there."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError) as error:
        raise AddressError(f"--host {host}: not an address of this machine ({error})") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Tornado: TIME_WAIT is no obstacle
        try:
            probe.bind(address)
            probe.listen()
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise AddressError(
                    f"port {port} on {host} is in use; choose another with --port (0 picks a free one)"
                ) from None
            raise AddressError(f"cannot listen on {host} port {port} ({error.strerror or error})") from None


def session_limit(max_sessions):
    """A Voila prelaunch hook that turns a new visitor away before rendering when no kernel can start
    (the kernel manager's own check, or `max_sessions` kernels running for another manager)."""

    def hook(request_handler, notebook, cwd):
        from tornado.web import HTTPError

        manager = request_handler.kernel_manager
        if hasattr(manager, "refusal"):
            message = manager.refusal()
        elif len(manager.list_kernel_ids()) >= max_sessions:
            message = FULL.format(sessions=max_sessions)
        else:
            message = None
        if message is not None:
            raise HTTPError(503, message, reason=message)  # Voila's error page shows the reason
        return notebook

    return hook


def voila_arguments(host, port, open_browser):
    return [
        str(NOTEBOOK),
        f"--Voila.ip={host}",
        f"--port={port}",
        "--Voila.port_retries=0",  # another port than the one printed would be a wrong URL
        "--theme=light",
        *([] if open_browser else ["--no-browser"]),
    ]


def voila_config(
    max_sessions,
    idle_minutes,
    session_minutes=DEFAULT_SESSION_MINUTES,
    memory_budget_mb=None,
    activity_dir=None,
):
    from traitlets.config import Config

    from handdigit.pad.sessions import BoundedKernelManager

    idle_seconds = max(1, math.ceil(idle_minutes * 60))  # 0 would turn culling off
    config = Config()
    config.VoilaConfiguration.prelaunch_hook = session_limit(max_sessions)
    config.VoilaConfiguration.show_tracebacks = False
    config.VoilaConfiguration.multi_kernel_manager_class = BoundedKernelManager
    config.BoundedKernelManager.max_sessions = max_sessions
    config.BoundedKernelManager.session_minutes = float(session_minutes)
    config.BoundedKernelManager.idle_minutes = float(idle_minutes)
    config.BoundedKernelManager.activity_dir = activity_dir or ""
    config.BoundedKernelManager.check_seconds = float(max(1, min(30, idle_seconds // 4)))
    if memory_budget_mb is not None:
        config.BoundedKernelManager.memory_budget_mb = int(memory_budget_mb)
    config.MappingKernelManager.cull_idle_timeout = idle_seconds
    config.MappingKernelManager.cull_interval = max(1, min(60, idle_seconds // 4))
    config.MappingKernelManager.cull_connected = True  # an open but untouched tab counts as idle
    config.Voila.tornado_settings = {"websocket_max_message_size": MAX_MESSAGE_BYTES}
    return config


def run(
    host="127.0.0.1",
    port=DEFAULT_PORT,
    open_browser=True,
    max_sessions=DEFAULT_MAX_SESSIONS,
    idle_minutes=DEFAULT_IDLE_MINUTES,
    session_minutes=DEFAULT_SESSION_MINUTES,
    memory_budget_mb=None,
):
    """Serve the app until Ctrl-C; returns the process exit status."""
    try:
        from voila.app import Voila
    except ImportError:
        print("handdigit app: error: Voila is not installed (pip install voila)", file=sys.stderr)
        return 1
    from handdigit.pad import activity, guards

    if port == 0:
        try:
            port = free_port(host)
        except OSError as error:
            raise AddressError(f"--host {host}: cannot listen there ({error.strerror or error})") from None
    check_address(host, port)
    from handdigit.pad.personal import SESSION_ONLY_VARIABLE

    if host in LOCAL_HOSTS:
        os.environ.pop(SESSION_ONLY_VARIABLE, None)
    else:
        os.environ[SESSION_ONLY_VARIABLE] = (
            "1"  # the kernels inherit it: teaching stays in each visitor's pad
        )
        print(
            f"handdigit app: warning: serving on {host}: anyone who can reach this machine can use the app, "
            "and each visitor runs a Python kernel here.",
            file=sys.stderr,
        )
    guards.install()
    activity_dir = tempfile.mkdtemp(prefix="handdigit-activity-")
    os.environ[activity.ENVIRONMENT_VARIABLE] = activity_dir  # the kernels inherit it
    shown_host = f"[{host}]" if ":" in host else host
    print(f"HandDigit is running at http://{shown_host}:{port}/ (Ctrl-C to stop)", flush=True)
    Voila.launch_instance(
        argv=voila_arguments(host, port, open_browser),
        config=voila_config(max_sessions, idle_minutes, session_minutes, memory_budget_mb, activity_dir),
    )
    shutil.rmtree(activity_dir, ignore_errors=True)
    return 0
