"""Which workflow artifacts a release takes: craft's github artifact provider, as rules (pure).

Two forms, as in craft:

- no ``workflows`` (craft: no ``artifactProvider.config.artifacts``): the one
  artifact named after the release commit's sha (or ``artifact_store.name``),
  from whichever workflow run of that commit uploaded it;
- ``workflows``: workflow name -> artifact names; ``*`` (craft's list form)
  means any workflow. Every artifact of those runs whose name matches is
  taken, and every name given must match at least one.

Names are matched as craft matches them: ``/regex/flags`` is a regular
expression (searched, flags i, m, s, x), a name with ``*`` or ``?`` is a glob
of the whole name, anything else is the exact name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from valet.errors import ConfigError

ANY_WORKFLOW = "*"


NAME_ALLOWED = "the exact name, a glob with * and ? (matching the whole name), or /regex/flags"


def name_pattern(text: str) -> re.Pattern[str]:
    """A workflow or artifact name as craft reads it; ValueError (the reason, in words)
    when it cannot be one."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("is empty")
    if text.startswith("/") and text.rfind("/") > 0:
        body, flags = text[1:text.rfind("/")], text[text.rfind("/") + 1:]
        bad = sorted({f for f in flags if f not in "imsx"})
        if bad:
            raise ValueError(f"the regex flag(s) {''.join(bad)!r} in {text!r} are ones valet "
                             "cannot honour (it honours i, m, s and x)")
        inline = "".join(sorted(set(flags)))
        try:
            return re.compile(f"(?{inline}){body}" if inline else body)
        except re.error as exc:
            raise ValueError(f"{text!r} is not a valid regular expression ({exc})") from None
    if "*" in text or "?" in text:
        glob = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
        return re.compile(f"^{glob}$")
    return re.compile(f"^{re.escape(text)}$")


def _compiled(text: str, where: str, source: str) -> re.Pattern[str]:
    try:
        return name_pattern(text)
    except ValueError as exc:
        raise ConfigError(f"{source}: {where}: {exc}", hint=f"write {NAME_ALLOWED}") from None


@dataclass(frozen=True)
class Rule:
    """Artifacts to take from the runs of one workflow (``workflow`` None: any)."""

    workflow: str | None  # as written: "CI", "/^build/"; None = any workflow
    names: tuple[str, ...]  # as written
    exact: bool = False  # the sha-named artifact: one exact name, from the run that made it
    _workflow_re: re.Pattern[str] | None = field(default=None, compare=False, repr=False)
    _name_res: tuple[re.Pattern[str], ...] = field(default=(), compare=False, repr=False)

    def runs_of(self, workflow_name: str) -> bool:
        return self._workflow_re is None or bool(self._workflow_re.search(workflow_name))

    def matches(self, index: int, artifact_name: str) -> bool:
        if self.exact:
            return artifact_name == self.names[index]
        return bool(self._name_res[index].search(artifact_name))

    def describe(self, index: int) -> str:
        where = f" (from workflow {self.workflow})" if self.workflow else ""
        return f"{self.names[index]}{where}"


def make_rules(workflows: Mapping[str, Sequence[str]], *, sha: str, name: str | None = None,
               source: str = "artifact_store") -> list[Rule]:
    """The rules of a config's ``artifact_store`` (``workflows``, ``name``) for ``sha``."""
    if not workflows:
        return [Rule(None, (name or sha,), exact=True)]
    rules: list[Rule] = []
    for workflow, names in workflows.items():
        listed = [names] if isinstance(names, str) else list(names)
        if not listed:
            raise ConfigError(f"{source}: the artifacts of workflow {workflow!r} are not named",
                              hint="list at least one artifact name per workflow")
        wf = None if workflow == ANY_WORKFLOW else str(workflow)
        wf_re = _compiled(wf, f"workflow {wf!r}", source) if wf is not None else None
        res = tuple(_compiled(str(n), f"artifact {n!r} of workflow {workflow!r}", source)
                    for n in listed)
        rules.append(Rule(wf, tuple(str(n) for n in listed), _workflow_re=wf_re,
                          _name_res=res))
    return rules
