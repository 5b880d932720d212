#!/usr/bin/env bash
# Builds the Debian package llamps_<version>_<arch>.deb into build/ (after scripts/build.sh).
# Install it with: sudo apt install ./build/llamps_*.deb
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
cd build
cpack -G DEB
ls -1 llamps_*.deb
