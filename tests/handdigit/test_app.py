"""`handdigit app` without a browser: the session cap, the port choice, the Voila options."""

import socket
from types import SimpleNamespace

import pytest
from tornado.web import HTTPError

from handdigit.pad.app import NOTEBOOK, free_port, session_limit, voila_arguments, voila_config


def handler_with(kernels):
    return SimpleNamespace(
        kernel_manager=SimpleNamespace(list_kernel_ids=lambda: [f"k{i}" for i in range(kernels)])
    )


def test_the_session_limit_lets_visitors_in_until_the_cap_then_says_it_is_full():
    hook = session_limit(3)
    notebook = object()
    assert hook(handler_with(2), notebook=notebook, cwd=".") is notebook
    with pytest.raises(HTTPError) as refused:
        hook(handler_with(3), notebook=notebook, cwd=".")
    assert refused.value.status_code == 503
    assert (
        "HandDigit is full" in refused.value.reason and "try again in a few minutes" in refused.value.reason
    )


def test_a_free_port_is_free():
    port = free_port("127.0.0.1")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # would raise if something listened there


def test_the_shipped_notebook_and_the_voila_options():
    assert NOTEBOOK.is_file() and "DigitPad()" in NOTEBOOK.read_text()
    arguments = voila_arguments("127.0.0.1", 8866, open_browser=False)
    assert "--no-browser" in arguments and "--port=8866" in arguments and "--Voila.ip=127.0.0.1" in arguments
    config = voila_config(max_sessions=4, idle_minutes=10)
    assert config.MappingKernelManager.cull_idle_timeout == 600
    assert config.MappingKernelManager.cull_connected is True
    assert config.VoilaConfiguration.show_tracebacks is False
