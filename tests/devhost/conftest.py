"""The host most devhost tests share: the sampler app on a manual clock, one per module."""

import pytest

from tests.devhost.support import SAMPLER


@pytest.fixture(scope="module")
def host(devhost_factory):
    return devhost_factory(SAMPLER, "--clock", "manual")
