"""Name validation and default names."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given

from dbsnap.exceptions import InvalidNameError
from dbsnap.names import default_name, is_valid_name, validate_name
from tests.strategies import hostile_names, valid_names

ALLOWED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


@given(valid_names)
def test_valid_names_pass(name: str) -> None:
    assert validate_name(name) == name


@given(hostile_names)
def test_validation_matches_the_documented_rule(name: str) -> None:
    expected = ALLOWED.fullmatch(name) is not None and not name.endswith(".manifest.json")
    assert is_valid_name(name) is expected
    if not expected:
        with pytest.raises(InvalidNameError):
            validate_name(name)


@pytest.mark.parametrize(
    "name", ["../x", "a/b", "/abs", ".hidden", "", "x" * 201, "a.manifest.json", "a\nb", "é"]
)
def test_hostile_names_are_refused_with_a_reason(name: str) -> None:
    with pytest.raises(InvalidNameError) as info:
        validate_name(name)
    message = str(info.value)
    assert "\n" not in message
    assert "name" in message


def test_two_hundred_characters_is_the_limit() -> None:
    assert validate_name("x" * 200)


def test_default_name_shape() -> None:
    when = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert default_name("app", ".sqlite.zst", when) == "app-20260304T050607Z.sqlite.zst"
    assert default_name("app", ".sqlite.zst", when, 2) == "app-20260304T050607Z-2.sqlite.zst"
    assert default_name("my db/../x", ".pgdump", when) == "my-db-..-x-20260304T050607Z.pgdump"


@given(valid_names)
def test_default_names_from_any_label_are_valid(label: str) -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    assert is_valid_name(default_name(label, ".sqlite.zst", when, 3))
