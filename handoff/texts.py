"""What the visitor is told during a handoff, in Chinese and English.

Chinese is written once in Simplified script. ``say`` fills a text in and leaves it so: the visitor
channel (conversation/channel.py, bot.hub.Hub) converts every notice once, with what is filled in
(a queue's name, an agent's reply), for visitors who write Traditional or Cantonese (Hong Kong
forms). Converting here as well would convert twice, and OpenCC is not idempotent (准許 → 準許).
English stays English.
"""

from __future__ import annotations

from dataclasses import dataclass

from runtime.language import to_simplified


@dataclass(frozen=True)
class Text:
    zh: str
    en: str


QUEUED = Text(
    zh="正在为您转接人工客服（{queue}）。{ahead}，{wait}。等待期间您可以继续输入问题，客服接入后会看到全部对话。",
    en="We are connecting you to a human agent ({queue}). {ahead}; {wait}. "
       "You can keep typing while you wait: the agent will see the whole conversation.",
)
AHEAD_NONE = Text(zh="您是下一位", en="You are next in line")
AHEAD_SOME = Text(zh="您前面还有 {ahead} 位访客", en="There {people} ahead of you")
WAIT_KNOWN = Text(zh="预计等待约 {minutes} 分钟", en="the estimated wait is about {minutes} min")
WAIT_UNKNOWN = Text(zh="客服上线后将按顺序接待", en="agents will answer in order as soon as one is available")
NO_AGENTS = Text(
    zh="目前没有在线的人工客服（{queue}）。您可以：1）留言，工作人员上线后会在本对话中回复；"
       "2）继续在此等待；3）拨打 {hotline} 服务热线。",
    en="No agent is online right now ({queue}). You can 1) leave a message, which an agent will "
       "answer in this conversation, 2) keep waiting here, or 3) call the {hotline} hotline.",
)
LEAVE_MESSAGE_BUTTON = Text(zh="留言", en="Leave a message")
LEAVE_MESSAGE_PROMPT = Text(
    zh="请写下您的问题，需要时可附上联系方式（请勿发送证件号码等敏感信息）。发送后即为您登记。",
    en="Please write your question, with a way to contact you if you like (please do not send "
       "passport or ID numbers). It is registered as soon as you send it.",
)
TICKET_CREATED = Text(
    zh="已收到您的留言，编号 {ticket}。工作人员会在本对话中回复；您也可以在任何设备上的新对话中输入此编号查看回复。",
    en="Your message has been received: number {ticket}. An agent will reply in this "
       "conversation; you can also type this number in a new chat, on any device, to read the answer.",
)
LEFT_QUEUE_TICKET = Text(
    zh="您离开了等待队列，您在等待时写下的内容已登记为留言，编号 {ticket}。工作人员会在本对话中回复；"
       "您也可以在任何设备上的新对话中输入此编号查看回复。",
    en="You left the queue, so what you wrote while waiting was registered as a message: number "
       "{ticket}. An agent will reply in this conversation; you can also type this number in a new "
       "chat, on any device, to read the answer.",
)
LEFT_QUEUE = Text(
    zh="您离开了等待队列。如仍需人工服务，请再次申请。",
    en="You left the queue. If you still need a person, just ask again.",
)
NO_AGENTS_STILL = Text(
    zh="目前仍没有在线的人工客服。请按“留言”登记您的问题，或继续等待，也可拨打 {hotline} 服务热线。",
    en="Still no agent is online. Press \u201cLeave a message\u201d to register your question, keep "
       "waiting, or call the {hotline} hotline.",
)
TICKET_ANSWER = Text(zh="您的留言（编号 {ticket}）已有回复：\n{reply}",
                     en="The answer to your message {ticket}:\n{reply}")
TICKET_PENDING = Text(
    zh="您的留言（编号 {ticket}）已登记，尚未回复。工作人员回复后，您可以再次输入此编号查看。",
    en="Your message {ticket} is registered but not answered yet. Type the number again later to "
       "read the answer.",
)
TICKET_PURGED = Text(
    zh="您的留言（编号 {ticket}）已处理完毕；按照数据保留规定，留言及回复内容已于 {date} 删除。"
       "如仍需帮助，请在此重新咨询，或拨打 {hotline} 服务热线。",
    en="Your message {ticket} was dealt with; under our data retention rules, the message and its "
       "answer were deleted on {date}. If you still need help, ask again here or call the "
       "{hotline} hotline.",
)
TICKET_TOO_MANY = Text(
    zh="查询的留言编号过多，请稍后再试，或拨打 {hotline} 服务热线。",
    en="Too many message numbers tried; please try again later, or call the {hotline} hotline.",
)
TICKET_UNKNOWN = Text(
    zh="没有找到编号为 {ticket} 的留言。请核对编号，或拨打 {hotline} 服务热线。",
    en="No message with the number {ticket} was found. Please check the number, or call the "
       "{hotline} hotline.",
)
ESCALATION_LIMITED = Text(
    zh="短时间内转人工的请求过多，请稍后再试，或拨打 {hotline} 服务热线。",
    en="There have been too many requests for an agent from here in a short while; please try "
       "again later or call the {hotline} hotline.",
)
AGENT_JOINED = Text(zh="人工客服 {agent} 已接入，正在为您服务。", en="Agent {agent} has joined and will help you now.")
TRANSFERRED_QUEUE = Text(zh="您的对话已转接至{queue}，请稍候。",
                         en="Your chat has been transferred to {queue}. Please wait a moment.")
AGENT_DISCONNECTED = Text(
    zh="抱歉，为您服务的人工客服连接中断。您已回到队列最前面，下一位有空的客服会继续为您服务。",
    en="Sorry, your agent has lost their connection. You are back at the front of the queue; "
       "the next free agent will continue with you.",
)
TRANSFERRED_AGENT = Text(zh="您的对话已转交给客服 {agent}。", en="Your chat has been passed to agent {agent}.")
HANDED_BACK = Text(
    zh="人工客服已结束本次服务，智能助手将继续为您解答。如需人工服务，可随时再次申请。",
    en="The agent has finished; the assistant will answer your questions again. You can ask for a person at any time.",
)
RESOLVED = Text(
    zh="本次人工服务已结束，感谢您的咨询。请为本次服务评分（1–5 分）。",
    en="This chat with an agent has ended. Thank you for contacting 12367. Please rate the service (1–5).",
)
TICKET_REPLY = Text(zh="关于您的留言（编号 {ticket}）的回复：\n{reply}", en="Reply to your message {ticket}:\n{reply}")

LEAVE_MESSAGE_WORDS = {"留言", "我要留言", "leave a message", "leave message", "message"}


def say(text: Text, lang: str, **values: object) -> str:
    """The text in English or Simplified Chinese, filled in (not converted: see above)."""
    template = text.en if lang == "en" else text.zh
    return template.format(**values)


def wait_phrase(eta_s: int | None, lang: str) -> str:
    if eta_s is None:
        return say(WAIT_UNKNOWN, lang)
    return say(WAIT_KNOWN, lang, minutes=max(1, round(eta_s / 60)))


def ahead_phrase(ahead: int, lang: str) -> str:
    if ahead <= 0:
        return say(AHEAD_NONE, lang)
    people = "is 1 person" if ahead == 1 else f"are {ahead} people"
    return say(AHEAD_SOME, lang, ahead=ahead, people=people)


def is_leave_message(text: str) -> bool:
    simple = to_simplified(text).strip().strip("。.!！").lower()
    return simple in LEAVE_MESSAGE_WORDS
