"""Browser fixtures: Debian chromium driven by Playwright (never `playwright install`), axe-core from
.cache/npm (scripts/install_browser.sh), and a static copy of the site for the parts that need no
server. The live tests use `shared_server` (tests/conftest.py), or a server already running."""

from __future__ import annotations

import http.server
import os
import threading
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "widget" / "static"
CHROMIUM = "/usr/bin/chromium"
AXE_JS = ROOT / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
# Screenshots go to docs/ only when asked (`make screenshots`), so a test run leaves git clean.
SCREENSHOTS = ROOT / ("docs" if os.environ.get("UPDATE_SCREENSHOTS") else "data") / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

# A hostile host page: global rules that would wreck a widget living in the light DOM.
HOST_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>host</title>
<style>
* { font-size: 40px !important; color: #f0f !important; line-height: 3 !important; }
button { background: lime !important; padding: 60px !important; border: 9px dotted red !important; }
textarea, ol, li, section { display: none !important; }
</style></head><body><h1>Some other site</h1>
<script src="/widget.js" data-server="ws://127.0.0.1:9/ws" data-lang="en" data-color="#8a1538" async></script>
</body></html>"""


class _Site(http.server.SimpleHTTPRequestHandler):
    """widget/static with the server's page routes: / -> portal, /m -> mobile, /host.html."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=str(STATIC), **kwargs)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/host.html":
            body = HOST_PAGE.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        query = self.path[len(path):]
        pages = {"/": "/portal.html", "/m": "/mobile.html"}
        if path in pages:
            self.path = pages[path] + query
        elif path.startswith("/static/"):
            self.path = path[len("/static"):] + query
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def site():
    """The pages without a server behind them: http://127.0.0.1:PORT (no websocket, no /qr.svg)."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser() -> Browser:
    """One Chromium per test module. Sync Playwright keeps its own event loop running while it
    is started, and no asyncio test can run meanwhile: stopped after each module, it leaves the
    async tests of other modules working whatever order they run in."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: run `make browser` (scripts/install_browser.sh)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def context(browser: Browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    yield ctx
    ctx.close()


@pytest.fixture
def phone_context(browser: Browser):
    """A phone: 360×640, touch, mobile user agent."""
    ctx = browser.new_context(viewport={"width": 360, "height": 640}, device_scale_factor=2,
                              is_mobile=True, has_touch=True, locale="zh-CN")
    yield ctx
    ctx.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} missing: run `make browser` (scripts/install_browser.sh)")
    return AXE_JS.read_text()


class _RunningServer:
    """A server someone already runs (WIDGET_SERVER_URL=http://127.0.0.1:8367 and optionally
    WIDGET_SERVER_DATA=its data dir): no start-up wait while iterating on the widget."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.ws_url = "ws" + self.url[len("http"):] + "/ws"
        if os.environ.get("WIDGET_SERVER_DATA"):  # its --data-dir, for adding an agent account
            self.data_dir = Path(os.environ["WIDGET_SERVER_DATA"])


@pytest.fixture(scope="module")
def live_server(request):
    """The module-wide `shared_server`, or WIDGET_SERVER_URL when set (quick iteration)."""
    url = os.environ.get("WIDGET_SERVER_URL")
    return _RunningServer(url) if url else request.getfixturevalue("shared_server")
