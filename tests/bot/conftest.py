"""Fixtures for the pipeline tests: services over the `db` fixture (SQLite and PostgreSQL)."""
from __future__ import annotations

import pytest

from tests.bot.pipeline_helpers import make_services


@pytest.fixture
def services(db):
    return make_services(db)
