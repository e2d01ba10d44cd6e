#!/usr/bin/env bash
# Install cnnref for development: the package with its test tools (PyTorch CPU among them), and
# the system tools some tests drive: Chromium (the HTML report in a real browser), a C
# compiler (the golden vectors' C reader, examples/c) and cargo (examples/rust: no crates, so
# Debian's cargo builds it offline).
# Without apt-get or root, only the Python part is installed, and those tests skip locally
# (and fail under CI=true).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}

"$python" -m pip install --quiet -e ".[test]"
# JAX (CPU), only for the test of cnnref.adapters.jax_forward: not a dependency of cnnref.
"$python" -m pip install --quiet "jax[cpu]"

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v cc >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
command -v cargo >/dev/null 2>&1 || [ -x "$HOME/.cargo/bin/cargo" ] || missing+=(cargo)
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if command -v apt-get >/dev/null 2>&1 && { [ -z "$sudo" ] || sudo -n true 2>/dev/null; }; then
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
    echo "scripts/install.sh: could not install ${missing[*]} (needs apt-get and root):" \
        "the tests that need it skip locally and fail under CI=true" >&2
fi
