"""Counting new image files in output folders: only complete images made during the session."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.images import A1111_PARAMETERS, jpeg_bytes, png_bytes, text_chunk, webp_bytes, write
from tray_app.images import folders
from tray_app.images.folders import FolderImageCounter, distinct_dirs, tool_output_dirs

LATER = 10.0  # seconds: long enough for any file to have settled


def age(path: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    day = tmp_path / "outputs" / "txt2img-images" / "2024-05-01"
    for i in range(3):  # yesterday's work, already there
        age(write(day / f"0000{i}-old.png", png_bytes()), 86400)
    age(day, 86400)
    age(day.parent, 86400)
    return tmp_path / "outputs" / "txt2img-images"


def test_counts_new_images_of_every_format_but_not_old_or_other_files(outputs: Path):
    session = time.time() - 1
    counter = FolderImageCounter([outputs])
    assert counter.poll(session, time.time() + LATER).images == 0

    today = outputs / "2024-05-02"
    write(today / "00003-1.png", png_bytes(texts=[text_chunk("parameters", A1111_PARAMETERS)]))
    write(today / "00004-2.jpg", jpeg_bytes())
    write(today / "00005-3.webp", webp_bytes())
    write(today / "log.csv", b"a,b\n")
    write(today / "00006-3.txt", b"caption")
    write(outputs / "2024-05-01" / "00007-4.JPEG", jpeg_bytes())  # an old folder gets a new file
    copied = write(today / "copied-in.png", png_bytes())
    age(copied, 86400)  # copied with its old date: not made in this session

    result = counter.poll(session, time.time() + LATER)

    assert result.images == 4
    metas = [m for _t, m in result.metas]
    assert any(m.model_name == "sd_xl_base_1.0" and m.steps == 30 for m in metas)


def test_partial_writes_count_only_once_complete(tmp_path: Path):
    session = time.time() - 1
    counter = FolderImageCounter([tmp_path])
    data = png_bytes(width=64, height=64)

    empty = write(tmp_path / "empty.png", b"")
    growing = write(tmp_path / "growing.png", data[: len(data) // 2])
    write(tmp_path / "done.png.tmp", data)
    write(tmp_path / "done.png.part", data)
    write(tmp_path / ".done.png", data)  # hidden temp name of a careful writer
    assert counter.poll(session, time.time() + LATER).images == 0

    with open(growing, "ab") as handle:  # the tool finishes writing
        handle.write(data[len(data) // 2 :])
    empty.write_bytes(data)
    os.rename(tmp_path / "done.png.tmp", tmp_path / "renamed.png")
    assert counter.poll(session, time.time() + LATER).images == 3


def test_a_just_written_file_waits_until_it_stops_changing(tmp_path: Path):
    session = time.time() - 1
    counter = FolderImageCounter([tmp_path])
    counter.poll(session, time.time())
    write(tmp_path / "fresh.png", png_bytes())

    assert counter.poll(session, time.time()).images == 0  # written this very second: wait
    assert counter.poll(session, time.time()).images == 1  # unchanged since: complete


def test_a_new_session_counts_from_its_own_start(tmp_path: Path):
    counter = FolderImageCounter([tmp_path])
    first = write(tmp_path / "a.png", png_bytes())
    age(first, 100)
    assert counter.poll(time.time() - 200, time.time() + LATER).images == 1

    second_session = time.time() - 50
    assert counter.poll(second_session, time.time() + LATER).images == 0
    write(tmp_path / "b.png", png_bytes())
    assert counter.poll(second_session, time.time() + LATER).images == 1


def test_thumbnails_are_not_generations_and_nested_folders_are_not_counted_twice(tmp_path: Path):
    images = tmp_path / "outputs" / "images"
    session = time.time() - 1
    counter = FolderImageCounter([images, images / "sub", tmp_path / "missing"])
    counter.poll(session, time.time())
    write(images / "a1b2.png", png_bytes())
    write(images / "thumbnails" / "a1b2.webp", webp_bytes())
    write(images / "sub" / "c3.png", png_bytes())

    assert counter.poll(session, time.time() + LATER).images == 2


def test_no_readable_folder_means_unknown_not_zero(tmp_path: Path):
    assert FolderImageCounter([tmp_path / "nope"]).poll(0.0, time.time()) is None
    assert FolderImageCounter([]).poll(0.0, time.time()) is None


def test_quiet_polls_list_nothing_and_open_nothing(outputs: Path, monkeypatch: pytest.MonkeyPatch):
    session = time.time() - 1
    counter = FolderImageCounter([outputs])
    write(outputs / "2024-05-02" / "1.png", png_bytes())
    assert counter.poll(session, time.time() + LATER).images == 1
    counter.poll(session, time.time() + LATER)  # settle any listing made in the same second

    calls: list[str] = []
    real_scandir, real_open = os.scandir, open
    monkeypatch.setattr(
        folders.os, "scandir", lambda p: calls.append(f"scandir {p}") or real_scandir(p)
    )
    monkeypatch.setattr(
        folders, "open", lambda *a, **k: calls.append("open") or real_open(*a, **k), raising=False
    )

    assert counter.poll(session, time.time() + 2 * LATER).images == 1
    assert calls == []


def test_never_opens_a_file_for_writing(outputs: Path, monkeypatch: pytest.MonkeyPatch):
    modes: list[str] = []
    real_open = open

    def spy(file, mode="r", *args, **kwargs):
        modes.append(mode)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(folders, "open", spy, raising=False)
    session = time.time() - 1
    counter = FolderImageCounter([outputs])
    write(
        outputs / "2024-05-02" / "1.png",
        png_bytes(texts=[text_chunk("parameters", A1111_PARAMETERS)]),
    )
    assert counter.poll(session, time.time() + LATER).images == 1
    assert modes and set(modes) <= {"rb", "r"}


# --- where each tool saves -----------------------------------------------------------------


def test_a1111_defaults_and_its_settings_file(tmp_path: Path):
    assert tool_output_dirs("a1111", tmp_path) == [
        tmp_path / "outputs" / "txt2img-images",
        tmp_path / "outputs" / "img2img-images",
    ]
    (tmp_path / "config.json").write_text(
        json.dumps({"outdir_txt2img_samples": "/data/t2i", "outdir_img2img_samples": ""})
    )
    assert tool_output_dirs("forge", tmp_path) == [
        Path("/data/t2i"),
        tmp_path / "outputs" / "img2img-images",
    ]
    (tmp_path / "config.json").write_text(json.dumps({"outdir_samples": "all-here"}))
    assert tool_output_dirs("automatic1111", tmp_path) == [tmp_path / "all-here"]


def test_a_broken_settings_file_falls_back_to_the_defaults(tmp_path: Path):
    (tmp_path / "config.json").write_text("{not json")
    assert tool_output_dirs("sdnext", tmp_path)[0] == tmp_path / "outputs" / "text"


def test_fooocus_invokeai_swarmui_comfyui_layouts(tmp_path: Path):
    assert tool_output_dirs("fooocus", tmp_path) == [tmp_path / "outputs"]
    (tmp_path / "config.txt").write_text(json.dumps({"path_outputs": "/mnt/art"}))
    assert tool_output_dirs("fooocus", tmp_path) == [Path("/mnt/art")]

    assert tool_output_dirs("invokeai", tmp_path) == [tmp_path / "outputs" / "images"]
    (tmp_path / "invokeai.yaml").write_text(
        "# Internal metadata\nschema_version: 4.0.2\noutputs_dir: /srv/invoke\n"
    )
    assert tool_output_dirs("invokeai", tmp_path) == [Path("/srv/invoke") / "images"]

    assert tool_output_dirs("swarmui", tmp_path) == [tmp_path / "Output"]
    (tmp_path / "Data").mkdir()
    (tmp_path / "Data" / "Settings.fdsv").write_text("Paths:\n\tOutputPath: MyOut\n")
    assert tool_output_dirs("swarmui", tmp_path) == [tmp_path / "MyOut"]

    assert tool_output_dirs("comfyui", tmp_path) == [tmp_path / "output"]
    assert tool_output_dirs("kohya", tmp_path) == []
    assert tool_output_dirs("a1111", None) == []


def test_distinct_dirs_drops_duplicates_and_nested(tmp_path: Path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    assert distinct_dirs([tmp_path / "a" / "b", tmp_path / "a", tmp_path / "a" / "."]) == [
        tmp_path / "a"
    ]
