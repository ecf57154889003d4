"""Helpers for the pipeline tests (imported as a plain module: tests/ has no packages)."""
from __future__ import annotations



from tests import support
from tests.support import eventually  # noqa: F401  (re-exported for the tests)
from bot.config import load_settings
from bot.services import Services
from tests.standin import StandinHandler, StandinNLU


def make_services(db, *, handler=None, settings_overrides=None, **kwargs) -> Services:
    settings = load_settings(database_url=db.url, **(settings_overrides or {}))
    kwargs.setdefault("sender_options", {"poll_seconds": 0.02, "backoff_base": 0.01, "backoff_cap": 0.05})
    kwargs.setdefault("emergency_detector", None)
    return Services(settings, db, nlu=StandinNLU(), handler=handler or StandinHandler(), **kwargs)


def running(services: Services, headers: dict | None = None, extensions: list[str] | None = ()):
    """The app running with a client, by default without the extensions (scheduler,
    messengers, staff web): these tests are about the pipeline."""
    return support.running(services, headers=headers, extensions=extensions)
