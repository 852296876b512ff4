"""The bot's dialogue policy, as a pure function: (context, turn) → (actions, new context).

No I/O here: the pipeline hands in what NLU and the retriever found, and turns the returned
actions into replies. Intents are dispatched through a registry, not an if-chain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, field_validator

from bot.answer_policy import THRESHOLDS, Evidence, alternatives, choose, code_mixed
from bot.appointment_form import AppointmentForm
from bot.controls import Control
from bot.errands import loses_a_passport, names_our_matter, runs_errand, speaks_of_our_matter
from bot.foreign_visa import asks_foreign_residence, asks_foreign_visa
from bot.form_summary import FormSummary
from bot.handoff_cues import (
    addresses_us,
    asks_for_person,
    files_complaint_about_us,
    names_a_person,
    sounds_like_complaint,
)
from bot.lookup_form import LookupAction, LookupForm, lookup_step
from bot.office_form import SERVICE as OFFICE_SERVICE
from bot.office_form import OfficeForm, ShowOffices, asks_for_offices, cancels, only_a_place, picked
from bot.texts import BUSINESS_OPTIONS, ONLINE_SERVICES, label, text
from handoff.disclosure import Consent, consent_of
from runtime.language import output_script
from services.directory import OfficeAnswer

NEEDS_REGION = ("port_clearance", "entry_exit_documents")
OUTSIDE_MAINLAND = ("香港", "澳门", "台湾")
NLU_SURE = 0.8  # NLU confidence above which its in-scope reading outweighs a retrieval decline


class Pending(BaseModel):
    kind: Literal["ask_region", "ask_option"]
    reason: str


class Context(BaseModel):
    """What the bot remembers of a conversation; stored as JSON with the session."""

    lang: str = "zh"
    script: str = "zh-Hans"
    lang_locked: bool = False
    last_question: str | None = None
    last_entry: str | None = None
    low_confidence: int = 0
    thumbs_down: bool = False
    business_option: str | None = None
    region: str | None = None
    overseas: bool = False
    pending: Pending | None = None
    office_form: OfficeForm | None = None
    lookup_form: LookupForm | None = None
    appointment_form: AppointmentForm | None = None  # bot/appointment_flow.py
    # The form left for a person, masked, for the agent (bot/form_summary.py).
    form_at_handoff: FormSummary | None = None
    # Whether agents may see the visitor's details unmasked (handoff/disclosure.py: granted,
    # refused, withdrawn; bot/consent.py), and the request for a person waiting for that answer.
    agent_consent: Consent | None = None
    consent_for: str | None = None
    # Whether the visitor gave identity details anywhere in this chat (a form's fields, a number
    # or date typed): a request for a person then asks for consent first, in a form or not.
    gave_details: bool = False
    # Bookings made in this chat (reference → passport number), so cancelling one here needs
    # no identity check again; purged with the context (storage/retention.py).
    appointments: dict[str, str] = {}

    @field_validator("agent_consent", mode="before")
    @classmethod
    def _consent(cls, value: object) -> Consent | None:
        return consent_of(value)  # a context stored as yes / no before there were states


@dataclass(frozen=True)
class Hit:
    entry_id: str
    title: dict[str, str]
    score: float = 0.0  # the entry's share of the fusion model's ranking


@dataclass(frozen=True)
class Search:
    """What the retriever said about this turn (the better of standalone and in-context search)."""

    decision: Literal["answer", "clarify", "decline"]
    confidence: float
    hits: tuple[Hit, ...]
    query: str
    in_scope: float = 1.0
    follow_up: bool = False  # query is the conversation's topic joined with a follow-up
    # The follow-up narrows its topic ("and if I want to stay 3 months?" after visa-free entry):
    # the next follow-up ("where do I apply for that?") leans on the query, topic and all.
    narrows: bool = False


@dataclass(frozen=True)
class Turn:
    text: str
    lang: str  # zh | en
    script: str  # zh-Hans | zh-Hant | yue | en
    intent: str
    confidence: float
    is_oos: bool
    entities: dict[str, str]
    search: Search | None
    region_in_text: str | None = None  # a region name found in the text (picker answers)
    control: Control | None = None  # the message is a language, option or menu choice
    offices: OfficeAnswer | None = None  # the office directory's answer for the place in play


@dataclass(frozen=True)
class Say:
    key: str
    kind: str
    quick_replies: tuple[dict, ...] = ()
    values: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AnswerEntry:
    entry_id: str
    confidence: float
    alternatives: tuple[Hit, ...] = ()  # close runner-ups, offered as buttons under the answer


@dataclass(frozen=True)
class Escalate:
    reason: str
    business_option: str | None
    region: str | None
    overseas: bool
    summary: str


Action = Say | AnswerEntry | Escalate | ShowOffices | LookupAction


def greeting(ctx: Context) -> Say:
    return Say("greeting", "greeting", tuple(menu(ctx.lang)))


def menu(lang: str) -> list[dict]:
    choices = [{"label": "中文", "value": "中文"}, {"label": "English", "value": "English"}]
    choices += [_choice(names[lang]) for names in BUSINESS_OPTIONS.values()]
    choices += [_choice(names[lang]) for names in ONLINE_SERVICES.values()]
    return choices


def _choice(value: str) -> dict:
    return {"label": value, "value": value}


def _human(lang: str) -> dict:
    return _choice(label("human", lang))


def decide(ctx: Context, turn: Turn, regions: list[str]) -> tuple[list[Action], Context]:
    ctx = ctx.model_copy(deep=True)
    _follow_language(ctx, turn)
    _note_place(ctx, turn)
    looked = _lookup_form(ctx, turn)
    if looked is not None:
        return looked, ctx
    if ctx.office_form is not None or _asks_for_offices(turn):
        actions = _office_form(ctx, turn)
        if actions is not None:
            return actions, ctx
    if ctx.pending is not None:
        actions = _resolve_pending(ctx, turn, regions)
        if actions is not None:
            return actions, ctx
    return _handler(ctx, turn)(ctx, turn, regions), ctx


def _handler(ctx: Context, turn: Turn) -> Callable[[Context, Turn, list[str]], list[Action]]:
    """Controls by what the message is; everything else by its intent. An intent the
    classifier gave to a question that only mentions a language, an option or a service
    ("is the form in Korean?") is answered as the question it is."""
    if turn.control is not None:
        return CONTROL_HANDLERS[turn.control.kind]
    if turn.intent not in ("complaint", "request_human") \
            and (addresses_us(turn.text) or not _errand(ctx, turn)):
        # A complaint in so many words about us ("this chatbot is useless, I want to file a 投诉",
        # "我要投訴某口岸的邊檢人員刁難"), or a request for a person in displeasure ("pending for 5
        # weeks … I need someone to look into this"), read as out of scope or as an option or
        # service: the handoff path, whatever the intent.
        if files_complaint_about_us(turn.text):
            return _complaint
        if asks_for_person(turn.text) and sounds_like_complaint(turn.text):
            return _request_human
    if turn.intent in CONTROL_INTENTS or _misread_as_handoff(turn):
        return _retrieve
    if _errand(ctx, turn) and not (asks_for_person(turn.text) or (
            sounds_like_complaint(turn.text) and addresses_us(turn.text))):
        return _retrieve  # "酒店可唔可以退返啲房錢俾我？" is declined, whatever intent it was given
    if asks_for_person(turn.text) and (sounds_like_complaint(turn.text) or turn.intent in SMALL_TALK):
        # "this is useless, get me someone who can look at my file"; "講極都唔明，有冇人喺度㗎？"
        # read as a greeting: its cue words ask for a person.
        return _request_human
    return INTENT_HANDLERS.get(turn.intent, _retrieve)


def _errand(ctx: Context, turn: Turn) -> bool:
    """An everyday errand to decline (bot/errands.py). After an immigration answer, asking
    whether the errand's paper is needed ("do I need a return air ticket?") is a follow-up."""
    return runs_errand(turn.text, after_answer=ctx.last_entry is not None)


