"""The table and the pure matching logic: argv parsing, layouts on disk, ports, user patterns."""

from __future__ import annotations

from pathlib import Path

import pytest

from tray_app.detect import tools
from tray_app.detect.scanner import is_model_path
from tray_app.detect.tools import (
    DOTNET,
    PYTHON,
    TOOLS,
    CustomPattern,
    Launch,
    custom_patterns,
    interpreter_kind,
    match_custom,
    match_launch,
    parse_dotnet,
    parse_port,
    parse_python,
    unwrap,
)


def py(*args: str) -> Launch | None:
    return parse_python(["/venv/bin/python3.12", *args])


@pytest.mark.parametrize(
    ("argv", "target", "is_module", "args"),
    [
        (["main.py", "--port", "8190"], "main.py", False, ("--port", "8190")),
        (["-su", "main.py", "--port", "9000"], "main.py", False, ("--port", "9000")),  # Krita
        (["-s", "ComfyUI/main.py", "--windows-standalone-build"], "ComfyUI/main.py", False,
         ("--windows-standalone-build",)),
        (["-W", "ignore", "launch.py"], "launch.py", False, ()),
        (["-Wignore", "-X", "utf8", "launch.py", "-x"], "launch.py", False, ("-x",)),
        (["-uW", "ignore", "webui.py"], "webui.py", False, ()),
        (["--check-hash-based-pycs", "never", "main.py"], "main.py", False, ()),
        (["-m", "invokeai.app.run_app", "--root", "/r"], "invokeai.app.run_app", True,
         ("--root", "/r")),
        (["-um", "http.server", "8000"], "http.server", True, ("8000",)),
        (["-minvokeai.app.run_app"], "invokeai.app.run_app", True, ()),
    ],
)
def test_python_command_lines_give_the_script_or_module_run(argv, target, is_module, args):
    launch = py(*argv)
    assert launch == Launch(PYTHON, target, is_module, args)


@pytest.mark.parametrize("argv", [["-c", "import time"], [], ["-i"], ["-"], ["-u", "-"], ["-m"]])
def test_python_without_a_script_runs_no_tool(argv):
    assert py(*argv) is None


def test_dotnet_runs_the_first_dll():
    launch = parse_dotnet(["dotnet", "src/bin/live_release/SwarmUI.dll", "--port", "7802"])
    assert launch == Launch(DOTNET, "src/bin/live_release/SwarmUI.dll", False, ("--port", "7802"))
    assert parse_dotnet(["dotnet", "build", "src/SwarmUI.csproj"]) is None


def test_accelerate_and_torchrun_are_seen_through_to_the_training_script():
    accel = py("/venv/bin/accelerate", "launch", "--num_cpu_threads_per_process", "1",
               "--mixed_precision", "fp16", "sd-scripts/train_network.py", "--output_dir", "o")
    assert unwrap(accel) == Launch(PYTHON, "sd-scripts/train_network.py", False, ("--output_dir", "o"))
    torchrun = py("-m", "torch.distributed.run", "--nproc_per_node", "2", "sdxl_train.py")
    assert unwrap(torchrun).target == "sdxl_train.py"
    # `accelerate config` runs nothing; an ordinary script is left alone.
    assert unwrap(py("/venv/bin/accelerate", "config")).target == "/venv/bin/accelerate"
    assert unwrap(py("main.py", "x.py")).target == "main.py"


@pytest.mark.parametrize(
    ("args", "default", "expected"),
    [
        (("--port", "8190"), 8188, 8190),
        (("--port=8191",), 8188, 8191),
        (("--port", "1", "--port", "8192"), 8188, 8192),
        ((), 8188, 8188),
        ((), None, None),
        (("--port", "lots"), 8188, None),  # present but unreadable: unknown, not the default
        (("--port", "70000"), 8188, None),
        (("--listen", "0.0.0.0"), 8188, 8188),
    ],
)
def test_port_from_arguments(args, default, expected):
    assert parse_port(args, "--port", default) == expected


