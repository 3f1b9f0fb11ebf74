"""Schema coverage on real-world schemas (issue 27): what SLOT serves, next to plain llguidance.

Corpora (each a "source"):

- ``schemastore``: SchemaStore's schemas with their positive and negative test instances
  (``../shared/data/schemastore/``: ``schemas/<name>.json``, ``test/<name>/*``, ``negative_test/<name>/*``).
  Instances in JSON are read, YAML too when PyYAML is installed; anything else is skipped and counted.
- ``kubernetes``: the per-type schemas the ``kubernetes-validate`` package ships (its newest version's
  ``v<version>-local-strict/`` folder; no instances), found in this interpreter or in the ``.tools/`` venv of
  ``make tools`` (``--kubernetes DIR`` names the folder). They reference ``_definitions.json`` beside them: SLOT's
  path loads them with that folder as its local schema registry, plain llguidance gets them as they are. With no
  instances, a schema counts as served when SLOT accepts it and its prompt fits.

Per schema, SLOT's own path runs with the default settings: ``load_schema`` (the server's limits), then the
llguidance grammar through a ``GrammarCache`` (open objects closed, the compile timeout and abandoned-compile
bound of the server). Beside it, **plain llguidance** compiles the same document with its own JSON-schema
compiler and none of SLOT's checks (strict, compact whitespace). Every valid instance is serialised as the
grammar writes JSON (``slot.prompt.target_text``: compact, keys in schema order, integral numbers as
integers), tokenized with the base model's tokenizer and fed to each compiled grammar. A valid instance SLOT's
grammar refuses is counted as a **closed-object refusal** when the grammar of the schema as given (objects
left open) accepts it: the cost of closing objects, reported apart. Invalid instances must be refused by the
grammar or, failing that, by post-validation (``Schema.errors``).

SLOT accepts a schema only when its prompt fits: the rendering Structure would use at the settings'
``max_prompt_tokens`` (``slot.prompt.schema_rendering``: the full schema, a compact level or its skeleton) must
leave room for a text, as ValidateSchema and Structure refuse it otherwise (the refusal stage ``prompt_too_long``,
checked after ``load_schema`` and before the grammar, in the server's order); the report counts which rendering
the served schemas need.

A schema is **served** when SLOT accepts it and its grammar accepts every valid instance (closed-object
refusals aside); plain llguidance's served share counts the schemas it compiles whose grammar accepts every
valid instance. SLOT serves a schema its grammar can only approximate **relaxed** by default (the closest
grammar, ``Enforcement.relaxed_keywords`` post-checked, outputs breaking them decoded again); the **SLOT strict**
column is what a ``strict`` request gets: the same compile, refused when it relaxed a keyword (so it is derived
from the relaxed run, without a second compile). Compile times are wall-clock (``GrammarCache.get`` for SLOT, the compile + validation +
first matcher for plain llguidance), one process, one schema at a time.

With ``--registry DIR`` SLOT's path loads schemas with a local schema registry of that directory
(``slot.schema_registry``, the server's ``schema_registry_dir``): the SchemaStore schema folder is the natural
registry for the corpus's own references to other SchemaStore schemas. The report then gives SLOT's served
count with and without it: a schema that embeds no registry document is checked exactly as without a registry
(``load_schema`` bundles only when the schema references another document), and one that embeds some is refused
without it (its reference is remote), so one run gives both.

    .venv/bin/python benchmarks/bench_schema_coverage.py --out benchmarks/results/schema_coverage_2026-12-06.json
    .venv/bin/python benchmarks/bench_schema_coverage.py --limit 50     # a quick look
    .venv/bin/python benchmarks/bench_schema_coverage.py --registry ../shared/data/schemastore/schemas --out /tmp/cov.json
    .venv/bin/python benchmarks/bench_schema_coverage.py --sources kubernetes --limit 50   # Kubernetes only
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SCHEMASTORE = ROOT.parent / "shared" / "data" / "schemastore"
BACKEND = "llguidance"
YAML_SUFFIXES = (".yaml", ".yml")
SOURCES = ("schemastore", "kubernetes")
KUBERNETES_SCHEMAS = "kubernetes-json-schema"
"""kubernetes-validate's schema folder, inside its package."""
KUBERNETES_DEFINITIONS = "_definitions.json"
"""The definitions every per-type schema of a ``*-local-strict`` folder references."""
KUBERNETES_SKIPPED = (KUBERNETES_DEFINITIONS, "all.json")
"""Files of a version folder that are no schema of one type."""


@dataclass
class Instance:
    """One test instance: where it came from and its value (None with ``skipped`` when it could not be read)."""

    file: str
    value: Any = None
    skipped: str = ""


@dataclass
class SchemaCase:
    """One schema of a source with its instances."""

    name: str
    raw: bytes
    valid: list[Instance] = field(default_factory=list)
    invalid: list[Instance] = field(default_factory=list)


@dataclass
class Plain:
    """The outcome of plain llguidance on one schema."""

    status: str = ""
    """'accepted', 'refused' or 'timeout'."""
    reason: str = ""
    compile_ms: float | None = None
    valid_accepted: int = 0
    invalid_rejected: int = 0