# Intents of small talk: a message NLU gives one of them is no question to search.
SMALL_TALK = frozenset({"greet", "goodbye", "thanks", "affirm", "deny", "smalltalk"})

# Below this the classifier's "request for a person" of a message that names nobody is a guess:
# such a message is searched (and asked back when nothing fits) instead of queued.
UNSURE_REQUEST_BELOW = 0.5


def _misread_as_handoff(turn: Turn) -> bool:
    """A request or complaint without its cue words, for a message the retriever can answer:
    a question about the service ("When did the 12367 hotline start?") is answered."""
    if turn.intent == "request_human":
        if not names_a_person(turn.text) and turn.confidence < UNSURE_REQUEST_BELOW:
            return turn.search is not None  # "我想續簽，要去邊度辦？": "I want" is not "a person"
        cue = asks_for_person(turn.text)
    elif turn.intent == "complaint" or (turn.intent == "option_comments_suggestions"
                                        and turn.confidence < UNSURE_REQUEST_BELOW):
        # "如果我想stay 3个月呢？" read, unsure, as a suggestion to make: no cue, a question.
        cue = sounds_like_complaint(turn.text)
    else:
        return False
    return not cue and turn.search is not None and choose(_evidence(turn)) == "answer"


def _follow_language(ctx: Context, turn: Turn) -> None:
    if not ctx.lang_locked:
        ctx.lang, ctx.script = turn.lang, turn.script


