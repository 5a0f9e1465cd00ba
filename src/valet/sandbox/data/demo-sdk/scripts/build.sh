#!/usr/bin/env bash
# The demo's build (real projects use their own): the wheel and sdist of
# python/ and the npm tarball of js/ into dist/, offline. prepare has already
# bumped the versions; it gives the version in VALET_VERSION.
set -euo pipefail
rm -rf dist
mkdir -p dist
if ! python3 -c 'import build, setuptools, wheel' 2>/dev/null; then
  echo "this build needs python3 with the 'build', 'setuptools' and 'wheel' packages" >&2
  exit 1
fi
# --no-isolation: use the installed setuptools instead of downloading one.
python3 -m build --no-isolation --outdir dist python
rm -rf python/build python/src/*.egg-info
npm_config_update_notifier=false npm pack ./js --pack-destination dist --silent
ls -l dist
