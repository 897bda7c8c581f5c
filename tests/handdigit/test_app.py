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


def test_a_sub_second_idle_time_still_culls_and_big_uploads_reach_the_pad():
    config = voila_config(max_sessions=2, idle_minutes=0.001, session_minutes=5, memory_budget_mb=1000)
    assert config.MappingKernelManager.cull_idle_timeout == 1  # int(0.06) == 0 turned culling off
    assert config.MappingKernelManager.cull_interval >= 1
    assert (
        config.BoundedKernelManager.max_sessions == 2 and config.BoundedKernelManager.session_minutes == 5.0
    )
    assert config.BoundedKernelManager.memory_budget_mb == 1000
    assert config.Voila.tornado_settings["websocket_max_message_size"] >= 26 << 20
    assert "--Voila.port_retries=0" in voila_arguments("127.0.0.1", 8866, open_browser=False)


def test_a_port_in_use_and_an_impossible_host_are_one_sentence_before_voila_starts():
    from handdigit.pad.app import AddressError, check_address

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(AddressError, match=f"port {port} on 127.0.0.1 is in use"):
            check_address("127.0.0.1", port)
    with pytest.raises(AddressError, match="--host 999.1.1.1: not an address of this machine"):
        check_address("999.1.1.1", 8866)
    check_address("127.0.0.1", free_port("127.0.0.1"))


def test_a_port_a_stopped_server_left_in_time_wait_is_free_again():
    """The app restarted on its port: the old connections' TIME_WAIT must not read as "in use"."""
    from handdigit.pad.app import check_address

    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Tornado's
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server's side closes first: its end of the connection waits in TIME_WAIT
    server.close()
    client.close()
    check_address("127.0.0.1", port)
