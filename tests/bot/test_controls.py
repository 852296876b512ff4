"""Controls fire only for messages that are the choice; handoff needs its cue words."""

from dataclasses import replace

import pytest

from bot.answer_policy import Evidence, alternatives, choose, is_vague
from bot.controls import Control, control_of
from bot.foreign_visa import asks_foreign_residence, asks_foreign_visa
from bot.handoff_cues import asks_for_person, sounds_like_complaint


@pytest.mark.parametrize(("text", "script"), [
    ("English please", "en"), ("中文", "zh"), ("English", "en"), ("用繁體字答我", "zh-Hant"),
    ("可唔可以講廣東話", "yue"), ("Can you reply in traditional Chinese?", "zh-Hant"),
    ("能用繁体字回复吗", "zh-Hant"), ("換返 English 啦 唔該", "en"), ("switch to chinese", "zh"),
    ("Can you answer in Chinese? I want to show this to my landlord", "zh"),
    ("唔該轉做簡體字，我阿媽睇唔慣繁體", "zh-Hans"),
])
def test_language_commands(text, script):
    assert control_of(text) == Control("language", script)


@pytest.mark.parametrize("text", [
    "Is the application form available in Korean?", "英文版的指南在哪里下载？",
    "is the hotline available in English?", "中文还是英文", "有英文服務嗎",
    "English please, how do I extend my visa if it expires next week and I am in Chengdu?",
    "口岸通关要排队多久？", "I want to book an appointment",
])
def test_questions_that_mention_a_control_are_not_controls(text):
    assert control_of(text) is None


def test_buttons_are_controls():
    assert control_of("口岸通关和边境出入") == Control("option", "port_clearance")
    assert control_of("Online appointment") == Control("service", "service_appointment")
    assert control_of("網上預約") == Control("service", "service_appointment")


@pytest.mark.parametrize("text", ["I want to talk to a real person", "人工客服", "唔該幫我搵個職員傾下",
                                  "ok can you connect me to one of them now", "幫我轉接",
                                  "請幫我轉接專人處理，謝謝", "agent", "can I talk to 人工客服 please"])
def test_requests_for_a_person(text):
    assert asks_for_person(text)


@pytest.mark.parametrize("text", ["When did the 12367 hotline start operating?",
                                  "are there actual humans answering 12367 or is it all menus",
                                  "12367的服務時間是？"])
def test_questions_about_the_service_are_not_requests(text):
    assert not asks_for_person(text) and not sounds_like_complaint(text)


@pytest.mark.parametrize("text", ["the queue-number machine at your Pudong office is a mess",
                                  "打了好幾次12367都沒有人接，到底怎麼回事", "櫃枱啲職員好惡"])
def test_complaints(text):
    assert sounds_like_complaint(text)


def _evidence(text, decision="clarify", confidence=0.6, shares=(0.6, 0.2), oos=0.0, in_scope=0.5):
    return Evidence(decision, confidence, in_scope, shares, nlu_immigration=not oos, nlu_oos=oos > 0,
                    nlu_oos_confidence=oos, text=text)


def test_policy_answers_clear_questions_and_asks_back_only_when_vague():
    assert choose(_evidence("which cities in Yunnan are covered by the 240-hour transit?")) == "answer"
    assert choose(_evidence("visa?")) == "clarify" and is_vague("签证")
    # A near tie is answered; the runner-up is offered as a button under the answer.
    assert choose(_evidence("how do I extend my stay permit", shares=(0.4, 0.39))) == "answer"
    assert alternatives((0.4, 0.39, 0.01)) == 1
    assert choose(_evidence("how do I renew my driving licence", decision="answer",
                            oos=0.6, in_scope=0.15)) == "decline"
    # NLU sure it is off-topic outweighs the words it shares with the corpus; NLU unsure about a
    # long, situational question does not outweigh a confident, well-covered answer.
    assert choose(_evidence("how do I get a Japanese visa?", decision="answer", oos=0.99,
                            in_scope=0.96)) == "decline"
    assert choose(_evidence("I'm flying LA to Guangzhou then Bangkok, do I need a visa?",
                            decision="answer", oos=0.8, in_scope=0.89)) == "answer"
    # A question the corpus hardly covers is declined even when NLU missed it.
    dog = replace(_evidence("what quarantine does my dog need?", in_scope=0.03), nlu_immigration=False)
    assert choose(dog) == "decline"


def test_a_follow_up_is_not_vague_however_short():
    # "And Malaysians?" after "What about Thai citizens?" names what the topic needs.
    assert choose(_evidence("And Malaysians?")) == "clarify"
    assert choose(replace(_evidence("And Malaysians?"), follow_up=True)) == "answer"
    assert choose(replace(_evidence("能跨省吗"), follow_up=True)) == "answer"


@pytest.mark.parametrize("text", [
    "去日本要唔要簽證？我係內地護照", "我想 apply Japan visa，我係 China passport，要咩 documents？",
    "How can a Chinese citizen apply for a Schengen visa?", "申根签证要什么材料",
    "do I need a visa to go to Korea with a Hong Kong passport?", "去泰國免簽嗎",
])
def test_questions_about_another_countrys_visa(text):
    assert asks_foreign_visa(text)


@pytest.mark.parametrize("text", [
    "I'm Japanese, do I need a visa for China?", "泰国人去中国要签证吗", "since when is the UK visa-free?",
    "will the visa-free thing for France still be valid next winter?", "俄罗斯免签到什么时候",
    "我下個月要去韓國開會再返嚟，本簽證得一次入境，點算？", "I hold a US visa, can I transit in Beijing?",
    "flying from Shanghai to Japan, can I stay 10 days visa free on the way?", "去日本旅游要办护照吗",
])
def test_questions_about_our_visas_and_documents_are_not_foreign(text):
    assert not asks_foreign_visa(text)


@pytest.mark.parametrize("text", [
    "我想申請美國綠卡，需要準備什麼？", "how do I get a US green card", "想移民去澳洲要準備咩文件",
    "I'm applying for Canadian permanent residence, what's the process?",
])
def test_questions_about_residence_in_another_country(text):
    assert asks_foreign_residence(text)


@pytest.mark.parametrize("text", [
    "申请中国绿卡要什么条件", "绿卡持有人入境中国需要签证吗", "I have a US green card, can I enter China visa-free?",
    "My 老婆 is Chinese, I want to apply for PR, what are the requirements?", "美国绿卡持有者可以144小时过境吗",
    "五星卡可以用来买火车票吗",
])
def test_questions_about_our_permanent_residence_are_not_foreign(text):
    assert not asks_foreign_residence(text)
