"""One writer per data directory (the tray or the headless monitor), and a tiny command channel
to the tray. Qt-free, stdlib only.

Two monitors on one store would both record the same energy (and the second would close the
first one's live session as "recovered"): whichever starts second reads who holds the lock
(`holder`), says so and leaves without writing anything.

The lock is an OS file lock on `instance.lock` in the data dir (fcntl on Unix, msvcrt on
Windows): the OS drops it when the process dies, so a crash never leaves a lock that blocks the
next start. The first instance then listens on a Unix domain socket in the data dir (a loopback
TCP port where Unix sockets are unavailable or the path is too long) and writes where to reach
it, with a random token, in `instance.json`. A second launch reads that file, sends one command
line ("show", "history", "quit", "ping") and exits. The headless monitor takes the same lock but
listens for nothing: its `instance.json` only says who it is (pid, kind "monitor").

QtNetwork's QLocalServer would do the same for ~3 MB more resident memory; a blocked thread in
`select()` costs nothing while idle.
"""

from __future__ import annotations

import json
import os
import selectors
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tray_app.system import paths
from tray_app.system.atomic import atomic_write
from tray_app.system.i18n import _

LOCK_NAME = "instance.lock"
INFO_NAME = "instance.json"
SOCKET_NAME = "instance.sock"
COMMANDS = frozenset({"show", "history", "quit", "ping"})
KIND_TRAY = "tray"
KIND_MONITOR = "monitor"
_MAX_UNIX_PATH = 100  # sun_path is 104-108 bytes depending on the OS
_CLIENT_TIMEOUT_S = 1.0


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            # Lock one byte far past the content so the info file stays readable by others.
            os.lseek(fd, 1 << 20, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


class InstanceLock:
    """Holds the single-instance lock and serves commands from later launches.

    >>> lock = InstanceLock()
    >>> if not lock.acquire():
    ...     send_command("show")          # another instance runs: hand over and leave
    >>> lock.serve(on_command)            # on_command(str) is called from a worker thread
    >>> lock.close()
    """

    def __init__(
        self,
        directory: Path | None = None,
        use_unix_socket: bool | None = None,
        kind: str = KIND_TRAY,
    ) -> None:
        self.directory = directory if directory is not None else paths.data_dir()
        self.kind = kind
        if use_unix_socket is None:
            use_unix_socket = sys.platform != "win32" and hasattr(socket, "AF_UNIX")
        self._use_unix = use_unix_socket
        self._fd: int | None = None
        self._server: socket.socket | None = None
        self._socket_path: Path | None = None
        self._token = os.urandom(16).hex()
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._thread: threading.Thread | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, listen: bool = True) -> bool:
        """Take the lock and (with `listen`) open the command channel. False when another
        instance holds it."""
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        if not _try_lock(fd):
            os.close(fd)
            return False
        self._fd = fd
        try:
            endpoint: dict[str, object] = {}
            if listen:
                self._server, endpoint = self._listen()
            self._write_info(endpoint)
        except OSError:
            self.close()
            raise
        return True

    def _listen(self) -> tuple[socket.socket, dict[str, object]]:
        sock_path = self.directory / SOCKET_NAME
        if self._use_unix and len(os.fsencode(sock_path)) <= _MAX_UNIX_PATH:
            # We hold the lock, so a socket file left here is a crashed run's: remove it.
            sock_path.unlink(missing_ok=True)
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                server.bind(os.fsdecode(sock_path))
                os.chmod(sock_path, 0o600)  # bind() follows the umask; before anyone can connect
                server.listen(4)
            except OSError:
                server.close()
                raise
            self._socket_path = sock_path
            return server, {"unix": str(sock_path)}
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            server.bind(("127.0.0.1", 0))
            server.listen(4)
        except OSError:
            server.close()
            raise
        return server, {"tcp": server.getsockname()[1]}

    def _write_info(self, endpoint: dict[str, object]) -> None:
        info = {"pid": os.getpid(), "kind": self.kind, "token": self._token, **endpoint}
        atomic_write(self.directory / INFO_NAME, json.dumps(info))  # 0600: the token is a secret

    def serve(self, on_command: Callable[[str], None]) -> None:
        """Answer commands in a daemon thread; `on_command` runs in that thread."""
        if self._server is None or self._thread is not None:
            return
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread = threading.Thread(
            target=self._serve_loop, args=(on_command,), name="instance-ipc", daemon=True
        )
        self._thread.start()

    def _serve_loop(self, on_command: Callable[[str], None]) -> None:
        assert self._server is not None and self._wake_r is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self._server, selectors.EVENT_READ)
            sel.register(self._wake_r, selectors.EVENT_READ)
            while True:
                for key, _mask in sel.select():
                    if key.fileobj is self._wake_r:
                        return
                    try:
                        conn, _addr = self._server.accept()
                    except OSError:
                        continue
                    with conn:
                        command = self._handle(conn)
                    if command is not None:
                        try:
                            on_command(command)
                        except Exception:  # noqa: BLE001 - a bad handler must not end the channel
                            pass

    def _handle(self, conn: socket.socket) -> str | None:
        conn.settimeout(_CLIENT_TIMEOUT_S)  # a stuck client must not block the channel
        try:
            line = _read_line(conn)
            token, _sep, command = line.partition(" ")
            if not _same(token, self._token):
                conn.sendall(b"denied\n")
                return None
            if command not in COMMANDS:
                conn.sendall(b"unknown\n")
                return None
            conn.sendall(b"ok\n")
            return command
        except OSError:
            return None

    def close(self) -> None:
        """Stop serving, remove our endpoint files and release the lock."""
        if self._wake_w is not None:
            try:
                self._wake_w.send(b"x")
            except OSError:
                pass
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        self._thread = None
        for sock in (self._wake_r, self._wake_w, self._server):
            if sock is not None:
                sock.close()
        self._wake_r = self._wake_w = self._server = None
        if self._fd is not None:
            if self._socket_path is not None:
                self._socket_path.unlink(missing_ok=True)
            (self.directory / INFO_NAME).unlink(missing_ok=True)
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None

    def __enter__(self) -> InstanceLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _same(a: str, b: str) -> bool:
    """Constant-time comparison without `secrets`/`hmac`: those load OpenSSL (~4 MB RSS)."""
    if len(a) != len(b):
        return False
    diff = 0
    for x, y in zip(a.encode(), b.encode(), strict=True):
        diff |= x ^ y
    return diff == 0


