"""The release's files from the workflow runs of its commit (``Request.build = "ci"``).

craft's github artifact provider, on the request side: CI on the release
branch builds and uploads workflow artifacts; the request job waits for it
(bounded), takes the artifacts craft would take, and the request goes on as
for any build: manifest, draft release, approval issue.

- ``rules``: which artifacts (the sha-named one, or workflow -> names), pure;
- ``decide``: wait, fail or take, from the runs and artifacts GitHub lists, pure;
- ``source``: the polling, the downloads and the unpacking.
"""

from valet.ci_artifacts.rules import NAME_ALLOWED, Rule, make_rules, name_pattern
from valet.ci_artifacts.source import DEFAULT_TIMEOUT_MINUTES, CiArtifacts

__all__ = ["DEFAULT_TIMEOUT_MINUTES", "NAME_ALLOWED", "CiArtifacts", "Rule", "make_rules", "name_pattern"]
