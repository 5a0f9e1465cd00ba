"""Read a craft `.craft.yml` into valet's Config (compatibility mode).

Every craft field falls in one of three groups:

- mapped: changelog/changelogPolicy, versioning, pre/postReleaseCommand,
  releaseBranchPrefix, requireNames, targets (name, id, includeNames,
  excludeNames and the options of the targets valet supports, camelCase
  becoming snake_case; craft's flat docker login keys become fields of the
  source / target image; the target name aws-lambda is read as
  aws-lambda-layer), statusProvider, artifactProvider, github, minVersion;
- accepted and noted in ``Config.notes``: an empty ``preReleaseCommand``
  (craft's "run nothing"), ``statusProvider.config.contexts``,
  ``artifactProvider: none``, and the options that only shaped how craft
  packaged a file before uploading it (``PACKAGING_OPTIONS``: crates'
  ``noDevDeps``), since valet publishes the pre-built file as it is;
- refused as unsupported: a field, target or target option craft itself knows
  but valet does not honour. All refusals of one file are reported together in
  one ``UnsupportedConfigError`` whose ``unsupported`` list names each field
  (``field X``), target (``target X``) and target option (``option X of target
  Y``), so a user fixes everything in one go;
- refused as a typo: a name craft does not know either (``changelogPolcy``,
  ``pypy``), reported with the closest name valet reads.

Craft writes regular expressions as ``/body/flags`` (JavaScript); valet compiles
the body with Python's ``re`` and turns the flags i, m, s, x into an inline
``(?imsx)`` prefix (so ``Pattern.pattern`` keeps them visible). Other flags and
strings without slashes are errors.

The names in ``artifactProvider.config.artifacts`` are checked here as valet
request will match them (valet.ci_artifacts.rules: exact, glob or /regex/).

Craft defaults that differ from valet's and are kept for craft files:
changelog policy ``none``, calver offset 14 days, artifacts read from workflow
runs (``artifactProvider: github``) and ``bash scripts/bump-version.sh`` as the
pre-release command when the key is absent and that script exists.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from valet.config import ArtifactStoreConfig, Config, TargetConfig
from valet.config_load import SUPPORTED_TARGETS, compile_regex, load_yaml
from valet.errors import ConfigError
from valet.schemas.messages import Problem, suggest

SUPPORTED_FIELDS: tuple[str, ...] = (
    "minVersion", "github", "changelog", "changelogPolicy", "versioning",
    "preReleaseCommand", "postReleaseCommand", "releaseBranchPrefix", "requireNames",
    "targets", "statusProvider", "artifactProvider",
)
# craft option name -> valet option name, per supported target. github's
# tagPrefix is not an option: it becomes the project's tag prefix.
CRAFT_TARGET_OPTIONS: dict[str, dict[str, str]] = {
    "github": {"tagPrefix": "tag_prefix", "checksums": "checksums"},
    "pypi": {},
    "npm": {"access": "access"},
    # noDevDeps shaped how craft packaged the crate (cargo hack): accepted with a notice
    "crates": {"noDevDeps": ""},
    # docker: craft's flat login keys become fields of the source / target object
    "docker": {"source": "source", "target": "target", "sourceFormat": "source_format",
               "targetFormat": "target_format", "sourceRegistry": "source.registry",
               "sourceUsernameVar": "source.username_var",
               "sourcePasswordVar": "source.password_var",
               "sourceSkipLogin": "source.skip_login", "registry": "target.registry",
               "usernameVar": "target.username_var", "passwordVar": "target.password_var",
               "skipLogin": "target.skip_login"},
    "gcs": {"bucket": "bucket", "paths": "paths"},
    "aws-lambda-layer": {"layerName": "layer_name", "compatibleRuntimes": "compatible_runtimes",
                         "compatibleArchitectures": "compatible_architectures",
                         "license": "license", "linkPrereleases": "link_prereleases"},
    # targets that write to git repositories: their options are mapped by _GIT_TARGETS
    "registry": {"sdks": "sdks", "apps": "apps", "remote": "repository", "type": "",
                 "config": "", "urlTemplate": "", "checksums": "", "onlyIfPresent": "",
                 "linkPrereleases": ""},
    "gh-pages": {"branch": "branch", "githubOwner": "repository", "githubRepo": "repository"},
    "commit-on-git-repository": {"archive": "include_names", "repositoryUrl": "repository",
                                 "branch": "branch", "stripComponents": "strip_components",
                                 "createTag": "create_tag"},
    "brew": {"tap": "tap", "template": "template", "formula": "formula", "path": "path"},
    "upm": {"releaseRepoOwner": "repository", "releaseRepoName": "repository"},
}
# Options that only shaped how craft packaged a file on its side, before uploading it.
# valet publishes the pre-built file as it is, so each is accepted with this notice.
PACKAGING_OPTIONS: dict[str, dict[str, str]] = {
    "crates": {"noDevDeps": (
        "craft ran `cargo hack publish --no-dev-deps`, which packs the crate without its "
        "dev-dependencies; valet publishes the .crate your build made, as it is: pack it "
        "that way there (`cargo hack package --no-dev-deps`)")},
}
# craft's earlier name of aws-lambda-layer (still in old configs)
CRAFT_TARGET_ALIASES: dict[str, str] = {"aws-lambda": "aws-lambda-layer"}
_CLOUD_TARGETS = ("docker", "gcs", "aws-lambda-layer")
_IMAGE_KEYS = {"image": "image", "format": "format", "registry": "registry",
               "usernameVar": "username_var", "passwordVar": "password_var",
               "skipLogin": "skip_login"}
_COMMON_TARGET_KEYS = ("name", "id", "includeNames", "excludeNames")

# What craft itself knows (getsentry/craft: src/schemas/project_config.ts and
# src/targets/), so that a name craft knows and valet lacks is "not supported",
# and any other name is a typo, reported with the closest name valet reads.
CRAFT_FIELDS: tuple[str, ...] = SUPPORTED_FIELDS + ("noMerge", "aiSummaries")
CRAFT_NESTED_FIELDS: dict[str, tuple[str, ...]] = {
    "changelog": ("filePath", "policy", "scopeGrouping"),
    "github": ("owner", "repo", "projectPath"),
    "versioning": ("policy", "calver"),
    "versioning.calver": ("format", "offset"),
    "statusProvider": ("name", "config"),
    "artifactProvider": ("name", "config"),
}
CRAFT_TARGETS: tuple[str, ...] = (
    "aws-lambda", "aws-lambda-layer", "brew", "cloudflare", "cocoapods",
    "commit-on-git-repository", "crates", "docker", "gcs", "gem", "gh-pages", "github", "hex",
    "maven", "npm", "nuget", "powershell", "pub-dev", "pypi", "registry", "sentry-pypi",
    "symbol-collector", "upm", "vercel",
)
# The options craft's own targets take, for the targets valet maps (a target with no
# entry here: any option valet does not map counts as a craft option it lacks).
CRAFT_OPTIONS: dict[str, tuple[str, ...]] = {
    "github": ("tagPrefix", "checksums", "changelog", "previewReleases", "tagOnly",
               "floatingTags", "owner", "repo"),
    "npm": ("access", "checkPackageName", "oidc", "workspaces", "includeWorkspaces",
            "excludeWorkspaces", "artifactTemplate"),
    "pypi": (),
    "crates": ("noDevDeps",),
}
# valet key -> how a .craft.yml spells it (Config.key_name, for messages).
CRAFT_KEY_NAMES: dict[str, str] = {
    "min_version": "minVersion", "github_repo": "github", "changelog_file": "changelog.filePath",
    "changelog_policy": "changelogPolicy", "versioning_policy": "versioning.policy",
    "calver_format": "versioning.calver.format", "calver_offset_days": "versioning.calver.offset",
    "release_branch_prefix": "releaseBranchPrefix", "tag_prefix": "tagPrefix (github target)",
    "require_names": "requireNames", "pre_release_command": "preReleaseCommand",
    "post_release_command": "postReleaseCommand", "artifacts": "artifactProvider",
    "artifact_store": "artifactProvider", "status_contexts": "statusProvider.config.contexts",
    "include_names": "includeNames", "exclude_names": "excludeNames",
}
CRAFT_DEFAULT_PRE_RELEASE_SCRIPT = "scripts/bump-version.sh"
CRAFT_CALVER_OFFSET_DAYS = 14
CRAFT_CALVER_FORMAT = "%y.%-m"

_SLASH_RE = re.compile(r"^/(?P<body>.*)/(?P<flags>[A-Za-z]*)$", re.DOTALL)
_REF_PART = r"[A-Za-z0-9_][A-Za-z0-9._-]*"
_PREFIX_RE = re.compile(rf"^{_REF_PART}(/{_REF_PART})*$")
_TAG_PREFIX_RE = re.compile(rf"^({_REF_PART}(/{_REF_PART})*[/_.-]?)?$")
_OWNER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}$")
_REPO_RE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_MIN_VERSION_RE = re.compile(r"^\d+(\.\d+){0,2}$")


class UnsupportedConfigError(ConfigError):
    """A craft config uses fields or targets valet does not support (yet)."""

    def __init__(self, message: str, *, hint: str | None = None,
                 unsupported: list[str] | None = None) -> None:
        super().__init__(message, hint=hint)
        self.unsupported = list(unsupported or [])


def parse_slash_regex(value: Any, where: str, source: str) -> re.Pattern[str]:
    """``/body/flags`` → compiled pattern; flags i, m, s, x only."""
    allowed = "a regular expression written /pattern/ or /pattern/flags (flags i, m, s, x)"
    if not isinstance(value, str):
        raise ConfigError(f"{source}: " + Problem(where, f"got {value!r}", allowed=allowed,
                                                  example=f"{where.rpartition('.')[2]}: /^a/")
                          .render(), hint="write it as /pattern/ or /pattern/i")
    m = _SLASH_RE.match(value.strip())
    if not m:
        raise ConfigError(f"{source}: " + Problem(where, f"{value!r} is not written as "
                                                  "/pattern/flags", allowed=allowed,
                                                  example=f"/{value}/").render(),
                          hint=f"wrap it in slashes: /{value}/")
    flags = m.group("flags")
    bad = sorted({f for f in flags if f not in "imsx"})
    if bad:
        raise ConfigError(
            f"{source}: " + Problem(where, f"the regex flag(s) {''.join(bad)!r} in {value!r} are "
                                    "ones valet cannot honour", allowed=allowed).render(),
            hint="valet honours the flags i, m, s and x; remove the others")
    inline = "".join(sorted(set(flags)))
    body = m.group("body")
    return compile_regex(f"(?{inline}){body}" if inline else body, where, source)


def _str(value: Any) -> str:
    # YAML turns `minVersion: 1.1` into a float and `id: 2` into an int
    return value if isinstance(value, str) else str(value)


class _Reader:
    def __init__(self, source: str, path: str) -> None:
        self.source = source
        self.path = path
        self.unsupported: list[str] = []
        self.invalid: list[str] = []
        self.notes: list[str] = []

    def refuse(self, what: str) -> None:
        if what not in self.unsupported:
            self.unsupported.append(what)

    def typo(self, where: str, name: str, kind: str, candidates: tuple[str, ...] | list[str],
             allowed: str) -> None:
        """A name craft does not know either: say so, with the closest one valet reads."""
        self.invalid.append(Problem(where, f"{name!r} is not a {kind} craft or valet knows",
                                    allowed=allowed, suggestion=suggest(name, candidates))
                            .render())

    def key(self, parent: str, key: str, supported: tuple[str, ...]) -> bool:
        """Is ``parent.key`` a key valet reads? If not, it is recorded: unsupported when
        craft knows it, a typo otherwise."""
        if key in supported:
            return True
        where = f"{parent}.{key}" if parent else str(key)
        known = CRAFT_NESTED_FIELDS.get(parent, ()) if parent else CRAFT_FIELDS
        if key in known:
            self.refuse(f"field {where}")
        else:
            self.invalid.append(Problem(
                where, "is not a field craft or valet knows",
                allowed="the fields valet reads here: " + ", ".join(supported),
                suggestion=suggest(key, list(supported) + list(known))).render())
        return False

    def choice(self, where: str, value: Any, options: tuple[str, ...]) -> bool:
        if value in options:
            return True
        self.bad(Problem(where, f"{value!r} is not allowed", allowed="one of " + ", ".join(options),
                         suggestion=suggest(value, options)).render())
        return False

    def bad(self, message: str) -> None:
        self.invalid.append(message)

    # -- sections ---------------------------------------------------------------

    def changelog(self, data: dict[str, Any], config: Config) -> None:
        policy_old = data.get("changelogPolicy")
        raw = data.get("changelog")
        policy_new = None
        if isinstance(raw, str):
            config.changelog_file = raw
        elif isinstance(raw, dict):
            for key in raw:
                self.key("changelog", key, ("filePath", "policy"))
            if raw.get("filePath") is not None:
                config.changelog_file = _str(raw["filePath"])
            policy_new = raw.get("policy")
        elif raw is not None:
            self.bad(f"changelog must be a file name or an object with filePath/policy, "
                     f"not {raw!r}")
        if policy_old is not None and policy_new is not None and policy_old != policy_new:
            self.bad(f"changelogPolicy ({policy_old}) and changelog.policy ({policy_new}) "
                     "disagree: keep one")
        policy = policy_new if policy_new is not None else policy_old
        if policy is not None:
            where = "changelog.policy" if policy_new is not None else "changelogPolicy"
            if self.choice(where, policy, ("none", "simple", "auto")):
                config.changelog_policy = policy
        if not re.fullmatch(r"(?!/)(?!.*(^|/)\.\.(/|$))[A-Za-z0-9._/-]+", config.changelog_file):
            self.bad(f"changelog file {config.changelog_file!r} must be a relative path "
                     "inside the project")

    def versioning(self, raw: Any, config: Config) -> None:
        if raw is None:
            return
        if not isinstance(raw, dict):
            self.bad(f"versioning must be an object with a policy, not {raw!r}")
            return
        for key in raw:
            self.key("versioning", key, ("policy", "calver"))
        policy = raw.get("policy")
        if policy is not None:
            if self.choice("versioning.policy", policy, ("auto", "manual", "calver")):
                config.versioning_policy = policy
        calver = raw.get("calver")
        if calver is None:
            return
        if not isinstance(calver, dict):
            self.bad("versioning.calver must be an object with format and/or offset")
            return
        for key in calver:
            self.key("versioning.calver", key, ("format", "offset"))
        if "format" in calver:
            config.calver_format = _str(calver["format"])
        if "offset" in calver:
            offset = calver["offset"]
            if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= 366:
                self.bad(f"versioning.calver.offset must be a number of days (0-366), "
                         f"not {offset!r}")
            else:
                config.calver_offset_days = offset

    def command(self, data: dict[str, Any], key: str) -> str | None:
        if key not in data or data[key] is None:
            return None
        value = data[key]
        if not isinstance(value, str):
            self.bad(f"{key} must be a command line (a string), not {value!r}")
            return None
        if not value.strip():
            self.notes.append(f"{key} is empty: no {key.replace('Command', ' command')} runs")
            return None
        return value.strip()

    def github(self, raw: Any, config: Config) -> None:
        if raw is None:
            return
        if not isinstance(raw, dict):
            self.bad("github must be an object with owner and repo")
            return
        for key in raw:
            self.key("github", key, ("owner", "repo"))
        owner, repo = raw.get("owner"), raw.get("repo")
        if not (isinstance(owner, str) and _OWNER_RE.fullmatch(owner)
                and isinstance(repo, str) and _REPO_RE.fullmatch(repo) and repo not in (".", "..")):
            self.bad(f"github must name owner and repo (got owner={owner!r}, repo={repo!r})")
            return
        config.github_repo = f"{owner}/{repo}"

    def status_provider(self, raw: Any, config: Config) -> None:
        if raw is None:
            return
        if not isinstance(raw, dict):
            self.bad("statusProvider must be an object with a name")
            return
        for key in raw:
            self.key("statusProvider", key, ("name", "config"))
        name = raw.get("name")
        if name != "github":
            self.refuse(f"statusProvider {name}")
            return
        cfg = raw.get("config") or {}
        if not isinstance(cfg, dict):
            self.bad("statusProvider.config must be an object")
            return
        for key in cfg:
            if key != "contexts":
                self.refuse(f"field statusProvider.config.{key}")
        contexts = cfg.get("contexts")
        if contexts is not None:
            if not isinstance(contexts, list) or not all(isinstance(c, str) for c in contexts):
                self.bad("statusProvider.config.contexts must be a list of check names")
            else:
                config.status_contexts = list(contexts)
                self.notes.append("statusProvider.config.contexts: valet's CI gate waits for "
                                  "every check of the release commit; these must be among them")

    def artifact_provider(self, data: dict[str, Any], config: Config) -> None:
        raw = data.get("artifactProvider", {"name": "github"})  # craft's default
        if not isinstance(raw, dict):
            self.bad("artifactProvider must be an object with a name")
            return
        for key in raw:
            self.key("artifactProvider", key, ("name", "config"))
        name = raw.get("name")
        if name == "none":
            config.artifact_store = ArtifactStoreConfig(kind="github-release")
            config.artifacts = []
            self.notes.append("artifactProvider none: the release ships no files; the draft "
                              "GitHub release is still created for the github target")
            return
        if name != "github":
            self.refuse(f"artifactProvider {name}")
            return
        store = ArtifactStoreConfig(kind="workflow-artifacts")
        cfg = raw.get("config") or {}
        if not isinstance(cfg, dict):
            self.bad("artifactProvider.config must be an object")
            return
        for key in cfg:
            if key != "artifacts":
                self.refuse(f"field artifactProvider.config.{key}")
        spec = cfg.get("artifacts")
        where = "artifactProvider.config.artifacts"
        if isinstance(spec, (str, list)):
            listed = [spec] if isinstance(spec, str) else spec
            if not listed:
                self.bad(f"{where} must name at least one artifact")
            store.workflows = {"*": [_str(s) for s in listed]}
            self._artifact_names(store.workflows["*"], where)
        elif isinstance(spec, dict):
            for workflow, names in spec.items():
                listed = [names] if isinstance(names, str) else names
                if not isinstance(listed, list) or not listed:
                    self.bad(f"{where}.{workflow} must list artifact names")
                    continue
                self._artifact_names([_str(workflow)], f"{where} (workflow name)")
                self._artifact_names([_str(n) for n in listed], f"{where}.{workflow}")
                store.workflows[_str(workflow)] = [_str(n) for n in listed]
        elif spec is not None:
            self.bad(f"{where} must be a name, a list or a workflow -> names map")
        config.artifact_store = store

    def _artifact_names(self, names: list[str], where: str) -> None:
        """Each name must be one craft can match: the name, a glob or a /regex/."""
        from valet.ci_artifacts.rules import NAME_ALLOWED, name_pattern

        for index, name in enumerate(names):
            try:
                name_pattern(name)
            except ValueError as exc:
                self.bad(Problem(where if len(names) == 1 else f"{where}[{index}]", str(exc),
                                 allowed=NAME_ALLOWED).render())

    def target(self, index: int, raw: Any, config: Config) -> TargetConfig | None:
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            self.bad(f"targets[{index}] must be an object with a name")
            return None
        name = raw["name"]
        if name in CRAFT_TARGET_ALIASES:
            self.notes.append(f"targets[{index}]: target {name} is read as "
                              f"{CRAFT_TARGET_ALIASES[name]} (its later name in craft)")
            name = CRAFT_TARGET_ALIASES[name]
        if name not in SUPPORTED_TARGETS:
            if name in CRAFT_TARGETS:
                self.refuse(f"target {name}")
            else:
                self.typo(f"targets[{index}].name", name, "target",
                          list(SUPPORTED_TARGETS) + list(CRAFT_TARGETS),
                          "the targets valet publishes to: " + ", ".join(SUPPORTED_TARGETS))
            return None
        where = f"targets[{index}]"
        known = CRAFT_TARGET_OPTIONS.get(name, {})
        craft_known = CRAFT_OPTIONS.get(name)
        options: dict[str, Any] = {}
        for key in raw:
            if key in _COMMON_TARGET_KEYS or key in known:
                continue
            if craft_known is None or key in craft_known:
                self.refuse(f"option {key} of target {name}")
            else:
                mapped = list(_COMMON_TARGET_KEYS) + list(known)
                self.invalid.append(Problem(
                    f"{where}.{key}", f"is not an option of craft's {name} target",
                    allowed=f"the {name} options valet reads: " + ", ".join(mapped),
                    suggestion=suggest(key, mapped + list(craft_known))).render())
        git_include: re.Pattern[str] | None = None
        if name in _GIT_TARGETS:
            before = len(self.invalid) + len(self.unsupported)
            options, git_include = _GIT_TARGETS[name](self, raw, where)
            if len(self.invalid) + len(self.unsupported) == before:
                from valet.targets import check_options

                try:
                    self.notes.extend(check_options(name, options, where))
                except ConfigError as exc:
                    self.bad(exc.message)
        for key, value in raw.items():
            if key in _COMMON_TARGET_KEYS or name in _GIT_TARGETS:
                continue
            if key not in known:
                continue
            if key == "tagPrefix":
                self._tag_prefix(value, where, config)
            elif key == "checksums":
                algos = self._checksums(value, where)
                if algos:
                    options["checksums"] = algos
            elif key == "access":
                if self.choice(f"{where}.access", value, ("public", "restricted")):
                    options["access"] = value
            elif key in PACKAGING_OPTIONS.get(name, {}):
                self._packaging_option(name, key, value, where)
            elif name in _CLOUD_TARGETS:
                self._cloud_option(known[key], value, options)
        if name in _CLOUD_TARGETS and not self._cloud_check(name, index, options, where):
            return None
        target_id = _str(raw["id"]) if raw.get("id") is not None else None
        if target_id is not None and not re.fullmatch(r"[A-Za-z0-9@][A-Za-z0-9@/._ ()+-]{0,199}",
                                                      target_id):
            self.bad(f"{where}: id {target_id!r} holds characters valet does not allow")
            return None
        try:
            include = (parse_slash_regex(raw["includeNames"], f"{where}.includeNames", self.source)
                       if raw.get("includeNames") is not None else None)
            exclude = (parse_slash_regex(raw["excludeNames"], f"{where}.excludeNames", self.source)
                       if raw.get("excludeNames") is not None else None)
        except ConfigError as exc:
            self.bad(exc.message.removeprefix(f"{self.source}: "))
            return None
        if include is None:
            include = git_include
        return TargetConfig(name=name, id=target_id, options=options,
                            include_names=include, exclude_names=exclude)

    # -- docker, gcs, aws-lambda-layer -------------------------------------------

    def _cloud_option(self, valet_key: str, value: Any, options: dict[str, Any]) -> None:
        side, _, field = valet_key.partition(".")
        if valet_key in ("source", "target") and isinstance(value, dict):
            value = {_IMAGE_KEYS.get(str(k), str(k)): v for k, v in value.items()}
        if not field:
            if isinstance(options.get(side), dict) and isinstance(value, str):
                options[side] = {"image": value, **options[side]}
            elif isinstance(options.get(side), dict) and isinstance(value, dict):
                options[side] = {**options[side], **value}
            else:
                options[side] = value
            return
        # a flat login key: the side becomes an object {image, <field>}
        current = options.get(side)
        obj = dict(current) if isinstance(current, dict) else (
            {"image": current} if current is not None else {})
        obj.setdefault(field, value)
        options[side] = obj

    def _cloud_check(self, name: str, index: int, options: dict[str, Any], where: str) -> bool:
        """The options as the target reads them: a bad value is reported now, not at publish."""
        from valet.targets import check_options

        try:
            self.notes.extend(check_options(name, options, where))
        except ConfigError as exc:
            self.bad(exc.message)
            return False
        return True

    def _packaging_option(self, name: str, key: str, value: Any, where: str) -> None:
        """An option that shaped how craft built the file it uploaded: the file CI (or the
        build) made is what ships, so it changes nothing here; a notice says what to do."""
        if not isinstance(value, bool):
            self.bad(Problem(f"{where}.{key}", f"got {value!r}", allowed="true or false",
                             example=f"{key}: true").render())
        elif value:
            self.notes.append(f"{where}.{key}: {PACKAGING_OPTIONS[name][key]}")

    def _tag_prefix(self, value: Any, where: str, config: Config) -> None:
        prefix = _str(value) if value is not None else ""
        if not _TAG_PREFIX_RE.fullmatch(prefix):
            self.bad(f"{where}: tagPrefix {prefix!r} is not allowed in a tag name")
        elif config.tag_prefix and config.tag_prefix != prefix:
            self.bad(f"{where}: tagPrefix {prefix!r} differs from another github target's "
                     f"{config.tag_prefix!r}; valet uses one tag prefix per project")
        else:
            config.tag_prefix = prefix

    def _checksums(self, value: Any, where: str) -> list[str]:
        if not isinstance(value, list):
            self.bad(f"{where}: checksums must be a list of {{algorithm, format}}")
            return []
        algos: list[str] = []
        for entry in value:
            algo = entry.get("algorithm") if isinstance(entry, dict) else None
            fmt = entry.get("format", "hex") if isinstance(entry, dict) else None
            if algo not in ("sha256", "sha384", "sha512") or fmt != "hex":
                self.bad(f"{where}: checksum {entry!r} is not supported "
                         "(algorithm sha256/sha384/sha512, format hex)")
                continue
            algos.append(algo)
        return algos


def parse_craft(data: dict[str, Any], source: str, *, path: str = ".") -> Config:
    """Map a loaded `.craft.yml` onto Config; raise for anything valet cannot honour."""
    reader = _Reader(source, path)
    config = Config(source=source, path=path, changelog_policy="none",
                    calver_format=CRAFT_CALVER_FORMAT,
                    calver_offset_days=CRAFT_CALVER_OFFSET_DAYS)
    for key in data:
        reader.key("", key, SUPPORTED_FIELDS)

    if data.get("minVersion") is not None:
        min_version = _str(data["minVersion"]).strip()
        if not _MIN_VERSION_RE.fullmatch(min_version):
            reader.bad(f"minVersion {min_version!r} is not a version number")
        config.min_version = min_version
    reader.github(data.get("github"), config)
    reader.changelog(data, config)
    reader.versioning(data.get("versioning"), config)
    config.pre_release_command = reader.command(data, "preReleaseCommand")
    config.post_release_command = reader.command(data, "postReleaseCommand")
    if data.get("releaseBranchPrefix") is not None:
        prefix = _str(data["releaseBranchPrefix"])
        if not _PREFIX_RE.fullmatch(prefix) or len(prefix) > 100:
            reader.bad(f"releaseBranchPrefix {prefix!r} is not a valid branch prefix")
        else:
            config.release_branch_prefix = prefix
    names = data.get("requireNames")
    if names is not None:
        if not isinstance(names, list):
            reader.bad("requireNames must be a list of /regex/ strings")
        else:
            for i, value in enumerate(names):
                try:
                    config.require_names.append(
                        parse_slash_regex(value, f"requireNames[{i}]", source))
                except ConfigError as exc:
                    reader.bad(exc.message.removeprefix(f"{source}: "))
    reader.status_provider(data.get("statusProvider"), config)
    reader.artifact_provider(data, config)

    raw_targets = data.get("targets")
    if raw_targets is None:
        raw_targets = []
    if not isinstance(raw_targets, list):
        reader.bad("targets must be a list")
        raw_targets = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_targets):
        target = reader.target(index, raw, config)
        if target is None:
            continue
        if target.key in seen:
            reader.bad(f"targets[{index}]: the target {target.key} is listed twice; give "
                       "each one its own id")
            continue
        seen.add(target.key)
        config.targets.append(target)

    if reader.invalid and not reader.unsupported:
        listed = "\n  - ".join(reader.invalid)
        raise ConfigError(f"{source} has invalid values:\n  - {listed}",
                          hint="fix these values; `valet config check` shows the result")
    if reader.unsupported:
        listed = ", ".join(reader.unsupported)
        extra = ("\n  also invalid:\n  - " + "\n  - ".join(reader.invalid)) if reader.invalid else ""
        raise UnsupportedConfigError(
            f"{source} uses what valet does not support yet: {listed}{extra}",
            hint=("supported targets: " + ", ".join(SUPPORTED_TARGETS)
                  + "; supported fields: " + ", ".join(SUPPORTED_FIELDS)
                  + ". Remove the rest, or write a .valet.yml beside it (it takes precedence)"
                  " with only what valet should do"),
            unsupported=reader.unsupported)
    config.notes.extend(reader.notes)
    return config


def declares(text: str, key: str) -> bool:
    """Does the craft file set this top-level key at all (even to an empty value)?"""
    data = load_yaml(text, ".craft.yml")
    return isinstance(data, dict) and key in data


def apply_file_defaults(config: Config, text: str, base: Path) -> None:
    """craft's defaults that depend on files in the project (load_config only)."""
    if (config.pre_release_command is None and not declares(text, "preReleaseCommand")
            and (base / CRAFT_DEFAULT_PRE_RELEASE_SCRIPT).is_file()):
        config.pre_release_command = f"bash {CRAFT_DEFAULT_PRE_RELEASE_SCRIPT}"
        config.notes.append(f"preReleaseCommand unset and {CRAFT_DEFAULT_PRE_RELEASE_SCRIPT} "
                            "exists: it runs as the pre-release command (craft's default)")