def _note_place(ctx: Context, turn: Turn) -> None:
    place = turn.entities.get("city") or turn.entities.get("province") or turn.region_in_text
    if place:
        ctx.region = place
        ctx.overseas = any(name in place for name in OUTSIDE_MAINLAND)


# Pending questions (region picker, business-option picker) ------------------------------------

def _resolve_pending(ctx: Context, turn: Turn, regions: list[str]) -> list[Action] | None:
    pending = ctx.pending
    assert pending is not None
    if pending.kind == "ask_option":
        option = _option_of(turn)
        if option is None:
            ctx.pending = None
            return None
        ctx.business_option = option
        ctx.pending = None
        return _escalate(ctx, turn, pending.reason, regions)
    outside = turn.text.strip() in (label("outside", "zh"), label("outside", "en"))
    if outside:
        ctx.overseas = True
    if outside or ctx.region:
        ctx.pending = None
        return _escalate(ctx, turn, pending.reason, regions)
    if turn.intent in ("immigration_question", "out_of_scope") and turn.search \
            and turn.search.decision == "answer":
        ctx.pending = None  # the visitor moved on to a question: answer it
        return None
    return [Say("region_unknown", "ask_region", tuple(_region_picker(ctx.lang, regions)))]


def _option_of(turn: Turn) -> str | None:
    if turn.control is not None and turn.control.kind == "option":
        return turn.control.value
    return "comments_suggestions" if turn.intent == "option_comments_suggestions" else None


def _region_picker(lang: str, regions: list[str]) -> list[dict]:
    return [_choice(label("outside", lang))] + [_choice(r) for r in regions]


# The office-directory form (bot/office_form.py) -------------------------------------------------

def _asks_for_offices(turn: Turn) -> bool:
    if turn.control is not None:
        return turn.control.kind == "service" and turn.control.value == OFFICE_SERVICE
    # "nobody at the exit-entry office picks up the phone, I need someone to look into this"
    # names an office and a phone, but asks for a person.
    return asks_for_offices(turn.text) and not asks_for_person(turn.text) \
        and not sounds_like_complaint(turn.text)


def _named_place(turn: Turn) -> str | None:
    return turn.entities.get("city") or turn.entities.get("province") or turn.region_in_text


