#!/usr/bin/env bash
# Build Raison Garder's one-folder bundle and this OS's package, from a clean slate.
#
#   scripts/package.sh            # Linux: dist/raison-garder-<version>-linux-<arch>.tar.gz
#                                 # Windows (Git Bash): + the Inno Setup installer if iscc is found
#                                 # macOS: + dist/raison-garder-<version>-macos-<arch>.dmg
#   scripts/package.sh --appimage # Linux: also the AppDir (and the AppImage if appimagetool exists)
#   scripts/package.sh --fresh-venv  # rebuild build/package-venv from nothing
#
# The build environment is its own venv (build/package-venv) with PyInstaller and the project
# installed non-editable, so the bundle holds exactly what `pip install .` would install. The
# venv is reused while pyproject.toml and the Python version are unchanged; the project itself,
# dist/ outputs and PyInstaller's work folder are rebuilt every time (never a stale bundle).
# Env: PYTHON (interpreter for the venv, default python3), PACKAGE_VENV (build/package-venv),
#      PACKAGE_DIST (output folder, dist), PACKAGE_WORK (PyInstaller's scratch space, build).
# Exit status 3: the build environment could not be made (package index unreachable, no venv
# module); any other failure, an install failing while the index is reachable included, is 1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

PYINSTALLER_REQ="pyinstaller>=6.10,<7"
VENV=${PACKAGE_VENV:-build/package-venv}
DIST=${PACKAGE_DIST:-dist}
WORK=${PACKAGE_WORK:-build}
appimage=0
fresh=0
for arg in "$@"; do
  case "$arg" in
    --appimage) appimage=1 ;;
    --fresh-venv) fresh=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "package.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=macos ;;
  MINGW*|MSYS*|CYGWIN*) os=windows ;;
  *) echo "package.sh: unsupported OS $(uname -s)" >&2; exit 2 ;;
esac
arch=$(uname -m)
case "$arch" in amd64) arch=x86_64 ;; arm64) [ "$os" = linux ] && arch=aarch64 ;; esac
if [ "$os" = windows ]; then
  PYTHON=${PYTHON:-python}
  bindir=Scripts
else
  PYTHON=${PYTHON:-python3}
  bindir=bin