# -- targets that write to git repositories -----------------------------------------
# Each maps craft's options of one target onto valet's (snake_case, regexes as Python
# patterns, repositories as owner/name) and reports bad values on the reader.

_REGISTRY_PACKAGE_KEYS = {"urlTemplate": "url_template", "checksums": "checksums",
                          "onlyIfPresent": "only_if_present", "includeNames": "include_names",
                          "linkPrereleases": "link_prereleases", "name": "name",
                          "sdkName": "sdk_name", "packageUrl": "package_url",
                          "mainDocsUrl": "main_docs_url", "apiDocsUrl": "api_docs_url"}
_CANONICAL_RE = re.compile(r"^[A-Za-z0-9_-]+:[^\s:/][^\s]*$")
_GITHUB_URL_RE = re.compile(r"^https://github\.com/(?P<repo>[A-Za-z0-9][A-Za-z0-9-]{0,38}/"
                            r"[A-Za-z0-9._-]{1,100}?)(?:\.git)?/?$")
_GitMapped = tuple[dict[str, Any], "re.Pattern[str] | None"]


def _repo_of(reader: _Reader, owner: Any, name: Any, where: str, what: str) -> str | None:
    owner, name = (_str(owner) if owner is not None else None,
                   _str(name) if name is not None else None)
    if not (owner and name and _OWNER_RE.fullmatch(owner) and _REPO_RE.fullmatch(name)
            and name not in (".", "..")):
        reader.bad(f"{where}: {what} must name a GitHub owner and repository "
                   f"(got {owner!r} / {name!r})")
        return None
    return f"{owner}/{name}"


