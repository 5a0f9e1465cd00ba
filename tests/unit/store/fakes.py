"""In-memory stand-ins for PyGithub's release objects and a requests session.

Just enough of GitHub's release/asset REST behaviour for the store's logic:
asset names are unique per release (422 on a duplicate), uploads go to
upload_url, downloads answer `Accept: application/octet-stream`.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from typing import Any

API = "http://127.0.0.1:9/api/v3"


class FakeResponse:
    def __init__(self, status: int, body: Any = None, raw: bytes | None = None) -> None:
        self.status_code = status
        self._body = body
        self._raw = raw if raw is not None else json.dumps(body).encode()
        self.links: dict[str, Any] = {}
        self.text = self._raw.decode(errors="replace")

    def json(self) -> Any:
        return self._body if self._body is not None else json.loads(self._raw)

    def iter_content(self, n: int) -> Any:
        buf = io.BytesIO(self._raw)
        while block := buf.read(n):
            yield block

    def __enter__(self) -> FakeResponse:
        return self

    def __exit__(self, *a: object) -> None:
        return None


class FakeRelease:
    def __init__(self, gh: FakeGitHub, rid: int, tag: str, body: str, draft: bool,
                 target: str | None) -> None:
        self.gh, self.id, self.tag_name, self.body, self.draft = gh, rid, tag, body, draft
        self.target_commitish = target
        self.upload_url = f"http://127.0.0.1:9/uploads/releases/{rid}/assets{{?name,label}}"
        self.html_url = f"http://127.0.0.1:9/o/r/releases/{rid}"

    def update(self) -> bool:
        return True

    def update_release(self, name: str, message: str, **kw: Any) -> None:
        self.body = message
        if "target_commitish" in kw:
            self.target_commitish = kw["target_commitish"]

    def delete_release(self) -> None:
        del self.gh.releases[self.id]


class FakeGitHub:
    """Both the PyGithub client (get_repo) and the requests session."""

    def __init__(self, digests: bool = True) -> None:
        self.releases: dict[int, FakeRelease] = {}
        self.assets: dict[int, dict[str, Any]] = {}  # id -> {release, name, data, state}
        self.digests = digests
        self.next_id = 1
        self.log: list[tuple[str, str]] = []

    # PyGithub side
    def get_repo(self, name: str) -> FakeGitHub:
        return self

    def get_releases(self) -> list[FakeRelease]:
        return list(self.releases.values())

    def get_release(self, rid: int) -> FakeRelease:
        if rid not in self.releases:
            from github import GithubException

            raise GithubException(404, {"message": "Not Found"}, None)
        return self.releases[rid]

    def create_git_release(self, tag: str, name: str, body: str, *, draft: bool,
                           prerelease: bool = False, target_commitish: str | None = None
                           ) -> FakeRelease:
        rid = self._id()
        self.releases[rid] = FakeRelease(self, rid, tag, body, draft, target_commitish)
        self.log.append(("create_release", tag))
        return self.releases[rid]

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    def add_asset(self, rid: int, name: str, data: bytes, state: str = "uploaded") -> int:
        aid = self._id()
        self.assets[aid] = {"release": rid, "name": name, "data": data, "state": state}
        return aid

    def asset_json(self, aid: int) -> dict[str, Any]:
        a = self.assets[aid]
        out = {"id": aid, "name": a["name"], "size": len(a["data"]), "state": a["state"]}
        if self.digests:
            out["digest"] = "sha256:" + hashlib.sha256(a["data"]).hexdigest()
        return out

    def names(self, rid: int) -> list[str]:
        return sorted(a["name"] for a in self.assets.values() if a["release"] == rid)

    # requests side
    headers: dict[str, str] = {}

    def get(self, url: str, params: Any = None, headers: Any = None, **kw: Any) -> FakeResponse:
        self.log.append(("GET", url))
        if m := re.search(r"/releases/(\d+)/assets$", url):
            rid = int(m.group(1))
            return FakeResponse(200, [self.asset_json(i) for i, a in self.assets.items()
                                      if a["release"] == rid])
        if m := re.search(r"/releases/assets/(\d+)$", url):
            assert headers and headers.get("Accept") == "application/octet-stream"
            aid = int(m.group(1))
            if aid not in self.assets:
                return FakeResponse(404, {"message": "Not Found"})
            return FakeResponse(200, raw=self.assets[aid]["data"])
        return FakeResponse(404, {"message": "Not Found"})

    def post(self, url: str, params: Any = None, data: Any = None, headers: Any = None,
             **kw: Any) -> FakeResponse:
        m = re.search(r"/uploads/releases/(\d+)/assets$", url)
        assert m, url
        rid, name = int(m.group(1)), params["name"]
        self.log.append(("upload", name))
        body = b"".join(iter(data))
        assert int(headers["Content-Length"]) == len(body)
        if name in self.names(rid):
            return FakeResponse(422, {"message": "Validation Failed: already_exists"})
        return FakeResponse(201, self.asset_json(self.add_asset(rid, name, body)))

    def delete(self, url: str, **kw: Any) -> FakeResponse:
        aid = int(url.rsplit("/", 1)[1])
        self.log.append(("delete", self.assets[aid]["name"]))
        del self.assets[aid]
        return FakeResponse(204, raw=b"")
