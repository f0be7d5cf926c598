import pytest
from notes_service import NotesService
from notes_service.agent import Notifier
from notes_service.cache import AsyncEmbeddingCache


@pytest.fixture
def service(tmp_path):
    return NotesService(str(tmp_path))


@pytest.fixture
def threaded_cache():
    # A sync fixture: creating the table runs before the event loop does.
    return AsyncEmbeddingCache()


@pytest.fixture
async def notifier():
    notifier = Notifier()
    yield notifier
    await notifier.shutdown()
