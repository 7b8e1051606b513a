"""Energy per generation: windows, integration from a session's samples, batches, and the two
done-when checks (ComfyUI prompts within 2 % of the truth; A1111 windows add up)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.fixtures.fake_comfyui import FakeComfyUI
from tests.images import A1111_PARAMETERS, png_bytes, text_chunk, write
from tray_app.images.counter import ImageCounter, Unit
from tray_app.images.models import ImageMeta
from tray_app.sessions.generations import (
    APPROXIMATE,
    EXACT,
    GenerationRecorder,
    group_batches,
    integrate_window,
)
from tray_app.store import Store
from tray_app.store.codec import intervals, quantise

CPU_W = 20.0


class Trace:
    """A GPU power trace made of steps: [(seconds, watts, active)], from `t0`."""

    def __init__(self, t0: float, steps: list[tuple[float, float, bool]]) -> None:
        self.t0 = t0
        self.steps = steps

    def _at(self, t: float) -> tuple[float, bool]:
        x = t - self.t0
        for seconds, watts, active in self.steps:
            if x < seconds:
                return watts, active
            x -= seconds
        return self.steps[-1][1], self.steps[-1][2]

    def joules(self, a: float, b: float, n: int = 20000) -> float:
        edges = [self.t0]
        for seconds, _w, _a in self.steps:
            edges.append(edges[-1] + seconds)
        total = 0.0
        for (lo, hi), (_s, watts, _a) in zip(zip(edges, edges[1:], strict=False), self.steps, strict=False):
            overlap = max(0.0, min(hi, b) - max(lo, a))
            total += overlap * watts
        return total

    def end(self) -> float:
        return self.t0 + sum(s for s, _w, _a in self.steps)

    def samples(self, phase: float = 0.37, period: float = 1.0) -> list[tuple]:
        """What the tracker stores: one (ts, gpu_w, cpu_w, active) per snapshot, the power read
        at that instant, 0.1 W steps and 10 ms timestamps as packed."""
        out = []
        t = self.t0 + phase
        while t < self.end():
            watts, active = self._at(t)
            out.append(quantise((t, watts, CPU_W, int(active))))
            t += period
        return out


def test_an_exact_window_holds_the_power_step_at_its_edges():
    trace = Trace(1000.0, [(5, 40, False), (7.3, 300, True), (5, 40, False)])
    samples = trace.samples(phase=0.9)
    energy = integrate_window(samples, 1005.0, 1012.3, hold_edges=True)
    assert energy.gpu_wh * 3600 == pytest.approx(trace.joules(1005.0, 1012.3), rel=0.02)
    # Linear interpolation across the steps would smear idle power into the prompt.
    smeared = integrate_window(samples, 1005.0, 1012.3)
    assert abs(smeared.gpu_wh * 3600 - 300 * 7.3) > abs(energy.gpu_wh * 3600 - 300 * 7.3)
    assert energy.cpu_wh * 3600 == pytest.approx(CPU_W * 7.3, rel=0.02)


def test_unknown_power_is_none_not_zero_and_gaps_are_not_filled():
    samples = [(0.0, None, 5.0, 1), (1.0, None, 5.0, 1), (2.0, None, 5.0, 1)]
    energy = integrate_window(samples, 0.0, 2.0)
    assert energy.gpu_wh is None and energy.cpu_wh == pytest.approx(10 / 3600)
    gap = [(0.0, 100.0, 0.0, 1), (30.0, 100.0, 0.0, 1)]  # monitor asleep in between
    assert integrate_window(gap, 0.0, 30.0).gpu_wh is None


NO_META = ImageMeta()


def _units(*ends: float, meta: ImageMeta = NO_META, source: str = "folders") -> list[Unit]:
    return [Unit(f"k{i}-{end}", end, 1, meta, source=source) for i, end in enumerate(ends)]


def test_images_saved_together_are_one_batch():
    groups = group_batches(_units(10.0, 10.4, 10.9, 11.3, 30.0))
    assert [len(g) for g in groups] == [4, 1]
    other = ImageMeta(steps=40)
    mixed = _units(10.0, meta=ImageMeta(steps=20)) + [Unit("x", 10.5, 1, other)]
    assert [len(g) for g in group_batches(mixed)] == [1, 1]  # different settings, not a batch


def test_approximate_windows_skip_idle_time_and_wait_for_batch_mates():
    trace = Trace(0.0, [(2, 30, False), (10, 250, True), (20, 30, False), (8, 250, True),
                        (5, 30, False)])  # fmt: skip
    samples = trace.samples()
    rec = GenerationRecorder(7, "a1111", 0.0)
    units = _units(12.0, 12.5, 40.0)
    # At 45 s the last image is 5 s old: it may still get batch mates, so it waits.
    first = rec.collect(units, 45.0, lambda a, b: samples)
    assert [(g.images, g.batch, g.window) for g in first] == [(2, 2, APPROXIMATE)]
    assert first[0].start_ts == pytest.approx(2.37, abs=0.02)  # first activity, not t=0
    assert rec.collect(units, 45.0, lambda a, b: samples) == []  # nothing twice
    [second] = rec.collect(units, 60.0, lambda a, b: samples)
    # The 20 s pause at 30 W between the two (600 J) is not charged to the second image; what
    # is, is its 8 s of work, to the resolution of 1 s samples.
    assert second.gpu_wh * 3600 == pytest.approx(8 * 250, rel=0.1)
    assert second.start_ts == pytest.approx(32.37, abs=0.02)


def test_an_image_saved_before_the_session_has_unknown_energy():
    samples = Trace(100.0, [(20, 200, True)]).samples()
    rec = GenerationRecorder(1, "a1111", 100.0)
    [g] = rec.collect(_units(95.0), 200.0, lambda a, b: samples)
    assert g.total_wh is None and g.wh_per_image is None


# ---- done when: ComfyUI prompts ---------------------------------------------------------------


@pytest.mark.parametrize("phase", [0.02, 0.61, 0.98])
def test_each_comfyui_prompt_is_within_2_percent_of_the_trace(fake_comfyui: FakeComfyUI, phase: float):
    """A ComfyUI-shaped server with known timestamps, a power trace that steps per prompt."""
    t0 = round(time.time()) - 200.0
    idle = 35.0
    prompts = [(6.0, 280.0, 20), (9.5, 310.0, 30), (4.2, 240.0, 15), (12.8, 330.0, 40)]
    steps: list[tuple[float, float, bool]] = [(3.3, idle, False)]
    windows = []
    t = t0 + 3.3
    for seconds, watts, n_steps in prompts:
        steps.append((seconds, watts, True))
        windows.append((t, t + seconds, n_steps))
        t += seconds
        steps.append((2.7, idle, False))
        t += 2.7
    trace = Trace(t0, steps)
    for start, end, n_steps in windows:
        fake_comfyui.add_prompt(end, started_at=start, steps=n_steps)
    with Store.open(":memory:") as store:
        sid = store.open_session("comfyui", "python3", [1], [0], t0)
        store.add_samples(sid, trace.samples(phase=phase))
        counter = ImageCounter.for_tool("comfyui", None, fake_comfyui.port, t0 - 60)
        count = counter.poll(t0, time.time())
        rec = GenerationRecorder(sid, "comfyui", t0)
        made = rec.collect(count.units, time.time(), lambda a, b: store.session_samples(sid, a, b))
        store.add_generations(g.fields() for g in made)
        rows = store.list_generations(session_id=sid, oldest_first=True)
    assert [r["window"] for r in rows] == [EXACT] * 4
    for row, (start, end, n_steps) in zip(rows, windows, strict=True):
        # ComfyUI states milliseconds.
        assert (row["start_ts"], row["end_ts"]) == (pytest.approx(start, abs=0.001), pytest.approx(end, abs=0.001))
        truth_wh = trace.joules(start, end) / 3600
        assert row["gpu_wh"] == pytest.approx(truth_wh, rel=0.02), (row, truth_wh)
        assert row["steps"] == n_steps and row["model_family"] == "sdxl"
        assert row["wh_per_image"] == pytest.approx(row["total_wh"])


# ---- done when: A1111 output folder -----------------------------------------------------------


def test_a1111_windows_add_up_to_the_sessions_active_energy(tmp_path: Path):
    t0 = round(time.time()) - 300.0
    # Work, a batch of 2 saved, a pause, work, one image, a long pause, work, a batch of 3.
    steps = [(1.5, 30, False), (14, 260, True), (25, 30, False), (9, 255, True),
             (60, 28, False), (20, 265, True), (30, 29, False)]  # fmt: skip
    trace = Trace(t0, steps)
    saves = [(t0 + 15.5, 2), (t0 + 49.5, 1), (t0 + 129.5, 3)]
    day = tmp_path / "stable-diffusion-webui" / "outputs" / "txt2img-images" / "2026-12-01"
    params = png_bytes(texts=[text_chunk("parameters", A1111_PARAMETERS)])
    n = 0
    for when, count in saves:
        for i in range(count):
            path = write(day / f"{n:05}-{i}.png", params)
            os.utime(path, (when + 0.3 * i, when + 0.3 * i))
            n += 1
    samples = trace.samples(phase=0.25)
    active_wh = sum(
        (g or 0) + (c or 0) for _t, _dt, g, c, active, _gap in intervals(samples) if active
    )
    with Store.open(":memory:") as store:
        sid = store.open_session("a1111", "python3", [1], [0], t0)
        store.add_samples(sid, samples)
        counter = ImageCounter.for_tool("a1111", tmp_path / "stable-diffusion-webui", None, t0 - 1)
        count = counter.poll(t0, time.time())
        assert count.images == 6
        rec = GenerationRecorder(sid, "a1111", t0)
        made = rec.collect(count.units, time.time(), lambda a, b: store.session_samples(sid, a, b))
        store.add_generations(g.fields() for g in made)
        rows = store.list_generations(session_id=sid, oldest_first=True)
    assert [(r["images"], r["window"]) for r in rows] == [(2, APPROXIMATE), (1, APPROXIMATE), (3, APPROXIMATE)]
    assert sum(r["total_wh"] for r in rows) == pytest.approx(active_wh, rel=0.001)
    # Each window starts at the first activity after the previous save.
    assert [r["start_ts"] - t0 for r in rows] == pytest.approx([2.25, 41.25, 110.25], abs=0.05)
    first = rows[0]
    assert (first["model_name"], first["steps"], first["sampler"], first["width"], first["height"]) == (
        "sd_xl_base_1.0", 30, "DPM++ 2M", 832, 1216)
    assert first["batch"] == 2


# ---- overlaps and older ComfyUI ---------------------------------------------------------------


def test_two_tools_working_at_once_share_each_generations_energy_as_attributed():
    """Two tools on one GPU over the same window: each generation is integrated from its own
    session's samples, which hold only that session's share, so the two add up to the GPU once."""
    from tests.test_sessions import Rig
    from tray_app.sessions.tracker import ToolSeen

    rig = Rig()
    rig.tools(ToolSeen(tool="comfyui", label="ComfyUI", pid=1), ToolSeen(tool="a1111", label="A1111", pid=2))
    rig.idle(seconds=5)
    rig.work(watts=300.0, seconds=20)
    rig.idle(seconds=5)
    start, end = 1_000_000 + 6.0, 1_000_000 + 26.0  # the work, as both tools saw it
    shares = []
    for sid in (1, 2):
        rec = GenerationRecorder(sid, rig.store.sessions[sid]["tool"], 1_000_000.0)
        unit = Unit(f"u{sid}", end, 1, NO_META, start, source="comfyui-api")
        [g] = rec.collect([unit], end + 10, lambda a, b, sid=sid: rig.store.samples[sid])
        shares.append(g.gpu_wh)
    # The GPU once, not twice (within one 1 s sample of edge: the rig's step falls between two).
    assert sum(shares) == pytest.approx(300 * 20 / 3600, rel=0.03)
    assert shares[0] == pytest.approx(shares[1], rel=0.01)  # split as the tracker attributed it


def test_an_older_comfyui_without_timestamps_gives_approximate_windows(fake_comfyui: FakeComfyUI):
    t0 = round(time.time()) - 100.0
    trace = Trace(t0, [(3, 30, False), (20, 280, True), (30, 30, False), (15, 300, True), (40, 30, False)])
    samples = trace.samples()
    counter = ImageCounter.for_tool("comfyui", None, fake_comfyui.port, t0 - 60)
    rec = GenerationRecorder(9, "comfyui", t0)
    assert counter.poll(t0, t0 + 1).images == 0  # first look: nothing yet
    fake_comfyui.add_prompt(None, steps=20)  # finished since: no timestamps to say when
    count = counter.poll(t0, t0 + 25)  # our next look, 24 s later
    [unit] = count.units
    assert unit.start_ts is None and unit.end_ts == t0 + 25 and unit.after_ts == t0 + 1
    [g] = rec.collect(count.units, t0 + 60, lambda a, b: samples)
    assert g.window == APPROXIMATE
    # From the session's first activity to the look that saw it, active time only.
    assert g.start_ts == pytest.approx(t0 + 3.37, abs=0.05) and g.end_ts == t0 + 25
    assert g.gpu_wh * 3600 == pytest.approx(280 * 20, rel=0.06)


def test_a_prompt_that_began_before_the_session_was_noticed_has_unknown_energy():
    samples = Trace(100.0, [(30, 250, True)]).samples()  # the session opened at 100 s
    rec = GenerationRecorder(1, "comfyui", 100.0)
    early = Unit("early", 112.0, 1, NO_META, 90.0, source="comfyui-api")  # began at 90 s
    inside = Unit("inside", 125.0, 1, NO_META, 113.0, source="comfyui-api")
    got = {g.key: g for g in rec.collect([early, inside], 200.0, lambda a, b: samples)}
    assert got["early"].total_wh is None and got["early"].wh_per_image is None  # not 12 s of 22
    assert got["inside"].gpu_wh * 3600 == pytest.approx(250 * 12, rel=0.02)
