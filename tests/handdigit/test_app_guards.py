"""The app's guards without a server: websocket frame parsers that check counts before looping,
and a kernel manager whose cap counts kernels still starting and whose sessions end."""

import asyncio
import json
import struct
import threading
import time
from types import SimpleNamespace

import pytest
from jupyter_server.services.kernels.connection import base as upstream
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado.web import HTTPError

from handdigit.pad import guards
from handdigit.pad.sessions import BoundedKernelManager


def run_in_own_loop(coroutine):
    """asyncio.run in a thread of its own: the browser tests' Playwright may hold a running loop in
    this one."""
    results = []
    thread = threading.Thread(target=lambda: results.append(asyncio.run(coroutine)))
    thread.start()
    thread.join(timeout=60)
    return results[0]


HEADER = {
    "msg_id": "1",
    "msg_type": "comm_msg",
    "session": "s",
    "username": "u",
    "version": "5.3",
    "date": "",
}


def v1_frame():
    parts = [json.dumps(HEADER).encode(), b"{}", b"{}", json.dumps({"data": {"x": 1}}).encode()]
    return upstream.serialize_msg_to_ws_v1(parts, "shell")


@pytest.mark.parametrize(
    "frame",
    [
        (2**62).to_bytes(8, "little") + bytes(8),  # the probe's frame: upstream loops 2**62 times
        (10**6).to_bytes(8, "little") + bytes(64),
        (3).to_bytes(8, "little") + (100).to_bytes(8, "little") + (50).to_bytes(8, "little") + bytes(8),
        b"\x01",
        b"",
    ],
    ids=["2**62-offsets", "million-offsets", "decreasing-offsets", "one-byte", "empty"],
)
def test_a_malformed_v1_frame_is_refused_at_once(frame):
    started = time.perf_counter()
    with pytest.raises(guards.MalformedFrame):
        guards.deserialize_msg_from_ws_v1(frame)
    assert guards.read_header_from_binary_message(frame) is None
    assert time.perf_counter() - started < 1.0  # upstream: until the memory runs out


def test_a_well_formed_v1_frame_reads_as_upstream_reads_it():
    frame = v1_frame()
    assert guards.deserialize_msg_from_ws_v1(frame) == upstream.deserialize_msg_from_ws_v1(frame)
    assert guards.read_header_from_binary_message(frame) == HEADER


def test_a_legacy_frame_read_as_v1_gives_no_header_and_a_lying_legacy_count_is_refused():
    legacy = upstream.serialize_binary_message(
        {"header": HEADER, "parent_header": {}, "metadata": {}, "content": {}, "buffers": [b"\x00" * 9]}
    )
    assert guards.read_header_from_binary_message(legacy) is None
    assert guards.checked_legacy_frame(legacy) == legacy
    with pytest.raises(guards.MalformedFrame, match="cannot hold 2147483647 parts"):
        guards.checked_legacy_frame(struct.pack("!i", 2**31 - 1) + bytes(8))


def test_install_puts_the_checked_parsers_where_the_servers_look_them_up():
    from jupyter_server.services.kernels.connection import channels
    from voila.tornado import kernel_websocket_handler

    guards.install()
    guards.install()
    assert channels.deserialize_msg_from_ws_v1 is guards.deserialize_msg_from_ws_v1
    assert kernel_websocket_handler.read_header_from_binary_message is guards.read_header_from_binary_message
    with pytest.raises(guards.MalformedFrame):
        channels.deserialize_binary_message(struct.pack("!i", 2**31 - 1))
    legacy = upstream.serialize_binary_message(
        {"header": HEADER, "parent_header": {}, "metadata": {}, "content": {}, "buffers": []}
    )
    assert channels.deserialize_binary_message(legacy)["header"]["msg_id"] == "1"


