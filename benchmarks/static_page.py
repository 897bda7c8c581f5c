"""The static page of `handdigit export-web` against the Python Recognizer, in Chromium: the same
answers on 500 drawings, pen-up to answer, page ready after load, download size, and what float16
weights cost on MNIST test.

Drawings (pen strokes, drawn by the page's own code through its test hook, and rasterised for the
Recognizer): digits in the synthetic styles, Hershey-font digits traced as 8-point polylines,
Hershey-font letters and symbols, and non-digit shapes (letters, shapes, symbols, scribbles).
Pen-up to answer: digits drawn with Playwright's mouse; the page times each pointerup to its
answer in the DOM (synchronous) and a MutationObserver times it from the pointerup event as the
app's browser test does. Ready: a fresh browser context per load, from navigation start to
status "ready". Needs Debian's Chromium and Playwright, as the browser tests do.

Usage: python benchmarks/static_page.py [--drawings 500] [--loads 5] [--mouse 20]
"""

import argparse
import functools
import http.server
import os
import statistics
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import machine_facts, publish  # noqa: E402

from tests.browser.conftest import CHROMIUM, CHROMIUM_FLAGS  # noqa: E402
from tests.browser.test_static_page import QuietHandler, page_answers  # noqa: E402

PROBE = """
() => {
  window.__hd = {ups: [], answers: {}};
  document.querySelector('.hd-canvas').addEventListener('pointerup', () => window.__hd.ups.push(performance.now()), true);
  new MutationObserver(() => {
    const count = document.querySelector('.hd-answer').dataset.penUps;
    if (!(count in window.__hd.answers)) window.__hd.answers[count] = performance.now();
  }).observe(document.querySelector('.hd-answer'), {attributes: true});
}
"""


def drawings(count, seed=7):
    """(strokes, pen width, source) for `count` drawings from four generators."""
    from handdigit.data.nondigits import kind_names, nondigit_strokes
    from handdigit.data.synthetic import as_polyline, draw_strokes, place_strokes, style_names
    from handdigit.evaluation.proxies import (
        HERSHEY_DIGIT_FONTS,
        HERSHEY_LETTER_FONTS,
        LETTERS_AND_SYMBOLS,
        hershey_strokes,
    )

    rng = np.random.default_rng(seed)
    styles, kinds = style_names(), kind_names()
    letters = [character for character in LETTERS_AND_SYMBOLS if character.isascii()]
    result = []
    for index in range(count):
        source = ("styles", "hershey digits", "hershey letters", "non-digit shapes")[index % 4]
        if source == "styles":
            digit, style = styles[rng.integers(len(styles))]
            strokes = draw_strokes(digit, style, rng, 280)
        elif source == "hershey digits":
            font = HERSHEY_DIGIT_FONTS[rng.integers(len(HERSHEY_DIGIT_FONTS))]
            strokes = as_polyline(hershey_strokes(str(index % 10), font, rng), 8)
        elif source == "hershey letters":
            font = HERSHEY_LETTER_FONTS[rng.integers(len(HERSHEY_LETTER_FONTS))]
            strokes = hershey_strokes(letters[rng.integers(len(letters))], font, rng)
        else:
            group, kind = kinds[rng.integers(len(kinds))]
            strokes = place_strokes(nondigit_strokes(group, kind, rng), rng, 280)
        strokes = [[[float(x), float(y)] for x, y in stroke] for stroke in strokes]
        result.append((strokes, float(rng.uniform(5, 28)), source))
    return result


