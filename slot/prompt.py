"""The one prompt template of SLOT, used by inference and training alike.

The instructions and the schema come first and the text last, so the key/value states of the first part
(the *prefix*) can be computed once per schema and reused across requests. The prefix and the text part
are tokenized separately and concatenated: training does the same, so the model sees identical tokens.
The model's chat template (if it has one) frames the messages; the text is spliced in at a sentinel.

The schema is written as its canonical JSON (every training row is written so). A schema whose full rendering
takes more than ``SCHEMA_SHARE`` of the prompt budget is written compact instead (:func:`compact_schema`:
structure, types, enums and short descriptions), and when even that takes too much, as its skeleton
(``slot.schema_skeleton``: the top levels only, deeper subschemas cut to stubs), so a big schema still leaves the
text room; the grammar always gets the full schema. :func:`schema_rendering` picks the one rendering every path uses
(Structure, ValidateSchema, ``slot schema``).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote

from slot.errors import InvalidRequestError
from slot.leaves import resolve_ref
from slot.schema import Schema, canonical_json
from slot.schema_skeleton import SchemaSkeleton
from slot.schema_tree import subschemas
from slot.target import target_text

__all__ = ["COMPACT_DESCRIPTIONS", "LEVELS", "NOISE", "Prompt", "PromptTokens", "SCHEMA_SHARE", "SYSTEM",
           "SchemaRendering", "Tokenizer", "answer_end_id", "compact_schema", "encode", "head_ids", "render",
           "schema_prompt_tokens", "schema_rendering", "stop_ids", "target_text", "user_message"]

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


SCHEMA_SHARE = 0.5
"""The share of max_prompt_tokens (with an empty text) a schema's full rendering may take; past it the prompt
carries the compact rendering, so the text keeps at least the other half where the compact one fits there."""

COMPACT_DESCRIPTIONS = (120, 40, 0)
"""Longest description (characters) of each compact level, tried in turn until one fits ``SCHEMA_SHARE``;
0 leaves descriptions out."""

LEVELS = ("full", "compact", "skeleton")
"""The renderings a prompt's schema can take, largest first (``SchemaRendering.level``): the canonical JSON, a
compact level (``compact_schema``), the skeleton of the description-less compact level cut to a depth
(``slot.schema_skeleton``)."""

NOISE = frozenset({
    "examples", "example", "default", "$comment", "$schema", "$id", "$anchor", "$dynamicAnchor", "$recursiveAnchor",
    "$vocabulary", "deprecated", "readOnly", "writeOnly", "markdownDescription", "markdownEnumDescriptions",
    "enumDescriptions", "deprecationMessage", "errorMessage", "defaultSnippets", "doNotSuggest",
    "allowTrailingCommas", "allowComments",
})
"""Keywords the compact rendering leaves out: examples, defaults, comments, identifiers and editor hints (vendor
``x-...`` keywords too). None constrains a value, and the grammar gets the full schema."""


@dataclass(frozen=True)
class SchemaRendering:
    """The schema text a prompt carries and what it costs."""

    text: str
    tokens: int
    """Prompt tokens with an empty text (``schema_prompt_tokens``)."""
    compact: bool
    """True when the text is not the canonical JSON: a compact rendering (``compact_schema``) or a skeleton."""
    full_tokens: int
    """Prompt tokens of the full rendering, for reports."""
    level: str = "full"
    """Which rendering the text is, one of ``LEVELS``."""
    depth: int | None = None
    """The depth a skeleton is cut at (``slot.schema_skeleton``); None for the other levels."""


def compact_schema(document: Any, description_chars: int = COMPACT_DESCRIPTIONS[0]) -> Any:
    """A smaller schema for the prompt alone: ``NOISE`` keywords out, titles that only repeat their key out,
    descriptions cut to their first sentence and ``description_chars`` (0: left out), and ``$defs`` entries no
    reference reaches left out; each entry still written once (references stay references). Works on
    ``Schema.document``, whose references are all ``#/...`` pointers."""
    if not isinstance(document, dict):
        return document
    out = copy.deepcopy(document)
    stack: list[tuple[Any, str]] = [(out, "")]
    while stack:
        node, name = stack.pop()
        if not isinstance(node, dict):
            continue
        for key in [k for k in node if k in NOISE or k.startswith("x-")]:
            del node[key]
        title = node.get("title")
        if isinstance(title, str) and (_words(title) == _words(name) or description_chars == 0 or
                                       "description" in node):
            del node["title"]
        if isinstance(node.get("description"), str):
            short = _shorten(node["description"], description_chars)
            if short:
                node["description"] = short
            else:
                del node["description"]
        children = list(subschemas(node))
        for child, path in children:
            stack.append((child, path.rsplit("/", 1)[-1].replace("~1", "/").replace("~0", "~")))
    _drop_unreferenced(out)
    return out


