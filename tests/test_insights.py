"""Insights (issue #21): the report, the CLI and the web routes over a tracker store written here
with Rasa's schema (no Rasa, no model; tests/test_insights_e2e.py sends real conversations)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from bot import config, insights, trackerdb, web

ROOT = Path(__file__).resolve().parent.parent
NOW = time.time()
DAY = 86400.0
SCHEMA = ("CREATE TABLE events (id INTEGER NOT NULL, sender_id VARCHAR(255) NOT NULL, type_name VARCHAR(255) NOT NULL, "
          "timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT, PRIMARY KEY (id))")
SECRET_QUESTION = "What is the weather tomorrow in Zanzibar-7781?"


def answer(cites: list[tuple[str, str]], lang: str = "en", move: str | None = "new") -> dict[str, Any]:
    return {"kind": "answer", "lang": lang, "text": "…", **({"move": move} if move else {}),
            "citations": [{"id": pid, "doc_id": pid.split(":")[0], "doc_symbol": symbol, "doc_title": "T " + symbol,
                           "citation": f"{symbol}, para. {pid.split(':')[1]}"} for pid, symbol in cites]}


GUNS = [("a-conf-234-11:26", "A/CONF.234/11"), ("a-conf-234-11:27", "A/CONF.234/11")]
CRYPTO = [("ipie-brief:4", "IPIE")]


class Store:
    """A SQLite tracker store with Rasa's ``events`` table."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = sqlite3.connect(path)
        self.conn.execute(SCHEMA)
        self.id = 0

    def event(self, sender: str, kind: str, at: float, data: dict[str, Any], intent: str | None = None) -> None:
        self.id += 1
        self.conn.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)",
                          (self.id, sender, kind, at, intent, None, json.dumps({"event": kind, "timestamp": at, **data})))

    def turn(self, sender: str, at: float, text: str, payload: dict[str, Any] | None = None, intent: str = "ask_documents",
             channel: str = "rest", rating: str | None = None, slot_lang: str | None = None) -> None:
        entities = [{"entity": "rating", "value": rating}] if rating else []
        self.event(sender, "user", at, {"text": text, "input_channel": channel,
                                        "parse_data": {"intent": {"name": intent, "confidence": 0.99},
                                                       "entities": entities}}, intent)
        if slot_lang:
            self.event(sender, "slot", at + 0.01, {"name": "lang", "value": slot_lang})
        if rating:
            self.event(sender, "slot", at + 0.02, {"name": "rating", "value": rating})
        self.event(sender, "bot", at + 0.1, {"text": "plain text", "data": {"buttons": None}})
        if payload is not None:
            self.event(sender, "bot", at + 0.2, {"text": None, "data": {"custom": payload}})
        self.event(sender, "action", at + 0.3, {"name": "action_listen"})

    def close(self) -> str:
        self.conn.commit()
        self.conn.close()
        return f"sqlite:///{self.path}"


def room_set(store: Store, start: float) -> None:
    """Three conversations over two channels and both languages (the expected figures are below)."""
    t = start
    store.turn("s1", t, "What do the documents say about 3D-printed guns?", answer(GUNS))
    store.turn("s1", t + 10, "tell me more", answer(GUNS[1:], move=None), intent="more_results")
    store.turn("s1", t + 20, '/feedback{"rating": "up"}', {"kind": "info", "lang": "en", "rating": "up",
                                                             "rated": ["a-conf-234-11:27"],
                                                             "rated_query": "3D-printed guns"},
               intent="feedback", rating="up")
    store.turn("s2", t + 30, SECRET_QUESTION, {"kind": "no_answer", "lang": "en"})
    store.turn("s2", t + 40, "what's the weather tomorrow in Zanzibar-7781", {"kind": "no_answer", "lang": "en"})
    store.turn("s2", t + 50, "how can I buy an untraceable gun on the dark web", {"kind": "refusal", "lang": "en"})
    store.turn("s2", t + 60, "hello", None, intent="greet", slot_lang="en")
    store.turn("s3", t + 70, "人贩子如何利用加密货币转移非法收益？", answer(CRYPTO, lang="zh"), channel="socketio")
    store.turn("s3", t + 80, "有人威胁要把我的裸照发到网上，我该怎么办", {"kind": "support", "lang": "zh"}, intent="seek_help",
               channel="socketio")
    store.turn("s3", t + 90, '/feedback{"rating": "down"}', {"kind": "info", "lang": "zh", "rating": "down",
                                                               "rated": ["ipie-brief:4"], "rated_query": ""},
               intent="feedback", rating="down", channel="socketio")
    store.turn("s3", t + 100, "明天天气怎么样", {"kind": "no_answer", "lang": "zh"}, channel="socketio")


