"""The approval issue: render it, parse it, tick one of its checkboxes.

The grammar lives here and nowhere else. Three producers write issues this module reads: valet itself,
getsentry/action-prepare-release and craft's own action. Only valet's issues
carry the hidden machine-readable block.

Title::

    publish: OWNER/REPO[/PATH]@VERSION

Body, top to bottom (valet's layout; the others are a subset of it)::

    Requested by: @LOGIN
    Merge target: BRANCH | (default)          (optional)
    Quick links: changes, [View check runs](…/OWNER/REPO/commit/SHA/checks), prepare run
    the approval sentence and the #retract sentence
    ### Targets
     - [ ] ID                                  one per target
    a footer sentence
    ### Artifacts                              (valet only) | `file` | size | `sha256` |
    <!-- valet-request {json} -->              (valet only) schemas/request.schema.json
    ---
    <details> changelog </details>             (optional)

Which part wins (when the hidden block and the visible lines both exist):

* The checkboxes are the state: people tick them, so ``checked`` comes only
  from the visible lines.
* The hidden block is the authority for what may be published: the artifacts,
  the release commit, the release branch, the draft release id. The visible
  Targets list can only *narrow* it: a target is kept only when its id is in
  both (editing the body can never add a target), in visible order. Publish
  also calls ``check_targets_list``, which refuses a list that would drop a
  target silently (one missing, hidden in an HTML comment, or after the list).
* Every fact that appears in both places must agree (repo, path, version,
  requester, merge target, sha, and the Artifacts table against the block's
  artifacts); any disagreement means someone edited one and not the other, so
  the issue is refused rather than guessed at.

Reading rules: the header fields (``Requested by``, ``Merge target``, the check
runs link) are read only above the first ``### Targets`` heading; the targets
are the first run of consecutive checkbox lines after that heading (blank
lines before the run and prose before it are skipped; a blank line, another
heading, a ``---`` rule, a ``<details>`` or a comment ends it); nothing is
ever read from the changelog. CRLF and LF bodies read the same.

Rendering never lets data shape the document: logins, branches, versions,
paths, target ids, URLs and file names must match strict grammars (no
whitespace, parentheses or angle brackets, so no markdown link, no HTML and no
second line; only a target id, or a bot login's ``[bot]``, holds ``[...]``). The changelog is
neutralised: ``&`` and ``<`` escaped (no HTML, no second hidden block); every
``@``, and every ``#`` before a digit, followed by a zero-width joiner (no
mention, no cross-reference); task-list items and our own section headings
escaped (no target line); an unclosed code fence closed; then cut at a line
boundary, with a note, so the body fits GitHub's 65,536-character limit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from valet.errors import ArtifactError, NotARequestError, RequestTooLargeError, UsageError
from valet.manifest import Artifact, validate_name
from valet.request import Request, TargetState

# -- grammars -------------------------------------------------------------------

TITLE_PREFIX = "publish: "
GITHUB_BODY_LIMIT = 65536  # characters GitHub accepts in an issue body
SAME_JOB_WARNING = ("**The build ran where a token was reachable.** These files were built in "
                    "the same job as the request App's token (rehearsal mode), so project code "
                    "could have read the token and changed the draft release or this request. "
                    "Releases should come from the three-job release workflow, whose build job "
                    "holds no token.")
MAX_PARSE_BODY = 4 * GITHUB_BODY_LIMIT  # anything larger is not something we wrote
HIDDEN_TAG = "valet-request"
HIDDEN_SCHEMA_VERSION = 1
ZWJ = "\u200d"  # placed after every '@' of the changelog: GitHub then sees no mention

_OWNER = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})"
_REPO_NAME = r"[A-Za-z0-9._-]{1,100}"
_SEGMENT = r"[A-Za-z0-9._-]{1,100}"
_VERSION = r"[0-9A-Za-z][0-9A-Za-z._+-]{0,127}"
_LOGIN = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}(?:\[bot\])?"
# A target key: `name`, or `name[id]` as craft writes it (`npm[@scope/pkg]`,
# `docker[Docker Hub (release)]`). The id may hold single spaces and parentheses,
# never a bracket, and nothing GitHub's markdown would render as something else,
# since the checkbox line shows it as it is:
# - no URL or www address and no e-mail-like `x@y` (GFM autolinks them);
# - no `:word:` (an emoji shortcode), no second `~` (strikethrough);
# - `_` only between letters or digits (elsewhere it can open or close emphasis);
# - ASCII only, so no zero-width or right-to-left character hides what it says.
# `<`, `>`, `` ` ``, `|`, `\`, `*`, `#`, `&` and `[`/`]` inside the id are not in the set.
_ID_CHARS = r"[A-Za-z0-9@/._:+=~()-]"
_TARGET_ID = (
    r"(?!.*://)(?!.*[Ww]{3}\.)(?!.*[A-Za-z0-9._+-]@)(?!.*:[A-Za-z0-9_+-]+:)(?!.*~.*~)"
    r"(?!(?:.*[^A-Za-z0-9])?_)(?!.*_(?![A-Za-z0-9]))"
    r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
    rf"(?:\[(?=[^\]]{{1,200}}\]){_ID_CHARS}+(?: {_ID_CHARS}+)*\])?"
)

TITLE_RE = re.compile(
    rf"publish: (?P<repo>{_OWNER}/{_REPO_NAME})(?P<path>(?:/{_SEGMENT}){{0,20}})@(?P<version>{_VERSION})"
)
LOGIN_RE = re.compile(_LOGIN)
VERSION_RE = re.compile(_VERSION)
REPO_RE = re.compile(rf"{_OWNER}/{_REPO_NAME}")
TARGET_ID_RE = re.compile(_TARGET_ID)
SHA_RE = re.compile(r"[0-9a-f]{40}")
SHA256_RE = re.compile(r"[0-9a-f]{64}")
_BRANCH_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._+-]*")
# A URL we are willing to print inside a markdown link: nothing markdown, HTML or
# a shell would reinterpret.
URL_RE = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~%+=:@/-]*)?")

# Line-level patterns (applied to one line without its ending).
_TARGETS_HEADING = re.compile(r" {0,3}#{3}[ \t]+targets[ \t]*#*[ \t]*", re.IGNORECASE)
_ARTIFACTS_HEADING = re.compile(r" {0,3}#{3}[ \t]+artifacts[ \t]*#*[ \t]*", re.IGNORECASE)
_CHECKBOX_LIKE = re.compile(r"[ \t]{0,3}[-*+][ \t]+\[[ xX]\]")
_CHECKBOX = re.compile(
    r"(?P<lead>[ \t]{0,3}[-*+][ \t]+\[)(?P<mark>[ xX])(?P<mid>\][ \t]+)(?P<id>\S+(?: \S+)*)"
    r"(?P<trail>[ \t]*)"
)
_STOP = re.compile(r" {0,3}(?:#|-{3,}[ \t]*$|\*{3,}[ \t]*$|_{3,}[ \t]*$|<details|<!--)", re.IGNORECASE)
_REQUESTED_BY = re.compile(r"Requested by:[ \t]*(?P<value>.*?)[ \t]*")
_MERGE_TARGET = re.compile(r"Merge target:[ \t]*(?P<value>.*?)[ \t]*")
_CHECKS_LINK = re.compile(
    r"\]\((?P<base>[^()\s]+?)/(?P<owner>[^/()\s]+)/(?P<name>[^/()\s]+)"
    r"/commit/(?P<sha>[0-9a-fA-F]{40})/checks/?\)"
)
_HIDDEN = re.compile(r"<!--[ \t]*" + HIDDEN_TAG + r"[ \t]+(?P<json>.*?)[ \t]*-->", re.DOTALL)
_HIDDEN_OPEN = re.compile(r"<!--\s*" + HIDDEN_TAG, re.IGNORECASE)
_TABLE_ROW = re.compile(
    r"\|[ \t]*`(?P<name>[^`|]+)`[ \t]*\|[ \t]*(?P<size>[0-9][0-9,]*)[ \t]*\|"
    r"[ \t]*`(?P<sha>[0-9a-f]{64})`[ \t]*\|[ \t]*"
)
_TABLE_SEPARATOR = re.compile(r"\|(?:[ \t]*:?-{3,}:?[ \t]*\|)+[ \t]*")
_TABLE_HEADER = re.compile(r"\|[ \t]*File[ \t]*\|.*\|[ \t]*", re.IGNORECASE)
_END_OF_REQUEST = re.compile(r" {0,3}(?:-{3,}[ \t]*$|<details)", re.IGNORECASE)
_ISSUE_REF = re.compile(r"#(?=[0-9])")
_FENCE = re.compile(r" {0,3}(```|~~~)")


def _short(value: object, limit: int = 80) -> str:
    """repr() of untrusted text, cut so an error message stays one short line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def is_valid_branch(name: object) -> bool:
    if not isinstance(name, str) or not 0 < len(name) <= 200:
        return False
    if name.startswith("-") or ".." in name or "@{" in name or name.endswith((".", "/")):
        return False
    if name.startswith("refs/") or name == "HEAD":
        return False
    return all(_BRANCH_PART.fullmatch(p) and not p.endswith(".lock") for p in name.split("/"))


