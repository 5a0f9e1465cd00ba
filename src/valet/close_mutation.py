"""The end of a successful publish as one GraphQL document (pure: no I/O).

The summary comment, the labels the ``publish`` transition adds and removes, the
ticks not yet written and the close go to GitHub as one request of five mutations,
run by GitHub one after the other in this order. Removing labels is relative, so
labels people added while the run published stay without reading the issue again.
``closeIssue`` comes last and answers the issue as GitHub then holds it.

Each mutation succeeds or fails on its own (its field is null and an error names it);
``parse`` says which were carried out. Every value travels in ``variables``: the
text of the document is one of a few fixed shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from valet.errors import GitHubError

COMMENT, ADD, REMOVE, BODY, CLOSE = "comment", "addLabels", "removeLabels", "body", "close"
STEPS = (COMMENT, ADD, REMOVE, BODY, CLOSE)  # the order GitHub runs them in
LABELS_LIMIT = 100  # GraphQL's page limit; an issue with more labels is not a release

WHAT = {COMMENT: "posting the summary", ADD: "adding the labels",
        REMOVE: "removing the labels", BODY: "writing the ticks", CLOSE: "closing the issue"}


@dataclass(frozen=True)
class Close:
    """What the close sends: ``summary`` None leaves the comment out (it is there already),
    no label ids leaves that mutation out, ``body`` None leaves the body as it is."""

    issue_id: str
    summary: str | None
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    body: str | None = None

    @property
    def steps(self) -> tuple[str, ...]:
        present = {COMMENT: self.summary is not None, ADD: bool(self.add),
                   REMOVE: bool(self.remove), BODY: self.body is not None, CLOSE: True}
        return tuple(s for s in STEPS if present[s])

    def without(self, *steps: str) -> Close:
        """The same close, less the steps already carried out (all idempotent but the
        comment, which is left out once it landed)."""
        return Close(self.issue_id, None if COMMENT in steps else self.summary,
                     () if ADD in steps else self.add, () if REMOVE in steps else self.remove,
                     None if BODY in steps else self.body)


_VARS = {COMMENT: "$summary: String!", ADD: "$add: [ID!]!", REMOVE: "$remove: [ID!]!",
         BODY: "$body: String!"}
_FIELDS = {
    COMMENT: "comment: addComment(input: {subjectId: $issue, body: $summary})"
             " { commentEdge { node { id } } }",
    ADD: "addLabels: addLabelsToLabelable(input: {labelableId: $issue, labelIds: $add})"
         " { clientMutationId }",
    REMOVE: "removeLabels: removeLabelsFromLabelable(input: {labelableId: $issue,"
            " labelIds: $remove}) { clientMutationId }",
    BODY: "body: updateIssue(input: {id: $issue, body: $body}) { issue { id } }",
    CLOSE: "close: closeIssue(input: {issueId: $issue, stateReason: COMPLETED})"
           f" {{ issue {{ state stateReason body labels(first: {LABELS_LIMIT})"
           " { nodes { name } } } }",
}


def document(close: Close) -> tuple[str, dict[str, Any]]:
    """``(query text, variables)`` of the close."""
    steps = close.steps
    params = ", ".join(["$issue: ID!", *(_VARS[s] for s in steps if s in _VARS)])
    text = f"mutation PublishedClose({params}) {{ " + " ".join(_FIELDS[s] for s in steps) + " }"
    variables: dict[str, Any] = {"issue": close.issue_id}
    if COMMENT in steps:
        variables["summary"] = close.summary
    if ADD in steps:
        variables["add"] = list(close.add)
    if REMOVE in steps:
        variables["remove"] = list(close.remove)
    if BODY in steps:
        variables["body"] = close.body
    return text, variables


@dataclass(frozen=True)
class Answer:
    """Which steps GitHub carried out, why the others failed, and the issue as closed
    (REST's shape: ``body``, ``labels`` as ``[{name}]``, ``state``, ``state_reason``)."""

    done: tuple[str, ...]
    failed: dict[str, str] = field(default_factory=dict)
    issue: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.failed

    def merged(self, earlier: Answer) -> Answer:
        """This answer to a resend, with what the earlier attempt carried out."""
        done = tuple(s for s in STEPS if s in self.done or s in earlier.done)
        return Answer(done, {k: v for k, v in self.failed.items() if k not in done},
                      self.issue if self.issue is not None else earlier.issue)


def parse(close: Close, payload: Any, doing: str) -> Answer:
    """The answer to ``document(close)``; GitHubError when the document as a whole failed
    (no ``data``: nothing may be assumed carried out)."""
    if not isinstance(payload, dict):
        raise GitHubError(f"{doing}: GraphQL answered no JSON object")
    data = payload.get("data")
    errors = [e for e in payload.get("errors") or [] if isinstance(e, dict)] \
        if isinstance(payload.get("errors"), list) else []
    if not isinstance(data, dict):
        first = errors[0].get("message") if errors else None
        raise GitHubError(f"{doing}: GraphQL answered no data"
                          + (f" ({first})" if first else ""))
    by_step: dict[str, str] = {}
    general = []
    for err in errors:
        path = err.get("path")
        message = str(err.get("message") or "error")
        if isinstance(path, list) and path and path[0] in STEPS:
            by_step.setdefault(str(path[0]), message)
        else:
            general.append(message)
    done: list[str] = []
    failed: dict[str, str] = {}
    for step in close.steps:
        value = data.get(step)
        if isinstance(value, dict) and step not in by_step:
            done.append(step)
        else:
            failed[step] = by_step.get(step) or "; ".join(general) or "GitHub answered null"
    issue = None
    if CLOSE in done:
        issue = _rest_issue((data[CLOSE] or {}).get("issue"))
        if issue is None or issue.get("state") != "closed":
            done.remove(CLOSE)
            failed[CLOSE] = "the issue came back not closed"
            issue = None
    return Answer(tuple(done), failed, issue)


def _rest_issue(node: Any) -> dict[str, Any] | None:
    """GraphQL's issue in the shape REST answers it (what the ticker keeps)."""
    if not isinstance(node, dict):
        return None
    labels = (node.get("labels") or {}).get("nodes") if isinstance(node.get("labels"), dict) \
        else None
    state, reason = node.get("state"), node.get("stateReason")
    return {"body": node.get("body") if isinstance(node.get("body"), str) else None,
            "state": state.lower() if isinstance(state, str) else None,
            "state_reason": reason.lower() if isinstance(reason, str) else None,
            "labels": [{"name": x["name"]} for x in labels or []
                       if isinstance(x, dict) and isinstance(x.get("name"), str)]}