def _pattern(reader: _Reader, value: Any, where: str) -> str | None:
    try:
        return parse_slash_regex(value, where, reader.source).pattern
    except ConfigError as exc:
        reader.bad(exc.message.removeprefix(f"{reader.source}: "))
        return None


def _registry_checksums(reader: _Reader, value: Any, where: str) -> list[dict[str, str]]:
    if not isinstance(value, list):
        reader.bad(f"{where}: checksums must be a list of {{algorithm, format}}")
        return []
    out = []
    for entry in value:
        algo = entry.get("algorithm") if isinstance(entry, dict) else None
        fmt = entry.get("format") if isinstance(entry, dict) else None
        if algo not in ("sha256", "sha384", "sha512") or fmt not in ("hex", "base64"):
            reader.bad(f"{where}: checksum {entry!r} is not supported (algorithm sha256, "
                       "sha384 or sha512; format hex or base64)")
            continue
        out.append({"algorithm": algo, "format": fmt})
    return out


def _registry_package(reader: _Reader, raw: Any, where: str,
                      label: str = "") -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        reader.bad(f"{where}: the settings must be a mapping or empty")
        return None
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in _REGISTRY_PACKAGE_KEYS:
            reader.refuse(f"option {label}.{key} of target registry")
            continue
        mapped = _REGISTRY_PACKAGE_KEYS[key]
        if key in ("onlyIfPresent", "includeNames"):
            pattern = _pattern(reader, value, f"{where}.{key}")
            if pattern is not None:
                out[mapped] = pattern
        elif key == "checksums":
            out[mapped] = _registry_checksums(reader, value, f"{where}.{key}")
        elif key == "linkPrereleases":
            if not isinstance(value, bool):
                reader.bad(f"{where}.linkPrereleases must be true or false")
            out[mapped] = bool(value)
        elif value is not None:
            out[mapped] = _str(value)
    return out or None


