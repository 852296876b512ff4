"""One real chat server shared by the handoff end-to-end tests that do not restart it.

Starting a server loads the retrieval index and the NLU model, so the tests share one and use
their own agent names and visitors; chats are identified by number, the newest being the highest.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def handoff_server(start_session_server):
    return start_session_server()
