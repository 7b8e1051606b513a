"""Count the images ComfyUI saved, through its own local HTTP API, read-only.

ComfyUI keeps a history of finished prompts (`GET /history`, newest last; `?max_items=N` gives
the last N). Each entry, keyed by prompt id, holds:
- `prompt`: [number, prompt_id, graph, extra_data, outputs_to_execute] — the graph maps node ids
  to {"class_type", "inputs"}; we read loader, latent and sampler inputs only, never the text;
- `outputs`: {node_id: {"images": [{"filename", "subfolder", "type"}]}} — "output" files were
  saved, "temp" ones are previews;
- `status`: {"status_str", "completed", "messages": [[event, {"prompt_id", "timestamp" (ms)…}]]}
  (timestamps since mid-2024; older versions have none, see `first seen` below).

Only GET requests, only to a loopback address, with a deadline for the whole request and a
growing pause after failures: a ComfyUI that is busy or gone costs us (and it) next to nothing.
A plain socket rather than urllib, so that no proxy setting can ever send a request off the
machine, and rather than http.client, whose reads cannot be bounded in time (see `http_get`).
"""

from __future__ import annotations

import ipaddress
import json
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from tray_app.images.models import (
    ImageMeta,
    model_file_name,
    positive_int,
    sampler_name,
    stated_family,
)

DEFAULT_PORT = 8188
TIMEOUT_S = 0.5
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
_MAX_HEAD_BYTES = 64 * 1024
DEADLINE_S = 2.0  # a whole request, however the server trickles its answer
FIRST_BATCH = 32
MAX_BATCH = 1024
BACKOFF_FIRST_S = 5.0
MAX_KNOWN = 12000
BACKOFF_MAX_S = 120.0
_DONE_EVENTS = ("execution_success", "execution_error", "execution_interrupted")
_MODEL_KEYS = ("ckpt_name", "unet_name")  # CheckpointLoader*, UNETLoader, UnetLoaderGGUF…


def is_loopback(host: str) -> bool:
    """Only literal loopback addresses: a name like "localhost" could be mapped elsewhere."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def port_from_args(args: Sequence[str]) -> int:
    """ComfyUI's `--port N` / `--port=N` from its command line, else its default."""
    for i, arg in enumerate(args):
        value = None
        if arg == "--port" and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith("--port="):
            value = arg.split("=", 1)[1]
        if value is not None and value.isdigit() and 0 < int(value) < 65536:
            return int(value)
    return DEFAULT_PORT


class ComfyUIClient:
    """GET-only JSON client for one ComfyUI on this machine."""

    def __init__(
        self,
        port: int = DEFAULT_PORT,
        hosts: Sequence[str] = ("127.0.0.1", "::1"),
        timeout: float = TIMEOUT_S,
    ) -> None:
        if not 0 < port < 65536:
            raise ValueError(f"not a TCP port: {port}")
        bad = [h for h in hosts if not is_loopback(h)]
        if bad or not hosts:
            raise ValueError(f"ComfyUI is only ever asked on this machine, not {bad or hosts}")
        self.port = port
        self.hosts = list(hosts)
        self.timeout = min(timeout, TIMEOUT_S)

    def get_json(self, path: str) -> object | None:
        """The decoded answer to GET `path`, or None (refused, timed out, not JSON, too big)."""
        for host in list(self.hosts):
            try:
                return self._get(host, path)
            except (OSError, ValueError, RecursionError):  # RecursionError: JSON nested too deep
                continue
        return None

    def _get(self, host: str, path: str) -> object | None:
        body = http_get(host.strip("[]"), self.port, path, self.timeout)
        if body is None:
            return None
        # The host that answered goes first next time.
        self.hosts.remove(host)
        self.hosts.insert(0, host)
        return json.loads(body)


def http_get(
    host: str,
    port: int,
    path: str,
    read_timeout_s: float = TIMEOUT_S,
    deadline_s: float | None = None,
    max_bytes: int | None = None,
) -> bytes | None:
    """The body of a 200 answer to `GET path`, or None (refused, not 200, too big, too slow).

    The deadline holds for the whole request: http.client reads headers and body through a
    buffered file whose every byte restarts the socket timeout, so a server trickling one byte
    every 0.25 s held it forever. Here each recv() returns whatever arrived, and the monotonic
    deadline is checked between them. HTTP/1.0 keeps the answer plain (no chunked encoding).
    """
    deadline = time.monotonic() + (DEADLINE_S if deadline_s is None else deadline_s)
    max_bytes = MAX_RESPONSE_BYTES if max_bytes is None else max_bytes
    family = socket.AF_INET6 if ":" in host else socket.AF_INET

    def remaining() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the whole request took too long")
        return min(read_timeout_s, left)

    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(remaining())
        sock.connect((host, port))
        request = (
            f"GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\n"
            "Accept: application/json\r\nConnection: close\r\n\r\n"
        )
        sock.settimeout(remaining())
        sock.sendall(request.encode("ascii"))
        data = bytearray()
        head_end = -1
        length: int | None = None
        while True:
            sock.settimeout(remaining())
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            if len(data) > max_bytes + _MAX_HEAD_BYTES:
                return None
            if head_end < 0:
                head_end = data.find(b"\r\n\r\n")
                if head_end < 0:
                    if len(data) > _MAX_HEAD_BYTES:
                        return None
                    continue
                status, length = _parse_head(bytes(data[:head_end]))
                if status != 200 or (length is not None and length > max_bytes):
                    return None
            if length is not None and len(data) - head_end - 4 >= length:
                break
        if head_end < 0:
            return None
        body = bytes(data[head_end + 4 :])
        if length is not None:
            if len(body) < length:
                return None  # cut short
            body = body[:length]
        return body if len(body) <= max_bytes else None


