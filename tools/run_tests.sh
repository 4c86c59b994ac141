#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test (unit, golden, CLI; GPU tests skip cleanly
# without a GPU). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh
tools/build.sh
ctest --test-dir "${KFORGE_BUILD:-build}" --output-on-failure -j "$(nproc)"
