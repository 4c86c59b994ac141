#!/usr/bin/env bash
# Run here (where Debian's registry is reachable): downloads the Debian packages the GPU machine
# lacks into .deps/debs (gitignored) so a device run can carry them. run_device.sh unpacks them
# into a project-local prefix (never into /) and points CMake at it.
#   SQLite: the search loop's store (the image has no sqlite3.h).
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .deps/debs
cd .deps/debs
apt-get download libsqlite3-dev libsqlite3-0
ls -l
