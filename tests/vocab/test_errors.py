"""One exception base per package, all under vocab.errors.XiangzhuError: every exception class
Xiangzhu defines derives from its package's base, so a caller at a package's boundary catches
what the package raises without listing its classes."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import bot
import flows
import nlu
import storage
import vocab
from bot.errors import BotError
from flows.errors import FlowsError
from nlu.errors import NluError
from storage.errors import StorageError
from vocab.errors import DatabaseUnavailable, VocabError, XiangzhuError

BASES = {"bot": BotError, "flows": FlowsError, "nlu": NluError, "storage": StorageError, "vocab": VocabError}
SKIP = ("storage.migrations",)  # Alembic scripts, loaded by Alembic itself


def _modules():
    for package in (bot, flows, nlu, storage, vocab):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not info.name.startswith(SKIP):
                yield importlib.import_module(info.name)


def test_every_exception_derives_from_its_package_base():
    wrong = []
    for module in _modules():
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__ or not issubclass(cls, BaseException):
                continue
            if cls in (XiangzhuError, DatabaseUnavailable) or cls in BASES.values():
                continue
            base = BASES[module.__name__.split(".")[0]]
            if not issubclass(cls, base):
                wrong.append(f"{module.__name__}.{name}")
    assert wrong == []


def test_the_package_bases_share_one_root():
    assert all(issubclass(base, XiangzhuError) for base in BASES.values())
    assert issubclass(DatabaseUnavailable, XiangzhuError)
