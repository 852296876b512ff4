"""Structured JSON logs, with passport and application numbers redacted before they are written."""

from __future__ import annotations

import logging
import re
import sys

from pythonjsonlogger.json import JsonFormatter

# Passport numbers: a letter or two followed by 7-9 digits (E12345678, PA1234567), or 9 digits.
# Application numbers: long digit runs, optionally with a letter prefix.
_SENSITIVE = [
    re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{1,2}\d{7,9}(?![A-Za-z0-9])"),
    re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{0,3}\d{9,20}(?![A-Za-z0-9])"),
]


def redact(text: str) -> str:
    for pattern in _SENSITIVE:
        text = pattern.sub("[REDACTED]", text)
    return text


class RedactingJsonFormatter(JsonFormatter):
    def process_log_record(self, log_record: dict) -> dict:
        for key, value in log_record.items():
            if isinstance(value, str):
                log_record[key] = redact(value)
        return super().process_log_record(log_record)


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingJsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s", rename_fields={"levelname": "level"}
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # websockets logs every refused handshake at INFO with tracebacks; keep those at WARNING.
    logging.getLogger("websockets").setLevel(logging.WARNING)
    # jieba installs its own DEBUG-level handler; route its start-up chatter through ours.
    jieba_log = logging.getLogger("jieba")
    jieba_log.handlers[:] = []
    jieba_log.setLevel(logging.WARNING)
