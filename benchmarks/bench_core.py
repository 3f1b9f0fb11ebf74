"""Core numbers of SLOT (issue 2): start-up, grammar compilation, decoding speed, E2E baseline accuracy.

Sections (each printed as a table; ``--out`` also writes every number as JSON):

1. **Cold start**: ``slot model prepare`` in a subprocess with an empty ``SLOT_HOME`` (a temp dir), so the
   GGUF de-quantization and the safetensors conversion are included; **warm start**:
   ``Structurer.from_settings`` on the converted cache (imports timed separately).
2. **Grammar compilation** over the JSON-Schema-Test-Suite schemas (draft2020-12 and draft7, optional/
   included) that ``load_schema`` accepts, per backend (llguidance, xgrammar, outlines_core): p50/p95 of the
   backend's compile call, of compile + first token mask (llguidance builds its lexer lazily, so the first
   mask is where its work shows), and the ``GrammarCache`` hit time. Every backend runs in a worker process
   with a per-schema timeout (``--compile-timeout``), so a pathological schema is counted, not waited for.
3. **Decoding**: tokens/s and per-request latency p50/p95 for a 3-field and a 15-field schema, speculation
   on and off (base model, greedy, constrained, llguidance, prefix cache warm).
4. **E2E baseline**: every 23rd row of the shared E2E dev set (``--rows``, default 200) with the base model
   (``adapter="none"``), constrained: share of schema-valid outputs and a rough content check (exact match
   per field against the gold values, raw and case/space-normalised).

It also regenerates ``tests/data/grammar_suite_refusals.json``: which suite schemas ``load_schema`` or the
default grammar backend refuse, grouped in categories with the reason (``--refusals-only`` does just that;
``tests/test_grammar_suite.py`` recomputes it and compares).

    SLOT_HOME=/tmp/slothome .venv/bin/python benchmarks/bench_core.py --rows 40          # smoke run
    SLOT_HOME=/tmp/slothome .venv/bin/python benchmarks/bench_core.py --out benchmarks/results/core.json
    SLOT_HOME=/tmp/slothome .venv/bin/python benchmarks/bench_core.py --refusals-only

Timings are wall-clock on whatever else the machine is doing: the load average is recorded with them.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHARED = ROOT.parent / "shared"
SUITE_TESTS = SHARED / "data" / "json-schema-test-suite" / "tests"
E2E = SHARED / "data" / "e2e" / "e2e_dev_slot.jsonl"
REFUSALS = ROOT / "tests" / "data" / "grammar_suite_refusals.json"

DRAFTS: dict[str, str | None] = {
    "draft2020-12": None,  # SLOT's default draft: schemas go in as they are
    "draft7": "http://json-schema.org/draft-07/schema#",  # the suite omits $schema; SLOT needs it to pick Draft 7
}
DEFAULT_BACKEND = "llguidance"
BACKEND_NAMES = ("llguidance", "xgrammar", "outlines_core")


# --------------------------------------------------------------------------------------------------
# JSON-Schema-Test-Suite walk (shared with tests/test_grammar_suite.py)
# --------------------------------------------------------------------------------------------------

@dataclass
class SuiteCase:
    """One test case of the suite: a schema and its instances."""

    file: str
    """Path under tests/, e.g. 'draft7/optional/format/date.json'."""
    description: str
    schema: Any
    """The schema as SLOT receives it ($schema added for draft7 when the suite leaves it out)."""
    tests: list[dict[str, Any]]

    @property
    def optional(self) -> bool:
        return "/optional/" in self.file

    @property
    def name(self) -> str:
        return f"{self.file}: {self.description}"


def iter_suite_cases(root: Path = SUITE_TESTS, drafts: tuple[str, ...] = tuple(DRAFTS),
                     optional: bool = True) -> Iterator[SuiteCase]:
    """Every test case of the chosen drafts, files in sorted order."""
    from shared_data import require

    require(root, "the JSON-Schema-Test-Suite's tests/ folder")
    for draft in drafts:
        files = sorted(glob.glob(str(root / draft / "*.json")))
        if optional:
            files += sorted(glob.glob(str(root / draft / "optional" / "**" / "*.json"), recursive=True))
        for path in files:
            relative = Path(path).relative_to(root).as_posix()
            with open(path, encoding="utf-8") as handle:
                cases = json.load(handle)
            for case in cases:
                schema = case["schema"]
                uri = DRAFTS[draft]
                if uri and isinstance(schema, dict) and "$schema" not in schema:
                    schema = {"$schema": uri, **schema}
                yield SuiteCase(relative, case["description"], schema, case["tests"])


@dataclass
class InstanceOutcome:
    file: str
    case: str
    test: str
    valid: bool
    """What the suite says."""
    text: str
    """target_text(instance, schema): what was tokenized and fed to the grammar."""
    grammar_accepts: bool
    post_rejects: bool
    """SLOT's post-validation (Schema.errors: jsonschema, formats asserted) finds errors."""
    post_checked: list[str]
    note: str = ""
    post_crash: str = ""
    """Set when Schema.errors raised instead of answering (a bug: post-validation must never crash)."""


