"""The agent console in headless Chromium against the real server: login, queue, claim, assist,
canned reply, send, and what a visitor sees. Keeps a screenshot in docs/screenshots/console.png."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.handoff.helpers import PASSWORD, AgentClient, add_agent, waiting_ids

playwright = pytest.importorskip("playwright.async_api")
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[2]
# Screenshots go to docs/ only when asked (`make screenshots`), so a test run leaves git clean.
SCREENSHOTS = ROOT / ("docs" if os.environ.get("UPDATE_SCREENSHOTS") else "data") / "screenshots"
AXE_JS = ROOT / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"  # make browser


async def axe_violations(page) -> list[dict]:
    """axe-core (WCAG 2 A/AA and best practices): serious and critical violations only."""
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} missing: run `make browser` (scripts/install_browser.sh)")
    # Evaluated by the driver, not as a page script: the page's CSP forbids inline scripts.
    await page.evaluate(AXE_JS.read_text() + "\n;0")
    found = await page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']}))
        .violations.map((v) => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' '))}))""")
    return [v for v in found if v["impact"] in ("serious", "critical")]
pytestmark = [pytest.mark.timeout(300),
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (make browser)")]


async def test_console_end_to_end(handoff_server, ws_client):
    server = handoff_server
    add_agent(server.data_dir, "web", name="张伟", queues="*", langs="zh,en")
    add_agent(server.data_dir, "webboss", name="王主管", role="supervisor", queues="*", langs="zh,en")
    async with playwright.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = await browser.new_page(viewport={"width": 1400, "height": 860})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await page.goto(f"{server.url}/console")
        await page.fill("#username", "web")
        await page.fill("#password", "wrong password")
        await page.click("#login-form button")
        # Predicates are functions, not strings: the page's CSP forbids eval (string predicates).
        await page.wait_for_function("() => document.querySelector('#login-error').textContent.includes('Wrong')")
        await page.fill("#password", PASSWORD)
        await page.click("#login-form button")
        await page.wait_for_selector("#work-view:not([hidden])")

        async with ws_client(server.ws_url) as visitor:
            await visitor.hello(lang="en")
            hostile = "<img src=x onerror=alert(1)> How do I extend my visa?"
            await visitor.ask(hostile, "v1")
            await visitor.send({"type": "message", "id": "v2", "text": "Talk to a person"})
            await visitor.until(lambda f: f["type"] == "state" and f["state"] == "queued", 60)

            await page.locator("#queues li[data-chat]").first.wait_for()
            newest = await page.evaluate(
                "Math.max(...[...document.querySelectorAll('#queues li[data-chat]')].map(li => +li.dataset.chat))")
            card = page.locator(f'#queues li[data-chat="{newest}"]')
            assert "Talk to a person" in await card.inner_text()
            await card.locator("button.claim").click()
            await page.wait_for_selector("#transcript li.visitor")
            # Visitor text is shown literally, never as HTML.
            assert await page.locator("#transcript img").count() == 0
            assert "<img src=x" in await page.inner_text("#transcript")
            assert "NLU:" in await page.inner_text("#transcript")
            await visitor.until(lambda f: f["type"] == "state" and f["state"] == "agent")

            # Agent assist answers in the visitor's language, inserted with one click.
            await page.click("#assist")
            await page.wait_for_selector("#assist-list button.insert", timeout=60000)
            await page.locator("#assist-list button.insert").first.click()
            # The last question, not "Talk to a person", is what assist looks up, in English.
            query = await page.inner_text("#assist-query")
            assert "extend my visa" in query and "→ English" in query
            assert await page.input_value("#reply-text")
            await page.fill("#reply-text", "")
            await page.click("#canned button[data-canned=greeting]")
            assert (await page.input_value("#reply-text")).startswith("Hello")
            await page.click("#send")
            got = await visitor.until(lambda f: f["type"] == "reply" and f["from"] == "agent")
            assert got["meta"]["agent"] == "张伟" and got["text"].startswith("Hello")
            await page.wait_for_selector("#transcript li.agent")

            await visitor.send({"type": "message", "id": "v3", "text": "Thank you, <b>bold</b>?"})
            await page.wait_for_function(
                "() => document.querySelector('#transcript').innerText.includes('<b>bold</b>')")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await page.evaluate("document.querySelector('#tools').scrollTop = 0")
            await page.screenshot(path=str(SCREENSHOTS / "console.png"))
            assert await axe_violations(page) == []

            await page.click("#resolve")
            await visitor.until(lambda f: f["type"] == "state" and f["state"] == "closed")
            await page.wait_for_selector("#empty-chat:not([hidden])")

        # Supervisor view: all queues, agents and loads.
        sup = await browser.new_page(viewport={"width": 1400, "height": 860})
        await sup.goto(f"{server.url}/console")
        await sup.fill("#username", "webboss")
        await sup.fill("#password", PASSWORD)
        await sup.click("#login-form button")
        await sup.click("#tab-supervisor")
        await sup.wait_for_selector("#sup-agents tbody tr")
        text = await sup.inner_text("#sup-agents")
        assert "张伟" in text and "王主管" in text
        await sup.screenshot(path=str(SCREENSHOTS / "console-supervisor.png"))
        assert not errors, errors
        await browser.close()
    await asyncio.sleep(0)


async def test_console_offline_cards_choices_assist_notes_search_history_shortcuts_alerts(
        handoff_server, ws_client):
    """What an agent meets beyond the basics: the choices a visitor was offered, a waiting
    visitor gone offline, "Suggest answers" saying it is searching, private notes, search over
    past chats, the visitor's earlier chats, keyboard shortcuts and the opt-in new-chat alert."""
    server = handoff_server
    add_agent(server.data_dir, "keys", name="Kim", queues="*", langs="zh,en")
    async with playwright.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = await browser.new_context(viewport={"width": 1400, "height": 900})
        await context.grant_permissions(["notifications"], origin=server.url)
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await page.goto(f"{server.url}/console")
        await page.fill("#username", "keys")
        await page.fill("#password", PASSWORD)
        await page.click("#login-form button")
        await page.wait_for_selector("#work-view:not([hidden])")
        await page.check("#alerts")
        await page.wait_for_timeout(300)

        async with ws_client(server.ws_url) as visitor:
            welcome = await visitor.hello(lang="en")
            await visitor.ask("My passport was stolen in Kunming", "h1")
            await visitor.send({"type": "message", "id": "h2", "text": "Talk to a person"})
            await visitor.until(lambda f: f["type"] == "state" and f["state"] == "queued", 60)
        # The visitor closed the tab: the waiting card says so before anyone claims it.
        card = page.locator("#queues li[data-chat]", has_text="Talk to a person").last
        await card.locator(".offline").wait_for()
        assert "visitor offline" in await card.inner_text()
        assert await page.evaluate("window.__consoleAlerts || 0") >= 1  # the opt-in alert fired
        chat_id = int(await card.get_attribute("data-chat"))

        async with ws_client(server.ws_url) as visitor:
            await visitor.hello(session=welcome["session"], last_seq=0)
            await page.wait_for_function(
                f"() => !document.querySelector('#queues li[data-chat=\"{chat_id}\"] .offline')")
            # Alt+C claims the oldest waiting chat the agent may take: open this one first.
            await page.locator(f'#queues li[data-chat="{chat_id}"] button', has_text="View").click()
            await page.wait_for_selector("#claim-bar:not([hidden])")
            await page.keyboard.press("Alt+c")
            await visitor.until(lambda f: f["type"] == "state" and f["state"] == "agent")
            await page.wait_for_selector("#composer:not([hidden])")
            # The greeting's menu, as the visitor saw it.
            assert "Choices:" in await page.inner_text("#transcript")
            # "Suggest answers" says at once that it is looking, then shows answers or "no answer".
            said = await page.evaluate(
                "() => { document.querySelector('#assist').click(); return document.querySelector('#assist-query').textContent; }")
            assert "Searching" in said
            await page.wait_for_function(
                "() => document.querySelector('#assist-list li') || document.querySelector('#assist-query').textContent.includes('No answer')",
                timeout=60000)
            # A private note: the agents see it, the visitor never does.
            await page.fill("#note-text", "Caller sounded worried; callback code 7731-QZ")
            await page.click("#note-form button")
            await page.wait_for_function("() => document.querySelector('#notes').innerText.includes('7731-QZ')")
            assert "private" in await page.inner_text("#notes")
            await page.focus("#transcript")
            await page.keyboard.press("Alt+r")  # resolve
            await visitor.until(lambda f: f["type"] == "state" and f["state"] == "closed")
            assert not [f for f in visitor.seen if "7731-QZ" in str(f)], [f for f in visitor.seen if "7731-QZ" in str(f)]

            # The same visitor asks again: the console lists the earlier chat.
            await visitor.send({"type": "message", "id": "h3", "text": "Talk to a person"})
            await visitor.until(lambda f: f["type"] == "state" and f["state"] == "queued", 60)
            again = page.locator("#queues li[data-chat]", has_text="Talk to a person").last
            await again.locator("button", has_text="View").click()
            await page.wait_for_function(
                f"() => document.querySelector('#history').innerText.includes('#{chat_id}')")
            assert "7731-QZ" in await page.inner_text("#notes")  # notes follow the visitor
            await visitor.send({"type": "close"})

        # Search over past conversations.
        await page.evaluate("document.activeElement && document.activeElement.blur()")
        await page.keyboard.press("/")
        assert await page.evaluate("document.activeElement.id") == "search-q"
        await page.keyboard.type("stolen in Kunming")
        await page.keyboard.press("Enter")
        await page.wait_for_selector("#search-results:not([hidden]) #search-list li")
        results = await page.inner_text("#search-list")
        assert f"#{chat_id}" in results and "stolen in Kunming" in results
        await page.fill("#search-q", "zzqqxx nothing")
        await page.keyboard.press("Enter")
        await page.wait_for_function("() => document.querySelector('#search-list').innerText.includes('Nothing found')")
        assert await axe_violations(page) == []
        assert not errors, errors
        await browser.close()


async def test_a_past_chat_removed_by_the_retention_purge_says_so(start_server, ws_client):
    """A chat an agent found by search before the retention purge, opened after it: the console
    says its content was removed under the retention policy (no error, no empty transcript) and
    offers no note field. The console's login outlives the purge's "91 days later"."""
    server = start_server(CHAT_AGENT_TOKEN_TTL_S=str(365 * 24 * 3600))
    add_agent(server.data_dir, "ret", name="Ret", role="supervisor", queues="*", langs="zh,en")
    async with ws_client(server.ws_url) as visitor:
        await visitor.hello(lang="en")
        await visitor.ask("My passport QJX-4410 was stolen in Kunming", "r1")
        await visitor.send({"type": "message", "id": "r2", "text": "Talk to a person"})
        await visitor.until(lambda f: f["type"] == "state" and f["state"] == "queued", 60)
        agent = await AgentClient.open(server.agent_ws_url)
        await agent.login("ret")
        chat_id = max(waiting_ids(await agent.queues_until(waiting_ids)))
        await agent.send(type="claim", chat=chat_id)
        await agent.expect("chat")
        await agent.send(type="resolve", chat=chat_id)
        await visitor.until(lambda f: f["type"] == "state" and f["state"] == "closed")
        await agent.close()
    async with playwright.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = await browser.new_page(viewport={"width": 1400, "height": 860})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await page.goto(f"{server.url}/console")
        await page.fill("#username", "ret")
        await page.fill("#password", PASSWORD)
        await page.click("#login-form button")
        await page.wait_for_selector("#work-view:not([hidden])")
        await page.fill("#search-q", "QJX-4410")
        await page.keyboard.press("Enter")
        await page.wait_for_selector("#search-results:not([hidden]) #search-list li button")

        later = datetime.fromtimestamp(time.time() + 91 * 24 * 3600, UTC).isoformat()
        purged = await asyncio.to_thread(subprocess.run, [
            sys.executable, "-m", "bot", "purge", "--as-of", later, "--data-dir",
            str(server.data_dir)], cwd=ROOT, env=server.env, capture_output=True, text=True)
        assert purged.returncode == 0, purged.stderr

        await page.locator("#search-list li button", has_text="View").first.click()
        await page.wait_for_selector("#transcript li.purged")
        transcript = await page.inner_text("#transcript")
        assert "removed on" in transcript and "retention policy" in transcript
        assert "QJX-4410" not in transcript and "QJX-4410" not in await page.inner_text("#chat")
        assert await page.locator("#note-form").is_hidden()
        assert not errors, errors
        await browser.close()
