"""The facade the session tracker calls: one count per session, unknown when it cannot count."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.fixtures.fake_comfyui import FakeComfyUI
from tests.images import A1111_PARAMETERS, free_port, png_bytes, text_chunk, write
from tray_app.images.counter import ImageCounter, summarise
from tray_app.images.models import ImageMeta

LATER = 10.0


def test_a1111_session_counts_new_files_with_their_model(tmp_path: Path):
    root = tmp_path / "stable-diffusion-webui"
    day = root / "outputs" / "txt2img-images" / "2024-05-02"
    old = write(day / "00000-1.png", png_bytes())
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    session = time.time() - 1
    counter = ImageCounter.for_tool("a1111", root, None, time.time() - 600, [])
    assert counter.poll(session, time.time() + LATER).images == 0

    for i in range(3):
        write(
            day / f"0000{i + 1}-2.png",
            png_bytes(texts=[text_chunk("parameters", A1111_PARAMETERS)]),
        )
    count = counter.poll(session, time.time() + LATER)

    assert count.images == 3
    assert count.source == "folders"
    assert (count.model_name, count.model_family, count.steps) == ("sd_xl_base_1.0", "sdxl", 30)
    assert (count.width, count.height) == (832, 1216)


def test_user_folders_count_for_any_tool(tmp_path: Path):
    mine = tmp_path / "my-renders"
    mine.mkdir()
    counter = ImageCounter.for_tool("diffusers", None, None, time.time() - 5, [mine])
    session = time.time() - 1
    write(mine / "a.png", png_bytes())
    count = counter.poll(session, time.time() + LATER)
    assert count.images == 1
    assert count.model_family is None or count.model_family == "unknown"


def test_nothing_to_watch_means_unknown(tmp_path: Path):
    assert (
        ImageCounter.for_tool("kohya", None, None, time.time(), [])
        .poll(time.time(), time.time())
        .images
        is None
    )
    missing = ImageCounter.for_tool("fooocus", tmp_path / "nowhere", None, time.time(), [])
    assert missing.poll(time.time(), time.time()).images is None


def test_comfyui_falls_back_to_its_output_folder_while_the_api_is_silent(tmp_path: Path):
    root = tmp_path / "ComfyUI"
    (root / "output").mkdir(parents=True)
    counter = ImageCounter.for_tool("comfyui", root, free_port(), time.time() - 5, [])
    session = time.time() - 1
    write(root / "output" / "ComfyUI_00001_.png", png_bytes())
    write(root / "temp" / "ComfyUI_temp_00001_.png", png_bytes())  # previews live elsewhere

    count = counter.poll(session, time.time() + LATER)

    assert (count.images, count.source) == (1, "folders")


def test_comfyui_api_wins_over_the_folder_once_it_answers(
    fake_comfyui: FakeComfyUI, tmp_path: Path
):
    root = tmp_path / "ComfyUI"
    counter = ImageCounter.for_tool(
        "comfyui", root, fake_comfyui.port, time.time() - 5, [root / "output"]
    )
    session = time.time() - 1
    write(root / "output" / "ComfyUI_00001_.png", png_bytes())
    fake_comfyui.add_prompt(time.time(), images=1, ckpt=None, unet="flux1-dev.safetensors")

    count = counter.poll(session, time.time() + LATER)

    assert (count.images, count.source) == (1, "comfyui-api")  # the same image, not counted twice
    assert (count.model_name, count.model_family) == ("flux1-dev.safetensors", "flux")


def test_an_unexpected_failure_gives_unknown_not_an_exception(tmp_path: Path, monkeypatch):
    counter = ImageCounter.for_tool("a1111", tmp_path, None, time.time(), [])
    monkeypatch.setattr(counter, "_poll", lambda since, now: 1 / 0)
    assert counter.poll(time.time(), time.time()).images is None


def test_summary_prefers_the_model_that_made_most_images_and_guesses_family_by_size_only_when_unnamed():
    a = ImageMeta("a.safetensors", None, 512, 512, 20)
    b = ImageMeta("sd_xl_base_1.0.safetensors", "sdxl", 1024, 1024, 30)
    count = summarise(4, [(1.0, 1, b), (2.0, 3, a)], "folders")
    assert (count.model_name, count.model_family, count.family_certain) == (
        "a.safetensors",
        "unknown",
        False,
    )

    unnamed = ImageMeta(None, None, 1024, 1024, 8)
    count = summarise(1, [(1.0, 1, unnamed)], "folders")
    assert (count.model_family, count.family_certain, count.steps) == ("sdxl", False, 8)
