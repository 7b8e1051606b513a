"""The opt-in Prometheus endpoint: live power, energy counters, sessions, images, reminders.

Served with the official `prometheus-client` exposition code behind a small stdlib HTTP server
of our own, because the endpoint needs a Bearer token check that `start_http_server` lacks.
Metrics are computed only when scraped: while nobody scrapes, the server thread sleeps in
`accept()` and costs nothing. Labels carry stable ids (source, tool, rule), never paths or
command lines.
"""

from __future__ import annotations

import hmac
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from tray_app import __version__


class MetricsState:
    """What the engine publishes for scrapes. Written by the worker, read by the HTTP thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.status: Any = None  # the latest EngineStatus
        self.session_energy_j: dict[str, float] = defaultdict(float)  # completed, per tool
        self.sessions_total: dict[str, int] = defaultdict(int)
        self.images: dict[str, int] = defaultdict(int)
        self.reminders: dict[str, int] = defaultdict(int)

    def publish(self, status: Any) -> None:
        with self._lock:
            self.status = status

    def session_closed(self, tool: str, total_wh: float, images: int | None) -> None:
        with self._lock:
            self.session_energy_j[tool] += max(0.0, total_wh) * 3600.0
            self.sessions_total[tool] += 1
            if images:
                self.images[tool] += images

    def reminder_shown(self, rule: str) -> None:
        with self._lock:
            self.reminders[rule] += 1

    def copy(self) -> tuple[Any, dict, dict, dict, dict]:
        with self._lock:
            return (self.status, dict(self.session_energy_j), dict(self.sessions_total),
                    dict(self.images), dict(self.reminders))


class _Collector(Collector):
    def __init__(self, state: MetricsState) -> None:
        self.state = state

    def collect(self) -> Iterator[Any]:
        status, energy, count, images, reminders = self.state.copy()
        info = GaugeMetricFamily("raison_garder_info", "Raison Garder build information",
                                 labels=["version"])
        info.add_metric([__version__], 1)
        yield info
        power = GaugeMetricFamily("raison_garder_power_watts",
                                  "Power drawn now, per source (absent when unknown)",
                                  labels=["source", "kind", "method"])
        joules = CounterMetricFamily("raison_garder_energy_joules",
                                     "Energy measured since the monitor started, per source",
                                     labels=["source", "kind", "method"])
        unknown = CounterMetricFamily("raison_garder_unmeasured_seconds",
                                      "Seconds a source could not be read", labels=["source"])
        if status is not None:
            for s in status.snapshot.sources:
                labels = [s.source, s.kind.value, s.method.value]
                if s.power_w is not None:  # unknown is absent, never 0
                    power.add_metric(labels, s.power_w)
                joules.add_metric(labels, s.energy_j)
                unknown.add_metric([s.source], s.unknown_s)
        yield power
        yield joules
        yield unknown
        active = GaugeMetricFamily("raison_garder_session_active",
                                   "1 while a session is open, per tool", labels=["tool"])
        duration = GaugeMetricFamily("raison_garder_session_duration_seconds",
                                     "Duration of the open session", labels=["tool"])
        session_wh = GaugeMetricFamily("raison_garder_session_energy_joules",
                                       "Energy of the open session so far", labels=["tool"])
        if status is not None and status.session is not None:
            ses = status.session
            active.add_metric([ses.tool], 1)
            duration.add_metric([ses.tool], ses.duration_s)
            session_wh.add_metric([ses.tool], ses.total_wh * 3600.0)
        yield active
        yield duration
        yield session_wh
        waste = GaugeMetricFamily("raison_garder_idle_waste_watts",
                                  "Watts above the GPU's idle floor drawn because a tool sits idle "
                                  "holding GPU memory, per tool (absent when none)", labels=["tool"])
        for w in (getattr(status, "idle_waste", ()) or ()) if status is not None else ():
            waste.add_metric([w.tool], w.extra_w)
        yield waste
        done = CounterMetricFamily("raison_garder_sessions_energy_joules",
                                   "Energy of completed sessions, per tool", labels=["tool"])
        for tool, j in sorted(energy.items()):
            done.add_metric([tool], j)
        yield done
        sessions = CounterMetricFamily("raison_garder_sessions",
                                       "Completed sessions, per tool", labels=["tool"])
        for tool, n in sorted(count.items()):
            sessions.add_metric([tool], n)
        yield sessions
        imgs = CounterMetricFamily("raison_garder_images", "Images counted, per tool",
                                   labels=["tool"])
        for tool, n in sorted(images.items()):
            imgs.add_metric([tool], n)
        yield imgs
        rem = CounterMetricFamily("raison_garder_reminders", "Reminders shown, per rule",
                                  labels=["rule"])
        for rule, n in sorted(reminders.items()):
            rem.add_metric([rule], n)
        yield rem


# A scraper sends one small request and reads the answer in milliseconds. A client that is
# silent, or trickles its request, is cut: each read waits at most READ_TIMEOUT_S, a whole
# connection lasts at most CONNECTION_DEADLINE_S, and past MAX_CONNECTIONS at once new ones are
# closed unanswered, so such clients cannot pile up threads (200 silent ones made 207).
READ_TIMEOUT_S = 5.0
CONNECTION_DEADLINE_S = 10.0
MAX_CONNECTIONS = 8


def authorised(header: str | None, token: str) -> bool:
    """`Authorization: Bearer <token>`, the scheme in any case (RFC 7235 §2.1)."""
    scheme, _sep, credentials = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(credentials.strip().encode(), token.encode())


def _handler(registry: CollectorRegistry, token: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "raison-garder"
        sys_version = ""
        timeout = READ_TIMEOUT_S  # per read: StreamRequestHandler sets it on the socket

        def do_GET(self) -> None:  # http.server's naming
            if self.path.split("?", 1)[0] not in ("/metrics", "/metrics/"):
                self._send(404, b"Not found: try /metrics\n", "text/plain")
                return
            if token:
                if not authorised(self.headers.get("Authorization"), token):
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Bearer realm="raison-garder"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
            self._send(200, generate_latest(registry), CONTENT_TYPE_LATEST)

        def do_POST(self) -> None:  # read-only endpoint
            self._send(405, b"Read-only\n", "text/plain")

        do_PUT = do_DELETE = do_POST  # noqa: N815

        def _send(self, code: int, body: bytes, ctype: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # scrapes every 15 s would flood the terminal

    return Handler


class _BoundedServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with a cap on connections and a deadline for each one."""

    daemon_threads = True
    request_queue_size = 64  # the listen backlog: a burst is accepted, then refused, at once

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._open: dict[socket.socket, float] = {}  # connection -> when it must be over
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            full = len(self._open) >= MAX_CONNECTIONS
            if not full:
                self._open[request] = time.monotonic() + CONNECTION_DEADLINE_S
        if full:
            super().shutdown_request(request)  # closed unanswered: a scraper retries
            return
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.pop(request, None)
        super().shutdown_request(request)

    def cut_late(self) -> None:
        """Shut the connections past their deadline (their thread then ends), and wake up once
        a second only while some are open: an idle endpoint still never wakes."""
        now = time.monotonic()
        with self._open_lock:
            late = [conn for conn, deadline in self._open.items() if deadline <= now]
            self.timeout = 1.0 if self._open else None
        for conn in late:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class MetricsServer:
    def __init__(self, state: MetricsState, bind: str, port: int, token: str = "") -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Collector(state))
        handler = _handler(self.registry, token)
        if ":" in bind:

            class _Server6(_BoundedServer):
                address_family = socket.AF_INET6

            self._server: _BoundedServer = _Server6((bind, port), handler)
        else:
            self._server = _BoundedServer((bind, port), handler)
        self._bind = bind
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="metrics", daemon=True)

    def _serve(self) -> None:
        # handle_request() blocks in accept() with no timeout: no periodic wake-ups at all,
        # unlike serve_forever()'s 0.5 s polling. stop() wakes it with a connection.
        while not self._stopping.is_set():
            self._server.handle_request()
            self._server.cut_late()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def bind(self) -> str:
        return self._bind

    def start(self) -> MetricsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        wake = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self._bind, self._bind)
        try:
            socket.create_connection((wake, self.port), timeout=1).close()
        except OSError:
            pass
        self._thread.join(timeout=5)
        self._server.server_close()
