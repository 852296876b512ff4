"""The dialogue policy as a pure function: no sockets, no models."""

from bot.controls import control_of
from bot.dialogue import AnswerEntry, Context, Escalate, Hit, Say, Search, Turn, decide, on_feedback

REGIONS = ["北京", "上海", "广东"]
HIT = Hit("visa-extension", {"zh": "签证延期", "en": "Extending your visa"}, 0.6)
HIT2 = Hit("residence-permit", {"zh": "居留许可", "en": "Residence permit"}, 0.3)


def turn(text="问题", intent="immigration_question", lang="zh", script="zh-Hans",
         decision="answer", entities=None, is_oos=False, region=None, nlu_confidence=0.9):
    search = Search(decision, 0.9 if decision == "answer" else 0.3, (HIT, HIT2), text)
    return Turn(text, lang, script, intent, nlu_confidence, is_oos, entities or {}, search, region,
                control_of(text))


def test_confident_answer_and_remembered_topic():
    actions, ctx = decide(Context(), turn("签证怎么延期"), REGIONS)
    # The runner-up is close enough to be offered under the answer.
    assert actions == [AnswerEntry("visa-extension", 0.9, (HIT2,))]
    assert ctx.last_entry == "visa-extension" and ctx.last_question == "签证怎么延期"


def test_a_vague_question_gets_a_clarifying_question_with_choices():
    actions, _ = decide(Context(lang="en"), turn("permit?", lang="en", script="en",
                                                 decision="clarify"), REGIONS)
    say = actions[0]
    assert isinstance(say, Say) and say.key == "clarify"
    assert [q["value"] for q in say.quick_replies][:2] == ["Extending your visa", "Residence permit"]


def test_a_clear_question_in_the_clarify_zone_is_answered_with_the_runner_up_offered():
    t = turn("how do I extend my visa while in china", lang="en", script="en", decision="clarify")
    actions, _ = decide(Context(lang="en"), t, REGIONS)
    assert actions == [AnswerEntry("visa-extension", 0.3, (HIT2,))]


def test_questions_that_mention_a_language_or_option_are_answered_not_controls():
    for text in ("Is the application form available in Korean?", "英文版的指南在哪里下载？",
                 "口岸通关要排队多久？"):
        actions, ctx = decide(Context(), turn(text, intent="choose_language"), REGIONS)
        assert isinstance(actions[0], AnswerEntry) and not ctx.lang_locked, text
    for text, script in (("English please", "en"), ("用繁體字答我", "zh-Hant"),
                         ("可唔可以講廣東話", "yue")):
        actions, ctx = decide(Context(), turn(text, intent="immigration_question"), REGIONS)
        assert actions[0].key == "lang_set" and ctx.lang_locked and ctx.script == script, text


def test_out_of_scope_is_declined_with_12345():
    actions, _ = decide(Context(), turn("今天天气", intent="out_of_scope", decision="decline",
                                        is_oos=True), REGIONS)
    assert actions[0].key == "decline"


def test_everyday_errands_that_share_our_words_are_declined_even_when_the_retriever_is_sure():
    # The retriever and NLU read these as immigration questions (passport, hotel, hotline).
    for text in ("想開bank account，bank要我帶passport，仲要準備咩documents？",
                 "SIM card实名登记可以用passport吗？去哪个营业厅？", "我張Visa card喺內地ATM攞唔到錢，點算？",
                 "我想 renew 我嘅 driving licence", "點樣 book hotel near 海關？", "Hotel booking网站charge了我两次，怎么refund？"):
        actions, _ = decide(Context(), turn(text), REGIONS)
        assert actions == [Say("decline", "decline")], text


def test_an_errand_read_as_a_business_option_is_declined_and_a_complaint_about_us_handed_off():
    actions, _ = decide(Context(), turn("順便問下，酒店可唔可以退返啲房錢俾我？",
                                        intent="option_comments_suggestions", nlu_confidence=0.2),
                        REGIONS)
    assert actions == [Say("decline", "decline")]
    actions, _ = decide(Context(lang="en", script="en"),
                        turn("I want to complain, your office's counter still owes me a refund",
                             intent="complaint", lang="en", script="en"), REGIONS)
    assert isinstance(actions[0], Escalate)


def test_errands_that_name_an_immigration_matter_are_answered():
    for text in ("bank要我證明PR card同passport係同一個人，NIA有冇得網上出？",
                 "hotel前台说我的visa已经expired，不给check in，我现在应该怎么办？",
                 "luggage連passport一齊俾人偷咗，我仲要趕flight返國，點算？",
                 "買train ticket可唔可以淨係用five-star card，唔帶passport？"):
        actions, _ = decide(Context(), turn(text), REGIONS)
        assert isinstance(actions[0], AnswerEntry), text


def test_code_mixed_errands_are_declined():
    for text in ("我想 open 一个 bank account，要准备什么 documents？", "where can I 买 SIM卡 near 浦东机场?",
                 "帮我 book 一个 hotel room in 上海，下周三 check in", "my 驾照 expired 怎么办",
                 "點樣 book 去北京嘅 flight 平啲？", "邊度可以 exchange 啲 USD 做 RMB 呀？",
                 "支付宝 绑不了 foreign card，怎么 solve？", "VPN 在中国怎么 set up？"):
        actions, _ = decide(Context(), turn(text), REGIONS)
        assert actions == [Say("decline", "decline")], text


