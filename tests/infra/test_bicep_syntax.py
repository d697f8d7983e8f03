"""Every Bicep and .bicepparam file parses cleanly; no compiler is needed to catch a typo."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.infra.bicep_tree import INFRA, parse_file, parse_source, syntax_errors

BICEP_FILES = sorted(INFRA.rglob("*.bicep")) + sorted(INFRA.rglob("*.bicepparam"))


def test_infra_has_the_expected_files() -> None:
    names = {path.relative_to(INFRA).as_posix() for path in BICEP_FILES}
    assert {"main.bicep", "dev.bicepparam", "prod.bicepparam"} <= names
    assert any(name.startswith("modules/") for name in names)


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda path: path.relative_to(INFRA).as_posix())
def test_file_parses_without_errors(path: Path) -> None:
    assert syntax_errors(parse_file(path)) == []


@pytest.mark.parametrize(
    "source",
    [
        b"resource s 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  name: 'x'\n",
        b"param location string = \n",
        b"output id string = storage.\n",
    ],
)
def test_broken_bicep_is_reported(source: bytes) -> None:
    assert syntax_errors(parse_source(source)) != []


def test_broken_bicepparam_is_reported() -> None:
    source = b"using './main.bicep'\n\nparam environmentName = \n"
    assert syntax_errors(parse_source(source, bicepparam=True)) != []


def test_valid_bicepparam_is_accepted() -> None:
    source = b"using './main.bicep'\n\nparam environmentName = 'dev'\nparam limit = 3\n"
    assert syntax_errors(parse_source(source, bicepparam=True)) == []
