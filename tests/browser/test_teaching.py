"""Teaching `handdigit app` your handwriting in a real browser: a drawing corrected with the
hd-correct buttons is kept and survives a restart of the app; Teach changes how a misread style is
read while the forgetting meter holds; Reset goes back; a visitor of an app serving other hosts
teaches only their own page."""

import numpy as np

from handdigit.data.synthetic import STYLES, place_strokes
from handdigit.preprocess import rasterize

from .conftest import ARTIFACTS, start_app
from .test_app import draw_and_wait, open_pad, shown

MIRRORED_THREE = [[(1.0 - x, y) for x, y in stroke] for stroke in next(iter(STYLES[3].values()))]


def mirrored_three(seed):
    """A 3 written mirrored (as children often write it), in CSS pixels of the 280 px canvas."""
    return [
        [tuple(point) for point in stroke]
        for stroke in place_strokes(MIRRORED_THREE, np.random.default_rng(seed), 280)
    ]


def examples(page):
    try:
        page.wait_for_selector(".hd-teach-status[data-examples]")
    except Exception:
        page.screenshot(path=ARTIFACTS / "teach-status-missing.png", full_page=True)
        raise
    return int(page.locator(".hd-teach-status").get_attribute("data-examples"))


def wait_for_examples(page, count):
    page.wait_for_selector(f'.hd-teach-status[data-examples="{count}"]', timeout=60_000)


def test_a_corrected_drawing_is_kept_and_survives_a_restart(browser, tmp_path):
    user_dir = tmp_path / "user"
    environment = {"HANDDIGIT_USER_DIR": str(user_dir)}
    server = start_app(tmp_path / "first", environment=environment)
    try:
        context = browser.new_context(viewport={"width": 1200, "height": 1100})
        page, _ = open_pad(context, server.url, server=server)
        assert examples(page) == 0
        assert page.locator(".hd-correct").count() == 10
        draw_and_wait(page, mirrored_three(1))
        assert shown(page)["digit"] != "3"  # misread
        page.locator('.hd-correct[data-digit="3"]').click()
        wait_for_examples(page, 1)
        page.screenshot(path=ARTIFACTS / "teach-corrected.png", full_page=True)
        context.close()
    finally:
        server.stop()
    assert (user_dir / "personal" / "labels.csv").read_text() == "file,label\n000001.png,3\n"
    server = start_app(tmp_path / "second", environment=environment)
    try:
        context = browser.new_context(viewport={"width": 1200, "height": 1100})
        page, _ = open_pad(context, server.url, server=server)
        assert examples(page) == 1
        assert "Your examples: 1 (3: 1)" in page.locator(".hd-teach-status").inner_text()
        context.close()
    finally:
        server.stop()


def test_teaching_changes_a_misread_style_while_the_forgetting_meter_holds(browser, tmp_path):
    from handdigit.pad.personal import PersonalStore

    rng = np.random.default_rng(3)
    mine = PersonalStore(None)
    for _ in range(30):
        ink = rasterize(place_strokes(MIRRORED_THREE, rng, 280), 280, rng.uniform(10, 22))
        mine.add(ink, 3)  # uint8, dark ink on white paper, as a canvas shows it
    mine.export_zip(tmp_path / "mirrored-threes.zip")

    server = start_app(tmp_path / "app", environment={"HANDDIGIT_USER_DIR": str(tmp_path / "user")})
    try:
        context = browser.new_context(viewport={"width": 1200, "height": 1300})
        page, _ = open_pad(context, server.url, server=server)
        with page.expect_file_chooser() as chooser:
            page.locator(".hd-import").click()
        chooser.value.set_files(tmp_path / "mirrored-threes.zip")
        wait_for_examples(page, 30)
        draw_and_wait(page, mirrored_three(42))
        before = shown(page)["digit"]
        assert before != "3"
        page.locator(".hd-teach").click()
        page.wait_for_selector(".hd-teach-result", timeout=180_000)
        page.screenshot(path=ARTIFACTS / "teach-taught.png", full_page=True)
        page.wait_for_function(
            "() => document.querySelector('.hd-prediction').innerText === '3'", timeout=30_000
        )
        meter = page.locator(".hd-forgetting")
        assert float(meter.get_attribute("data-after")) >= float(meter.get_attribute("data-before")) - 0.005
        result = page.locator(".hd-teach-result")
        assert (
            float(result.get_attribute("data-after"))
            >= 0.9
            > 0.2
            >= float(result.get_attribute("data-before"))
        )
        page.locator(".hd-teach-box").scroll_into_view_if_needed()
        page.screenshot(path=ARTIFACTS / "teach-taught.png", full_page=True)
        page.locator(".hd-reset").click()
        page.wait_for_selector(".hd-teach-status:has-text('Back to the shipped weights')")
        page.wait_for_function(f"() => document.querySelector('.hd-prediction').innerText === {before!r}")
        context.close()
    finally:
        server.stop()


def test_serving_other_hosts_keeps_a_visitors_teaching_in_their_page(browser, tmp_path):
    user_dir = tmp_path / "user"
    server = start_app(
        tmp_path / "app", "--host", "0.0.0.0", environment={"HANDDIGIT_USER_DIR": str(user_dir)}
    )
    try:
        url = server.url.replace("0.0.0.0", "127.0.0.1")
        first = browser.new_context(viewport={"width": 1200, "height": 1100})
        page, _ = open_pad(first, url, server=server)
        draw_and_wait(page, mirrored_three(1))
        page.locator('.hd-correct[data-digit="3"]').click()
        wait_for_examples(page, 1)
        assert "Kept in this page only" in page.locator(".hd-teach-status").inner_text()
        second = browser.new_context(viewport={"width": 1200, "height": 1100})
        other, _ = open_pad(second, url, server=server)
        assert examples(other) == 0
        first.close()
        second.close()
    finally:
        server.stop()
    assert not user_dir.exists()
