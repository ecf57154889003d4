"""bot/services.py: the services a process builds. There is no stand-in: without an NLU, flow
engine or emergency detector passed in, the real ones are built (a missing one is an import
error at start, not a warning and a keyword matcher)."""
from __future__ import annotations

from bot.config import load_settings
from bot.services import Services
from flows.runtime import FlowRuntime
from nlu.emergency import detect
from nlu.parser import NLU


async def test_services_build_the_real_nlu_flow_engine_and_emergency_detector(db):
    settings = load_settings(database_url=db.url)  # the session's NLU cache (tests/conftest.py)
    services = Services(settings, db)
    assert isinstance(services.nlu, NLU)
    assert isinstance(services.handler, FlowRuntime)
    assert services.emergency_detector is detect
    assert services.nlu.parse("我想问问低保怎么申请")["intent"]["name"] == "ask_policy"
    assert services.channel_store.db is db