def is_valid_path(path: object) -> bool:
    if path == ".":
        return True
    if not isinstance(path, str) or not path:
        return False
    parts = path.split("/")
    return len(parts) <= 20 and all(
        re.fullmatch(_SEGMENT, p) and p not in (".", "..") for p in parts
    )


def normalize_path(path: str | None) -> str:
    """`None`, '', '.', './' -> '.'; 'a/b/' and './a/b' -> 'a/b' (then validated)."""
    text = (path or ".").strip()
    while text.startswith("./"):
        text = text[2:]
    text = text.strip("/") or "."
    if not is_valid_path(text):
        raise UsageError(
            f"path {_short(path)} is not a relative path of plain names",
            hint="give the project's directory relative to the repository root, "
            "for example packages/sdk (letters, digits, '.', '_', '-')",
        )
    return text


# -- the title ------------------------------------------------------------------


def render_title(req: Request) -> str:
    _check_identity(req.repo, req.path, req.version)
    return req.title


def parse_title(title: str) -> tuple[str, str, str]:
    """`publish: owner/repo[/path]@version` -> (repo, path or '.', version)."""
    if not isinstance(title, str):
        raise NotARequestError("the title is missing")
    match = TITLE_RE.fullmatch(title)
    if not match:
        if not title.startswith(TITLE_PREFIX):
            raise NotARequestError(f"the title {_short(title)} does not start with 'publish: '")
        raise NotARequestError(
            f"the title {_short(title)} is not 'publish: owner/repo[/path]@version' "
            "(letters, digits, '.', '_', '-' and '+' only)"
        )
    path = match["path"].strip("/") or "."
    if not is_valid_path(path):
        raise NotARequestError(f"the path in the title {_short(title)} has a '.' or '..' part")
    return match["repo"], path, match["version"]


