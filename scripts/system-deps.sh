#!/usr/bin/env bash
# Install the Debian packages the app and its tests need, when we can (root + apt-get).
# Otherwise name them. `run` mode then carries on (exit 0); `test` mode exits 1 while any is
# missing, so CI never passes with a layer that could not run (`make test` carries on locally,
# where the tests needing them skip and are listed at the end); `package` mode exits 1 too:
# scripts/package.sh cannot shrink ICU's data without them.
# Usage: scripts/system-deps.sh run|test|package
set -u
mode=${1:-test}
# The status to end with when packages are still missing.
missing_status=0
[ "$mode" = test ] && missing_status=1
[ "$mode" = package ] && missing_status=1
# Qt's xcb platform plugin and its usual runtime libraries.
run_pkgs="libegl1 libgl1 libfontconfig1 libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4
  libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0
  libxcb-xkb1 libdbus-1-3 libglib2.0-0"
# Real services the tests drive: a virtual X display, a real XEmbed tray, a notification daemon
# on a private D-Bus, Prometheus, screenshots, and a C compiler for the fake NVML driver.
test_pkgs="xvfb trayer dunst dbus dbus-x11 libnotify-bin prometheus imagemagick x11-utils xdotool gcc libc6-dev desktop-file-utils man-db"
# The Linux package: ICU's data tools (icupkg, genccode) and a linker shrink libicudata.
package_pkgs="icu-devtools binutils"
pkgs="$run_pkgs"
[ "$mode" = test ] && pkgs="$pkgs $test_pkgs $package_pkgs"
[ "$mode" = package ] && pkgs="$package_pkgs"
# python3 -m venv needs python3-venv with Debian's own Python.
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then pkgs="$pkgs python3-venv"; fi

missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "Not a Debian-like system: please install the equivalents of:$missing (tests needing them will be skipped)."
  exit $missing_status
fi
if [ "$(id -u)" != 0 ]; then
  echo "Missing system packages (need root to install):$missing"
  echo "  sudo apt-get install -y$missing    -- meanwhile the tests that need them are skipped."
  exit $missing_status
fi
echo "Installing system packages:$missing"
export DEBIAN_FRONTEND=noninteractive
if apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $missing >/dev/null; then
  exit 0
fi
echo "Could not install some of:$missing (the tests needing them will be skipped)."
exit $missing_status
