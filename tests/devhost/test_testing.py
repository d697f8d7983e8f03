"""devhost.testing as another project uses it: the README's example, run by pytest in a fresh
folder whose app is the sampler, passes as written."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT
from tests.devhost.support import SAMPLER


def readme_example() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Testing an app on devhost") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_passes_against_a_users_app(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # devhost itself, as if pip-installed
    pytester.makeini(f"[pytest]\ndevhost_app = {SAMPLER}\n")
    pytester.makepyfile(test_example=readme_example())

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    result.assert_outcomes(passed=2)