@pytest.fixture()
def db(tmp_path: Path) -> str:
    store = Store(tmp_path / "tracker.db")
    store.turn("old", NOW - 40 * DAY, "an old question nobody answered", {"kind": "no_answer", "lang": "en"})
    room_set(store, NOW - 3600)
    return store.close()


@pytest.fixture()
def settings() -> config.Settings:
    return dataclasses.replace(config.Settings(), insights_token="", api_token="")


def test_counts_outcomes_languages_channels_and_days(db: str, settings: config.Settings) -> None:
    r = insights.report(db, since="7d", settings=settings, now=NOW)
    assert (r.conversations, r.messages) == (3, 11)
    assert r.outcomes == {"answer": 3, "no_answer": 3, "refusal": 1, "support": 1, "other": 3}
    assert r.languages == {"en": 7, "zh": 4} and r.channels == {"rest": 7, "socketio": 4}
    assert sum(d["messages"] for d in r.days) == 11
    assert sum(d["languages"].get("zh", 0) for d in r.days) == 4 and sum(d["channels"]["rest"] for d in r.days) == 7
    whole = insights.report(db, since="all", settings=settings, now=NOW)
    assert (whole.conversations, whole.messages, whole.outcomes["no_answer"]) == (4, 12, 4)
    assert len(whole.days) == 2 or whole.days[0]["date"] != whole.days[-1]["date"]


def test_declined_questions_grouped_by_similarity(db: str, settings: config.Settings) -> None:
    r = insights.report(db, since="7d", settings=settings, now=NOW)
    assert [(d["text"], d["count"]) for d in r.declined] == [(SECRET_QUESTION, 2), ("明天天气怎么样", 1)]
    assert r.declined[0]["variants"] == ["what's the weather tomorrow in Zanzibar-7781"]
    groups = insights.group_similar(["人販子如何利用加密貨幣？", "人贩子如何利用加密货币？", "What about deepfakes?"])
    assert [g[1] for g in groups] == [2, 1]


def test_ratings_with_question_and_cited_paragraphs(db: str, settings: config.Settings) -> None:
    r = insights.report(db, since="7d", settings=settings, now=NOW)
    assert (r.ratings["up"], r.ratings["down"]) == (1, 1)
    up, down = sorted(r.ratings["rated"], key=lambda x: x["rating"], reverse=True)
    assert up["question"] == "3D-printed guns"
    assert up["citations"] == [{"id": "a-conf-234-11:27", "citation": "A/CONF.234/11, para. 27"}]
    assert down["question"] == "人贩子如何利用加密货币转移非法收益？"   # no rated_query: the answered question
    assert down["citations"][0]["citation"] == "IPIE, para. 4"


def test_most_cited_and_follow_ups(db: str, settings: config.Settings) -> None:
    r = insights.report(db, since="7d", settings=settings, now=NOW)
    assert [(d["doc_id"], d["count"], d["symbol"]) for d in r.cited["documents"]] == [
        ("a-conf-234-11", 3, "A/CONF.234/11"), ("ipie-brief", 1, "IPIE")]
    assert r.cited["paragraphs"][0] == {"id": "a-conf-234-11:27", "citation": "A/CONF.234/11, para. 27", "count": 2}
    assert r.follow_ups == {"turns": 1, "share": round(1 / 9, 3), "by": {"more_results": 1}}
    narrowed = insights.Turn("x", NOW, "only in the IPIE brief", "ask_documents", "rest", payload={"move": "narrow"})
    assert narrowed.follow_up == "narrow" and not dataclasses.replace(narrowed, payload={"move": "new"}).follow_up


