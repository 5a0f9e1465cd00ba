"""Error classes: one exit code each (the CLI contract), hints rendered."""

from __future__ import annotations

import inspect
from collections import defaultdict

import pytest

from valet import errors
from valet.errors import EXIT_CODES, ValetError

# Usage errors and "this issue is not a publish request" both mean "you called
# valet on the wrong input": they share exit code 2 on purpose.
SHARED = {2: {"UsageError", "NotARequestError"}}


def _classes() -> list[type[ValetError]]:
    return [obj for _, obj in inspect.getmembers(errors, inspect.isclass)
            if issubclass(obj, ValetError) and obj.__module__ == errors.__name__]


def test_every_error_class_is_listed_with_its_code() -> None:
    classes = _classes()
    assert {c.__name__ for c in classes} == set(EXIT_CODES)
    for cls in classes:
        assert EXIT_CODES[cls.__name__] == cls.exit_code


def test_exit_codes_are_unique_except_the_documented_sharing() -> None:
    by_code: dict[int, set[str]] = defaultdict(set)
    for name, code in EXIT_CODES.items():
        by_code[code].add(name)
    for code, names in by_code.items():
        if len(names) > 1:
            assert SHARED.get(code) == names, f"exit code {code} shared by {sorted(names)}"


def test_exit_codes_are_usable_process_codes() -> None:
    for name, code in EXIT_CODES.items():
        assert 1 <= code <= 125, name  # 0 is success, 126+ mean "shell/signal"
        assert code != 130, name


def test_each_class_has_its_own_title() -> None:
    titles = [c.title for c in _classes()]
    assert len(set(titles)) == len(titles)


def test_hint_is_rendered_after_the_message() -> None:
    exc = errors.ConfigError("field 'targets' is missing", hint="add a targets: list")
    assert str(exc) == "field 'targets' is missing\n  hint: add a targets: list"
    assert exc.message == "field 'targets' is missing"
    assert exc.hint == "add a targets: list"
    assert str(errors.ConfigError("no hint")) == "no hint"


def test_conflict_is_a_target_error_with_its_own_code() -> None:
    with pytest.raises(errors.TargetError) as info:
        raise errors.ConflictError("pypi has 1.0.0 with other bytes")
    assert info.value.exit_code == 14
    assert errors.TargetError.exit_code == 13
