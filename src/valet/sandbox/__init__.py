"""The local sandbox: a stateful GitHub REST fake on real git, plus the services asked for
(``valet.sandbox.catalog``: the registries, a crates.io fake, trusted-publishing exchanges,
container registries, GCS and AWS).

    with Sandbox() as sb:
        token = sb.admin.create_token("alice")
        sb.admin.create_repo("acme/sdk", files={"README.md": "hi"})
        gh = github.Github(auth=github.Auth.Token(token), base_url=sb.api_url)
"""

from valet.sandbox.client import AdminClient, SandboxAdminError
from valet.sandbox.service import Sandbox

__all__ = ["AdminClient", "Sandbox", "SandboxAdminError"]
