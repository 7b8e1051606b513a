"""The user's own evidence for a tip: where their generations show that a setting costs more.

"Your 40-step SDXL images cost 2.1 Wh, your 20-step ones 1.1 Wh" is worth more than any
published figure: same machine, same model, same size, only the steps differ. Pure: works on the
groups of tray_app.store.generations.groups().
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tray_app.store.generations import Group

MIN_GENERATIONS = 5  # per side: fewer is an anecdote, not the user's habit
MIN_RATIO = 1.3  # a smaller gap is within what model loading and warm-up can blur
RECENT_DAYS = 30  # the habits worth a tip are today's, not last year's


@dataclass(frozen=True, slots=True)
class StepsContrast:
    """Same model family and image size, two step counts, a clear difference per image."""

    family: str
    width: int | None
    height: int | None
    steps_high: int
    wh_high: float  # median Wh per image
    count_high: int
    steps_low: int
    wh_low: float
    count_low: int

    @property
    def key(self) -> str:
        """Said once per session: the same comparison is not repeated under every reminder."""
        return f"steps:{self.family}:{self.steps_high}:{self.steps_low}"

    @property
    def ratio(self) -> float:
        return self.wh_high / self.wh_low


def steps_contrast(groups: Iterable[Group]) -> StepsContrast | None:
    """The best-supported clear difference between two step counts of one model at one size:
    of the pairs at least MIN_RATIO apart with MIN_GENERATIONS each, the most used."""
    by_setting: dict[tuple[str, int | None, int | None], list[Group]] = {}
    for g in groups:
        if (
            g.family
            and g.family != "unknown"
            and g.steps
            and g.median_wh_per_image
            and g.count >= MIN_GENERATIONS
        ):
            by_setting.setdefault((g.family, g.width, g.height), []).append(g)
    best: tuple[int, StepsContrast] | None = None
    for (family, width, height), gs in by_setting.items():
        for hi in gs:
            for lo in gs:
                if hi.steps <= lo.steps:  # type: ignore[operator]
                    continue
                wh_hi, wh_lo = hi.median_wh_per_image, lo.median_wh_per_image
                assert wh_hi is not None and wh_lo is not None
                if wh_hi < MIN_RATIO * wh_lo:
                    continue
                support = min(hi.count, lo.count)
                if best is None or support > best[0]:
                    best = (support, StepsContrast(
                        family, width, height, hi.steps, wh_hi, hi.count,  # type: ignore[arg-type]
                        lo.steps, wh_lo, lo.count,  # type: ignore[arg-type]
                    ))  # fmt: skip
    return best[1] if best else None
