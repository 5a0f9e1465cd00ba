"""The Actions OIDC id-token issuer (for trusted publishing).

A job asks ``ACTIONS_ID_TOKEN_REQUEST_URL&audience=...`` with
``Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN`` and gets
``{"value": "<JWT>"}``. Here the request token is one made by
``AdminClient.create_oidc_request_token`` (bound to a repository, ref,
workflow and environment, like a job's runtime token). Tokens are RS256-signed
with a key made at start-up; the issuer publishes
``{issuer}/.well-known/openid-configuration`` and ``{issuer}/.well-known/jwks``.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _int_b64(n: int) -> str:
    return _b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


class Issuer:
    def __init__(self, issuer_url: str) -> None:
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.issuer_url = issuer_url
        self.kid = secrets.token_hex(8)
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict[str, Any]:
        pub = self._key.public_key().public_numbers()
        return {"keys": [{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.kid,
                          "n": _int_b64(pub.n), "e": _int_b64(pub.e)}]}

    def discovery(self) -> dict[str, Any]:
        return {"issuer": self.issuer_url, "jwks_uri": f"{self.issuer_url}/.well-known/jwks",
                "response_types_supported": ["id_token"],
                "subject_types_supported": ["public", "pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "claims_supported": ["sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref",
                                     "sha", "repository", "repository_id", "repository_owner",
                                     "repository_owner_id", "run_id", "run_number",
                                     "run_attempt", "actor", "actor_id", "workflow",
                                     "workflow_ref", "workflow_sha", "head_ref", "base_ref",
                                     "event_name", "ref_type", "environment",
                                     "job_workflow_ref", "job_workflow_sha",
                                     "repository_visibility", "runner_environment"]}

    def token(self, binding: dict[str, Any], audience: str) -> str:
        return self.sign(claims_for(self.issuer_url, binding, audience, int(time.time())))

    def sign(self, claims: dict[str, Any]) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        header = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        signing_input = (_b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                         _b64url(json.dumps(claims, separators=(",", ":")).encode()))
        sig = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(sig)}"


def claims_for(issuer: str, binding: dict[str, Any], audience: str, now: int) -> dict[str, Any]:
    """The claims GitHub puts in a job's ID token, for the job ``binding`` describes
    (repository, ref, workflow file, environment, ...)."""
    repo = binding["repository"]
    owner = repo.split("/")[0]
    ref = binding.get("ref") or "refs/heads/main"
    env = binding.get("environment")
    workflow = binding.get("workflow") or "publish.yml"  # the file under .github/workflows
    sha = binding.get("sha") or "0" * 40
    # The subject names the environment when the job has one, else the ref.
    sub = f"repo:{repo}:environment:{env}" if env else f"repo:{repo}:ref:{ref}"
    workflow_ref = f"{repo}/.github/workflows/{workflow}@{ref}"
    claims: dict[str, Any] = {
        "iss": issuer, "aud": audience, "sub": sub, "iat": now, "nbf": now - 5,
        "exp": now + 300, "jti": secrets.token_hex(16),
        "repository": repo, "repository_id": str(binding.get("repo_id")),
        "repository_owner": owner, "repository_owner_id": str(binding.get("owner_id")),
        "repository_visibility": binding.get("visibility") or "private",
        "actor": binding.get("actor") or "", "actor_id": str(binding.get("actor_id") or 1),
        "ref": ref, "ref_type": "branch" if ref.startswith("refs/heads/") else "tag",
        "ref_protected": "false", "head_ref": "", "base_ref": "", "sha": sha,
        # `workflow` is the workflow's name; the file is in workflow_ref.
        "workflow": binding.get("workflow_name") or workflow.rsplit(".", 1)[0],
        "workflow_ref": workflow_ref, "workflow_sha": sha,
        "job_workflow_ref": workflow_ref, "job_workflow_sha": sha,
        "run_id": str(binding.get("run_id", 1)), "run_number": "1", "run_attempt": "1",
        "event_name": binding.get("event_name") or "issues",
        "runner_environment": "self-hosted",
    }
    if env:
        claims["environment"] = env
    return claims
