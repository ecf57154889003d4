from pathlib import Path

import pytest

from nlu.model_store import default_cache_dir
from nlu.parser import NLU


@pytest.fixture(scope="session")
def nlu_cache() -> Path:
    """The session's shared model cache (tests/conftest.py sets XIANGZHU_NLU_CACHE_DIR): the
    model is trained once for every test directory, not again here."""
    return default_cache_dir()


@pytest.fixture(scope="session")
def nlu(nlu_cache) -> NLU:
    """One trained NLU for the whole session, from the shared cache."""
    return NLU.load(nlu_cache)


@pytest.fixture
def gazetteer_nlu(nlu_cache) -> NLU:
    """A separate instance whose gazetteer a test may replace."""
    instance = NLU.load(nlu_cache)
    instance.set_gazetteer(
        activities=[(12, "巧娘班", ["巧娘手工班"]), (13, "互助学习小组", ["学习小组"]), (14, "电商培训", [])],
        villages=[(3, "张家村", ["张家"]), (4, "李家坪村", ["李家坪"])],
    )
    return instance
