"""Registers the mission's actions (see flows/mission/): importing this module is enough.
`flows.registry.load_actions()` imports it; `xiangzhu flows actions` lists them. It also
registers the conversation-test effects the mission's tests use (flows/mission/effects.py)."""
from flows.mission import activities, cases, consent, effects, handoff, policy, privacy, worker_link  # noqa: F401
