"""One real chat server shared by the handoff end-to-end tests that do not restart it.

Starting a server loads the retrieval index and the NLU model, so the tests share one and use
their own agent names and visitors; chats are identified by number, the newest being the highest.
"""

from __future__ import annotations

import pytest

from tests.conftest import ServerProcess


@pytest.fixture(scope="session")
def handoff_server(tmp_path_factory):
    proc = ServerProcess(tmp_path_factory.mktemp("handoff") / "data").start(timeout=600)
    yield proc
    proc.stop()
