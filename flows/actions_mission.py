"""Registers the mission's actions (see flows/mission/): importing this module is enough.
`flows.registry.load_actions()` imports it; `xiangzhu flows actions` lists them."""
from flows.mission import activities, cases, checkin, consent, handoff, policy, privacy, worker_link  # noqa: F401