@pytest.fixture
def manager(monkeypatch):
    """A BoundedKernelManager whose kernels are stand-ins that take 50 ms to start."""

    async def start(self, *, kernel_id=None, path=None, **kwargs):
        await asyncio.sleep(0.05)
        self._kernels[kernel_id] = SimpleNamespace(kernel_name="python3")
        return kernel_id

    async def shutdown(self, kernel_id, **kwargs):
        self._kernels.pop(kernel_id)

    monkeypatch.setattr(AsyncMappingKernelManager, "_async_start_kernel", start)
    monkeypatch.setattr(AsyncMappingKernelManager, "shutdown_kernel", shutdown)
    monkeypatch.setattr("handdigit.pad.sessions.available_memory_mb", lambda: 16_000)
    return BoundedKernelManager(max_sessions=2, session_minutes=0)


def test_a_burst_of_visitors_gets_no_more_kernels_than_the_cap(manager):
    async def burst():
        return await asyncio.gather(*(manager.start_kernel() for _ in range(12)), return_exceptions=True)

    results = run_in_own_loop(burst())
    started = [result for result in results if isinstance(result, str)]
    refused = [result for result in results if isinstance(result, HTTPError)]
    assert len(started) == 2 and len(refused) == 10 and len(manager.list_kernel_ids()) == 2
    assert all(error.status_code == 503 and "HandDigit is full" in error.reason for error in refused)


def test_the_memory_budget_and_the_machines_memory_cap_sessions_too(manager, monkeypatch):
    manager.max_sessions, manager.memory_budget_mb, manager.kernel_mb = 8, 750, 250
    assert manager.session_cap == 3
    monkeypatch.setattr("handdigit.pad.sessions.available_memory_mb", lambda: 400)
    assert "out of memory" in manager.refusal()


def test_sessions_end_after_their_lifetime_whatever_they_do(manager):
    async def scenario():
        first = await manager.start_kernel()
        manager._born[first] -= 3600  # started an hour ago
        second = await manager.start_kernel()
        manager.session_minutes = 30
        return first, second, await manager.end_expired_sessions()

    first, second, ended = run_in_own_loop(scenario())
    assert ended == {first: "lifetime"} and manager.list_kernel_ids() == [second]


def test_a_session_ends_when_its_visitor_stops_drawing_whatever_else_it_sends(manager, tmp_path):
    """Idle means no drawing noted by the pad, not no message: a visitor clicking a button every
    10 s (messages, no drawing) is ended at the idle time; one who drew a minute ago is not."""
    import os

    manager.idle_minutes, manager.activity_dir = 5, str(tmp_path)

    async def scenario():
        clicking = await manager.start_kernel()
        drawing = await manager.start_kernel()
        for kernel_id in (clicking, drawing):
            manager._born[kernel_id] -= 3600  # both came an hour ago
        (tmp_path / drawing).touch()
        os.utime(tmp_path / drawing, (time.time() - 60, time.time() - 60))
        return clicking, drawing, await manager.end_expired_sessions()

    clicking, drawing, ended = run_in_own_loop(scenario())
    assert ended == {clicking: "idle"} and manager.list_kernel_ids() == [drawing]


def test_the_pad_notes_strokes_uploads_and_test_digits_but_not_clicks(tmp_path, monkeypatch, mnist_dir):
    from handdigit import Recognizer
    from handdigit.pad import activity
    from handdigit.pad.widget import DigitPad

    monkeypatch.setenv(activity.ENVIRONMENT_VARIABLE, str(tmp_path))
    monkeypatch.setattr(activity, "kernel_id", lambda: "k1")
    monkeypatch.setattr(activity, "MIN_SECONDS_BETWEEN_NOTES", 0.0)
    pad = DigitPad(recognizer=Recognizer.load(), warm_up=False, data_dir=mnist_dir)
    noted = tmp_path / "k1"

    def event(name, **content):
        pad.canvas[-1]._handle_frontend_event(None, {"event": name, **content}, [])

    event("mouse_down", x=100, y=100)
    event("mouse_up", x=100, y=100)  # a click on the canvas
    assert not noted.exists()
    event("mouse_down", x=100, y=100)
    event("mouse_move", x=150, y=200)
    event("mouse_up", x=150, y=200)
    assert noted.exists()
    noted.unlink()
    pad.show_test_digit()
    assert noted.exists()
