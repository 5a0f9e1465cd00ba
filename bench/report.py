"""The pure part of the benchmark: samples -> figures -> results.json and a table."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Goal:
    op: str  # "<=" or ">="
    value: float

    def met(self, measured: float) -> bool:
        if self.op == "<=":
            return measured <= self.value
        if self.op == ">=":
            return measured >= self.value
        raise ValueError(f"unknown goal operator {self.op!r}")

    def __str__(self) -> str:
        return f"{self.op} {_num(self.value)}"


# The figures, in the order the table shows them.
FIGURES: dict[str, tuple[str, Goal | None]] = {
    "publish_api_calls": ("requests", Goal("<=", 16)),
    "publish_sequential_round_trips": ("round trips", Goal("<=", 8)),
    "upload_latency_ratio": ("ratio", Goal("<=", 2.5)),
    "calls_per_extra_target": ("requests", Goal("<=", 1.0)),
    "issue_writes.n1": ("writes", None),
    "issue_writes.n32": ("writes", Goal("<=", 10)),
    "sweep_calls": ("requests", Goal("<=", 60)),
    "targets_concurrency_ratio": ("ratio", Goal("<=", 0.3)),
    "api_calls_per_release": ("requests", Goal("<=", 40)),
    "peak_rss_mib_1gib": ("MiB", Goal("<=", 100)),
    "verify_throughput_ratio": ("ratio", Goal(">=", 0.8)),
    "label_to_published_s": ("s", Goal("<=", 10)),
    "action_setup_s.cold": ("s", None),
    "action_setup_s.warm": ("s", None),
}


@dataclass
class Figure:
    name: str
    unit: str
    samples: list[float]
    goal: Goal | None = None
    details: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def stats(self) -> dict[str, float]:
        return summarize(self.samples)

    @property
    def met(self) -> bool | None:
        if self.goal is None or not self.samples:
            return None
        return self.goal.met(self.stats["median"])

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"unit": self.unit, "runs": len(self.samples),
                               "samples": [round(s, 4) for s in self.samples]}
        if self.samples:
            out.update({k: round(v, 4) for k, v in self.stats.items()})
        out["goal"] = str(self.goal) if self.goal else None
        out["met"] = self.met
        if self.details:
            out["details"] = self.details
        if self.note:
            out["note"] = self.note
        return out


def summarize(samples: Sequence[float]) -> dict[str, float]:
    """median, min and max of the samples (at least one, all finite)."""
    if not samples:
        raise ValueError("no samples to summarize")
    if any(not math.isfinite(s) for s in samples):
        raise ValueError(f"non-finite sample in {list(samples)}")
    return {"median": float(statistics.median(samples)), "min": float(min(samples)),
            "max": float(max(samples))}


def figure(name: str, samples: Sequence[float], *, details: Mapping[str, Any] | None = None,
           note: str = "") -> Figure:
    unit, goal = FIGURES[name]
    return Figure(name, unit, list(samples), goal, dict(details or {}), note)


def results_document(figures: Sequence[Figure], *, meta: Mapping[str, Any]) -> dict[str, Any]:
    """The results.json document: every figure of FIGURES (missing ones say why)."""
    by_name = {f.name: f for f in figures}
    out: dict[str, Any] = {"schema": SCHEMA_VERSION, "meta": dict(meta), "figures": {}}
    for name in FIGURES:
        fig = by_name.get(name)
        if fig is None:
            unit, goal = FIGURES[name]
            fig = Figure(name, unit, [], goal, note="not measured")
        # "a.b" figures are variants of one key: figures[a][b] (action_setup_s cold/warm).
        key, _, variant = name.partition(".")
        if variant:
            out["figures"].setdefault(key, {})[variant] = fig.to_json()
        else:
            out["figures"][key] = fig.to_json()
    return out


def flat_figures(doc: Mapping[str, Any]) -> dict[str, Any]:
    """name -> figure JSON, with the variants of a key as "key.variant"."""
    out: dict[str, Any] = {}
    for key, value in (doc.get("figures") or {}).items():
        if isinstance(value, dict) and "samples" not in value:
            for variant, fig in value.items():
                out[f"{key}.{variant}"] = fig
        else:
            out[key] = value
    return out


def validate_document(doc: Mapping[str, Any]) -> list[str]:
    """Problems with a results document (empty when it is well formed)."""
    problems: list[str] = []
    if doc.get("schema") != SCHEMA_VERSION:
        problems.append(f"schema is {doc.get('schema')!r}, expected {SCHEMA_VERSION}")
    if not isinstance(doc.get("figures"), dict):
        return problems + ["figures is not an object"]
    figs = flat_figures(doc)
    for name in FIGURES:
        fig = figs.get(name)
        if not isinstance(fig, dict):
            problems.append(f"{name}: missing")
            continue
        samples = fig.get("samples")
        if not isinstance(samples, list):
            problems.append(f"{name}: samples is not a list")
            continue
        if samples:
            for key in ("median", "min", "max"):
                if not isinstance(fig.get(key), (int, float)):
                    problems.append(f"{name}: {key} missing")
            if all(isinstance(fig.get(k), (int, float)) for k in ("median", "min", "max")) and \
                    not fig["min"] <= fig["median"] <= fig["max"]:
                problems.append(f"{name}: min <= median <= max does not hold")
            if fig.get("runs") != len(samples):
                problems.append(f"{name}: runs differs from the number of samples")
        elif not fig.get("note"):
            problems.append(f"{name}: no samples and no note saying why")
    return problems


def _num(value: float) -> str:
    if value == int(value) and abs(value) >= 10:
        return str(int(value))
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def render_table(doc: Mapping[str, Any]) -> str:
    """A Markdown table of a results document (also readable on a terminal)."""
    rows = [("figure", "median", "min", "max", "runs", "goal", "met")]
    for name, fig in flat_figures(doc).items():
        if fig.get("samples"):
            cells = (_num(fig["median"]), _num(fig["min"]), _num(fig["max"]))
        else:
            cells = ("—", "—", "—")
        met = {True: "yes", False: "**no**", None: "—"}[fig.get("met")]
        unit = f" ({fig['unit']})" if fig.get("unit") else ""
        rows.append((f"`{name}`{unit}", *cells, str(fig.get("runs", 0)),
                     fig.get("goal") or "—", met))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [line(rows[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out.extend(line(r) for r in rows[1:])
    return "\n".join(out)
