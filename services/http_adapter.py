"""The office directory on a remote system that speaks our contract (GET /api/offices, described
by /api/openapi.json): a deployment's bridge to the NIA's systems, or another of our servers."""

from __future__ import annotations

import httpx

from services.directory import OfficeAnswer
from services.offices import Lang


class HttpOfficeDirectory:
    def __init__(self, base_url: str, timeout: float = 5.0,
                 client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client or httpx.Client(timeout=timeout)

    def find(self, place: str, lang: Lang) -> OfficeAnswer:
        # Our server (websockets' HTTP handling) answers one request per connection and closes
        # it: a pooled keep-alive connection would be found closed on the next call.
        response = self.client.get(f"{self.base_url}/api/offices",
                                   params={"place": place, "lang": lang},
                                   headers={"Connection": "close"})
        response.raise_for_status()
        return OfficeAnswer.model_validate(response.json())

    def close(self) -> None:
        self.client.close()
