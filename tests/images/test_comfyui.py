"""Counting ComfyUI's images through its local API, against a fake ComfyUI on loopback."""

from __future__ import annotations

import threading
import time

import pytest

from tests.fixtures.fake_comfyui import SECRET_PROMPT, FakeComfyUI, TricklingServer
from tests.images import free_port
from tray_app.images.comfyui import (
    DEADLINE_S,
    ComfyHistoryCounter,
    ComfyUIClient,
    graph_meta,
    is_loopback,
    port_from_args,
)
from tray_app.images.counter import ImageCounter


def comfy_counter(fake: FakeComfyUI, process_start: float) -> ImageCounter:
    return ImageCounter.for_tool("comfyui", None, fake.port, process_start, [])


def test_images_are_counted_as_prompts_complete(fake_comfyui: FakeComfyUI):
    t0 = time.time()
    fake_comfyui.add_prompt(t0 - 3600, images=4)  # an earlier day's work
    counter = comfy_counter(fake_comfyui, process_start=t0 - 7200)
    session = t0

    assert counter.poll(session, time.time()).images == 0

    fake_comfyui.add_prompt(t0 + 1, images=1, previews=1)
    fake_comfyui.add_prompt(t0 + 2, images=2, ckpt="sd_xl_base_1.0.safetensors", steps=30)
    count = counter.poll(session, time.time())

    assert count.images == 3
    assert count.source == "comfyui-api"
    assert (count.model_name, count.model_family, count.family_certain) == (
        "sd_xl_base_1.0.safetensors",
        "sdxl",
        True,
    )
    assert (count.width, count.height, count.steps) == (1024, 1024, 30)

    fake_comfyui.add_prompt(t0 + 3, images=1)
    assert counter.poll(session, time.time()).images == 4


def test_previews_and_cached_reruns_are_not_counted(fake_comfyui: FakeComfyUI):
    t0 = time.time()
    counter = comfy_counter(fake_comfyui, t0 - 10)
    fake_comfyui.add_prompt(t0 + 1, images=0, previews=3)
    fake_comfyui.add_prompt(t0 + 2, images=1, cached_nodes=["9"])  # SaveImage came from cache
    assert counter.poll(t0, time.time()).images == 0


def test_prompts_done_before_the_first_session_but_after_process_start_count(
    fake_comfyui: FakeComfyUI,
):
    t0 = time.time()
    process_start = t0 - 30
    fake_comfyui.add_prompt(process_start - 5, images=5)  # a previous run of ComfyUI
    fake_comfyui.add_prompt(t0 - 10, images=2)  # done before the monitor noticed the tool
    counter = comfy_counter(fake_comfyui, process_start)

    assert counter.poll(t0, time.time()).images == 2

    # The next session starts afresh.
    second = t0 + 100
    fake_comfyui.add_prompt(t0 + 50, images=1)  # between sessions
    fake_comfyui.add_prompt(t0 + 101, images=1)
    assert counter.poll(second, time.time()).images == 1


def test_the_first_session_does_not_reach_back_further_than_a_few_minutes(
    fake_comfyui: FakeComfyUI,
):
    # ComfyUI ran all day before we started watching: those images were never measured.
    t0 = time.time()
    fake_comfyui.add_prompt(t0 - 3000, images=7)
    fake_comfyui.add_prompt(t0 - 5, images=1)
    counter = comfy_counter(fake_comfyui, process_start=t0 - 86400)
    assert counter.poll(t0, time.time()).images == 1


def test_many_prompts_between_two_polls_are_all_counted(fake_comfyui: FakeComfyUI):
    t0 = time.time()
    counter = comfy_counter(fake_comfyui, t0 - 10)
    counter.poll(t0, time.time())
    for i in range(150):
        fake_comfyui.add_prompt(t0 + 1 + i * 0.01, images=1)
    assert counter.poll(t0, time.time()).images == 150


def test_a_quiet_poll_asks_for_one_entry_only_and_never_writes(fake_comfyui: FakeComfyUI):
    t0 = time.time()
    fake_comfyui.add_prompt(t0 + 1)
    counter = comfy_counter(fake_comfyui, t0 - 10)
    counter.poll(t0, time.time())
    fake_comfyui.requests.clear()

    counter.poll(t0, time.time())

    assert fake_comfyui.requests == [("GET", "/history?max_items=1")]


def test_old_comfyui_without_timestamps_counts_what_appears_after_the_first_look(
    fake_comfyui: FakeComfyUI,
):
    fake_comfyui.honour_max_items = False
    t0 = time.time()
    fake_comfyui.add_prompt(None, images=3)  # there before we looked: cannot be dated
    counter = comfy_counter(fake_comfyui, t0 - 10)
    assert counter.poll(t0, time.time()).images == 0
    fake_comfyui.add_prompt(None, images=2)
    assert counter.poll(t0, time.time()).images == 2


def test_the_prompt_text_is_never_kept(fake_comfyui: FakeComfyUI):
    t0 = time.time()
    fake_comfyui.add_prompt(t0 + 1)
    history = ComfyHistoryCounter(ComfyUIClient(fake_comfyui.port))
    records = history.poll(t0, time.time())
    assert records and SECRET_PROMPT not in repr(records)
    assert SECRET_PROMPT not in repr(vars(history))


