"""The SDK repository's releases and tags as one publish run reads them.

Two parts of a run need them: the store (the draft holding the approved files,
to check and download them) and the ``github`` target (is the release already
out, what does the draft hold, which releases decide ``make_latest``, where
does the tag point). Each asked on its own before: the draft by id, its assets,
then every release, the draft's assets again, the tag twice. ``ReleaseIndex``
reads each once per run and shares the answers, and starts the listing ahead
(``warm``) so it arrives with the other reads of the checks.

GitHub lists a release's assets inside the release (``assets``), digests
included, and lists drafts to a token with push access: one paginated
``GET /releases`` answers every question but the tag's. Both readers act on
the same answers, read before anything is uploaded; what could change after
that is checked again where it matters (each download's bytes against the
approved sha256, the publishing PATCH's answer against the approved digests,
the tag when it is created).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any

from valet.errors import GitHubError

LIST = "/repos/{repo}/releases"


class ReleaseIndex:
    def __init__(self, rest: Any, repo: str, gh: Any = None) -> None:
        self.rest = rest
        self.repo = repo
        self.gh = gh  # PyGithub client: objects made from the answers write through it
        self._lock = threading.Lock()
        self._all: list[dict[str, Any]] | None = None
        self._by_id: dict[int, dict[str, Any] | None] = {}
        self._tags: dict[str, str | None] = {}
        self._tag_reads: dict[str, Future[Any]] = {}

    # -- ahead -----------------------------------------------------------------------
    def warm(self) -> None:
        """Start the listing's first page (the draft is the newest release)."""
        self.rest.prefetch_pages(LIST.format(repo=self.repo))

    def warm_tag(self, tag: str) -> None:
        """Start the tag's REST read, unless the SDK repository's joint query asked for this
        tag (publish_api.SdkJoint): then only if its answer does not say where it points."""
        from valet.publish_api import ref_path, sdk_joint

        def rest() -> None:
            self.rest.prefetch(f"/repos/{self.repo}/git/ref/tags/{ref_path(tag)}")

        joint = sdk_joint(self.rest, self.repo)
        if joint is None or not joint.asks_tag(tag):
            rest()
        else:
            joint.future.add_done_callback(lambda f: None if joint.answers_tag(tag) else rest())

    # -- reads ---------------------------------------------------------------------------
    def releases(self) -> list[dict[str, Any]]:
        """Every release of the repository (drafts included), newest first; read once."""
        with self._lock:
            if self._all is None:
                self._all = [r for r in self.rest.items(LIST.format(repo=self.repo))
                             if isinstance(r, dict)]
            return list(self._all)

    def release(self, release_id: int) -> dict[str, Any] | None:
        """One release by id: from the listing (read for it if need be), else by itself
        (GitHub lists drafts only to a token with push access)."""
        for rel in self.releases():
            if rel.get("id") == release_id:
                return rel
        with self._lock:
            if release_id not in self._by_id:
                from valet.publish_api import NotFound

                try:
                    data = self.rest.get(f"/repos/{self.repo}/releases/{int(release_id)}",
                                         doing=f"reading release {release_id} of {self.repo}")
                except NotFound:
                    data = None
                self._by_id[release_id] = data if isinstance(data, dict) else None
            return self._by_id[release_id]

    def with_tag(self, tag: str) -> list[dict[str, Any]]:
        return [r for r in self.releases() if r.get("tag_name") == tag]

    def assets(self, release: dict[str, Any]) -> list[dict[str, Any]]:
        """The release's assets as it was listed with (GitHub lists them in the release)."""
        listed = release.get("assets")
        if isinstance(listed, list):
            return [a for a in listed if isinstance(a, dict)]
        return [a for a in self.rest.items(f"/repos/{self.repo}/releases/{int(release['id'])}"
                                           "/assets") if isinstance(a, dict)]

    def tag_commit(self, tag: str) -> str | None:
        """The commit the tag points at (annotated tags followed); None: no such tag. The
        joint query's answer when it asked for this tag (once), else REST."""
        from valet.publish_api import NotFound, ref_path, sdk_joint

        with self._lock:
            if tag in self._tags:
                return self._tags[tag]
        joint = sdk_joint(self.rest, self.repo)
        part = joint.tag(tag) if joint is not None else None
        if part is not None:
            with self._lock:
                self._tags[tag] = part.value
            return part.value  # type: ignore[no-any-return]
        try:
            data = self.rest.get(f"/repos/{self.repo}/git/ref/tags/{ref_path(tag)}",
                                 doing=f"reading the tag {tag} of {self.repo}")
        except NotFound:
            sha = None
        else:
            sha = self._peel(data)
        with self._lock:
            self._tags[tag] = sha
        return sha

    def forget_tag(self, tag: str) -> None:
        """The next tag_commit(tag) reads GitHub again (after creating it, say)."""
        with self._lock:
            self._tags.pop(tag, None)

    def _peel(self, ref: Any) -> str:
        obj = ref.get("object") if isinstance(ref, dict) else None
        if not isinstance(obj, dict) or not isinstance(obj.get("sha"), str):
            raise GitHubError(f"a tag of {self.repo} came back without its object")
        kind, sha = obj.get("type"), str(obj["sha"])
        for _ in range(5):
            if kind != "tag":
                break
            tag = self.rest.get(f"/repos/{self.repo}/git/tags/{sha}",
                                doing=f"reading the annotated tag {sha} of {self.repo}")
            inner = tag.get("object") if isinstance(tag, dict) else None
            if not isinstance(inner, dict):
                raise GitHubError(f"the annotated tag {sha} of {self.repo} has no object")
            kind, sha = inner.get("type"), str(inner.get("sha"))
        return sha

    # -- objects to act on ---------------------------------------------------------------
    def obj(self, release: dict[str, Any]) -> Any:
        """A PyGithub GitRelease of a listed release (its assets included): its methods
        write through the run's client (retries, pacing) without reading it again."""
        from github.GitRelease import GitRelease

        if self.gh is None:
            raise GitHubError("no GitHub client to act on the release with")
        return self.gh.create_from_raw_data(GitRelease, release)
