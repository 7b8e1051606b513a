"""Ask a tool to let go of the GPU, through its own documented API, then measure what changed.

Each route was read in the tool's own source:
- ComfyUI `server.py`: `POST /free` with `{"unload_models": true, "free_memory": true}` answers
  200 at once; the unload itself runs on its prompt worker a moment later (so we measure after).
- AUTOMATIC1111 and Forge `modules/api/api.py`: `POST /sdapi/v1/unload-checkpoint` (Forge's
  calls its memory manager's unload_all_models). The API exists only when the webui was started
  with `--api` (or `--nowebui`, API alone, port 7861 by default); without it the route is 404.
  `--api-auth` makes it 401.
- SD.Next `modules/api/api.py` + `endpoints.py`: the same route answers 204; its API is always on.
- InvokeAI `invokeai/app/api/routers/model_manager.py`: `POST /api/v2/models/empty_model_cache`
  (200; 401 in its multi-user mode); its queue at `GET /api/v1/queue/default/status`.
Other tools (Fooocus, SwarmUI, kohya, scripts) have no such route we can vouch for: we say what
to do instead. Nothing here ever kills a process.

First the tool's own word on its queue, where it gives one (ComfyUI `GET /queue`, the webuis'
`GET /sdapi/v1/progress` job_count): work queued or running is never starved of its model.
Only 127.0.0.1, with one hard deadline; the caller runs `send()` off the sampling thread.
`Watch` is pure: the caller feeds it power and the tool's GPU memory for the next 30 s, then asks
for the `Outcome`, which says honestly what happened.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tray_app.reminders.equivalents import fmt_number, fmt_power
from tray_app.system.i18n import _

LOOPBACK = "127.0.0.1"  # the one address we ever talk to
DEADLINE_S = 5.0
WINDOW_S = 30.0  # how long we watch after asking
SETTLED_S = 5.0  # after_w: the mean of the window's last SETTLED_S (the board needs a moment)
FREED_MIN_MB = 512.0  # less than this freed is "still holds it"
FELL_MIN_W = 10.0  # less than this drop is "still draws"
# A queue listing every pending prompt graph can be large; past this we stop reading (and the
# answer counts as "did not say").
MAX_ANSWER_BYTES = 4 * 1024 * 1024


def _comfy_queue_busy(answer: Any) -> bool | None:
    """ComfyUI's GET /queue: {"queue_running": [...], "queue_pending": [...]}."""
    if not isinstance(answer, dict):
        return None
    return bool(answer.get("queue_running")) or bool(answer.get("queue_pending"))


def _invoke_queue_busy(answer: Any) -> bool | None:
    """InvokeAI's GET /api/v1/queue/default/status: {"queue": {"pending": n, "in_progress": n}}."""
    queue = answer.get("queue") if isinstance(answer, dict) else None
    if not isinstance(queue, dict):
        return None
    pending, running = queue.get("pending"), queue.get("in_progress")
    if not isinstance(pending, int) or not isinstance(running, int):
        return None
    return pending > 0 or running > 0


def _webui_jobs_busy(answer: Any) -> bool | None:
    """The webuis' GET /sdapi/v1/progress: {"state": {"job_count": N, ...}, ...}."""
    state = answer.get("state") if isinstance(answer, dict) else None
    jobs = state.get("job_count") if isinstance(state, dict) else None
    return jobs > 0 if isinstance(jobs, int) else None


@dataclass(frozen=True, slots=True)
class Route:
    """One tool's way to free its GPU memory. `needs_api`: the webui option that enables it.
    `queue`: where it tells whether work is queued or running, and how to read the answer
    (True: busy; None: it did not say) — asked first, so that a queued prompt is never starved."""

    method: str
    path: str
    body: dict[str, Any] | None
    default_ports: tuple[int, ...]
    needs_api: str | None = None
    queue: tuple[str, Callable[[Any], bool | None]] | None = None


