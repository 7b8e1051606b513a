"""Generation settings read from PNG text chunks: model, size, steps; never the prompt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.images import A1111_PARAMETERS, chunk, png_bytes, text_chunk, write
from tray_app.images import folders
from tray_app.images.folders import parse_parameters, png_text


@pytest.mark.parametrize("kind", ["tEXt", "zTXt", "iTXt"])
def test_a1111_parameters_give_model_size_and_steps(tmp_path: Path, kind: str):
    path = write(
        tmp_path / "00001-1234.png",
        png_bytes(texts=[text_chunk("parameters", A1111_PARAMETERS, kind)]),
    )

    meta = parse_parameters(png_text(path))

    assert meta.model_name == "sd_xl_base_1.0"
    assert meta.family == "sdxl"
    assert (meta.width, meta.height, meta.steps) == (832, 1216, 30)
    assert "secret" not in repr(meta)


def test_reading_stops_at_the_image_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # A chunk after IDAT is not read, and nothing past the header is fetched from disk.
    late = text_chunk("parameters", "Steps: 5, Size: 64x64, Model: late_model")
    big = png_bytes(width=400, height=400, after_idat=[late])
    path = write(tmp_path / "big.png", big)
    read_sizes: list[int] = []
    real_open = open

    class Spy:
        def __init__(self, handle):
            self.handle = handle

        def read(self, n: int = -1) -> bytes:
            read_sizes.append(n)
            return self.handle.read(n)

        def __getattr__(self, name):
            return getattr(self.handle, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

    monkeypatch.setattr(
        folders, "open", lambda p, mode="r", **kw: Spy(real_open(p, mode, **kw)), raising=False
    )

    assert png_text(path) == {}
    assert all(0 <= n <= 64 for n in read_sizes), read_sizes  # signature and chunk headers only
    assert sum(read_sizes) < 100 < len(big)


def test_a_corrupt_chunk_or_a_non_png_gives_nothing(tmp_path: Path):
    good = text_chunk("parameters", A1111_PARAMETERS)
    corrupt = good[:-4] + b"\0\0\0\0"  # wrong CRC
    assert png_text(write(tmp_path / "a.png", png_bytes(texts=[corrupt]))) == {}
    assert png_text(write(tmp_path / "b.png", b"GIF89a not a png")) == {}
    assert png_text(tmp_path / "missing.png") == {}
    assert parse_parameters({}).model_name is None


def test_a_prompt_line_that_looks_like_settings_is_not_taken_for_them():
    meta = parse_parameters(
        {
            "parameters": "Steps: 3, Model: fake_in_prompt\nSteps: 20, Size: 512x512, Model: v1-5-pruned-emaonly"
        }
    )
    assert (meta.model_name, meta.steps, meta.family) == ("v1-5-pruned-emaonly", 20, "sd15")


def test_invokeai_metadata_states_the_base_model():
    text = json.dumps(
        {
            "positive_prompt": "secret",
            "model": {"name": "Juggernaut XL v9", "base": "sdxl", "key": "abc"},
            "width": 1024,
            "height": 1024,
            "steps": 30,
        }
    )
    meta = parse_parameters({"invokeai_metadata": text})
    assert (meta.model_name, meta.family, meta.width, meta.steps) == (
        "Juggernaut XL v9",
        "sdxl",
        1024,
        30,
    )


def test_fooocus_and_swarmui_json_parameters():
    fooocus = {
        "prompt": "secret",
        "base_model": "juggernautXL_v8Rundiffusion.safetensors",
        "steps": 30,
        "resolution": "(896, 1152)",
    }
    meta = parse_parameters({"parameters": json.dumps(fooocus)})
    assert (meta.model_name, meta.family, meta.width, meta.height) == (
        "juggernautXL_v8Rundiffusion.safetensors",
        "sdxl",
        896,
        1152,
    )
    swarm = {
        "sui_image_params": {
            "prompt": "secret",
            "model": "Flux/flux1-dev-fp8",
            "steps": 20,
            "width": 1024,
            "height": 768,
        }
    }
    meta = parse_parameters({"parameters": json.dumps(swarm)})
    assert (meta.model_name, meta.family, meta.steps) == ("flux1-dev-fp8", "flux", 20)


def test_an_oversized_text_chunk_is_skipped(tmp_path: Path):
    huge = chunk(b"tEXt", b"parameters\0" + b"x" * (folders.MAX_TEXT_BYTES + 10))
    assert png_text(write(tmp_path / "huge.png", png_bytes(texts=[huge]))) == {}
