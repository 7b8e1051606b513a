"""The image-count worker: counting never blocks the engine's thread, and a hung count is let go."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

from tray_app.images.counter import ImageCount
from tray_app.images.worker import CountJob, ImageCountWorker

JOB = CountJob(("comfyui", 4242), "comfyui", None, 8188, None, 1000.0)


class FakeCounter:
    def __init__(self, gate: threading.Event | None = None, images: int = 3) -> None:
        self.gate = gate
        self.images = images
        self.polls = 0

    def poll(self, session_start_ts: float, now: float) -> ImageCount:
        self.polls += 1
        if self.gate is not None:
            self.gate.wait()  # a tool that never answers
        return ImageCount(self.images)


def wait_for_counts(worker: ImageCountWorker, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    while (counts := worker.take()) is None:
        assert time.monotonic() < deadline, "no counts came back"
        time.sleep(0.01)
    return counts


def test_counts_come_back_at_a_later_tick_and_counters_are_kept_between_rounds():
    made: list[FakeCounter] = []

    def factory(job: CountJob, dirs: Sequence[Path]) -> FakeCounter:
        made.append(FakeCounter())
        return made[-1]

    worker = ImageCountWorker(factory)  # type: ignore[arg-type]
    assert worker.take() is None  # nothing asked yet
    assert worker.submit([JOB], [], time.time())
    assert wait_for_counts(worker) == {JOB.key: ImageCount(3)}
    assert worker.submit([JOB], [], time.time())
    wait_for_counts(worker)
    assert len(made) == 1 and made[0].polls == 2  # one counter per session key, reused


def test_a_hung_count_neither_blocks_the_caller_nor_is_waited_for_forever():
    gate = threading.Event()
    clock = [0.0]
    worker = ImageCountWorker(lambda job, dirs: FakeCounter(gate), deadline_s=30.0,  # type: ignore[arg-type, return-value]
                              max_stuck=2, clock=lambda: clock[0])
    try:
        start = time.monotonic()
        assert worker.submit([JOB], [], time.time())
        assert time.monotonic() - start < 0.1  # handing over does not wait for the tool
        assert worker.take() is None
        clock[0] = 10.0
        assert not worker.submit([JOB], [], time.time())  # still within its deadline: left alone
        clock[0] = 31.0
        assert worker.submit([JOB], [], time.time())  # past it: abandoned, a fresh round starts
        assert worker.abandoned == 1
        clock[0] = 62.0
        # Two threads now hang: counting pauses rather than piling up threads.
        assert not worker.submit([JOB], [], time.time())
        clock[0] = 93.0
        assert not worker.submit([JOB], [], time.time())
        assert worker.abandoned == 2
        assert len([t for t in threading.enumerate() if t.name == "image-count"]) == 2
    finally:
        gate.set()
    # Once the tool answers again, the threads end and counting resumes.
    deadline = time.monotonic() + 5
    while any(t.name == "image-count" for t in threading.enumerate()):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    clock[0] = 200.0
    assert worker.submit([JOB], [], time.time())
    assert wait_for_counts(worker) == {JOB.key: ImageCount(3)}


def test_a_failing_count_is_logged_and_counting_goes_on(caplog):
    def factory(job: CountJob, dirs: Sequence[Path]) -> FakeCounter:
        raise RuntimeError("boom")

    worker = ImageCountWorker(factory)  # type: ignore[arg-type]
    assert worker.submit([JOB], [], time.time())
    assert wait_for_counts(worker) == {}
    assert "image counting failed" in caplog.text
    assert worker.submit([JOB], [], time.time())
