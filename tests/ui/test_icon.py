"""The live icon: legible rounded watts, calm-to-warm colour, painted once per shown state."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QImage

from tests.ui import status
from tray_app.ui.icon import (
    ACTIVE,
    IDLE,
    LEVEL_STEPS,
    PAUSED,
    IconCache,
    IconState,
    IconStateMaker,
    WattsDisplay,
    level_colour,
    level_for,
    watts_label,
)


@pytest.mark.parametrize(
    ("watts", "label"),
    [(None, "?"), (0.4, "0"), (7.6, "8"), (47.4, "47"), (99.4, "99"), (153.0, "150"),
     (249.0, "250"), (996.0, "1k"), (1234.0, "1.2k"), (12_345.0, "12k")],
)
def test_watts_label_has_two_significant_digits_and_says_unknown(watts, label):
    assert watts_label(watts) == label


def test_display_holds_its_value_while_the_reading_wobbles():
    display = WattsDisplay()
    assert display.update(150.0) == 150.0
    # 154.9 would round to 150, 155.1 to 160: a wobble across the boundary must not flicker.
    assert display.update(155.1) == 150.0
    assert display.update(154.9) == 150.0
    assert display.update(158.0) == 160.0  # a clear move is shown
    assert display.update(None) is None  # unknown is unknown, not the last value


def test_colour_eases_from_calm_to_warm_with_power():
    levels = [level_for(w, None) for w in (30, 100, 200, 300, 500)]
    assert levels == sorted(levels) and levels[0] == 0 and levels[-1] == LEVEL_STEPS - 1
    calm, warm = level_colour(0), level_colour(LEVEL_STEPS - 1)
    assert calm.green() > calm.red()  # teal
    assert warm.red() > warm.green()  # red


def test_budget_drives_the_colour_when_one_is_set():
    # 40 W is calm by power, but a budget 95 % used is warm.
    assert level_for(40.0, 0.95) == LEVEL_STEPS - 1
    assert level_for(400.0, 0.0) == 0


def test_state_maker_looks():
    maker = IconStateMaker(mask=False)
    assert maker.state_for(None).look == IDLE
    assert maker.state_for(status(with_session=False)).look == IDLE
    assert maker.state_for(status(paused=True)).look == PAUSED
    active = maker.state_for(status(gpu_w=250.0, cpu_w=35.0))
    assert (active.look, active.text) == (ACTIVE, "290")
    assert maker.state_for(status(gpu_w=None, cpu_w=None)).text == "?"


def test_each_state_is_painted_once(qapp):
    cache = IconCache()
    state = IconState(ACTIVE, "250", 3)
    first = cache.icon(state)
    painted = cache.paints
    assert painted > 0
    assert cache.icon(IconState(ACTIVE, "250", 3)) is first
    assert cache.paints == painted


def _opaque_pixels(image: QImage) -> int:
    return sum(
        1 for y in range(image.height()) for x in range(image.width())
        if image.pixelColor(x, y).alpha() > 200
    )


def test_icon_is_drawn_at_the_device_pixel_ratio(qapp):
    sharp = IconCache(device_pixel_ratio=2.0).pixmap(IconState(ACTIVE, "250", 0), 22)
    assert (sharp.width(), sharp.devicePixelRatio()) == (44, 2.0)


def test_badge_has_a_dark_rim_and_light_digits(qapp):
    """Readable on light and dark panels: dark outline pixels, white digits, coloured fill."""
    image = IconCache().pixmap(IconState(ACTIVE, "250", 0), 32).toImage()
    colours = [image.pixelColor(x, y) for y in range(32) for x in range(32)]
    opaque = [c for c in colours if c.alpha() > 200]
    assert any(c.lightness() < 60 for c in opaque), "no dark rim or halo"
    assert any(c.lightness() > 230 for c in opaque), "no light digits"
    teal = QColor("#14967f")
    assert any(abs(c.green() - teal.green()) < 12 and abs(c.red() - teal.red()) < 12 for c in opaque)


def test_mask_icon_is_black_only(qapp):
    icon = IconCache().icon(IconState(ACTIVE, "250", 5, mask=True))
    assert icon.isMask()
    image = icon.pixmap(32, 32).toImage()
    assert _opaque_pixels(image) > 0
    assert all(
        image.pixelColor(x, y).lightness() < 40
        for y in range(32) for x in range(32) if image.pixelColor(x, y).alpha() > 200
    )
