"""A real plain-diffusers script, as it really runs: it loads its weights (fp16 safetensors,
converted), moves the pipeline to the device, and only then holds a GPU context. By the time
NVML lists it nothing in /proc/<pid>/maps says "diffusion" any more (only safetensors' own
library): the app must still see a diffusers session.

The script runs in its own venv with CPU torch and diffusers (scripts/diffusers-test-env.sh; in
CI `make test` makes it), on a tiny pipeline with random weights saved by `save_pretrained`."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.fixtures.fake_nvml import FakeGpu, FakeProcess, Segment
from tray_app.detect.scanner import LinuxProcSource

ROOT = Path(__file__).resolve().parents[2]
VENV_PYTHON = Path(os.environ.get("RAISON_GARDER_DIFFUSERS_VENV", ROOT / "build" / "diffusers-venv")) / "bin" / "python"

MAKE_PIPELINE = """\
import sys, torch
from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel
torch.manual_seed(0)
unet = UNet2DModel(sample_size=8, in_channels=3, out_channels=3, layers_per_block=1,
                   block_out_channels=(8, 16), down_block_types=("DownBlock2D", "DownBlock2D"),
                   up_block_types=("UpBlock2D", "UpBlock2D"), norm_num_groups=4)
DDPMPipeline(unet=unet.half(), scheduler=DDPMScheduler(num_train_timesteps=10)).save_pretrained(sys.argv[1])
"""

# What a user writes: load, move to the GPU, generate. Nothing in it names our app. The one
# line a user would not write, gc.collect(), stands in for the GPU copy: on a GPU the CPU copies
# of the weights are dropped and the file's mapping with them (seen with diffusers 0.42 and torch:
# only _safetensors_rust.abi3.so stays mapped); on the CPU the mapping lingers until Python's next
# full collection, which can be half a minute later.
GENERATE = """\
import gc, sys, time
import torch
from diffusers import DDPMPipeline

pipe = DDPMPipeline.from_pretrained(sys.argv[1], torch_dtype=torch.float32)
pipe.to("cuda" if torch.cuda.is_available() else "cpu")
gc.collect()
print("loaded", flush=True)
while True:
    pipe(batch_size=1, num_inference_steps=2, output_type="np")
    time.sleep(0.1)
"""


@pytest.fixture(scope="module")
def diffusers_python() -> Path:
    if not VENV_PYTHON.exists():
        pytest.skip(f"no {VENV_PYTHON}: RAISON_GARDER_DIFFUSERS_TESTS=1 bash scripts/diffusers-test-env.sh makes it")
    return VENV_PYTHON


@pytest.mark.slow
def test_a_real_diffusers_script_is_a_session_though_its_weights_are_unmapped(
    diffusers_python, fake_nvml, tool_process, tmp_path, capsys
):
    from tray_app.cli import main
    from tray_app.runtime.engine import Engine

    weights = tmp_path / "tiny-ddpm"
    subprocess.run([str(diffusers_python), "-c", MAKE_PIPELINE, str(weights)], check=True,
                   timeout=120, capture_output=True)
    assert any(weights.rglob("*.safetensors"))
    folder = tmp_path / "my-scripts"
    folder.mkdir()
    (folder / "txt2img.py").write_text(GENERATE, encoding="utf-8")
    rig = fake_nvml(FakeGpu(trace=[Segment(3600.0, 280.0, 97.0)]))  # lists no process yet
    engine = Engine()
    stop = threading.Event()
    worker = threading.Thread(target=engine.run, args=(stop,))
    worker.start()
    try:
        script = tool_process([str(diffusers_python), "txt2img.py", str(weights)], cwd=folder,
                              stdout=subprocess.PIPE)
        assert script.stdout.readline() == b"loaded\n"
        time.sleep(6.0)  # more than one scan: a python process on the CPU is no session
        assert engine.tracker is not None and not engine.tracker.sessions
        # The hard case for real: its weights are no longer mapped nor open...
        assert LinuxProcSource().model_file(script.pid) is None
        rig.set_processes(0, [FakeProcess(pid=script.pid, used_mb=900)])  # ...as it takes the GPU
        deadline = time.monotonic() + 20  # detection runs every 5 s; CI machines are busy
        while not engine.tracker.sessions:
            assert time.monotonic() < deadline, "the diffusers script was never detected"
            time.sleep(0.2)
        (open_session,) = engine.tracker.sessions.values()
        assert open_session.tool == "diffusers" and open_session.pids[0] == script.pid
        time.sleep(3.0)
        script.kill()
        script.wait()
        deadline = time.monotonic() + 20
        while engine.tracker.sessions:
            assert time.monotonic() < deadline, "the session did not close after the script exited"
            time.sleep(0.2)
    finally:
        stop.set()
        worker.join(timeout=10)
    capsys.readouterr()
    assert main(["sessions", "--json"]) == 0
    import json

    (s,) = json.loads(capsys.readouterr().out)
    assert s["tool"] == "diffusers" and s["status"] == "complete" and s["gpu_wh"] > 0
    assert sys.executable != str(diffusers_python)  # the user's own venv, not ours
