"""The comparison harness (benchmarks/compare.py), with our monitor and the plain NVML loop only:
no peer venv is needed. The full comparison is run by hand; this keeps its plumbing honest."""

from __future__ import annotations

import pytest

from benchmarks.compare_lib.harness import ToolResult
from benchmarks.compare_lib.report import summary_table, trace_table


def test_a_tool_that_could_not_run_or_reports_nothing_keeps_its_row():
    rows = [
        ToolResult("ours", "Ours", "steady", reported_j=100.0, truth_j=100.0, cpu_window_s=0.1,
                   span_s=10.0, cpu_total_s=0.5, peak_rss_bytes=30 << 20, window_s=10.0),
        ToolResult("zeus", "Zeus", "steady", error="ValueError: no power domain", cpu_total_s=1.0,
                   peak_rss_bytes=150 << 20),
        ToolResult("codecarbon-15", "CodeCarbon", "steady", reported_j=0.0, truth_j=90.0,
                   cpu_window_s=1.0, span_s=10.0, window_s=9.0),
    ]
    table = "\n".join(trace_table(rows))
    assert "could not run: ValueError: no power domain" in table
    assert "**reports 0 Wh**" in table
    assert "5.0×" in table  # Zeus's memory beside ours
    summary = "\n".join(summary_table(rows, ["steady"]))
    assert summary.count("\n") == 1 + 3  # header, rule, one line per tool


@pytest.mark.slow
def test_the_harness_measures_our_monitor_and_a_1hz_loop_against_the_truth(tmp_path):
    from benchmarks.compare_lib.fake_driver import build_library, write_fake_smi
    from benchmarks.compare_lib.harness import run_trace
    from benchmarks.compare_lib.traces import TRACES

    library = build_library(tmp_path / "lib")
    write_fake_smi(tmp_path / "bin")
    ours, loop, idle = run_trace(TRACES["spikes"], ["ours", "nvml-1hz"], duration_s=4.0,
                                 lead_s=2.5, work=tmp_path / "run", library=library,
                                 smi_dir=tmp_path / "bin", pythons={})
    assert ours.error is None, ours.error
    assert ours.method == "counter"
    assert ours.error_pct == pytest.approx(0.0, abs=0.1)
    assert ours.window_s == pytest.approx(4.0, abs=0.6)
    assert ours.extra["cli_returncode"] == 0  # the plain CLI ran its course
    assert 0 < ours.cpu_total_s < 5.0
    assert ours.peak_rss_bytes > 10 << 20
    # Our CLI with no tool running (the idle cadence) gets a row of its own, overhead only.
    assert idle.tool == "ours-idle" and idle.returncode == 0 and idle.reported_j is None
    assert 0 < idle.cpu_total_s < 5.0
    # Once-a-second reads of an instantaneous value land on the same phase of the spikes.
    assert loop.error is None, loop.error
    assert abs(loop.error_pct) > 20.0
