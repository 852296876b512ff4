"""Structured JSON logs, with passport, ID and application numbers, e-mail addresses and phone
numbers redacted before they are written."""

from __future__ import annotations

import logging
import re
import sys

from pythonjsonlogger.json import JsonFormatter

# Passport numbers: a letter or two followed by 7-9 digits (E12345678, PA1234567), or 9 digits.
# Application numbers: long digit runs, optionally with a letter prefix.
# Resident ID numbers: 17 digits and a check digit that may be X. E-mail addresses. Mobile numbers,
# also written with spaces or dashes and a +86 prefix (138 1234 5678, +86-138-1234-5678).
_SENSITIVE = [
    re.compile(r"(?<![A-Za-z0-9])\d{17}[\dXx](?![A-Za-z0-9])"),
    re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{1,2}\d{7,9}(?![A-Za-z0-9])"),
    re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{0,3}\d{9,20}(?![A-Za-z0-9])"),
    re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"),
    re.compile(r"(?<![\w+])(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\w)"),
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


class DoubleEofFilter(logging.Filter):
    """websockets 17 sends EOF twice, and logs an AssertionError with its traceback, when a client
    sends bytes after an HTTP request that is answered without an upgrade (a pipelined second
    request, garbage). The connection is closed either way; log one line instead of a traceback
    an attacker could fill the log with."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, AssertionError) and exc.__traceback__ is not None:
            tb = exc.__traceback__
            while tb.tb_next is not None:
                tb = tb.tb_next
            if tb.tb_frame.f_code.co_name == "send_eof":
                record.msg, record.args = "client sent data after its HTTP request; closed", ()
                record.exc_info, record.exc_text = None, None
                record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


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
    logging.getLogger("websockets.server").addFilter(DoubleEofFilter())
    # jieba installs its own DEBUG-level handler; route its start-up chatter through ours.
    jieba_log = logging.getLogger("jieba")
    jieba_log.handlers[:] = []
    jieba_log.setLevel(logging.WARNING)
