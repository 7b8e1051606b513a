"""Model families from names, and the comparison with public reference figures (EN and FR)."""

from __future__ import annotations

import pytest

from tray_app.images.models import (
    REFERENCES,
    comparison_sentence,
    family_from_name,
    guess_family,
    reference_for,
)
from tray_app.system import i18n


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("sd_xl_base_1.0.safetensors", "sdxl"),
        ("sd_xl_refiner_1.0.safetensors", "sdxl"),
        ("juggernautXL_v9Rundiffusionphoto2.safetensors", "sdxl"),
        ("RealVisXL_V4.0.safetensors", "sdxl"),
        ("animagineXLV31.safetensors", "sdxl"),
        ("ponyDiffusionV6XL_v6StartWithThisOne.safetensors", "sdxl"),
        ("illustriousXL_v01.safetensors", "sdxl"),
        ("noobaiXLNAIXL_vPred10Version.safetensors", "sdxl"),
        ("SDXL/my_own_merge.safetensors", "sdxl"),  # the folder a ComfyUI user sorted it into
        ("sd_xl_turbo_1.0_fp16.safetensors", "sdxl-turbo"),
        ("dreamshaperXL_lightningDPMSDE.safetensors", "sdxl-turbo"),
        ("sd_turbo.safetensors", "sd-turbo"),
        ("flux1-dev.safetensors", "flux"),
        ("flux1-schnell-Q4_K_S.gguf", "flux"),
        ("sd3.5_large.safetensors", "sd3"),
        ("sd3_medium_incl_clips.safetensors", "sd3"),
        ("PixArt-Sigma-XL-2-1024-MS.pth", "pixart"),
        ("v1-5-pruned-emaonly.safetensors", "sd15"),
        ("sd-v1-4.ckpt", "sd15"),
        ("v2-1_768-ema-pruned.safetensors", "sd21"),
        # Honest: these say nothing about their base, so they stay unknown.
        ("dreamshaper_8.safetensors", "unknown"),
        ("realisticVisionV51_v51VAE.safetensors", "unknown"),
        ("epicrealism_v20.safetensors", "unknown"),
        ("/home/alexl/models/model.safetensors", "unknown"),
        ("", "unknown"),
        (None, "unknown"),
    ],
)
def test_family_table(name: str | None, family: str):
    assert family_from_name(name) == family


def test_size_is_only_a_marked_hint():
    guess = guess_family("mystery.safetensors", width=1024, height=1024)
    assert (guess.family, guess.certain) == ("sdxl", False)
    assert guess_family("mystery.safetensors", width=832, height=1216).family == "sdxl"
    assert guess_family("mystery.safetensors", width=512, height=512).family == "unknown"
    assert guess_family(None).family == "unknown"
    sure = guess_family("v1-5-pruned-emaonly", width=1024, height=1024)
    assert (sure.family, sure.certain) == ("sd15", True)  # the name wins over the size
    stated = guess_family("x", loader_type="flux")
    assert (stated.family, stated.certain) == ("flux", True)


def test_reference_figures_carry_their_source():
    assert REFERENCES["sdxl"].wh_per_image == 1.64
    assert REFERENCES["sd21"].wh_per_image == 0.53
    assert REFERENCES["sdxl-turbo"].wh_per_image == 0.39
    assert REFERENCES["sd15"].wh_per_image == 0.20
    assert "H100" in REFERENCES["sdxl"].source and REFERENCES["sdxl"].url.startswith("https://")
    assert reference_for("flux").wh_per_image == 2.907  # no family figure: the all-model average


def test_comparison_sentence_in_english():
    text = comparison_sentence(1.93, "sdxl", steps=30, width=1024, height=1024)
    assert text.startswith("1.9\u00a0Wh per SDXL image — the public H100 reference is 1.64\u00a0Wh.")
    assert "30 steps at 1024×1024" in text
    assert "GPU and CPU" in text and "H100" in text  # says why the figures differ

    guessed = comparison_sentence(0.8, "sdxl", certain=False)
    assert guessed.startswith("0.80\u00a0Wh per image (probably SDXL, judging by the image size)")

    unknown = comparison_sentence(2.2, "unknown")
    assert "Luccioni" in unknown and "2.91\u00a0Wh" in unknown and "order of magnitude" in unknown

    gpu_only = comparison_sentence(1.0, "sd21", includes_cpu=False)
    assert "GPU and CPU" not in gpu_only and "0.53\u00a0Wh" in gpu_only


def test_comparison_sentence_in_french():
    i18n.set_language("fr")
    text = comparison_sentence(1.93, "sdxl", steps=30, width=1024, height=1024)
    assert text.startswith(
        "1,9\u00a0Wh par image SDXL — la référence publique sur H100 est de 1,64\u00a0Wh. Ici\u00a0:"
    )
    assert "30 étapes en 1024×1024" in text
    assert "GPU et CPU" in text
    assert "Luccioni" in comparison_sentence(3.0, None)
