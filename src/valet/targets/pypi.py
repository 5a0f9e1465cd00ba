"""`pypi`: upload the verified wheels and sdists with twine.

Before anything is uploaded the index is asked, by digest, which of our files
it already holds for this version (see ``base.decide``). Two ways to ask,
picked by ``index_url``:

- a URL ending in ``/simple`` (pypiserver, devpi, Artifactory...): the PEP 503
  page ``{index}/{project}/`` whose links carry ``#sha256=`` fragments;
- anything else is a PyPI-style JSON API root (default ``https://pypi.org/pypi``):
  ``GET {root}/{project}/{version}/json`` -> ``urls[].digests.sha256``.

"Already exists" answers differ per index (PyPI: 400 "File already exists";
pypiserver: 409, or 400 when the client is twine; others 403). We never trust the
text: after a failed upload we ask the index again, and a file there with our
digest counts as published, one with another digest is a conflict.
"""

from __future__ import annotations

import html.parser
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar
from urllib.parse import urljoin, urlparse, urlsplit

import requests
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    canonicalize_version,
    parse_sdist_filename,
    parse_wheel_filename,
)

from valet import gha, trusted_publishing
from valet.errors import ConflictError, TargetError
from valet.targets.base import (
    Destination,
    Receipt,
    State,
    StatusResult,
    TargetContext,
    child_env,
    decide,
    env_first,
    host_of,
    option,
    secret_hint,
    select_files,
    upload_receipt,
)

DEFAULT_REPOSITORY_URL = "https://upload.pypi.org/legacy/"
# Upload URL -> where to ask for digests, for the indexes everyone uses.
KNOWN_INDEXES = {
    "https://upload.pypi.org/legacy/": "https://pypi.org/pypi",
    "https://test.pypi.org/legacy/": "https://test.pypi.org/pypi",
}
USER_AGENT = "valet-release"
TIMEOUT = 30.0

_CONFLICT_HINT = ("an index never takes a file name twice: if the published file is wrong, "
                  "yank it and release a new version")