@dataclass
class Row:
    """The outcome for one schema."""

    name: str
    slot: str = ""
    """'accepted', or where SLOT refused it: 'load_schema', 'prompt_too_long', 'grammar', 'timeout'."""
    slot_keyword: str = ""
    slot_reason: str = ""
    slot_compile_ms: float | None = None
    slot_prompt: str = ""
    """The schema rendering the prompt carries (``SchemaRendering.level``: 'full', 'compact' or 'skeleton')."""
    slot_prompt_tokens: int | None = None
    """Its prompt tokens with an empty text."""
    slot_prompt_depth: int | None = None
    """The depth a skeleton is cut at."""
    slot_relaxed: list[str] = field(default_factory=list)
    """The keywords SLOT's grammar approximates (``Enforcement.relaxed_keywords``): a strict request refuses it."""
    registry_documents: list[str] = field(default_factory=list)
    """The URIs of the local schema registry documents SLOT embedded (``--registry``); without the registry such
    a schema is refused at load_schema (its reference is remote)."""
    plain: Plain = field(default_factory=lambda: Plain())
    """llguidance alone, strict (its defaults)."""
    lenient: Plain = field(default_factory=lambda: Plain())
    """llguidance alone, lenient (what it cannot enforce it leaves out, saying so only in warnings)."""
    closed_objects: int = 0
    """Objects SLOT's grammar compiled closed."""
    valid: int = 0
    valid_accepted: int = 0
    valid_closed_refused: int = 0
    """Valid instances SLOT's grammar refuses only because of closed objects."""
    valid_refused: list[str] = field(default_factory=list)
    """Valid instances SLOT's grammar refuses for another reason (file names)."""
    valid_post_rejected: int = 0
    """Valid (per the corpus) instances that SLOT's post-validation rejects."""
    invalid: int = 0
    invalid_grammar_rejected: int = 0
    invalid_rejected: int = 0
    """Rejected by SLOT's grammar or, failing that, by post-validation."""
    invalid_passed: list[str] = field(default_factory=list)
    skipped_instances: int = 0
    ignored_keywords: list[str] = field(default_factory=list)

    @property
    def served(self) -> bool:
        return self.slot == "accepted" and self.valid_accepted + self.valid_closed_refused == self.valid

    @property
    def served_without_registry(self) -> bool:
        return self.served and not self.registry_documents

    @property
    def served_strict(self) -> bool:
        return self.slot == "accepted" and self.valid_accepted == self.valid

    @property
    def strict_accepted(self) -> bool:
        """Accepted by a ``strict`` request: accepted, and nothing relaxed."""
        return self.slot == "accepted" and not self.slot_relaxed

    @property
    def strict_served(self) -> bool:
        return self.served and not self.slot_relaxed

    def plain_served(self, plain: Plain) -> bool:
        return plain.status == "accepted" and plain.valid_accepted == self.valid


# --------------------------------------------------------------------------------------------------
# corpora
# --------------------------------------------------------------------------------------------------

def read_instance(path: Path, root: Path) -> Instance:
    """A test instance file: JSON, or YAML when PyYAML is there; anything else is skipped with a reason."""
    name = str(path.relative_to(root))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return Instance(name, skipped=f"unreadable: {exc}")
    if path.suffix == ".json":
        try:
            return Instance(name, json.loads(text))
        except (json.JSONDecodeError, RecursionError) as exc:
            return Instance(name, skipped=f"not JSON: {exc}")
    if path.suffix in YAML_SUFFIXES:
        try:
            import yaml
        except ImportError:
            return Instance(name, skipped="YAML (PyYAML not installed)")
        try:
            return Instance(name, json.loads(json.dumps(yaml.safe_load(text))))  # JSON's data model only
        except (yaml.YAMLError, TypeError, ValueError) as exc:
            return Instance(name, skipped=f"YAML not representable as JSON: {type(exc).__name__}")
    return Instance(name, skipped=f"format {path.suffix or '(none)'} not read")


def schemastore_cases(root: Path, names: set[str] | None = None) -> Iterator[SchemaCase]:
    """SchemaStore's schemas (sorted by name) with their positive and negative instances."""
    for path in sorted((root / "schemas").glob("*.json")):
        name = path.stem
        if names and name not in names:
            continue
        case = SchemaCase(name, path.read_bytes())
        for folder, bucket in (("test", case.valid), ("negative_test", case.invalid)):
            directory = root / folder / name
            if directory.is_dir():
                bucket.extend(read_instance(p, root) for p in sorted(directory.iterdir()) if p.is_file())
        yield case


def operator_documents(embedded: tuple[str, ...]) -> list[str]:
    """The embedded documents that came from a registry directory: the official meta-schemas are served without
    one (``SchemaRegistry.builtin``), so a schema embedding only those counts as served without a registry."""
    from slot.schema_registry import SchemaRegistry

    builtin = set(SchemaRegistry.builtin().uris())
    return [uri for uri in embedded if uri not in builtin]


def kubernetes_root(explicit: Path | None = None) -> Path | None:
    """The schema folder ``kubernetes-validate`` ships (``kubernetes-json-schema``): ``explicit`` when given, else
    the running interpreter's package, else the one ``make tools`` installs in the repository's ``.tools/`` venv (a
    venv of its own, so the benchmark in ``.venv`` finds it there); None when none is found."""
    import importlib.util

    if explicit is not None:
        return explicit
    try:
        spec = importlib.util.find_spec("kubernetes_validate")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"
    tools = sorted(ROOT.glob(f".tools/lib/python*/site-packages/kubernetes_validate/{KUBERNETES_SCHEMAS}"))
    return tools[-1] if tools else None