_FREE = Route("POST", "/free", {"unload_models": True, "free_memory": True}, (8188,),
              queue=("/queue", _comfy_queue_busy))
_PROGRESS = ("/sdapi/v1/progress?skip_current_image=true", _webui_jobs_busy)
_WEBUI = Route("POST", "/sdapi/v1/unload-checkpoint", None, (7860, 7861), needs_api="--api",
               queue=_PROGRESS)
# One entry per tool that has a route; the others get an explanation (no_route_text).
ROUTES: dict[str, Route] = {
    "comfyui": _FREE,
    "a1111": _WEBUI,
    "forge": _WEBUI,
    "sdnext": Route("POST", "/sdapi/v1/unload-checkpoint", None, (7860,), queue=_PROGRESS),
    # invokeai/app/api/routers/model_manager.py: empties its model cache (models in use stay);
    # port from invokeai.yaml (default 9090), found through its listening socket here.
    "invokeai": Route("POST", "/api/v2/models/empty_model_cache", None, (9090,),
                      queue=("/api/v1/queue/default/status", _invoke_queue_busy)),
}


@dataclass(frozen=True, slots=True)
class Target:
    """The tool to ask: id, shown name, root pid, all its pids, the port it told us (or None)."""

    tool: str
    label: str
    pid: int
    pids: tuple[int, ...] = ()
    port: int | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    endpoint: str | None  # "http://127.0.0.1:8188/free", None when nothing was sent
    http_status: int | None  # None: no HTTP answer (refused, timeout, no route)
    accepted: bool
    problem: str | None = None  # why not, for the user (with what to do)
    body: dict[str, Any] | None = None  # what was sent


def candidate_ports(target: Target, listening: Iterable[int] = ()) -> list[int]:
    """Where to ask: the port from its command line or config, else the ports its own processes
    listen on, else its documented default(s)."""
    route = ROUTES.get(target.tool)
    ports = [target.port] if target.port else [*listening]
    if route is not None and not ports:
        ports = list(route.default_ports)
    return list(dict.fromkeys(p for p in ports if p and 0 < p < 65536))


def listening_ports(pids: Sequence[int]) -> list[int]:
    """TCP ports the tool's own processes listen on, on loopback or all addresses."""
    import psutil

    ports: list[int] = []
    for pid in pids:
        try:
            conns = psutil.Process(pid).net_connections(kind="tcp")
        except (psutil.Error, OSError):
            continue
        for c in conns:
            if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.ip in ("127.0.0.1", "0.0.0.0", "::", "::1"):
                ports.append(int(c.laddr.port))
    return sorted(set(ports))


def no_route_text(label: str) -> str:
    return _(
        "{tool} has no way to free its GPU memory from outside. Close it when you are done: it loads the model again next time."
    ).format(tool=label)


def send(target: Target, ports: Sequence[int], deadline_s: float = DEADLINE_S) -> Answer:
    """Ask the tool (blocking, at most about `deadline_s` per port tried). Never raises."""
    route = ROUTES.get(target.tool)
    if route is None:
        return Answer(None, None, False, no_route_text(target.label))
    if not ports:
        return Answer(None, None, False, _(
            "Could not tell which port {tool} listens on. Free its memory from its own window, or close it."
        ).format(tool=target.label))
    last: Answer | None = None
    for port in ports:
        last = _post(target, route, port, deadline_s)
        if last.http_status is not None:
            return last  # it answered: that is the tool's word, whatever it is
    assert last is not None
    return last


def _queue_busy(route: Route, port: int, deadline_s: float) -> bool | None:
    """Does the tool say work is queued or running? None: it did not say (no such route, its API
    off, an answer we cannot read); the request that follows will tell what is wrong."""
    if route.queue is None:
        return None
    path, read = route.queue
    try:
        status, body = http_exchange(port, "GET", path, None, deadline_s)
        return read(json.loads(body)) if status == 200 else None
    except TimeoutError:
        raise  # a hung tool: say so, and do not ask it anything more
    except (OSError, ValueError):
        return None


