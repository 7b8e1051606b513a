"""Which model family made an image, and what the public reference figures say about it.

The family comes from what the tool tells us about the model: its file name, the kind of loader
ComfyUI used, or, as a last and weaker hint, the image size. A name that matches no rule stays
"unknown": guessing a family would put a wrong reference figure beside a real measurement.

Reference figures (Wh per image):
- AI Energy Score (Hugging Face), text-to-image task, measured on an NVIDIA H100, GPU energy
  only, model defaults: https://huggingface.co/spaces/AIEnergyScore/Leaderboard
- Luccioni, Jernite, Strubell, "Power Hungry Processing: Watts Driving the Cost of AI
  Deployment?", FAccT 2024 (arXiv:2311.16863): image generation averaged 2.907 kWh per 1000
  inferences across the models they measured.
- ML.ENERGY leaderboard (Zeus), text-to-image at batch 1 on an A100 40 GB, GPU energy only:
  https://ml.energy/leaderboard. Its figures are well below AI Energy Score's for the same
  models: hardware, steps and image size differ, which is why every figure is shown with its
  source, hardware and date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypedDict

from tray_app.system.i18n import _

SD15 = "sd15"
SD21 = "sd21"
SD_TURBO = "sd-turbo"
SDXL = "sdxl"
SDXL_TURBO = "sdxl-turbo"
SD3 = "sd3"
FLUX = "flux"
PIXART = "pixart"
UNKNOWN = "unknown"

FAMILIES = (SD15, SD21, SD_TURBO, SDXL, SDXL_TURBO, SD3, FLUX, PIXART, UNKNOWN)

# Product names: shown as they are in every language.
LABELS = {
    SD15: "SD 1.5",
    SD21: "SD 2.1",
    SD_TURBO: "SD-Turbo",
    SDXL: "SDXL",
    SDXL_TURBO: "SDXL-Turbo",
    SD3: "SD 3",
    FLUX: "Flux",
    PIXART: "PixArt",
}

_XL = r"(?:sdxl|sd_xl|sd-xl|xl(?=[^a-z]|v\d|$)|pony|illustrious|noobai|animagine|playground)"
_FAST = r"(?:turbo|lightning|hyper[-_]?sd|lcm|dmd2)"

# Ordered: the first rule that matches wins, most specific first.
_NAME_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), family)
    for pattern, family in (
        (r"flux", FLUX),
        (r"sd3|sd_3|sd-3|stable[-_ ]?diffusion[-_ ]?3|sd35|sd_?3\.5", SD3),
        (r"pixart", PIXART),
        (rf"{_XL}.*{_FAST}|{_FAST}.*{_XL}", SDXL_TURBO),
        (_XL, SDXL),
        (r"sd[-_]?turbo", SD_TURBO),
        # Official file names only ("v2-1_768-ema-pruned", "v1-5-pruned-emaonly"): community
        # checkpoints number their own versions "v15", "v21"… which say nothing of the base.
        (r"(?:^|[^a-z0-9])v2-[01][-_]|sd[-_ ]?2[-_.]?[01](?![0-9])|768-v-ema|512-base-ema", SD21),
        (r"(?:^|[^a-z0-9])v1-[45][-_]|sd[-_ ]?v?1[-_.]?[45](?![0-9])", SD15),
    )
)

# ComfyUI's CLIP loaders state the architecture outright (DualCLIPLoader "type": "flux").
_LOADER_TYPES = {"sdxl": SDXL, "sd3": SD3, "flux": FLUX, "stable_diffusion": SD15}


@dataclass(frozen=True, slots=True)
class ImageMeta:
    """What we keep about how one image was made: never the prompt, never a full path."""

    model_name: str | None = None  # the model's file name, folders stripped
    # What the tool's own data says the family is (file name with its folders, a loader's
    # stated architecture); None when it says nothing. The size hint is applied later.
    family: str | None = None
    width: int | None = None
    height: int | None = None
    steps: int | None = None
    sampler: str | None = None  # the sampler's name as the tool writes it ("euler", "DPM++ 2M")
    batch: int | None = None  # images asked for at once, when the tool says


def sampler_name(value: object) -> str | None:
    """A sampler name fit to show and group by: short, one line, or None."""
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())[:60]
    return text or None


def positive_int(value: object) -> int | None:
    """A positive whole number from JSON or text (a ComfyUI link `["4", 0]` is not one)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, float) and value.is_integer() and value > 0:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip()) or None
    return None