def _version(name: str) -> tuple[int, ...]:
    """The numbers of a version folder's name (``v1.37.0-local-strict`` -> (1, 37, 0)): v1.9 sorts before v1.10."""
    found = re.match(r"v?(\d+(?:\.\d+)*)", name)
    return tuple(int(n) for n in found.group(1).split(".")) if found else ()


def kubernetes_folder(root: Path) -> Path | None:
    """The folder of the newest Kubernetes version's strict schemas below ``root``: ``v<version>-local-strict``
    (kubernetes-validate 1.30 and later: per-type schemas referencing ``_definitions.json``), else
    ``<version>/standalone-strict`` (older releases: self-contained schemas); ``root`` itself when it is such a
    folder (it holds ``_definitions.json``); None when there is none."""
    if (root / KUBERNETES_DEFINITIONS).is_file() or root.name.endswith("standalone-strict"):
        return root
    if not root.is_dir():
        return None
    candidates = [p for p in root.iterdir() if p.is_dir() and p.name.endswith("-local-strict")]
    candidates += [p / "standalone-strict" for p in root.iterdir() if (p / "standalone-strict").is_dir()]
    return max(candidates, key=lambda p: (_version(p.name if p.name != "standalone-strict" else p.parent.name),
                                          p.name), default=None)


def kubernetes_cases(root: Path) -> Iterator[SchemaCase]:
    """The per-type schemas of the newest version's strict folder (``kubernetes_folder``), sorted by name; its
    ``_definitions.json`` and ``all.json`` (one document for every type) are left out. No instances ship."""
    folder = kubernetes_folder(root)
    for path in sorted(folder.glob("*.json")) if folder else []:
        if path.name not in KUBERNETES_SKIPPED:
            yield SchemaCase(f"{folder.name if folder.name != 'standalone-strict' else folder.parent.name}/"
                             f"{path.stem}", path.read_bytes())


# --------------------------------------------------------------------------------------------------
# the two compilers and the instance check
# --------------------------------------------------------------------------------------------------

class Runner:
    """SLOT's path and plain llguidance for one tokenizer, with the server's default settings."""

    def __init__(self, tokenizer: Any, vocab_size: int, settings: Any, model_dir: Path,
                 registry: Any = None) -> None:
        from slot.grammar.cache import GrammarCache
        from slot.structurer import schema_limits

        self.registry = registry
        """The local schema registry SLOT's path loads schemas with (None: none, as the server's default)."""
        self.tokenizer = tokenizer
        self.limits = schema_limits(settings)
        self.max_prompt_tokens = settings.max_prompt_tokens
        """The prompt budget the schema's rendering must leave room for a text in (the server's setting)."""
        self.timeout_s = settings.compile_timeout_s
        self.slot = GrammarCache(tokenizer, vocab_size, compile_timeout_s=self.timeout_s)
        self.open = GrammarCache(tokenizer, vocab_size, compile_timeout_s=self.timeout_s, close_objects=False)
        self.slot.backend(BACKEND), self.open.backend(BACKEND)  # tokenizer set-up is not compile time
        self.plain = PlainWorker(model_dir, self.timeout_s)

    def ids(self, value: Any, schema: Any) -> list[int]:
        from slot.target import target_text

        return self.tokenizer.encode(target_text(value, schema), add_special_tokens=False)


class PlainWorker:
    """Plain llguidance in a child process, one call at a time (the parent waits): a compile past the timeout is
    killed with its process, since llguidance cannot be interrupted, so it neither hangs the run nor keeps a core
    busy while the next schema is timed."""

    def __init__(self, model_dir: Path, timeout_s: float, instances_timeout_s: float = 120.0) -> None:
        import multiprocessing

        self._context = multiprocessing.get_context("spawn")
        self._model_dir = model_dir
        self.timeout_s = timeout_s
        self.instances_timeout_s = instances_timeout_s
        self.restarts = 0
        self._start()

    def _start(self) -> None:
        self._requests = self._context.Queue()
        self._replies = self._context.Queue()
        self._process = self._context.Process(target=_plain_worker, args=(str(self._model_dir), self._requests,
                                                                          self._replies), daemon=True)
        self._process.start()
        self._replies.get(timeout=300)  # "ready": the tokenizer is set up

    def _restart(self) -> None:
        self._process.kill()
        self._process.join()
        self.restarts += 1
        self._start()

    def close(self) -> None:
        self._requests.put(None)
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()

    def run(self, document: Any, valid: list[list[int]], invalid: list[list[int]], *, lenient: bool) -> Plain:
        """Compile (strict or lenient) and feed the instances' tokens; the outcome."""
        import queue

        self._requests.put((document, lenient, valid, invalid))
        try:
            kind, payload = self._replies.get(timeout=self.timeout_s)
        except queue.Empty:
            self._restart()
            return Plain("timeout", f"compiling took longer than {self.timeout_s:g} s")
        if kind == "refused":
            return Plain("refused", payload)
        outcome = Plain("accepted", compile_ms=round(payload, 2))
        try:
            outcome.valid_accepted, outcome.invalid_rejected = self._replies.get(timeout=self.instances_timeout_s)[1]
        except queue.Empty:
            self._restart()
            outcome.reason = f"instances not checked within {self.instances_timeout_s:g} s (counted refused)"
            outcome.invalid_rejected = len(invalid)
        return outcome


