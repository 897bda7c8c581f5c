"""The DigitPad widget inside JupyterLab, in a real browser: run the cell, draw, see the answer."""

import json
import re
import secrets
import sys

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from .conftest import ARTIFACTS, Server, private_jupyter_environment
from .test_app import SEVEN, draw_and_wait, shown

NOT_RUN = re.compile(r"^\s*\[\s*\]:\s*$")  # the input prompt of a cell that has not run


def dismiss_dialogs(page):
    """Answer any JupyterLab dialog with its default button, writing down what it said
    (artifacts/browser/jupyterlab-dialogs.log): one opened now and then over the notebook (once
    in a fresh CI run: its text was not kept then), and a modal dialog takes every click."""
    dialogs = page.locator(".jp-Dialog")
    while dialogs.count():
        text = " ".join(dialogs.first.inner_text().split())
        with open(ARTIFACTS / "jupyterlab-dialogs.log", "a") as log:
            log.write(text + "\n")
        accept = dialogs.first.locator(".jp-Dialog-button.jp-mod-accept")
        if accept.count():
            accept.first.click()
        else:
            page.keyboard.press("Escape")
        page.wait_for_timeout(500)


def run_first_cell(page, attempts=4):
    """Run the notebook's first cell in place (Ctrl+Enter), again if JupyterLab let the request
    drop: it does when the kernel connection is still settling, though the status says idle."""
    prompt = page.locator(".jp-Cell .jp-InputPrompt").first
    for _ in range(attempts):
        dismiss_dialogs(page)
        try:
            page.locator(".jp-Cell .jp-InputArea-editor").first.click(timeout=15_000)
            page.keyboard.press("Control+Enter")
            expect(prompt).not_to_have_text(NOT_RUN, timeout=15_000)
            return
        except (AssertionError, PlaywrightTimeoutError):
            continue
    raise AssertionError(f"JupyterLab did not run the cell in {attempts} attempts")


def test_the_widget_works_in_jupyterlab(browser, tmp_path):
    root = tmp_path / "notebooks"
    root.mkdir()
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "metadata": {},
                "outputs": [],
                "source": ["from handdigit import DigitPad\n", "DigitPad()"],
            }
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (root / "pad.ipynb").write_text(json.dumps(notebook))
    token = secrets.token_hex(16)
    server = Server(
        [
            sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", "--port=0",
            f"--IdentityProvider.token={token}", "--ServerApp.allow_root=True", "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", f"--ServerApp.root_dir={root}",
        ],
        private_jupyter_environment(tmp_path / "jupyter"),
        r"(http://127\.0\.0\.1:\d+/)lab",
    )  # fmt: skip
    try:
        server.wait_until_answering(f"/api/status?token={token}")
        context = browser.new_context(viewport={"width": 1300, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{server.url}lab/tree/pad.ipynb?token={token}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
        run_first_cell(page)
        page.wait_for_selector(".hd-status:text-is('ready')", timeout=120_000)
        dismiss_dialogs(page)
        page.locator(".hd-canvas").scroll_into_view_if_needed()
        draw_and_wait(page, SEVEN)
        page.screenshot(path=ARTIFACTS / "jupyterlab.png")
        assert shown(page)["digit"] == "7" and len(shown(page)["bars"]) == 10
        context.close()
    finally:
        server.stop()
