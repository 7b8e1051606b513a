"""The engine's scheduler and its parts, on a scripted GPU: what a user sees of a session."""

from __future__ import annotations

from tests.runtime.harness import history, scripted_engine, tool
from tray_app.config.file import save_settings
from tray_app.images.counter import ImageCount
from tray_app.runtime.images import ImageCounts


def test_a_tool_at_work_becomes_a_session_with_its_energy_and_a_reminder():
    save_settings({"reminders.session_wh": 1.0})  # 1 Wh: 12 s at 300 W
    engine, monitor, scanner, recorder = scripted_engine(60)
    scanner.running = [tool()]
    monitor.at(1, lambda: setattr(monitor, "gpu_w", 300.0))
    monitor.at(40, lambda: scanner.running.clear())  # the tool exits
    engine.run()
    [session], reminders = history()
    assert session["tool"] == "comfyui" and session["status"] == "complete"
    assert 2.0 <= session["gpu_wh"] <= 300 * 40 / 3600
    [reminder] = recorder.reminders
    assert reminder.rule == "session_energy" and reminder.values["threshold"] == 1.0
    assert [r["rule"] for r in reminders] == ["session_energy"]
    last = recorder.statuses[-1]
    assert last.session is None and last.open_sessions == 0
    assert last.today_wh >= session["gpu_wh"]


def test_the_tray_sees_the_open_session_and_today_s_total_each_tick():
    engine, monitor, scanner, recorder = scripted_engine(20)
    scanner.running = [tool()]
    monitor.gpu_w = 300.0
    engine.run()
    during = recorder.statuses[-1]
    assert during.session is not None and during.session.tool == "comfyui"
    assert during.today_wh >= during.session.total_wh > 0
    assert len(recorder.statuses) == 20


class FakeWorker:
    def __init__(self, rounds: int = 100) -> None:
        self.jobs: list = []
        self.ready: dict | None = None
        self.rounds = rounds  # rounds it accepts; later ones find it busy

    def submit(self, jobs, dirs, now) -> bool:
        if len(self.jobs) >= self.rounds:
            return False
        self.jobs.append(list(jobs))
        return True

    def take(self):
        ready, self.ready = self.ready, None
        return ready

    def close(self) -> None:
        pass


def test_image_counts_arrive_later_and_join_the_session_they_were_asked_for():
    worker = FakeWorker()
    engine, monitor, scanner, _recorder = scripted_engine(40)
    engine.images = ImageCounts(lambda: worker)
    scanner.running = [tool()]
    monitor.gpu_w = 300.0
    # The first count is asked for at once; its answer arrives ten seconds later.
    monitor.at(10, lambda: setattr(worker, "ready", {("comfyui", 4242): ImageCount(12)}))
    engine.run()
    assert worker.jobs and worker.jobs[0][0].tool == "comfyui"
    [session], _ = history()
    assert session["images"] == 12


def test_a_count_for_a_session_that_closed_meanwhile_is_dropped():
    worker = FakeWorker(rounds=1)  # still busy with the first session's round afterwards
    engine, monitor, scanner, _recorder = scripted_engine(30)
    engine.images = ImageCounts(lambda: worker)
    scanner.running = [tool()]
    monitor.gpu_w = 300.0
    monitor.at(6, lambda: scanner.running.clear())  # closes at the next detection (5 s cadence)
    monitor.at(12, lambda: scanner.running.append(tool()))  # back: a new session, same key
    # The count asked for the first session arrives while the second is open: not its count.
    monitor.at(20, lambda: setattr(worker, "ready", {("comfyui", 4242): ImageCount(99)}))
    engine.run()
    assert [s["images"] for s in history()[0]] == [None, None]