def _plain_worker(model_dir: str, requests: Any, replies: Any) -> None:
    """The child of PlainWorker: llguidance's JSON-schema compiler (compact, strict or lenient) and its matcher."""
    import llguidance
    import llguidance.hf

    from slot.models import load_tokenizer

    tokenizer, vocab = load_tokenizer(Path(model_dir))
    ll_tokenizer = llguidance.hf.from_tokenizer(tokenizer, n_vocab=vocab)
    replies.put(("ready", None))
    while True:
        item = requests.get()
        if item is None:
            return
        document, lenient, valid, invalid = item
        started = time.perf_counter()
        try:
            grammar = llguidance.LLMatcher.grammar_from_json_schema(
                document, defaults={"whitespace_flexible": False}, overrides={"lenient": True} if lenient else None)
            is_error, messages = llguidance.LLMatcher.validate_grammar_with_warnings(grammar, ll_tokenizer)
            if is_error:
                raise ValueError("; ".join(messages))
            matcher = llguidance.LLMatcher(ll_tokenizer, grammar, log_level=0)
            if matcher.is_error():
                raise ValueError(matcher.get_error().split("\n", 1)[0])
        except Exception as exc:  # noqa: BLE001 - whatever llguidance raises is its refusal
            replies.put(("refused", " ".join(str(exc).split())[:300]))
            continue
        replies.put(("compiled", (time.perf_counter() - started) * 1000))

        def accepts(ids: list[int]) -> bool:
            nonlocal matcher
            matcher.reset()
            if matcher.is_error():  # a lexer error survives reset: start afresh
                matcher = llguidance.LLMatcher(ll_tokenizer, grammar, log_level=0)
            return matcher.validate_tokens(ids) == len(ids) and matcher.consume_tokens(ids) and matcher.is_accepting()

        replies.put(("instances", (sum(accepts(ids) for ids in valid), sum(not accepts(ids) for ids in invalid))))


def slot_accepts(compiled: Any, ids: list[int]) -> bool:
    """Whether SLOT's compiled grammar takes these tokens and ends accepting (a broken matcher refuses)."""
    try:
        matcher = compiled.matcher()
        return bool(matcher.consume(ids)) and bool(matcher.is_accepting())
    except Exception:  # noqa: BLE001 - a matcher that fails refuses the instance
        return False


def run_case(runner: Runner, case: SchemaCase) -> Row:
    """SLOT's path and plain llguidance on one schema and its instances."""
    from slot.errors import SlotError
    from slot.prompt import schema_rendering
    from slot.schema import load_schema

    row = Row(case.name)
    valid = [i for i in case.valid if not i.skipped]
    invalid = [i for i in case.invalid if not i.skipped]
    row.skipped_instances = len(case.valid) + len(case.invalid) - len(valid) - len(invalid)
    row.valid, row.invalid = len(valid), len(invalid)
    try:
        document = json.loads(case.raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        row.slot, row.slot_reason = "load_schema", f"not JSON: {exc}"
        row.plain = Plain("refused", row.slot_reason)
        row.lenient = Plain("refused", row.slot_reason)
        return row
    row.plain = _plain(runner, document, valid, invalid, lenient=False)
    row.lenient = (_plain(runner, document, valid, invalid, lenient=True) if row.plain.status != "timeout" else
                   Plain("timeout", "the strict compile timed out; the lenient one was not tried"))
    stage = "load_schema"
    try:
        schema = load_schema(case.raw, runner.limits, runner.registry)
        row.registry_documents = operator_documents(schema.embedded)
        stage = "prompt_too_long"
        rendering = schema_rendering(runner.tokenizer, schema, runner.max_prompt_tokens)  # as ValidateSchema
        row.slot_prompt, row.slot_prompt_tokens, row.slot_prompt_depth = \
            rendering.level, rendering.tokens, rendering.depth
        stage = "grammar"
        started = time.perf_counter()
        compiled, _ = runner.slot.get(schema, BACKEND)
        row.slot_compile_ms = round((time.perf_counter() - started) * 1000, 2)
    except SlotError as exc:
        row.slot = "timeout" if "took longer than" in str(exc) else stage
        row.slot_keyword, row.slot_reason = exc.keyword, str(exc).splitlines()[0][:300]
        return row
    row.slot = "accepted"
    enforcement = compiled.enforcement
    row.closed_objects = len(enforcement.closed_object_paths) if enforcement else 0
    row.ignored_keywords = list(enforcement.ignored_keywords) if enforcement else []
    row.slot_relaxed = list(enforcement.relaxed_keywords) if enforcement else []
    opened: Any = None
    # instances written in the key order the grammar takes (a rewritten document's: slot.grammar.rewrites)
    written = compiled.document if compiled.document is not None else schema.document
    for instance in valid:
        ids = runner.ids(instance.value, written)
        row.valid_post_rejected += bool(schema.errors(instance.value))
        if slot_accepts(compiled, ids):
            row.valid_accepted += 1
            continue
        if row.closed_objects and opened is None:
            try:
                opened = runner.open.get(schema, BACKEND)[0]
            except SlotError:
                opened = False
        if opened and slot_accepts(opened, ids):
            row.valid_closed_refused += 1
        else:
            row.valid_refused.append(instance.file)
    for instance in invalid:
        grammar_rejects = not slot_accepts(compiled, runner.ids(instance.value, written))
        row.invalid_grammar_rejected += grammar_rejects
        if grammar_rejects or schema.errors(instance.value):
            row.invalid_rejected += 1
        else:
            row.invalid_passed.append(instance.file)
    return row


def _plain(runner: Runner, document: Any, valid: list[Instance], invalid: list[Instance], *, lenient: bool) -> Plain:
    """Plain llguidance on the document as given, under the same compile timeout (in its worker process)."""
    return runner.plain.run(document, [_ids(runner, i.value, document) for i in valid],
                            [_ids(runner, i.value, document) for i in invalid], lenient=lenient)


def _ids(runner: Runner, value: Any, document: Any) -> list[int]:
    try:
        return runner.ids(value, document)
    except Exception:  # noqa: BLE001 - a value target_text cannot write: an empty text, which no grammar accepts
        return []


# --------------------------------------------------------------------------------------------------
# summary and report
# --------------------------------------------------------------------------------------------------

def percentiles(values: list[float]) -> dict[str, float | None]:
    """p50, p95 and max (nearest rank) in ms; None when there are no values."""
    if not values:
        return {"p50": None, "p95": None, "max": None}
    ordered = sorted(values)
    rank = lambda q: ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]  # noqa: E731
    return {"p50": round(statistics.median(ordered), 2), "p95": round(rank(0.95), 2), "max": round(ordered[-1], 2)}


