"""`raison-garder release` against fake tools and a fake GPU driver: what it sends, where, and
what it reports."""

from __future__ import annotations

import json
import sys
import time

import pytest

from tests.fixtures.fake_nvml import FakeGpu, FakeProcess, steady
from tray_app.cli import main


def release(capsys, *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["release", "--json", *args])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.slow
def test_release_asks_comfyui_to_free_and_reports_what_the_gpu_did(
    capsys, fake_nvml, fake_comfyui, tool_layout, tool_process
):
    root = tool_layout("comfyui")
    tool = tool_process([sys.executable, "main.py", "--port", str(fake_comfyui.port)], cwd=root)
    # Idle at 20 W; the loaded model keeps it 42 W higher while ComfyUI holds 8 GB.
    rig = fake_nvml(FakeGpu(trace=steady(20.0, util_pct=0.0),
                            processes=[FakeProcess(tool.pid, 8400, held_w=42.0)]))
    fake_comfyui.on_free = lambda body: rig.set_processes(0, [FakeProcess(tool.pid, 420)])

    code, out = release(capsys, "--window", "3")

    assert code == 0
    # What ComfyUI received: its own route and body, on loopback.
    assert fake_comfyui.posts == [("/free", {"unload_models": True, "free_memory": True})]
    assert out["endpoint"] == f"http://127.0.0.1:{fake_comfyui.port}/free"
    assert (out["tool"], out["pid"], out["http_status"], out["accepted"]) == ("comfyui", tool.pid, 200, True)
    assert out["before_w"] == pytest.approx(62.0, abs=1.0)
    assert out["after_w"] == pytest.approx(20.0, abs=1.0)
    assert (out["before_mem_mb"], out["after_mem_mb"]) == (pytest.approx(8400), pytest.approx(420))
    assert out["message"] == "Freed 7.8\u00a0GB; idle draw fell from 62\u00a0W to 20\u00a0W."


@pytest.mark.slow
def test_release_says_so_when_the_gpu_keeps_drawing(capsys, fake_nvml, fake_comfyui, tool_layout, tool_process):
    root = tool_layout("comfyui")
    tool = tool_process([sys.executable, "main.py", "--port", str(fake_comfyui.port)], cwd=root)
    # Another program keeps the board at 60 W: ComfyUI lets go, the power does not move.
    rig = fake_nvml(FakeGpu(trace=steady(60.0, util_pct=0.0), processes=[FakeProcess(tool.pid, 6000)]))
    fake_comfyui.on_free = lambda body: rig.set_processes(0, [FakeProcess(tool.pid, 400)])
    code, out = release(capsys, "--window", "2", "--tool", "comfyui")
    assert code == 0 and out["accepted"]
    assert out["message"] == "ComfyUI freed 5.5\u00a0GB, but the GPU still draws 60\u00a0W: something else keeps it busy."


@pytest.mark.slow
def test_release_explains_what_to_do_for_a_webui_without_its_api(
    capsys, fake_nvml, fake_webui, tool_layout, tool_process
):
    webui = fake_webui(api=False)
    root = tool_layout("a1111")
    tool = tool_process([sys.executable, "launch.py", "--port", str(webui.port)], cwd=root)
    fake_nvml(FakeGpu(trace=steady(20.0, util_pct=0.0), processes=[FakeProcess(tool.pid, 7000, held_w=40.0)]))
    code, out = release(capsys, "--window", "1")
    assert code == 1
    assert webui.requests[-1] == ("POST", "/sdapi/v1/unload-checkpoint")
    assert (out["http_status"], out["accepted"]) == (404, False)
    assert "Add --api to its start options" in out["message"] and "COMMANDLINE_ARGS" in out["message"]
    assert out["after_mem_mb"] is None  # nothing was measured after: nothing was done


@pytest.mark.slow
def test_release_frees_a_forge_with_its_api_on(capsys, fake_nvml, fake_webui, tool_layout, tool_process):
    webui = fake_webui(api=True)
    root = tool_layout("forge")
    tool = tool_process([sys.executable, "launch.py", "--api", "--port", str(webui.port)], cwd=root)
    rig = fake_nvml(FakeGpu(trace=steady(15.0, util_pct=0.0), processes=[FakeProcess(tool.pid, 7000, held_w=40.0)]))
    webui.on_unload = lambda: rig.set_processes(0, [FakeProcess(tool.pid, 500)])
    code, out = release(capsys, "--window", "2")
    assert code == 0 and out["tool"] == "forge" and out["http_status"] == 200
    assert out["message"] == "Freed 6.3\u00a0GB; idle draw fell from 55\u00a0W to 15\u00a0W."