class PyPITarget:
    name: ClassVar[str] = "pypi"
    default_include: ClassVar[re.Pattern[str]] = re.compile(r"\.(whl|tar\.gz)$")
    credentials: ClassVar[tuple[str, ...]] = ("PYPI_TOKEN", "TWINE_PASSWORD")

    # -- interface ----------------------------------------------------------

    def preflight(self, ctx: TargetContext) -> None:
        names = self._names(ctx)
        if not names:
            raise TargetError(
                f"{ctx.key}: no wheel or sdist among the approved artifacts",
                hint="build *.whl / *.tar.gz in prepare, or fix this target's "
                     + ctx.config.key_name("include_names"),
            )
        projects = self._projects(names)  # every file name must parse
        _user, password = credentials(ctx.env)
        gha.add_mask(password)
        uses_oidc(ctx, announce=True)  # raises when neither the secret nor OIDC can work
        repository_url(ctx)
        index_url(ctx)
        for (project, _version), files in projects.items():
            for n in files:  # the index files it under its metadata's name, not the file name
                check_metadata_name(ctx.files[n], project)

    def destinations(self, ctx: TargetContext) -> list[Destination]:
        """The upload host, and each project (PEP 503 name) of the approved wheels/sdists."""
        names = select_files(ctx.target, self.default_include, list(ctx.artifacts))
        projects = sorted({project for project, _ in group_by_project(names)})
        return [Destination("host", host_of(repository_url(ctx))),
                *(Destination("package", p) for p in projects)]

    def status(self, ctx: TargetContext) -> StatusResult:
        names = self._names(ctx)
        remote = self._remote(ctx, names)
        return decide(ctx, names, remote, url=self._project_url(ctx, names))

    def publish(self, ctx: TargetContext) -> Receipt:
        names = self._names(ctx)
        remote = self._checked_remote(ctx, names)
        todo = [n for n in names if remote[n] is None]
        if todo:
            self._upload(ctx, names, todo)
        return upload_receipt(ctx, names, self._checked_remote(ctx, names), uploaded=len(todo),
                              url=self._project_url(ctx, names), noun="file", where="index")

    # -- helpers ------------------------------------------------------------

    def _names(self, ctx: TargetContext) -> list[str]:
        return select_files(ctx.target, self.default_include, list(ctx.files))

    def _projects(self, names: list[str]) -> dict[tuple[str, str], list[str]]:
        return group_by_project(names)

    def _remote(self, ctx: TargetContext, names: list[str]) -> dict[str, str | None]:
        index = index_url(ctx)
        found: dict[str, str] = {}
        for (project, version), _files in self._projects(names).items():
            if is_simple(index):
                found.update(simple_digests(index, project, version))
            else:
                found.update(json_digests(index, project, version))
        return {n: found.get(n) for n in names}

    def _checked_remote(self, ctx: TargetContext, names: list[str]) -> dict[str, str | None]:
        remote = self._remote(ctx, names)
        current = decide(ctx, names, remote)
        if current.state is State.CONFLICT:
            raise ConflictError(f"{ctx.key}: {current.detail}", hint=_CONFLICT_HINT)
        return remote

    def _project_url(self, ctx: TargetContext, names: list[str]) -> str | None:
        projects = list(self._projects(names))
        if len(projects) != 1:
            return None
        project, version = projects[0]
        index = index_url(ctx)
        if is_simple(index):
            return f"{index.rstrip('/')}/{project}/"
        parts = urlsplit(index)
        return f"{parts.scheme}://{parts.netloc}/project/{project}/{version}/"

    def _upload(self, ctx: TargetContext, names: list[str], todo: list[str]) -> None:
        if uses_oidc(ctx):
            projects = sorted({project for project, _v in self._projects(todo)})
            with trusted_publishing.pypi_token(ctx.key, repository_url(ctx), projects,
                                               ctx.env) as token:
                self._twine(ctx, names, todo, "__token__", token)
            return
        user, password = credentials(ctx.env)
        if not password:  # preflight said so already; never upload anonymously
            raise TargetError(f"{ctx.key}: no PyPI credentials", hint="set PYPI_TOKEN")
        gha.add_mask(password)
        self._twine(ctx, names, todo, user, password)

    def _twine(self, ctx: TargetContext, names: list[str], todo: list[str], user: str,
               password: str) -> None:
        # An empty config file: twine must not pick up a ~/.pypirc of the runner.
        ctx.workdir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="pypirc-", dir=ctx.workdir)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("[distutils]\nindex-servers =\n")
        pypirc = Path(name)
        argv = [sys.executable, "-m", "twine", "--no-color", "upload", "--non-interactive",
                "--disable-progress-bar", "--config-file", str(pypirc),
                "--repository-url", repository_url(ctx), "--verbose",
                *[str(ctx.files[n]) for n in todo]]
        env = child_env(ctx.env, {"TWINE_USERNAME": user, "TWINE_PASSWORD": password,
                                  "TWINE_NON_INTERACTIVE": "1", "PYTHONUNBUFFERED": "1",
                                  "NO_COLOR": "1"})
        gha.info(f"{ctx.key}: twine upload {' '.join(todo)} -> {repository_url(ctx)}")
        proc = subprocess.run(argv, env=env, cwd=str(ctx.workdir), capture_output=True,
                              text=True, check=False, timeout=1800)
        output = gha.redact((proc.stdout or "") + (proc.stderr or ""))
        if output.strip():
            gha.print_untrusted(output)
        if proc.returncode == 0:
            return
        # "Already exists" (400/403/409 by index) or a partial upload: decide by digest.
        remote = self._checked_remote(ctx, names)
        if all(remote[n] is not None for n in todo):
            gha.info(f"{ctx.key}: the index already holds these files with the approved digests")
            return
        raise TargetError(f"{ctx.key}: twine upload failed: {twine_reason(output)}",
                          hint=_upload_hint(output))


# -- pure helpers (unit tested) ---------------------------------------------


def uses_oidc(ctx: TargetContext, *, announce: bool = False) -> bool:
    """Trusted publishing (True) or the PYPI_TOKEN / TWINE_PASSWORD secret (False)."""
    return trusted_publishing.choose(
        ctx, secret=credentials(ctx.env)[1], env_name="PYPI_TOKEN", registry="PyPI",
        secret_hint=secret_hint("PYPI_TOKEN", "an API token"), announce=announce)


def credentials(env: Mapping[str, str]) -> tuple[str, str | None]:
    """(username, password): PYPI_TOKEN means user `__token__`; else TWINE_USERNAME/PASSWORD."""
    token = env.get("PYPI_TOKEN")
    if token:
        return "__token__", token
    password = env.get("TWINE_PASSWORD") or None
    return (env.get("TWINE_USERNAME") or "__token__"), password


def repository_url(ctx: TargetContext) -> str:
    url = (option(ctx, "repository_url") or option(ctx, "repositoryUrl")
           or ctx.env.get("TWINE_REPOSITORY_URL") or DEFAULT_REPOSITORY_URL)
    return _check_url(ctx, str(url), "repository_url")


def index_url(ctx: TargetContext) -> str:
    """Where to read digests: the `index_url` option, PYPI_INDEX_URL, or known for PyPI/TestPyPI."""
    url = (option(ctx, "index_url") or option(ctx, "indexUrl")
           or env_first(ctx.env, ("PYPI_INDEX_URL", "VALET_PYPI_INDEX_URL")))
    if not url:
        upload = repository_url(ctx)
        url = KNOWN_INDEXES.get(upload if upload.endswith("/") else upload + "/")
    if not url:
        raise TargetError(
            f"{ctx.key}: no index to check digests against for {repository_url(ctx)}",
            hint="set the target option `index_url` (a PEP 503 `.../simple/` URL or a "
                 "PyPI JSON API root like https://pypi.org/pypi), or the env PYPI_INDEX_URL",
        )
    return _check_url(ctx, str(url), "index_url")