def model_file_name(value: object) -> str | None:
    """The bare file name of a model reference ("SDXL\\juggernaut.safetensors" -> "juggernaut…")."""
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().replace("\\", "/").rsplit("/", 1)[-1][:200] or None


@dataclass(frozen=True, slots=True)
class FamilyGuess:
    family: str
    certain: bool  # False when only the image size hinted at it


@dataclass(frozen=True, slots=True)
class Reference:
    family: str
    wh_per_image: float
    model: str  # the model the figure was measured on
    source: str
    url: str
    # Shown beside the figure, because figures differ several-fold between benchmarks for one
    # model: what it was measured on, when it was published, and with how many steps.
    hardware: str = ""
    published: str = ""
    steps: int | None = None
    gpu_only: bool = True


AI_ENERGY_SCORE = "AI Energy Score (Hugging Face), NVIDIA H100, GPU only"
AI_ENERGY_SCORE_URL = "https://huggingface.co/spaces/AIEnergyScore/Leaderboard"

class _Bench(TypedDict):
    hardware: str
    published: str


_AES: _Bench = {"hardware": "NVIDIA H100", "published": "2025"}
REFERENCES: dict[str, Reference] = {
    SDXL: Reference(
        SDXL, 1.64, "stabilityai/stable-diffusion-xl-base-1.0", AI_ENERGY_SCORE,
        AI_ENERGY_SCORE_URL, **_AES,
    ),
    SD21: Reference(
        SD21, 0.53, "stabilityai/stable-diffusion-2-1", AI_ENERGY_SCORE, AI_ENERGY_SCORE_URL,
        **_AES,
    ),
    SDXL_TURBO: Reference(
        SDXL_TURBO, 0.39, "stabilityai/sdxl-turbo", AI_ENERGY_SCORE, AI_ENERGY_SCORE_URL, **_AES
    ),
    SD15: Reference(
        SD15, 0.20, "SD 1.5-class models", AI_ENERGY_SCORE, AI_ENERGY_SCORE_URL, **_AES
    ),
}  # fmt: skip

# ML.ENERGY leaderboard (Zeus), text-to-image at batch 1, GPU energy only, on an A100 40 GB.
ML_ENERGY = "ML.ENERGY leaderboard"
ML_ENERGY_URL = "https://ml.energy/leaderboard"
_MLE: _Bench = {"hardware": "NVIDIA A100 40 GB", "published": "2024"}
OTHER_REFERENCES: tuple[Reference, ...] = (
    Reference(SDXL, 0.60, "stabilityai/stable-diffusion-xl-base-1.0", ML_ENERGY, ML_ENERGY_URL,
              steps=50, **_MLE),
    Reference(SD21, 0.24, "stabilityai/stable-diffusion-2-1", ML_ENERGY, ML_ENERGY_URL, **_MLE),
    Reference(SDXL_TURBO, 0.14, "stabilityai/sdxl-turbo", ML_ENERGY, ML_ENERGY_URL, **_MLE),
)  # fmt: skip

# Luccioni et al. 2024: 2.907 kWh per 1000 images = 2.907 Wh per image, all models averaged.
AVERAGE_REFERENCE = Reference(
    UNKNOWN,
    2.907,
    "average of the image-generation models measured",
    "Luccioni, Jernite, Strubell, Power Hungry Processing (FAccT 2024)",
    "https://arxiv.org/abs/2311.16863",
    hardware="NVIDIA A100 80 GB",
    published="2024",
)


def published_references(family: str | None) -> list[Reference]:
    """Every published figure we know for a family, lowest first; the all-model average when
    none is known. Shown together: no single figure is "the" cost of a model."""
    refs = [r for r in (REFERENCES.get(family or UNKNOWN), *OTHER_REFERENCES) if r is not None]
    refs = [r for r in refs if r.family == family]
    return sorted(refs, key=lambda r: r.wh_per_image) or [AVERAGE_REFERENCE]