def _parse_head(head: bytes) -> tuple[int, int | None]:
    """(status, Content-Length or None) from a response's status line and headers."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ValueError("not an HTTP answer")
    length = None
    for line in lines[1:]:
        name, _sep, value = line.partition(":")
        if name.strip().lower() == "content-length":
            value = value.strip()
            if not value.isdigit():
                raise ValueError("bad Content-Length")
            length = int(value)
        elif name.strip().lower() == "transfer-encoding":
            raise ValueError("HTTP/1.0 answers are never chunked")
    return int(parts[1]), length


@dataclass(frozen=True, slots=True)
class PromptRecord:
    prompt_id: str
    completed_at: float | None  # seconds since the epoch; None when ComfyUI did not say
    images: int  # saved ("output") images, not previews, not cached re-runs
    meta: ImageMeta
    # When ComfyUI began executing it (its `execution_start` message); None on versions
    # without timestamps. With both ends stated, the prompt's window is exact.
    started_at: float | None = None
    seen_at: float | None = None  # undated prompts: when we first saw them (our own poll)
    seen_after: float | None = None  # ... and our previous look, which they followed


def _messages(status: object) -> list[tuple[str, dict]]:
    if not isinstance(status, Mapping):
        return []
    out = []
    for item in status.get("messages") or ():
        if isinstance(item, list | tuple) and len(item) == 2 and isinstance(item[1], Mapping):
            out.append((str(item[0]), dict(item[1])))
    return out


def completion_time(status: object) -> float | None:
    """When the prompt finished, from its status messages (ms timestamps), in seconds."""
    done = None
    latest = None
    for event, data in _messages(status):
        stamp = data.get("timestamp")
        if not isinstance(stamp, int | float) or isinstance(stamp, bool):
            continue
        latest = stamp if latest is None else max(latest, stamp)
        if event in _DONE_EVENTS:
            done = stamp
    chosen = done if done is not None else latest
    return chosen / 1000.0 if chosen is not None else None


def start_time(status: object) -> float | None:
    """When ComfyUI began executing the prompt (`execution_start`), in seconds, or None."""
    for event, data in _messages(status):
        stamp = data.get("timestamp")
        if event == "execution_start" and isinstance(stamp, int | float) and not isinstance(
            stamp, bool
        ):
            return stamp / 1000.0
    return None


def saved_images(outputs: object, status: object = None) -> int:
    """Distinct images of type "output"; previews ("temp") and cached nodes do not count.

    A node ComfyUI took from its cache did not run again: its listed images are the old files.
    """
    if not isinstance(outputs, Mapping):
        return 0
    cached: set[str] = set()
    for event, data in _messages(status):
        if event == "execution_cached" and isinstance(data.get("nodes"), list):
            cached.update(str(n) for n in data["nodes"])
    files: set[tuple[str, str]] = set()
    for node_id, node_out in outputs.items():
        if str(node_id) in cached or not isinstance(node_out, Mapping):
            continue
        for image in node_out.get("images") or ():
            if isinstance(image, Mapping) and image.get("type") == "output":
                files.add((str(image.get("subfolder", "")), str(image.get("filename", ""))))
    return len(files)


def graph_meta(graph: object) -> ImageMeta:
    """Model file, family, size and steps from a prompt graph. The prompt text is not read."""
    if not isinstance(graph, Mapping):
        return ImageMeta()
    model_ref = clip_type = sampler = None
    width = height = steps = batch = None
    for node in graph.values():
        if not isinstance(node, Mapping) or not isinstance(node.get("inputs"), Mapping):
            continue
        kind = str(node.get("class_type", ""))
        inputs = node["inputs"]
        if model_ref is None:
            model_ref = next(
                (inputs[k] for k in _MODEL_KEYS if isinstance(inputs.get(k), str)), None
            )
        if "CLIPLoader" in kind and clip_type is None:
            # DualCLIPLoader/CLIPLoader name the architecture; TripleCLIPLoader is SD3's.
            clip_type = inputs.get("type") if isinstance(inputs.get("type"), str) else None
            if kind == "TripleCLIPLoader":
                clip_type = "sd3"
        if kind.startswith("Empty") and "Latent" in kind and width is None:
            width, height = positive_int(inputs.get("width")), positive_int(inputs.get("height"))
            batch = positive_int(inputs.get("batch_size"))
        if ("Sampler" in kind or "Scheduler" in kind) and positive_int(inputs.get("steps")):
            steps = max(steps or 0, positive_int(inputs.get("steps")) or 0)
        if sampler is None and "Sampler" in kind:
            sampler = sampler_name(inputs.get("sampler_name"))
    return ImageMeta(
        model_name=model_file_name(model_ref),
        family=stated_family(model_ref, clip_type),
        width=width,
        height=height,
        steps=steps,
        sampler=sampler,
        batch=batch,
    )


def parse_entry(prompt_id: str, entry: object, with_meta: bool = True) -> PromptRecord | None:
    if not isinstance(entry, Mapping):
        return None
    status = entry.get("status")
    prompt = entry.get("prompt")
    graph = prompt[2] if isinstance(prompt, list | tuple) and len(prompt) > 2 else None
    return PromptRecord(
        prompt_id,
        completion_time(status),
        saved_images(entry.get("outputs"), status),
        graph_meta(graph) if with_meta else ImageMeta(),
        start_time(status),
    )


class ComfyHistoryCounter:
    """Follows ComfyUI's history and remembers which prompts finished when.

    Cheap when nothing changes: one tiny request (`max_items=1`) tells whether the newest entry
    is one we know. Entries without timestamps (old ComfyUI) count from the moment we first see
    them; those already there at our first look cannot be dated and are not counted.
    """

    def __init__(
        self,
        client: ComfyUIClient,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self._clock = clock
        self._known: dict[str, None] = {}  # prompt ids already judged, oldest first
        self._records: dict[str, PromptRecord] = {}
        self._looked = False
        self._ok = False
        self._failures = 0
        self._next_try = 0.0
        self._last_look: float | None = None  # wall time of our previous answered look

    @property
    def answered(self) -> bool:
        """Has ComfyUI ever answered us?"""
        return self._ok

    def poll(self, count_from: float, now: float) -> tuple[PromptRecord, ...] | None:
        """Prompts finished at or after `count_from`; None when ComfyUI has never answered."""
        if self._clock() >= self._next_try:
            if self._fetch(count_from, now):
                self._failures = 0
                self._ok = True
            else:
                self._failures += 1
                pause = min(BACKOFF_FIRST_S * 2 ** (self._failures - 1), BACKOFF_MAX_S)
                self._next_try = self._clock() + pause
        if not self._ok:
            return None
        # Forget what belongs to sessions already over.
        self._records = {
            k: r for k, r in self._records.items() if (r.completed_at or 0) >= count_from
        }
        return tuple(self._records.values())

    def _fetch(self, count_from: float, now: float) -> bool:
        batch = 1 if self._looked else FIRST_BATCH
        while True:
            data = self.client.get_json(f"/history?max_items={batch}")
            if not isinstance(data, dict):
                return False
            entries = list(data.items())
            fresh = [(k, v) for k, v in entries if k not in self._known]
            oldest = parse_entry(*entries[0], with_meta=False) if entries else None
            reached_known = len(fresh) < len(entries)
            reached_old = (
                oldest is not None
                and oldest.completed_at is not None
                and oldest.completed_at < count_from
            )
            whole = len(entries) < batch or len(entries) > batch  # all of it, or max_items ignored
            if reached_known or reached_old or whole or batch >= MAX_BATCH:
                break
            batch = max(FIRST_BATCH, min(batch * 4, MAX_BATCH))
        for prompt_id, entry in fresh:
            self._known[prompt_id] = None
            record = parse_entry(prompt_id, entry, with_meta=False)
            if record is None:
                continue
            when = record.completed_at
            seen_at = seen_after = None
            if when is None and self._looked:
                when = seen_at = now  # first seen: it finished since our last look
                seen_after = self._last_look
            if when is None or when < count_from or record.images == 0:
                continue
            meta = parse_entry(prompt_id, entry)
            self._records[prompt_id] = PromptRecord(
                prompt_id,
                when,
                record.images,
                meta.meta if meta else ImageMeta(),
                record.started_at if record.completed_at is not None else None,
                seen_at,
                seen_after,
            )
        if len(self._known) > MAX_KNOWN:  # ComfyUI keeps 10000 at most; so do we, roughly
            for prompt_id in list(self._known)[: len(self._known) - MAX_KNOWN // 2]:
                del self._known[prompt_id]
        self._looked = True
        self._last_look = now
        return True
