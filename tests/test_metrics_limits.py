"""The /metrics endpoint against clients that are silent, slow or many: threads stay bounded,
each connection is cut after its deadline, and the Bearer scheme is matched in any case."""

from __future__ import annotations

import socket
import threading
import time
import urllib.error

import pytest

from tests.test_metrics import scrape, status
from tray_app.metrics import server as metrics_server
from tray_app.metrics.server import MetricsServer, MetricsState, authorised


@pytest.fixture
def endpoint(monkeypatch):
    monkeypatch.setattr(metrics_server, "READ_TIMEOUT_S", 0.5)
    monkeypatch.setattr(metrics_server, "CONNECTION_DEADLINE_S", 1.5)
    state = MetricsState()
    state.publish(status(gpu_w=100.0, gpu_j=1.0))
    server = MetricsServer(state, "127.0.0.1", 0, "").start()
    # The handler class read READ_TIMEOUT_S when it was made: the patch above came first.
    yield server
    server.stop()


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def closed_by_server(sock: socket.socket, within_s: float) -> bool:
    sock.settimeout(within_s)
    try:
        while sock.recv(1024):
            pass
        return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "BeArEr"])
def test_the_bearer_scheme_is_matched_in_any_case(scheme):
    assert authorised(f"{scheme} s3cret", "s3cret")
    assert not authorised(f"{scheme} wrong", "s3cret")
    assert not authorised("Basic s3cret", "s3cret") and not authorised(None, "s3cret")


def test_a_lower_case_bearer_token_is_served(monkeypatch):
    import urllib.request

    server = MetricsServer(MetricsState(), "127.0.0.1", 0, "s3cret").start()
    try:
        req = urllib.request.Request(f"http://127.0.0.1:{server.port}/metrics")
        req.add_header("Authorization", "bearer s3cret")
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.status == 200
    finally:
        server.stop()


@pytest.mark.slow
def test_silent_clients_cannot_pile_up_threads_and_are_cut_at_their_deadline(endpoint):
    before = threading.active_count()
    silent = [connect(endpoint.port) for _ in range(200)]
    try:
        time.sleep(0.3)
        assert threading.active_count() <= before + metrics_server.MAX_CONNECTIONS
        # Past the cap, a connection is closed at once, unanswered.
        assert closed_by_server(silent[-1], within_s=1.0)
        # The ones being served are cut by the read timeout / the deadline, not kept forever.
        assert closed_by_server(silent[0], within_s=3.0)
    finally:
        for sock in silent:
            sock.close()
    deadline = time.monotonic() + 5
    while threading.active_count() > before:
        assert time.monotonic() < deadline, "connection threads outlived their deadline"
        time.sleep(0.05)
    assert "raison_garder_power_watts" in scrape(f"http://127.0.0.1:{endpoint.port}/metrics")


@pytest.mark.slow
def test_a_client_trickling_its_request_is_cut_at_the_connection_deadline(endpoint):
    sock = connect(endpoint.port)
    start = time.monotonic()
    request = b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 200
    cut = False
    try:
        for byte in request:  # one byte every 0.1 s: each read is quick, the whole is not
            sock.sendall(bytes([byte]))
            time.sleep(0.1)
    except OSError:
        cut = True
    finally:
        took = time.monotonic() - start
        cut = cut or closed_by_server(sock, within_s=1.0)
        sock.close()
    assert cut and took < metrics_server.CONNECTION_DEADLINE_S + 2.0


def test_a_normal_scrape_still_works_after_a_refusal(endpoint):
    with pytest.raises(urllib.error.HTTPError):
        scrape(f"http://127.0.0.1:{endpoint.port}/nowhere")
    assert "raison_garder_power_watts" in scrape(f"http://127.0.0.1:{endpoint.port}/metrics")
