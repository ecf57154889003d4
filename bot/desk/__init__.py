"""The social workers' desk: scope-checked actions (service), messenger commands (commands),
the relay between villager and worker (relay), the handoff timers (timers) and the figures
(report). docs/desk.md describes it."""
