"""Fixtures for the labels tests."""

from __future__ import annotations

import pytest

from labels import load_stocks
from tests.labels.support import STOCKS_FILE


@pytest.fixture(scope="session")
def stocks():
    return load_stocks(STOCKS_FILE)