# -- lines ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    start: int  # offset of the first character in the body
    text: str  # without the line ending
    end: str  # "\r\n", "\n" or ""


def _lines(body: str) -> list[_Line]:
    out: list[_Line] = []
    pos = 0
    for match in re.finditer(r"\r\n|\n", body):
        out.append(_Line(pos, body[pos : match.start()], match.group()))
        pos = match.end()
    if pos < len(body):
        out.append(_Line(pos, body[pos:], ""))
    return out


def _blank(text: str) -> bool:
    return text.strip(" \t\r") == ""


@dataclass(frozen=True)
class _Checkbox:
    line: _Line
    match: re.Match[str]

    @property
    def id(self) -> str:
        return self.match["id"]

    @property
    def checked(self) -> bool:
        return self.match["mark"] in "xX"


def _targets_heading_index(lines: Sequence[_Line]) -> int | None:
    for i, line in enumerate(lines):
        if _TARGETS_HEADING.fullmatch(line.text.rstrip("\r")):
            return i
    return None


def _checkbox_run(lines: Sequence[_Line], heading: int) -> list[_Checkbox]:
    run: list[_Checkbox] = []
    for line in lines[heading + 1 :]:
        text = line.text.rstrip("\r")
        if _blank(text):
            if run:
                break
            continue
        if _CHECKBOX_LIKE.match(text):
            match = _CHECKBOX.fullmatch(text)
            if not match or not TARGET_ID_RE.fullmatch(match["id"]):
                raise NotARequestError(
                    f"the target line {_short(text.strip())} is not ' - [ ] id' with a valid id"
                )
            run.append(_Checkbox(line, match))
            continue
        if run or _STOP.match(text):
            break
        # prose between the heading and the first checkbox is allowed
    return run


