"""One visitor message through the bot: language id → NLU → retriever → dialogue → replies.

Synchronous and CPU-bound; the server runs it in a worker thread, one message per session at a
time. Each stage's latency is returned for the metrics.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bot.answer_policy import THRESHOLDS
from bot.appointment_flow import AppointmentFlow, FlowTurn
from bot.appointment_form import SERVICE as APPOINTMENT_SERVICE
from bot.appointment_replies import render_step
from bot.cantonese import to_standard
from bot.consent import ack_reply, ask_reply, gives_details
from bot.controls import Control, control_of
from bot.dialogue import (
    Action,
    AnswerEntry,
    Context,
    Escalate,
    Hit,
    Say,
    Search,
    Turn,
    decide,
    greeting,
    on_feedback,
    render_say,
)
from bot.errands import asks_if_errand_needed, runs_errand
from bot.follow_values import (
    about_another,
    names_who,
    party_of,
    points_at_it,
    refers_back,
    speaks_of,
    uses_it,
)
from bot.form_summary import FormSummary, summarise
from bot.frames import Reply
from bot.guide_chat import SERVICE as GUIDE_SERVICE
from bot.guide_chat import GuideChat, GuideTurn, download_button
from bot.handoff_cues import asks_for_person, sounds_like_complaint
from bot.lookup_form import LookUp, LookupAction
from bot.lookup_replies import RENDERED, render_lookup
from bot.lookups import Lookups
from bot.nlu.types import Entity
from bot.office_form import SERVICE as OFFICE_SERVICE
from bot.office_form import ShowOffices, asks_for_offices, mentions_an_office
from bot.office_replies import render_offices
from bot.texts import SERVICE_QUERIES, label
from bot.topic_asks import (
    STAY_LONGER_QUERY,
    WHEN_QUERY,
    WHERE_QUERY,
    Ask,
    answers_a_particular,
    asks_within,
    is_fee,
    is_penalty,
    lead_with,
    linked_fee,
    past_the_limit,
    processing_first,
    purpose_query,
    states_a_deadline,
    states_a_fine,
    states_its_fee,
    states_its_time,
    staying_on_first,
    the_office_again,
    topic_ask,
    wants_past_visa_free,
    where_first,
)
from handoff.disclosure import consent_after
from runtime.language import Script, output_script, to_script, to_simplified
from runtime.language_id import detect_language, grammar_is_english, script_undecided
from services.consent import ConsentWord, answer_of, grants, word_of
from services.directory import EmbeddedOfficeDirectory, OfficeAnswer, OfficeDirectory
from services.records import Requester

# Messages that only make sense after an earlier question: "and for children?", "what if I
# stay 20 days?", "那香港人呢？", "费用呢".
FOLLOW_UP = re.compile(
    r"^(and|also|what about|how about|what if|then|but what if|same for)\b"
    r"|^(那|还有|另外|那么|咁|噉|如果是)|呢[？?]?$",
    re.IGNORECASE | re.ASCII,
)
# An acknowledgement of the answer before the follow-up proper ("ok, and Hong Kong as the next
# stop?", "好的，那小孩呢？", "thanks! what if I stay longer?"): it says nothing of its own, and the
# follow-up's opening word comes after it.
_ACKNOWLEDGED = re.compile(
    r"^(?:(?:ok(?:ay)?|alright|all right|right|sure|i see|got it|cool|great|thanks|thank you|"
    r"understood)\b|好的|嗯+|哦+|噢|明白了?|了解|知道了|收到|谢谢|謝謝|多谢|多謝)"
    r"\s*[,，.。!！~]+\s*|^(?:ok(?:ay)?|alright|嗯+|哦+)\s+",
    re.IGNORECASE | re.ASCII,
)


def _after_acknowledgement(text: str) -> str:
    """The message without an acknowledgement that opens it (_ACKNOWLEDGED)."""
    return _ACKNOWLEDGED.sub("", text.strip(), count=1)
REGION_SUFFIX = re.compile(r"(壮族|回族|维吾尔)?(自治区|特别行政区|省|市)$")
# A question about the price, and an entry about one ("visa-free" is not "free": no bare "free").
# ASCII word boundaries throughout: "fee多少" has no Unicode \b between "fee" and "多".
_ASKS_FEE = re.compile(r"费|钱|錢|how much|\bfees?\b|\bcosts?\b|\bpay\b|\bcharge", re.IGNORECASE | re.ASCII)
_FEE_TITLE = re.compile(r"\bfees?\b|费用|收费|免费", re.IGNORECASE | re.ASCII)
# A number, a code or a date written with a digit ("XA1234567", "1988-04-12"): Latin letters,
# digits and the punctuation inside such codes, never Chinese (which has no spaces to stop at:
# "12367半夜打有人接吗" is a Chinese question, not a code).
_CODES = re.compile(r"(?<![A-Za-z0-9./:-])[A-Za-z0-9./:-]*\d[A-Za-z0-9./:-]*")
SMALL_INTENTS = ("greet", "goodbye", "thanks", "affirm", "deny", "smalltalk")
PLEASANTRIES = ("greet", "goodbye", "thanks")
SURE_PLEASANTRY_AT = 0.9


@dataclass
class Outcome:
    replies: list[Reply]
    escalate: Escalate | None
    context: Context
    nlu: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)


class Pipeline:
    def __init__(self, nlu: Any, retriever: Any, regions: list[str],
                 offices: OfficeDirectory | None = None, lookups: Lookups | None = None,
                 appointments: AppointmentFlow | None = None,
                 guides: GuideChat | None = None) -> None:
        self.nlu = nlu
        self.lookups = lookups  # None: personal look-ups say they are unavailable
        self.retriever = retriever
        self.regions = regions
        self.offices = offices or EmbeddedOfficeDirectory()
        self.appointments = appointments  # None: the menu choice gets its service guide
        self.guides = guides  # None: the guides' menu choice gets its corpus entry

    # Turns -------------------------------------------------------------------------------------

    def respond(self, ctx: Context, text: str, requester: Requester | None = None) -> Outcome:
        word = word_of(text)
        if ctx.consent_for is not None and word != "withdraw":
            return self._consent_answer(ctx, text, requester)
        if word is not None:
            return self._consent_said(ctx, text, word)
        started = time.perf_counter()
        before = ctx
        lang, script = self._language(text, ctx)
        parse = self.nlu.parse(text)
        control = control_of(text)
        nlu_done = time.perf_counter()
        guide = self._guide_turn(text, control)
        if guide is not None:
            return self._guide_outcome(ctx, guide, lang, script, requester, parse, started)
        search = self._search(ctx, text, parse, control)
        retrieval_done = time.perf_counter()
        entities = {e.type: e.value for e in reversed(parse.entities)}
        region_in_text = self._region_in(text)
        named = entities.get("city") or entities.get("province") or region_in_text
        offices = self._offices(ctx, text, control, named, ctx.lang if ctx.lang_locked else lang)
        turn = Turn(
            text=text, lang=lang, script=script, intent=parse.intent,
            confidence=parse.confidence, is_oos=parse.is_oos, entities=entities, search=search,
            region_in_text=region_in_text, control=control, offices=offices,
        )
        flow = self._appointment_turn(ctx, text, control)
        if flow is not None and not flow.midway:
            actions: list[Action] = []
            new_ctx = _following(ctx, lang, script, ctx.appointment_form is None)
            new_ctx.lookup_form = None  # booking now: a look-up left half-way is not resumed
        else:
            if control is not None and flow is None:
                ctx = ctx.model_copy(update={"appointment_form": None})  # another menu choice
            actions, new_ctx = decide(ctx, turn, self.regions)
        who = requester or Requester(session="", ip="")
        replies = [self._render(a, new_ctx, parse, who) for a in actions
                   if not isinstance(a, Escalate)]
        escalate = next((a for a in actions if isinstance(a, Escalate)), None)
        if flow is not None and escalate is None:
            replies.append(self._appointment_reply(flow, new_ctx, parse))
        elif escalate is not None:
            new_ctx.appointment_form = None  # a person takes over; the form is not resumed
        new_ctx.form_at_handoff = self._form_at_handoff(before, new_ctx, escalate)
        new_ctx.gave_details = before.gave_details or gives_details(text, new_ctx)
        if _asks_consent(before, new_ctx, escalate):
            # A person is asked for midway through a form: first whether they may see its details.
            replies, escalate = [ask_reply(new_ctx.lang, output_script(new_ctx.lang, new_ctx.script))], None
            new_ctx = before.model_copy(update={"consent_for": text, "lang": new_ctx.lang,
                                                "script": new_ctx.script,
                                                "gave_details": new_ctx.gave_details})
        finished = time.perf_counter()
        nlu_meta = {
            "intent": parse.intent, "confidence": round(parse.confidence, 3),
            "lang": lang, "script": script,
            "entities": [{"type": e.type, "value": e.value} for e in parse.entities],
        }
        timings = {"nlu": nlu_done - started, "retrieval": retrieval_done - nlu_done,
                   "total": finished - started}
        return Outcome(replies, escalate, new_ctx, nlu_meta, timings)

    def _form_at_handoff(self, before: Context, after: Context, escalate: Escalate | None
                         ) -> FormSummary | None:
        """The form the visitor leaves for a person, for the agent: kept while the handoff is
        under way (the route's questions first, then the queue), dropped once the bot talks
        with them again."""
        if escalate is None and after.pending is None:
            return None
        office = self.appointments.office_name if self.appointments is not None else None
        left = summarise(before.appointment_form, before.lookup_form, before.lang,
                         office or (lambda office_id, lang: ""))
        return left or before.form_at_handoff

    # Consent to unmasked details (bot/consent.py) ------------------------------------------

    def _consent_answer(self, ctx: Context, text: str, requester: Requester | None) -> Outcome:
        """The answer to "may the agent see your details?": stored, then the request for a
        person it interrupted goes on; another message is taken as it comes (asked again on the
        next request for a person)."""
        agreed, request = answer_of(text), ctx.consent_for or text
        if agreed is None and grants(text):  # "可以给客服看我的资料": a yes in words of its own
            agreed = True
        if agreed is None:
            return self.respond(ctx.model_copy(update={"consent_for": None}), text, requester)
        consent = consent_after(ctx.agent_consent, "yes" if agreed else "no")
        ctx = ctx.model_copy(update={"consent_for": None, "agent_consent": consent})
        outcome = self.respond(ctx, request, requester)
        outcome.replies.insert(0, ack_reply(consent, *self._reply_language(text, ctx)))
        return outcome

    def _consent_said(self, ctx: Context, text: str, word: ConsentWord) -> Outcome:
        """Consent given or withdrawn unasked ("hide my details", "可以俾職員睇"): agents see
        the details as it now says; a question pending is dropped."""
        consent = consent_after(ctx.agent_consent, word)
        ctx = _following(ctx, *self._language(text, ctx), True)
        ctx = ctx.model_copy(update={"agent_consent": consent, "consent_for": None})
        return Outcome([ack_reply(consent, *self._reply_language(text, ctx))], None, ctx, {})

    def _reply_language(self, text: str, ctx: Context) -> tuple[str, Script]:
        """A short answer's reply follows the answer's own script ("可以" on the English
        widget, "得" in Cantonese), unless the visitor chose a language."""
        following = _following(ctx, *self._language(text, ctx), True)
        return following.lang, output_script(following.lang, following.script)

    # The service guides (bot/guide_chat.py) ---------------------------------------------------

    def _guide_turn(self, text: str, control: Control | None) -> GuideTurn | None:
        if self.guides is None or (control is not None and control.value != GUIDE_SERVICE):
            return None
        return self.guides.turn(text, control is not None)

    def _guide_outcome(self, ctx: Context, turn: GuideTurn, lang: str, script: str,
                       requester: Requester | None, parse: Any, started: float) -> Outcome:
        """The procedures to pick from, or a guide's checklist and its link; a form in progress
        is left as it is (its next answer continues it)."""
        assert self.guides is not None
        new_ctx = _following(ctx, lang, script, True)
        reply = self.guides.reply(turn, "en" if new_ctx.lang == "en" else "zh",
                                  output_script(new_ctx.lang, new_ctx.script),
                                  requester.session if requester else "")
        # The turn's reading on the reply too, as on the other forms' replies.
        reply = replace(reply, meta={"intent": parse.intent,
                                     "confidence": round(parse.confidence, 3), **reply.meta})
        nlu = {"intent": parse.intent, "confidence": round(parse.confidence, 3), "lang": lang,
               "script": script, "entities": []}
        return Outcome([reply], None, new_ctx, nlu, {"total": time.perf_counter() - started})

    # The appointment form (bot/appointment_flow.py) ------------------------------------------

    def _appointment_turn(self, ctx: Context, text: str, control: Control | None
                          ) -> FlowTurn | None:
        if self.appointments is None:
            return None
        menu = control is not None and control.value == APPOINTMENT_SERVICE
        if control is not None and not menu:
            return None
        elsewhere = asks_for_person(text) or sounds_like_complaint(text)
        if elsewhere and ctx.appointment_form is None:
            return None  # "the booking site keeps failing, I want to complain" books nothing
        if ctx.appointment_form is None and runs_errand(text):
            return None  # "帮我 book 一个 hotel room" is no appointment of ours
        return self.appointments.turn(ctx.appointment_form, text, menu, ctx.appointments,
                                      elsewhere)

    def _appointment_reply(self, flow: FlowTurn, ctx: Context, parse: Any) -> Reply:
        """The form's reply (after the answer to a question asked midway); the form's state
        and the bookings made here go into the context."""
        assert self.appointments is not None
        ctx.appointment_form = flow.step.form
        ctx.appointments = {**ctx.appointments, **flow.booked}
        meta = {"intent": parse.intent, "confidence": round(parse.confidence, 3)}
        return render_step(flow.step, self.appointments, ctx.lang,
                           output_script(ctx.lang, ctx.script), meta)

    # Stages ------------------------------------------------------------------------------------

    def _language(self, text: str, ctx: Context) -> tuple[str, str]:
        lang, script = self._message_language(text, ctx)
        if script == "zh-Hant" and ctx.script == "yue":
            # Traditional after Hong Kong characters (a Hong Kong or Macao page's visitor, a
            # Cantonese writer) is written standard Chinese from Hong Kong: its reader keeps
            # Hong Kong characters, not Taiwan's.
            return lang, "yue"
        return lang, script

    def _message_language(self, text: str, ctx: Context) -> tuple[str, str]:
        info = detect_language(text)
        if not re.search(r"[A-Za-z\u3400-\u9fff]", _CODES.sub("", text)):
            # Digits, emoji, punctuation, or only numbers such as "XA1234567" (a look-up form's
            # answer): keep the conversation's language.
            return ctx.lang, ctx.script
        if info.script in ("mixed", "yue") and grammar_is_english(text):
            # "Can I 用 PR card 买火车票 without my passport?", and with Cantonese inside: "How
            # long does the 居留許可 take to process? 我交咗材料一個禮拜喇".
            return "en", "en"
        if info.lang == "zh" and ctx.lang == "zh" and info.script != "yue" \
                and script_undecided(text):
            # "有效期呢？", "我有 PR card 呢？" after Traditional or Cantonese: written the same in
            # either script, so the conversation's script goes on.
            return "zh", ctx.script
        if info.script == "mixed":
            return "zh", "zh-Hant" if to_simplified(text) != text else "zh-Hans"
        if info.lang == "zh" == ctx.lang and ctx.script in ("zh-Hant", "yue") and (
                to_simplified(text) == text == to_script(text, "zh-Hant")):
            # Written the same in both scripts ("你好", the menu's "中文"): the Traditional
            # writer's script stays (detection alone would say Simplified).
            return "zh", ctx.script
        return info.lang, info.script

    def _search(self, ctx: Context, text: str, parse: Any, control: Control | None
                ) -> Search | None:
        found = self._search_turn(ctx, text, parse, control)
        if found is not None and found.follow_up and ctx.last_question is not None \
                and _FOLLOW_ON.search(_after_acknowledgement(text)):
            # "要是我弟弟想来这边工作呢？" after visa-free entry: which visa, for that purpose.
            return self._for_its_purpose(found, text, _on_topic(ctx.last_question, text), False)
        return found

    def _search_turn(self, ctx: Context, text: str, parse: Any, control: Control | None
                     ) -> Search | None:
        intent, confidence, is_oos = parse.intent, parse.confidence, parse.is_oos
        if control is not None and control.kind == "service":
            # A menu choice ("网上预约") is answered with its service guide.
            return self._search_one(SERVICE_QUERIES[control.value])
        best = self._not_the_office(self._search_one(text), text)
        best = self._for_its_purpose(best, text)
        if wants_past_visa_free(text):
            best = staying_on_first(replace(self._search_one(f"{text} {STAY_LONGER_QUERY}"),
                                            query=text))
        if not ctx.last_question or _handoff_with_cue(text, intent):
            return best
        if intent in PLEASANTRIES and confidence >= SURE_PLEASANTRY_AT:
            return best  # "好，多謝晒" after an answer is thanks, not a question on its topic
        ask = topic_ask(text) if ctx.last_entry is not None else None
        asked = self._topic_ask(ctx, text, best, ask) if ask is not None else None
        if asked is not None:
            return asked
        another = self._about_another(ctx.last_question, text, parse.entities)
        if another is not None:
            return another
        party = None if names_who(parse.entities) else self._about_party(ctx, text)
        if party is not None:
            return party
        listed = self._place_it_lists(ctx, text, parse.entities)
        if listed is not None:
            return listed
        # "do I need a return air ticket?" after a transit answer asks what the transit needs,
        # though NLU reads the ticket as an errand (bot/errands.py).
        needs = ctx.last_entry is not None and asks_if_errand_needed(text)
        explicit = FOLLOW_UP.search(_after_acknowledgement(text)) is not None or needs
        # "how much is that", "can we take a train to another province during those days?":
        # a message pointing back at the answer just shown is about it, long or short, whatever
        # NLU reads in its own few words (it names no matter of ours by itself).
        points_back = ctx.last_entry is not None and intent not in SMALL_INTENTS \
            and (points_at_it(text) or uses_it(text))
        # A longer one leans on the topic too when it names no paper or procedure of its own
        # ("What's the fine for the company if we do it anyway?", "如果公司沒幫他辦手續就讓他
        # 上班，公司會怎樣？"): the matter is the conversation's.
        # NLU sure it is out of scope, it leans only when it speaks of someone already spoken of
        # ("she", "他", the company): "is it going to rain in Beijing tomorrow?" names no matter
        # either, and is not the topic's.
        sure_elsewhere = intent == "out_of_scope" and confidence >= THRESHOLDS.oos_sure_at \
            and party_of(text) is None and not _SOMEONE_SPOKEN_OF.search(to_simplified(text).lower())
        leans_whole = _names_no_matter(text) and not sure_elsewhere
        if not explicit and not points_back and (
                intent in SMALL_INTENTS or not (_is_short(text) or leans_whole)):
            if is_oos or best.decision != "decline":
                return best
            # "since when?", "收唔收錢？", "sorry I meant Ireland not the UK": alone they say
            # too little to search; with the topic they are a question, if that finds an answer.
            joined = replace(self._search_one(_on_topic(ctx.last_question, text)), follow_up=True)
            return _fee_first(_rerank(joined, best), text) if joined.decision != "decline" else best
        # "And how much does it cost?" is about the conversation's topic; a question that
        # stands on its own is never rewritten.
        joined = replace(self._search_one(_on_topic(ctx.last_question, text)), follow_up=True)
        if best.decision == "answer" and best.confidence >= joined.confidence:
            # "那居住證呢？申請條件是什麼" names a new topic of its own; a paper the topic needs
            # ("do I need a medical check from a hospital?") may have an entry, still on the topic.
            # Either way it narrows the topic rather than replacing it: "每年要住多久？" after
            # permanent residence for a spouse, then "费用呢？", asks the residence's fee.
            if needs:
                return replace(best, follow_up=True)
            # Pointing back, or short enough to lean on the topic ("被查到的话怎么罚？" after
            # working on a student visa), it is read as the follow-up it is: not declined for
            # NLU's reading of its own few words, which the retriever answers with confidence.
            leans = points_back or _is_short(text)
            return replace(best, query=joined.query, follow_up=leans, narrows=leans)
        # NLU sure of "out of scope", for a message that points back at nothing ("where can I
        # get one?" does).
        sure_oos = intent == "out_of_scope" and confidence >= THRESHOLDS.oos_sure_at \
            and not refers_back(text)
        # An explicit follow-up ("and ...", "那...") long enough to name a matter of its own,
        # which the topic's words do not answer with confidence either, is no more about the
        # topic than one without it ("ok, and what's the weather in Beijing tomorrow?",
        # "那顺便帮我订一张高铁票？"); a short one leans on the topic ("what if we forget").
        names_its_own = explicit and not _is_short(text) and joined.decision != "answer"
        if not points_back and is_oos and (sure_oos and (not explicit or names_its_own)
                                           or not explicit and joined.decision == "decline"):
            # "今天天气怎么样" after an answer is not about its topic, nor is an errand NLU is sure
            # of ("what's the weather like tomorrow?"), whatever the topic's words find with it.
            return best
        if explicit or best.decision == "decline" or joined.confidence > best.confidence:
            ranked = _rerank(joined, best)
            if not points_back:
                # One pointing back ("can we visit Beijing during that time?" after cruise
                # groups' visa-free stay) is about the matter shown, whatever its words find alone.
                ranked = _not_again(ranked, best, ctx.last_entry)
            if _asks_anew(text):
                ranked = _next_fact(ranked, joined, best, ctx.last_entry)
            return _fee_first(ranked, text)
        return best

    def _for_its_purpose(self, found: Search, text: str, said: str | None = None,
                         which: bool = True) -> Search:
        """Visa-free entry first, for a message that names a purpose it does not cover (work,
        study, living with family: bot/topic_asks.py), asking which visa (``which``), or as a
        follow-up on visa-free entry ("如果我想来读书呢？"): the message (``said``: with its topic)
        is searched again with the corpus's words for that purpose's visa, and the first visa
        entry it finds leads."""
        words = purpose_query(text, which)
        if words is None or not found.hits or \
                self.retriever.entry(found.hits[0].entry_id).section != "visa-free":
            return found
        again = self._search_one(f"{said or text} {words}")
        visa = next((h for h in again.hits[:5] if self.retriever.entry(h.entry_id).section == "visas"),
                    None)
        # As sure of it as of the question itself: the added words are ours, not the visitor's.
        return replace(lead_with(found, visa), query=text) if visa is not None else found

    def _about_another(self, topic: str, text: str, entities: Sequence[Entity]) -> Search | None:
        """The topic's question asked of another nationality or home region ("what about my
        husband? he's American", "那台湾人呢？"; bot/follow_values.py): the topic with that value
        replaced is searched, and becomes the topic later follow-ups lean on. A follow-up that
        asks something new about them ("how long can Americans stay?") is searched as usual."""
        if not _is_short(text) or _asks_anew(text):
            return None
        swapped = about_another(topic, self.nlu.parse(topic).entities, entities)
        if swapped is None:
            return None
        found = self._search_one(swapped)
        return replace(found, follow_up=True, narrows=True) if found.hits else None

    def _about_party(self, ctx: Context, text: str) -> Search | None:
        """The topic's question asked of another party ("what about my kids?", "and for the
        company?", "咁我屋企人呢？"; bot/follow_values.py): the answer just shown was about the
        visitor, and the joined search finds it again. It stays when it speaks of that party
        itself (the PR card's validity for those under 18); else the first entry of its section
        that does, among those it links to (its topic's other facts), leads (dependants' permits
        after a renewal, the employer's fine after the worker's). The joined search's other
        entries are not read: one naming children there is as often another matter (a child's
        overstay after a visa extension). None: no such entry, or the follow-up asks something
        new or names no party."""
        shown = ctx.last_entry
        # Its first clause names the party; what follows may say who they are ("they're on
        # family permits", "佢16歲").
        said = re.split(r"[?？,，。]", text.strip())[0]
        if shown is None or ctx.last_question is None or not _is_short(said) \
                or _asks_anew(text) or not _only_names(text):
            return None
        party = party_of(text)
        if party is None:
            return None
        joined = replace(self._search_one(_on_topic(ctx.last_question, text)), follow_up=True)
        if not joined.hits:
            return None
        entry = self.retriever.entry(shown)
        if speaks_of(party, f"{entry.title.zh}\n{entry.answer.zh.short}"):
            # Its short answer already says it for them ("未满18周岁的为5年").
            return lead_with(joined, self._as_hits([shown])[0])
        # One about that party by its title (the employer's fine) before one that mentions them
        # in its text (dependants' permits inside a permit's validity).
        same = [h for h in self._related([shown])
                if self.retriever.entry(h.entry_id).section == entry.section]
        fits = next((h for h in same if speaks_of(party, h.title["zh"])), None) or next(
            (h for h in same if speaks_of(party, self._entry_text(h.entry_id))), None)
        return lead_with(joined, fits) if fits is not None else None

    def _place_it_lists(self, ctx: Context, text: str, entities: Sequence[Entity]) -> Search | None:
        """The same question asked of another place ("what if my layover is in Tianjin?" after
        the airports of the 24-hour transit without inspection) that the answer just shown names
        (its list of airports or ports): that answer leads again, whatever entry the topic's
        words with the place's find first. Not a follow-up that asks something new of it."""
        # "what if" puts the same question again, as "what about" does.
        if ctx.last_entry is None or not _is_short(text) \
                or _asks_anew(re.sub(r"^(?:and )?what if\b", "", text.strip(), flags=re.I)):
            return None
        places = [e.value for e in entities if e.type in ("city", "province")]
        if not places or not all(p in self._entry_text(ctx.last_entry) for p in places):
            return None
        assert ctx.last_question is not None
        joined = replace(self._search_one(_on_topic(ctx.last_question, text)), follow_up=True)
        return lead_with(joined, self._as_hits([ctx.last_entry])[0]) if joined.hits else None

    def _entry_text(self, entry_id: str) -> str:
        entry = self.retriever.entry(entry_id)
        return f"{entry.title.zh}\n{entry.answer.zh.short}\n{entry.answer.zh.details}"

    def _topic_ask(self, ctx: Context, text: str, alone: Search, ask: Ask) -> Search | None:
        """A longer stay, the processing time, or the office's hours or phone, asked of the
        topic just answered (bot/topic_asks.py): searched with the topic, whatever the words
        alone match or NLU reads ("what are its opening hours?" is no out-of-scope question)."""
        assert ctx.last_question is not None
        topic = _on_topic(ctx.last_question, text)
        if ask == "stay_longer":
            said = f"{topic} {STAY_LONGER_QUERY}"[-TOPIC_CHARS:]
            longer = replace(self._search_one(said), query=said, follow_up=True, narrows=True)
            return past_the_limit(longer, ctx.last_entry)
        joined = replace(self._search_one(topic), follow_up=True)
        if ask == "time" and asks_within(text):
            # "幾多日內要搞掂？" after registering a guest at home: the limit the entry shown
            # states (24 hours), not a processing time the topic's words find.
            limit = self._stated_by(joined, self._as_hits([ctx.last_entry] if ctx.last_entry
                                                          else []), states_a_deadline)
            if limit is not None:
                return limit
        if ask == "time":
            # The topic's entry as the joined search reads it, then the one just shown: an answer
            # beside the point ("fee多少？" answered with permanent residence's fees after a visa
            # about to expire) must not lead the next follow-up astray.
            anchors = [h.entry_id for h in joined.hits[:1]] + [ctx.last_entry]
            linked = self._related(anchors)
            shown = self._as_hits([ctx.last_entry] if ctx.last_entry is not None else [])
            stating = tuple(h for h in (*shown, *linked) if self._states_its_time(h.entry_id))
            timed = processing_first(joined, linked, stating)
            if timed is not None:
                return timed
            # No processing time of its own: "幾多日內要搞掂？" after registering a guest at home
            # asks its time limit (24 hours), which that entry or one it links to states, not
            # another procedure's that the words alone find (a study permit's 30 days).
            return self._stated_by(joined, (*shown, *linked), states_a_deadline)
        if ask == "penalty":
            return self._its_penalty(joined, ctx.last_entry)
        if ask in ("where", "when"):
            return self._where(ctx.last_entry, topic, WHERE_QUERY if ask == "where" else WHEN_QUERY)
        if ask == "fee":
            return self._linked_fee(ctx.last_entry, joined)
        if ctx.last_entry is not None and self._is_office(ctx.last_entry):
            return the_office_again(joined, ctx.last_entry)
        # "is there a number I can ring for help?" after a lost passport: the number its own
        # words find (the topic's 12367 entry), read as the follow-up it is, not out of scope.
        return replace(alone, follow_up=True) if alone.hits else joined

    def _its_penalty(self, joined: Search, shown: str | None) -> Search | None:
        """"罰幾多？" after working on a tourist visa: the fine for that matter, not the overstay
        fine the words alone find first. The entry shown when it is a penalty entry (by its
        title: "max fine?" narrows it); else one it links to that is, or that states a fine (not
        registering a guest links what follows from it); else one linked from those that is a
        penalty entry (work on a tourist visa links the definition of illegal employment, which
        links the worker's fine and then the employer's); else the entry shown, if it states a
        fine. A second link is followed only to a penalty entry: the offence's definition
        stands between the matter and its fines."""
        if shown is None:
            return None
        itself = self._as_hits([shown])
        near = self._related([shown])
        further = self._related([h.entry_id for h in near])
        penalty = next((h for h in (*itself, *near) if is_penalty(h)), None) \
            or next((h for h in near if self._states(h, states_a_fine)), None) \
            or next((h for h in further if is_penalty(h)), None) \
            or next((h for h in itself if self._states(h, states_a_fine)), None)
        return lead_with(joined, penalty) if penalty is not None else None

    def _states(self, hit: Hit, states: Callable[[str], bool]) -> bool:
        answer = self.retriever.entry(hit.entry_id).answer.zh
        return states(f"{answer.short}\n{answer.details}")

    def _stated_by(self, joined: Search, hits: tuple[Hit, ...], states: Callable[[str], bool]
                   ) -> Search | None:
        """The first of the topic's entries (``hits``: the one shown, then those it links to)
        whose text ``states`` the particular asked, leading the topic's search. None: none
        does, and the usual search decides."""
        stating = next((h for h in hits if self._states(h, states)), None)
        return lead_with(joined, stating) if stating is not None else None

    def _where(self, shown: str | None, topic: str, words: str) -> Search | None:
        """Where or when to apply, after a fee or a processing time ("where do I go for that?"
        after a permit's fees): that entry answers only its particular, so the topic's entry on
        applying (searched with the corpus's ``words`` for the ask), in the same section, leads.
        After any other entry the usual search decides (None)."""
        if shown is None or not answers_a_particular(self._as_hits([shown])[0]):
            return None
        said = f"{topic} {words}"[-TOPIC_CHARS:]
        searched = replace(self._search_one(said), query=topic, follow_up=True)
        section = self.retriever.entry(shown).section
        same = [self.retriever.entry(h.entry_id).section == section for h in searched.hits]
        return where_first(searched, shown, same)

    def _linked_fee(self, shown: str | None, joined: Search) -> Search | None:
        """What it costs, after an entry that links to its fee entry ("fee多少？" after a visa
        extension): that fee entry leads; after one that states its own fee, that one again.
        Else the usual search decides (None)."""
        if shown is None:
            return None
        entry = self.retriever.entry(shown)
        section_has_fee = any(is_fee(h) and self.retriever.entry(h.entry_id).section == entry.section
                              for h in joined.hits[:5])
        fee = linked_fee(self._as_hits([shown])[0], self._related([shown]),
                         states_its_fee(entry.answer.zh.details), section_has_fee)
        return lead_with(joined, fee) if fee is not None else None

    def _states_its_time(self, entry_id: str) -> bool:
        return states_its_time(self.retriever.entry(entry_id).answer.zh.details)

    def _not_the_office(self, search: Search, text: str) -> Search:
        """An office's entry answers where an office is, its hours or phone. A question that
        only names the city ("do I need a visa for a two-week trip to Chengdu?", "能在成都办延期
        吗") matches it by the city's name: the first entry of another section leads."""
        hits = search.hits
        if not hits or mentions_an_office(text) or not self._is_office(hits[0].entry_id):
            return search
        other = next((h for h in hits[1:3] if not self._is_office(h.entry_id)), None)
        return lead_with(search, other) if other is not None else search

    def _is_office(self, entry_id: str) -> bool:
        return self.retriever.entry(entry_id).section == "offices"

    def _related(self, entry_ids: list[str | None]) -> tuple[Hit, ...]:
        """The entries these link to as related (their topics' other facts), in order. One link
        only: two already reach other procedures' entries (a residence permit's fees link a visa
        extension's, whose processing time is not the permit's)."""
        return self._as_hits([r for i in entry_ids if i is not None
                                   for r in self.retriever.entry(i).related])

    def _as_hits(self, entry_ids: list[str]) -> tuple[Hit, ...]:
        """These entries as hits (titles only), once each, in order."""
        entries = (self.retriever.entry(i) for i in dict.fromkeys(entry_ids))
        return tuple(Hit(e.id, {"zh": e.title.zh, "en": e.title.en}) for e in entries)

    def _offices(self, ctx: Context, text: str, control: Control | None, named: str | None,
                 lang: str) -> OfficeAnswer | None:
        """The office directory's answer for the place in play, when the office form is open or
        this message opens it: the place named now, else the form's (the city whose offices are
        being picked from), the whole reply to "which city?", or the one the visitor gave before."""
        form = ctx.office_form
        opens = (control is not None and control.value == OFFICE_SERVICE) or (
            control is None and asks_for_offices(text))
        if form is None and not opens:
            return None
        if named:
            place: str | None = named
        elif form is not None and not opens:
            place = form.place if form.step == "pick" else text.strip()
        else:
            place = ctx.region
        if not place:
            return None
        return self.offices.find(place, "en" if lang == "en" else "zh")

    def _search_one(self, query: str) -> Search:
        # Ten entries: a follow-up is ranked over both its own and its topic's candidates. The
        # corpus is standard Chinese; the conversation keeps what the visitor wrote.
        result = self.retriever.search(to_standard(query), k=10)
        hits = tuple(Hit(h.entry_id, dict(h.title), h.score) for h in result.hits)
        return Search(result.decision if hits else "decline", float(result.confidence), hits, query,
                      float(result.in_scope))

    def _region_in(self, text: str) -> str | None:
        """A picker answer or a province named in the text ("我在广东" → 广东省)."""
        simplified = to_simplified(text)
        for region in self.regions:
            if region in simplified or short_region(region) in simplified:
                return region
        return None

    # Rendering ---------------------------------------------------------------------------------

    def _render(self, action: Say | AnswerEntry | ShowOffices | LookupAction, ctx: Context,
                parse: Any, requester: Requester) -> Reply:
        meta = {"intent": parse.intent, "confidence": round(parse.confidence, 3)}
        if isinstance(action, LookUp):
            if self.lookups is None:
                return render_say_reply(Say("failure", "failure"), ctx, meta)
            return render_lookup(self.lookups.run(action, requester), self.lookups, ctx.lang,
                                 output_script(ctx.lang, ctx.script), meta)
        if isinstance(action, RENDERED):
            return render_lookup(action, self.lookups, ctx.lang,
                                 output_script(ctx.lang, ctx.script), meta)
        if isinstance(action, ShowOffices):
            return render_offices(action, ctx.lang, output_script(ctx.lang, ctx.script), meta)
        if isinstance(action, AnswerEntry):
            return self._render_answer(action, ctx, output_script(ctx.lang, ctx.script), meta)
        return render_say_reply(action, ctx, meta)

    def _render_answer(self, action: AnswerEntry, ctx: Context, script: Script,
                       meta: dict) -> Reply:
        answer = self.retriever.answer(action.entry_id, lang=ctx.lang, script=script)
        titles = [to_script(hit.title[ctx.lang], script) for hit in action.alternatives]
        titles += [r["title"] for r in answer.related if r["title"] not in titles]
        related = [{"label": t, "value": t} for t in titles[:3]]
        human = label("human", ctx.lang)
        quick = related + [{"label": to_script(human, script), "value": to_script(human, script)}]
        as_of = str(answer.as_of) if answer.as_of else None
        book = self.guides.book if self.guides else None
        guide = book.for_entry(action.entry_id) if book else None
        if book and guide:  # the procedure's checklist, to download
            quick.insert(0, download_button(book, guide, "en" if ctx.lang == "en" else "zh", script))
        return Reply(
            sender="bot", text=answer.text, lang=ctx.lang, script=script,
            # The same answer in parts, for clients that show the short answer first and the
            # details collapsed (docs/protocol.md); `text` stays the whole answer as plain text.
            title=answer.title, short=answer.short, details=answer.details,
            sources=list(answer.sources), quick_replies=quick,
            meta={**meta, "kind": "answer", "entry": action.entry_id,
                  "retrieval_confidence": round(action.confidence, 3), "as_of": as_of,
                  **({"guide": guide} if guide else {})},
        )


def _asks_consent(before: Context, after: Context, escalate: Escalate | None) -> bool:
    """A request for a person (its handoff, or the route's first question) that leaves a booking
    or a look-up, or follows identity details given earlier in the chat (a finished look-up, a
    number typed), before the visitor has said whether agents may see them."""
    handing_over = escalate is not None or (after.pending is not None and before.pending is None)
    in_form = before.appointment_form is not None or before.lookup_form is not None
    return handing_over and (in_form or after.gave_details) and before.agent_consent is None


def greet(ctx: Context) -> list[Reply]:
    return [render_say_reply(greeting(ctx), ctx, {})]


def feedback(ctx: Context, value: str) -> Outcome:
    actions, new_ctx = on_feedback(ctx, value)
    return Outcome([render_say_reply(a, new_ctx, {}) for a in actions], None, new_ctx, {})


def say(ctx: Context, key: str, kind: str = "notice") -> Reply:
    return render_say_reply(Say(key, kind), ctx, {})


def render_say_reply(action: Say, ctx: Context, meta: dict) -> Reply:
    script = output_script(ctx.lang, ctx.script)
    quick = [{"label": to_script(q["label"], script), "value": to_script(q["value"], script)}
             for q in action.quick_replies]
    return Reply(
        sender="bot", text=to_script(render_say(action, ctx.lang), script), lang=ctx.lang,
        script=script, sources=[], quick_replies=quick,
        meta={**meta, "kind": action.kind, **action.meta},
    )


def _following(ctx: Context, lang: str, script: str, opening: bool) -> Context:
    """The context for a form turn: the reply follows the message's language when it opens
    the form; a name or passport number typed later does not switch it."""
    new = ctx.model_copy(deep=True)
    if opening and not ctx.lang_locked:
        new.lang, new.script = lang, script
    return new


# A topic that follow-ups keep narrowing is kept to its latest characters: enough for a few
# questions, never the whole chat.
TOPIC_CHARS = 240


def _on_topic(topic: str, text: str) -> str:
    """A follow-up searched with the conversation's topic."""
    return f"{topic} {text}"[-TOPIC_CHARS:]


def _rerank(joined: Search, alone: Search) -> Search:
    """A follow-up's entry should fit both the topic and what the follow-up asks: "how long
    does it take?" after a visa extension is the processing time, not the extension again.
    Entries are ordered by their share in the joined search plus their share in the
    follow-up's own."""
    own = {h.entry_id: h.score for h in alone.hits}
    ranked = sorted(joined.hits, key=lambda h: -(h.score + own.get(h.entry_id, 0.0)))
    hits = tuple(replace(h, score=h.score + own.get(h.entry_id, 0.0)) for h in ranked)
    return replace(joined, hits=hits[:5])


def _not_again(ranked: Search, alone: Search, shown: str | None) -> Search:
    """The answer just shown is rarely what a follow-up asks for ("那居住證呢？" after the
    Taiwan permit, "and if I stay 2 months?" after visa-free entry): when the follow-up's own
    search, sure of itself, puts another entry first, that entry leads."""
    if not ranked.hits or ranked.hits[0].entry_id != shown or alone.decision != "answer":
        return ranked
    own = alone.hits[0].entry_id if alone.hits else shown
    if own == shown:
        return ranked
    first = next((h for h in ranked.hits if h.entry_id == own), alone.hits[0])
    # It narrows the topic: later follow-ups ("辦好要多久", "费用呢？") lean on the topic and this
    # question together (the joined query), not on this question alone, which names no matter.
    return replace(ranked, hits=(first, *(h for h in ranked.hits if h.entry_id != own)),
                   follow_up=False)


# A follow-up's next fact is an entry that both its searches find: with its topic (at least this
# share) and alone (at least this). Below the second, the follow-up alone does not ask for it.
TOPIC_FITS_AT = 0.01
OWN_FITS_AT = 0.1


def _next_fact(ranked: Search, joined: Search, alone: Search, shown: str | None) -> Search:
    """A follow-up rarely asks for the answer just shown again ("审批要等多久？" after the route to
    permanent residence, "从什么时候开始的？" after the K visa's conditions): the topic's words in
    the joined query pull that entry up. When the follow-up alone does not ask for it and another
    entry fits both the topic and the follow-up, the best fitting one leads, and the one shown
    is offered under it."""
    own = {h.entry_id: h.score for h in alone.hits}
    if not ranked.hits or ranked.hits[0].entry_id != shown or own.get(shown, 0.0) >= OWN_FITS_AT:
        return ranked
    topic = {h.entry_id: h.score for h in joined.hits}
    fitting = [h for h in ranked.hits[1:] if topic.get(h.entry_id, 0.0) >= TOPIC_FITS_AT
               and own.get(h.entry_id, 0.0) >= OWN_FITS_AT]
    if not fitting:
        return ranked
    fits = max(fitting, key=lambda h: topic[h.entry_id] * own[h.entry_id])
    # It leads with the leader's share, as _fee_first's fee entry does (no tie read as vague).
    first = replace(fits, score=ranked.hits[0].score)
    return replace(ranked, hits=(first, *(h for h in ranked.hits if h is not fits)))


# A question word: the follow-up asks something new about the topic ("how long does it take?",
# "从什么时候开始的？", "幾時開始？"). "What about" / "how about" only name another value.
_QUESTION_WORD = re.compile(
    r"\b(?!what about|how about)(?:how|what|when|where|which|who|why)\b"
    r"|多久|多长|多長|多少|几|幾|什么|什麼|甚麼|咩|乜|怎|点样|點樣|哪|边度|邊度|何时|何時|时候|時候",
    re.IGNORECASE | re.ASCII,
)


def _asks_anew(text: str) -> bool:
    """A follow-up that asks a new question wants the topic's next fact; one that only names
    another value ("and for HK residents?", "那香港人呢？", "報完警之後呢？") asks the same question
    again about it, which the answer just shown may well answer."""
    return _QUESTION_WORD.search(text) is not None


# A follow-up that goes on from the answer with a wish or another value ("要是我弟弟想来工作呢？",
# "如果我想来读书呢？", "what if she wants to study?").
_FOLLOW_ON = re.compile(r"^(?:and|what if|what about|how about|but|then)\b|^(?:如果|要是|假如|那|咁|噉)|呢[？?]?$",
                        re.IGNORECASE | re.ASCII)

# Names a value and asks nothing more: "what about ...", "and for ...", "...呢？" (anywhere: "我個仔嘅
# card呢？佢16歲" names the son, then says his age).
# "X又點？", "X又怎样？" is "what about X?" (in Cantonese and Mandarin alike), like "X呢？".
_NAMES_ONLY = re.compile(r"^(?:and|what about|how about|same for)\b|呢[？?]|^(?:那|咁|噉)"
                         r"|又(?:点|點|如何|怎样|怎樣|怎么样|怎麼樣)[？?]?$", re.IGNORECASE | re.ASCII)


def _only_names(text: str) -> bool:
    return _NAMES_ONLY.search(_after_acknowledgement(text)) is not None


def _handoff_with_cue(text: str, intent: str) -> bool:
    """A request for a person or a complaint in so many words is not a follow-up; one read as
    such without its cue words ("and the phone number?", "what if I can't manage that?") may
    be, and is searched with its topic like any other (dialogue._misread_as_handoff)."""
    if intent == "request_human":
        return asks_for_person(text)
    return intent == "complaint" and sounds_like_complaint(text)


def _fee_first(ranked: Search, text: str) -> Search:
    """A follow-up that asks what it costs ("费用呢？", "收唔收錢？" after permanent residence or
    the arrival card) wants its topic's fee entry, which the joined search finds among the
    topic's other entries but does not always put first."""
    if not ranked.hits or not _ASKS_FEE.search(to_simplified(text)):
        return ranked
    fee = next((h for h in ranked.hits if _FEE_TITLE.search(h.title.get("en", "") + h.title.get("zh", ""))),
               None)
    if fee is None or fee is ranked.hits[0]:
        return ranked
    # It leads with the leader's share: a first entry whose runner-up outscores it reads as a tie
    # and would be asked back ("Which of these do you mean?") instead of answered.
    first = replace(fee, score=ranked.hits[0].score)
    return replace(ranked, hits=(first, *(h for h in ranked.hits if h is not fee)))


def short_region(name: str) -> str:
    """广西壮族自治区 → 广西, 上海市 → 上海: how people name a province in a sentence."""
    return REGION_SUFFIX.sub("", name) or name


# The papers and procedures a question is about, by their common names. A question naming none
# ("how many days before expiry do I have to apply?", "要提前几天申请？") leaves its matter to the
# conversation, however long it is.
_MATTER = re.compile(
    r"visa|permit|passport|\bcards?\b|transit|registration|register|residen|\bpr\b|extension|"
    r"overstay|entry|exit|border|\bports?\b|签证|签注|居留|护照|证|卡|过境|免签|登记|永居|延期|入境|出境|"
    r"口岸|逾期|超期|超咗期|停留",
    re.IGNORECASE | re.ASCII)


# Asking us to find, book or recommend something ("can you also book me a flat viewing?", "附近有
# 冇好嘅點心舖介紹？"): a new errand, not the topic's next question.
_FIND_ME = re.compile(
    r"\b(?:book|reserve|order|recommend|suggest|find)\b[^?？]{0,12}\bme\b|\brecommend|"
    r"介绍|推荐|帮我(?:订|买|找|book)|帮我哋(?:订|买|找)",
    re.IGNORECASE | re.ASCII)


# A person already spoken of, by a pronoun ("she's flying on to Seoul", "让他上班").
_SOMEONE_SPOKEN_OF = re.compile(r"\b(?:she|he|her|him|his|they|them|their)\b|他|她|佢", re.ASCII)


def _names_no_matter(text: str) -> bool:
    """A question that names no paper or procedure of ours and asks us to find nothing."""
    plain = to_simplified(text)
    return _MATTER.search(plain) is None and _FIND_ME.search(plain) is None


def _is_short(text: str) -> bool:
    """Short enough to lean on the previous question ("is my old one still ok?", "费用呢")."""
    if re.search(r"[A-Za-z]{3}", text):
        return len(text.split()) <= 7
    return len(text) <= 14