def spread(values):
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def float16_cost(mnist):
    """MNIST test accuracy of the shipped network with float32 and with float16-rounded weights."""
    from handdigit.recognition.head import load_network
    from handdigit.resources import shipped_weights_path

    network = load_network(shipped_weights_path())
    images = mnist.test_images[:, :, :, None].astype(np.float32) / 255
    exact = network.predict(images, batch_size=500)[:, :10].argmax(1)
    network.set_weights(
        {k: v.astype(np.float16).astype(np.float32) for k, v in network.get_weights().items()}
    )
    rounded = network.predict(images, batch_size=500)[:, :10].argmax(1)
    return {
        "float32_accuracy": float(np.mean(exact == mnist.test_labels)),
        "float16_accuracy": float(np.mean(rounded == mnist.test_labels)),
        "answers_changed": int(np.sum(exact != rounded)),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--drawings", type=int, default=500)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--mouse", type=int, default=20)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from handdigit import Recognizer
    from handdigit.data import load_mnist
    from handdigit.data.synthetic import draw_strokes, style_names
    from handdigit.preprocess import rasterize
    from handdigit.web import export_web

    site = Path(tempfile.mkdtemp()) / "site"
    sizes = export_web(site)
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"

    cases = drawings(args.drawings)
    recognizer = Recognizer.load()
    expected = recognizer.predict_many([rasterize(strokes, 280, width) for strokes, width, _ in cases])

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        ready = []
        for _ in range(args.loads):
            context = browser.new_context()
            page = context.new_page()
            page.goto(url)
            page.wait_for_selector(".hd-status:text-is('ready')", timeout=60_000)
            ready.append(page.evaluate("HandDigit.page.readyAt"))
            context.close()

        context = browser.new_context(viewport={"width": 1000, "height": 800})
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector(".hd-status:text-is('ready')", timeout=60_000)
        answers = page_answers(page, [(strokes, width) for strokes, width, _ in cases])

        page.evaluate(PROBE)
        rng = np.random.default_rng(11)
        styles = style_names()
        box = page.locator(".hd-canvas").bounding_box()
        mouse_right = 0
        for _ in range(args.mouse):
            page.locator(".hd-clear").click()
            digit, style = styles[rng.integers(len(styles))]
            strokes = draw_strokes(digit, style, rng, 280, centred=True)
            before = int(page.locator(".hd-answer").get_attribute("data-pen-ups"))
            for stroke in strokes:
                page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
                page.mouse.down()
                for x, y in stroke[1::3]:
                    page.mouse.move(box["x"] + x, box["y"] + y)
                page.mouse.up()
            page.wait_for_selector(f'.hd-answer[data-pen-ups="{before + len(strokes)}"]')
            mouse_right += page.locator(".hd-prediction").inner_text() == str(digit)
        timing = page.evaluate("() => ({probe: window.__hd, inside: HandDigit.page.penUpToAnswer})")
        browser.close()
    server.shutdown()

    observed = [
        timing["probe"]["answers"][str(count)] - up
        for count, up in enumerate(timing["probe"]["ups"], 1)
        if str(count) in timing["probe"]["answers"]
    ]
    same, same_digit, view_error, by_source = 0, 0, 0.0, {}
    for (_, _, source), answer, prediction in zip(cases, answers, expected, strict=True):
        if prediction.digit is None or answer is None:
            agree = (answer is None) == (prediction.digit is None)
            digit_agree = agree
        else:
            view_error = max(
                view_error, float(np.max(np.abs(np.array(answer["view"]) - prediction.input28.ravel())))
            )
            agree = (answer["digit"], answer["notADigit"]) == (prediction.digit, prediction.not_a_digit)
            digit_agree = answer["digit"] == prediction.digit
        same += agree
        same_digit += digit_agree
        counts = by_source.setdefault(source, [0, 0])
        counts[0] += agree
        counts[1] += 1
    cost = float16_cost(load_mnist())
    payload = {
        "machine": machine_facts(),
        "drawings": len(cases),
        "same_answer": same,
        "same_digit": same_digit,
        "by_source": by_source,
        "max_view_difference": view_error,
        "not_a_digit_in_python": int(sum(bool(p.not_a_digit) for p in expected)),
        "ready_ms": ready,
        "pen_up_to_answer_inside_ms": timing["inside"],
        "pen_up_to_answer_observed_ms": observed,
        "mouse_digits_right": mouse_right,
        "mouse_digits": args.mouse,
        "file_bytes": sizes,
        **cost,
    }
    lines = [
        "# Static page (`handdigit export-web`) in Chromium",
        "",
        f"Parity with the Python Recognizer on {len(cases)} drawings: same answer (digit and not-a-digit) "
        f"{same}/{len(cases)} ({same / len(cases):.1%}); same closest digit {same_digit}/{len(cases)}; "
        f"largest difference between the two 28x28 views {view_error:.1e}; "
        f"{payload['not_a_digit_in_python']} of them 'not a digit' for Python.",
        "",
        "| source | same answer |",
        "|---|---|",
        *[f"| {source} | {agree}/{total} |" for source, (agree, total) in by_source.items()],
        "",
        f"Pen-up to answer, {len(timing['inside'])} pen-ups of {args.mouse} digits drawn with the mouse "
        f"({mouse_right} read right): {spread(timing['inside'])} ms measured by the page, "
        f"{spread(observed)} ms from the pointerup event to the answer in the DOM (median, min-max).",
        f"Page ready after navigation start, {args.loads} fresh loads: {spread(ready)} ms.",
        f"Files: {', '.join(f'{name} {size / 1e6:.2f} MB' for name, size in sizes.items())}; "
        f"total {sum(sizes.values()) / 1e6:.2f} MB.",
        f"float16 weights on MNIST test (10,000): accuracy {cost['float16_accuracy']:.2%} against "
        f"{cost['float32_accuracy']:.2%} in float32; {cost['answers_changed']} answers changed.",
    ]
    publish("static_page", payload, lines, "static_page.py")


if __name__ == "__main__":
    main()
