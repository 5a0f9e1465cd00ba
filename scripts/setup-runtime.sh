#!/usr/bin/env bash
# Set up the Python runtime of a valet action and name it in GITHUB_ENV (VALET_BIN, the
# valet executable; VALET_RUNTIME_BIN, its bin dir).
#
# The runtime is NOT put on PATH: later steps of the job, and the project's build that
# `valet build` runs, keep the job's own tools (`python -m build` must find the Python
# the workflow set up, not valet's venv, which has no `build`). The actions call
# "$VALET_BIN" directly, and valet takes VALET_RUNTIME_BIN off the build's PATH too.
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

{
  echo "VALET_BIN=$bindir/valet"
  echo "VALET_RUNTIME_BIN=$bindir"
} >> "${GITHUB_ENV:-/dev/null}"
