#!/usr/bin/env bash
# Installs kforge's build and test dependencies from Debian/Ubuntu packages (no vendored copies,
# no downloads during the build). Skips packages already installed; needs root (or sudo) only
# when something is missing.
set -euo pipefail
packages=(cmake ninja-build g++ nlohmann-json3-dev libcli11-dev libfmt-dev libsqlite3-dev libgtest-dev libgmock-dev
          libpng-dev chromium)  # libpng + chromium: the HTML report's screenshot test
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
