"""No message text and no sender id in any log, whatever the failure path.

Rasa, Sanic, rasa-sdk and Python's warnings write log lines the project does not control: a
``/``-prefixed message that does not parse is quoted in a ``UserWarning``, an exception while a
message is processed is logged with the text and the conversation id, a DEBUG line prints the
whole message. Filtering known lines would miss the next one, so this works at the root:

* every channel hands each message to one place (``Agent.handle_message`` in Rasa,
  ``rasa_addons/limits.py``; the action's ``run`` in the action server), which calls
  :func:`remember` with the message text and sender id. They are kept in a context variable,
  so they belong to that message's task only (concurrent conversations do not see each
  other's);
* :func:`install` puts a log-record factory in front of Python's, so *every* record created
  in the process, by any logger and for any handler, added before or after, has each
  remembered text replaced by ``[message]`` and each sender id by ``[sender …hash]`` — in the
  formatted message and in the formatted traceback — before any handler sees it;
  ``logging.captureWarnings`` sends warnings through the same path instead of straight to
  stderr.

The sender's short hash (:func:`who`) is what logs use to tell conversations apart.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import re
from typing import Any, Callable

_CURRENT: contextvars.ContextVar[tuple[tuple[str, str], ...]] = contextvars.ContextVar("redact", default=())
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
MIN_FREE_CHARS = 3   # shorter texts are replaced only where quoted ('hi'), not inside words


def who(sender: str) -> str:
    """A short, stable, non-reversible name for a sender id in logs."""
    return hashlib.sha256(sender.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def clean_text(text: str) -> str:
    """``text`` that can be encoded: a lone surrogate (JSON allows ``"\\ud800"``) becomes U+FFFD."""
    return _LONE_SURROGATE.sub("\ufffd", text)


def _forms(value: str) -> set[str]:
    """The ways a value shows up in a log line: as is, as Python's repr, as JSON."""
    forms = {value, repr(value)[1:-1], json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    return {f for f in forms if f}


def remember(text: str | None, sender: str | None) -> None:
    """Keep ``text`` and ``sender`` out of every log line written by this task from now on."""
    pairs = list(_CURRENT.get())
    if sender and sender.strip():
        pairs += [(form, f"[sender {who(sender)}]") for form in _forms(sender)]
    if text and text.strip():
        stripped = text.strip()
        values = {text, stripped, stripped.lstrip("/"), clean_text(stripped)}
        pairs += [(form, "[message]") for value in values for form in _forms(value)]
    pairs.sort(key=lambda p: -len(p[0]))   # longest first: a text that contains the sender id
    _CURRENT.set(tuple(dict.fromkeys(pairs)))


def forget() -> None:
    _CURRENT.set(())


def scrub(line: str, pairs: tuple[tuple[str, str], ...] | None = None) -> str:
    """``line`` with every remembered text and sender id replaced."""
    for secret, mark in _CURRENT.get() if pairs is None else pairs:
        if secret not in line:
            continue
        if len(secret) >= MIN_FREE_CHARS:
            line = line.replace(secret, mark)
        else:
            for quote in ("'", '"'):
                line = line.replace(f"{quote}{secret}{quote}", f"{quote}{mark}{quote}")
    return line


def _scrubbed_record(previous: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        pairs = _CURRENT.get()
        if not pairs:
            return record
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep only the template
            message = str(record.msg)
        clean = scrub(message, pairs)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info), pairs)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info, pairs)
        return record

    factory.__redact__ = True  # type: ignore[attr-defined]
    return factory


def install() -> None:
    """Scrub every log record of this process (idempotent) and route warnings through logging."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "__redact__", False):
        logging.setLogRecordFactory(_scrubbed_record(current))
    logging.captureWarnings(True)
