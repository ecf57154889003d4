"""The parsed shape of a flow file (format version 2), as pydantic models.

Unknown keys are refused (`extra="forbid"`), so a misspelt key is an error, not a silence.
Steps are told apart by their one kind key (`say`, `ask`, `branch`, `action`, `handoff`,
`call`, `goto`, `end`); `flows.validate` picks the model from that key.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SPEC_VERSION = 2
LOCALES = ("zh", "en")
SLOT_TYPES = (
    "text", "number", "choice", "date", "phone", "yes_no",
    "policy", "need_category", "activity", "village",
)
ENTITY_TYPES = ("policy", "need_category", "activity", "village")
STEP_KINDS = ("say", "ask", "branch", "action", "handoff", "call", "goto", "end")

Localized = dict[str, str]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=False)


class ChoiceDef(_Model):
    value: str | int | bool
    title: Localized


class ButtonDef(_Model):
    title: Localized
    payload: str


class Triggers(_Model):
    intents: list[str] = []
    keywords: list[str] = []
    payloads: list[str] = []
    patterns: list[str] = []  # regular expressions on the message; named groups fill slots
    first_contact: bool = False


class SlotDef(_Model):
    type: Literal[SLOT_TYPES]  # type: ignore[valid-type]
    title: Localized | None = None
    choices: list[ChoiceDef] | None = None
    min: float | None = None
    max: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    prefill: bool = True
    accept_text: bool = False


class _Step(_Model):
    id: str | None = None
    if_: str | None = Field(default=None, alias="if")
    next: str | None = None


class SayStep(_Step):
    say: Localized
    buttons: list[ButtonDef] = []


class AskSpec(_Model):
    slot: str
    question: Localized
    retry: Localized | None = None
    choices: list[ChoiceDef] | None = None
    choices_from: str | None = None
    validate_: str | None = Field(default=None, alias="validate")
    max_attempts: int = Field(default=2, ge=1, le=10)
    on_fail: str | None = None
    always_ask: bool = False
    skip: Localized | None = None
    interruptible: bool = False  # a message that starts another flow leaves this question for it


class AskStep(_Step):
    ask: AskSpec


class BranchCase(_Model):
    if_: str | None = Field(default=None, alias="if")
    goto: str | None = None
    else_: str | None = Field(default=None, alias="else")


class BranchStep(_Step):
    branch: list[BranchCase]


class ActionStep(_Step):
    action: str
    args: dict[str, Any] = {}
    save: dict[str, str] = {}


class HandoffSpec(_Model):
    reason: str = "request"
    priority: Literal["normal", "urgent", "emergency"] = "normal"
    summary: Localized | None = None


class HandoffStep(_Step):
    handoff: HandoffSpec = HandoffSpec()


class CallStep(_Step):
    call: str


class GotoStep(_Step):
    goto: str


class EndStep(_Step):
    end: Literal[True]


STEP_MODELS: dict[str, type[_Step]] = {
    "say": SayStep,
    "ask": AskStep,
    "branch": BranchStep,
    "action": ActionStep,
    "handoff": HandoffStep,
    "call": CallStep,
    "goto": GotoStep,
    "end": EndStep,
}

Step = SayStep | AskStep | BranchStep | ActionStep | HandoffStep | CallStep | GotoStep | EndStep


class FlowHeader(_Model):
    spec_version: int
    id: str
    title: Localized
    description: str = ""
    triggers: Triggers = Triggers()
    digression: bool = False
    slots: dict[str, SlotDef] = {}
    steps: list[Any]


class Flow:
    """A validated flow ready to run: header fields plus typed steps with ids."""

    def __init__(self, header: FlowHeader, steps: list[Step]):
        self.id = header.id
        self.spec_version = header.spec_version
        self.title = header.title
        self.triggers = header.triggers
        self.digression = header.digression
        self.slots = header.slots
        self.steps = steps
        for i, step in enumerate(steps):
            if not step.id:
                step.id = f"#{i + 1}"
        self.index = {step.id: i for i, step in enumerate(steps)}

    def step(self, step_id: str) -> Step | None:
        i = self.index.get(step_id)
        return None if i is None else self.steps[i]

    def after(self, step_id: str) -> str | None:
        """The step that follows `step_id` in the list (None at the end)."""
        i = self.index[step_id] + 1
        return self.steps[i].id if i < len(self.steps) else None


def step_kind(step: Step) -> str:
    for kind in STEP_KINDS:
        if kind in type(step).model_fields and type(step) is STEP_MODELS[kind]:
            return kind
    raise ValueError(step)
