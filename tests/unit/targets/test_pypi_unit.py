"""pypi: names from file names, digests from index pages, credentials, URLs, preflight."""

from __future__ import annotations

from pathlib import Path

import pytest

from valet.errors import TargetError
from valet.targets.pypi import (
    PyPITarget,
    credentials,
    group_by_project,
    index_url,
    is_simple,
    parse_simple_page,
    project_of,
    repository_url,
)

from .ctx import make_ctx


@pytest.mark.parametrize(("filename", "expected"), [
    ("Acme_SDK-1.2.3-py3-none-any.whl", ("acme-sdk", "1.2.3")),
    ("acme.sdk-1.2.3rc1-1-cp311-cp311-manylinux_2_17_x86_64.whl", ("acme-sdk", "1.2.3rc1")),
    ("acme_sdk-1.2.3.tar.gz", ("acme-sdk", "1.2.3")),
    ("acme_sdk-1.0.tar.gz", ("acme-sdk", "1.0")),
    ("acme_sdk-2.0.0.post1.zip", ("acme-sdk", "2.0.0.post1")),
])
def test_project_and_version_from_file_names(filename: str, expected: tuple[str, str]) -> None:
    assert project_of(filename) == expected


@pytest.mark.parametrize("bad", ["acme.tgz", "acme-1.2.3-x.whl", "nonsense.tar.gz"])
def test_other_file_names_are_refused(bad: str) -> None:
    with pytest.raises(TargetError):
        project_of(bad)


def test_wheel_and_sdist_of_one_release_group_together() -> None:
    groups = group_by_project(["Acme_SDK-1.2.3-py3-none-any.whl", "acme_sdk-1.2.3.tar.gz",
                               "other-0.1-py3-none-any.whl"])
    assert groups == {("acme-sdk", "1.2.3"): ["Acme_SDK-1.2.3-py3-none-any.whl",
                                              "acme_sdk-1.2.3.tar.gz"],
                      ("other", "0.1"): ["other-0.1-py3-none-any.whl"]}


def test_simple_page_links_give_file_names_and_sha256() -> None:
    page = """<!DOCTYPE html><html><body><h1>Links</h1>
    <a href="../../packages/acme_sdk-1.2.3.tar.gz#sha256=ABCDEF">acme_sdk-1.2.3.tar.gz</a><br>
    <a href="/packages/acme_sdk-1.2.3-py3-none-any.whl#md5=123">acme_sdk-1.2.3-py3-none-any.whl</a>
    <a href="https://files/x/acme_sdk-1.2.2.tar.gz#sha256=00ff" data-requires-python="&gt;=3.8">x</a>
    </body></html>"""
    assert parse_simple_page(page) == {
        "acme_sdk-1.2.3.tar.gz": "abcdef",
        "acme_sdk-1.2.3-py3-none-any.whl": None,
        "acme_sdk-1.2.2.tar.gz": "00ff",
    }


def test_pypi_token_means_user_token() -> None:
    assert credentials({"PYPI_TOKEN": "pypi-abc", "TWINE_PASSWORD": "x"}) == ("__token__", "pypi-abc")
    assert credentials({"TWINE_USERNAME": "bob", "TWINE_PASSWORD": "pw"}) == ("bob", "pw")
    assert credentials({}) == ("__token__", None)