def targets_section(body: str) -> list[TargetState]:
    """The visible checkbox lines of the Targets section, in order, repeats kept."""
    lines = _lines(body or "")
    heading = _targets_heading_index(lines)
    if heading is None:
        raise NotARequestError("the body has no '### Targets' heading")
    run = _checkbox_run(lines, heading)
    if not run:
        raise NotARequestError("there are no ' - [ ] target' lines under '### Targets'")
    return [TargetState(id=c.id, checked=c.checked) for c in run]


_SECTION_END = re.compile(r" {0,3}(?:#|-{3,}[ \t]*$|\*{3,}[ \t]*$|_{3,}[ \t]*$|<details)",
                          re.IGNORECASE)


def check_targets_list(body: str) -> None:
    """Refuse a Targets list that could hide or drop a target (NotARequestError).

    ``targets_section`` reads the first run of checkbox lines and stops at anything
    else, which is right for reading but lets a body drop targets silently: a line
    hidden in an HTML comment ends the run, and so does any line before a visible
    target. So, in the Targets section (up to the next heading, rule or
    ``<details>``): no HTML comment, no checkbox line outside the run, and every
    target of the hidden block has its visible line.
    """
    lines = _lines(body or "")
    heading = _targets_heading_index(lines)
    if heading is None:
        raise NotARequestError("the body has no '### Targets' heading")
    run = _checkbox_run(lines, heading)
    in_run = {id(box.line) for box in run}
    for number, line in enumerate(lines[heading + 1 :], start=heading + 2):
        text = line.text.rstrip("\r")
        if _SECTION_END.match(text):
            break
        if "<!--" in text:
            raise NotARequestError(
                f"the Targets list holds an HTML comment (line {number}): a target line "
                "inside one is hidden, and it ends the list, so the targets after it "
                "would be dropped")
        if _CHECKBOX_LIKE.match(text) and id(line) not in in_run:
            raise NotARequestError(
                f"the Targets list is broken: the target line {_short(text.strip())} "
                f"(line {number}) comes after the list ended, so it would be dropped")
    hidden = _parse_hidden(body)
    if hidden is not None:
        visible = {box.id for box in run}
        missing = [t for t in hidden["targets"] if t not in visible]
        if missing:
            raise NotARequestError(
                f"the Targets list lacks {', '.join(missing)}, which the request names "
                "(a target is never dropped: the list must show every target)")


def without_ticks(body: str) -> str | None:
    """``body`` with every box of its Targets list unticked; None when it has none.

    Two bodies that are equal this way differ only in which targets are ticked. Line ends
    come out as LF: GitHub's web editor saves a body with CRLF, so a person ticking a box
    there changes every line end too, and that is still only ticking."""
    body = (body or "").replace("\r\n", "\n")
    lines = _lines(body)
    heading = _targets_heading_index(lines)
    if heading is None:
        return None
    try:
        run = _checkbox_run(lines, heading)
    except NotARequestError:
        return None
    out = body
    for box in reversed(run):
        at = box.line.start + box.match.start("mark")
        out = out[:at] + " " + out[at + 1 :]
    return out


def set_target_checked(body: str, target_id: str, checked: bool = True) -> str:
    """Tick (or untick) every checkbox line of ``target_id`` in the Targets run.

    Only the mark character of those lines changes; every other byte of the body
    (line endings, spacing, the changelog's own checkboxes) stays as it was.
    """
    lines = _lines(body)
    heading = _targets_heading_index(lines)
    if heading is None:
        raise NotARequestError("the body has no '### Targets' heading")
    hits = [c for c in _checkbox_run(lines, heading) if c.id == target_id]
    if not hits:
        raise NotARequestError(f"the target {_short(target_id)} is not in the Targets section")
    out = body
    for box in reversed(hits):  # right to left so earlier offsets stay valid
        if box.checked == checked:
            continue
        at = box.line.start + box.match.start("mark")
        out = out[:at] + ("x" if checked else " ") + out[at + 1 :]
    return out


# -- parsing ----------------------------------------------------------------------


def _header_value(lines: Iterable[_Line], pattern: re.Pattern[str], what: str) -> str | None:
    values = []
    for line in lines:
        match = pattern.fullmatch(line.text.rstrip("\r"))
        if match:
            values.append(match["value"])
    if len(set(values)) > 1:
        raise NotARequestError(f"the body has two different '{what}:' lines")
    return values[0] if values else None


