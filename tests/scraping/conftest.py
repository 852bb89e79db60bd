import pytest

from tests.scraping.fakesite import FakeSite
from tests.scraping.runs import MISBEHAVIOUR


@pytest.fixture
def site():
    with FakeSite(per_page=12, pages=2, behaviour=MISBEHAVIOUR) as fake:
        yield fake
