"""The hash-pinned locks install wherever the actions run.

Offline: no line of either lock names this machine (index URLs, find-links, local
paths) and every pin carries hashes. Network (marked ``network``: they reach the
package index, nothing else): every pin that applies to a supported Python and
platform has a wheel among its hashed files for it, and the runtime installs
from the lock with pip's configuration neutralised, printing no warning.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from packaging import tags
from packaging.markers import Marker
from packaging.utils import canonicalize_name, parse_wheel_filename

ROOT = Path(__file__).resolve().parents[3]
LOCKS = [ROOT / "requirements" / "runtime.lock", ROOT / "requirements" / "dev.lock"]
RUNTIME_LOCK = LOCKS[0]
PYTHONS = [(3, 10), (3, 11), (3, 12), (3, 13)]


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    marker: Marker | None
    hashes: frozenset[str]


def parse_lock(path: Path) -> list[Pin]:
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    pins = []
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        requirement, _, marker = line.partition(";")
        hashes = frozenset(re.findall(r"--hash=sha256:([0-9a-f]{64})", line))
        marker = marker.split("--hash", 1)[0].strip()
        name, _, version = requirement.split("--hash", 1)[0].strip().partition("==")
        pins.append(Pin(str(canonicalize_name(name)), version.strip(),
                        Marker(marker) if marker else None, hashes))
    return pins


@dataclass(frozen=True)
class Platform:
    label: str
    sys_platform: str
    machine: str
    platforms: tuple[str, ...]  # wheel platform tags the runner's pip accepts, best first


def _manylinux(arch: str, glibc_minor: int) -> tuple[str, ...]:
    # ubuntu-22.04 runners have glibc 2.35; what they accept, newest first, plus the aliases.
    out = [f"manylinux_2_{m}_{arch}" for m in range(glibc_minor, 4, -1)]
    out += [f"manylinux2014_{arch}"]
    if arch == "x86_64":
        out += [f"manylinux2010_{arch}", f"manylinux1_{arch}"]
    return (*out, f"linux_{arch}")


PLATFORMS = [
    Platform("linux-x86_64", "linux", "x86_64", _manylinux("x86_64", 35)),
    Platform("linux-arm64", "linux", "aarch64", _manylinux("aarch64", 35)),
    # macOS runners are Apple silicon (macos-14 and later). Intel macOS is not covered:
    # cryptography no longer ships x86_64 macOS wheels, so pip would build it from source.
    Platform("macos-arm64", "darwin", "arm64", tuple(tags.mac_platforms((14, 0), "arm64"))),
]


def environment(py: tuple[int, int], plat: Platform) -> dict[str, str]:
    return {"python_version": f"{py[0]}.{py[1]}", "python_full_version": f"{py[0]}.{py[1]}.0",
            "sys_platform": plat.sys_platform, "platform_machine": plat.machine,
            "platform_system": "Linux" if plat.sys_platform == "linux" else "Darwin",
            "os_name": "posix", "implementation_name": "cpython",
            "platform_python_implementation": "CPython", "implementation_version": "",
            "platform_release": "", "platform_version": "", "extra": ""}


def applicable(pins: list[Pin], py: tuple[int, int], plat: Platform) -> list[Pin]:
    env = environment(py, plat)
    return [p for p in pins if p.marker is None or p.marker.evaluate(env)]


# -- offline ---------------------------------------------------------------


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: p.name)
def test_lock_names_nothing_of_this_machine(lock: Path) -> None:
    text = lock.read_text()
    for pattern in (r"--(extra-)?index-url", r"--find-links", r"\bfile:", r"(^|\s)/(opt|home|tmp|work|usr)/",
                    r"--trusted-host"):
        assert not re.search(pattern, text, re.M), f"{lock.name} has a machine-local line: {pattern}"
    assert "make lock" in text.splitlines()[1], "the header names the command that regenerates it"


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: p.name)
def test_every_pin_is_exact_and_hashed(lock: Path) -> None:
    pins = parse_lock(lock)
    assert len(pins) > 10
    for pin in pins:
        assert pin.version, f"{pin.name} is not pinned with =="
        assert pin.hashes, f"{pin.name}=={pin.version} has no hash"


@pytest.mark.parametrize("py", PYTHONS, ids=lambda v: f"py{v[0]}.{v[1]}")
@pytest.mark.parametrize("plat", PLATFORMS, ids=lambda p: p.label)
def test_one_pin_per_package_for_every_python_and_platform(py: tuple[int, int],
                                                           plat: Platform) -> None:
    # A universal lock carries one pin per (package, marker); for any one runner the
    # markers must leave exactly one, and the packages that only some Pythons need
    # (tomli before 3.11) must be there for them.
    for lock in LOCKS:
        pins = applicable(parse_lock(lock), py, plat)
        names = [p.name for p in pins]
        dupes = {n for n in names if names.count(n) > 1}
        assert not dupes, f"{lock.name}: two pins apply on {plat.label} {py}: {dupes}"
    runtime = {p.name for p in applicable(parse_lock(RUNTIME_LOCK), py, plat)}
    assert {"pygithub", "requests", "pyyaml", "jsonschema", "twine", "packaging"} <= runtime
    assert ("tomli" in runtime) == (py < (3, 11)), "tomli is needed exactly before 3.11"


# -- network: the package index ---------------------------------------------


def _simple_root() -> str:
    """The default index's simple API (PEP 691 JSON), from the root valet itself knows."""
    from valet.targets.pypi import DEFAULT_REPOSITORY_URL, KNOWN_INDEXES

    return KNOWN_INDEXES[DEFAULT_REPOSITORY_URL].rsplit("/", 1)[0] + "/simple"