def _read_line(conn: socket.socket, limit: int = 256) -> str:
    data = b""
    while b"\n" not in data and len(data) < limit:
        chunk = conn.recv(limit)
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0].decode("utf-8", "replace").strip()


def holder(directory: Path, wait_s: float = 1.0) -> dict[str, object] | None:
    """Who holds the lock, from its `instance.json`: {"pid", "kind", ...}, or None when unknown.

    Waits up to `wait_s` for the file: the holder writes it just after taking the lock."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            info = json.loads((directory / INFO_NAME).read_text(encoding="utf-8"))
            if isinstance(info, dict) and isinstance(info.get("pid"), int):
                return info
        except (OSError, ValueError):
            pass
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


def already_running_message(directory: Path) -> str:
    """Why a second tray or monitor does not start: which process records into `directory`."""
    info = holder(directory)
    if info is None:
        return _("Another Raison Garder already records into {path}. A second one would count "
                 "the same energy twice: stop the other one first, or use another "
                 "RAISON_GARDER_DATA_DIR.").format(path=directory)
    kind = _("the tray") if info.get("kind", KIND_TRAY) == KIND_TRAY else _("a headless monitor")
    return _("Raison Garder ({kind}, process {pid}) already records into {path}. A second one "
             "would count the same energy twice: stop it first (kill {pid}), or use another "
             "RAISON_GARDER_DATA_DIR.").format(kind=kind, pid=info["pid"], path=directory)


def send_command(command: str, directory: Path | None = None, timeout_s: float = 3.0) -> bool:
    """Send `command` to the running instance. True once it acknowledged it.

    Retries until `timeout_s`: the first instance may hold the lock but not be listening yet.
    """
    directory = directory if directory is not None else paths.data_dir()
    deadline = time.monotonic() + timeout_s
    while True:
        if _send_once(command, directory):
            return True
        info = holder(directory, wait_s=0)
        if info is not None and info.get("kind") == KIND_MONITOR:
            return False  # a headless monitor takes no commands
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def _send_once(command: str, directory: Path) -> bool:
    try:
        info = json.loads((directory / INFO_NAME).read_text(encoding="utf-8"))
        token = str(info["token"])
        address: str | tuple[str, int] = (
            str(info["unix"]) if "unix" in info else ("127.0.0.1", int(info["tcp"]))
        )
        family = socket.AF_UNIX if "unix" in info else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
    except (OSError, ValueError, KeyError, TypeError):
        return False
    with sock:
        sock.settimeout(_CLIENT_TIMEOUT_S)
        try:
            sock.connect(address)
            sock.sendall(f"{token} {command}\n".encode())
            return _read_line(sock) == "ok"
        except OSError:
            return False
