"""Value types shared by every NLU engine (built-in and Rasa over HTTP)."""

from __future__ import annotations

from dataclasses import dataclass, field

from runtime.language_id import LangInfo

OUT_OF_SCOPE = "out_of_scope"

INTENTS: tuple[str, ...] = (
    "greet", "goodbye", "thanks", "affirm", "deny", "choose_language",
    "option_port_clearance", "option_entry_exit_documents", "option_comments_suggestions",
    "service_appointment", "service_progress", "service_visa_info", "service_pr_card_info",
    "service_passport_info", "service_office_directory", "service_guidance",
    "service_assisted_application", "request_human", "complaint", "immigration_question",
    "smalltalk", OUT_OF_SCOPE,
)

ENTITY_TYPES: tuple[str, ...] = (
    "city", "province", "visa_type", "document_type", "application_number",
    "passport_number", "date", "nationality", "language",
)


@dataclass(frozen=True, slots=True)
class Entity:
    type: str
    value: str
    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Parse:
    text: str
    lang: LangInfo
    intent: str
    confidence: float
    ranking: list[tuple[str, float]] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    is_oos: bool = False

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "lang": {"lang": self.lang.lang, "script": self.lang.script},
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "ranking": [[name, round(score, 4)] for name, score in self.ranking],
            "entities": [
                {"type": e.type, "value": e.value, "text": e.text, "start": e.start, "end": e.end}
                for e in self.entities
            ],
            "is_oos": self.is_oos,
        }


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled training/evaluation utterance (entities as annotated in the data)."""

    text: str
    intent: str
    entities: tuple[Entity, ...] = ()
