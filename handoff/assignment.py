"""Giving a waiting chat to an agent: the one write both a claim and the auto-assignment make."""

from __future__ import annotations

import time
from typing import Any

from conversation.channel import Notice
from conversation.lifecycle import Claim
from conversation.owner import Rejected
from handoff import texts
from handoff.context import HandoffContext
from handoff.store import Chat


async def assign(ctx: HandoffContext, chat_id: int, username: str, actor: str, action: str,
                 *, within_capacity: bool = False, **detail: Any) -> Chat | None:
    """Give a waiting chat to ``username`` if nobody took it first: the owner, the audit row,
    the visitor's notice and the conversation's state in one transaction. The chat as it was
    claimed, for the caller to open in the agent's console; None when another claim won.
    ``within_capacity``: also None when the agent would then hold more chats than they may (the
    auto-assignment: another node may have given them one since it planned)."""
    waiting = ctx.db().chat(chat_id)
    if waiting is None:
        return None
    try:
        async with ctx.conversations().change(waiting.session_id, Claim(username),
                                              about=waiting) as change:
            chat = change.after
            assert chat is not None  # an agent-held conversation has its chat
            if within_capacity and not ctx.db().agents_repo.within_capacity(username):
                raise Rejected("the agent was given a chat elsewhere meanwhile")
            ctx.db().audit(actor, action, chat.session_id, chat=chat_id, **detail)
            agent = ctx.stored_agent(username)
            lang = ctx.language(chat).lang
            await ctx.visitors.say(chat.session_id, Notice(
                texts.say(texts.AGENT_JOINED, lang, agent=agent.name), lang=lang))
    except Rejected:
        return None
    ctx.last_assigned[username] = now = time.time()
    if ctx.consoles is not None:  # the other nodes' plans put this agent behind their equals
        ctx.consoles.assigned(username, now)
    ctx.announced.pop(chat_id, None)
    return chat
