"""The fake NVIDIA driver of the test suite, used outside pytest.

`tests/fixtures/fake_nvml.py` compiles the library inside a session fixture; this module calls
the same source with the same flags (it reuses the fixture's FAKE_SOURCE and VARIANTS) and
reuses its FakeNvml class to write the scenario and compute the exact ground truth.
"""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

from tests.fixtures.fake_nvml import FAKE_SOURCE, VARIANTS, FakeGpu, FakeNvml

LIBRARY_NAME = "libnvidia-ml.so.1"  # the name other tools load (dlopen by name)
MAX_SEGMENTS = 4096  # MAX_SEGMENTS in fake_nvml.c


def build_library(out_dir: Path, variant: str = "default") -> Path:
    """Compile the fake libnvidia-ml.so.1 into `out_dir` (skipped when already newer than the
    source) and return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    library = out_dir / LIBRARY_NAME
    if library.exists() and library.stat().st_mtime >= FAKE_SOURCE.stat().st_mtime:
        return library
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise RuntimeError("no C compiler (cc/gcc) to build the fake NVIDIA driver")
    cmd = [compiler, "-shared", "-fPIC", "-O2", "-Wall", "-o", str(library), str(FAKE_SOURCE),
           *VARIANTS[variant], "-lm", "-pthread"]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"building the fake NVML failed:\n{result.stderr}")
    return library


def make_rig(library: Path, rig_dir: Path, gpu: FakeGpu, anchor: float) -> FakeNvml:
    """A scenario for one GPU playing its trace from monotonic time `anchor`, written to disk."""
    if len(gpu.trace) > MAX_SEGMENTS:
        raise ValueError(f"{len(gpu.trace)} segments: the fake driver holds {MAX_SEGMENTS}; "
                         "use a shorter --duration")
    rig_dir.mkdir(parents=True, exist_ok=True)
    rig = FakeNvml(library=library, scenario_path=rig_dir / "scenario.txt", gpus=[gpu],
                   anchor=anchor)
    rig.write()
    return rig


# CodeCarbon 3.x decides "is there an NVIDIA GPU?" by running `nvidia-smi --help` (its
# core/gpu_nvidia.py, is_nvidia_system) before it looks at NVML; that is its only call.
_FAKE_SMI = """#!/bin/sh
# A stand-in nvidia-smi for benchmarks/compare.py: real tools only probe that it runs.
cat <<'TXT'
NVIDIA System Management Interface -- v{driver}

NVSMI provides monitoring information for Tesla and select Quadro devices.

Usage: nvidia-smi [OPTION1 [ARG1]] [OPTION2 [ARG2]] ...
    -h,   --help                Print usage information and exit.
TXT
exit 0
"""


def write_fake_smi(bin_dir: Path, driver_version: str = "550.54.14") -> Path:
    bin_dir.mkdir(parents=True, exist_ok=True)
    smi = bin_dir / "nvidia-smi"
    smi.write_text(_FAKE_SMI.format(driver=driver_version), encoding="utf-8")
    smi.chmod(smi.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return smi