def _registry(reader: _Reader, raw: dict[str, Any], where: str) -> _GitMapped:
    options: dict[str, Any] = {}
    if raw.get("remote") is not None:
        owner, _, name = _str(raw["remote"]).partition("/")
        repo = _repo_of(reader, owner, name, where, "remote")
        if repo:
            options["repository"] = repo
    legacy = [k for k in ("type", "config", "urlTemplate", "checksums", "onlyIfPresent",
                          "linkPrereleases") if k in raw]
    maps = [k for k in ("sdks", "apps") if raw.get(k) is not None]
    if maps and legacy:
        reader.bad(f"{where}: {', '.join(legacy)} belong to the old single-package form; with "
                   f"{' and '.join(maps)} give them per package")
    for key in maps:
        table = raw[key]
        if not isinstance(table, dict):
            reader.bad(f"{where}: {key} must map canonical names to settings")
            continue
        mapped: dict[str, Any] = {}
        for canonical, conf in table.items():
            name = _str(canonical)
            if not _CANONICAL_RE.fullmatch(name) or (key == "apps" and
                                                     not name.startswith("app:")):
                reader.bad(f"{where}: {key} entry {name!r} is not a canonical name "
                           + ("app:NAME" if key == "apps" else "REGISTRY:NAME"))
                continue
            mapped[name] = _registry_package(reader, conf, f"{where} {key}.{name}",
                                             f"{key}.{name}")
        options[key] = mapped
    if not maps:
        kind = raw.get("type")
        conf = raw.get("config")
        canonical = conf.get("canonical") if isinstance(conf, dict) else None
        if kind not in ("sdk", "app") or not isinstance(canonical, str) \
                or not _CANONICAL_RE.fullmatch(canonical):
            reader.bad(f"{where}: name the packages under sdks/apps, or give type (sdk or app) "
                       "and config.canonical")
            return options, None
        if isinstance(conf, dict):
            for key in conf:
                if key != "canonical":
                    reader.refuse(f"option config.{key} of target registry")
        package = _registry_package(reader, {k: raw[k] for k in legacy
                                             if k not in ("type", "config")},
                                    f"{where} {canonical}")
        options["sdks" if kind == "sdk" else "apps"] = {canonical: package}
        reader.notes.append(f"{where}: the single-package form (type + config.canonical) is "
                            f"read as {'sdks' if kind == 'sdk' else 'apps'}: {canonical}")
    return options, None