def _parse_header(header: Sequence[_Line], repo: str) -> tuple[str, str | None, str | None, bool]:
    """-> (requested_by, merge_target, sha, merge_target_line_present)."""
    raw_login = _header_value(header, _REQUESTED_BY, "Requested by")
    if raw_login is None:
        raise NotARequestError("the body has no 'Requested by: @login' line above '### Targets'")
    if not raw_login.startswith("@") or not LOGIN_RE.fullmatch(raw_login[1:]):
        raise NotARequestError(f"'Requested by: {_short(raw_login)}' does not name one @login")
    login = raw_login[1:]

    raw_target = _header_value(header, _MERGE_TARGET, "Merge target")
    merge_target: str | None = None
    if raw_target is not None and raw_target != "(default)":
        if not is_valid_branch(raw_target):
            raise NotARequestError(f"the merge target {_short(raw_target)} is not a valid branch name")
        merge_target = raw_target

    shas = set()
    text = "\n".join(line.text for line in header)
    for match in _CHECKS_LINK.finditer(text):
        if f"{match['owner']}/{match['name']}".lower() != repo.lower():
            raise NotARequestError(
                f"the check runs link points at {_short(match['owner'] + '/' + match['name'])}, "
                f"not at {repo}"
            )
        shas.add(match["sha"].lower())
    if len(shas) > 1:
        raise NotARequestError("the quick links name two different release commits")
    return login, merge_target, (shas.pop() if shas else None), raw_target is not None


def _parse_hidden(body: str) -> dict[str, Any] | None:
    opens = _HIDDEN_OPEN.findall(body)
    if not opens:
        return None
    if len(opens) > 1:
        raise NotARequestError(f"the body holds {len(opens)} '{HIDDEN_TAG}' blocks; expected one")
    match = _HIDDEN.search(body)
    if not match:
        raise NotARequestError(f"the '{HIDDEN_TAG}' block is not closed with '-->'")
    try:
        data = json.loads(match["json"])
    except ValueError:
        raise NotARequestError(f"the '{HIDDEN_TAG}' block is not valid JSON") from None
    from valet.schemas import validate

    validate("request", data, error=NotARequestError, what=f"the '{HIDDEN_TAG}' block")
    return data  # type: ignore[no-any-return]


def _parse_table(lines: Sequence[_Line]) -> list[Artifact] | None:
    """The visible Artifacts table, or None when the body has no Artifacts section."""
    start = None
    for i, line in enumerate(lines):
        text = line.text.rstrip("\r")
        if _ARTIFACTS_HEADING.fullmatch(text):
            start = i
            break
        if _END_OF_REQUEST.match(text):
            break  # the changelog and what follows are never read
    if start is None:
        return None
    arts: list[Artifact] = []
    in_table = False
    for line in lines[start + 1 :]:
        text = line.text.rstrip("\r").strip()
        if not text.startswith("|"):
            if in_table or (text and not text.startswith("_")):
                break
            continue
        in_table = True
        if _TABLE_HEADER.fullmatch(text) or _TABLE_SEPARATOR.fullmatch(text):
            continue
        row = _TABLE_ROW.fullmatch(text)
        if not row:
            raise NotARequestError(f"the Artifacts row {_short(text)} is not | `file` | size | `sha256` |")
        try:
            name = validate_name(row["name"])
        except ArtifactError:
            raise NotARequestError(f"the Artifacts table names a file {_short(row['name'])}") from None
        arts.append(Artifact(name=name, size=int(row["size"].replace(",", "")), sha256=row["sha"]))
    return arts


