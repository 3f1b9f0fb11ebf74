"""Teacher mode: an OpenAI-compatible chat-completions endpoint (e.g. vLLM) writes the text for a
gold JSON and judges whether every value is supported by a text, as in the SLOT paper.

HTTP is plain urllib (no extra dependency). The client only ever talks to the URL it is given.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

_STYLE_HINTS = {
    "prose_short": "two or three plain sentences", "prose_medium": "a short paragraph",
    "prose_long": "two paragraphs with some unrelated context", "bullets": "a markdown bullet list",
    "markdown_table": "a markdown table", "email": "an email with a subject line and a greeting",
    "dialogue": "a dialogue between two people", "chat_reply": "a chatbot answer with a friendly preamble and closing",
    "yaml": "a YAML-like block", "key_value": "'key: value' lines", "broken_json": "a code-fenced JSON with small syntax errors",
    "report": "a markdown report with headings",
}


class TeacherError(RuntimeError):
    """The teacher endpoint failed or answered something unusable."""


def chat_url(base: str) -> str:
    """Normalise a base URL ("http://h:8000", ".../v1") to its chat-completions endpoint."""
    b = base.rstrip("/")
    if not b.startswith(("http://", "https://")):
        raise ValueError(f"teacher URL must start with http:// or https://: {base!r}")
    if b.endswith("/chat/completions"):
        return b
    return b + ("/chat/completions" if b.endswith("/v1") else "/v1/chat/completions")


@dataclass
class TeacherClient:
    url: str
    model: str
    timeout: float = 60.0
    api_key: str | None = None
    temperature: float = 0.7

    def __post_init__(self) -> None:
        self.endpoint = chat_url(self.url)

    def chat(self, messages: list[dict[str, str]], max_tokens: int = 1024, temperature: float | None = None) -> str:
        """One chat completion; returns the assistant message content."""
        body = json.dumps({"model": self.model, "messages": messages, "max_tokens": max_tokens,
                           "temperature": self.temperature if temperature is None else temperature}).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(self.endpoint, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                data = json.loads(resp.read().decode("utf-8"))
            return str(data["choices"][0]["message"]["content"])
        except (urllib.error.URLError, OSError, ValueError, KeyError, IndexError, TypeError) as e:
            raise TeacherError(f"teacher request to {self.endpoint} failed: {e}") from e

    def write_text(self, schema: dict[str, Any], gold: Any, kind: str) -> str:
        """Ask the teacher for an unstructured text that states exactly the values in `gold`."""
        style = _STYLE_HINTS.get(kind, "a short paragraph")
        messages = [
            {"role": "system", "content": "You write realistic unstructured text that contains given facts."},
            {"role": "user", "content": (
                f"Write {style} that states every value of this JSON, and nothing that contradicts it. "
                "Do not mention fields that are absent. You may reword keys, reorder fields and reformat "
                "dates or numbers, but every value must be recoverable. Reply with the text only.\n\n"
                f"JSON:\n{json.dumps(gold, ensure_ascii=False)}")},
        ]
        text = self.chat(messages).strip()
        if not text:
            raise TeacherError("teacher returned an empty text")
        return text

    def judge(self, schema: dict[str, Any], gold: Any, text: str) -> tuple[bool, list[str]]:
        """(every value supported?, unsupported paths) as judged by the teacher."""
        messages = [
            {"role": "system", "content": "You are a strict annotator. Answer with JSON only."},
            {"role": "user", "content": (
                "Can every value in the JSON be inferred from the text? Answer "
                '{"grounded": true|false, "unsupported": ["/json/pointer", ...]}.\n\n'
                f"TEXT:\n{text}\n\nJSON:\n{json.dumps(gold, ensure_ascii=False)}")},
        ]
        answer = self.chat(messages, max_tokens=256, temperature=0.0)
        m = re.search(r"\{.*\}", answer, re.S)
        if not m:
            raise TeacherError(f"teacher judge answer is not JSON: {answer[:80]!r}")
        try:
            verdict = json.loads(m.group(0))
        except json.JSONDecodeError as e:
            raise TeacherError(f"teacher judge answer is not JSON: {e}") from e
        unsupported = [str(p) for p in verdict.get("unsupported", []) or []]
        return bool(verdict.get("grounded")) and not unsupported, unsupported
