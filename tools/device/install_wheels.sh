#!/usr/bin/env bash
# On the GPU machine (no network): installs the wheels carried in .deps/wheels/ (from
# tools/device/fetch_wheels.sh) into .deps/pylib/, without their dependencies, and checks that the
# packages FLA needs from the image are there. Use them with
#   tools/device/install_wheels.sh && export PYTHONPATH=$PWD/.deps/pylib${PYTHONPATH:+:$PYTHONPATH}
set -euo pipefail
cd "$(dirname "$0")/../.."
wheels=(.deps/wheels/*.whl)
if [[ ! -e ${wheels[0]} ]]; then
  echo "install_wheels: no wheels in .deps/wheels (run tools/device/fetch_wheels.sh here, carry .deps/wheels)" >&2
  exit 1
fi
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target .deps/pylib "${wheels[@]}"
PYTHONPATH=$PWD/.deps/pylib${PYTHONPATH:+:$PYTHONPATH} python3 - <<'PY'
import importlib.metadata as md

for dist in ("fla-core", "flash-linear-attention"):
    print(f"{dist} {md.version(dist)} (carried)")
# What fla-core and flash-linear-attention 0.6.0 import from the image.
for dist in ("torch", "triton", "einops", "transformers"):
    try:
        print(f"{dist} {md.version(dist)} (image)")
    except md.PackageNotFoundError:
        raise SystemExit(f"install_wheels: {dist} is missing on this machine; carry its wheel too")
PY