def _office_form(ctx: Context, turn: Turn) -> list[Action] | None:
    """Ask only for what is missing (the city), then show what the directory found. None: the
    message is not for the form (a new question), which is left."""
    form, starting = ctx.office_form, _asks_for_offices(turn)
    if form is not None and not starting and turn.control is not None:
        ctx.office_form = None  # another menu choice ("English", "网上预约") is what it says
        return None
    if form is not None and not starting and cancels(turn.text):
        ctx.office_form = None
        return [Say("office_cancelled", "notice")]
    if form is not None and not starting and asks_for_person(turn.text):
        ctx.office_form = None  # "talk to a person" is no city: the handoff takes it
        return None
    if form is not None and form.step == "pick" and not starting and turn.offices is not None:
        office = picked(turn.text, turn.offices)
        if office is not None:
            ctx.office_form = None
            return [ShowOffices(turn.offices, office.id)]
    ctx.pending = None  # an office look-up replaces a half-asked handoff question
    # The place: named now, remembered from earlier when the form opens, or the whole reply to
    # "which city?" (a city our NLU does not know still gets the official directory's pointer).
    answered = turn.search is not None and turn.search.decision == "answer"
    has_place = _named_place(turn) is not None or (starting and ctx.region is not None) or (
        form is not None and form.step == "city" and not answered and only_a_place(turn.text))
    if has_place and turn.offices is not None:
        if turn.control is None and starting:
            # The topic a follow-up ("周六开门吗？") leans on, and what an agent would see.
            ctx.last_question = turn.text
            # A typed question the corpus answers ("address of the Shanghai bureau, open on
            # Saturdays?") gets that answer, which says what the records leave out (the city's
            # 12367 line, booking ahead), and the directory's offices under it.
            corpus = turn.search is not None and choose(_evidence(turn)) == "answer"
            answer = _retrieve(ctx, turn, []) if corpus else []
            return [*answer[:1], *_show_offices(ctx, turn.offices)]
        return _show_offices(ctx, turn.offices)
    if not starting and (turn.intent not in ("out_of_scope", OFFICE_SERVICE) or answered):
        ctx.office_form = None  # the visitor moved on to something else: answer that
        return None
    ctx.office_form = OfficeForm(step="city")
    cancel = (_choice(label("cancel", ctx.lang)),)
    if starting and turn.control is None and turn.search is not None \
            and choose(_evidence(turn)) == "answer":
        # "How do I find the opening hours of the nearest office?" has an answer of its own
        # (the online directory): give it, then offer to look a city up.
        answer = _retrieve(ctx, turn, [])
        if answer and isinstance(answer[0], AnswerEntry):
            return [answer[0], Say("office_ask_city_after", "form", cancel)]
    return [Say("office_ask_city", "form", cancel)]


def _show_offices(ctx: Context, answer: OfficeAnswer) -> list[Action]:
    several = len(answer.offices) > 1
    ctx.office_form = OfficeForm(step="pick", place=answer.place) if several else None
    return [ShowOffices(answer)]


# The personal look-up form (bot/lookup_form.py) -------------------------------------------------

def _lookup_form(ctx: Context, turn: Turn) -> list[Action] | None:
    answerable = turn.search is not None and choose(_evidence(turn)) == "answer"
    step = lookup_step(ctx.lookup_form, turn.text, turn.control, answerable)
    if step is None:
        ctx.lookup_form = None
        return None
    ctx.lookup_form = step.form
    ctx.office_form, ctx.pending = None, None
    answer = _retrieve(ctx, turn, [])[:1] if step.answer_first else []
    return [*answer, *step.actions]


# Escalation -----------------------------------------------------------------------------------