def parse_issue(title: str, body: str | None) -> Request:
    """Parse an approval issue (any of the three formats) into a Request.

    Raises NotARequestError with a one-line reason for anything outside the grammar.
    """
    repo, path, version = parse_title(title)
    body = body or ""
    if len(body) > MAX_PARSE_BODY:
        raise NotARequestError(f"the body is {len(body)} characters long, more than any request")
    lines = _lines(body)
    heading = _targets_heading_index(lines)
    if heading is None:
        raise NotARequestError("the body has no '### Targets' heading")
    login, merge_target, link_sha, has_merge_line = _parse_header(lines[:heading], repo)
    visible = targets_section(body)
    hidden = _parse_hidden(body)
    table = _parse_table(lines[heading + 1 :])

    req = Request(repo=repo, path=path, version=version, requested_by=login,
                  merge_target=merge_target, sha=link_sha, targets=visible,
                  artifacts=list(table or []))
    if hidden is None:
        return req

    def differs(what: str, ours: object, theirs: object) -> NotARequestError:
        return NotARequestError(
            f"the {what} in the body ({_short(ours, 60)}) differs from the hidden block's "
            f"({_short(theirs, 60)})"
        )

    for what, ours, theirs in (("repository", repo, hidden["repo"]), ("path", path, hidden["path"]),
                               ("version", version, hidden["version"])):
        if ours != theirs:
            raise differs(what, ours, theirs)
    if login.lower() != hidden["requested_by"].lower():
        raise differs("requester", login, hidden["requested_by"])
    if has_merge_line and merge_target != hidden.get("merge_target"):
        raise differs("merge target", merge_target, hidden.get("merge_target"))
    if link_sha is not None and link_sha != hidden["sha"]:
        raise differs("release commit", link_sha, hidden["sha"])
    for what in ("merge_target", "branch", "previous"):
        value = hidden.get(what)
        if value is not None and not is_valid_branch(value):
            raise NotARequestError(f"the hidden block's {what} {_short(value)} is not a valid ref name")
    hidden_arts = [Artifact(name=a["name"], size=a["size"], sha256=a["sha256"])
                   for a in hidden["artifacts"]]
    for art in hidden_arts:
        try:
            validate_name(art.name)
        except ArtifactError:
            raise NotARequestError(f"the hidden block names a file {_short(art.name)}") from None
    if table is not None and table != hidden_arts:
        raise NotARequestError("the Artifacts table differs from the files in the hidden block")

    allowed = set(hidden["targets"])
    kept = [t for t in visible if t.id in allowed]
    if not kept:
        raise NotARequestError("none of the Targets lines names a target of this request")
    req.targets = kept
    req.ignored_targets = [t.id for t in visible if t.id not in allowed]
    req.merge_target = hidden.get("merge_target")
    req.sha = hidden["sha"]
    req.artifacts = hidden_arts
    req.branch = hidden.get("branch")
    req.run_url = hidden.get("run_url")
    req.release_id = hidden.get("release_id")
    req.store = hidden.get("store", req.store)
    req.previous = hidden.get("previous")
    req.run_id = hidden.get("run_id")
    req.build = hidden.get("build", "isolated")
    req.images = [dict(i) for i in hidden.get("images") or []]
    return req


# -- rendering --------------------------------------------------------------------


def _check_identity(repo: str, path: str, version: str) -> None:
    if not isinstance(repo, str) or not REPO_RE.fullmatch(repo) or repo.split("/")[1] in (".", ".."):
        raise UsageError(f"repository {_short(repo)} is not owner/name",
                         hint="give the repository as owner/name, for example octo-org/sdk")
    if not is_valid_path(path):
        raise UsageError(f"path {_short(path)} is not '.' or a relative path of plain names",
                         hint="for example packages/sdk (letters, digits, '.', '_', '-')")
    if not isinstance(version, str) or not VERSION_RE.fullmatch(version):
        raise UsageError(f"version {_short(version)} is outside the version grammar",
                         hint="use a version such as 1.2.3, 1.0.0-beta.1 or 4.2.6+sentry1")


def _check_url(url: str | None, what: str) -> None:
    if url is not None and (len(url) > 500 or not URL_RE.fullmatch(url)):
        raise UsageError(f"{what} {_short(url)} is not a plain http(s) URL")


