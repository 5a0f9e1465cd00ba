"""The label state machine of an approval issue, written down once.

Labels are the only state a publish request has besides its checkboxes. People
set two of them (``accepted`` to approve, ``dry-run`` to ask for a rehearsal);
valet sets the others. Every change valet makes goes through ``TRANSITIONS`` so
the docs (``render_markdown``) and the code cannot drift apart.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class Label(str, enum.Enum):
    ACCEPTED = "accepted"
    CI_PENDING = "ci-pending"
    CI_FAILED = "ci-failed"
    DRY_RUN = "dry-run"
    PUBLISHED = "published"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


# What each label means while it is on the issue.
MEANING: dict[Label, str] = {
    Label.ACCEPTED: "a release engineer approved the request; valet acts on it",
    Label.CI_PENDING: "approved, waiting for CI on the release commit; scheduled runs re-check",
    Label.CI_FAILED: "CI failed on the release commit; nothing was published",
    Label.DRY_RUN: "rehearse only: every check and the plan run, nothing is uploaded",
    Label.PUBLISHED: "every target is published, the branch merged, the issue closed",
    Label.FAILED: "a check or a target failed; ticked targets stay published, re-add `accepted` to resume",
}

VALET = "valet"
PERSON = "a person"


@dataclass(frozen=True)
class Transition:
    name: str
    by: str  # who makes it: VALET or PERSON
    when: str
    add: frozenset[Label] = frozenset()
    remove: frozenset[Label] = frozenset()

    def apply(self, labels: Iterable[str]) -> set[str]:
        now = set(labels)
        now.difference_update(str(x) for x in self.remove)
        now.update(str(x) for x in self.add)
        return now


def _t(name: str, by: str, when: str, add: Iterable[Label] = (), remove: Iterable[Label] = ()) -> Transition:
    return Transition(name, by, when, frozenset(add), frozenset(remove))


_ALL_VALET = (Label.CI_PENDING, Label.CI_FAILED, Label.FAILED)

TRANSITIONS: dict[str, Transition] = {t.name: t for t in (
    _t("approve", PERSON, "an approver adds `accepted` (also to resume after `failed` or `ci-failed`)",
       add=[Label.ACCEPTED]),
    _t("rehearse", PERSON, "someone adds `dry-run` before `accepted`", add=[Label.DRY_RUN]),
    _t("refuse", VALET, "a check of the approval fails (who opened, wrote or requested the "
       "request, who approved it, the body changed after approval, the issue closed since, "
       "a title or Targets list that does not parse) or the merge target is not protected",
       remove=[Label.ACCEPTED, Label.CI_PENDING]),
    _t("resume", VALET, "an approval passed the checks: earlier failure labels are cleared",
       remove=[Label.FAILED, Label.CI_FAILED]),
    _t("ci-pending", VALET, "CI on the release commit is still running (or never started)",
       add=[Label.CI_PENDING]),
    _t("ci-green", VALET, "a later run finds CI green", remove=[Label.CI_PENDING]),
    _t("ci-failed", VALET, "a check on the release commit failed",
       add=[Label.CI_FAILED], remove=[Label.ACCEPTED, Label.CI_PENDING]),
    _t("fail", VALET, "a configuration, integrity, target or merge error",
       add=[Label.FAILED], remove=[Label.ACCEPTED, Label.CI_PENDING, Label.CI_FAILED]),
    _t("rehearsed", VALET, "a dry run finished: the plan is commented, the approval is used up",
       remove=[Label.ACCEPTED]),
    _t("publish", VALET, "every target is ticked and the branch is merged; the issue is closed",
       add=[Label.PUBLISHED], remove=[Label.ACCEPTED, *_ALL_VALET]),
)}


def transition(name: str) -> Transition:
    return TRANSITIONS[name]


def diff(current: Iterable[str], name: str) -> tuple[list[str], list[str]]:
    """(labels to add, labels to remove) to make ``name`` happen on an issue with ``current``."""
    now = set(current)
    after = TRANSITIONS[name].apply(now)
    return sorted(after - now), sorted(now - after)


def render_markdown() -> str:
    """The state machine as it appears in docs/labels.md and `valet publish --labels`."""
    lines = ["| label | meaning |", "|---|---|"]
    lines += [f"| `{label}` | {MEANING[label]} |" for label in Label]
    lines += ["", "| transition | by | when | adds | removes |", "|---|---|---|---|---|"]
    for t in TRANSITIONS.values():
        add = ", ".join(f"`{x}`" for x in sorted(map(str, t.add))) or "-"
        rem = ", ".join(f"`{x}`" for x in sorted(map(str, t.remove))) or "-"
        lines.append(f"| {t.name} | {t.by} | {t.when} | {add} | {rem} |")
    return "\n".join(lines) + "\n"
