"""The staff web's page tests share the API tests' world (tests/api/conftest.py)."""
from tests.api.conftest import world  # noqa: F401  (a fixture)
