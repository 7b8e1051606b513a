"""Render the SVG logo into the icon files Windows and macOS want, and Windows' version resource.

    QT_QPA_PLATFORM=offscreen python installers/prepare_assets.py OUT_DIR VERSION

Writes OUT_DIR/raison-garder.ico (16-256 px), OUT_DIR/raison-garder.icns (16-1024 px),
OUT_DIR/raison-garder-256.png and OUT_DIR/version.txt (PyInstaller's VSVersionInfo). Runs in the
build venv (PySide6 renders the SVG; Pillow writes .ico/.icns), never inside the app.
"""

from __future__ import annotations

import sys
from pathlib import Path

APP_ID = "raison-garder"
_REPO = Path(__file__).resolve().parent.parent
# Inside the package once the resources move there (pipx installs need it), else the repo's.
SVG = next(
    (p for p in (_REPO / "tray_app" / "resources", _REPO / "resources") if p.is_dir()),
    _REPO / "resources",
) / "icons" / f"{APP_ID}.svg"
ICO_SIZES = (16, 20, 24, 32, 40, 48, 64, 128, 256)
ICNS_SIZES = (16, 32, 64, 128, 256, 512, 1024)


def render_png(svg: Path, size: int, out: Path) -> Path:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([APP_ID])  # fonts, painting
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"prepare_assets: cannot read {svg}")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    if not image.save(str(out), "PNG"):
        raise SystemExit(f"prepare_assets: cannot write {out}")
    return out


def write_icons(out_dir: Path) -> None:
    from PIL import Image

    big = {s: render_png(SVG, s, out_dir / f"{APP_ID}-{s}.png") for s in (256, 1024)}
    with Image.open(big[256]) as img:
        img.save(out_dir / f"{APP_ID}.ico", sizes=[(s, s) for s in ICO_SIZES])
    with Image.open(big[1024]) as img:
        img.save(out_dir / f"{APP_ID}.icns", sizes=[(s, s) for s in ICNS_SIZES])


def version_tuple(version: str) -> tuple[int, int, int, int]:
    """"0.1.0" -> (0, 1, 0, 0); pre-release tails ("1.2.0rc1") keep their leading digits."""
    parts: list[int] = []
    for piece in version.split(".")[:4]:
        digits = "".join(c for c in piece if c.isdigit()) if piece[:1].isdigit() else ""
        parts.append(int(digits or 0))
    while len(parts) < 4:
        parts.append(0)
    return parts[0], parts[1], parts[2], parts[3]


def version_resource(version: str) -> str:
    """PyInstaller's version file: what Explorer shows under Properties > Details."""
    v = version_tuple(version)
    strings = {
        "CompanyName": "Raison Garder developers",
        "FileDescription": "Raison Garder",
        "FileVersion": version,
        "InternalName": APP_ID,
        "LegalCopyright": "MIT licence",
        "OriginalFilename": f"{APP_ID}.exe",
        "ProductName": "Raison Garder",
        "ProductVersion": version,
    }
    entries = ",\n".join(f"          StringStruct({k!r}, {val!r})" for k, val in strings.items())
    return f"""VSVersionInfo(
  ffi=FixedFileInfo(filevers={v}, prodvers={v}, mask=0x3f, flags=0x0, OS=0x40004,
                    fileType=0x1, subtype=0x0, date=(0, 0)),
  kids=[
    StringFileInfo([
      StringTable('040904B0', [
{entries}
      ])
    ]),
    VarFileInfo([VarStruct('Translation', [1033, 1200])])
  ]
)
"""


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out_dir, version = Path(argv[0]), argv[1]
    out_dir.mkdir(parents=True, exist_ok=True)
    write_icons(out_dir)
    (out_dir / "version.txt").write_text(version_resource(version), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
