#!/usr/bin/env bash
# The real-diffusers detection test (tests/detect/test_diffusers_real.py) runs a plain diffusers
# script in its own venv, as a user's script runs: build/diffusers-venv with CPU torch and
# diffusers. Neither is a dependency of Raison Garder; this venv exists for that test only.
#
#   scripts/diffusers-test-env.sh        # CI (CI=true) or RAISON_GARDER_DIFFUSERS_TESTS=1: make it
#
# Pinned so pip's cache serves every later run: torch 2.13.0 is the CPU build this project's
# machines keep on disk (about 30 s and 1.1 GB here); elsewhere pip may fetch a far larger build,
# so a developer's `make test` makes this venv only when asked. Exit 1 when it cannot be made.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${RAISON_GARDER_DIFFUSERS_VENV:-build/diffusers-venv}
PINS="torch==2.13.0 diffusers==0.42.1"
if [ "${CI:-}" != true ] && [ "${RAISON_GARDER_DIFFUSERS_TESTS:-}" != 1 ]; then
  [ -x "$VENV/bin/python" ] || echo "The real-diffusers test will be skipped: RAISON_GARDER_DIFFUSERS_TESTS=1 make test installs CPU torch + diffusers (~1 GB) into $VENV for it."
  exit 0
fi
if [ "$(cat "$VENV/.pins" 2>/dev/null)" = "$PINS" ] && [ -x "$VENV/bin/python" ]; then
  exit 0
fi
echo "Making $VENV ($PINS) for the real-diffusers test"
rm -rf "$VENV"
python3 -m venv "$VENV"
# shellcheck disable=SC2086 # the pins are separate words
"$VENV/bin/python" -m pip install -q $PINS
"$VENV/bin/python" -c 'import diffusers, torch' >/dev/null
echo "$PINS" > "$VENV/.pins"
