"""ProcessCpu's Linux path (kept-open /proc files) agrees with psutil and forgets exited tools."""

from __future__ import annotations

import subprocess
import sys

import psutil
import pytest

from tray_app.measure.processes import ProcessCpu, machine_seconds

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@linux
def test_the_kept_open_proc_files_read_what_psutil_reads():
    busy_loop = subprocess.Popen([sys.executable, "-c", "import time\nt = time.process_time()\n"
                                  "while time.process_time() - t < 0.3: pass\nimport time; time.sleep(30)"])
    try:
        probe = ProcessCpu()
        probe.watch([busy_loop.pid])
        first = probe.read()
        proc = psutil.Process(busy_loop.pid)
        t = proc.cpu_times()
        expected = t.user + t.system + t.children_user + t.children_system
        busy, total = machine_seconds(psutil.cpu_times())
        assert first is not None
        assert first.by_pid[busy_loop.pid] == pytest.approx(expected, abs=0.05)
        assert first.busy_s == pytest.approx(busy, rel=0.01) and first.total_s == pytest.approx(total, rel=0.01)
    finally:
        busy_loop.kill()
        busy_loop.wait()
    after = probe.read()
    assert after is None or busy_loop.pid not in after.by_pid  # exited: forgotten, never reused
    assert busy_loop.pid not in probe.watched
    probe.close()
