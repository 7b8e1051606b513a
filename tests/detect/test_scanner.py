"""Real processes started from realistic layouts: what the scanner recognises, and what it must
not (editors, pagers, grep, file managers, unrelated scripts)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.fixtures.tool_layouts import wait_for
from tray_app.detect import DetectedTool, Scanner

PY = sys.executable


def ours(found: list[DetectedTool], *pids: int) -> list[DetectedTool]:
    """Only our test processes: other tests may run tools of their own on this machine."""
    return [t for t in found if set(t.pids) & set(pids)]


def one(scanner: Scanner, pid: int, gpu=None) -> DetectedTool:
    found = ours(scanner.scan(gpu), pid)
    assert len(found) == 1, found
    return found[0]


def test_comfyui_run_from_its_folder_with_a_port(tool_layout, tool_process):
    root = tool_layout("comfyui")
    proc = tool_process([PY, "main.py", "--port", "8190"], cwd=root)
    tool = one(Scanner(), proc.pid)
    assert (tool.tool, tool.label, tool.root, tool.port, tool.pid) == (
        "comfyui", "ComfyUI", root, 8190, proc.pid)
    assert tool.exe_name == os.path.basename(os.path.realpath(PY))
    assert tool.pids == (proc.pid,) and tool.gpu_indices == frozenset()
    assert tool.display_name() == "ComfyUI"


def test_comfyui_by_absolute_path_gets_its_default_port_and_gpus(tool_layout, tool_process, tmp_path):
    root = tool_layout("comfyui")
    proc = tool_process([PY, "-u", str(root / "main.py")], cwd=tmp_path)
    tool = one(Scanner(), proc.pid, gpu={proc.pid: {0, 2}})
    assert (tool.root, tool.port, tool.gpu_indices) == (root, 8188, {0, 2})


def test_comfyui_managed_by_krita_and_portable(tool_layout, tool_process, i18n_fr):
    krita = tool_layout("comfyui-krita")
    k = tool_process([PY, "-su", "main.py", "--port", "9000"], cwd=krita)  # as krita-ai-diffusion does
    portable = tool_layout("comfyui-portable")
    p = tool_process([PY, "-s", "ComfyUI/main.py", "--windows-standalone-build"], cwd=portable.parent)
    scanner = Scanner()
    found = {t.pid: t for t in ours(scanner.scan(), k.pid, p.pid)}
    assert (found[k.pid].variant, found[k.pid].port, found[k.pid].root) == ("krita", 9000, krita)
    assert (found[p.pid].variant, found[p.pid].root) == ("portable", portable)
    i18n_fr()
    assert found[k.pid].display_name() == "ComfyUI géré par Krita AI Diffusion"


@pytest.fixture
def i18n_fr():
    from tray_app.system import i18n

    def switch() -> None:
        i18n.set_language("fr")

    yield switch
    i18n.set_language("en")


@pytest.mark.parametrize(
    ("kind", "script", "tool"),
    [
        ("a1111", "launch.py", "a1111"),
        ("a1111", "webui.py", "a1111"),
        ("forge", "launch.py", "forge"),
        ("sdnext", "launch.py", "sdnext"),
        ("fooocus", "entry_with_update.py", "fooocus"),
    ],
)
def test_webuis_are_told_apart_by_their_layout(tool_layout, tool_process, kind, script, tool):
    root = tool_layout(kind)
    proc = tool_process([PY, script, "--port", "7861", "--xformers"], cwd=root)
    found = one(Scanner(), proc.pid)
    assert (found.tool, found.root, found.port) == (tool, root, 7861)


def test_webui_without_port_option_has_unknown_port(tool_layout, tool_process):
    root = tool_layout("a1111")
    proc = tool_process([PY, "launch.py"], cwd=root)
    assert one(Scanner(), proc.pid).port is None  # gradio may move off 7860: unknown, not a guess


def test_invokeai_console_script(tool_layout, tool_process, tmp_path):
    root = tool_layout("invokeai")
    proc = tool_process([str(root / ".venv/bin/invokeai-web")], cwd=tmp_path)  # run through its shebang
    tool = one(Scanner(), proc.pid)
    assert (tool.tool, tool.root, tool.port) == ("invokeai", root, None)
    assert tool.exe_name.startswith("python")


def test_swarmui_and_its_comfy_backend_are_one_detection(tool_layout, tool_process):
    root = tool_layout("swarmui")
    dotnet = str(root / ".dotnet" / "dotnet")
    proc = tool_process([dotnet, "src/bin/live_release/SwarmUI.dll", "--launch_mode", "none"], cwd=root)
    child = wait_for(lambda: [c.pid for c in _children(proc.pid)])[0]
    scanner = Scanner()
    found = ours(scanner.scan({child: {0}}), proc.pid, child)
    assert len(found) == 1, found
    assert (found[0].tool, found[0].root, found[0].pid) == ("swarmui", root, proc.pid)
    assert found[0].pids == (proc.pid, child) and found[0].gpu_indices == {0}


def test_swarm_backend_alone_is_comfyui_with_its_variant(tool_layout, tool_process):
    root = tool_layout("swarmui")
    proc = tool_process([PY, "-s", "main.py", "--port", "7821"], cwd=root / "dlbackend" / "ComfyUI")
    tool = one(Scanner(), proc.pid)
    assert (tool.tool, tool.variant, tool.port) == ("comfyui", "swarmui-backend", 7821)
    assert tool.display_name() == "ComfyUI (SwarmUI backend)"


def test_kohya_training_through_accelerate_is_one_run(tool_layout, tool_process):
    scripts = tool_layout("kohya")
    accelerate = scripts.parent / "venv" / "bin" / "accelerate"
    proc = tool_process([str(accelerate), "launch", "--num_cpu_threads_per_process", "1",
                  "sd-scripts/train_network.py", "--output_dir", "out"], cwd=scripts.parent)
    child = wait_for(lambda: [c.pid for c in _children(proc.pid)])[0]
    tool = one(Scanner(), proc.pid)
    assert (tool.tool, tool.root, tool.variant, tool.pid) == ("kohya", scripts, "kohya_ss", proc.pid)
    assert tool.pids == (proc.pid, child)


WORKERS = textwrap.dedent(f"""\
    import multiprocessing as mp, subprocess, time
    def work():
        time.sleep(120)
    if __name__ == "__main__":
        mp.set_start_method("fork")
        forked = mp.Process(target=work)
        forked.start()
        spawned = subprocess.Popen([{PY!r}, "-c", "import time; time.sleep(120)"])
        print(forked.pid, spawned.pid, flush=True)
        time.sleep(120)
    """)


def test_a_tool_with_worker_children_is_one_detection(tool_layout, tool_process):
    root = tool_layout("comfyui", script=WORKERS)
    proc = tool_process([PY, "main.py"], cwd=root, stdout=subprocess.PIPE)
    forked, spawned = map(int, proc.stdout.readline().split())
    tool = one(Scanner(), proc.pid, gpu={spawned: {1}})
    assert tool.pids == (proc.pid, *sorted([forked, spawned]))
    assert tool.gpu_indices == {1}


def _children(pid: int):
    import psutil

    return psutil.Process(pid).children()


def _tail(argv0: str, *args: str) -> list[str]:
    """A long-running non-interpreter process whose argv reads like `argv0 args…`."""
    return ["bash", "-c", 'exec -a "$0" tail -f /dev/null "$@"', argv0, *args]


def test_no_false_positives_from_editors_pagers_grep_and_file_managers(tool_layout, tool_process, tmp_path):
    root = tool_layout("comfyui")
    webui = tool_layout("a1111")
    (root / "comfyui.log").write_text("started\n")
    procs = [
        tool_process(["vim", "-N", "-u", "NONE", "-n", "main.py"], cwd=root, stdin=subprocess.PIPE),
        tool_process(["tail", "-f", "comfyui.log"], cwd=root),
        tool_process(["grep", "-r", "comfy", str(root / "main.py"), "-"], stdin=subprocess.PIPE),
        tool_process(_tail("less", str(webui / "webui.py"))),
        tool_process(_tail("nautilus", str(root))),
        tool_process(_tail("code", "."), cwd=root),
        tool_process(_tail("sleep", str(root / "main.py"))),
        tool_process([PY, "-m", "http.server", "0", "--bind", "127.0.0.1"], cwd=root),
        tool_process([PY, "-c", "import time; time.sleep(60)", str(root / "main.py")], cwd=root),
        tool_process([PY, str(tool_layout("unrelated") / "main.py")], cwd=root),
        tool_process([PY, str(tool_layout("unrelated") / "main.py"), str(root / "main.py")]),
        tool_process(["sh", "-c", "sleep 60; :", str(root / "main.py")], cwd=root),
    ]
    scanner = Scanner(maps_recheck_s=0)
    pids = [p.pid for p in procs]
    assert ours(scanner.scan(), *pids) == []
    assert all(p.poll() is None for p in procs)  # every impostor was really running
    # Not even on a GPU: none of them maps model weights.
    assert ours(scanner.scan({pid: {0} for pid in pids}), *pids) == []


def test_a_shell_that_execs_the_tool_is_seen_after_the_exec(tool_layout, tool_process):
    root = tool_layout("comfyui")
    shell = tool_process(["bash", "-c", f'read go; exec "{PY}" main.py --port 8191'], cwd=root,
                  stdin=subprocess.PIPE)
    now = [1000.0]
    # young_s=0: ignore the "just started" rule so that the slow re-check cadence is what finds it.
    scanner = Scanner(clock=lambda: now[0], young_s=0, recheck_s=15)
    assert ours(scanner.scan(), shell.pid) == []
    shell.stdin.write(b"go\n")
    shell.stdin.flush()
    wait_for(lambda: Path(f"/proc/{shell.pid}/comm").read_text().strip() != "bash")
    now[0] += 5
    assert ours(scanner.scan(), shell.pid) == []  # shells are re-read every 15 s, not every scan
    now[0] += 10
    tool = one(scanner, shell.pid)
    assert (tool.tool, tool.port, tool.pid) == ("comfyui", 8191, shell.pid)


def test_a_young_process_caught_before_its_exec_is_looked_at_again_next_scan(tool_layout, tool_process):
    root = tool_layout("comfyui")
    shell = tool_process(["bash", "-c", f'read go; exec "{PY}" main.py'], cwd=root, stdin=subprocess.PIPE)
    scanner = Scanner(recheck_s=3600)  # the slow cadence never comes: only the young rule acts
    assert ours(scanner.scan(), shell.pid) == []
    shell.stdin.write(b"go\n")
    shell.stdin.flush()
    wait_for(lambda: Path(f"/proc/{shell.pid}/comm").read_text().strip() != "bash")
    assert one(scanner, shell.pid).tool == "comfyui"


def test_exited_tools_are_forgotten(tool_layout, tool_process):
    root = tool_layout("comfyui")
    proc = tool_process([PY, "main.py"], cwd=root)
    scanner = Scanner()
    assert one(scanner, proc.pid).tool == "comfyui"
    proc.kill()
    proc.wait()
    assert ours(scanner.scan(), proc.pid) == []


MAPS_MODEL = textwrap.dedent("""\
    import mmap, sys, time
    with open(sys.argv[1], "rb") as f:
        weights = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    print("ready", flush=True)
    time.sleep(120)
    """)


def _model(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      " + b"\0" * 4096)
    return path


@pytest.mark.parametrize(
    "model",
    ["models/dreamshaper_8.safetensors", "models/v1-5-pruned.ckpt",
     "hub/models--stabilityai--sdxl-turbo/blobs/9b1c0e7d4a"],
)
def test_a_plain_diffusers_script_on_the_gpu_is_found_by_its_mapped_weights(tool_process, tmp_path, model):
    weights = _model(tmp_path / model)
    project = tmp_path / "project"
    project.mkdir()
    (project / "generate.py").write_text(MAPS_MODEL)
    proc = tool_process([PY, "generate.py", str(weights)], cwd=project, stdout=subprocess.PIPE)
    assert proc.stdout.readline() == b"ready\n"
    scanner = Scanner()
    assert ours(scanner.scan(), proc.pid) == []  # not on a GPU: its maps are never read
    tool = one(scanner, proc.pid, gpu={proc.pid: {0}})
    assert (tool.tool, tool.root, tool.gpu_indices, tool.port) == ("diffusers", project, {0}, None)
    assert tool.display_name() == "Python diffusion script"
    # The verdict sticks while the process lives, even off the GPU list for a moment.
    assert one(scanner, proc.pid).gpu_indices == frozenset()


# A diffusers script whose weights are on the GPU already: nothing mapped, only its own source
# says what it is. (tests/detect/test_diffusers_real.py runs the real thing with torch.)
IMPORTS_DIFFUSERS = """\
import sys, time
if len(sys.argv) > 5:  # never: this python has no diffusers, the line is what matters
    from diffusers import StableDiffusionXLPipeline
