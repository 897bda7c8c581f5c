"""`handdigit app` under load, on 127.0.0.1: one measured visitor draws digits while drawing
visitors, a burst of page loads and an attacker come at once. Reports whether the session cap held,
the server's memory (its whole process tree, kernels included) against the budget, and the
measured visitor's pen-up to answer, timed inside Chromium.

The attacker loads a page (so it holds a kernel), then keeps opening websockets to it that send the
probe's malformed v1 frame (2**62 offsets), and connections without a subprotocol that send a
frame of garbage. Needs Debian's Chromium and Playwright, as the browser tests do.

Usage: python benchmarks/app_load.py [--seconds 90] [--visitors 20] [--burst 50] [--max-sessions 8]
"""

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import machine_facts, publish  # noqa: E402

from tests.browser.conftest import CHROMIUM, CHROMIUM_FLAGS, start_app  # noqa: E402
from tests.browser.test_app import FOUR, ONE, SEVEN, TIMING_PROBE, ZERO, draw, open_pad, pen_ups  # noqa: E402
from tests.browser.test_app_hardening import load  # noqa: E402

KERNEL_MB = 250


def tree_rss_mb(root):
    """Resident memory of process `root` and all its descendants, in MiB (from /proc)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


class MemorySampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.samples, self.running = pid, [], True

    def run(self):
        while self.running:
            self.samples.append(tree_rss_mb(self.pid))
            time.sleep(0.5)


class Attacker(threading.Thread):
    """Holds a kernel, then sends malformed frames on fresh websockets until told to stop."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url, self.running, self.sent, self.closed, self.errors = url, True, 0, 0, []
        with urllib.request.urlopen(self.url, timeout=180) as response:  # its own kernel, like any visitor
            self.kernel_id = re.search(r'"kernelId": "([0-9a-f-]+)"', response.read().decode()).group(1)

    def run(self):
        asyncio.run(self.attack())

    async def attack(self):
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        channels = self.url.replace("http", "ws", 1).rstrip("/") + f"/api/kernels/{self.kernel_id}/channels"
        while self.running:
            for subprotocols, frame in (
                (["v1.kernel.websocket.jupyter.org"], (2**62).to_bytes(8, "little") + bytes(8)),
                (None, b"\x7f\xff\xff\xff" + bytes(12)),
            ):
                try:
                    connection = await websocket_connect(
                        HTTPRequest(f"{channels}?session_id=attacker{self.sent}"), subprotocols=subprotocols
                    )
                    await connection.write_message(frame, binary=True)
                    self.sent += 1
                    if await asyncio.wait_for(connection.read_message(), timeout=10) is None:
                        self.closed += 1
                    connection.close()
                except Exception as error:  # noqa: BLE001 - counted, the attack goes on
                    self.errors.append(type(error).__name__)
            await asyncio.sleep(0.5)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=90, help="how long the visitors draw")
    parser.add_argument("--visitors", type=int, default=20, help="drawing visitors who try to come in")
    parser.add_argument("--burst", type=int, default=50, help="page loads at once, while they draw")
    parser.add_argument("--max-sessions", type=int, default=8)
    args = parser.parse_args()
    budget_mb = args.max_sessions * KERNEL_MB
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
    from playwright.sync_api import sync_playwright

    server = start_app(
        Path(tempfile.mkdtemp(prefix="hd-load-")),
        "--max-sessions", str(args.max_sessions), "--memory-mb", str(budget_mb),
    )  # fmt: skip
    sampler = MemorySampler(server.process.pid)
    sampler.start()
    idle_mb = tree_rss_mb(server.process.pid)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
            )
            measured, _ = open_pad(browser.new_context(viewport={"width": 1000, "height": 900}), server.url)
            attacker = Attacker(server.url)
            attacker.start()
            drawing, turned_away, never_ready = [], 0, []
            for _ in range(args.visitors):
                page = browser.new_context(viewport={"width": 900, "height": 800}).new_page()
                response = page.goto(server.url)
                if response.status == 503:
                    turned_away += 1
                    page.context.close()
                    continue
                try:
                    page.wait_for_selector(".hd-status:text-is('ready')", timeout=120_000)
                except PlaywrightTimeoutError:
                    canvases = page.locator(".hd-canvas canvas").count()
                    never_ready.append(f"{canvases} canvas layers; " + page.inner_text("body")[-120:])
                    print(
                        f"visitor {len(drawing) + len(never_ready)}: never ready: {never_ready[-1]!r}",
                        flush=True,
                    )
                    continue
                drawing.append(page)
                print(f"visitor {len(drawing)}: drawing", flush=True)
            statuses = []
            burst = [threading.Thread(target=load, args=(server.url, statuses)) for _ in range(args.burst)]
            for visitor in burst:
                visitor.start()
            measured.evaluate(TIMING_PROBE)
            latencies, wrong, digits = [], 0, [(ONE, "1"), (ZERO, "0"), (SEVEN, "7"), (FOUR, "4")]
            deadline, turn = time.monotonic() + args.seconds, 0
            while time.monotonic() < deadline:
                strokes, digit = digits[turn % len(digits)]
                for page in drawing:  # each drawing visitor draws a stroke, then the measured one a digit
                    draw(page, strokes[:1], steps=4)
                expected = pen_ups(measured) + len(strokes)
                draw(measured, strokes)
                measured.wait_for_selector(f'.hd-answer[data-pen-ups="{expected}"]', timeout=60_000)
                timing = measured.evaluate("() => window.__hd")
                latencies.append(timing["answers"][str(expected)] - timing["ups"][-1])
                wrong += measured.locator(".hd-prediction").inner_text() != digit
                measured.locator(".hd-clear").click()
                turn += 1
            for visitor in burst:
                visitor.join(timeout=180)
            attacker.running = False
            attacker.join(timeout=30)
            browser.close()
    finally:
        sampler.running = False
        kernels_started = sum("Kernel started" in line for line in server.lines)
        server.stop()
    peak_mb = max(sampler.samples)
    payload = {
        "machine": machine_facts(),
        "max_sessions": args.max_sessions,
        "memory_budget_mb": budget_mb,
        "drawing_visitors_tried": args.visitors,
        "drawing_visitors_served": len(drawing),
        "drawing_visitors_turned_away": turned_away,
        "drawing_visitors_never_ready": len(never_ready),
        "burst_statuses": dict(sorted(Counter(map(str, statuses)).items())),
        "kernels_started": kernels_started,
        "attacker_frames_sent": attacker.sent,
        "attacker_connections_closed_by_server": attacker.closed,
        "attacker_errors": sorted(set(attacker.errors)),
        "server_tree_rss_mb_idle": round(idle_mb),
        "server_tree_rss_mb_peak": round(peak_mb),
        "pen_up_to_answer_ms": {
            "median": round(statistics.median(latencies), 1),
            "min": round(min(latencies), 1),
            "max": round(max(latencies), 1),
            "count": len(latencies),
        },
        "measured_visitor_wrong_answers": wrong,
    }
    cap_held = kernels_started <= args.max_sessions
    lines = [
        "# `handdigit app` under load",
        "",
        f"Cap {args.max_sessions} sessions, memory budget {budget_mb} MB ({KERNEL_MB} MB a kernel), {args.seconds:g} s of drawing.",
        "",
        f"- Kernels started: {kernels_started} (cap {'held' if cap_held else 'BROKEN'}); drawing visitors served "
        f"{len(drawing)} of {args.visitors}, turned away {turned_away}; a burst of {args.burst} page loads while "
        f"they drew: {payload['burst_statuses']}.",
        f"- Attacker: {attacker.sent} malformed frames, {attacker.closed} of their connections closed by the server.",
        f"- Server and kernels, resident memory: {idle_mb:.0f} MB idle, peak {peak_mb:.0f} MB "
        f"(budget for kernels {budget_mb} MB).",
        f"- Measured visitor, pen-up to answer: median {payload['pen_up_to_answer_ms']['median']} ms "
        f"(min {payload['pen_up_to_answer_ms']['min']}, max {payload['pen_up_to_answer_ms']['max']}, "
        f"{len(latencies)} digits, {wrong} read wrong).",
    ]
    publish("app_load", payload, lines, "app_load.py")


if __name__ == "__main__":
    main()
