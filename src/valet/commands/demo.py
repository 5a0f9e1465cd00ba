"""`valet demo`: one whole release — request, approval, publish — in a local sandbox.

Runs :class:`valet.sandbox.scenario.Scenario` (the example workflows with act
against the GitHub fake, pypiserver and verdaccio), then shows the proof a
release engineer can check: the request issue, the approval, ``pip install``
and ``npm view`` of the released version from the sandbox registries, the
published GitHub release with its asset digests, the closed issue, a digest
table (request vs PyPI vs npm vs GitHub), API calls and time per phase, and
the step summaries of prepare, request and publish. Everything is torn down at
the end, also on failure or Ctrl-C; the exit code is non-zero if any proof fails.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from valet.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo", help="one whole release (request, approval, publish) in a local sandbox",
        description="Release a sample SDK end to end in a local sandbox (GitHub fake, "
                    "pypiserver, verdaccio) with act, then show the proof. Needs `make setup`.")
    p.add_argument("--version", dest="release_version", default="1.0.0", metavar="V",
                   help="the version to release (default 1.0.0)")
    p.add_argument("--state", type=Path, metavar="DIR",
                   help="keep the sandbox's state, checkouts and act logs in DIR "
                        "(a new or empty directory); default: a temporary directory")
    p.add_argument("--keep", action="store_true",
                   help="keep the temporary directory (act logs, checkouts) for inspection; "
                        "processes are stopped either way")
    p.set_defaults(func=run)


# --------------------------------------------------------------------------- output
@dataclass
class Proof:
    what: str
    ok: bool
    detail: str = ""


class Out:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.color = stream.isatty() and not os.environ.get("NO_COLOR")

    def _c(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.color else text

    def line(self, text: str = "") -> None:
        print(text, file=self.stream, flush=True)

    def heading(self, text: str) -> None:
        self.line()
        self.line(self._c("1", f"== {text} " + "=" * max(0, 70 - len(text))))

    def step(self, text: str) -> None:
        self.line(self._c("36", "→ ") + text)

    def proof(self, p: Proof) -> None:
        mark = self._c("32", "PASS") if p.ok else self._c("31", "FAIL")
        self.line(f"[{mark}] {p.what}")
        for detail in p.detail.splitlines():
            self.line(f"       {detail}")

    def indent(self, text: str, prefix: str = "    │ ") -> None:
        for raw in text.splitlines():
            self.line(prefix + raw)


def table(rows: list[list[str]], header: list[str]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*header), fmt.format(*("-" * w for w in widths)),
            *(fmt.format(*r) for r in rows)]


def _short(sha: str | None) -> str:
    return f"{sha[:12]}…" if sha else "—"


def body_excerpt(body: str, limit: int = 20) -> str:
    """The visible head of the request issue: up to the artifacts table, blank lines dropped."""
    lines: list[str] = []
    for raw in body.splitlines():
        if raw.startswith(("<!--", "<details", "### Artifacts")) or raw.strip() == "---":
            break
        if raw.strip():
            lines.append(raw)
    more = len(lines) > limit
    return "\n".join(lines[:limit]) + ("\n…" if more else "")


# --------------------------------------------------------------------------- signals
class _Stop(BaseException):
    """SIGTERM / SIGHUP: unwind through the finally blocks like Ctrl-C does."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


# --------------------------------------------------------------------------- run
def run(args: argparse.Namespace) -> int:
    version = str(args.release_version)
    _check_version(version)
    state: Path | None = args.state
    if state is not None:
        state = state.resolve()
        if state.exists() and (not state.is_dir() or any(state.iterdir())):
            raise UsageError(f"--state {state} is not a new or empty directory",
                             hint="pass a directory that does not exist yet (or is empty)")
        state.mkdir(parents=True, exist_ok=True)
        work, keep = state, True
    else:
        work, keep = Path(tempfile.mkdtemp(prefix="valet-demo-")), bool(args.keep)

    out = Out(sys.stdout)
    previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
    for s in previous:
        signal.signal(s, _raise_stop)
    started = time.monotonic()
    try:
        return _demo(out, work, version, started)
    except _Stop as stop:
        out.line(f"\nvalet demo: stopped by {stop} — torn down")
        return 143
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if keep:
            out.line(f"\nkept: {work} (act logs under act-*/act.log, checkouts, sandbox state)")
        else:
            shutil.rmtree(work, ignore_errors=True)


def _check_version(version: str) -> None:
    from valet.version import is_valid_version

    if not is_valid_version(version):
        raise UsageError(f"--version {version!r} is not a semantic version",
                         hint="pass e.g. --version 1.0.0")


def _demo(out: Out, work: Path, version: str, started: float) -> int:
    from valet.sandbox.scenario import Scenario, ScenarioResult

    out.line("valet demo — one release, request → approval → publish, in a local sandbox")
    out.line("  The SDK side has no registry secret; the publish side never builds or runs SDK code.")
    scenario = Scenario(work, version=version, log=lambda m: None)
    proofs: list[Proof] = []
    result: ScenarioResult = scenario.result
    pids: list[int] = []
    try:
        _phases(out, scenario)
        result = scenario.result
        pids = scenario.pids()
        proofs = _show(out, scenario, result)
    finally:
        pids = pids or scenario.pids()
        scenario.stop()
    left = [pid for pid in pids if _alive(pid)]
    proofs.append(Proof("torn down: sandbox, pypiserver and verdaccio stopped", not left,
                        f"still running: {left}" if left else ""))
    out.proof(proofs[-1])
    wall = time.monotonic() - started
    failed = [p for p in proofs if not p.ok]
    out.heading("Result")
    out.line(f"wall time {wall:.1f} s · {len(proofs) - len(failed)}/{len(proofs)} proofs passed")
    if failed:
        out.line("FAILED: " + "; ".join(p.what for p in failed))
        return 1
    out.line(f"{result.sdk_repo}@{version} was requested, approved and published; "
             "every digest matches the request.")
    return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is gone for our purposes
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True