time.sleep(60)
"""


def test_a_gpu_script_importing_diffusers_is_a_diffusers_run_without_any_mapped_weights(
    tool_process, tmp_path
):
    project = tmp_path / "sdxl-experiments"
    project.mkdir()
    (project / "txt2img.py").write_text(IMPORTS_DIFFUSERS)
    proc = tool_process([PY, "txt2img.py", "--prompt", "a cat"], cwd=project)
    reads: list[str] = []

    def reader(path: str) -> bool:
        from tray_app.detect.scanner import imports_diffusers

        reads.append(path)
        return imports_diffusers(path)

    scanner = Scanner(source_reader=reader, maps_recheck_s=0.0)
    assert ours(scanner.scan(), proc.pid) == [] and reads == []  # off the GPU: not even read
    tool = one(scanner, proc.pid, gpu={proc.pid: {0}})
    assert (tool.tool, tool.root, tool.gpu_indices) == ("diffusers", project, {0})
    for _ in range(3):
        one(scanner, proc.pid, gpu={proc.pid: {0}})
    assert reads == [str(project / "txt2img.py")]  # read once for the life of the process


def test_a_python_m_module_of_the_working_folder_importing_diffusers_is_found(tool_process, tmp_path):
    (tmp_path / "lab" / "gen").mkdir(parents=True)
    (tmp_path / "lab" / "__init__.py").write_text("")
    (tmp_path / "lab" / "gen" / "__init__.py").write_text("")
    (tmp_path / "lab" / "gen" / "__main__.py").write_text(IMPORTS_DIFFUSERS)
    proc = tool_process([PY, "-m", "lab.gen"], cwd=tmp_path)
    assert one(Scanner(), proc.pid, gpu={proc.pid: {1}}).tool == "diffusers"


@pytest.mark.parametrize("source", [
    "import time\n# we used to use diffusers here\ntime.sleep(60)\n",
    "import sys, time\nif len(sys.argv) > 5:\n    import diffusers_helpers_of_mine\ntime.sleep(60)\n",
    "import time\nprint('diffusers is great')\ntime.sleep(60)\n",
])
def test_a_gpu_script_that_only_mentions_diffusers_is_not_one(tool_process, tmp_path, source):
    (tmp_path / "train.py").write_text(source)
    proc = tool_process([PY, "train.py"], cwd=tmp_path)
    assert ours(Scanner().scan({proc.pid: {0}}), proc.pid) == []


def test_the_source_check_is_bounded_and_never_raises(tmp_path):
    from tray_app.detect.scanner import MAX_SOURCE_BYTES, imports_diffusers

    late = tmp_path / "late.py"
    late.write_bytes(b"#" * MAX_SOURCE_BYTES + b"\nimport diffusers\n")
    assert imports_diffusers(str(late)) is False  # past the bound: not read
    early = tmp_path / "early.py"
    early.write_bytes(b"import torch, diffusers\n" + b"#" * (4 * MAX_SOURCE_BYTES))
    assert imports_diffusers(str(early)) is True
    assert imports_diffusers(str(tmp_path / "gone.py")) is False
    assert imports_diffusers(str(tmp_path)) is False  # a folder


def test_a_gpu_python_without_model_weights_is_not_a_diffusion_tool(tool_process, tmp_path):
    proc = tool_process([PY, "-c", "import time; time.sleep(60)"], cwd=tmp_path)
    assert ours(Scanner().scan({proc.pid: {0}}), proc.pid) == []


def test_user_patterns_name_their_own_tools(tool_process, tmp_path):
    mytool = tmp_path / "mytool"
    mytool.mkdir()
    (mytool / "run.py").write_text("import time\ntime.sleep(60)\n")
    proc = tool_process([PY, "run.py"], cwd=mytool)
    editor = tool_process(["vim", "-N", "-u", "NONE", "-n", "run.py"], cwd=mytool, stdin=subprocess.PIPE)
    scanner = Scanner([{"name": "My lab", "match": "*/mytool/*.py"}, {"bad": "entry"}])
    tool = one(scanner, proc.pid)
    assert (tool.tool, tool.label, tool.root, tool.pid) == ("custom:My lab", "My lab", mytool, proc.pid)
    assert tool.display_name() == "My lab (your pattern)"
    assert ours(scanner.scan(), editor.pid) == []


def test_changed_patterns_apply_to_processes_already_seen(tool_process, tmp_path):
    (tmp_path / "gen_images.py").write_text("import time\ntime.sleep(60)\n")
    proc = tool_process([PY, "gen_images.py"], cwd=tmp_path)
    scanner = Scanner()
    assert ours(scanner.scan(), proc.pid) == []
    scanner.set_patterns([{"name": "gen", "match": "gen_*.py"}])
    assert one(scanner, proc.pid).tool == "custom:gen"


def test_a_jupyter_kernel_is_no_tool_by_itself_but_a_pattern_on_its_module_names_it(
    tool_process, tmp_path
):
    # A kernel runs `python -m ipykernel_launcher -f kernel-….json`: the notebook is nowhere on
    # its command line, so README and doctor tell how to name it (or to start a manual session).
    (tmp_path / "ipykernel_launcher.py").write_text("import time\ntime.sleep(60)\n")
    proc = tool_process([PY, "-m", "ipykernel_launcher", "-f", "kernel-1.json"], cwd=tmp_path)
    assert ours(Scanner().scan({proc.pid: {0}}), proc.pid) == []
    scanner = Scanner([{"name": "notebooks", "match": "ipykernel_launcher"}])
    tool = one(scanner, proc.pid, gpu={proc.pid: {0}})
    assert (tool.tool, tool.root, tool.gpu_indices) == ("custom:notebooks", tmp_path, {0})