def _check_url(ctx: TargetContext, url: str, what: str) -> str:
    parts = urlparse(url)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.username:
        raise TargetError(f"{ctx.key}: {what} {url!r} is not an http(s) URL without credentials",
                          hint=f"set {what} to e.g. https://upload.pypi.org/legacy/")
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise TargetError(f"{ctx.key}: {what} {url!r} is plain http",
                          hint="use https: credentials must not travel in clear text")
    return url


def is_simple(index: str) -> bool:
    return urlparse(index).path.rstrip("/").endswith("/simple")


def project_of(filename: str) -> tuple[str, str]:
    """(normalized project name, normalized version) from a wheel or sdist file name."""
    try:
        if filename.endswith(".whl"):
            name, version, _build, _tags = parse_wheel_filename(filename)
        elif filename.endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(filename)
        else:
            raise TargetError(f"{filename}: not a wheel or an sdist",
                              hint="the pypi target takes *.whl and *.tar.gz files")
    except (InvalidWheelFilename, InvalidSdistFilename) as exc:
        raise TargetError(f"{filename}: not a valid wheel/sdist file name ({exc})",
                          hint="build the distributions with a PEP 427/625 compliant tool") from None
    return canonicalize_name(name), canonicalize_version(version, strip_trailing_zero=False)


MAX_METADATA = 1024 * 1024


def metadata_name(path: Path) -> str | None:
    """The ``Name:`` of a wheel's ``*.dist-info/METADATA`` or an sdist's ``PKG-INFO``
    (read in memory, bounded; None when the file holds none)."""
    import email.parser
    import tarfile
    import zipfile

    text: bytes | None = None
    try:
        if path.name.endswith(".whl"):
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    parts = info.filename.split("/")
                    if len(parts) == 2 and parts[0].endswith(".dist-info") \
                            and parts[1] == "METADATA" and info.file_size <= MAX_METADATA:
                        text = zf.read(info)
                        break
        else:
            with tarfile.open(path, "r:*") as tar:
                for member in tar:
                    parts = member.name.lstrip("./").split("/")
                    if len(parts) == 2 and parts[1] == "PKG-INFO" and member.isfile() \
                            and member.size <= MAX_METADATA:
                        fh = tar.extractfile(member)
                        text = fh.read(MAX_METADATA) if fh is not None else None
                        break
    except (OSError, EOFError, zipfile.BadZipFile, tarfile.TarError) as exc:
        raise TargetError(f"{path.name}: not a readable distribution ({exc})",
                          hint="build the distributions with `python -m build`") from None
    if text is None:
        return None
    name = email.parser.BytesHeaderParser().parsebytes(text).get("Name")
    return str(name).strip() if name else None


def check_metadata_name(path: Path, project: str) -> None:
    """The project the index files an upload under is the one in its metadata: it must
    be the one its file name says (which the publish side's allow-list checked)."""
    name = metadata_name(path)
    if name is None:
        raise TargetError(f"{path.name}: no metadata (METADATA / PKG-INFO) with a Name",
                          hint="build the distributions with `python -m build`")
    if canonicalize_name(name) != project:
        raise TargetError(
            f"{path.name}: its metadata names the project {name!r}, its file name {project!r}",
            hint="the publish side allowed the project its file name names: rebuild the "
                 "distribution so that both agree")


def group_by_project(names: list[str]) -> dict[tuple[str, str], list[str]]:
    groups: dict[tuple[str, str], list[str]] = {}
    for n in names:
        groups.setdefault(project_of(n), []).append(n)
    return groups


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []  # (href, text)
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._text).strip()))
            self._href = None


def parse_simple_page(page: str) -> dict[str, str | None]:
    """File name -> sha256 (None when the link carries no sha256 fragment)."""
    parser = _Links()
    parser.feed(page)
    out: dict[str, str | None] = {}
    for href, text in parser.links:
        path, _, fragment = href.partition("#")
        filename = path.rsplit("/", 1)[-1] or text
        sha = None
        if fragment.startswith("sha256="):
            sha = fragment[len("sha256="):].lower()
        out[filename] = sha
    return out