def _phases(out: Out, sc: Any) -> None:
    v = sc.version
    out.heading("1. The sandbox")
    p = sc.start_world()
    out.step(f"GitHub fake {p.facts['github']} · PyPI (pypiserver) {p.facts['pypi']} · "
             f"npm (verdaccio) {p.facts['npm']}")
    p = sc.seed()
    out.step(f"org acme, repos {sc.sdk} (the sample SDK + release.yml) and {sc.publish} "
             "(publish.yml, valet-publish.yml naming what it releases, the registry secrets)")
    for login, role in p.facts["users"].items():
        out.line(f"    {login:<20} {role}")

    out.heading("2. Request: dana runs release.yml (prepare → build → request) with act")
    p = sc.release()
    o = p.facts["outputs"]
    out.step(f"prepare (request App token, no project code): version {o.get('version')} on "
             f"branch {o.get('branch')}, release commit {_short(o.get('sha'))}")
    out.step(f"build (no token at all): {p.facts['build'].get('files', '?')} file(s) built "
             "from the release commit, uploaded as a workflow artifact")
    out.step(f"request (request App token): manifest, draft release "
             f"{p.facts['request'].get('release-id') or '—'}, approval issue "
             f"#{p.facts['request'].get('issue-number') or '?'}")
    p = sc.ci_green()
    out.step(f"CI reports green on {_short(p.facts['sha'])} (checks: tests, lint)")
    p = sc.read_request()
    issue = sc.result.issue
    out.step(f"request issue #{issue['number']}: {issue['title']}")
    out.line(f"    {issue['url']}")
    out.indent(body_excerpt(issue["body"]))

    out.heading("3. Approval: riley (release-engineers) adds the `accepted` label")
    p = sc.approve()
    out.step(f"labels now: {', '.join(p.facts['labels'])} (added by {p.facts['by']} "
             "through the API; the issues/labeled event starts publish.yml)")

    out.heading(f"4. Publish: publish.yml on issues/labeled with act ({v})")
    p = sc.run_publish()
    out.step(f"publish job: {', '.join(f'{j} {r}' for j, r in p.facts['jobs'].items())}")
    sc.collect()


def _show(out: Out, sc: Any, r: Any) -> list[Proof]:
    v = sc.version
    proofs: list[Proof] = []
    out.heading("Proof")

    ok, transcript = sc.pip_install()
    proofs.append(Proof(f"pip install acme-widget=={v} from the sandbox PyPI, then import it",
                        ok, transcript))
    out.proof(proofs[-1])
    ok, transcript = sc.npm_view()
    proofs.append(Proof(f"npm view acme-widget@{v} from the sandbox npm registry", ok,
                        transcript))
    out.proof(proofs[-1])

    rel = r.github_release
    assets = "\n".join(f"{a['name']}  {a['size']} bytes  sha256 {a['sha256']}"
                       for a in rel.get("assets", []))
    proofs.append(Proof(f"GitHub release {rel.get('tag')} of {r.sdk_repo} is published "
                        f"(draft={rel.get('draft')})",
                        rel.get("draft") is False and rel.get("tag") == v,
                        f"{rel.get('url')}\n{assets}"))
    out.proof(proofs[-1])

    issue = r.issue
    labels = issue.get("labels", [])
    targets = issue.get("closed_targets", {})
    proofs.append(Proof(f"request issue #{issue.get('number')} is closed with `published`",
                        issue.get("state") == "closed" and labels == ["published"]
                        and bool(targets) and all(targets.values()),
                        f"state {issue.get('state')} · labels {', '.join(labels) or '—'} · "
                        "targets " + ", ".join(f"[{'x' if c else ' '}] {t}"
                                               for t, c in targets.items())))
    out.proof(proofs[-1])
    proofs.append(Proof(f"release/{v} merged into main and deleted",
                        r.merged and not r.release_branch_left,
                        f"merged={r.merged} · branch left={r.release_branch_left}"))
    out.proof(proofs[-1])

    rows = r.digest_rows()
    bad = r.digest_mismatches()
    proofs.append(Proof("every published file's sha256 equals the request's", not bad and
                        bool(rows), "\n".join(bad)))
    out.proof(proofs[-1])
    out.line()
    out.line("  sha256 per file (— = not published there):")
    for text in table([[str(x["file"]), _short(x["manifest"]), _short(x["pypi"]),
                        _short(x["npm"]), _short(x["github"])] for x in rows],
                      ["file", "request", "PyPI", "npm", "GitHub asset"]):
        out.line("    " + text)
    if r.npm.get("integrity"):
        out.line(f"    npm integrity of {v}: {r.npm['integrity']}")

    out.heading("API calls and time per phase")
    phase_rows = [[p.name, f"{p.seconds:.1f} s", str(p.api_calls), str(p.git_requests),
                   ", ".join(f"{u} {n}" for u, n in sorted(p.by_user.items())) or "—"]
                  for p in r.phases]
    total_api = sum(p.api_calls for p in r.phases)
    total_git = sum(p.git_requests for p in r.phases)
    phase_rows.append(["total", f"{sum(p.seconds for p in r.phases):.1f} s", str(total_api),
                       str(total_git), ""])
    for text in table(phase_rows, ["phase", "time", "API calls", "git requests", "by caller"]):
        out.line("    " + text)

    out.heading("Step summaries (what GitHub shows on the run page)")
    for step, markdown in r.summaries:
        out.line(f"  ── {step}")
        out.indent(markdown.strip())
    if not r.summaries:
        out.line("  (none written)")
    return proofs