def _files(session: requests.Session, name: str) -> dict[str, str]:
    """sha256 -> file name of every file of a project on the index."""
    resp = session.get(f"{_simple_root()}/{name}/", timeout=60,
                       headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    resp.raise_for_status()
    return {f["hashes"]["sha256"]: f["filename"] for f in resp.json()["files"]
            if "sha256" in f.get("hashes", {})}


def _wheel_fits(filename: str, py: tuple[int, int], plat: Platform) -> bool:
    _, _, _, wheel_tags = parse_wheel_filename(filename)
    accepted = set(tags.cpython_tags(py, platforms=plat.platforms))
    accepted |= set(tags.compatible_tags(py, platforms=plat.platforms))
    return bool(wheel_tags & accepted)


@pytest.mark.network
@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: p.name)
def test_every_pin_has_a_hashed_wheel_for_each_python_and_platform(lock: Path) -> None:
    pins = parse_lock(lock)
    missing: list[str] = []
    with requests.Session() as session:
        session.trust_env = True
        wheels = {}
        index: dict[str, dict[str, str]] = {}
        for pin in pins:
            if pin.name not in index:
                index[pin.name] = _files(session, pin.name)
            files = [index[pin.name][h] for h in pin.hashes if h in index[pin.name]]
            assert files, f"{pin.name}=={pin.version}: no file on the index has a locked hash"
            wheels[pin] = [f for f in files if f.endswith(".whl")]
    for py in PYTHONS:
        for plat in PLATFORMS:
            for pin in applicable(pins, py, plat):
                if not any(_wheel_fits(w, py, plat) for w in wheels[pin]):
                    missing.append(f"{pin.name}=={pin.version} on {plat.label} {py[0]}.{py[1]}")
    assert not missing, "no hashed wheel for:\n" + "\n".join(missing)


def _neutral_pip_env(home: Path) -> dict[str, str]:
    """This machine's pip points at local mirrors: drop every PIP_* setting and every
    configuration file, keep only the CA bundle (the real index must stay reachable)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update({"PIP_CONFIG_FILE": os.devnull, "HOME": str(home),
                "XDG_CONFIG_HOME": str(home / ".config"), "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                "PIP_NO_INPUT": "1"})
    if os.environ.get("PIP_CERT"):
        env["PIP_CERT"] = os.environ["PIP_CERT"]
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    return env


@pytest.mark.network
def test_runtime_installs_from_the_lock_with_pip_config_neutralised(tmp_path: Path) -> None:
    target = tmp_path / "venv"
    venv.create(target, with_pip=True)
    python = target / "bin" / "python"
    env = _neutral_pip_env(tmp_path)
    config = subprocess.run([str(python), "-m", "pip", "config", "debug"], env=env,
                            capture_output=True, text=True, check=True).stdout
    assert "find-links" not in config and "constraint" not in config, config
    proc = subprocess.run([str(python), "-m", "pip", "install", "--require-hashes",
                           "--only-binary=:all:", "-r", str(RUNTIME_LOCK)],
                          env=env, capture_output=True, text=True, timeout=600)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    noise = [line for line in output.splitlines()
             if re.match(r"\s*(WARNING|DEPRECATION)\b", line, re.I)]
    assert not noise, "pip printed warnings:\n" + "\n".join(noise)
    check = subprocess.run([str(python), "-c", "import github, requests, yaml, jsonschema, "
                            "twine, packaging, tomlkit; print('ok')"], env=env,
                           capture_output=True, text=True)
    assert check.stdout.strip() == "ok", check.stderr
    assert sys.version_info[:2] in PYTHONS


def test_make_lock_runs_uv_universal_with_the_machines_index_settings_unset() -> None:
    dry = subprocess.run(["make", "-n", "lock"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    compiles = [line for line in dry.splitlines() if "uv pip compile" in line]
    assert len(compiles) == 2, dry  # runtime.lock and dev.lock
    for line in compiles:
        assert "--universal" in line and "--generate-hashes" in line and "--no-config" in line
        assert "-u UV_INDEX_URL" in line and "-u UV_FIND_LINKS" in line
        uv = next(w for w in line.split() if w.endswith("/bin/uv"))
        assert Path(uv).is_absolute() and Path(uv).exists(), "make lock runs after `cd requirements`"