def _wheel(path: Path, name: str) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("acme_sdk-1.2.3.dist-info/METADATA",
                    f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2.3\n")
    return path


def _sdist(path: Path, name: str) -> Path:
    from .ctx import write_tar_gz

    return write_tar_gz(path, {"acme_sdk-1.2.3/PKG-INFO":
                               f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2.3\n".encode()})


def _ctx(tmp_path: Path, metadata_name: str = "acme-sdk", **kw):
    tmp_path.mkdir(parents=True, exist_ok=True)
    f = _wheel(tmp_path / "acme_sdk-1.2.3-py3-none-any.whl", metadata_name)
    s = _sdist(tmp_path / "acme_sdk-1.2.3.tar.gz", metadata_name)
    t = tmp_path / "acme-sdk-1.2.3.tgz"
    t.write_bytes(b"npm")
    return make_ctx(tmp_path, [f, s, t], name="pypi", **kw)


def test_urls_default_to_pypi_and_its_json_api(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    assert repository_url(ctx) == "https://upload.pypi.org/legacy/"
    assert index_url(ctx) == "https://pypi.org/pypi"
    assert not is_simple(index_url(ctx))


def test_urls_from_options_win_over_env(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, options={"repository_url": "https://up.example/legacy/",
                                  "index_url": "https://idx.example/simple/"},
               env={"TWINE_REPOSITORY_URL": "https://other/", "PYPI_INDEX_URL": "https://o/simple"})
    assert repository_url(ctx) == "https://up.example/legacy/"
    assert index_url(ctx) == "https://idx.example/simple/"
    assert is_simple(index_url(ctx))


def test_a_custom_repository_needs_an_index_to_check(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, env={"TWINE_REPOSITORY_URL": "https://up.example/", "PYPI_TOKEN": "t"})
    with pytest.raises(TargetError) as info:
        index_url(ctx)
    assert "index_url" in str(info.value.hint)


@pytest.mark.parametrize("url", ["http://pypi.example/legacy/", "ftp://x/", "https://u:p@x/"])
def test_insecure_or_odd_urls_are_refused(tmp_path: Path, url: str) -> None:
    ctx = _ctx(tmp_path, options={"repository_url": url})
    with pytest.raises(TargetError):
        repository_url(ctx)


def test_preflight_without_credentials_names_the_secret_and_shows_yaml(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    with pytest.raises(TargetError) as info:
        PyPITarget().preflight(ctx)
    assert "PYPI_TOKEN" in info.value.message
    assert "${{ secrets.PYPI_TOKEN }}" in str(info.value.hint)


def test_preflight_with_no_matching_artifact(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, env={"PYPI_TOKEN": "tok-123456"}, exclude=r".")
    with pytest.raises(TargetError) as info:
        PyPITarget().preflight(ctx)
    assert "no wheel or sdist" in info.value.message


def test_preflight_passes_and_selects_wheels_and_sdists_only(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, env={"PYPI_TOKEN": "tok-123456"})
    PyPITarget().preflight(ctx)
    assert PyPITarget()._names(ctx) == ["acme_sdk-1.2.3-py3-none-any.whl", "acme_sdk-1.2.3.tar.gz"]


# -- twine's failure, as one line (no colour codes, no HTML) -------------------------

_PYPISERVER_400 = (
    "Uploading distributions to http://127.0.0.1:34683/\n"
    "\x1b[34mINFO    \x1b[0m Response from http://127.0.0.1:34683/:                       \n"
    "         400 Bad Request                                                        \n"
    "             <!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">                 \n"
    "             <html>\n                 <head>\n"
    "                     <title>Error: 400 Bad Request</title>                      \n"
    "                 </head>\n                 <body>\n"
    "                     <h1>Error: 400 Bad Request</h1>                            \n"
    "                     <pre>Package &#039;demo_x-1.0.0-py3-none-any.whl&#039;     \n"
    "         already exists!                                                        \n"
    "           You may start server with `--overwrite` option.</pre>                \n"
    "                 </body>\n             </html>\n"
    "\x1b[31mERROR   \x1b[0m HTTPError: 400 Bad Request from http://127.0.0.1:34683/      \n"
    "         Bad Request                                                            \n")


@pytest.mark.parametrize(("output", "reason"), [
    (_PYPISERVER_400, "HTTP 400 Bad Request: Package 'demo_x-1.0.0-py3-none-any.whl' already "
                      "exists! You may start server with `--overwrite` option."),
    # pypiserver's 403 page says nothing the status line does not
    (_PYPISERVER_400.replace("400 Bad Request", "403 Forbidden").replace(
        "<pre>Package", "<pre>None</pre><!-- ").replace("option.</pre>", "-->"),
     "HTTP 403 Forbidden"),
    # PyPI puts its message in the title and h1
    ("Uploading x.whl\nINFO Response from https://upload.pypi.org/legacy/:\n400 Bad Request\n"
     "<html>\n <head>\n  <title>400 File already exists ('x.whl', with blake2_256 hash 'ab').\n"
     "   See https://pypi.org/help/#file-name-reuse for more information.</title>\n </head>\n"
     " <body>\n  <h1>400 File already exists ('x.whl', with blake2_256 hash 'ab'). See "
     "https://pypi.org/help/#file-name-reuse for more information.</h1>\n </body>\n</html>\n"
     "ERROR    HTTPError: 400 Bad Request from https://upload.pypi.org/legacy/\n"
     "         Bad Request\n",
     "HTTP 400 Bad Request: File already exists ('x.whl', with blake2_256 hash 'ab'). See "
     "https://pypi.org/help/#file-name-reuse for more information."),
    ("Uploading x\n\x1b[31mERROR   \x1b[0m InvalidDistribution: Cannot find file (or expand "
     "pattern):\n         'x'\n", "InvalidDistribution: Cannot find file (or expand pattern): 'x'"),
])
def test_twine_failure_is_one_clean_line_with_the_index_message(output: str, reason: str) -> None:
    from valet.targets.pypi import twine_reason

    got = twine_reason(output)
    assert got == reason
    assert "\x1b" not in got and "<" not in got and "\n" not in got


def test_destinations_are_the_upload_host_and_the_pep503_projects(tmp_path: Path) -> None:
    from valet.targets.base import Destination

    ctx = _ctx(tmp_path)
    ctx.files = {}  # destinations are asked before anything is downloaded
    assert PyPITarget().destinations(ctx) == [Destination("host", "upload.pypi.org"),
                                              Destination("package", "acme-sdk")]
    local = _ctx(tmp_path / "l", options={"repository_url": "http://127.0.0.1:8123/",
                                          "index_url": "http://127.0.0.1:8123/simple/"})
    assert PyPITarget().destinations(local)[0] == Destination("host", "127.0.0.1:8123")
    env = _ctx(tmp_path / "e", env={"TWINE_REPOSITORY_URL": "https://Test.PyPI.org:443/legacy/"})
    assert PyPITarget().destinations(env)[0] == Destination("host", "test.pypi.org")


def test_preflight_refuses_a_wheel_whose_metadata_names_another_project(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, metadata_name="other-project", env={"PYPI_TOKEN": "tok-123456"})
    with pytest.raises(TargetError, match="metadata names the project 'other-project'"):
        PyPITarget().preflight(ctx)
    same = _ctx(tmp_path / "s", metadata_name="Acme.SDK", env={"PYPI_TOKEN": "tok-123456"})
    PyPITarget().preflight(same)  # PEP 503: the same project