def validate_request(req: Request, *, server_url: str) -> None:
    """Every field that reaches the body must match its grammar."""
    _check_identity(req.repo, req.path, req.version)
    if not req.requested_by or not LOGIN_RE.fullmatch(req.requested_by):
        raise UsageError(f"requester {_short(req.requested_by)} is not a GitHub login",
                         hint="valet takes the requester from GITHUB_ACTOR or --requested-by")
    for what, branch in (("merge target", req.merge_target), ("release branch", req.branch)):
        if branch is not None and not is_valid_branch(branch):
            raise UsageError(f"{what} {_short(branch)} is not a valid branch name",
                             hint="branch names may hold letters, digits and '.', '_', '+', '-', "
                                  "with '/' between parts")
    if req.previous is not None and not is_valid_branch(req.previous):
        raise UsageError(f"previous ref {_short(req.previous)} is not a valid tag or sha")
    if not isinstance(req.sha, str) or not SHA_RE.fullmatch(req.sha):
        raise UsageError(f"release commit {_short(req.sha)} is not a 40-character lowercase hex sha")
    if not req.targets:
        raise UsageError("the request names no target",
                         hint="list targets in .valet.yml or pass the `targets` input")
    ids = [t.id for t in req.targets]
    for target_id in ids:
        if not isinstance(target_id, str) or not TARGET_ID_RE.fullmatch(target_id):
            raise UsageError(f"target id {_short(target_id)} is outside the target id grammar",
                             hint="a target id is a name such as npm, optionally with [id]")
    if len(set(ids)) != len(ids):
        raise UsageError("a target is listed twice in the request")
    names = []
    for art in req.artifacts:
        validate_name(art.name)
        if not isinstance(art.size, int) or art.size < 0 or not SHA256_RE.fullmatch(art.sha256):
            raise ArtifactError(f"artifact {art.name} has an invalid size or sha256")
        names.append(art.name)
    if len(set(names)) != len(names):
        raise ArtifactError("an artifact is listed twice in the request")
    _check_url(req.run_url, "run URL")
    _check_url(server_url, "server URL")
    if req.release_id is not None and (not isinstance(req.release_id, int) or req.release_id <= 0):
        raise UsageError(f"release id {_short(req.release_id)} is not a positive number")
    if req.run_id is not None and (not isinstance(req.run_id, int) or isinstance(req.run_id, bool)
                                   or req.run_id <= 0):
        raise UsageError(f"run id {_short(req.run_id)} is not a positive number")
    if req.build not in ("isolated", "ci", "same-job"):
        raise UsageError(f"build kind {_short(req.build)} is not isolated, ci or same-job")
    if req.store not in ("github-release", "workflow-artifacts"):
        raise UsageError(f"artifact store {_short(req.store)} is not known")


def hidden_data(req: Request) -> dict[str, Any]:
    data: dict[str, Any] = {
        "v": HIDDEN_SCHEMA_VERSION,
        "repo": req.repo,
        "path": req.path,
        "version": req.version,
        "requested_by": req.requested_by,
        "merge_target": req.merge_target,
        "sha": req.sha,
        "branch": req.branch,
        "previous": req.previous,
        "targets": [t.id for t in req.targets],
        "artifacts": [a.to_json() for a in req.artifacts],
        "release_id": req.release_id,
        "store": req.store,
        "run_url": req.run_url,
        "run_id": req.run_id,
        "build": req.build,
    }
    if req.images:
        data["images"] = [dict(i) for i in req.images]
    return data


def _hidden_block(req: Request) -> str:
    text = json.dumps(hidden_data(req), separators=(",", ":"), ensure_ascii=True)
    # Validated fields hold none of these; escaping them anyway means no value can
    # ever end the comment or open a new one.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f"<!-- {HIDDEN_TAG} {text} -->"


def neutralize_changelog(text: str) -> str:
    """Make changelog markdown inert: it may format, it may not act."""
    out = []
    fence_open = False
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = line.replace("&", "&amp;").replace("<", "&lt;")
        line = line.replace("@", "@" + ZWJ)
        # '#123' would cross-reference (and notify) the publish repo's issue 123
        line = _ISSUE_REF.sub("#" + ZWJ, line)
        if _FENCE.match(line):
            fence_open = not fence_open
        elif not fence_open:
            # '[label]: url' defines a link for the whole body: '[Docker Hub (release)]'
            # in a target line would become a link to wherever the changelog says.
            # '\:' shows as ':' and defines nothing (a label may span lines, so every
            # ']:' is escaped, not only those at a line's start).
            line = line.replace("]:", "]\\:")
        stripped = line.lstrip(" \t")
        if _CHECKBOX_LIKE.match(line):
            # '- [ ] x' -> '- \[ ] x': plain text, neither a task box nor a target line
            at = line.index("[")
            line = line[:at] + "\\" + line[at:]
        elif _TARGETS_HEADING.fullmatch(line) or _ARTIFACTS_HEADING.fullmatch(line):
            line = line[: len(line) - len(stripped)] + "\\" + stripped
        out.append(line)
    if fence_open:
        out.append("```")  # an unclosed fence would swallow the rest of the body
    return "\n".join(out).strip("\n")