@pytest.mark.parametrize(
    ("name", "kind"),
    [("python", PYTHON), ("python3", PYTHON), ("python3.12", PYTHON), ("python.exe", PYTHON),
     ("pythonw.exe", PYTHON), ("python3.13t", PYTHON), ("dotnet", DOTNET), ("dotnet.exe", DOTNET),
     ("vim", None), ("pythonista", None), ("ipython", None), ("tail", None), ("code", None)],
)
def test_interpreter_names(name, kind):
    assert interpreter_kind(name) == kind


def _ids(match):
    return (match.spec.id, match.variant.id if match and match.variant else None) if match else None


@pytest.mark.parametrize(
    ("kind", "script", "expected"),
    [
        ("comfyui", "main.py", ("comfyui", None)),
        ("comfyui-krita", "main.py", ("comfyui", "krita")),
        ("comfyui-portable", "main.py", ("comfyui", "portable")),
        ("a1111", "launch.py", ("a1111", None)),
        ("a1111", "webui.py", ("a1111", None)),
        ("forge", "launch.py", ("forge", None)),
        ("sdnext", "launch.py", ("sdnext", None)),
        ("fooocus", "entry_with_update.py", ("fooocus", None)),
        ("fooocus", "launch.py", ("fooocus", None)),
        ("unrelated", "main.py", None),
    ],
)
def test_each_layout_is_recognised_as_its_own_tool(tool_layout, kind, script, expected):
    root = tool_layout(kind)
    match = match_launch(Launch(PYTHON, str(root / script), False, ()), lambda: None)
    assert _ids(match) == expected
    if match:
        assert match.root == root


def test_a1111_with_forge_marker_is_forge_and_a_bare_modules_folder_is_nothing(tool_layout):
    root = tool_layout("a1111")
    launch = Launch(PYTHON, "launch.py", False, ())
    assert match_launch(launch, lambda: str(root)).spec.id == "a1111"
    (root / "modules_forge").mkdir()
    assert match_launch(launch, lambda: str(root)).spec.id == "forge"
    lone = root.parent / "lone"
    (lone / "modules").mkdir(parents=True)
    (lone / "launch.py").write_text("")
    assert match_launch(Launch(PYTHON, str(lone / "launch.py"), False, ()), lambda: None) is None


def test_a_marker_that_is_a_file_where_a_folder_is_needed_does_not_count(tool_layout):
    root = tool_layout("comfyui")
    (root / "comfy" / "model_management.py").unlink()
    (root / "comfy").rmdir()
    (root / "comfy").write_text("not a package")
    assert match_launch(Launch(PYTHON, str(root / "main.py"), False, ()), lambda: None) is None


def test_relative_script_needs_the_working_folder_and_asks_only_then(tool_layout):
    root = tool_layout("comfyui")
    asked = []

    def cwd():
        asked.append(1)
        return str(root)

    assert match_launch(Launch(PYTHON, "main.py", False, ("--port", "8190")), cwd).port == 8190
    assert asked == [1]
    assert match_launch(Launch(PYTHON, "main.py", False, ()), lambda: None) is None
    match_launch(Launch(PYTHON, "/elsewhere/other.py", False, ()), cwd)
    assert asked == [1]  # a script no tool runs: no need to look further


def test_invokeai_by_entry_point_module_and_root_option(tool_layout, tmp_path):
    root = tool_layout("invokeai")
    entry = Launch(PYTHON, str(root / ".venv/bin/invokeai-web"), False, ())
    assert (match_launch(entry, lambda: None).spec.id, match_launch(entry, lambda: None).root) == (
        "invokeai", root)
    module = Launch(PYTHON, "invokeai.app.run_app", True, ("--root", str(root)))
    assert match_launch(module, lambda: "/").root == root
    windows = Launch(PYTHON, str(root / ".venv/bin/invokeai-web.exe"), False, ())
    assert match_launch(windows, lambda: None).spec.id == "invokeai"
    assert match_launch(Launch(PYTHON, "invokeai", True, ()), lambda: "/") is None
    relative = Launch(PYTHON, "invokeai.app.run_app", True, ("--root", "invokeai"))
    assert match_launch(relative, lambda: str(root.parent)).root == root


