"""A visitor's chat over the websocket, as the widget opens it from a portal page."""

from __future__ import annotations


async def converse(ws_client, url: str, *texts: str, page_lang: str = "en") -> list[dict]:
    """Send each text in turn after the greeting; the first bot reply to each."""
    async with ws_client(url) as c:
        await c.hello(page_lang=page_lang)
        await c.until(lambda f: f["type"] == "reply")
        return [await c.ask(text, f"m{n}") for n, text in enumerate(texts)]
