"""Building a TargetContext for target tests (unit and sandbox)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from valet.config import Config, TargetConfig
from valet.manifest import artifact_for
from valet.request import Request
from valet.targets.base import TargetContext


def make_ctx(tmp_path: Path, files: list[Path], *, name: str, version: str = "1.2.3",
             options: dict[str, Any] | None = None, env: Mapping[str, str] | None = None,
             include: str | None = None, exclude: str | None = None, github: Any = None,
             repo: str = "acme/sdk", sha: str | None = "a" * 40, release_id: int | None = None,
             changelog: str = "", config: Config | None = None,
             target_id: str | None = None) -> TargetContext:
    target = TargetConfig(name=name, id=target_id, options=dict(options or {}),
                          include_names=re.compile(include) if include else None,
                          exclude_names=re.compile(exclude) if exclude else None)
    cfg = config or Config(targets=[target])
    arts = {p.name: artifact_for(p) for p in files}
    request = Request(repo=repo, version=version, sha=sha, artifacts=list(arts.values()),
                      release_id=release_id, changelog=changelog)
    workdir = tmp_path / "work"
    workdir.mkdir(parents=True, exist_ok=True)
    base_env = {"PATH": os.environ.get("PATH", "")}
    base_env.update(env or {})
    return TargetContext(request=request, config=cfg, target=target,
                         files={p.name: p for p in files}, artifacts=arts, workdir=workdir,
                         env=base_env, github=github)


def write_tar_gz(path: Path, members: dict[str, bytes]) -> Path:
    """A .tgz / .crate with exactly these members (deterministic mtime)."""
    import io
    import tarfile

    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_700_000_000
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return path


CARGO_TOML = """\
[package]
edition = "2021"
rust-version = "1.70"
name = "{name}"
version = "{version}"
authors = ["Alice <a@example.com>"]
description = "a test crate"
readme = "README.md"
keywords = ["test"]
categories = ["development-tools"]
license = "MIT"
repository = "https://example.com/acme/sdk"

[dependencies.serde]
version = "1.0"
features = ["derive"]

[dependencies.rand_core]
version = ">=0.6, <0.7"
optional = true
default-features = false
package = "rand"

{extra}
[dev-dependencies.tempfile]
version = "3"

[build-dependencies.cc]
version = "1.0.80"

[target."cfg(windows)".dependencies.winapi]
version = "0.3"

[features]
default = ["std"]
std = []
rng = ["dep:rand_core"]

[badges.maintenance]
status = "actively-developed"
"""


def make_crate(tmp_path: Path, name: str = "acme-sdk", version: str = "1.2.3",
               extra: str = "", payload: str = "") -> Path:
    toml = CARGO_TOML.format(name=name, version=version, extra=extra)
    prefix = f"{name}-{version}"
    return write_tar_gz(tmp_path / f"{prefix}.crate", {
        f"{prefix}/Cargo.toml": toml.encode(),
        f"{prefix}/Cargo.toml.orig": b"[package]\n",
        f"{prefix}/README.md": b"# acme\nhello\n",
        f"{prefix}/src/lib.rs": f"// {payload}\npub fn f() {{}}\n".encode(),
    })


def make_tgz(tmp_path: Path, name: str = "@acme/sdk", version: str = "1.2.3",
             extra: dict[str, Any] | None = None, payload: str = "") -> Path:
    import json

    manifest = {"name": name, "version": version, "license": "MIT", **(extra or {})}
    fname = f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"
    return write_tar_gz(tmp_path / fname, {
        "package/package.json": json.dumps(manifest).encode(),
        "package/index.js": f"module.exports = {payload!r};\n".encode(),
    })
