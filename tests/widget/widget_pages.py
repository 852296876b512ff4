"""Page object for the <nia-chat> widget, and the axe-core check. Playwright's CSS locators pierce
the widget's open shadow root, so `nia-chat .log` finds the log inside it."""

from __future__ import annotations

from playwright.sync_api import Page, expect

ANSWER_TIMEOUT_MS = 60_000

# The last visitor bubble with this text, once acked (has a seq), and the first bot/agent/system
# message stored after it.
_REPLY_AFTER = """(text) => {
  const root = document.querySelector('nia-chat').shadowRoot;
  const items = [...root.querySelectorAll('.log > li')];
  const mine = items.filter((li) => li.classList.contains('m-visitor') && li.dataset.seq
      && li.querySelector('.bubble').textContent === text);
  if (!mine.length) return null;
  const seq = Number(mine[mine.length - 1].dataset.seq);
  const reply = items.find((li) => /\\bm-(bot|agent|system)\\b/.test(li.className)
      && Number(li.dataset.seq) > seq);
  if (!reply) return null;
  return {
    seq: Number(reply.dataset.seq), from: reply.className.replace('m-', ''),
    who: reply.querySelector('.who').textContent,
    // An answer in parts is read by its short answer (always shown); other replies by their text.
    text: (reply.querySelector('.bubble .short') || reply.querySelector('.bubble').firstChild).textContent,
    parts: !!reply.querySelector('.bubble .short'),
    links: [...reply.querySelectorAll('.src a')].map((a) => ({href: a.href, target: a.target, rel: a.rel, text: a.textContent})),
  };
}"""

_TRANSCRIPT = """() => [...document.querySelector('nia-chat').shadowRoot.querySelectorAll('.log > li[data-seq]')]
  .map((li) => ({seq: Number(li.dataset.seq), kind: li.className,
                 text: (li.querySelector('.bubble') || li).firstChild.textContent}))"""


class Chat:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.launcher = page.locator("nia-chat .launcher")
        self.panel = page.locator("nia-chat .panel")
        self.input = page.locator("nia-chat #nia-input")
        self.send_button = page.locator("nia-chat .send")
        self.log = page.locator("nia-chat .log")
        self.banner = page.locator("nia-chat .banner")
        self.status = page.locator("nia-chat header .s")

    def open(self) -> Chat:
        """Opens the panel (it may be open already: it stays open across reloads)."""
        if not self.panel.is_visible():
            self.launcher.click()
        expect(self.panel).to_be_visible()
        return self

    def wait_online(self, timeout: float = 30_000) -> None:
        expect(self.panel).to_have_attribute("data-status", "online", timeout=timeout)

    def active_id(self) -> str | None:
        return self.page.evaluate(
            "() => document.querySelector('nia-chat').shadowRoot.activeElement?.id || "
            "document.querySelector('nia-chat').shadowRoot.activeElement?.className || null")

    def type_and_send(self, text: str) -> None:
        self.input.fill(text)
        self.input.press("Enter")

    def ask(self, text: str, timeout: float = ANSWER_TIMEOUT_MS) -> dict:
        """Sends a question and returns the first message stored after it."""
        self.type_and_send(text)
        return self.reply_after(text, timeout)

    def ask_for_answer(self, text: str) -> dict:
        """Asks; when the bot asks "which of these do you mean?", picks its first choice, as a
        visitor would, and returns the answer that follows."""
        reply = self.ask(text)
        if reply["links"]:
            return reply
        choice = self.page.locator(f"nia-chat .log > li[data-seq='{reply['seq']}'] .qr button").first
        if not choice.count():
            return reply
        label = choice.text_content()
        choice.click()
        return self.reply_after(label)

    def reply_after(self, text: str, timeout: float = ANSWER_TIMEOUT_MS) -> dict:
        handle = self.page.wait_for_function(_REPLY_AFTER, arg=text, timeout=timeout)
        return handle.json_value()

    def transcript(self) -> list[dict]:
        return self.page.evaluate(_TRANSCRIPT)

    def visitor_texts(self) -> list[str]:
        return self.page.locator("nia-chat .log > li.m-visitor .bubble").all_text_contents()

    def stored(self) -> dict:
        return self.page.evaluate(
            "() => { for (const k of Object.keys(localStorage)) if (k.startsWith('nia-chat:v1:')"
            " && !k.endsWith(':ui')) return JSON.parse(localStorage.getItem(k)); return null; }")


def axe_violations(page: Page, axe_source: str, impacts=("serious", "critical")) -> list[dict]:
    """Runs axe-core (WCAG 2 A/AA rules and best practices) on the page, shadow DOM included."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated by the driver, not as a page script: the pages' CSP forbids inline scripts.
        page.evaluate(axe_source + "\n;0")
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map((n) => [n.target.join(' '), n.failureSummary])}));
    }""")
    return [v for v in result if v["impact"] in impacts]


def small_touch_targets(page: Page, minimum: int = 44) -> list:
    """Visible controls of the widget smaller than minimum×minimum CSS pixels."""
    return page.evaluate("""(min) => [...document.querySelector('nia-chat').shadowRoot
        .querySelectorAll('button, textarea, select, input')]
        .map((e) => [e.outerHTML.slice(0, 80), e.getBoundingClientRect().toJSON()])
        .filter(([, r]) => r.width > 0 && (r.width < min || r.height < min))""", minimum)