@dataclass
class Refusal:
    file: str
    case: str
    stage: str
    """'load_schema' or 'grammar'."""
    category: str
    keyword: str
    reason: str
    unexpected: bool
    """True when the refusal is not a SlotError (an uncaught exception: a bug)."""
    message: str


@dataclass
class SuiteRun:
    cases: int = 0
    compiled: int = 0
    outcomes: list[InstanceOutcome] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    seconds: float = 0.0

    def instances(self, *, valid: bool, optional: bool | None = None, exact: bool = False) -> list[InstanceOutcome]:
        """The outcomes of valid or invalid instances (``optional``: of optional/ or not; ``exact``: only schemas
        whose grammar relaxed nothing, i.e. served to a strict request)."""
        from slot.enforcement import STRICT_POST_CHECKED

        return [o for o in self.outcomes if o.valid == valid
                and (optional is None or ("/optional/" in o.file) == optional)
                and (not exact or set(o.post_checked) <= STRICT_POST_CHECKED)]

    def invalid_rejected_share(self, optional: bool | None = None, exact: bool = False) -> float:
        invalid = self.instances(valid=False, optional=optional, exact=exact)
        return sum(not o.grammar_accepts for o in invalid) / max(1, len(invalid))


# Reasons for refusal categories: (regex on the first line of the message, category, keyword, reason).
_LOAD_RULES: list[tuple[str, str, str, str]] = [
    (r"only local references", "remote or relative $ref", "$ref",
     "SLOT resolves references inside the document only (pointers, anchors, URIs an $id of the document names) and "
     "never fetches a schema (remote URLs, URNs, and refs to documents the suite serves remotely are refused)"),
    (r"anchor references", "$ref to an $anchor", "$ref",
     "only JSON-pointer fragments are resolved; plain-name fragments ('#foo') need $anchor support"),
    (r"\$dynamicRef is not supported|\$recursiveRef is not supported", "$dynamicRef / $recursiveRef", "$dynamicRef",
     "dynamic scope resolution is not supported; use a local $ref"),
    (r"\$id in a subschema", "$id base-URI change in a subschema", "$id",
     "a subschema $id starts a new resource; SLOT keeps one document and one base URI"),
    (r"unsupported \$schema", "custom meta-schema", "$schema",
     "only the standard meta-schemas (2020-12, 2019-09, 7, 6, 4) are known; custom ones would have to be fetched"),
    (r"regex syntax SLOT cannot check", "pattern outside Python's regex dialect", "pattern",
     "post-validation checks patterns with Python's re (e.g. no \\p{...} classes); refused so it cannot crash"),
    (r"violates the meta-schema", "meta-schema violation", "",
     "the schema is not valid against its meta-schema"),
    (r"reference cycle", "$ref cycle on the same instance", "$ref",
     "a subschema applies itself to the same value without end"),
    (r"over the limit|more than \d+ subschemas|nests deeper", "over the limits", "limits",
     "size, depth, node or enum limits"),
]
_GRAMMAR_RULES: list[tuple[str, str, str, str]] = [
    (r"Unimplemented keys: (\[.*\])", "unimplemented keyword: {0}", "{0}",
     "llguidance has no grammar for this keyword, and its lenient compile (the keyword left to post-validation) "
     "failed too"),
    (r"oneOf constraints are not supported|oneOf not fully supported", "oneOf", "oneOf",
     "exclusive oneOf is not expressible in the grammar, and the lenient compile (oneOf as anyOf) failed too"),
    (r"Unsatisfiable schema|admits no value at all", "unsatisfiable schema", "",
     "no JSON value satisfies it (false, empty enum, all-false combinators): nothing can be generated"),
    (r"Unknown format: (\S+)", "format {0}", "format",
     "llguidance has no grammar for this format"),
    (r"Expected positive integer for '(\w+)'", "{0} given as a decimal", "{0}",
     "llguidance wants an integer literal (the suite writes e.g. 2.0, which JSON Schema allows)"),
    (r"patternProperty regexes .* are not disjoint", "overlapping patternProperties", "patternProperties",
     "llguidance needs the patternProperties regexes to be disjoint to know which subschema a key takes"),
    (r"'multipleOf' has too many digits", "multipleOf with too many digits", "multipleOf",
     "the decimal multipleOf grammar is limited in precision"),
    (r"Failed to generate regex for float range", "number bound beyond float precision", "minimum/maximum",
     "llguidance turns numeric bounds into a regex via 64-bit floats; bounds like 1.8e19 or 9.7e26 with more "
     "digits than a double holds cannot be expressed"),
    (r"Value is not JSON serializable", "integer beyond 64 bits", "minimum/maximum",
     "llguidance reads the schema through 64-bit numbers; an integer literal like -18446744073709551615 "
     "cannot be passed to it"),
    (r"regex parse error", "pattern the regex engine cannot parse", "pattern",
     "ECMA-262 syntax outside llguidance's regex dialect (control escapes \\cX)"),
    (r"took longer than", "compile timeout", "limits", "compilation exceeded the compile timeout"),
]
# For a refusal naming several unimplemented keywords, the category is the first of these it names.
_PRIMARY = ("unevaluatedProperties", "unevaluatedItems", "dependentSchemas", "dependencies", "not", "if", "then",
            "else")