def test_release_with_no_tool_on_the_gpu_says_there_is_nothing_to_free(capsys, fake_nvml, fake_comfyui):
    fake_nvml(FakeGpu(trace=steady(20.0, util_pct=0.0), processes=[FakeProcess(1, 300, "graphics")]))
    capsys.readouterr()
    assert main(["release"]) == 1
    assert "No image tool holds GPU memory: nothing to free." in capsys.readouterr().err
    assert fake_comfyui.posts == []


def test_a_hung_tool_cannot_hold_the_request_past_its_deadline(trickling_server):
    from tray_app.idle.release import Target, send

    server = trickling_server
    start = time.monotonic()
    answer = send(Target("comfyui", "ComfyUI", 1), [server.port], deadline_s=1.0)
    assert time.monotonic() - start < 2.0
    assert not answer.accepted and answer.http_status is None
    assert "did not answer on port" in answer.problem and "Nothing was changed" in answer.problem


def test_a_tool_with_work_queued_is_not_asked_to_free(fake_comfyui, fake_webui):
    from tray_app.idle.release import Target, send

    fake_comfyui.queue_running = [[0, "prompt-1", {}, {}, []]]
    answer = send(Target("comfyui", "ComfyUI", 1), [fake_comfyui.port])
    assert not answer.accepted
    assert "has work queued or running: nothing was freed" in answer.problem
    assert fake_comfyui.posts == []  # asked what is queued, never told to free
    webui = fake_webui(api=True)
    webui.job_count = 2
    answer = send(Target("forge", "Forge", 1), [webui.port])
    assert not answer.accepted and ("POST", "/sdapi/v1/unload-checkpoint") not in webui.requests
    webui.job_count = 0
    assert send(Target("forge", "Forge", 1), [webui.port]).accepted


WEBUI_WITHOUT_API = """\
import http.server
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self): self.send_error(404)
    def do_POST(self): self.send_error(404)
    def log_message(self, *args): pass
http.server.HTTPServer(("127.0.0.1", 0), Handler).serve_forever()
"""


@pytest.mark.slow
def test_without_a_port_on_its_command_line_the_tools_own_listening_port_is_asked(
    capsys, fake_nvml, tool_layout, tool_process
):
    import psutil

    # `python launch.py` with no --port: gradio picked a free port; only the process knows it.
    root = tool_layout("a1111", script=WEBUI_WITHOUT_API)
    tool = tool_process([sys.executable, "launch.py"], cwd=root)
    fake_nvml(FakeGpu(trace=steady(20.0, util_pct=0.0), processes=[FakeProcess(tool.pid, 7000, held_w=40.0)]))
    proc = psutil.Process(tool.pid)
    for _ in range(100):
        ports = [c.laddr.port for c in proc.net_connections("tcp") if c.status == psutil.CONN_LISTEN]
        if ports:
            break
        time.sleep(0.05)
    code, out = release(capsys, "--window", "1")
    assert code == 1
    assert out["endpoint"] == f"http://127.0.0.1:{ports[0]}/sdapi/v1/unload-checkpoint"
    assert out["http_status"] == 404 and "Add --api" in out["message"]


class FakeInvokeAI:
    """InvokeAI's two routes as its routers declare them: the queue status and the cache empty."""

    def __init__(self, pending: int = 0) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, HTTPServer

        self.pending, self.requests = pending, []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, body: bytes, status: int = 200) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                fake.requests.append(("GET", self.path))
                queue = {"queue": {"queue_id": "default", "pending": fake.pending, "in_progress": 0},
                         "processor": {"is_started": True, "is_processing": False}}
                self._answer(json.dumps(queue).encode())

            def do_POST(self) -> None:
                fake.requests.append(("POST", self.path))
                self._answer(b"null")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_invokeai_is_asked_to_empty_its_model_cache_unless_its_queue_has_work():
    from tray_app.idle.release import Target, send

    fake = FakeInvokeAI(pending=1)
    try:
        port = fake.server.server_address[1]
        busy = send(Target("invokeai", "InvokeAI", 1), [port])
        assert not busy.accepted and ("POST", "/api/v2/models/empty_model_cache") not in fake.requests
        fake.pending = 0
        answer = send(Target("invokeai", "InvokeAI", 1), [port])
        assert (answer.accepted, answer.http_status) == (True, 200)
        assert answer.endpoint == f"http://127.0.0.1:{port}/api/v2/models/empty_model_cache"
        assert fake.requests[-2:] == [("GET", "/api/v1/queue/default/status"),
                                      ("POST", "/api/v2/models/empty_model_cache")]
    finally:
        fake.close()
