"""The office directory's HTTP contract on a real server: /api/offices, /api/openapi.json, and
the HTTP adapter's round trip equal to the embedded backend's answer."""

from __future__ import annotations

import json
from urllib.parse import quote as _q

import pytest

from services.directory import EmbeddedOfficeDirectory
from services.http_adapter import HttpOfficeDirectory


@pytest.fixture(scope="module")
def api_server(start_module_server):
    return start_module_server(in_process=True)


def test_offices_of_a_city_in_any_script(api_server):
    for place in ("上海", "上海市", "Shanghai", "shanghai"):
        status, body, headers = api_server.get(f"/api/offices?place={_q(place)}&lang=en")
        assert status == 200 and headers["Content-Type"].startswith("application/json")
        answer = json.loads(body)
        assert [o["city"] for o in answer["offices"]] == ["Shanghai", "Shanghai"]
        assert "No. 1500 Minsheng Road" in answer["offices"][0]["address"]
    status, body, _ = api_server.get(f"/api/offices?place={_q('廣州')}")
    answer = json.loads(body)
    assert [o["name"] for o in answer["offices"]] == ["广州市各区公安分局（外国人签证居留受理）"]
    # Not verified: no address, hours or phone, and the official directory to look them up.
    office = answer["offices"][0]
    assert office["address"] is None and office["hours"] is None and office["phone"] == []
    assert answer["directory"]["name"] == "出入境办证机构信息查询"


def test_a_province_gives_its_cities_offices(api_server):
    _, body, _ = api_server.get(f"/api/offices?place={_q('广东')}&lang=zh")
    assert {o["city"] for o in json.loads(body)["offices"]} == {"广州", "深圳"}


def test_a_place_without_offices_and_bad_requests(api_server):
    _, body, _ = api_server.get(f"/api/offices?place={_q('南京')}&lang=zh")
    answer = json.loads(body)
    assert answer["offices"] == [] and "12367" in answer["directory"]["phone_fallback"]
    assert api_server.get("/api/offices")[0] == 400
    assert api_server.get("/api/offices?place=x&lang=fr")[0] == 400


def test_openapi_document_describes_the_operation(api_server):
    status, body, _ = api_server.get("/api/openapi.json")
    doc = json.loads(body)
    assert status == 200 and doc["openapi"].startswith("3.1")
    operation = doc["paths"]["/api/offices"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"place", "lang"}
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.rsplit("/", 1)[1] in doc["components"]["schemas"]
    assert "OfficeView" in doc["components"]["schemas"]


def test_http_adapter_round_trip_equals_embedded(api_server):
    remote, local = HttpOfficeDirectory(api_server.url), EmbeddedOfficeDirectory()
    try:
        for place, lang in (("广州", "zh"), ("Shanghai", "en"), ("Guangdong", "en"),
                            ("成都", "zh"), ("南京", "zh"), ("北京市", "en")):
            assert remote.find(place, lang) == local.find(place, lang)
    finally:
        remote.close()



async def test_chat_uses_a_remote_directory_when_configured(start_server, ws_client):
    """CHAT_OFFICES_URL: the chat's office form asks that server's /api/offices (here our own,
    running apart); with the remote gone, the visitor is told the bot cannot answer now."""
    remote = start_server(in_process=True)
    chat = start_server(CHAT_OFFICES_URL=remote.url)
    async with ws_client(chat.ws_url) as c:
        await c.hello(lang="en")
        reply = await c.ask("where is the exit-entry office in Chengdu?", "r1")
        assert "028-86407067" in reply["text"]
        remote.stop()
        gone = await c.ask("where is the exit-entry office in Chengdu?", "r2")
        assert gone["meta"]["kind"] == "failure" or "can't answer" in gone["text"]