fi
absolute() { case "$1" in /*) echo "$1" ;; *) echo "$ROOT/$1" ;; esac; }
VENV=$(absolute "$VENV")
DIST=$(absolute "$DIST")
WORK=$(absolute "$WORK")
VPY="$VENV/$bindir/python"

step() { printf '\n==> %s\n' "$*"; }
# Exit 3 ("no build environment here") only when the package index really cannot be reached;
# an install that fails with the index in reach is a packaging failure (exit 1), never a skip.
index_reachable() {
  { [ -x "$VPY" ] && "$VPY" -m pip index versions pip >/dev/null 2>&1; } \
    || "$PYTHON" -m pip index versions pip >/dev/null 2>&1
}
need_env() {
  if index_reachable; then
    echo "package.sh: $* although the package index is reachable: a packaging failure" >&2
    exit 1
  fi
  echo "package.sh: cannot make the build environment: $* (the package index is unreachable)" >&2
  exit 3
}
# The shipped resources: inside the package once moved there, else the repository's resources/.
resources=resources
[ -d tray_app/resources ] && resources=tray_app/resources

# ---- 1. build environment ------------------------------------------------------------------
# The stamp says which pyproject.toml, Python and PyInstaller requirement the venv was made for.
stamp_now=$( { cat pyproject.toml; "$PYTHON" -c 'import sys; print(sys.version)'; echo "$PYINSTALLER_REQ"; } \
  | cksum | cut -d' ' -f1)
if [ "$fresh" = 1 ] || [ ! -x "$VPY" ] || [ "$(cat "$VENV/.stamp" 2>/dev/null)" != "$stamp_now" ]; then
  step "Creating the build environment $VENV"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV" || {
    echo "package.sh: cannot make the build environment: '$PYTHON -m venv' failed (Debian: apt install python3-venv)" >&2
    exit 3
  }
  "$VPY" -m pip install -q --upgrade pip || need_env "pip cannot reach the package index"
  "$VPY" -m pip install -q "$PYINSTALLER_REQ" || need_env "PyInstaller could not be installed"
  # Pillow converts the rendered PNG logo into .ico/.icns (not needed for Linux).
  if [ "$os" != linux ]; then "$VPY" -m pip install -q pillow || need_env "Pillow could not be installed"; fi
fi

step "Installing the project (non-editable) into $VENV"
# setuptools builds in ./build/lib: a module deleted from the sources would survive there.
rm -rf build/lib build/bdist.* ./*.egg-info
"$VPY" -m pip uninstall -q -y raison-garder >/dev/null 2>&1 || true
"$VPY" -m pip install -q . || need_env "the project or its dependencies could not be installed"
rm -rf build/lib build/bdist.* ./*.egg-info
echo "$stamp_now" > "$VENV/.stamp"
version=$(cd "$VENV" && "$VPY" -c 'import tray_app; print(tray_app.__version__)')
echo "version $version"

# ---- 2. bundle -----------------------------------------------------------------------------
step "Cleaning previous outputs"
rm -rf "$WORK/pyinstaller" "$WORK/package-icons" "$WORK/package-stage" \
  "$DIST/raison-garder" "$DIST/Raison Garder.app" "$DIST"/raison-garder-*
mkdir -p "$DIST" "$WORK"
# The spec finds the rendered icons here (Windows/macOS).
export RAISON_GARDER_PACKAGE_ICONS="$WORK/package-icons"

if [ "$os" != linux ]; then
  step "Rendering icons and version resource"
  QT_QPA_PLATFORM=offscreen "$VPY" installers/prepare_assets.py "$WORK/package-icons" "$version"
fi

step "Running PyInstaller"
# From the work folder, so the source checkout is not on sys.path: the installed package is bundled.
(cd "$WORK" && "$VENV/$bindir/pyinstaller" --noconfirm --clean --log-level WARN \
  --distpath "$DIST" --workpath "$WORK/pyinstaller" "$ROOT/installers/raison-garder.spec")

bundle="$DIST/raison-garder"
exe="$bundle/raison-garder"
[ "$os" = windows ] && exe="$exe.exe"
[ -x "$exe" ] || { echo "package.sh: PyInstaller produced no $exe" >&2; exit 1; }

# ICU's data library (32 MB, a third of the bundle) reduced to the root, English and French:
# what Qt needs for sorting, case mapping and time-zone names in the app's languages.
if [ "$os" = linux ]; then
  step "Reducing ICU's data to the app's languages"
  "$VPY" installers/linux/icu_data.py "$bundle" --languages en,fr
fi

# A bundle that cannot even print its version is not worth packaging.
if [ "$os" = linux ]; then
  step "Smoke test: $exe --version"
  "$exe" --version
fi

# ---- 3. OS package -------------------------------------------------------------------------
case "$os" in
linux)
  name="raison-garder-$version-linux-$arch"
  stage="$WORK/package-stage/$name"
  step "Assembling $name"
  mkdir -p "$stage/share/applications" "$stage/share/icons/hicolor/scalable/apps"
  cp -a "$bundle/." "$stage/"
  cp installers/linux/raison-garder.desktop "$stage/share/applications/"
  cp "$resources/icons/raison-garder.svg" "$stage/share/icons/hicolor/scalable/apps/"
  # Manual pages and completions, generated from the bundled program's own parser.
  "$VPY" scripts/make_manpage.py "$stage/share/man"
  mkdir -p "$stage/share/bash-completion/completions" "$stage/share/fish/vendor_completions.d"
  "$exe" completion bash > "$stage/share/bash-completion/completions/raison-garder"
  "$exe" completion fish > "$stage/share/fish/vendor_completions.d/raison-garder.fish"
  install -m 755 installers/linux/install.sh "$stage/install.sh"
  # Reproducible archive: fixed owner, sorted names, no timestamp in the gzip header.
  tar --sort=name --owner=0 --group=0 --numeric-owner -C "$WORK/package-stage" -cf - "$name" \
    | gzip -9 -n > "$DIST/$name.tar.gz"
  if [ "$appimage" = 1 ]; then
    step "AppImage"
    bash installers/linux/appimage/build-appimage.sh "$bundle" "$WORK/AppDir" \
      "$DIST/raison-garder-$version-$arch.AppImage"
  fi
  ;;
windows)
  iscc=$(command -v iscc || command -v ISCC.exe || true)
  [ -z "$iscc" ] && [ -x "/c/Program Files (x86)/Inno Setup 6/ISCC.exe" ] \
    && iscc="/c/Program Files (x86)/Inno Setup 6/ISCC.exe"
  if [ -n "$iscc" ]; then
    step "Inno Setup"
    "$iscc" //Q "//DAppVersion=$version" "//DSourceDir=$(cygpath -w "$bundle")" \
      "//DIconFile=$(cygpath -w "$WORK/package-icons/raison-garder.ico")" \
      "//O$(cygpath -w "$DIST")" installers/windows/raison-garder.iss
  else
    echo "Inno Setup (iscc) not found: bundle left in $bundle; see installers/README.md."
  fi
  ;;
macos)
  step "Disk image"
  bash installers/macos/make-dmg.sh "$DIST/Raison Garder.app" "$DIST/raison-garder-$version-macos-$arch.dmg"
  ;;
esac

step "Done"
ls -l "$DIST"
