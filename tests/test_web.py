"""The web server's pages and read-only JSON API (no browser needed)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from bot import config, index, safety, web
from bot.conversation import Context
from bot.engine import Engine

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def base(idx: index.Index) -> Iterator[str]:
    server = web.serve("127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def get_json(url: str) -> tuple[int, Any]:
    status, _, body = get(url)
    return status, json.loads(body)


def test_paragraph_in_its_document_context(base: str) -> None:
    status, data = get_json(f"{base}/api/paragraphs/a-conf-234-11%3A26")
    assert status == 200
    p = data["paragraph"]
    assert p["label"] == "26" and "3D 打印枪支" in p["text"]
    assert "增材制造" in p["section_path"] and "Additive manufacturing" in p["section_path_en"]
    assert data["previous"]["label"] == "25" and data["next"]["label"] == "27"
    assert data["document"]["symbol"] == "A/CONF.234/11"
    assert "para. 26" in data["citation"]["en"] and "第26段" in data["citation"]["zh"]


def test_paragraph_footnotes_and_sub_items(base: str, idx: index.Index) -> None:
    with_notes = next(p for p in idx.passages if p.kind == "body" and p.footnotes)
    _, data = get_json(f"{base}/api/paragraphs/{with_notes.id}")
    assert [f["id"] for f in data["paragraph"]["footnotes"]] == with_notes.footnotes
    assert all(f["text"] for f in data["paragraph"]["footnotes"])
    _, sub = get_json(f"{base}/api/paragraphs/a-conf-234-11%3A82-b")
    assert sub["previous"]["id"] == "a-conf-234-11:82-a" and sub["next"]["id"] == "a-conf-234-11:82-c"


def test_unknown_paragraph_is_a_clear_404(base: str) -> None:
    status, data = get_json(f"{base}/api/paragraphs/nope%3A1")
    assert status == 404 and "no paragraph" in data["error"]
    status, _ = get_json(f"{base}/api/nothing")
    assert status == 404


def test_documents_config_and_data_files(base: str) -> None:
    _, docs = get_json(f"{base}/api/documents")
    assert len(docs["documents"]) == 5 and all(d["body"] > 0 for d in docs["documents"])
    _, cfg = get_json(f"{base}/api/config")
    assert cfg["rasa_url"].startswith("http") and cfg["socket_path"] == "/socket.io/"
    _, sug = get_json(f"{base}/api/suggestions")
    assert sug["topics"] and sug["topics"][0]["en"]
    _, ws = get_json(f"{base}/api/workshop")
    ids = {g["id"] for g in ws["groups"]}
    assert {"3d_guns", "crypto", "darknet", "trafficking", "child_exploitation", "deepfakes", "ethics", "refusal",
            "chinese"} <= ids


def test_pages_are_served_with_a_content_security_policy(base: str) -> None:
    for path in ("/", "/presenter", "/embed-example.html", "/webchat"):
        status, headers, body = get(base + path)
        assert status == 200 and b"<html" in body.lower(), path
        assert "script-src 'self'" in headers["Content-Security-Policy"]
    status, headers, _ = get(base + "/widget.js")
    assert status == 200 and "javascript" in headers["Content-Type"]


def test_posting_to_the_api_is_refused(base: str) -> None:
    req = urllib.request.Request(f"{base}/api/documents", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 405


def test_every_workshop_question_gets_the_reply_its_group_expects(engine: Engine) -> None:
    groups = yaml.safe_load(config.settings().workshop_path.read_text(encoding="utf-8"))["groups"]
    for g in groups:
        for q in g.get("en", []) + g.get("zh", []):
            reply = safety.handle(engine, q, Context()).to_payload()
            assert reply["kind"] == g["expect"], (g["id"], q)
