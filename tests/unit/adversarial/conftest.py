"""Counts the adversarial cases of the session and prints the count at the end.

Every test marked ``adversarial`` counts, wherever it lives (this directory, the
fuzz suite, the act end-to-end cases), whenever this conftest is loaded, which
is the case whenever tests/unit is part of the run (as in `make test`). A
conftest's own run-test hooks only see the tests under its directory, so the
counter is registered as a session-wide plugin instead.
"""

from __future__ import annotations

from collections import Counter

import pytest

PLUGIN_NAME = "valet-adversarial-counter"


def _area(nodeid: str) -> str:
    parts = nodeid.split("::", 1)[0].split("/")
    return "/".join(parts[:3]) if len(parts) > 3 else "/".join(parts)


class AdversarialCounter:
    def __init__(self) -> None:
        self.seen: dict[str, str] = {}  # nodeid -> outcome

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if "adversarial" not in report.keywords:
            return
        if report.when == "call" or (report.when == "setup" and not report.passed):
            outcome = report.outcome
            if hasattr(report, "wasxfail"):
                outcome = "xfailed" if report.skipped else "xpassed"
            self.seen[report.nodeid] = outcome
        elif report.when == "teardown" and report.failed:
            self.seen[report.nodeid] = "error"

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.seen:
            return
        outcomes = Counter(self.seen.values())
        by_area = Counter(_area(n) for n in self.seen)
        detail = ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items()))
        terminalreporter.write_sep("=", "adversarial cases")
        terminalreporter.write_line(f"adversarial cases: {len(self.seen)} ({detail})")
        for area, n in sorted(by_area.items()):
            terminalreporter.write_line(f"  {n:4d}  {area}")


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin(PLUGIN_NAME):
        config.pluginmanager.register(AdversarialCounter(), PLUGIN_NAME)
