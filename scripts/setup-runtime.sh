#!/usr/bin/env bash
# Set up the Python runtime of a valet action and print its bin dir to GITHUB_PATH.
#
# - VALET_RUNTIME names an already-built venv (the test suite passes the
#   project's own .venv so act runs do not reinstall): used as is.
# - Otherwise a venv under $RUNNER_TEMP is created from the hash-pinned lock
#   (--require-hashes) plus this repository, and reused by later valet actions
#   of the same job when the lock's hash matches.
# Nothing here reads a workflow expression: inputs arrive through env only.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
lock="$here/requirements/runtime.lock"

if [[ -n "${VALET_RUNTIME:-}" ]]; then
  if [[ ! -x "$VALET_RUNTIME/bin/valet" ]]; then
    echo "::error::VALET_RUNTIME=$VALET_RUNTIME holds no valet executable" >&2
    exit 1
  fi
  bindir="$VALET_RUNTIME/bin"
else
  python="${VALET_PYTHON:-python3}"
  lock_hash="$(sha256sum "$lock" "$here/pyproject.toml" | sha256sum | cut -c1-16)"
  venv="${RUNNER_TEMP:-/tmp}/valet-runtime-$lock_hash"
  if [[ -x "$venv/bin/valet" && -f "$venv/.valet-ready" ]]; then
    echo "valet runtime: reusing $venv"
  else
    echo "::group::valet runtime: installing into $venv"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes -r "$lock"
    # The package itself: no dependencies (they all came from the lock above).
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation "$here" \
      || "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps "$here"
    touch "$venv/.valet-ready"
    echo "::endgroup::"
  fi
  bindir="$venv/bin"
fi

if [[ -n "${GITHUB_PATH:-}" ]]; then
  echo "$bindir" >> "$GITHUB_PATH"
fi
echo "VALET_BIN=$bindir/valet" >> "${GITHUB_ENV:-/dev/null}"