def _escalate(ctx: Context, turn: Turn, reason: str, regions: list[str]) -> list[Action]:
    """Hand over to a person, first asking what the route needs: business option, then region."""
    chinese_mainland = ctx.lang == "zh" and not ctx.overseas
    if chinese_mainland and ctx.business_option is None:
        ctx.pending = Pending(kind="ask_option", reason=reason)
        options = [_choice(names["zh"]) for names in BUSINESS_OPTIONS.values()]
        return [Say("ask_option", "ask_option", tuple(options))]
    if chinese_mainland and ctx.business_option in NEEDS_REGION and not ctx.region:
        ctx.pending = Pending(kind="ask_region", reason=reason)
        return [Say("ask_region", "ask_region", tuple(_region_picker(ctx.lang, regions)))]
    ctx.low_confidence = 0
    ctx.thumbs_down = False
    summary = (ctx.last_question or turn.text)[:120]
    return [Escalate(reason, ctx.business_option, ctx.region, ctx.overseas, summary)]


def _request_human(ctx: Context, turn: Turn, regions: list[str]) -> list[Action]:
    return _escalate(ctx, turn, "thumbs_down" if ctx.thumbs_down else "explicit_request", regions)


def _complaint(ctx: Context, turn: Turn, regions: list[str]) -> list[Action]:
    ctx.business_option = ctx.business_option or "comments_suggestions"
    ctx.last_question = turn.text
    return _escalate(ctx, turn, "complaint", regions)


def _comments(ctx: Context, turn: Turn, regions: list[str]) -> list[Action]:
    ctx.business_option = "comments_suggestions"
    return _escalate(ctx, turn, "comments_suggestions", regions)


def _business_option(ctx: Context, turn: Turn, regions: list[str]) -> list[Action]:
    assert turn.control is not None
    option = turn.control.value
    if option == "comments_suggestions":
        return _comments(ctx, turn, regions)
    ctx.business_option = option
    name = BUSINESS_OPTIONS[option][ctx.lang]
    return [Say("option_intro", "option", (_human(ctx.lang),), values={"option": name})]


# Small talk and language -----------------------------------------------------------------------

def _say(key: str, kind: str = "smalltalk") -> Callable[[Context, Turn, list[str]], list[Action]]:
    def handler(ctx: Context, turn: Turn, regions: list[str]) -> list[Action]:
        # "Hi, how do I extend my visa?" is a question first and a greeting second, and
        # "那三年的呢？" after an answer asks about the same topic.
        if turn.search is not None and (turn.search.follow_up or
                                        choose(_evidence(turn)) == "answer"):
            return _retrieve(ctx, turn, regions)
        return [Say(key, kind)]
    return handler


def _choose_language(ctx: Context, turn: Turn, regions: list[str]) -> list[Action]:
    assert turn.control is not None
    wanted = turn.control.value
    if wanted == "zh":  # "中文" keeps the script the visitor writes in
        wanted = output_script("zh", turn.script)
    ctx.lang = "en" if wanted == "en" else "zh"
    ctx.script, ctx.lang_locked = wanted, True
    return [Say("lang_set", "notice", tuple(menu(ctx.lang)[2:]))]


# Answers ---------------------------------------------------------------------------------------

def _service(ctx: Context, turn: Turn, regions: list[str]) -> list[Action]:
    """A menu choice of one of the eight online services: answer with its guide (the pipeline
    searched for the service's own question)."""
    if turn.search is None or not turn.search.hits:
        return _retrieve(ctx, turn, regions)
    ctx.last_question, ctx.last_entry = turn.text, turn.search.hits[0].entry_id
    return [AnswerEntry(turn.search.hits[0].entry_id, turn.search.confidence)]