def test_code_mixed_text_naming_our_matter_is_answered_whatever_nlu_read():
    # NLU, fitted on single-language examples, reads these as out of scope.
    for text in ("hotel 會唔會幫我做 accommodation registration？", "我做咗4年deputy GM，可唔可以apply PR？"):
        actions, _ = decide(Context(), turn(text, intent="out_of_scope", is_oos=True,
                                            decision="decline", nlu_confidence=0.98), REGIONS)
        assert isinstance(actions[0], AnswerEntry), text
    # A permit that is not ours ("international driving permit") leaves NLU's reading standing.
    actions, _ = decide(Context(), turn("Can you tell me 怎么办 a 驾照 if I only have an international "
                                        "driving permit?", intent="out_of_scope", is_oos=True,
                                        decision="decline", nlu_confidence=0.98), REGIONS)
    assert actions == [Say("decline", "decline")]


def test_asking_whether_an_errands_paper_is_needed_is_a_follow_up_after_an_immigration_answer():
    asked = ("do I need a return air ticket?", "要带酒店预订单吗？",
             "do I need to show a hotel booking at the border?")
    after_visa = Context(last_question="过境免签240小时需要什么条件", last_entry="visa-extension")
    for text in asked:
        actions, _ = decide(after_visa, turn(text), REGIONS)
        assert isinstance(actions[0], AnswerEntry), text
        # The same words opening a conversation are the errand itself.
        actions, _ = decide(Context(), turn(text), REGIONS)
        assert actions == [Say("decline", "decline")], text
    # Running the errand after the answer is still declined.
    for text in ("also, where can I open a bank account?", "顺便问下，帮我订一个北京的酒店",
                 "喺內地開銀行戶口要帶乜嘢？"):
        actions, _ = decide(after_visa, turn(text), REGIONS)
        assert actions == [Say("decline", "decline")], text


def test_two_failures_in_a_row_escalate():
    ctx = Context(lang="en", script="en")
    t = Turn("blorp flarn", "en", "en", "immigration_question", 0.4, False, {},
             Search("decline", 0.0, (), "blorp flarn"))  # the retriever found nothing
    actions, ctx = decide(ctx, t, REGIONS)
    assert actions[0].key == "not_found"
    actions, ctx = decide(ctx, t, REGIONS)
    assert isinstance(actions[0], Escalate) and actions[0].reason == "low_confidence"


def test_chinese_request_for_a_person_asks_option_then_region_then_escalates():
    ctx = Context()
    actions, ctx = decide(ctx, turn("转人工", intent="request_human"), REGIONS)
    assert actions[0].key == "ask_option"
    actions, ctx = decide(ctx, turn("出入境证件", intent="option_entry_exit_documents"), REGIONS)
    assert actions[0].key == "ask_region"
    assert "广东" in [q["value"] for q in actions[0].quick_replies]
    actions, ctx = decide(ctx, turn("广东", intent="immigration_question", decision="decline",
                                    region="广东"), REGIONS)
    assert actions == [Escalate("explicit_request", "entry_exit_documents", "广东", False,
                                "转人工")] or (isinstance(actions[0], Escalate)
                                              and actions[0].region == "广东")


def test_english_request_goes_straight_to_a_person():
    actions, _ = decide(Context(lang="en", script="en"),
                        turn("talk to a human", intent="request_human", lang="en", script="en"),
                        REGIONS)
    assert isinstance(actions[0], Escalate) and actions[0].reason == "explicit_request"


def test_thumbs_down_then_request_escalates_with_that_reason():
    _, ctx = on_feedback(Context(lang="en", script="en"), "down")
    actions, _ = decide(ctx, turn("agent please", intent="request_human", lang="en",
                                  script="en"), REGIONS)
    assert actions[0].reason == "thumbs_down"


def test_reply_language_follows_latest_message_unless_locked():
    _, ctx = decide(Context(), turn("how do i extend", lang="en", script="en"), REGIONS)
    assert ctx.lang == "en"
    _, ctx = decide(Context(lang="en", lang_locked=True), turn("签证延期"), REGIONS)
    assert ctx.lang == "en"
    _, ctx = decide(Context(), turn("簽證點樣續", script="yue"), REGIONS)
    assert ctx.script == "yue"


def test_complaint_escalates_to_comments_option():
    actions, _ = decide(Context(), turn("我要投诉", intent="complaint",
                                        entities={"city": "上海"}), REGIONS)
    assert isinstance(actions[0], Escalate)
    assert actions[0].business_option == "comments_suggestions"


def test_an_in_scope_question_the_retriever_declines_is_answered_not_a_dead_end():
    # The retriever's coverage model is cautious; NLU does not read this as out of scope.
    t = Turn("我本護照唔見咗，點算好？", "zh", "yue", "immigration_question", 0.97, False, {},
             Search("decline", 0.14, (HIT, HIT2), "我本護照唔見咗，點算好？"))
    actions, _ = decide(Context(), t, REGIONS)
    assert actions == [AnswerEntry("visa-extension", 0.14, (HIT2,))]


def test_a_vague_word_gets_choices():
    t = Turn("護照", "zh", "zh-Hant", "immigration_question", 0.9, False, {},
             Search("decline", 0.14, (HIT, HIT2), "護照"))
    actions, _ = decide(Context(), t, REGIONS)
    assert actions[0].key == "clarify"
    assert [q["value"] for q in actions[0].quick_replies][:2] == ["签证延期", "居留许可"]