def _apply_rules(rules: list[tuple[str, str, str, str]], message: str) -> tuple[str, str, str] | None:
    for pattern, category, keyword, reason in rules:
        found = re.search(pattern, message)
        if not found:
            continue
        if found.groups() and found.group(1).startswith("["):  # a list of unimplemented keywords
            keys = json.loads(found.group(1))
            primary = next((k for k in _PRIMARY if k in keys), sorted(keys)[0])
            if primary in ("if", "then", "else"):
                primary = "if/then/else"
            return category.format(primary), keyword.format(primary), reason
        return category.format(*found.groups()), keyword.format(*found.groups()), reason
    return None


def classify(stage: str, exc: BaseException) -> tuple[str, str, str, bool]:
    """(category, keyword, reason, unexpected) of a refusal, stable across runs."""
    from slot.errors import SlotError

    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if not isinstance(exc, SlotError):
        general = re.sub(r"-?\d{6,}", "N", message)
        return (f"uncaught {type(exc).__name__}: {general}", "", "BUG: not turned into a SlotError, so a request "
                "with this schema fails with an internal error instead of a clear refusal", True)
    found = _apply_rules(_LOAD_RULES if stage == "load_schema" else _GRAMMAR_RULES, message)
    if found is None:
        return re.sub(r"\d+", "N", message)[:120], getattr(exc, "keyword", ""), "unclassified", False
    category, keyword, reason = found
    return category, keyword or getattr(exc, "keyword", ""), reason, False


def run_suite(tokenizer: Any, grammars: Any, limits: Any = None, *, backend: str = DEFAULT_BACKEND,
              optional: bool = True, root: Path = SUITE_TESTS) -> SuiteRun:
    """Load, compile and feed every suite instance through the real tokenizer and compiled grammar."""
    from slot.prompt import target_text
    from slot.schema import load_schema

    run = SuiteRun()
    started = time.perf_counter()
    for case in iter_suite_cases(root, optional=optional):
        run.cases += 1
        stage = "load_schema"
        try:
            checked = load_schema(case.schema, limits)
            stage = "grammar"
            compiled, _ = grammars.get(checked, backend)
        except Exception as exc:  # noqa: BLE001 - every refusal is recorded, SlotError or not (then a bug)
            category, keyword, reason, unexpected = classify(stage, exc)
            run.refusals.append(Refusal(case.file, case.description, stage, category, keyword, reason,
                                        unexpected, str(exc).splitlines()[0] if str(exc) else ""))
            continue
        run.compiled += 1
        for test in case.tests:
            note = ""
            try:
                text = target_text(test["data"], case.schema)
                ids = tokenizer.encode(text, add_special_tokens=False)
                matcher = compiled.matcher()
                accepts = bool(matcher.consume(ids)) and bool(matcher.is_accepting())
            except Exception as exc:  # noqa: BLE001 - counted as not accepted, with the reason
                text, accepts, note = "", False, f"{type(exc).__name__}: {exc}"
            try:
                post_rejects = bool(checked.errors(test["data"]))
                post_crash = ""
            except Exception as exc:  # noqa: BLE001 - a crash of post-validation is a bug; recorded, not fatal
                post_rejects, post_crash = False, f"{type(exc).__name__}: {exc}"
            run.outcomes.append(InstanceOutcome(
                case.file, case.description, test["description"], bool(test["valid"]), text, accepts,
                post_rejects, [*compiled.post_checked, *checked.relaxed], note, post_crash))  # relaxed: local_refs
    run.seconds = time.perf_counter() - started
    return run


