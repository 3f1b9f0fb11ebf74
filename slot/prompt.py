"""The one prompt template of SLOT, used by inference and training alike.

The instructions and the schema come first and the text last, so the key/value states of the first part
(the *prefix*) can be computed once per schema and reused across requests. The prefix and the text part
are tokenized separately and concatenated: training does the same, so the model sees identical tokens.
The model's chat template (if it has one) frames the messages; the text is spliced in at a sentinel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from slot.target import target_text

__all__ = ["Prompt", "PromptTokens", "SYSTEM", "Tokenizer", "answer_end_id", "encode", "head_ids", "render",
           "schema_prompt_tokens", "stop_ids", "target_text", "user_message"]

SYSTEM = (
    "You convert text into JSON. Output one JSON value that is valid against the given JSON Schema. "
    "Copy values from the text exactly as written; use null or leave out optional fields the text does not "
    "give. Output only the JSON."
)
_SENTINEL = "\u0000SLOT_TEXT\u0000"


class Tokenizer(Protocol):
    """The part of a Hugging Face tokenizer the prompt needs."""

    chat_template: Any

    def apply_chat_template(self, conversation: Any, **kwargs: Any) -> Any: ...

    def encode(self, text: str, **kwargs: Any) -> list[int]: ...


@dataclass(frozen=True)
class Prompt:
    """A rendered prompt split at the text: ``prefix`` depends on the schema only."""

    prefix: str
    suffix: str
    """The text followed by the end of the user turn and the start of the assistant turn."""

    @property
    def full(self) -> str:
        return self.prefix + self.suffix


@dataclass(frozen=True)
class PromptTokens:
    """Token ids of a prompt, prefix and suffix tokenized separately."""

    prefix: list[int]
    suffix: list[int]

    @property
    def ids(self) -> list[int]:
        return self.prefix + self.suffix


def user_message(schema_text: str, text: str) -> str:
    """The user turn: schema first, text last."""
    return f"JSON Schema:\n{schema_text}\n\nText:\n{text}"


def render(tokenizer: Tokenizer, schema_text: str, text: str) -> Prompt:
    """Render the prompt for a schema (canonical JSON text) and an input text."""
    content = user_message(schema_text, _SENTINEL)
    if getattr(tokenizer, "chat_template", None):
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": content}]
        try:
            full = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        except Exception:  # noqa: BLE001 - templates without a system role (e.g. Gemma) fold it into the user turn
            messages = [{"role": "user", "content": f"{SYSTEM}\n\n{content}"}]
            full = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    else:
        full = f"{SYSTEM}\n\n{content}\n\nJSON:\n"
    prefix, _, rest = full.partition(_SENTINEL)
    return Prompt(prefix=prefix, suffix=text + rest)


def answer_end_id(tokenizer: Any) -> int:
    """The token that ends an answer: what the chat template writes right after an assistant message
    (``<|im_end|>`` for SmolLM2), else the tokenizer's EOS. Training appends it to every target and the
    engines stop on it, so both read it from the template rather than from ``eos_token``, which a GGUF
    conversion may set to another token (one did: ``<|im_start|>``)."""
    if getattr(tokenizer, "chat_template", None):
        marker = "\u0000SLOT_ANSWER\u0000"
        try:
            text = tokenizer.apply_chat_template([{"role": "user", "content": "x"},
                                                  {"role": "assistant", "content": marker}], tokenize=False)
        except Exception:  # noqa: BLE001 - a template that cannot render a reply: fall back to the EOS token
            text = ""
        after = text.rpartition(marker)[2] if marker in text else ""
        ids = tokenizer.encode(after, add_special_tokens=False) if after else []
        if ids and ids[0] in set(getattr(tokenizer, "all_special_ids", [])):
            return int(ids[0])
    eos = getattr(tokenizer, "eos_token_id", None)
    if not isinstance(eos, int):
        raise ValueError("the tokenizer has no EOS token and its chat template no end-of-turn token")
    return eos


def stop_ids(tokenizer: Any, generation_eos: Any = None) -> set[int]:
    """Tokens that end a generation: the answer end, the tokenizer's EOS and the generation config's
    ``eos_token_id`` (an id or a list of ids)."""
    ids = {answer_end_id(tokenizer)}
    for source in (generation_eos, getattr(tokenizer, "eos_token_id", None)):
        if isinstance(source, int):
            ids.add(source)
        elif isinstance(source, (list, tuple)):
            ids.update(int(x) for x in source)
    return ids


def encode(tokenizer: Tokenizer, prompt: Prompt) -> PromptTokens:
    """Token ids of a rendered prompt. The chat template holds the special tokens it needs; a model without
    one (Gemma 3 base) still gets its beginning-of-sequence token first, which it was trained to see."""
    prefix = tokenizer.encode(prompt.prefix, add_special_tokens=False)
    bos = getattr(tokenizer, "bos_token_id", None)
    if isinstance(bos, int) and (not prefix or prefix[0] != bos):
        prefix = [bos] + prefix
    return PromptTokens(prefix=prefix, suffix=tokenizer.encode(prompt.suffix, add_special_tokens=False))


def head_ids(tokenizer: Tokenizer) -> list[int]:
    """The token ids every prompt begins with, whatever its schema and text: the instructions up to where the
    schema starts (the longest common start of two prompts whose schemas differ from their first character)."""
    first, second = (encode(tokenizer, render(tokenizer, schema, "x")).prefix for schema in ('{"a":1}', "[1]"))
    size = next((at for at, (a, b) in enumerate(zip(first, second)) if a != b), min(len(first), len(second)))
    return first[:size]


def schema_prompt_tokens(tokenizer: Tokenizer, schema_text: str) -> int:
    """Tokens the prompt of a schema takes with an empty text: what the schema alone costs of max_prompt_tokens
    (ValidateSchema refuses a schema that leaves no room for any text, as Structure would)."""
    tokens = encode(tokenizer, render(tokenizer, schema_text, ""))
    return len(tokens.prefix) + len(tokens.suffix)
