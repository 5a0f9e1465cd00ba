"""The registries failing during an upload: a 500, a hang (the gateway drops the
request before the registry saw it) and a lost answer (the registry took the
upload, the client never heard so), for pypiserver and verdaccio through
``tests/fault/proxy.py``; plus a 500 on the index read that decides what to upload.

Whatever twine and npm do on their own, valet must end with each file uploaded
exactly once (counted at the proxy: uploads the registry accepted) and with the
approved digests, either in the first run or after one re-run.
"""

from __future__ import annotations

import pytest

from tests.fault.world import FaultWorld

pytestmark = [pytest.mark.fault, pytest.mark.sandbox]

CASES = [
    # (fault, registry, method, path regex, proxy kwargs)
    ("registry 500 on upload", "pypi", "POST", r"^/$", {"kind": "status", "status": 500}),
    ("registry hang on upload (dropped)", "pypi", "POST", r"^/$", {"kind": "hang", "seconds": 1}),
    ("upload stored, answer lost", "pypi", "POST", r"^/$", {"kind": "lost", "seconds": 0.5}),
    ("registry 500 on the digest check", "pypi", "GET", r"^/simple/", {"kind": "status",
                                                                       "status": 500}),
    ("registry 500 on publish", "npm", "PUT", r"^/valet-fault-", {"kind": "status",
                                                                  "status": 500}),
    ("registry hang on publish (dropped)", "npm", "PUT", r"^/valet-fault-",
     {"kind": "hang", "seconds": 1}),
    ("publish stored, answer lost", "npm", "PUT", r"^/valet-fault-", {"kind": "lost",
                                                                      "seconds": 0.5}),
    ("registry 500 on the digest check", "npm", "GET", r"^/valet-fault-", {"kind": "status",
                                                                          "status": 500}),
]


@pytest.mark.parametrize("fault,registry,method,path,kwargs", CASES,
                         ids=[f"{c[1]}-{c[2]}-{c[4]['kind']}" for c in CASES])
def test_registry_fault(world: FaultWorld, fault_row, fault: str, registry: str, method: str,
                        path: str, kwargs: dict) -> None:
    rel = world.new_release()
    proxy = world.pypi if registry == "pypi" else world.npm
    event = world.approve(rel)
    rule = proxy.add(path=path, method=method, count=1, **kwargs)
    code = world.run_publish(event)
    assert rule.hits >= 1, f"no {method} {registry} request matched: the case tests nothing"
    proxy.clear()
    if code == 0:
        outcome = "published in the first run"
    else:
        assert "failed" in world.labels(rel)
        comment = world.last_comment(rel)
        assert registry in comment and "accepted" in comment, comment
        ticked = world.ticked(rel)
        assert ticked[registry] is False and ticked["github"] is False
        again = world.run_publish(world.approve(rel))
        assert again == 0, world.last_comment(rel)
        outcome = f"failed clearly (exit {code}), re-run published"
    assert world.check(rel) == []
    fault_row(fault, f"{registry} {method} {path}", outcome + ", each file uploaded once")