def _get(url: str, accept: str) -> requests.Response | None:
    """GET following same-origin redirects only (pypiserver redirects unknown
    projects to pypi.org: that means "not here", not "go ask PyPI"). None = absent."""
    origin = urlsplit(url)[:2]
    headers = {"User-Agent": USER_AGENT, "Accept": accept}
    for _ in range(4):
        try:
            resp = requests.get(url, headers=headers, timeout=TIMEOUT, allow_redirects=False)
        except requests.RequestException as exc:
            raise TargetError(f"cannot reach the index at {url}: {exc}",
                              hint="check index_url and the index's availability") from None
        if resp.status_code in (301, 302, 303, 307, 308):
            nxt = urljoin(url, resp.headers.get("Location", ""))
            if urlsplit(nxt)[:2] != origin:
                return None
            url = nxt
            continue
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise TargetError(f"the index answered HTTP {resp.status_code} for {url}",
                              hint="check index_url; an index that needs a login for reads is "
                                   "not supported yet")
        return resp
    raise TargetError(f"too many redirects from {url}")


def simple_digests(index: str, project: str, version: str) -> dict[str, str]:
    resp = _get(f"{index.rstrip('/')}/{project}/", "text/html")
    if resp is None:
        return {}
    out: dict[str, str] = {}
    for filename, sha in parse_simple_page(resp.text).items():
        try:
            if project_of(filename) != (project, version):
                continue
        except TargetError:
            continue
        # A file with no digest in the index cannot be proven equal: report it as
        # different so that nothing overwrites it and a person looks.
        out[filename] = sha or "unknown"
    return out


def json_digests(root: str, project: str, version: str) -> dict[str, str]:
    resp = _get(f"{root.rstrip('/')}/{project}/{version}/json", "application/json")
    if resp is None:
        return {}
    try:
        urls = resp.json().get("urls") or []
        return {str(u["filename"]): str((u.get("digests") or {}).get("sha256") or "unknown")
                for u in urls}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise TargetError(f"the index's JSON for {project} {version} is not what PyPI serves",
                          hint="index_url must be a PyPI JSON API root such as "
                               "https://pypi.org/pypi, or a `/simple/` URL") from None


_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_HTTP_ERROR = re.compile(r"HTTPError:\s*(\d{3})\s*([^\n]*?)\s+from\s+\S+")
_HTML = re.compile(r"<(?:!doctype|html)\b.*?(?:</html>|\Z)", re.IGNORECASE | re.DOTALL)


class _Text(html.parser.HTMLParser):
    """The text of the tags that carry an index's message: pre, h1, title."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: dict[str, list[str]] = {}
        self._tag: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("pre", "h1", "title"):
            self._tag = tag
            self.found.setdefault(tag, [])

    def handle_endtag(self, tag: str) -> None:
        if tag == self._tag:
            self._tag = None

    def handle_data(self, data: str) -> None:
        if self._tag is not None:
            self.found[self._tag].append(data)


def html_message(page: str) -> str | None:
    """An index's message from its HTML error page (pypiserver: the <pre>; PyPI: the
    <h1>/<title>), on one line."""
    parser = _Text()
    try:
        parser.feed(page)
        parser.close()
    except Exception:  # noqa: BLE001 - a broken page just has no message
        return None
    for tag in ("pre", "h1", "title"):
        text = " ".join(" ".join(parser.found.get(tag, [])).split())
        if text and text.lower() != "none":
            return text
    return None


def twine_reason(output: str) -> str:
    """twine's failure as one clean line: the HTTP status and the index's own message
    (from its HTML page, when it sent one), without colour codes or markup."""
    text = _ANSI.sub("", output)
    # rich wraps long lines and indents the continuation: join them back for the regexes.
    flat = re.sub(r"\n[ \t]+", " ", text)
    status = None
    match = _HTTP_ERROR.search(flat)
    if match:
        status = f"HTTP {match.group(1)} {match.group(2)}".strip()
    page = _HTML.search(text)
    message = html_message(page.group(0)) if page else None
    if status and message:
        code = status.split()[1]
        if message.lower().startswith(("error: " + code, code)):
            message = message.split(code, 1)[1].strip(" :-")
        if message.lower() == status.split(None, 2)[-1].lower():
            message = ""  # the page only repeats the status line
        return f"{status}: {message}" if message else status
    if status:
        return status
    errors = [line.split(None, 1)[1] for line in flat.splitlines()
              if line.startswith("ERROR") and len(line.split(None, 1)) > 1]
    if errors:
        return " ".join(errors[-1].split())[:500]
    lines = [" ".join(line.split()) for line in flat.splitlines() if line.strip()]
    return lines[-1][:500] if lines else "no output"


def _upload_hint(output: str) -> str:
    low = output.lower()
    if "403" in low or "invalid or non-existent authentication" in low or "401" in low:
        return ("the index refused the credentials: check the PYPI_TOKEN secret (an API token "
                "scoped to this project) of the `production` environment")
    if "400" in low:
        return "the index rejected the upload: read twine's output above"
    return "read twine's output above; re-adding the `accepted` label retries only this target"

