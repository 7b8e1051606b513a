"""Helpers for `benchmarks/compare.py`: the fake driver outside pytest, the traces, the tool
runners (tiny scripts run by each tool's own interpreter), process accounting and the report."""
