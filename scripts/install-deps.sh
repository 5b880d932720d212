#!/usr/bin/env bash
# Installs everything LLaMPS needs to build, run and test on a fresh Debian 12 machine.
# Only Debian packages (and, for the browser test, npm packages installed by tests/web/).
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
packages=(
  build-essential cmake ninja-build pkg-config git
  dpkg-dev adduser                # the Debian package: dpkg-shlibdeps computes its dependencies
  libcaf-dev                      # C++ Actor Framework 0.17 (core, io, openssl)
  libtorch-dev                    # libtorch 1.13 CPU
  libopenblas0-openmp             # fast BLAS for libtorch, bench's probes (the reference BLAS is ~10x slower)
  libspdlog-dev libboost-program-options-dev catch2
  nlohmann-json3-dev libcpp-httplib-dev libssl-dev openssl
  libreadline-dev                 # line editing and history in `llamps shell`
  libpcre2-dev                    # the tokenizers' pre-tokenizer regular expressions (UTF-8, JIT)
  clang libclang-rt-14-dev        # libFuzzer targets
  iproute2 procps curl            # integration tests (network namespaces, process control)
  chromium python3                # the browser test (driven by playwright-core); JSON checks
  python3-jinja2                  # the chat-template oracle (tests/integration/chat_oracle.sh)
)
# node and npm run the HTTP API and browser tests (npm packages pinned in tests/web/). A
# preinstalled node (e.g. NodeSource's, which bundles npm) is kept; else Debian's.
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
# libtorch dlopens whatever libblas.so.3 points at: make sure it is OpenBLAS.
if [ -e /usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3 ]; then
  $SUDO update-alternatives --set libblas.so.3-x86_64-linux-gnu \
    /usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3 >/dev/null 2>&1 || true
fi
echo "install-deps: ok"
