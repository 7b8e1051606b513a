"""Tiny stand-alone scripts, one per tool, each run by that tool's own interpreter.

Protocol: `python RUNNER --start T0 --duration S --out result.json [tool options]`. A runner
prepares its tool, sleeps until the monotonic time T0 (CLOCK_MONOTONIC is shared by all
processes on Linux), measures for S seconds and writes one JSON object: the energy the tool
reported, the monotonic times around its start and stop calls, and any error as text.
Only `ours_energy.py` imports this repository; the others import nothing from it.
"""
