"""The pure part of `make bench`: statistics, goals, the results document, the table."""

from __future__ import annotations

import json

import pytest

from bench.report import (
    FIGURES,
    Goal,
    figure,
    flat_figures,
    render_table,
    results_document,
    summarize,
    validate_document,
)


def test_summarize_odd_and_even_counts() -> None:
    assert summarize([3.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0}
    assert summarize([4.0, 1.0, 2.0, 10.0]) == {"median": 3.0, "min": 1.0, "max": 10.0}
    assert summarize([7]) == {"median": 7.0, "min": 7.0, "max": 7.0}


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")], [float("inf")]])
def test_summarize_refuses_empty_or_non_finite(bad: list[float]) -> None:
    with pytest.raises(ValueError):
        summarize(bad)


def test_goals_compare_in_their_direction() -> None:
    assert Goal("<=", 0.3).met(0.3) and not Goal("<=", 0.3).met(0.31)
    assert Goal(">=", 0.8).met(0.8) and not Goal(">=", 0.8).met(0.79)
    with pytest.raises(ValueError):
        Goal("<", 1).met(0)


def test_a_figure_is_met_by_its_median_not_its_best_run() -> None:
    fig = figure("peak_rss_mib_1gib", [90.0, 120.0, 130.0])
    assert fig.met is False
    assert figure("peak_rss_mib_1gib", [30.0, 40.0, 500.0]).met is True
    assert figure("action_setup_s.cold", [30.0]).met is None  # no goal


def test_document_has_every_key_of_the_issue_and_nests_variants() -> None:
    doc = results_document([figure("action_setup_s.warm", [0.01, 0.02, 0.03]),
                            figure("verify_throughput_ratio", [0.7, 0.9, 1.1])], meta={"runs": 3})
    assert set(doc["figures"]) == {"targets_concurrency_ratio", "api_calls_per_release",
                                   "peak_rss_mib_1gib", "verify_throughput_ratio",
                                   "label_to_published_s", "action_setup_s",
                                   "publish_api_calls", "publish_sequential_round_trips",
                                   "upload_latency_ratio", "calls_per_extra_target",
                                   "issue_writes", "sweep_calls"}
    assert set(doc["figures"]["issue_writes"]) == {"n1", "n32"}
    assert set(doc["figures"]["action_setup_s"]) == {"cold", "warm"}
    warm = doc["figures"]["action_setup_s"]["warm"]
    assert (warm["median"], warm["min"], warm["max"], warm["runs"]) == (0.02, 0.01, 0.03, 3)
    verify = doc["figures"]["verify_throughput_ratio"]
    assert verify["goal"] == ">= 0.80" and verify["met"] is True
    missing = doc["figures"]["api_calls_per_release"]
    assert missing["samples"] == [] and missing["note"] == "not measured" and missing["met"] is None
    assert set(flat_figures(doc)) == set(FIGURES)
    assert validate_document(json.loads(json.dumps(doc))) == []


def test_validate_names_what_is_wrong() -> None:
    doc = results_document([figure("peak_rss_mib_1gib", [1.0, 2.0, 3.0])], meta={})
    doc["figures"]["peak_rss_mib_1gib"]["min"] = 5.0
    doc["figures"]["api_calls_per_release"]["note"] = ""
    del doc["figures"]["label_to_published_s"]
    problems = validate_document(doc)
    assert "peak_rss_mib_1gib: min <= median <= max does not hold" in problems
    assert "api_calls_per_release: no samples and no note saying why" in problems
    assert "label_to_published_s: missing" in problems
    assert validate_document({"schema": 99, "figures": []}) == [
        "schema is 99, expected 1", "figures is not an object"]


def test_table_shows_figures_goals_and_misses() -> None:
    doc = results_document([figure("targets_concurrency_ratio", [0.42, 0.35, 0.4]),
                            figure("api_calls_per_release", [31, 33, 32])], meta={})
    lines = render_table(doc).splitlines()
    assert [c.strip() for c in lines[0].split("|")[1:-1]] == [
        "figure", "median", "min", "max", "runs", "goal", "met"]
    row = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
           for line in lines[2:]}
    assert row["`targets_concurrency_ratio` (ratio)"] == ["0.40", "0.35", "0.42", "3", "<= 0.30",
                                                          "**no**"]
    assert row["`api_calls_per_release` (requests)"] == ["32", "31", "33", "3", "<= 40", "yes"]
    assert row["`label_to_published_s` (s)"] == ["—", "—", "—", "0", "<= 10", "—"]
    assert len(lines) == 2 + len(FIGURES)
    assert len({len(line) for line in lines}) == 1  # columns line up on a terminal
