"""The office-directory form as pure dialogue transitions: no sockets, no models; the directory's
answer is what the embedded backend gives, as the pipeline would hand it in."""

from bot.controls import control_of
from bot.dialogue import AnswerEntry, Context, Hit, Say, Search, Turn, decide
from bot.office_form import OfficeForm, ShowOffices
from services.directory import EmbeddedOfficeDirectory

DIRECTORY = EmbeddedOfficeDirectory()
HIT = Hit("visa-extension", {"zh": "签证延期", "en": "Extending your visa"}, 0.6)


def turn(text, *, lang="zh", city=None, place=None, intent="out_of_scope", decision="decline"):
    entities = {"city": city} if city else {}
    offices = DIRECTORY.find(place or city, lang) if (place or city) else None
    return Turn(text, lang, "en" if lang == "en" else "zh-Hans", intent, 0.9, False, entities,
                Search(decision, 0.9 if decision == "answer" else 0.1, (HIT,), text),
                control=control_of(text), offices=offices)


def test_menu_press_asks_only_for_the_city():
    actions, ctx = decide(Context(), turn("出入境办证机构查询"), [])
    assert isinstance(actions[0], Say) and actions[0].key == "office_ask_city"
    assert ctx.office_form == OfficeForm(step="city")
    actions, ctx = decide(ctx, turn("成都", city="成都"), [])
    assert isinstance(actions[0], ShowOffices) and actions[0].answer.offices[0].phone
    assert ctx.office_form is None


def test_a_place_named_earlier_is_not_asked_again():
    ctx = Context(region="上海")
    actions, ctx = decide(ctx, turn("出入境办证机构查询", place="上海"), [])
    assert isinstance(actions[0], ShowOffices) and len(actions[0].answer.offices) == 2
    assert ctx.office_form == OfficeForm(step="pick", place="上海")
    actions, ctx = decide(ctx, turn("上海外國人永久居留服務中心", place="上海"), [])
    assert actions == [ShowOffices(DIRECTORY.find("上海", "zh"), "shanghai-pr-service-centre")]
    assert ctx.office_form is None


def test_cancel_and_a_new_question_leave_the_form():
    _, ctx = decide(Context(lang="en"), turn("Exit-entry office directory", lang="en"), [])
    actions, after = decide(ctx, turn("cancel", lang="en"), [])
    assert actions[0].key == "office_cancelled" and after.office_form is None
    question = turn("how much does a visa extension cost", lang="en",
                    intent="immigration_question", decision="answer")
    actions, after = decide(ctx, question, [])
    assert isinstance(actions[0], AnswerEntry) and after.office_form is None


def test_an_unknown_place_gets_the_official_directory():
    _, ctx = decide(Context(), turn("出入境办证机构查询"), [])
    actions, ctx = decide(ctx, turn("拉萨", place="拉萨"), [])
    assert isinstance(actions[0], ShowOffices) and actions[0].answer.offices == ()
    assert ctx.office_form is None


def test_a_complaint_naming_an_office_asks_for_a_person_not_the_directory():
    text = ("My permit application has been pending for 5 weeks and nobody at the exit-entry "
            "office picks up the phone. I need someone to look into this.")
    actions, ctx = decide(Context(lang="en"), turn(text, lang="en", intent="request_human"), [])
    assert not any(isinstance(a, ShowOffices) for a in actions) and ctx.office_form is None
    assert not (isinstance(actions[0], Say) and actions[0].key == "office_ask_city")


def test_another_menu_choice_leaves_the_form():
    _, ctx = decide(Context(), turn("出入境办证机构查询"), [])
    actions, ctx = decide(ctx, turn("English"), [])
    assert actions[0].key == "lang_set" and ctx.office_form is None


def test_a_general_office_question_is_answered_then_the_city_offered():
    text = "How do I find the opening hours of the nearest exit-entry office to me?"
    actions, ctx = decide(Context(lang="en"), turn(text, lang="en", intent="immigration_question",
                                                   decision="answer"), [])
    assert isinstance(actions[0], AnswerEntry)
    assert actions[1].key == "office_ask_city_after" and ctx.office_form == OfficeForm(step="city")
