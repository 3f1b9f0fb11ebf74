"""``slot structure``: one text (flag or stdin) or a JSONL batch with a progress bar."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from slot.config import Settings
from slot.errors import InvalidRequestError, SlotError
from slot.grounding.policy import GROUNDING_POLICIES

MODEL_FIELDS = ["home", "base_model", "adapter", "adapters", "grammar_backend", "dtype", "threads", "max_tokens",
                "max_string_repeats", "max_number_digits", "finish_window", "parse_first", "relaxed_retries", "speculation", "draft_tokens", "max_text_chars", "engine", "vllm_max_num_seqs", "vllm_kv_cache_mb",
                "vllm_max_model_len", "vllm_enforce_eager", "vllm_custom_ops", "schema_registry_dir"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--schema", help="JSON Schema file (single-text mode)")
    parser.add_argument("--text", help="the text to structure; read from stdin when omitted")
    parser.add_argument("--input", help="JSONL batch: lines with id, input_text, json_schema")
    parser.add_argument("--output", help="where batch results go (JSONL); default stdout")
    parser.add_argument("--limit", type=int, default=0, help="batch: only the first N lines")
    parser.add_argument("--no-constraint", dest="constrained", action="store_false",
                        help="decode without the grammar (evaluation baseline)")
    parser.add_argument("--use-adapter", dest="use_adapter", default=None,
                        help="adapter for these requests: 'default', 'base' or a name from --adapters")
    parser.add_argument("--grounding-policy", default=None, choices=GROUNDING_POLICIES,
                        help="what to do with values not found in the text (default: the setting grounding_policy, "
                             "env SLOT_GROUNDING_POLICY)")
    parser.add_argument("--strict", action="store_true",
                        help="refuse a schema the grammar would only approximate (oneOf as anyOf, not, if/then/else, "
                             "dependent*...) instead of serving it relaxed with post-validation and retries")
    parser.add_argument("--full", action="store_true", help="single-text mode: print the whole result record")
    Settings.add_arguments(parser, MODEL_FIELDS)


def run(args: argparse.Namespace) -> int:
    from slot.schema import load_schema
    from slot.schema_registry import registry_for
    from slot.structurer import Structurer, check_text, schema_limits

    if args.input:
        if args.schema or args.text:
            raise InvalidRequestError("use either --input (batch) or --schema/--text, not both")
        rows = _read_rows(Path(args.input), args.limit)
        out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
        try:
            with Structurer.from_settings(Settings.from_args(args)) as structurer:
                return _batch(structurer, rows, out, args)
        finally:
            if out is not sys.stdout:
                out.close()
    if not args.schema:
        raise InvalidRequestError("--schema is required (or --input for a batch)")
    schema_path = Path(args.schema)
    if not schema_path.is_file():
        raise InvalidRequestError(f"schema file not found: {schema_path}", field="schema")
    text = args.text if args.text is not None else _read_stdin()
    settings = Settings.from_args(args)
    check_text(text, settings.max_text_chars)  # refuse bad input before the model loads
    schema = load_schema(schema_path.read_bytes(), schema_limits(settings), registry_for(settings))  # as the server
    with Structurer.from_settings(settings) as structurer:
        result = structurer.structure(text, schema, constrained=args.constrained, adapter=args.use_adapter,
                                      grounding_policy=args.grounding_policy, strict=args.strict)
    ignored = result.enforcement.ignored_keywords
    if ignored:  # never silent: say what nothing checked
        print("slot structure: nothing enforces these schema keywords: " + ", ".join(ignored), file=sys.stderr)
    if result.attempts > 1:  # the grammar was relaxed and an output broke a post-checked keyword
        print(f"slot structure: decoded {result.attempts} times (post-checked: "
              f"{', '.join(result.enforcement.post_checked_keywords)})", file=sys.stderr)
    if args.full:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(json.dumps(result.json, ensure_ascii=False, indent=2) if result.json is not None else result.output)
    if result.cut_paths or result.filled_paths:
        print(f"slot structure: max_tokens ended the output; cut: {', '.join(result.cut_paths) or 'none'}; "
              f"filled: {', '.join(result.filled_paths) or 'none'}", file=sys.stderr)
    if not result.valid:
        print(f"slot structure: output is not valid ({result.finish_reason}): " + "; ".join(result.errors),
              file=sys.stderr)
        return 1
    return 0


def _read_stdin() -> str:
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequestError(f"text on stdin is not valid UTF-8 (byte {exc.start})", field="text") from None


def _read_rows(path: Path, limit: int) -> list[tuple[int, str]]:
    if not path.is_file():
        raise InvalidRequestError(f"input file not found: {path}")
    rows: list[tuple[int, str]] = []
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            if raw.strip():
                rows.append((number, raw.decode("utf-8", errors="replace") if _is_utf8(raw) else ""))
            if limit and len(rows) >= limit:
                break
    return rows


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _batch(structurer: Any, rows: list[tuple[int, str]], out: TextIO, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    failures = 0
    valid = 0
    for number, line in tqdm(rows, desc="structuring", unit="row", file=sys.stderr, dynamic_ncols=True):
        record = _one(structurer, number, line, args)
        failures += "error" in record
        valid += bool(record.get("valid"))
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        out.flush()
    print(f"slot structure: {len(rows)} rows, {valid} valid, {failures} refused", file=sys.stderr)
    return 0


def _one(structurer: Any, number: int, line: str, args: argparse.Namespace) -> dict[str, Any]:
    row_id: Any = f"line-{number}"
    started = time.perf_counter()
    try:
        if not line:
            raise InvalidRequestError("line is not valid UTF-8")
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidRequestError(f"line is not valid JSON: {exc.msg}") from None
        if not isinstance(row, dict):
            raise InvalidRequestError("line must be a JSON object with id, input_text, json_schema")
        row_id = row.get("id", row_id)
        for key in ("input_text", "json_schema"):
            if key not in row:
                raise InvalidRequestError(f"line has no {key!r} field")
        schema = row["json_schema"]
        if not isinstance(schema, (dict, str, bool)):
            raise InvalidRequestError("json_schema must be an object or a JSON string", field="schema")
        result = structurer.structure(row["input_text"], schema, constrained=args.constrained,
                                      adapter=args.use_adapter, grounding_policy=args.grounding_policy,
                                      strict=args.strict)
    except SlotError as exc:
        return {"id": row_id, "output": None, "json": None, "valid": False, "errors": [str(exc)],
                "error": {"status": exc.status, "field": exc.field, "message": str(exc)},
                "latency_ms": round((time.perf_counter() - started) * 1000, 1)}
    return {"id": row_id, "output": result.output, "json": result.json, "valid": result.valid,
            "errors": result.errors, "finish_reason": result.finish_reason, "usage": result.usage.to_dict(),
            "latency_ms": round((time.perf_counter() - started) * 1000, 1), "grounding": result.grounding,
            "path": result.path, "cut_paths": result.cut_paths, "filled_paths": result.filled_paths,
            "enforcement": result.enforcement.to_dict(), "attempts": result.attempts}