def test_a_comfyui_that_is_not_running_gives_unknown_fast_and_is_left_alone():
    clock = [0.0]
    history = ComfyHistoryCounter(ComfyUIClient(free_port()), clock=lambda: clock[0])
    start = time.monotonic()
    assert history.poll(0.0, time.time()) is None
    assert time.monotonic() - start < 1.0

    calls = []
    history.client.get_json = lambda path: calls.append(path)  # type: ignore[method-assign]
    clock[0] = 2.0  # within the back-off pause: no request at all
    assert history.poll(0.0, time.time()) is None
    assert calls == []
    clock[0] = 6.0
    history.poll(0.0, time.time())
    assert len(calls) == 1


def test_the_facade_says_unknown_not_zero_when_comfyui_is_down():
    counter = ImageCounter.for_tool("comfyui", None, free_port(), time.time(), [])
    count = counter.poll(time.time(), time.time())
    assert count.images is None


def test_only_loopback_addresses_are_ever_asked():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("[::1]")
    for host in ("192.168.1.10", "localhost", "example.com", "0.0.0.0", "10.0.0.1"):
        assert not is_loopback(host)
        with pytest.raises(ValueError):
            ComfyUIClient(8188, hosts=(host,))
    with pytest.raises(ValueError):
        ComfyUIClient(8188, hosts=("127.0.0.1", "192.168.1.10"))


def test_port_comes_from_the_command_line():
    assert port_from_args(["python", "main.py", "--port", "8189"]) == 8189
    assert port_from_args(["main.py", "--listen", "--port=9000"]) == 9000
    assert port_from_args(["main.py", "--port", "nope"]) == 8188
    assert port_from_args(["main.py"]) == 8188


def test_graph_meta_reads_loaders_latent_and_sampler_only():
    graph = {
        "1": {
            "class_type": "UNETLoader",
            "inputs": {"unet_name": "FLUX/flux1-schnell.safetensors"},
        },
        "2": {"class_type": "DualCLIPLoader", "inputs": {"type": "flux"}},
        "3": {"class_type": "EmptySD3LatentImage", "inputs": {"width": 1344, "height": 768}},
        "4": {"class_type": "BasicScheduler", "inputs": {"steps": 4, "model": ["1", 0]}},
        "5": {"class_type": "CLIPTextEncode", "inputs": {"text": SECRET_PROMPT}},
    }
    meta = graph_meta(graph)
    assert (meta.model_name, meta.family, meta.width, meta.height, meta.steps) == (
        "flux1-schnell.safetensors",
        "flux",
        1344,
        768,
        4,
    )
    # A name that tells nothing, but the CLIP loader states the architecture.
    graph["1"]["inputs"]["unet_name"] = "my_finetune.safetensors"
    assert graph_meta(graph).family == "flux"
    # A linked width (["7", 0]) is not a size.
    assert (
        graph_meta(
            {"3": {"class_type": "EmptyLatentImage", "inputs": {"width": ["7", 0], "height": 512}}}
        ).width
        is None
    )


def timed_get(port: int) -> tuple[object, float]:
    """get_json in a thread, so that a request that hangs fails the test instead of hanging it."""
    out: list = []
    client = ComfyUIClient(port, hosts=("127.0.0.1",))
    start = time.monotonic()
    worker = threading.Thread(target=lambda: out.append(client.get_json("/history?max_items=1")),
                              daemon=True)
    worker.start()
    worker.join(timeout=DEADLINE_S + 5)
    assert not worker.is_alive(), "the request was still waiting on the server"
    return out[0], time.monotonic() - start


@pytest.mark.parametrize("head", [
    b"HTTP/1.1 200 OK\r\n",  # headers that never end
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n",  # a body that never ends
], ids=["headers", "body"])
def test_a_server_trickling_one_byte_at_a_time_cannot_hold_a_request(head: bytes):
    server = TricklingServer(head=head, filler=b" ", pause_s=0.05)
    try:
        answer, took = timed_get(server.port)
    finally:
        server.close()
    assert answer is None  # unknown, never a half-read number
    assert took < DEADLINE_S + 0.6  # the deadline holds for the whole request


def test_an_answer_larger_than_the_limit_is_refused_before_it_is_read(monkeypatch, fake_comfyui):
    from tray_app.images import comfyui

    for i in range(50):
        fake_comfyui.add_prompt(time.time() - i)
    assert ComfyUIClient(fake_comfyui.port).get_json("/history") is not None
    monkeypatch.setattr(comfyui, "MAX_RESPONSE_BYTES", 1000)
    assert ComfyUIClient(fake_comfyui.port).get_json("/history") is None


def test_json_nested_too_deep_is_unknown_not_a_crash(monkeypatch):
    from tray_app.images import comfyui

    monkeypatch.setattr(comfyui, "http_get", lambda *a, **k: b"[" * 100_000 + b"]" * 100_000)
    assert ComfyUIClient(8188).get_json("/history") is None