def _retrieve(ctx: Context, turn: Turn, regions: list[str]) -> list[Action]:
    if asks_foreign_visa(turn.text):  # shares every word with our visa entries
        return [Say("foreign_visa", "decline")]
    if asks_foreign_residence(turn.text):  # "绿卡" is also our permanent residence card
        return [Say("foreign_residence", "decline")]
    if _errand(ctx, turn):  # "SIM card实名登记可以用passport吗？" names no matter of ours
        return [Say("decline", "decline")]
    search = turn.search
    choice = choose(_evidence(turn)) if search is not None else "not_found"
    if choice == "answer":
        assert search is not None
        ctx.low_confidence = 0
        if not search.follow_up or search.narrows:  # else the topic stays the one leaned on
            ctx.last_question = search.query
        hits = search.hits
        ctx.last_entry = hits[0].entry_id
        runner_ups = hits[1:1 + alternatives(tuple(h.score for h in hits))]
        return [AnswerEntry(hits[0].entry_id, search.confidence, runner_ups)]
    if choice == "clarify":
        assert search is not None
        options = tuple(_choice(hit.title[ctx.lang]) for hit in search.hits[:3])
        if not search.follow_up:
            ctx.last_question = search.query
        return [Say("clarify", "clarify", options + (_human(ctx.lang),))]
    if choice == "decline":
        return [Say("decline", "decline")]
    ctx.last_question = turn.text  # what an agent should see if this ends in a handoff
    ctx.low_confidence += 1
    if ctx.low_confidence >= 2:
        return _escalate(ctx, turn, "low_confidence", regions)
    return [Say("not_found", "not_found", (_human(ctx.lang),))]


def reads_as_ours(intent: str, confidence: float) -> bool:
    """NLU is sure the message is an immigration matter: a question, or one of our online
    services about the visitor's own visa or permit ("我個簽證仲有幾日到期" read as the visa-info
    service is as much ours as a question about it)."""
    return (intent == "immigration_question" or intent in ONLINE_SERVICES) and confidence >= NLU_SURE


def _evidence(turn: Turn) -> Evidence:
    search = turn.search
    assert search is not None
    # A matter of ours named and no errand ("Does the 非中国籍 Hong Kong permit let me take a
    # job?"): NLU's out-of-scope reading counts only when sure.
    names_ours = speaks_of_our_matter(turn.text)
    sure_oos = turn.intent == "out_of_scope" and turn.confidence >= THRESHOLDS.oos_sure_at
    return Evidence(
        decision=search.decision, confidence=search.confidence, in_scope=search.in_scope,
        shares=tuple(h.score for h in search.hits), text=turn.text,
        nlu_immigration=reads_as_ours(turn.intent, turn.confidence),
        # A follow-up's few words ("fee 多少") say little on their own; its topic is in scope.
        # Code-mixed text that names our matter ("我想 apply PR") is ours whatever NLU read.
        nlu_oos=(turn.is_oos or turn.intent == "out_of_scope") and not search.follow_up
        and not (code_mixed(turn.text) and names_our_matter(turn.text))
        and not (names_ours and not sure_oos) and not loses_a_passport(turn.text),
        names_ours=names_ours,
        nlu_oos_confidence=turn.confidence if turn.intent == "out_of_scope" else 0.0,
        follow_up=search.follow_up,
    )


def on_feedback(ctx: Context, value: str) -> tuple[list[Say], Context]:
    """A thumbs-down on an answer: offer a person; a request that follows escalates."""
    ctx = ctx.model_copy(deep=True)
    ctx.thumbs_down = value == "down"
    if value == "down":
        return [Say("thumbs_down", "notice", (_human(ctx.lang),))], ctx
    return [], ctx


def render_say(say: Say, lang: str) -> str:
    return text(say.key, lang, **say.values)


INTENT_HANDLERS: dict[str, Callable[[Context, Turn, list[str]], list[Action]]] = {
    "greet": _say("greet"),
    "thanks": _say("thanks"),
    "affirm": _say("thanks"),
    "smalltalk": _say("smalltalk"),
    "goodbye": _say("goodbye", "goodbye"),
    "request_human": _request_human,
    "complaint": _complaint,
    "option_comments_suggestions": _comments,
}

# Intents that only a control message may act on (see bot/controls.py).
CONTROL_INTENTS = {"choose_language", "option_port_clearance", "option_entry_exit_documents",
                   *ONLINE_SERVICES}

CONTROL_HANDLERS: dict[str, Callable[[Context, Turn, list[str]], list[Action]]] = {
    "language": _choose_language,
    "option": _business_option,
    "service": _service,
}