def _post(target: Target, route: Route, port: int, deadline_s: float) -> Answer:
    endpoint = f"http://{LOOPBACK}:{port}{route.path}"
    end = time.monotonic() + deadline_s  # one deadline for the queue check and the request
    try:
        if _queue_busy(route, port, deadline_s):
            return Answer(endpoint, None, False, _(
                "{tool} has work queued or running: nothing was freed, so that it can finish. Ask again once it is idle."
            ).format(tool=target.label), route.body)
        left = max(0.001, end - time.monotonic())
        status, _body = http_exchange(port, route.method, route.path, route.body, left)
    except TimeoutError:
        return Answer(endpoint, None, False, _(
            "{tool} did not answer on port {port} within {seconds} s: it may be busy or hung. Nothing was changed."
        ).format(tool=target.label, port=port, seconds=fmt_number(deadline_s)), route.body)
    except (OSError, ValueError) as exc:
        return Answer(endpoint, None, False, _(
            "{tool} could not be reached on port {port} ({error}). Nothing was changed."
        ).format(tool=target.label, port=port, error=getattr(exc, "strerror", None) or exc), route.body)
    accepted = 200 <= status < 300
    return Answer(endpoint, status, accepted, None if accepted else _refusal(target, route, status), route.body)


def http_exchange(
    port: int, method: str, path: str, body: dict[str, Any] | None, deadline_s: float
) -> tuple[int, bytes]:
    """(status, body) of a request to 127.0.0.1:port, within `deadline_s` for the whole
    exchange (a server trickling one byte at a time cannot hold us: each recv() is bounded by
    what is left). A plain socket, so that no proxy setting can send it off the machine.
    HTTP/1.0 with Connection: close, so the body ends when the server closes. Raises
    TimeoutError, OSError, or ValueError (not HTTP, or an answer over MAX_ANSWER_BYTES)."""
    deadline = time.monotonic() + deadline_s

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the whole request took too long")
        return remaining

    data = json.dumps(body).encode() if body is not None else b""
    head = (
        f"{method} {path} HTTP/1.0\r\nHost: {LOOPBACK}:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    ).encode("ascii")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(left())
        sock.connect((LOOPBACK, port))
        sock.settimeout(left())
        sock.sendall(head + data)
        answer = bytearray()
        while True:
            sock.settimeout(left())
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
            if len(answer) > MAX_ANSWER_BYTES:
                raise ValueError("answer too large")
    head_bytes, _sep, content = bytes(answer).partition(b"\r\n\r\n")
    parts = head_bytes.split(b"\r\n", 1)[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise ValueError("not an HTTP answer")
    return int(parts[1]), content


def _refusal(target: Target, route: Route, status: int) -> str:
    if status == 404 and route.needs_api:
        return _(
            "{tool} runs without its API, so it cannot be asked from here. Add {option} to its start options (COMMANDLINE_ARGS in webui-user.sh or webui-user.bat) and restart it; meanwhile, unload the checkpoint from its Settings page, or close it."
        ).format(tool=target.label, option=route.needs_api)
    if status in (401, 403):
        return _(
            "{tool} asks for a password on its API, which Raison Garder does not keep. Unload the model from its own window, or close it."
        ).format(tool=target.label)
    return _("{tool} refused (HTTP {status}). Nothing was changed.").format(
        tool=target.label, status=status
    )


# ---- measuring what it changed -------------------------------------------------------------


@dataclass(slots=True)
class Watch:
    """What the GPU drew and the tool held, before and over the window after asking."""

    before_w: float | None
    before_mem_mb: float | None
    started: float  # monotonic or wall seconds: the caller's clock, one clock throughout
    window_s: float = WINDOW_S
    samples: list[tuple[float, float | None, float | None]] = field(default_factory=list)

    def add(self, t: float, power_w: float | None, mem_mb: float | None) -> None:
        self.samples.append((t, power_w, mem_mb))

    def done(self, t: float) -> bool:
        return t - self.started >= self.window_s

    def after(self) -> tuple[float | None, float | None]:
        """(mean power over the last SETTLED_S of the window, the tool's last known memory)."""
        if not self.samples:
            return None, None
        end = self.samples[-1][0]
        tail = min(SETTLED_S, self.window_s / 3)  # a short test window: its last third
        settled = [w for t, w, _m in self.samples if w is not None and t >= end - tail]
        memory = [m for _t, _w, m in self.samples if m is not None]
        return (sum(settled) / len(settled) if settled else None), (memory[-1] if memory else None)


@dataclass(frozen=True, slots=True)
class Outcome:
    tool: str
    label: str
    pid: int
    endpoint: str | None
    http_status: int | None
    accepted: bool
    before_w: float | None
    after_w: float | None
    before_mem_mb: float | None
    after_mem_mb: float | None
    window_s: float
    problem: str | None = None
    body: dict[str, Any] | None = None
    ts: float = field(default_factory=time.time)

    @property
    def freed_mb(self) -> float | None:
        if self.before_mem_mb is None or self.after_mem_mb is None:
            return None
        return max(0.0, self.before_mem_mb - self.after_mem_mb)

    @property
    def drop_w(self) -> float | None:
        """How much less the GPU draws now: what freeing saves per hour left idle."""
        if self.before_w is None or self.after_w is None:
            return None
        return self.before_w - self.after_w

    @property
    def freed(self) -> bool:
        return self.accepted and (self.freed_mb or 0.0) >= FREED_MIN_MB

    @property
    def power_fell(self) -> bool:
        return (self.drop_w or 0.0) >= FELL_MIN_W

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k not in ("label", "ts")}
        out.update(freed_mb=self.freed_mb, drop_w=self.drop_w, message=self.message())
        return out

    def message(self) -> str:
        """One honest sentence (two when something is off)."""
        if not self.accepted:
            return self.problem or _("{tool} did not free its memory.").format(tool=self.label)
        after = fmt_power(self.after_w) if self.after_w is not None else _("an unknown power")
        if self.freed and self.power_fell and self.before_w is not None:
            return _("Freed {memory}; idle draw fell from {before} to {after}.").format(
                memory=gigabytes(self.freed_mb), before=fmt_power(self.before_w), after=after)
        if self.freed:
            return _("{tool} freed {memory}, but the GPU still draws {after}: something else keeps it busy.").format(
                tool=self.label, memory=gigabytes(self.freed_mb), after=after)
        if self.after_mem_mb is None:
            return _("{tool} accepted; its GPU memory cannot be read here, and the GPU draws {after}.").format(
                tool=self.label, after=after)
        return _("{tool} accepted, but still holds {memory} after {seconds} s and the GPU still draws {after}: something else keeps it busy.").format(
            tool=self.label, memory=gigabytes(self.after_mem_mb), seconds=fmt_number(self.window_s), after=after)


def gigabytes(mb: float | None) -> str:
    """8.2 GB (decimal comma in French); MiB as NVML gives them, shown as GB people read."""
    if mb is None:
        return _("unknown")
    if mb < 1024:
        return _("{n} MB").format(n=fmt_number(mb))
    return _("{n} GB").format(n=fmt_number(mb / 1024, 1))


def outcome(target: Target, answer: Answer, watch: Watch | None) -> Outcome:
    """The result; "after" figures only when the tool accepted (nothing was done otherwise)."""
    after_w, after_mem = watch.after() if watch is not None and answer.accepted else (None, None)
    return Outcome(
        tool=target.tool, label=target.label, pid=target.pid, endpoint=answer.endpoint,
        http_status=answer.http_status, accepted=answer.accepted,
        before_w=watch.before_w if watch else None, after_w=after_w,
        before_mem_mb=watch.before_mem_mb if watch else None, after_mem_mb=after_mem,
        window_s=watch.window_s if watch and answer.accepted else 0.0, problem=answer.problem,
        body=answer.body,
    )