def test_a_tool_under_a_debugger_is_still_that_tool(tool_layout):
    root = tool_layout("comfyui")
    debugged = py("-m", "debugpy", "--listen", "5678", str(root / "main.py"), "--port", "8200")
    match = match_launch(debugged, lambda: None)
    assert (match.spec.id, match.port) == ("comfyui", 8200)
    assert match_launch(py("-m", "pdb", str(root / "main.py")), lambda: None).spec.id == "comfyui"


def test_swarmui_dll_and_its_comfy_backend(tool_layout):
    root = tool_layout("swarmui")
    dll = Launch(DOTNET, "src/bin/live_release/SwarmUI.dll", False, ("--launch_mode", "none"))
    match = match_launch(dll, lambda: str(root))
    assert (match.spec.id, match.root, match.port) == ("swarmui", root, None)
    backend = match_launch(Launch(PYTHON, "main.py", False, ()), lambda: str(root / "dlbackend/ComfyUI"))
    assert _ids(backend) == ("comfyui", "swarmui-backend")
    # A python running the .dll is not SwarmUI: the interpreter must be dotnet.
    assert match_launch(Launch(PYTHON, dll.target, False, ()), lambda: str(root)) is None
    assert tools.match_executable(str(root / "src/bin/live_release/SwarmUI"), []).spec.id == "swarmui"


def test_kohya_training_scripts(tool_layout):
    root = tool_layout("kohya")
    for script in ("train_network.py", "sdxl_train_network.py"):
        match = match_launch(Launch(PYTHON, str(root / script), False, ()), lambda: None)
        assert _ids(match) == ("kohya", "kohya_ss")
    (root / "train_network.py").rename(root / "my_notes.py")
    assert match_launch(Launch(PYTHON, str(root / "my_notes.py"), False, ()), lambda: None) is None


def test_every_tool_id_is_stable_and_unique():
    ids = [spec.id for spec in TOOLS]
    assert sorted(ids) == sorted(
        ["comfyui", "a1111", "forge", "sdnext", "invokeai", "fooocus", "swarmui", "kohya"])


def test_user_patterns_are_validated_and_match_substring_or_glob():
    patterns = custom_patterns([
        {"name": "mytool", "match": "*/mytool/*.py"},
        {"name": "lab", "match": "diffusion-lab"},
        {"name": "", "match": "x"}, {"name": "y"}, {"name": 3, "match": "z"}, "junk",  # skipped
    ])
    assert [p.tool_id for p in patterns] == ["custom:mytool", "custom:lab"]
    assert CustomPattern("a", "*/mytool/*.py").matches("/home/u/mytool/run.py")
    assert not CustomPattern("a", "*/mytool/*.py").matches("/home/u/other/run.py")
    assert CustomPattern("a", "run.py").matches("/x/run.py")
    assert CustomPattern("a", "gen_*.py").matches("/x/gen_images.py")  # glob on the basename too
    found = match_custom(patterns, "/usr/bin/python3", "/home/u/diffusion-lab/go.py")
    assert found == (patterns[1], Path("/home/u/diffusion-lab"))
    assert match_custom(patterns, "/usr/bin/vim", None) is None


@pytest.mark.parametrize(
    ("path", "model"),
    [
        ("/m/sd_xl_base_1.0.safetensors", True),
        ("/m/v1-5-pruned.ckpt", True),
        ("/m/v1-5-pruned.ckpt (deleted)", True),
        ("/h/.cache/huggingface/hub/models--stabilityai--sdxl/blobs/4f3a9c", True),
        ("/usr/lib/libtorch_cuda.so", False),
        ("/m/notes.safetensors.txt", False),
    ],
)
def test_model_weight_paths(path, model):
    assert is_model_path(path) is model
