"""Format migrations: each upgrades a flow file from one `spec_version` to the next.

A migration is a registered function that changes the loaded YAML mapping in place (a ruamel
round-trip mapping, so line numbers survive for error messages). Loading a flow runs every
migration from the file's version to `SPEC_VERSION`. Fixtures in
tests/flows/data/migrations/ hold `{description, original, migrated}`; every migrated
fixture must validate.
"""
from __future__ import annotations

from typing import Any, Callable

from flows.errors import FlowsError
from flows.model import SPEC_VERSION

__all__ = ["MIGRATIONS", "MigrationError", "migrate", "migration"]

MIGRATIONS: dict[int, Callable[[dict], None]] = {}  # from version -> function to version + 1


class MigrationError(FlowsError, ValueError):
    pass


def migration(from_version: int):
    def register(fn):
        MIGRATIONS[from_version] = fn
        return fn

    return register


def _rename(mapping: Any, old: str, new: str) -> None:
    """Rename a key in place, keeping its position (and comments) when the mapping allows."""
    if not isinstance(mapping, dict) or old not in mapping or new in mapping:
        return
    keys = list(mapping.keys())
    pos = keys.index(old)
    value = mapping.pop(old)
    if hasattr(mapping, "insert"):
        mapping.insert(pos, new, value)
    else:
        mapping[new] = value


@migration(1)
def v1_to_v2(flow: dict) -> None:
    """Version 1 called the re-ask message `reprompt` and the limit `max_tries`. Admins read
    "reprompt" as a programmer's word and "tries" did not say that it counted only wrong
    answers, so version 2 calls them `retry` and `max_attempts`."""
    for step in flow.get("steps") or []:
        if isinstance(step, dict) and isinstance(step.get("ask"), dict):
            _rename(step["ask"], "reprompt", "retry")
            _rename(step["ask"], "max_tries", "max_attempts")


def migrate(flow: dict) -> int:
    """Upgrade `flow` in place to the current format; returns the version it had."""
    original = flow.get("spec_version")
    if isinstance(original, bool) or not isinstance(original, int):
        raise MigrationError(
            f"'spec_version' should be a whole number (the format version, now {SPEC_VERSION})"
            if "spec_version" in flow
            else f"the file has no 'spec_version' (the format version; write spec_version: {SPEC_VERSION})"
        )
    if original > SPEC_VERSION or original < 1:
        raise MigrationError(
            f"spec_version {original} is not known: this program reads versions 1 to {SPEC_VERSION}"
        )
    version = original
    while version < SPEC_VERSION:
        MIGRATIONS[version](flow)
        version += 1
    flow["spec_version"] = SPEC_VERSION
    return original