def share(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def summarise(rows: list[Row]) -> dict[str, Any]:
    """The per-source numbers."""
    from slot.prompt import LEVELS
    accepted = [r for r in rows if r.slot == "accepted"]
    refusals: dict[str, int] = {}
    for r in rows:
        if r.slot != "accepted":
            key = f"{r.slot}:{r.slot_keyword or '-'}"
            refusals[key] = refusals.get(key, 0) + 1
    ignored: dict[str, int] = {}
    for r in accepted:
        for keyword in r.ignored_keywords:
            ignored[keyword] = ignored.get(keyword, 0) + 1
    with_valid = [r for r in accepted if r.valid]
    relaxed: dict[str, int] = {}
    for r in accepted:
        for keyword in r.slot_relaxed:
            relaxed[keyword] = relaxed.get(keyword, 0) + 1
    return {
        "schemas": len(rows),
        "slot": {
            "accepted": len(accepted), "accepted_pct": share(len(accepted), len(rows)),
            "served": sum(r.served for r in rows), "served_pct": share(sum(r.served for r in rows), len(rows)),
            "served_without_closed_refusals": sum(r.served_strict for r in rows),
            "served_without_closed_refusals_pct": share(sum(r.served_strict for r in rows), len(rows)),
            "accepted_with_valid_instances": len(with_valid),
            "all_valid_accepted": sum(r.served for r in with_valid),
            "valid_instances": sum(r.valid for r in accepted),
            "valid_accepted": sum(r.valid_accepted for r in accepted),
            "valid_closed_object_refusals": sum(r.valid_closed_refused for r in accepted),
            "valid_other_refusals": sum(len(r.valid_refused) for r in accepted),
            "valid_post_validation_rejects": sum(r.valid_post_rejected for r in accepted),
            "invalid_instances": sum(r.invalid for r in accepted),
            "invalid_grammar_rejected": sum(r.invalid_grammar_rejected for r in accepted),
            "invalid_rejected_grammar_or_post": sum(r.invalid_rejected for r in accepted),
            "invalid_passing_both": sorted(f for r in accepted for f in r.invalid_passed),
            "schemas_with_closed_objects": sum(bool(r.closed_objects) for r in accepted),
            "compile_ms": percentiles([r.slot_compile_ms for r in accepted if r.slot_compile_ms is not None]),
            "timeouts": sum(r.slot == "timeout" for r in rows),
            "refused_prompt_too_long": sum(r.slot == "prompt_too_long" for r in rows),
            "served_prompt_renderings": {level: sum(r.served and r.slot_prompt == level for r in rows)
                                         for level in LEVELS},
            "served_without_registry_prompt_renderings": {
                level: sum(r.served_without_registry and r.slot_prompt == level for r in rows) for level in LEVELS},
            "served_skeleton_depths": dict(sorted(Counter(r.slot_prompt_depth for r in rows
                                                          if r.served and r.slot_prompt == "skeleton").items())),
            "refusals": dict(sorted(refusals.items(), key=lambda kv: (-kv[1], kv[0]))),
            "ignored_keywords": dict(sorted(ignored.items(), key=lambda kv: (-kv[1], kv[0]))),
            "served_relaxed": sum(r.served and bool(r.slot_relaxed) for r in rows),
            "served_without_registry": sum(r.served_without_registry for r in rows),
            "served_without_registry_pct": share(sum(r.served_without_registry for r in rows), len(rows)),
            "accepted_with_registry_documents": sum(bool(r.registry_documents) for r in accepted),
            "served_with_registry_documents": sum(r.served and bool(r.registry_documents) for r in rows),
            "relaxed_keywords": dict(sorted(relaxed.items(), key=lambda kv: (-kv[1], kv[0]))),
        },
        "slot_strict": {
            "accepted": sum(r.strict_accepted for r in rows),
            "accepted_pct": share(sum(r.strict_accepted for r in rows), len(rows)),
            "served": sum(r.strict_served for r in rows), "served_pct": share(sum(r.strict_served for r in rows),
                                                                           len(rows)),
            "valid_instances": sum(r.valid for r in accepted if r.strict_accepted),
            "valid_accepted": sum(r.valid_accepted for r in accepted if r.strict_accepted),
            "invalid_instances": sum(r.invalid for r in accepted if r.strict_accepted),
            "invalid_grammar_rejected": sum(r.invalid_grammar_rejected for r in accepted if r.strict_accepted),
            "invalid_rejected_grammar_or_post": sum(r.invalid_rejected for r in accepted if r.strict_accepted),
            "compile_ms": percentiles([r.slot_compile_ms for r in accepted
                                       if r.strict_accepted and r.slot_compile_ms is not None]),
        },
        "plain_llguidance": _plain_summary(rows, "plain"),
        "plain_llguidance_lenient": _plain_summary(rows, "lenient"),
        "skipped_instances": sum(r.skipped_instances for r in rows),
    }


def _plain_summary(rows: list[Row], kind: str) -> dict[str, Any]:
    """The numbers of plain llguidance (``kind``: the Row attribute, 'plain' or 'lenient')."""
    outcomes = [(r, getattr(r, kind)) for r in rows]
    accepted = [(r, o) for r, o in outcomes if o.status == "accepted"]
    served = sum(r.plain_served(o) for r, o in outcomes)
    return {
        "accepted": len(accepted), "accepted_pct": share(len(accepted), len(rows)),
        "served": served, "served_pct": share(served, len(rows)),
        "valid_instances": sum(r.valid for r, _ in accepted),
        "valid_accepted": sum(o.valid_accepted for _, o in accepted),
        "invalid_instances": sum(r.invalid for r, _ in accepted),
        "invalid_grammar_rejected": sum(o.invalid_rejected for _, o in accepted),
        "compile_ms": percentiles([o.compile_ms for _, o in accepted if o.compile_ms is not None]),
        "timeouts": sum(o.status == "timeout" for _, o in outcomes),
    }


def machine() -> dict[str, Any]:
    """Date, commit and machine facts recorded with the numbers (``run_record.machine``)."""
    from run_record import machine as record

    return record()


KUBERNETES_NOTES = [
    "No instances ship with the Kubernetes schemas: here **served** means accepted with a prompt that fits "
    "(load_schema, the prompt check and the grammar compile all pass), and the instance rows are empty. SLOT loads "
    "them with their version folder as the local schema registry (as `schema_registry_dir`), so their "
    "`_definitions.json` references embed; **plain llguidance gets each document as is** (no bundled document: its "
    "references to `_definitions.json` stay unresolved), so its columns count only the schemas that need no "
    "other document.",
    "",
]
"""What the kubernetes source's numbers mean (markdown)."""


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown tables: one per source, SLOT and plain llguidance side by side."""
    m = report["machine"]
    lines = [f"# Schema coverage ({m['date'][:10]}, commit {m['commit']}, {m['cpu']}, one process)", ""]
    for name, source in report["sources"].items():
        lines.append(f"## {name}")
        lines.append("")
        if not source.get("available", True):
            lines += [f"Not available: {source['reason']}.", ""]
            continue
        s, p = source["summary"]["slot"], source["summary"]["plain_llguidance"]
        q = source["summary"]["plain_llguidance_lenient"]
        t = source["summary"]["slot_strict"]
        total = source["summary"]["schemas"]
        registry = source.get("registry") or (report["settings"].get("registry") if name == "schemastore" else None)
        cell = lambda n, d: f"{n}/{d} ({share(n, d)}%)" if d else "-"  # noqa: E731
        ms = lambda c: f"{c['p50']} / {c['p95']} / {c['max']}"  # noqa: E731
        lines += [
            "| | SLOT (load_schema + llguidance, objects closed; relaxed, the default) | SLOT strict | "
            "plain llguidance (strict) | plain llguidance (lenient) |",
            "|---|---|---|---|---|",
            f"| schemas accepted | {cell(s['accepted'], total)} | {cell(t['accepted'], total)} | "
            f"{cell(p['accepted'], total)} | {cell(q['accepted'], total)} |",
            f"| served (accepted, grammar takes every valid instance; closed objects aside) | "
            f"{cell(s['served'], total)} | {cell(t['served'], total)} | {cell(p['served'], total)} | "
            f"{cell(q['served'], total)} |",
            f"| of which served relaxed (grammar approximates a keyword, checked after decoding) | "
            f"{cell(s['served_relaxed'], total)} | - | - | - |",
            f"| served, closed-object refusals counted as failures | "
            f"{cell(s['served_without_closed_refusals'], total)} | - | {cell(p['served'], total)} | "
            f"{cell(q['served'], total)} |",
            f"| valid instances the grammar accepts | {cell(s['valid_accepted'], s['valid_instances'])} | "
            f"{cell(t['valid_accepted'], t['valid_instances'])} | "
            f"{cell(p['valid_accepted'], p['valid_instances'])} | {cell(q['valid_accepted'], q['valid_instances'])} |",
            f"| valid instances refused only for closed objects | "
            f"{cell(s['valid_closed_object_refusals'], s['valid_instances'])} | - | - | - |",
            f"| invalid instances the grammar rejects | "
            f"{cell(s['invalid_grammar_rejected'], s['invalid_instances'])} | "
            f"{cell(t['invalid_grammar_rejected'], t['invalid_instances'])} | "
            f"{cell(p['invalid_grammar_rejected'], p['invalid_instances'])} | "
            f"{cell(q['invalid_grammar_rejected'], q['invalid_instances'])} |",
            f"| invalid instances rejected by grammar + post-validation | "
            f"{cell(s['invalid_rejected_grammar_or_post'], s['invalid_instances'])} | "
            f"{cell(t['invalid_rejected_grammar_or_post'], t['invalid_instances'])} | no post-validation | "
            "no post-validation |",
            f"| compile ms p50 / p95 / max (accepted) | {ms(s['compile_ms'])} | {ms(t['compile_ms'])} | "
            f"{ms(p['compile_ms'])} | {ms(q['compile_ms'])} |",
            f"| compile timeouts ({report['settings']['compile_timeout_s']:g} s) | {s['timeouts']} | {s['timeouts']} | "
            f"{p['timeouts']} | {q['timeouts']} |",
            "",
            f"Instances skipped (not JSON/YAML, or unreadable): {source['summary']['skipped_instances']}. "
            f"Valid instances SLOT's post-validation rejects (corpus and jsonschema disagree): "
            f"{s['valid_post_validation_rejects']}. Invalid instances passing grammar and post-validation: "
            f"{len(s['invalid_passing_both'])}.",
            "",
            "SLOT's refusals (stage:keyword count): " + (", ".join(f"`{k}` {v}" for k, v in s["refusals"].items())
                                                       or "none") + ".",
            "",
            f"Prompt (max_prompt_tokens {report['settings'].get('max_prompt_tokens')}): refused as too long even as a "
            f"skeleton: {s['refused_prompt_too_long']}; the served schemas' prompt carries the full schema "
            f"{s['served_prompt_renderings']['full']}, a compact rendering {s['served_prompt_renderings']['compact']}, "
            f"its skeleton {s['served_prompt_renderings']['skeleton']} (cut at depth: "
            + (", ".join(f"{d}: {n}" for d, n in s["served_skeleton_depths"].items()) or "-") + ").",
            "",
            *([f"Local schema registry `{registry['directory']}` ({registry['documents']} documents): SLOT serves "
               f"{cell(s['served'], total)} with it, {cell(s['served_without_registry'], total)} without it; "
               f"{s['accepted_with_registry_documents']} accepted schemas embed registry documents, "
               f"{s['served_with_registry_documents']} of them served.", ""] if registry else []),
            *(KUBERNETES_NOTES if name == "kubernetes" else []),
            "Keywords the grammar approximates in served schemas (schemas listing them in `relaxed_keywords`; a "
            "strict request refuses these): " + (", ".join(f"`{k}` {v}" for k, v in s["relaxed_keywords"].items())
                                                 or "none") + ".",
            "",
            "Keywords neither enforced nor checked (schemas listing them in `ignored_keywords`): "
            + (", ".join(f"`{k}` {v}" for k, v in list(s["ignored_keywords"].items())[:15]) or "none") + ".",
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=SCHEMASTORE, help="SchemaStore data folder")
    parser.add_argument("--names", default="", help="comma-separated schema names (default: all)")
    parser.add_argument("--limit", type=int, default=0, help="first N schemas per source (0: all)")
    parser.add_argument("--sources", default=",".join(SOURCES),
                        help=f"comma-separated sources to run, of {', '.join(SOURCES)} (default: all)")
    parser.add_argument("--no-kubernetes", action="store_true", help="leave out the kubernetes-validate schemas")
    parser.add_argument("--kubernetes", type=Path, metavar="DIR",
                        help="kubernetes-validate's kubernetes-json-schema folder, or one version folder of it "
                        "(default: the interpreter's kubernetes_validate, else the one in .tools/, `make tools`)")
    parser.add_argument("--registry", type=Path, help="local schema registry directory SLOT loads schemas with "
                        "(the server's schema_registry_dir; e.g. the SchemaStore schemas folder); default none")
    parser.add_argument("--out", type=Path, help="results JSON (a .md report is written beside it)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    chosen = [n.strip() for n in args.sources.split(",") if n.strip()]
    if not chosen or set(chosen) - set(SOURCES):
        parser.error(f"--sources: a comma-separated list of {', '.join(SOURCES)}, got {args.sources!r}")
    if "schemastore" in chosen and not (args.root / "schemas").is_dir():
        print(f"bench_schema_coverage: no SchemaStore data at {args.root} (expected schemas/, test/, negative_test/ "
              "there; see ../shared/data/schemastore/README.md); nothing to measure", file=sys.stderr)
        return 2

    from slot.config import Settings

    from slot.models import load_tokenizer, resolve_base_model

    settings = Settings.from_env()
    model_dir = resolve_base_model(settings.base_model, settings.home_path, progress=False)
    tokenizer, vocab = load_tokenizer(model_dir)
    from slot.schema_registry import SchemaRegistry

    registry = SchemaRegistry.load(args.registry) if args.registry else None
    runner = Runner(tokenizer, vocab, settings, model_dir, registry)
    names = {n.strip() for n in args.names.split(",") if n.strip()} or None
    sources: dict[str, Any] = {}
    if "schemastore" in chosen:
        cases = schemastore_cases(args.root, names)
        sources["schemastore"] = run_source("schemastore", runner, cases, args.limit, args.quiet)
    else:
        sources["schemastore"] = {"available": False, "reason": "left out (--sources)"}
    k8s = kubernetes_root(args.kubernetes)
    folder = kubernetes_folder(k8s) if k8s is not None else None
    if args.no_kubernetes or "kubernetes" not in chosen:
        sources["kubernetes"] = {"available": False, "reason": "left out (" + (
            "--no-kubernetes" if args.no_kubernetes else "--sources") + ")"}
    elif folder is None:
        sources["kubernetes"] = {"available": False, "reason": (
            f"no kubernetes-validate strict schema folder at {args.kubernetes}" if args.kubernetes else
            "the kubernetes-validate package is installed neither in this interpreter nor in .tools/ (`make tools`)")}
    else:
        sources["kubernetes"] = run_kubernetes(runner, folder, args.limit, args.quiet)
    report = {
        "about": "Schema coverage of SLOT's path (load_schema + llguidance grammar with the default settings, "
                 "objects closed) and of plain llguidance on real-world schemas with valid and invalid instances. "
                 "Generated by benchmarks/bench_schema_coverage.py.",
        "machine": machine(),
        "settings": {"compile_timeout_s": runner.timeout_s, "backend": BACKEND, "limits": asdict(runner.limits),
                     "max_prompt_tokens": runner.max_prompt_tokens,
                     "base_model": settings.base_model, "corpus": str(args.root),
                     "registry": registry_facts(registry) if registry is not None else None},
        "sources": sources,
    }
    runner.plain.close()
    report["settings"]["plain_worker_restarts"] = runner.plain.restarts
    print(markdown(report))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        args.out.with_suffix(".md").write_text(markdown(report), encoding="utf-8")
    return 0


def registry_facts(registry: Any) -> dict[str, Any]:
    """What the report records of a local schema registry."""
    return {"directory": str(registry.directory), "documents": len(registry), "uris": len(registry.uris()),
            "id_conflicts": len(registry.conflicts), "fingerprint": registry.fingerprint}


def run_kubernetes(runner: Runner, folder: Path, limit: int, quiet: bool) -> dict[str, Any]:
    """The kubernetes source: SLOT's path loads the schemas with their own version folder as the local schema
    registry (``--registry`` is SchemaStore's), as a server with ``schema_registry_dir`` set to it would, so their
    references to ``_definitions.json`` (``/api/_definitions.json#/$defs/...`` against the schema's ``$id``)
    embed; plain llguidance gets each document as is, references unresolved (run_case)."""
    from slot.schema_registry import SchemaRegistry

    registry = SchemaRegistry.load(folder)
    given, runner.registry = runner.registry, registry
    try:
        source = run_source("kubernetes", runner, kubernetes_cases(folder), limit, quiet)
    finally:
        runner.registry = given
    return {**source, "folder": str(folder), "registry": registry_facts(registry)}


def settle(runner: Runner, seconds: float = 300.0) -> None:
    """Wait for compiles abandoned at their timeout to end, so each schema is timed on an otherwise idle process
    (and no compile is refused for capacity)."""
    deadline = time.monotonic() + seconds
    while (runner.slot.abandoned or runner.open.abandoned) and time.monotonic() < deadline:
        time.sleep(0.1)


def run_source(name: str, runner: Runner, cases: Iterator[SchemaCase], limit: int, quiet: bool) -> dict[str, Any]:
    """Every schema of one source, one after the other; the summary and the per-schema rows."""
    rows: list[Row] = []
    started = time.perf_counter()
    for number, case in enumerate(cases, 1):
        if limit and number > limit:
            break
        settle(runner)
        one = time.perf_counter()
        rows.append(run_case(runner, case))
        took = time.perf_counter() - one
        if not quiet and (number % 50 == 0 or took > 5):
            print(f"{name}: {number} schemas, {time.perf_counter() - started:.0f} s ({case.name}: {took:.1f} s, "
                  f"plain worker restarts {runner.plain.restarts})", file=sys.stderr, flush=True)
    records = [asdict(r) | {"served": r.served, "strict_served": r.strict_served,
                            "served_without_registry": r.served_without_registry,
                            "plain_served": r.plain_served(r.plain),
                            "lenient_served": r.plain_served(r.lenient)} for r in rows]
    return {"available": True, "seconds": round(time.perf_counter() - started, 1), "summary": summarise(rows),
            "schemas": records}


if __name__ == "__main__":
    sys.exit(main())