def _gh_pages(reader: _Reader, raw: dict[str, Any], where: str) -> _GitMapped:
    options: dict[str, Any] = {}
    if raw.get("githubOwner") is not None or raw.get("githubRepo") is not None:
        repo = _repo_of(reader, raw.get("githubOwner"), raw.get("githubRepo"), where,
                        "githubOwner and githubRepo")
        if repo:
            options["repository"] = repo
    if raw.get("branch") is not None:
        options["branch"] = _str(raw["branch"])
    return options, None


def _commit_on_git(reader: _Reader, raw: dict[str, Any], where: str) -> _GitMapped:
    options: dict[str, Any] = {}
    url = raw.get("repositoryUrl")
    m = _GITHUB_URL_RE.fullmatch(url) if isinstance(url, str) else None
    if m is None:
        reader.bad(f"{where}: repositoryUrl {url!r} is not an https://github.com/OWNER/REPO "
                   "URL (valet pushes to GitHub repositories only)")
    else:
        options["repository"] = m.group("repo")
    if raw.get("branch") is None:
        reader.bad(f"{where}: branch is required (the branch to commit to)")
    else:
        options["branch"] = _str(raw["branch"])
    strip = raw.get("stripComponents")
    if strip is not None:
        if isinstance(strip, bool) or not isinstance(strip, int) or not 0 <= strip <= 32:
            reader.bad(f"{where}: stripComponents must be a number from 0 to 32")
        else:
            options["strip_components"] = strip
    if raw.get("createTag") is not None:
        if not isinstance(raw["createTag"], bool):
            reader.bad(f"{where}: createTag must be true or false")
        else:
            options["create_tag"] = raw["createTag"]
    include = None
    if raw.get("archive") is None:
        reader.bad(f"{where}: archive is required (a /regex/ naming the archive)")
    elif raw.get("includeNames") is not None:
        reader.notes.append(f"{where}: includeNames selects the archive; archive is ignored "
                            "(as craft does)")
    else:
        pattern = _pattern(reader, raw["archive"], f"{where}.archive")
        include = re.compile(pattern) if pattern is not None else None
    return options, include


def _brew(reader: _Reader, raw: dict[str, Any], where: str) -> _GitMapped:
    options: dict[str, Any] = {}
    if raw.get("tap") is None:
        reader.bad(f"{where}: tap is required: craft's default, homebrew/core, takes pull "
                   "requests only (craft skips it); name your own tap as OWNER/NAME")
    else:
        options["tap"] = _str(raw["tap"])
    if not isinstance(raw.get("template"), str) or not raw["template"].strip():
        reader.bad(f"{where}: template is required (the formula's Ruby source)")
    else:
        options["template"] = raw["template"]
    for key in ("formula", "path"):
        if raw.get(key) is not None:
            options[key] = _str(raw[key])
    return options, None


def _upm(reader: _Reader, raw: dict[str, Any], where: str) -> _GitMapped:
    repo = _repo_of(reader, raw.get("releaseRepoOwner"), raw.get("releaseRepoName"), where,
                    "releaseRepoOwner and releaseRepoName")
    return ({"repository": repo} if repo else {}), None


_GIT_TARGETS = {"registry": _registry, "gh-pages": _gh_pages,
                "commit-on-git-repository": _commit_on_git, "brew": _brew, "upm": _upm}
