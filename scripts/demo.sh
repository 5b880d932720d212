#!/usr/bin/env bash
# Installs the dependencies, builds, and runs the embedded demo: a registry, three
# contributors, the planner, the deployer and a session in one process.
# Extra arguments go to `llamps demo` (e.g. --model PATH --prompt TEXT --ids).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
build/llamps demo "$@"