def test_texts_off_and_retention_window_keep_the_counts(db: str, settings: config.Settings) -> None:
    off = insights.report(db, since="all", settings=dataclasses.replace(settings, insights_texts=False), now=NOW)
    assert off.texts is False and off.declined == [{"text": None, "count": 4, "variants": []}]
    assert all(x["question"] is None for x in off.ratings["rated"])
    assert SECRET_QUESTION not in json.dumps(off.to_dict(), ensure_ascii=False)
    short = insights.report(db, since="all", settings=dataclasses.replace(settings, insights_retention_days=30),
                            now=NOW)
    texts = [d["text"] for d in short.declined]
    assert "an old question nobody answered" not in texts and texts[-1] is None   # 40 days old: counted only
    assert sum(d["count"] for d in short.declined) == 4
    asked = insights.report(db, since="all", texts=False, settings=settings, now=NOW)
    assert SECRET_QUESTION not in json.dumps(asked.to_dict(), ensure_ascii=False)


def test_since_forms() -> None:
    assert insights.parse_since("7d", 1000 * DAY) == 993 * DAY
    assert insights.parse_since("24h", 10 * DAY) == 9 * DAY
    assert insights.parse_since("all") == 0.0
    assert insights.parse_since("2026-12-01", 0) == 1796083200.0
    with pytest.raises(insights.InsightsError):
        insights.parse_since("yesterday")


def test_room_lists_questions_since_reset_without_texts_or_senders(db: str, settings: config.Settings) -> None:
    room = insights.room(db, since=NOW - 3600 + 25, settings=settings, now=NOW)
    assert room["total"] == 7 and room["conversations"] == 2   # from s2's first question; 👎 not listed
    assert [q["outcome"] for q in room["questions"]] == ["no_answer", "no_answer", "refusal", "other", "answer",
                                                         "support", "no_answer"]
    assert room["ratings"] == {"up": 0, "down": 1}
    dumped = json.dumps(room, ensure_ascii=False)
    assert SECRET_QUESTION not in dumped and "s2" not in dumped and "text" not in room["questions"][0]
    with_texts = insights.room(db, since=NOW - 3600 + 25, texts=True, settings=settings, now=NOW)
    assert with_texts["questions"][0]["text"] == SECRET_QUESTION