def family_from_name(name: str | None) -> str:
    """The family a model file name points to, or "unknown"."""
    if not name:
        return UNKNOWN
    parts = name.lower().replace("\\", "/").split("/")
    # The file name speaks first; then the folders a ComfyUI user sorted models into
    # ("SDXL/foo.safetensors"), but never those of an absolute path (a home dir named "alexl").
    candidates = [parts[-1]]
    if not name.startswith(("/", "\\")) and ":" not in name:
        candidates += reversed(parts[:-1])
    for text in candidates:
        for pattern, family in _NAME_RULES:
            if pattern.search(text):
                return family
    return UNKNOWN


def family_from_loader_type(clip_type: str | None) -> str:
    """The family a ComfyUI CLIP loader's `type` input names ("sdxl", "sd3", "flux"…)."""
    return _LOADER_TYPES.get((clip_type or "").lower(), UNKNOWN)


def guess_family(
    name: str | None,
    loader_type: str | None = None,
    width: int | None = None,
    height: int | None = None,
) -> FamilyGuess:
    """Best honest guess: the name first, then the loader, then (marked uncertain) the size.

    Only a ~1 megapixel image with an unreadable name hints at SDXL: it is SDXL's native size
    and SD 1.5/2.1 struggle there. Anything else stays unknown.
    """
    family = family_from_name(name)
    if family != UNKNOWN:
        return FamilyGuess(family, True)
    family = family_from_loader_type(loader_type)
    if family != UNKNOWN:
        return FamilyGuess(family, True)
    if width and height and 0.85e6 <= width * height <= 1.25e6:
        return FamilyGuess(SDXL, False)
    return FamilyGuess(UNKNOWN, False)


def stated_family(model_ref: str | None, loader_type: str | None = None) -> str | None:
    """The family a tool's own data states (model reference with folders, then loader type)."""
    family = family_from_name(model_ref)
    if family == UNKNOWN:
        family = family_from_loader_type(loader_type)
    return None if family == UNKNOWN else family


def reference_for(family: str | None) -> Reference:
    """The public figure for a family, else the all-model average."""
    return REFERENCES.get(family or UNKNOWN, AVERAGE_REFERENCE)


def _number(value: float, decimals: int) -> str:
    from tray_app.system.fmt import number

    return number(value, decimals)


def comparison_sentence(
    wh_per_image: float,
    family: str | None,
    *,
    certain: bool = True,
    steps: int | None = None,
    width: int | None = None,
    height: int | None = None,
    includes_cpu: bool = True,
) -> str:
    """One to three translated sentences setting our Wh per image beside the public reference.

    Always says why the two differ: their figure is the GPU alone on an H100 with the model's
    default settings (or an average over many models on data-centre GPUs); ours is what this
    machine drew, with the user's own steps and size. `includes_cpu` says whether our figure
    counts the CPU too.
    """
    ours = _number(wh_per_image, 2 if wh_per_image < 1 else 1)
    ref = reference_for(family)
    theirs = _number(ref.wh_per_image, 2)
    label = LABELS.get(family or UNKNOWN)
    parts: list[str] = []
    if ref.family == UNKNOWN or label is None:
        parts.append(
            _(
                "{ours} Wh per image — the average across the image models measured by "
                "Luccioni et al. (2024) is {theirs} Wh."
            ).format(ours=ours, theirs=theirs)
        )
    elif certain:
        parts.append(
            _("{ours} Wh per {model} image — the public H100 reference is {theirs} Wh.").format(
                ours=ours, model=label, theirs=theirs
            )
        )
    else:
        parts.append(
            _(
                "{ours} Wh per image (probably {model}, judging by the image size) — the "
                "public H100 reference for {model} is {theirs} Wh."
            ).format(ours=ours, model=label, theirs=theirs)
        )
    if steps and width and height:
        parts.append(
            _("Here: {steps} steps at {width}×{height}.").format(
                steps=steps, width=width, height=height
            )
        )
    if ref.family == UNKNOWN or label is None:
        parts.append(
            _(
                "Theirs averages many models on data-centre GPUs; ours is this machine, this "
                "model and your settings, so take it as an order of magnitude."
            )
        )
    elif includes_cpu:
        parts.append(
            _(
                "Theirs counts the GPU alone on a data-centre H100 with default settings; ours "
                "is what this machine drew (GPU and CPU) with your own settings, so expect a "
                "difference."
            )
        )
    else:
        parts.append(
            _(
                "Theirs was measured on a data-centre H100 with default settings; ours on this "
                "machine's GPU with your own settings, so expect a difference."
            )
        )
    return " ".join(parts)
