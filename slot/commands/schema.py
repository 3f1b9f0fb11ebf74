"""``slot schema``: check and compile a schema as the server would, and say what will enforce each keyword.

The CLI twin of the ``ValidateSchema`` RPC: the server's limits and local schema registry, the grammar compile with the chosen backend,
the prompt's token count with an empty text (refused when it leaves no room for any text), and the
enforcement (``slot.enforcement``). Only the tokenizer is loaded, not the model's weights.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from slot.config import Settings
from slot.errors import InvalidRequestError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("schema", help="JSON Schema file ('-' reads stdin)")
    parser.add_argument("--strict", action="store_true",
                        help="refuse the schema when the grammar would only approximate it (as a strict request)")
    Settings.add_arguments(parser, ["home", "base_model", "grammar_backend", "compile_timeout_s", "close_objects",
                                    "max_prompt_tokens", "max_schema_bytes", "max_bundled_schema_bytes", "max_schema_depth",
                                    "max_enum_values",
                                    "max_schema_nodes", "schema_registry_dir"])


def run(args: argparse.Namespace) -> int:
    from slot.grammar.cache import GrammarCache
    from slot.models import load_tokenizer, resolve_base_model
    from slot.prompt import schema_rendering
    from slot.schema import load_schema
    from slot.schema_registry import registry_for
    from slot.structurer import schema_limits

    settings = Settings.from_args(args)
    raw = sys.stdin.buffer.read() if args.schema == "-" else _read(Path(args.schema))
    schema = load_schema(raw, schema_limits(settings), registry_for(settings))  # the server's limits and registry
    tokenizer, vocab_size = load_tokenizer(resolve_base_model(settings.base_model, settings.home_path))
    prompt_tokens = schema_rendering(tokenizer, schema, settings.max_prompt_tokens).tokens  # as Structure's prompt
    cache = GrammarCache(tokenizer, vocab_size, compile_timeout_s=settings.compile_timeout_s,
                         close_objects=settings.close_objects)
    compiled, _ = cache.get(schema, settings.grammar_backend, strict=args.strict)
    report = {"schema_hash": schema.hash, "grammar_backend": settings.grammar_backend,
              "compile_ms": round(compiled.compile_ms, 2), "prompt_tokens": prompt_tokens,
              "max_prompt_tokens": settings.max_prompt_tokens,
              "relaxed": bool(compiled.enforcement and compiled.enforcement.relaxed),
              "enforcement": compiled.enforcement.to_dict() if compiled.enforcement else None}
    print(json.dumps(report, indent=2))
    return 0


def _read(path: Path) -> bytes:
    if not path.is_file():
        raise InvalidRequestError(f"schema file not found: {path}", field="schema")
    return path.read_bytes()