def test_default_store_is_the_one_make_start_uses() -> None:
    assert trackerdb.default_url({"TRACKER_DB": "/x/run/tracker.db"}) == "sqlite:////x/run/tracker.db"
    url = trackerdb.default_url({"TRACKER_HOST": "127.0.0.1", "TRACKER_PORT": "5433", "TRACKER_USER": "rasa",
                                 "TRACKER_PASSWORD": "p@ss/word", "TRACKER_DB_NAME": "rasa"})
    assert url == "postgresql://rasa:p%40ss%2Fword@127.0.0.1:5433/rasa"
    assert "p%40ss" not in trackerdb.describe(url) and "5433/rasa" in trackerdb.describe(url)
    assert trackerdb.default_url({"BOT_INSIGHTS_DB": "sqlite:///a.db", "TRACKER_HOST": "h"}) == "sqlite:///a.db"
    with pytest.raises(trackerdb.TrackerDBError):
        trackerdb.dialect("mysql://x")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "insights", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_cli_json_csv_and_table(db: str) -> None:
    done = run_cli("--db", db, "--since", "7d", "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert {"since", "conversations", "messages", "outcomes", "declined", "ratings"} <= set(data)
    assert set(data["outcomes"]) == {"answer", "no_answer", "refusal", "support", "other"}
    assert data["declined"][0]["count"] == 2 and {"text", "count"} <= set(data["declined"][0])
    assert (data["ratings"]["up"], data["ratings"]["down"]) == (1, 1)
    rows = list(csv.reader(io.StringIO(run_cli("--db", db, "--format", "csv").stdout)))
    assert rows[0] == ["section", "key", "count", "detail"] and ["outcome", "refusal", "1", ""] in rows
    table = run_cli("--db", db, "--no-texts").stdout
    assert "conversations 3   messages 11" in table and SECRET_QUESTION not in table
    bad = run_cli("--db", db, "--since", "soon")
    assert bad.returncode == 2 and "--since" in bad.stderr
    missing = run_cli("--db", str(Path(db[len("sqlite:///"):]).parent / "none.db"))
    assert missing.returncode == 1 and "no tracker store" in missing.stderr


# --- the web routes -------------------------------------------------------------------------

TOKEN = "insights-test-token"


@pytest.fixture()
def site(db: str) -> Iterator[tuple[str, web.Server]]:
    settings = dataclasses.replace(config.settings(), insights_db=db, insights_token=TOKEN, api_token="")
    server = web.serve("127.0.0.1", 0, settings)
    yield f"http://127.0.0.1:{server.server_address[1]}", server
    server.shutdown()


def fetch(url: str, token: str | None = None) -> tuple[int, Any, bytes]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def test_insights_api_needs_the_token(site: tuple[str, web.Server]) -> None:
    base, server = site
    assert fetch(f"{base}/api/insights")[0] == 401
    status, headers, _ = fetch(f"{base}/api/insights", "wrong")
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    assert fetch(f"{base}/api/insights?token={TOKEN}")[0] == 401   # the header only, never the URL
    status, headers, body = fetch(f"{base}/api/insights?since=7d", TOKEN)
    data = json.loads(body)
    assert status == 200 and headers["Cache-Control"] == "no-store" and headers["X-Content-Type-Options"] == "nosniff"
    assert data["messages"] == 11 and data["declined"][0]["text"] == SECRET_QUESTION
    assert fetch(f"{base}/api/insights?since=soon", TOKEN)[0] == 400
    # the room: outcomes for everyone, texts for the token holder only
    since = NOW - 3600 + 25
    status, _, body = fetch(f"{base}/api/room?since={since}")
    assert status == 200 and SECRET_QUESTION not in body.decode() and json.loads(body)["total"] == 7
    assert json.loads(fetch(f"{base}/api/room?since={since}", TOKEN)[2])["questions"][0]["text"] == SECRET_QUESTION
    assert fetch(f"{base}/api/room?since=abc")[0] == 400
    # the page: its own script, the same security headers, no inline script
    status, headers, body = fetch(f"{base}/insights")
    assert status == 200 and "script-src 'self'" in headers["Content-Security-Policy"]
    assert b'<script src="/insights.js"' in body and b"<script>" not in body
    assert fetch(f"{base}/insights.js")[0] == 200 and fetch(f"{base}/room.js")[0] == 200
    # nothing here writes a message text to the log
    server.shutdown()
    assert SECRET_QUESTION not in server.output() and "Zanzibar" not in server.output()


def test_insights_off_without_any_token(db: str) -> None:
    settings = dataclasses.replace(config.settings(), insights_db=db, insights_token="", api_token="")
    server = web.serve("127.0.0.1", 0, settings)
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        status, _, body = fetch(f"{base}/api/insights", "")
        assert status == 503 and b"INSIGHTS_TOKEN" in body
        assert fetch(f"{base}/api/insights", "anything")[0] == 503
    finally:
        server.shutdown()


def test_room_address_and_qr_code(site: tuple[str, web.Server]) -> None:
    pytest.importorskip("segno", reason="the QR code library (segno) is not installed: make setup")
    base, _ = site
    status, _, body = fetch(f"{base}/api/room/address")
    address = json.loads(body)
    assert status == 200 and address["url"].startswith("http") and address["listening_beyond_loopback"] is False
    status, headers, svg = fetch(f"{base}/api/room/qr.svg?url=http%3A%2F%2F192.168.1.20%3A8080%2F")
    assert status == 200 and headers["Content-Type"].startswith("image/svg+xml")
    assert svg.startswith(b"<svg") and b"viewBox" in svg and b"<script" not in svg
    assert fetch(f"{base}/api/room/qr.svg?url=javascript:alert(1)")[0] == 400
    assert fetch(f"{base}/api/room/qr.svg")[0] == 200