def schema_rendering(tokenizer: Tokenizer, schema: Schema, max_prompt_tokens: int) -> SchemaRendering:
    """The rendering of ``schema`` its prompts carry: the canonical JSON when it takes at most ``SCHEMA_SHARE`` of
    ``max_prompt_tokens``, else the first compact level that does, else the deepest skeleton that does (cut at
    depth 1 at the shallowest), else the smallest of them all. Raises InvalidRequestError when even the smallest
    leaves no room for a text within ``max_prompt_tokens``."""
    full = schema_prompt_tokens(tokenizer, schema.canonical)
    share = int(max_prompt_tokens * SCHEMA_SHARE)
    best = SchemaRendering(schema.canonical, full, compact=False, full_tokens=full)
    if full <= share:
        return best
    bare: Any = schema.document
    for chars in COMPACT_DESCRIPTIONS:
        bare = compact_schema(schema.document, chars)
        text = canonical_json(bare)
        tokens = schema_prompt_tokens(tokenizer, text)
        if tokens < best.tokens:
            best = SchemaRendering(text, tokens, compact=True, full_tokens=full, level="compact")
        if tokens <= share:
            return best
    skeleton = _skeleton_rendering(tokenizer, SchemaSkeleton(bare, drop=_skeleton_drops), share, full)
    if skeleton.tokens < best.tokens:
        best = skeleton
    if best.tokens >= max_prompt_tokens:
        raise InvalidRequestError(
            f"the schema alone takes {best.tokens} prompt tokens even in its compact rendering cut to its top level "
            f"(full: {full}), over the prompt budget of {max_prompt_tokens} tokens (max_prompt_tokens) with no room "
            "for any text; shorten the schema (fewer properties or $defs at its top, shorter enums) or raise "
            "max_prompt_tokens", field="schema")
    return best


def _skeleton_rendering(tokenizer: Tokenizer, skeleton: SchemaSkeleton, share: int, full: int) -> SchemaRendering:
    """The deepest skeleton whose prompt takes at most ``share`` tokens, else the one cut at depth 1 (the
    smallest). A deeper cut shows all a shallower one does and more, so the size grows with the depth: a binary
    search over 1..``skeleton.height`` finds the deepest that fits in a few tokenizations (each one of a text the
    size of the cut, where trying every depth from the deepest would tokenize several near-full renderings)."""
    tried: dict[int, SchemaRendering] = {}

    def at(depth: int) -> SchemaRendering:
        if depth not in tried:
            text = canonical_json(skeleton.render(depth))
            tried[depth] = SchemaRendering(text, schema_prompt_tokens(tokenizer, text), compact=True,
                                           full_tokens=full, level="skeleton", depth=depth)
        return tried[depth]

    low, high = 1, max(1, skeleton.height)
    if at(low).tokens > share:
        return at(low)
    while low < high:  # at(low) fits
        middle = (low + high + 1) // 2
        if at(middle).tokens <= share:
            low = middle
        else:
            high = middle - 1
    return at(low)


def _skeleton_drops(key: str) -> bool:
    """The keywords no subschema of a skeleton keeps: the compact rendering's noise, titles and descriptions (the
    skeleton is cut from the level without them; this reaches the regions only references lead to)."""
    return key in NOISE or key.startswith("x-") or key in ("title", "description")


def _words(text: str) -> list[str]:
    """Lower-case words of a key or title, camelCase and snake_case split: 'firstName' ~ 'First name'."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    return re.findall(r"[a-z0-9]+", spaced.lower())


def _shorten(text: str, limit: int) -> str:
    """The first sentence of a description, at most ``limit`` characters (cut at a word, '...' added)."""
    if limit <= 0:
        return ""
    text = " ".join(text.split())
    sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    if len(sentence) <= limit:
        return sentence
    cut = sentence[:limit].rsplit(" ", 1)[0] or sentence[:limit]
    return cut.rstrip(",;:") + "..."


def _drop_unreferenced(document: dict[str, Any]) -> None:
    """Remove the ``$defs``/``definitions`` entries of the root that no reference reaches from the root."""
    containers = [k for k in ("$defs", "definitions") if isinstance(document.get(k), dict)]
    if not containers:
        return
    reached: set[int] = set()
    stack: list[Any] = [{k: v for k, v in document.items() if k not in containers}]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict) or id(node) in reached:
            continue
        reached.add(id(node))
        ref = node.get("$ref")
        if isinstance(ref, str):
            try:
                stack.append(resolve_ref(document, ref))
            except LookupError:
                pass
            for key in containers:  # a pointer into an entry (#/$defs/a/properties/b) keeps the whole entry
                prefix = f"#/{key}/"
                if unquote(ref).startswith(prefix):
                    entry = unquote(ref)[len(prefix):].split("/", 1)[0]
                    stack.append(document[key].get(entry.replace("~1", "/").replace("~0", "~")))
        stack.extend(child for child, _ in subschemas(node))
    for key in containers:
        document[key] = {name: sub for name, sub in document[key].items() if id(sub) in reached}
        if not document[key]:
            del document[key]
