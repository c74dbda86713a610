"""The web server's pages and read-only JSON API (no browser needed)."""

from __future__ import annotations

import dataclasses
import json
import socket
import time
import urllib.error
import urllib.request
from email.message import Message
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


def get(url: str) -> tuple[int, Message, bytes]:
    """Status, headers (names in any case) and body."""
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


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
        assert ("'unsafe-inline'" in headers["Content-Security-Policy"]) == (path == "/webchat"), path
        assert headers["Content-Type"] == "text/html; charset=utf-8" and headers["Cache-Control"] == "no-cache"
    status, headers, _ = get(base + "/widget.js")
    assert status == 200 and "javascript" in headers["Content-Type"]


def test_posting_to_the_api_is_refused(base: str) -> None:
    req = urllib.request.Request(f"{base}/api/documents", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 405


SECURITY = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "access-control-allow-origin": "*"}


def exchange(base: str, data: bytes, wait: float = 10.0) -> tuple[list[bytes], float]:
    """Raw bytes to the server; the responses read until it closes the connection (or ``wait`` passes),
    and the seconds that took."""
    host, port = base.removeprefix("http://").split(":")
    start = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=wait) as conn:
        if data:
            conn.sendall(data)
        received = b""
        try:
            while chunk := conn.recv(65536):
                received += chunk
        except (socket.timeout, ConnectionResetError):
            pass
    return [b"HTTP/1.1 " + r for r in received.split(b"HTTP/1.1 ")[1:]], time.monotonic() - start


def parse(response: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def assert_json_error(response: bytes, status: int) -> dict[str, Any]:
    code, headers, body = parse(response)
    assert code == status, response[:200]
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert {k: headers.get(k) for k in SECURITY} == SECURITY
    data = json.loads(body)
    assert set(data) == {"error"} and data["error"]
    return data


@pytest.mark.chaos
def test_a_post_body_is_never_read_as_a_further_request(base: str) -> None:
    smuggled = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    post = (b"POST /api/documents HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
            b"Content-Length: %d\r\n\r\n" % len(smuggled)) + smuggled
    last = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    responses, _ = exchange(base, post + last)
    assert len(responses) == 2, responses     # the POST's answer and the last GET's, no third one
    assert "read-only" in assert_json_error(responses[0], 405)["error"]
    assert parse(responses[1])[0] == 200


@pytest.mark.chaos
@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "TRACE", "CONNECT", "PROPFIND", "BREW"])
def test_every_other_method_gets_a_json_error_with_the_security_headers(base: str, method: str) -> None:
    request = f"{method} /api/documents HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    responses, _ = exchange(base, request.encode())
    assert len(responses) == 1
    code, _, _ = parse(responses[0])
    assert code in (400, 405)
    assert_json_error(responses[0], code)


@pytest.mark.chaos
def test_errors_and_preflights_carry_the_security_headers(base: str) -> None:
    status, headers, body = get(f"{base}/nothing/here")
    assert status == 404 and json.loads(body) == {"error": "not found"}
    assert {k: headers[k] for k in SECURITY} == SECURITY
    responses, _ = exchange(base, b"GARBAGE\r\n\r\n")
    assert_json_error(responses[0], 400)
    responses, _ = exchange(base, b"OPTIONS /api/documents HTTP/1.1\r\nHost: x\r\nOrigin: http://elsewhere\r\n"
                                  b"Access-Control-Request-Method: GET\r\nConnection: close\r\n\r\n")
    code, headers, _ = parse(responses[0])
    assert code == 204 and headers["access-control-allow-methods"] == "GET, HEAD, OPTIONS"
    assert {k: headers.get(k) for k in SECURITY} == SECURITY


def test_head_sends_the_headers_without_the_body(base: str) -> None:
    responses, _ = exchange(base, b"HEAD /api/config HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    code, headers, body = parse(responses[0])
    assert code == 200 and body == b"" and int(headers["content-length"]) > 0
    assert headers["content-type"] == "application/json; charset=utf-8"


@pytest.mark.chaos
def test_an_oversized_body_is_refused_before_it_is_read(base: str) -> None:
    big = config.settings().web_max_request_bytes + 1
    responses, seconds = exchange(base, b"POST /api/documents HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % big
                                  + b"x" * 1000)
    assert len(responses) == 1 and seconds < 5
    assert "too large" in assert_json_error(responses[0], 413)["error"]


@pytest.fixture(scope="module")
def impatient(idx: index.Index) -> Iterator[str]:
    """A server with one-second timeouts."""
    settings = dataclasses.replace(config.settings(), web_keep_alive_timeout=1.0, web_request_timeout=1.0)
    server = web.serve("127.0.0.1", 0, settings)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.chaos
def test_an_idle_connection_is_closed(impatient: str) -> None:
    responses, seconds = exchange(impatient, b"", wait=10)
    assert responses == [] and seconds < 5      # closed by the server, not by the client's 10 s


@pytest.mark.chaos
def test_a_request_that_never_ends_times_out(impatient: str) -> None:
    responses, seconds = exchange(impatient, b"GET /health HTTP/1.1\r\nHost: x\r\n", wait=10)
    assert seconds < 5
    assert len(responses) == 1 and "timeout" in assert_json_error(responses[0], 408)["error"]


@pytest.mark.chaos
def test_a_body_that_never_ends_is_refused_and_the_connection_closed(impatient: str) -> None:
    responses, seconds = exchange(impatient, b"POST /api/documents HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc",
                                  wait=10)
    assert len(responses) == 1 and seconds < 5
    assert_json_error(responses[0], 405)


@pytest.mark.chaos
def test_a_kept_alive_connection_is_closed_when_idle(impatient: str) -> None:
    responses, seconds = exchange(impatient, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n", wait=10)
    assert len(responses) == 1 and parse(responses[0])[0] == 200 and seconds < 5


def test_without_the_index_the_api_says_so(tmp_path: Path) -> None:
    server = web.serve("127.0.0.1", 0, dataclasses.replace(config.settings(), index_dir=tmp_path / "none"))
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        status, data = get_json(f"{base}/api/documents")
        assert status == 503 and "make index" in data["error"]
        assert get_json(f"{base}/health") == (200, {"status": "ok"})
    finally:
        server.shutdown()


def test_settings_reach_the_server_process_through_the_environment() -> None:
    settings = dataclasses.replace(config.settings(), rasa_public_url="http://rasa.example:5005", min_confidence=None,
                                   extra_models=(), use_ranker=False, web_keep_alive_timeout=1.5)
    assert config.Settings.from_env(config.environ(settings)) == settings


def test_the_cli_says_when_the_port_is_taken(capsys: pytest.CaptureFixture[str]) -> None:
    from bot import cli

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert cli.main(["web", "--host", "127.0.0.1", "--port", str(taken.getsockname()[1])]) == 1
    err = capsys.readouterr().err
    assert "cannot listen on 127.0.0.1:" in err and "Traceback" not in err


def test_every_workshop_question_gets_the_reply_its_group_expects(engine: Engine) -> None:
    groups = yaml.safe_load(config.settings().workshop_path.read_text(encoding="utf-8"))["groups"]
    for g in groups:
        for q in g.get("en", []) + g.get("zh", []):
            reply = safety.handle(engine, q, Context()).to_payload()
            assert reply["kind"] == g["expect"], (g["id"], q)