def refusal_report(run: SuiteRun, backend: str = DEFAULT_BACKEND) -> dict[str, Any]:
    """The machine-readable refusal list: categories with reason, count and the cases they cover."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for r in run.refusals:
        entry = groups.setdefault((r.stage, r.category), {
            "stage": r.stage, "category": r.category, "keyword": r.keyword, "reason": r.reason,
            "unexpected_exception": r.unexpected, "count": 0, "files": set(), "cases": []})
        entry["count"] += 1
        entry["files"].add(r.file)
        entry["cases"].append(f"{r.file}: {r.case}")
    categories = []
    for key in sorted(groups, key=lambda k: (k[0] != "load_schema", -groups[k]["count"], k[1])):
        entry = groups[key]
        entry["files"] = sorted(entry["files"])
        entry["cases"] = sorted(entry["cases"])
        categories.append(entry)
    post_checked = sorted({k for o in run.outcomes for k in o.post_checked})
    return {
        "about": "JSON-Schema-Test-Suite schemas (draft2020-12 and draft7, optional/ included; draft7 schemas get "
                 "their $schema) that SLOT refuses: in load_schema (slot/schema.py) or when the default grammar "
                 "backend compiles them. Generated by benchmarks/bench_core.py --refusals-only; checked by "
                 "tests/test_grammar_suite.py.",
        "backend": backend,
        "drafts": list(DRAFTS),
        "totals": {
            "cases": run.cases,
            "compiled": run.compiled,
            "refused_by_load_schema": sum(r.stage == "load_schema" for r in run.refusals),
            "refused_by_grammar": sum(r.stage == "grammar" and not r.unexpected for r in run.refusals),
            "uncaught_exceptions": sum(r.unexpected for r in run.refusals),
        },
        "post_checked_keywords_seen": post_checked,
        "categories": categories,
    }


def suite_summary(run: SuiteRun) -> dict[str, Any]:
    valid = run.instances(valid=True)
    invalid = run.instances(valid=False)
    return {
        "cases": run.cases, "compiled": run.compiled, "valid_instances": len(valid),
        "valid_accepted": sum(o.grammar_accepts for o in valid),
        "invalid_instances": len(invalid),
        "invalid_rejected_by_grammar": sum(not o.grammar_accepts for o in invalid),
        "invalid_rejected_share": round(run.invalid_rejected_share(), 4),
        "invalid_rejected_share_required": round(run.invalid_rejected_share(optional=False), 4),
        "invalid_rejected_share_optional": round(run.invalid_rejected_share(optional=True), 4),
        "invalid_rejected_by_grammar_or_post_validation": sum(not o.grammar_accepts or o.post_rejects
                                                             for o in invalid),
        "seconds": round(run.seconds, 2),
    }


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------

def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, int(round(q / 100 * len(ordered) + 0.5 - 1e-9)))
    return ordered[min(rank, len(ordered)) - 1]


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    cells = [[str(c) for c in header]] + [[f"{c:.2f}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n## {title}")
    for n, row in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))
        if n == 0:
            print("  ".join("-" * w for w in widths))
    sys.stdout.flush()


# --------------------------------------------------------------------------------------------------
# 1. Cold and warm start
# --------------------------------------------------------------------------------------------------

def cold_start() -> dict[str, Any]:
    """``slot model prepare`` with an empty SLOT_HOME: conversion included, process start to exit."""
    slot_bin = Path(sys.executable).with_name("slot")
    command = [str(slot_bin)] if slot_bin.exists() else [sys.executable, "-m", "slot.cli"]
    home = tempfile.mkdtemp(prefix="slot-cold-")
    try:
        env = {**os.environ, "SLOT_HOME": home}
        load_before = loadavg()
        started = time.perf_counter()
        done = subprocess.run(command + ["model", "prepare"], env=env, capture_output=True, text=True, timeout=900)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"slot model prepare failed ({done.returncode}): {done.stderr[-2000:]}")
        converted = re.search(r"converted in ([\d.]+) s", done.stderr)
        started = time.perf_counter()
        again = subprocess.run(command + ["model", "prepare"], env=env, capture_output=True, text=True, timeout=300)
        second = time.perf_counter() - started
        return {"cold_prepare_s": round(seconds, 2),
                "conversion_s": float(converted.group(1)) if converted else None,
                "second_prepare_s": round(second, 2) if again.returncode == 0 else None,
                "load_before": load_before, "load_after": loadavg()}
    finally:
        shutil.rmtree(home, ignore_errors=True)


def warm_start(settings: Any) -> tuple[Any, dict[str, Any]]:
    """Imports, then Structurer.from_settings on an already converted cache."""
    started = time.perf_counter()
    import torch  # noqa: F401
    import transformers  # noqa: F401

    from slot.structurer import Structurer

    imports = time.perf_counter() - started
    started = time.perf_counter()
    structurer = Structurer.from_settings(settings, progress=False)
    ready = time.perf_counter() - started
    return structurer, {"imports_s": round(imports, 2), "from_settings_s": round(ready, 2), "load": loadavg()}


# --------------------------------------------------------------------------------------------------
# 2. Grammar compile times (worker process per backend, per-schema timeout)
# --------------------------------------------------------------------------------------------------

def _compile_worker(model_dir: str, backend: str, vocab_size: int, requests: Any, replies: Any) -> None:
    import importlib

    from transformers import AutoTokenizer

    from slot.grammar.cache import BACKENDS

    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    started = time.perf_counter()
    module, cls = BACKENDS[backend]
    compiler = getattr(importlib.import_module(module), cls)(tokenizer, vocab_size)
    replies.put(("ready", (time.perf_counter() - started) * 1000))
    while True:
        item = requests.get()
        if item is None:
            return
        digest, document = item
        try:
            started = time.perf_counter()
            compiled = compiler.compile(document, digest)
            compile_ms = (time.perf_counter() - started) * 1000
            compiled.matcher().mask()
            first_mask_ms = (time.perf_counter() - started) * 1000
            replies.put(("ok", (compile_ms, first_mask_ms)))
        except Exception as exc:  # noqa: BLE001 - refusals are counted, not fatal
            replies.put(("refused", f"{type(exc).__name__}: {str(exc)[:200]}"))


def compile_times(model_dir: Path, vocab_size: int, schemas: list[Any], backend: str,
                  timeout_s: float) -> dict[str, Any]:
    import multiprocessing as mp
    import queue

    ctx = mp.get_context("spawn")
    compile_ms: list[float] = []
    first_mask_ms: list[float] = []
    refused = timeouts = 0
    init_ms: list[float] = []
    worker = None
    requests = replies = None

    def start() -> None:
        nonlocal worker, requests, replies
        requests, replies = ctx.Queue(), ctx.Queue()
        worker = ctx.Process(target=_compile_worker, args=(str(model_dir), backend, vocab_size, requests, replies),
                             daemon=True)
        worker.start()
        kind, value = replies.get(timeout=300)
        init_ms.append(value)

    started = time.perf_counter()
    start()
    for schema in schemas:
        requests.put((schema.hash, schema.document))
        try:
            kind, value = replies.get(timeout=timeout_s)
        except queue.Empty:
            timeouts += 1
            worker.kill()
            worker.join()
            start()
            continue
        if kind == "ok":
            compile_ms.append(value[0])
            first_mask_ms.append(value[1])
        else:
            refused += 1
    requests.put(None)
    worker.join(timeout=30)
    result: dict[str, Any] = {"backend": backend, "schemas": len(schemas), "compiled": len(compile_ms),
                              "refused": refused, "timeouts": timeouts, "timeout_s": timeout_s,
                              "backend_init_ms": round(init_ms[0], 1), "wall_s": round(time.perf_counter() - started, 1)}
    if compile_ms:
        result.update({"compile_p50_ms": round(pct(compile_ms, 50), 3), "compile_p95_ms": round(pct(compile_ms, 95), 3),
                       "compile_max_ms": round(max(compile_ms), 1),
                       "with_first_mask_p50_ms": round(pct(first_mask_ms, 50), 3),
                       "with_first_mask_p95_ms": round(pct(first_mask_ms, 95), 3)})
    return result


def cache_hit_times(structurer: Any, schemas: list[Any], backend: str) -> dict[str, Any]:
    """GrammarCache.get of a schema just compiled: the per-request cost once a schema is known."""
    times = []
    for schema in schemas:
        try:
            structurer.grammars.get(schema, backend)
        except Exception:  # noqa: BLE001 - refused schemas have no cache entry
            continue
        started = time.perf_counter()
        _, hit = structurer.grammars.get(schema, backend)
        times.append((time.perf_counter() - started) * 1e6)
        assert hit
    return {"hit_schemas": len(times), "hit_p50_us": round(pct(times, 50), 1),
            "hit_p95_us": round(pct(times, 95), 1)}


def suite_schemas(limits: Any) -> list[Any]:
    """Distinct suite schemas (by hash) that load_schema accepts."""
    from slot.errors import SlotError
    from slot.schema import load_schema

    seen: dict[str, Any] = {}
    for case in iter_suite_cases():
        try:
            checked = load_schema(case.schema, limits)
        except SlotError:
            continue
        seen.setdefault(checked.hash, checked)
    return list(seen.values())


# --------------------------------------------------------------------------------------------------
# 3. Decoding speed: a 3-field and a 15-field schema
# --------------------------------------------------------------------------------------------------

SCHEMA_3 = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "city": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "city", "age"], "additionalProperties": False,
}
TEXTS_3 = [
    "Maria Gonzalez, 34, moved to Valencia last spring and now teaches piano there.",
    "Our new intern is Tom Becker; he is 22 years old and lives in Hamburg.",
    "Dr. Aiko Tanaka (age 51) runs a small clinic in Osaka.",
    "The winner, Samuel Okoro, is a 45-year-old engineer from Lagos.",
    "Lena Novak, aged 29, works as a nurse in Ljubljana.",
]
SCHEMA_15 = {
    "type": "object",
    "properties": {
        "order_id": {"type": "string"},
        "customer_name": {"type": "string"},
        "email": {"type": "string"},
        "phone": {"type": "string"},
        "street": {"type": "string"},
        "city": {"type": "string"},
        "postal_code": {"type": "string"},
        "country": {"type": "string"},
        "product": {"type": "string"},
        "quantity": {"type": "integer"},
        "unit_price": {"type": "number"},
        "currency": {"type": "string", "enum": ["EUR", "USD", "GBP"]},
        "order_date": {"type": "string"},
        "express_shipping": {"type": "boolean"},
        "notes": {"type": ["string", "null"]},
    },
    "required": ["order_id", "customer_name", "email", "phone", "street", "city", "postal_code", "country",
                 "product", "quantity", "unit_price", "currency", "order_date", "express_shipping", "notes"],
    "additionalProperties": False,
}
TEXTS_15 = [
    "Order A-10293 was placed on 2024-03-14 by Jana Kowalski (jana.k@example.com, +48 601 223 445). Ship 3 x "
    "ergonomic office chair at 189.90 EUR each to Ul. Lipowa 12, 00-123 Warsaw, Poland. Express shipping "
    "requested. Note: leave the parcel with the concierge.",
    "New order B-55810 from Michael Brown, email mbrown@example.org, phone 555-0142. He wants 1 espresso machine "
    "for 349.00 USD, delivered to 742 Evergreen Terrace, Springfield 49007, USA. Ordered 2024-05-02, standard "
    "shipping, no notes.",
    "On 2023-11-20 customer Sophie Martin (sophie.martin@example.fr, +33 6 12 34 56 78) ordered 12 packs of A4 "
    "paper at 4.50 EUR per pack, order number C-00077. Address: 8 Rue des Fleurs, 69002 Lyon, France. Express "
    "delivery please; note: invoice to the company.",
    "Order D-4410: David Chen, d.chen@example.co.uk, 020 7946 0018, bought 2 noise-cancelling headphones at "
    "129.99 GBP each on 2024-01-09. Deliver to 221B Baker Street, London NW1 6XE, United Kingdom. No express "
    "shipping. No special notes.",
    "Purchase E-90001 dated 2024-07-30: 5 yoga mats (24.00 EUR each) for Elena Rossi, elena.rossi@example.it, "
    "+39 333 123 4567, Via Roma 5, 00184 Rome, Italy. Express: yes. Note: gift wrap.",
]


def decoding_speed(structurer: Any, repeats: int, n_texts: int = 5, max_tokens: int | None = None
                   ) -> list[dict[str, Any]]:
    from slot.schema import load_schema

    results = []
    for label, schema, texts in (("3-field", SCHEMA_3, TEXTS_3[:n_texts]), ("15-field", SCHEMA_15, TEXTS_15[:n_texts])):
        checked = load_schema(schema)
        for speculation in (True, False):
            structurer.structure(texts[0], checked, adapter="none", speculation=speculation,  # warm: grammar, prefix
                                 max_tokens=max_tokens)
            latencies, tokens, decode_s, passes, valid = [], 0, 0.0, 0, 0
            finish: dict[str, int] = {}
            sample = ""
            for _ in range(repeats):
                for text in texts:
                    result = structurer.structure(text, checked, adapter="none", speculation=speculation,
                                                  max_tokens=max_tokens)
                    latencies.append(result.timings.total_ms)
                    tokens += result.usage.completion_tokens
                    decode_s += (result.timings.generate_ms - result.timings.prefill_ms) / 1000
                    passes += result.usage.forward_passes
                    valid += result.valid
                    finish[result.finish_reason] = finish.get(result.finish_reason, 0) + 1
                    sample = sample or result.output[:400]
            total_s = sum(latencies) / 1000
            results.append({
                "schema": label, "speculation": speculation, "requests": len(latencies),
                "tokens_per_request": round(tokens / len(latencies), 1),
                "tokens_per_s": round(tokens / total_s, 1),
                "decode_tokens_per_s": round(tokens / decode_s, 1) if decode_s else None,
                "forward_passes_per_request": round(passes / len(latencies), 1),
                "latency_p50_ms": round(pct(latencies, 50), 1), "latency_p95_ms": round(pct(latencies, 95), 1),
                "valid": valid, "finish_reasons": finish, "sample_output": sample, "load": loadavg()})
            print(f"  {label} speculation={'on' if speculation else 'off'}: "
                  f"{results[-1]['tokens_per_s']} tok/s, p50 {results[-1]['latency_p50_ms']} ms", flush=True)
    return results


# --------------------------------------------------------------------------------------------------
# 4. E2E baseline
# --------------------------------------------------------------------------------------------------

def _norm(value: Any) -> str:
    return " ".join(str(value).casefold().split()) if value is not None else ""


def e2e_baseline(structurer: Any, rows: int, stride: int = 23) -> dict[str, Any]:
    from shared_data import require

    with open(require(E2E, "the E2E dev file"), encoding="utf-8") as handle:
        data = [json.loads(line) for line in handle]
    picked = data[::stride][:rows]
    valid = exact_rows = fields = exact_fields = norm_fields = 0
    latencies: list[float] = []
    finish: dict[str, int] = {}
    per_field: dict[str, list[int]] = {}
    failures: list[dict[str, Any]] = []
    started = time.perf_counter()
    for n, row in enumerate(picked, 1):
        result = structurer.structure(row["input_text"], row["json_schema"], adapter="none")
        latencies.append(result.timings.total_ms)
        finish[result.finish_reason] = finish.get(result.finish_reason, 0) + 1
        valid += result.valid
        if not result.valid and len(failures) < 5:
            failures.append({"id": row["id"], "output": result.output[:300], "errors": result.errors[:3]})
        output = result.json if isinstance(result.json, dict) else {}
        gold = row["gold"]
        all_exact = not any(v is not None for k, v in output.items() if k not in gold)
        for key, expected in gold.items():
            fields += 1
            got = output.get(key)
            exact = got == expected
            exact_fields += exact
            norm_fields += _norm(got) == _norm(expected)
            per_field.setdefault(key, [0, 0])
            per_field[key][0] += exact
            per_field[key][1] += 1
            all_exact &= exact
        exact_rows += all_exact
        if n % 20 == 0:
            print(f"  e2e {n}/{len(picked)}: valid {valid}/{n}, field exact {exact_fields}/{fields}", flush=True)
    return {
        "rows": len(picked), "stride": stride, "adapter": "none", "constrained": True,
        "schema_valid": valid, "schema_valid_share": round(valid / len(picked), 4),
        "finish_reasons": finish,
        "field_exact_share": round(exact_fields / max(1, fields), 4),
        "field_normalised_share": round(norm_fields / max(1, fields), 4),
        "row_exact_share": round(exact_rows / len(picked), 4),
        "per_field_exact": {k: round(v[0] / v[1], 3) for k, v in sorted(per_field.items())},
        "latency_p50_ms": round(pct(latencies, 50), 1), "latency_p95_ms": round(pct(latencies, 95), 1),
        "wall_s": round(time.perf_counter() - started, 1), "invalid_examples": failures, "load": loadavg(),
    }


# --------------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------------

def write_refusals(structurer: Any) -> dict[str, Any]:
    from slot.grammar.cache import GrammarCache

    engine = structurer.engine  # each schema's own grammar (open objects left open, as the suite expects)
    grammars = GrammarCache(engine.tokenizer, engine.vocab_size, close_objects=False)
    run = run_suite(engine.tokenizer, grammars, structurer.limits)
    report = refusal_report(run)
    REFUSALS.parent.mkdir(parents=True, exist_ok=True)
    REFUSALS.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    summary = suite_summary(run)
    print(f"wrote {REFUSALS.relative_to(ROOT)}: {report['totals']}")
    return {"summary": summary, "totals": report["totals"],
            "categories": {f"{c['stage']}: {c['category']}": c["count"] for c in report["categories"]}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200, help="E2E rows (every 23rd row of the dev set)")
    parser.add_argument("--out", type=Path, help="also write the numbers as JSON")
    parser.add_argument("--skip-cold", action="store_true", help="skip the cold start (conversion in a temp dir)")
    parser.add_argument("--repeats", type=int, default=2, help="passes over the 5 texts per decoding setting")
    parser.add_argument("--compile-timeout", type=float, default=20.0, help="per-schema compile timeout, seconds")
    parser.add_argument("--compile-limit", type=int, default=0,
                        help="compile only the first N suite schemas per backend (0: all)")
    parser.add_argument("--backends", default=",".join(BACKEND_NAMES), help="backends for the compile table")
    parser.add_argument("--outlines-limit", type=int, default=120,
                        help="outlines_core compiles only the first N schemas (its regex->DFA build takes seconds "
                             "to minutes on some suite schemas; 0: all)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: SLOT_THREADS / one per core); on a busy machine 1 avoids "
                             "thread oversubscription")
    parser.add_argument("--skip-decoding", action="store_true", help="skip the 3-/15-field decoding section")
    parser.add_argument("--texts", type=int, default=5, help="texts per schema in the decoding section (1-5)")
    parser.add_argument("--max-tokens", type=int, default=None,
                        help="max_tokens per decoding request (default: the service default, 512)")
    parser.add_argument("--refusals-only", action="store_true",
                        help="only regenerate tests/data/grammar_suite_refusals.json")
    args = parser.parse_args(argv)

    from slot.config import Settings

    settings = Settings.from_env(home=os.environ.get("SLOT_HOME") or None).replace(adapter="none")
    if args.threads is not None:
        settings = settings.replace(threads=args.threads)

    def save() -> None:  # after every section, so a long run that is cut short keeps what it measured
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(numbers, indent=1) + "\n", encoding="utf-8")

    numbers: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "load_at_start": loadavg(),
                                           "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                                           "threads": settings.threads, "args": vars(args) | {"out": str(args.out)}}}
    print(f"load average at start: {numbers['machine']['load_at_start']} on {os.cpu_count()} CPUs", flush=True)

    if not args.refusals_only and not args.skip_cold:
        print("cold start: slot model prepare with an empty SLOT_HOME ...", flush=True)
        numbers["cold_start"] = cold_start()
    structurer, numbers["warm_start"] = warm_start(settings)
    if "cold_start" in numbers:
        c = numbers["cold_start"]
        table("Start-up", ["what", "seconds", "load avg"], [
            ["cold: slot model prepare, empty SLOT_HOME (process)", c["cold_prepare_s"], c["load_before"]],
            ["  of which conversion", c["conversion_s"], ""],
            ["slot model prepare again (cached, process)", c["second_prepare_s"], c["load_after"]],
            ["warm: imports (torch, transformers, slot)", numbers["warm_start"]["imports_s"], ""],
            ["warm: Structurer.from_settings (cached model)", numbers["warm_start"]["from_settings_s"],
             numbers["warm_start"]["load"]]])
    else:
        table("Start-up (cold skipped)", ["what", "seconds"], [
            ["warm: imports", numbers["warm_start"]["imports_s"]],
            ["warm: Structurer.from_settings", numbers["warm_start"]["from_settings_s"]]])

    print("\ngrammar suite walk (llguidance, real tokenizer) ...", flush=True)
    numbers["grammar_suite"] = write_refusals(structurer)
    save()
    s = numbers["grammar_suite"]["summary"]
    table("Grammar soundness on the JSON-Schema-Test-Suite (llguidance)", ["measure", "value"], [
        ["test cases / compiled", f"{s['cases']} / {s['compiled']}"],
        ["valid instances accepted", f"{s['valid_accepted']} / {s['valid_instances']}"],
        ["invalid instances rejected by the grammar", f"{s['invalid_rejected_by_grammar']} / {s['invalid_instances']}"
         f" ({s['invalid_rejected_share']:.1%}; required {s['invalid_rejected_share_required']:.1%}, "
         f"optional {s['invalid_rejected_share_optional']:.1%})"],
        ["invalid rejected by grammar or post-validation",
         f"{s['invalid_rejected_by_grammar_or_post_validation']} / {s['invalid_instances']}"]])
    if args.refusals_only:
        return 0

    schemas = suite_schemas(structurer.limits)
    if args.compile_limit:
        schemas = schemas[: args.compile_limit]
    numbers["compile"] = []
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        subset = schemas[: args.outlines_limit] if backend == "outlines_core" and args.outlines_limit else schemas
        print(f"compiling {len(subset)} suite schemas with {backend} ...", flush=True)
        entry = compile_times(structurer.engine.model_dir, structurer.engine.vocab_size, subset, backend,
                              args.compile_timeout)
        if backend == DEFAULT_BACKEND:  # a hit is an LRU lookup, the same for every backend
            entry.update(cache_hit_times(structurer, schemas, backend))
        entry["load"] = loadavg()
        numbers["compile"].append(entry)
        save()
    if numbers["compile"]:
        table("Grammar compile time over suite schemas (ms; cache hit in us)",
              ["backend", "schemas", "ok", "refused", "timeouts", "p50", "p95", "p50+mask", "p95+mask",
               "hit p50 us", "init ms"],
              [[e["backend"], e["schemas"], e["compiled"], e["refused"], e["timeouts"], e.get("compile_p50_ms", "-"),
                e.get("compile_p95_ms", "-"), e.get("with_first_mask_p50_ms", "-"),
                e.get("with_first_mask_p95_ms", "-"), e.get("hit_p50_us", "-"), e["backend_init_ms"]]
               for e in numbers["compile"]])

    if not args.skip_decoding:
        print("\ndecoding speed ...", flush=True)
        numbers["decoding"] = decoding_speed(structurer, args.repeats, args.texts, args.max_tokens)
        save()
    if "decoding" in numbers:
        table("Decoding (base model, greedy, llguidance)",
              ["schema", "speculation", "requests", "tok/req", "tok/s", "passes/req", "p50 ms", "p95 ms", "valid"],
              [[d["schema"], "on" if d["speculation"] else "off", d["requests"], d["tokens_per_request"],
            d["tokens_per_s"], d["forward_passes_per_request"], d["latency_p50_ms"], d["latency_p95_ms"],
                f"{d['valid']}/{d['requests']}"] for d in numbers["decoding"]])

    print(f"\nE2E baseline on {args.rows} rows ...", flush=True)
    numbers["e2e"] = e2e_baseline(structurer, args.rows)
    e = numbers["e2e"]
    table(f"E2E baseline (every 23rd dev row, {e['rows']} rows, base model, constrained)", ["measure", "value"], [
        ["schema-valid", f"{e['schema_valid']}/{e['rows']} ({e['schema_valid_share']:.1%})"],
        ["finish reasons", e["finish_reasons"]],
        ["field exact match", f"{e['field_exact_share']:.1%}"],
        ["field match, case/space-normalised", f"{e['field_normalised_share']:.1%}"],
        ["row exact match", f"{e['row_exact_share']:.1%}"],
        ["latency p50 / p95 ms", f"{e['latency_p50_ms']} / {e['latency_p95_ms']}"]])
    print("per-field exact: " + ", ".join(f"{k} {v:.0%}" for k, v in e["per_field_exact"].items()))

    numbers["machine"]["load_at_end"] = loadavg()
    print(f"\nload average at end: {numbers['machine']['load_at_end']}")
    save()
    if args.out:
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
