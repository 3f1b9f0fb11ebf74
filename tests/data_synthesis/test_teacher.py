"""Teacher mode against a fake OpenAI-compatible server on 127.0.0.1 (no other address is used)."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from data_synthesis.pipeline import GenConfig, generate
from data_synthesis.teacher import TeacherClient, TeacherError, chat_url

from .helpers import all_records


class _FakeOpenAI(BaseHTTPRequestHandler):
    """Answers POST /v1/chat/completions: writes 'key: value' lines for a JSON, or judges a text."""

    reject_judge = False
    requests: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "body": body})
        if self.path != "/v1/chat/completions":
            self.send_error(404)
            return
        prompt = body["messages"][-1]["content"]
        if "TEXT:" in prompt:  # judge request
            content = json.dumps({"grounded": not self.reject_judge, "unsupported": ["/x"] if self.reject_judge else []})
        else:
            gold = json.loads(prompt.split("JSON:\n", 1)[1])
            content = "Here you go:\n" + "\n".join(_lines(gold, ""))
        payload = json.dumps({"id": "x", "object": "chat.completion", "model": body["model"],
                              "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                           "finish_reason": "stop"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


def _lines(v: Any, path: str) -> list[str]:
    if isinstance(v, dict):
        return [line for k, x in v.items() for line in _lines(x, f"{path} {k}".strip())]
    if isinstance(v, list):
        return [line for i, x in enumerate(v) for line in _lines(x, f"{path} {i + 1}")]
    text = {True: "yes", False: "no", None: "none"}.get(v, v) if isinstance(v, bool) or v is None else v
    return [f"{path}: {text}"]


@pytest.fixture()
def server():
    _FakeOpenAI.requests = []
    _FakeOpenAI.reject_judge = False
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _FakeOpenAI)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_chat_url_normalisation():
    assert chat_url("http://h:8000") == "http://h:8000/v1/chat/completions"
    assert chat_url("http://h:8000/v1/") == "http://h:8000/v1/chat/completions"
    assert chat_url("http://h/v1/chat/completions") == "http://h/v1/chat/completions"
    with pytest.raises(ValueError):
        chat_url("ftp://h")


def test_client_writes_and_judges(server):
    c = TeacherClient(server, "fake-model")
    text = c.write_text({"type": "object"}, {"name": "Ada", "age": 36}, "bullets")
    assert "name: Ada" in text and "age: 36" in text
    assert c.judge({}, {"name": "Ada"}, text) == (True, [])
    assert _FakeOpenAI.requests[0]["body"]["model"] == "fake-model"
    _FakeOpenAI.reject_judge = True
    assert c.judge({}, {"name": "Ada"}, text) == (False, ["/x"])


def test_unreachable_teacher_raises_teacher_error():
    c = TeacherClient("http://127.0.0.1:9", "m", timeout=2)
    with pytest.raises(TeacherError):
        c.chat([{"role": "user", "content": "hi"}])


def test_pipeline_with_teacher(server, tmp_path):
    generate(GenConfig(n=24, seed=5, teacher_url=server, teacher_model="fake", progress=False), tmp_path / "a")
    recs = [r for rs in all_records(tmp_path / "a").values() for r in rs]
    assert recs and all(r["meta"]["text_source"] == "teacher" for r in recs)
    assert all(r["input_text"].startswith("Here you go:") for r in recs)
    assert len(_FakeOpenAI.requests) >= 2 * len(recs)  # one write and one judge per example
    assert all(re.match(r"^/v1/chat/completions$", q["path"]) for q in _FakeOpenAI.requests)
    _FakeOpenAI.reject_judge = True
    generate(GenConfig(n=10, seed=5, teacher_url=server, teacher_model="fake", progress=False), tmp_path / "b")
    card = json.loads((tmp_path / "b" / "card.json").read_text())
    assert card["dropped"]["teacher_rejected"] == 10 and card["kept"] == 0
