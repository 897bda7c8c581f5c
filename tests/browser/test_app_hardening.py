"""`handdigit app` against careless and hostile visitors, on a real server: a burst of page loads
gets no more kernels than the cap, and a malformed websocket frame costs only its own connection."""

import asyncio
import re
import threading
import time
import urllib.error
import urllib.request

from .conftest import start_app
from .test_app import SEVEN, draw_and_wait, open_pad, shown


def load(url, statuses):
    """Load the page as a visitor would; append its HTTP status (or the error) to `statuses`."""
    try:
        with urllib.request.urlopen(url, timeout=180) as response:
            response.read()
            statuses.append(response.status)
    except urllib.error.HTTPError as error:
        statuses.append(error.code)
    except OSError as error:
        statuses.append(f"error: {error}")


def test_a_burst_of_page_loads_gets_no_more_kernels_than_the_cap(tmp_path):
    """Twelve visitors at once with a cap of two (before: twelve kernels, about 200 MB each)."""
    server = start_app(tmp_path, "--max-sessions", "2")
    try:
        statuses = []
        visitors = [threading.Thread(target=load, args=(server.url, statuses)) for _ in range(12)]
        for visitor in visitors:
            visitor.start()
        for visitor in visitors:
            visitor.join(timeout=180)
        assert sorted(statuses) == [200, 200] + [503] * 10, statuses
        started = [line for line in server.lines if "Kernel started" in line]
        assert len(started) == 2, started
    finally:
        server.stop()


async def send_frame(url, kernel_id, frame):
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    channels = (
        url.replace("http", "ws", 1).rstrip("/") + f"/api/kernels/{kernel_id}/channels?session_id=attacker"
    )
    connection = await websocket_connect(
        HTTPRequest(channels), subprotocols=["v1.kernel.websocket.jupyter.org"]
    )
    await connection.write_message(frame, binary=True)
    return await asyncio.wait_for(connection.read_message(), timeout=30)  # None: closed


def test_a_malformed_frame_costs_only_the_attackers_connection(browser, app):
    """The probe's 16-byte frame (2**62 offsets) once froze the server for everyone."""
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    visitor, _ = open_pad(context, app.url, server=app)
    with urllib.request.urlopen(app.url, timeout=120) as response:
        kernel_id = re.search(r'"kernelId": "([0-9a-f-]+)"', response.read().decode()).group(1)
    replies = []  # in a thread of its own: Playwright's page runs an event loop in this one
    attack = threading.Thread(
        target=lambda: replies.append(
            asyncio.run(send_frame(app.url, kernel_id, (2**62).to_bytes(8, "little") + bytes(8)))
        )
    )
    attack.start()
    attack.join(timeout=60)
    assert replies == [None]  # the attacker's websocket is closed
    started = time.monotonic()
    with urllib.request.urlopen(app.url.rstrip("/") + "/voila/static/voila.js", timeout=10) as response:
        assert response.status == 200
    assert time.monotonic() - started < 5
    draw_and_wait(visitor, SEVEN)
    assert shown(visitor)["digit"] == "7"
    context.close()


def kernel_message(msg_type, content):
    import json
    import uuid

    header = {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "session": "visitor", "username": "",
              "version": "5.3", "date": ""}  # fmt: skip
    return json.dumps(
        {
            "header": header,
            "parent_header": {},
            "metadata": {},
            "content": content,
            "channel": "shell",
            "buffers": [],
        }
    )


async def hand_made_client(url, kernel_id):
    """A client without a subprotocol (the legacy framing) that sends what no page sends: a comm
    for a target that does not exist, and an update to a comm that does not exist. Returns every
    message the server sent back within a few seconds."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    channels = (
        url.replace("http", "ws", 1).rstrip("/") + f"/api/kernels/{kernel_id}/channels?session_id=visitor"
    )
    connection = await websocket_connect(HTTPRequest(channels))
    for message in (
        kernel_message("comm_open", {"comm_id": "c1", "target_name": "no.such.target", "data": {}}),
        kernel_message("comm_open", {"comm_id": "c2", "target_name": "jupyter.widget", "data": {"state": 7}}),
        kernel_message("comm_msg", {"comm_id": "nowhere", "data": {"method": "update", "state": {"x": 1}}}),
    ):
        await connection.write_message(message)
    received, deadline = [], time.monotonic() + 8
    while time.monotonic() < deadline:
        try:
            message = await asyncio.wait_for(connection.read_message(), timeout=2)
        except TimeoutError:
            break
        if message is None:
            break
        received.append(message if isinstance(message, str) else message.decode("utf-8", "replace"))
    connection.close()
    return received


def test_a_hand_made_client_gets_no_traceback_and_no_server_path(tmp_path):
    server = start_app(tmp_path)
    try:
        with urllib.request.urlopen(server.url, timeout=120) as response:
            kernel_id = re.search(r'"kernelId": "([0-9a-f-]+)"', response.read().decode()).group(1)
        received = []
        client = threading.Thread(
            target=lambda: received.extend(asyncio.run(hand_made_client(server.url, kernel_id)))
        )
        client.start()
        client.join(timeout=60)
        assert received, "the server sent nothing back (the test would prove nothing)"
        for message in received:
            assert "Traceback" not in message and "site-packages" not in message, message[:1500]
        time.sleep(1)
        assert any("no.such.target" in line or "Traceback" in line for line in server.lines)  # logged instead
    finally:
        server.stop()
