"""Follow-ups: the topic's question asked again about someone else ("what about my husband?
he's American" after "I'm German, do I need a visa?", "咁我老婆呢？佢係美國人", "那台湾人呢？" after
a Hong Kong resident's residence permit), and messages that point back at the topic.

Joined with its topic, such a follow-up names two nationalities (or two home regions) and the
retriever weighs both, often landing on an entry about neither ("my husband" finds the family
residence permit). The question has not changed, only one of its values: the topic with that
value replaced is the question the visitor now asks.

A message that points back ("can my brother do it for me?", "where can I get one?") is about the
topic whatever else it names.

Pure: the NLU's entities in, the rewritten topic out; the pipeline searches it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.nlu.text import fold
from bot.nlu.types import Entity

# Where a Chinese resident outside the mainland lives decides their permits as a nationality
# decides a foreigner's visa: "那台湾人呢？" after Hong Kong asks Taiwan's rule. Other places are
# where the visitor is, not who they are ("and in Shanghai?" is the office form's).
_HOME_REGIONS = frozenset({"香港", "澳门", "台湾"})


def _kind(entity: Entity) -> str | None:
    if entity.type == "nationality":
        return "nationality"
    if entity.type in ("city", "province") and entity.value in _HOME_REGIONS:
        return "home"
    return None


def names_who(entities: Sequence[Entity]) -> bool:
    """The message names a nationality or a home region: who someone is, not only who they are
    to the visitor ("那我太太是台灣人呢？" asks Taiwan's rule, not the spouse's)."""
    return any(_kind(e) is not None for e in entities)


def about_another(topic: str, topic_entities: Sequence[Entity],
                  entities: Sequence[Entity]) -> str | None:
    """The topic with its one nationality or home region replaced by the one the follow-up
    names, in the follow-up's own words; None when the follow-up names none, or the topic has
    none (or several) of that kind, or the same one."""
    for kind in ("nationality", "home"):
        said = [e for e in entities if _kind(e) == kind]
        before = [e for e in topic_entities if _kind(e) == kind]
        if len(said) != 1 or len({e.value for e in before}) != 1:
            continue
        if said[0].value == before[0].value:
            return None
        out = topic
        for old in sorted(before, key=lambda e: -e.start):  # from the end: spans stay valid
            out = out[:old.start] + said[0].text + out[old.end:]
        return out
    return None


# Words that point back at the topic ("where can I get one?", "can my brother do it for me?",
# "那个要多久", "佢可唔可以一齐办？"), on folded text (where OpenCC writes Cantonese 嗰 as 𠮶).
_REFERS_BACK = re.compile(
    r"\b(?:it|its|that|this|these|those|them|they|one|same)\b|它|这个|那个|这种|那种|这样|那样|"
    r"呢个|嗰|𠮶|佢",
    re.ASCII,
)


def refers_back(text: str) -> bool:
    """The message points back at what was said before: after an answer, it is about that."""
    return _REFERS_BACK.search(fold(text)) is not None


# Narrower: a demonstrative pointing at what was just said ("how much is that", "during those
# days", "那个要多久"), not a pronoun that may stand for nothing ("is it going to rain?").
_POINTS_AT = re.compile(
    r"\b(?:that|this|these|those|same)\b|这个|那个|这种|那种|这样|那样|呢个|嗰|𠮶", re.ASCII)


def points_at_it(text: str) -> bool:
    """The message points at the matter just answered with a demonstrative: after an answer it
    is a follow-up on it, whatever NLU reads in its own words."""
    return _POINTS_AT.search(fold(text)) is not None


# "it" or "them" as what is done or used ("can I take a job with it?", "can I renew it online?",
# "where do I get them?"): the matter just answered. Not the subject "it" that stands for nothing
# ("is it going to rain tomorrow?", "will it be sunny?"): an object ends its clause or is followed
# by a preposition or an adverb.
_USES_IT = re.compile(
    r"\b(?:it|them)\s*(?:[?.!,;]|$|(?:for|to|with|in|at|on|by|before|after|from|now|again|online|"
    r"myself|yourself|there|here|instead|too|as well)\b)", re.ASCII)


def uses_it(text: str) -> bool:
    """The message does something with the matter just answered, named by a pronoun."""
    return _USES_IT.search(fold(text)) is not None


# Narrower: a pronoun standing for the matter itself ("can my brother do it for me?"), not a
# determiner of something else ("my wallet was in the same bag, can you block my cards?").
_STANDS_FOR_IT = re.compile(r"\b(?:it|them)\b|它", re.ASCII)


def stands_for_the_matter(text: str) -> bool:
    """The message names the matter just answered by a pronoun ("do it", "apply for them")."""
    return _STANDS_FOR_IT.search(fold(text)) is not None


# Another party than the visitor ("what about my kids?", "and for the company?", "咁我屋企人呢？"):
# their relatives (children and family together: "my kids, they're on family permits") or their
# employer. Matched on folded text (Simplified, lower case), ASCII word boundaries.
Party = str  # "relatives" | "employer"
_PARTY_NAMED = {
    "relatives": re.compile(
        r"\b(?:kids?|children|child|son|sons|daughters?|baby|family|wife|husband|spouse|parents|"
        r"dependants?|dependents?)\b|(?<!\d)\d+\s*(?:-| )?(?:years?|yrs?)(?:-| )old|"
        r"孩子|小孩|子女|儿子|女儿|细路|小朋友|宝宝|个仔|个女|家人|家属|屋企人|老婆|老公|太太|丈夫|妻子|"
        r"父母|爸妈|爸爸|妈妈|阿爸|阿妈", re.ASCII),
    "employer": re.compile(r"\b(?:company|employer|boss|firm)\b|公司|单位|雇主|老板|老细", re.ASCII),
}
# How the corpus speaks of that party in an entry's text (its Chinese, folded the same way).
_PARTY_IN_ENTRY = {
    "relatives": re.compile(r"子女|儿童|未成年|周岁|家属|家庭成员|配偶|亲属|随行"),
    "employer": re.compile(r"单位|雇主|用人|聘用|雇佣"),
}


def party_of(text: str) -> Party | None:
    """The other party a follow-up names, or None (none, or both kinds)."""
    folded = fold(text)
    named = [p for p, words in _PARTY_NAMED.items() if words.search(folded)]
    return named[0] if len(named) == 1 else None


def speaks_of(party: Party, entry_text: str) -> bool:
    """The entry's text speaks of that party (its dependants' permits, the employer's fine)."""
    return _PARTY_IN_ENTRY[party].search(fold(entry_text)) is not None