def _utf16_len(text: str) -> int:
    # GitHub counts the body limit in UTF-16 code units (what JavaScript sees).
    return len(text.encode("utf-16-le")) // 2


def _fmt_size(size: int) -> str:
    return f"{size:,}"


def _body_without_changelog(req: Request, server_url: str) -> list[str]:
    base = f"{server_url}/{req.repo}"
    if req.previous:
        changes = f"{base}/compare/{req.previous}...{req.sha}"
    else:
        changes = f"{base}/commits/{req.sha}"
    parts = [
        f"Requested by: @{req.requested_by}",
        "",
        f"Merge target: {req.merge_target or '(default)'}",
        "",
        "Quick links:",
        "",
        f"- [View changes]({changes})",
        f"- [View check runs]({base}/commit/{req.sha}/checks)",
    ]
    if req.run_url:
        parts.append(f"- [View the prepare run]({req.run_url})")
    if req.branch:
        parts.append(f"- Release branch: `{req.branch}`")
    if req.build == "same-job":
        parts += ["", "> [!WARNING]", f"> {SAME_JOB_WARNING}"]
    parts += [
        "",
        "Add the **accepted** label to this issue to approve the release: valet then "
        "publishes exactly the files listed under Artifacts, each checked against its sha256.",
        "To retract the request, close this issue: valet acts on open issues only.",
        "",
        "### Targets",
        "",
    ]
    parts += [f" - [{'x' if t.checked else ' '}] {t.id}" for t in req.targets]
    parts += [
        "",
        "A ticked target is done (or skipped on purpose) and is left alone; untick it to "
        "publish it again.",
        "",
        "### Artifacts",
        "",
    ]
    if req.artifacts:
        parts += ["| File | Size (bytes) | SHA-256 |", "|---|---:|---|"]
        parts += [f"| `{a.name}` | {_fmt_size(a.size)} | `{a.sha256}` |" for a in req.artifacts]
    else:
        parts.append("_No files: this release uploads nothing._")
    parts += ["", _hidden_block(req)]
    return parts


def render_body(req: Request, *, server_url: str) -> str:
    """The issue body for ``req`` (validated first; changelog cut to fit GitHub's limit)."""
    server_url = server_url.rstrip("/")
    validate_request(req, server_url=server_url)
    head = "\n".join(_body_without_changelog(req, server_url)) + "\n"
    changelog = neutralize_changelog(req.changelog or "")
    if not changelog.strip():
        body = head
    else:
        opening = "\n---\n\n<details>\n<summary>Changelog</summary>\n\n"
        closing = "\n\n</details>\n"
        body = head + opening + changelog + closing
        if _utf16_len(body) > GITHUB_BODY_LIMIT:
            body = head + opening + _cut(changelog, GITHUB_BODY_LIMIT - _utf16_len(head + opening + closing)) + closing
    if _utf16_len(body) > GITHUB_BODY_LIMIT:
        raise RequestTooLargeError(
            f"the request does not fit one GitHub issue: {len(req.targets)} target(s) and "
            f"{len(req.artifacts)} file(s) take {_utf16_len(head):,} characters, the limit is "
            f"{GITHUB_BODY_LIMIT:,} (the changelog is cut to fit, the lists cannot be)",
            hint="split the release into several requests: give each package its own "
            "project directory with its own .valet.yml (`path:`, one request per path), or "
            "release fewer targets or files per request",
        )
    return body


def _cut(changelog: str, budget: int) -> str:
    lines = changelog.split("\n")
    kept: list[str] = []
    used = 0
    note_budget = 200
    for line in lines:
        cost = _utf16_len(line) + 1
        if used + cost > budget - note_budget:
            break
        kept.append(line)
        used += cost
    if sum(1 for line in kept if _FENCE.match(line)) % 2:
        kept.append("```")
    left = len(lines) - len(kept)
    kept.append("")
    kept.append(f"_The changelog was cut here to fit GitHub's {GITHUB_BODY_LIMIT:,}-character "
                f"issue limit ({left:,} more lines); read it in full on the release branch._")
    return "\n".join(kept)
