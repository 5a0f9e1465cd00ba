from __future__ import annotations

from valet import labels
from valet.labels import Label


def test_every_label_has_a_meaning_and_appears_in_the_docs():
    text = labels.render_markdown()
    for label in Label:
        assert f"`{label}`" in text
        assert labels.MEANING[label]
    for name in labels.TRANSITIONS:
        assert f"| {name} |" in text


def test_only_people_add_accepted_and_dry_run():
    for t in labels.TRANSITIONS.values():
        if Label.ACCEPTED in t.add or Label.DRY_RUN in t.add:
            assert t.by == labels.PERSON, t.name


def test_every_terminal_valet_outcome_consumes_the_approval():
    # after these, nothing may be published again without a person re-adding `accepted`
    for name in ("refuse", "ci-failed", "fail", "rehearsed", "publish"):
        assert Label.ACCEPTED in labels.transition(name).remove, name


def test_ci_pending_keeps_the_approval_for_the_scheduled_run():
    after = labels.transition("ci-pending").apply({"accepted"})
    assert after == {"accepted", "ci-pending"}


def test_publish_clears_every_valet_state():
    before = {"accepted", "ci-pending", "failed", "ci-failed", "other"}
    assert labels.transition("publish").apply(before) == {"published", "other"}


def test_diff_only_names_changes():
    add, remove = labels.diff({"accepted", "failed"}, "fail")
    assert add == [] and remove == ["accepted"]
    add, remove = labels.diff({"accepted"}, "ci-failed")
    assert add == ["ci-failed"] and remove == ["accepted"]
