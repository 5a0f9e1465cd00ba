"""The run seal (valet.seal) and publish's reading of it (publish.seal_check)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
import yaml

from valet import seal
from valet.issue_format import set_target_checked
from valet.publish import seal_check
from valet.publish.context import Refused
from valet.publish_api import Edit

from .fakes import (
    BOT,
    PUBLISH_REPO,
    REQUEST_BOT,
    RUN_ID,
    FakeSdk,
    identities,
    make_body,
    make_request,
)

ROOT = Path(__file__).resolve().parents[3]


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _good() -> seal.Seal:
    return seal.make(PUBLISH_REPO, 5, make_request(), make_body())


def test_the_digest_ignores_ticks_and_nothing_else() -> None:
    body = make_body()
    ticked = set_target_checked(set_target_checked(body, "npm"), "pypi")
    assert ticked != body and seal.body_digest(ticked) == seal.body_digest(body)
    assert seal.body_digest(body.replace("pkg-1.2.3", "evil-1.2.3")) != seal.body_digest(body)
    assert seal.body_digest("no targets here") != seal.body_digest("no targets here.")


def test_the_digest_reads_crlf_line_ends_as_the_lf_the_request_wrote() -> None:
    # GitHub's web editor stores the body with CRLF once a person ticks a box there.
    body = make_body()
    ticked = set_target_checked(body, "pypi").replace("\n", "\r\n")
    assert "\r\n" in ticked and seal.body_digest(ticked) == seal.body_digest(body)
    assert seal.body_digest(ticked.replace("pkg-1.2.3", "evil-1.2.3")) != seal.body_digest(body)


def test_a_seal_round_trips_through_its_zip() -> None:
    assert seal.from_zip(_good().zipped()) == _good()


@pytest.mark.parametrize("change", [
    {"extra": 1}, {"kind": "valet-request/2"}, {"issue": True}, {"issue": "5"}, {"issue": 0},
    {"sha": "A" * 40}, {"sha": "a" * 39}, {"body_sha256": "0" * 63}, {"repo": ""},
    {"version": None},
])
def test_a_seal_is_read_strictly(change: dict[str, object]) -> None:
    raw = json.loads(_good().dumps())
    raw.update(change)
    with pytest.raises(seal.SealError):
        seal.loads(json.dumps(raw).encode())


def test_a_missing_field_is_no_seal() -> None:
    raw = json.loads(_good().dumps())
    del raw["issue"]
    with pytest.raises(seal.SealError, match="exactly the fields"):
        seal.loads(json.dumps(raw).encode())


@pytest.mark.parametrize("files", [
    {},
    {"other.json": b"{}"},
    {seal.FILE: b"{}", "extra.txt": b"x"},
    {f"dir/{seal.FILE}": b"{}"},
])
def test_the_zip_holds_exactly_the_seal_file(files: dict[str, bytes]) -> None:
    with pytest.raises(seal.SealError):
        seal.from_zip(_zip(files))


def test_not_a_zip_is_no_seal() -> None:
    with pytest.raises(seal.SealError, match="not a zip"):
        seal.from_zip(b"PK but not really")


def test_mismatch_names_the_field_that_differs() -> None:
    good = _good()
    other = seal.make(PUBLISH_REPO, 6, make_request(), make_body())
    assert seal.mismatch(other, good) == "its seal names the issue 6, this request 5"
    assert seal.mismatch(good, good) is None
    upper = seal.Seal(**{**good.__dict__, "repo": good.repo.upper()})
    assert seal.mismatch(upper, good) is None  # GitHub's names are case-insensitive


# -- publish's reading ---------------------------------------------------------------------


def _check(sdk: FakeSdk, number: int = 5, body: str | None = None) -> None:
    seal_check.check(sdk, make_request(), publish_repo=PUBLISH_REPO, number=number,
                     body=make_body() if body is None else body)


def test_a_sealed_request_passes_in_two_reads() -> None:
    sdk = FakeSdk()
    sdk.seal_request(5, make_body())
    _check(sdk)
    assert sdk.artifact_reads == ["list", "zip"]


def test_a_run_without_a_seal_did_not_write_the_request() -> None:
    sdk = FakeSdk()
    with pytest.raises(Refused) as caught:
        _check(sdk)
    err = caught.value.error
    assert f"the prepare run {RUN_ID} of org/sdk did not write this request" in err.message
    assert "no unexpired" in err.message
    assert "release workflow again" in (err.hint or "")
    assert sdk.artifact_reads == ["list"]  # nothing to download


def test_an_expired_seal_does_not_count() -> None:
    sdk = FakeSdk()
    sdk.seal_request(5, make_body(), expired=True)
    with pytest.raises(Refused, match="no unexpired"):
        _check(sdk)


def test_the_newest_seal_is_the_runs_word() -> None:
    """A re-run of the request job rewrote the request as another issue: the old issue's
    seal was replaced (overwrite: true); should both be listed, the newest counts."""
    sdk = FakeSdk()
    sdk.seal_request(5, make_body())
    sdk.seal_request(6, make_body())
    with pytest.raises(Refused, match="the issue 6, this request 5"):
        _check(sdk)
    _check(sdk, number=6)


def test_a_seal_of_another_body_refuses() -> None:
    sdk = FakeSdk()
    sdk.seal_request(5, make_body())
    with pytest.raises(Refused, match="the body's digest"):
        _check(sdk, body=make_body(merge_target="evil"))


def test_a_seal_of_another_publish_repo_refuses() -> None:
    sdk = FakeSdk()
    sdk.seal_request(5, make_body(), publish_repo="org/other-publish")
    with pytest.raises(Refused, match="the publish repository org/other-publish"):
        _check(sdk)


def test_the_body_the_request_app_last_wrote() -> None:
    ids = identities()
    first, second = make_body(), make_body(merge_target="develop")
    edits = [Edit(REQUEST_BOT, "t1", first), Edit(REQUEST_BOT, "t2", second),
             Edit(BOT, "t3", set_target_checked(second, "npm"))]
    assert seal_check.written_body("now", edits, ids) == second
    assert seal_check.written_body("now", [], ids) == "now"


def _request_job_step(workflow: str) -> dict[str, object]:
    data = yaml.safe_load((ROOT / "examples/sdk-repo/.github/workflows" / workflow).read_text())
    steps = data["jobs"]["request"]["steps"]
    ids = [s.get("id") for s in steps]
    (step,) = [s for s in steps if (s.get("with") or {}).get("name") == seal.ARTIFACT]
    assert steps.index(step) > ids.index("request")  # it uploads what the request wrote
    return step  # type: ignore[no-any-return]


@pytest.mark.parametrize("workflow", ["release.yml", "release-from-ci.yml"])
def test_the_refusal_shows_the_step_the_examples_use(workflow: str) -> None:
    (shown,) = yaml.safe_load(seal_check.UPLOAD_STEP)
    assert _request_job_step(workflow) == shown


def test_the_verdict_tells_an_expired_seal_from_none_and_from_a_wrong_one() -> None:
    """The one judgement publish refuses by and the audit flags by (pure: what GitHub
    listed and, for the newest unexpired seal, its zip)."""
    good = _good()
    live = [{"id": 1, "name": seal.ARTIFACT, "expired": False, "created_at": "t"}]
    dead = [{**live[0], "expired": True}]
    assert seal_check.verdict([], None, good).state == seal_check.UNSEALED
    assert seal_check.verdict(dead, None, good).state == seal_check.EXPIRED
    assert seal_check.verdict(live, None, good).state == seal_check.EXPIRED  # 410 on download
    assert seal_check.verdict(live, good.zipped(), good) == seal_check.Verdict(
        seal_check.SEALED, "")
    other = seal.make(PUBLISH_REPO, 6, make_request(), make_body())
    wrong = seal_check.verdict(live, other.zipped(), good)
    assert (wrong.state, wrong.why) == (seal_check.MISMATCH,
                                        "its seal names the issue 6, this request 5")
    assert seal_check.verdict(live, b"junk", good).state == seal_check.MISMATCH
    for verdict in (seal_check.verdict([], None, good), seal_check.verdict(dead, None, good)):
        assert "no unexpired" in verdict.why  # what publish's refusal has always said
