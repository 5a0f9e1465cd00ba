"""The run named by a request sealed it (valet.seal), read back from GitHub.

``origin.requesters`` proves a release run of this SDK was running when the request
App wrote the body; it cannot prove *that* run wrote it: any holder of the request
App's token can name a run someone else started. Only the run itself can add an
artifact to it, so its ``valet-request`` artifact must name this publish repository,
this issue, this release, and the body the request App last wrote (ticks aside).
Two calls: the run's artifacts of that name and the newest one's zip, both started
ahead with the prepare run's read (SdkAPI.warm).

``read`` is the I/O (those two calls), ``verdict`` the judgement (pure): publish
refuses by it, ``valet audit`` flags by it (audit.facts.verify_seal), one code path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from valet import seal
from valet.errors import NotAuthorizedError
from valet.publish.context import Refused
from valet.publish.identity import Identities
from valet.publish_api import SEAL_ZIP_LIMIT, Edit
from valet.request import Request

# One line: refusal comments say their hint as one paragraph. Flow-style YAML, a step
# of the request job as written (docs/actions.md shows it in block style).
UPLOAD_STEP = ("- {name: Seal the request, uses: actions/upload-artifact@"
               "ea165f8d65b6e75b540449e92b4886f43607fa02, with: {name: " + seal.ARTIFACT +
               ", path: '${{ steps.request.outputs.seal }}', if-no-files-found: error, "
               "overwrite: true, retention-days: 30}}")
HINT = ("run the release workflow again for a new request. If your release workflow is "
        "older than this version of valet, add this step to its request job, after the "
        "step `id: request` (actions/upload-artifact v4.6.2): " + UPLOAD_STEP)


def written_body(body_now: str, edits: list[Edit], ids: Identities) -> str:
    """The body as the request App last wrote it: its newest edit, else (never edited)
    the body as it is. Ticks by the publish App change only what the seal ignores."""
    mine = [e.body for e in edits if ids.is_request_bot(e.login)]
    return mine[-1] if mine else body_now


def _refuse(where: str, why: str) -> Refused:
    return Refused(NotAuthorizedError(
        f"{where} did not write this request: {why}. Anyone holding the request App's "
        "token can name a run; only the run itself can seal it", hint=HINT))


# What the run's seal says of a request (``verdict``): publish refuses all but SEALED;
# the audit flags EXPIRED milder than the rest (artifacts expire after retention-days).
SEALED, UNSEALED, EXPIRED, MISMATCH = "sealed", "unsealed", "expired", "mismatch"


@dataclass(frozen=True)
class Verdict:
    state: str  # SEALED | UNSEALED | EXPIRED | MISMATCH
    why: str  # what is wrong, as "<the run> did not write this request: <why>" ends

    @property
    def sealed(self) -> bool:
        return self.state == SEALED


def read(sdk: Any, run_id: int) -> tuple[list[dict[str, Any]], bytes | None]:
    """What GitHub says of the run's seal: its ``valet-request`` artifacts and the newest
    unexpired one's zip (None: there is none, or it is gone). One list, one download."""
    listed = sdk.run_artifacts(run_id, seal.ARTIFACT)
    found = seal.newest(listed)
    data = sdk.artifact_zip(int(found["id"]), limit=SEAL_ZIP_LIMIT) if found else None
    return listed, data


def verdict(listed: Any, data: bytes | None, expected: seal.Seal) -> Verdict:
    """Whether the run that listed ``listed`` (its artifacts, GitHub's list) with the zip
    ``data`` of the newest unexpired one (``read``) sealed the request ``expected``."""
    if seal.newest(listed) is None:
        if seal.named(listed):  # GitHub lists an expired artifact, with expired: true
            return Verdict(EXPIRED, f"it has no unexpired `{seal.ARTIFACT}` artifact (its "
                                    "seal): it expired")
        return Verdict(UNSEALED, f"it has no unexpired `{seal.ARTIFACT}` artifact (its seal)")
    if data is None:
        return Verdict(EXPIRED, f"its `{seal.ARTIFACT}` artifact is gone or expired")
    try:
        got = seal.from_zip(data)
    except seal.SealError as exc:
        return Verdict(MISMATCH, f"its `{seal.ARTIFACT}` artifact is not a seal ({exc})")
    wrong = seal.mismatch(got, expected)
    return Verdict(MISMATCH, wrong) if wrong else Verdict(SEALED, "")


def where(request: Request) -> str:
    return f"the prepare run {request.run_id} of {request.repo}"


def check(sdk: Any, request: Request, *, publish_repo: str, number: int, body: str) -> None:
    """Refuse unless the newest unexpired ``valet-request`` artifact of the prepare run
    seals this request (``body``: ``written_body``)."""
    assert request.run_id is not None  # origin.requesters refused a request without one
    said = verdict(*read(sdk, request.run_id), seal.make(publish_repo, number, request, body))
    if not said.sealed:
        raise _refuse(where(request), said.why)
