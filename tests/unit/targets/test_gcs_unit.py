"""gcs target: paths, metadata, hashes, credentials and destinations without a server."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.unit.targets.ctx import make_ctx
from valet.errors import ConfigError, TargetError
from valet.targets import gcs
from valet.targets.base import Destination
from valet.targets.gcs import GcsTarget, PathSpec


def test_path_templates_give_plain_prefixes() -> None:
    p = PathSpec("/sentry-cli/{{version}}/")
    assert gcs.prefix_of(p, version="2.1.0", revision="c" * 40, where="t") == "sentry-cli/2.1.0/"
    assert gcs.prefix_of(PathSpec("  latest "), version="1", revision="", where="t") == "latest/"
    assert gcs.prefix_of(PathSpec("/{{revision}}"), version="1", revision="abc", where="t") == "abc/"
    assert gcs.prefix_of(PathSpec("/"), version="1", revision="", where="t") == ""
    assert not p.moves and PathSpec("/sdk/latest/").moves
    with pytest.raises(ConfigError, match="not a plain folder path"):
        gcs.prefix_of(PathSpec("/sdk/../other/"), version="1", revision="", where="t")
    with pytest.raises(ConfigError, match="not a plain folder path"):
        gcs.prefix_of(PathSpec("/{{version}}/"), version="1.0 evil", revision="", where="t")


@pytest.mark.parametrize("options, message", [
    ({"bucket": "gs://x", "paths": "/a/"}, "is not a bucket name"),
    ({"bucket": "assets"}, "must list at least one"),
    ({"bucket": "assets", "paths": [{"path": "/a/", "metadata": {"acl": "public"}}]},
     "metadata.acl is not supported"),
    ({"bucket": "assets", "paths": [{"path": "/a/", "extra": 1}]}, r"paths\[0\].extra"),
    ({"bucket": "assets", "paths": [{"path": "/{{tag}}/"}]}, "unknown placeholder"),
    ({"bucket": "assets", "paths": ["/a/"]}, "an object with a `path`"),
])
def test_bad_options_are_config_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        gcs.bucket_of(options, "gcs")
        gcs.paths_of(options, "gcs")


def test_default_metadata_and_a_single_path_string() -> None:
    assert gcs.paths_of({"paths": "/a/{{version}}/"}, "gcs") == [
        PathSpec("/a/{{version}}/", {"cacheControl": "public, max-age=300"})]
    assert gcs.content_type("bundle.min.js", {}) in ("text/javascript", "application/javascript")
    assert gcs.content_type("relay-Linux-x86_64", {}) == "application/octet-stream"
    assert gcs.content_type("x.js", {"contentType": "text/plain"}) == "text/plain"


def test_local_hashes_are_what_gcs_reports(tmp_path: Path) -> None:
    f = tmp_path / "a.bin"
    f.write_bytes(b"hello world")
    md5, crc = gcs.local_hashes(f)
    assert md5 == base64.b64encode(hashlib.md5(b"hello world").digest()).decode()
    assert crc == "yZRlqg=="  # crc32c("hello world") = 0xc99465aa


def _ctx(tmp_path: Path, env: dict[str, str]) -> Any:
    f = tmp_path / "sdk.js"
    f.write_text("x")
    return make_ctx(tmp_path, [f], name="gcs", env=env,
                    options={"bucket": "sentry-js-sdk", "paths": "/{{version}}/"})


def test_destinations(tmp_path: Path) -> None:
    assert GcsTarget().destinations(_ctx(tmp_path, {})) == [
        Destination("host", "storage.googleapis.com"), Destination("bucket", "gs://sentry-js-sdk")]
    emulated = _ctx(tmp_path, {"STORAGE_EMULATOR_HOST": "http://127.0.0.1:4443"})
    assert GcsTarget().destinations(emulated)[0] == Destination("host", "127.0.0.1:4443")


def test_preflight_without_credentials_recommends_workload_identity(tmp_path: Path) -> None:
    with pytest.raises(TargetError) as info:
        GcsTarget().preflight(_ctx(tmp_path, {}))
    assert "google-github-actions/auth" in str(info.value.hint)
    assert "workload_identity_provider" in str(info.value.hint)


def test_credentials_from_crafts_variable(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    info = {"type": "service_account", "project_id": "acme", "private_key_id": "1",
            "private_key": key, "client_email": "up@acme.iam.gserviceaccount.com",
            "client_id": "1", "token_uri": "https://oauth2.googleapis.com/token"}
    creds, project = gcs._credentials({"CRAFT_GCS_TARGET_CREDS_JSON": json.dumps(info)}, "gcs")
    assert project == "acme" and creds.service_account_email == info["client_email"]
    path = tmp_path / "key.json"
    path.write_text(json.dumps(info))
    _creds, project = gcs._credentials({"GOOGLE_APPLICATION_CREDENTIALS": str(path)}, "gcs")
    assert project == "acme"
    with pytest.raises(TargetError, match="is not JSON"):
        gcs._credentials({"CRAFT_GCS_TARGET_CREDS_JSON": "{nope"}, "gcs")


def test_a_workload_identity_federation_config_is_accepted(tmp_path: Path) -> None:
    # What google-github-actions/auth writes for GOOGLE_APPLICATION_CREDENTIALS.
    token = tmp_path / "oidc-token"
    token.write_text("eyJ...")
    info = {"type": "external_account",
            "audience": "//iam.googleapis.com/projects/1/locations/global/"
                        "workloadIdentityPools/publish/providers/github",
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "token_url": "https://sts.googleapis.com/v1/token",
            "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/"
            "projects/-/serviceAccounts/up@acme.iam.gserviceaccount.com:generateAccessToken",
            "credential_source": {"file": str(token)}}
    path = tmp_path / "wif.json"
    path.write_text(json.dumps(info))
    creds, _project = gcs._credentials({"GOOGLE_APPLICATION_CREDENTIALS": str(path)}, "gcs")
    assert creds.service_account_email == "up@acme.iam.gserviceaccount.com"
    with pytest.raises(TargetError, match="of type 'authorized_user'"):
        gcs._credentials({"CRAFT_GCS_TARGET_CREDS_JSON": '{"type": "authorized_user"}'}, "gcs")
