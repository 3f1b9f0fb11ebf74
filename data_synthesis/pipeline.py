"""The generation pipeline: example index -> (schema, instance, text) -> filters -> split files.

Every example is a pure function of (seed, index), so results do not depend on worker count or
sharding: shard k of K handles indices k, k+K, k+2K, ... and `merge` restores the unsharded output.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import random
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

from data_synthesis import filters as F
from data_synthesis.external import ConfigError, load_schemas, plan_from_schema
from data_synthesis.held_out import holds_eval_value
from data_synthesis.instances import instance_for, pool
from data_synthesis.plan import Node, iter_leaves
from data_synthesis.renderers import TEXT_KINDS, render
from data_synthesis.schemas import LEVELS, build_plan, emit_schema
from data_synthesis.splits import DEFAULT_FRACTIONS, SPLITS, schema_id, split_for
from data_synthesis.teacher import TeacherClient, TeacherError
from data_synthesis.vocabulary import WIDE_KINDS, Vocabulary, wide_pool

SIGNATURES_FILE = "signatures.jsonl"


@dataclass(frozen=True)
class GenConfig:
    """Everything that determines the output bytes (plus workers/progress, which do not)."""

    n: int
    seed: int = 0
    shard_index: int = 0
    num_shards: int = 1
    workers: int = 1
    schemas_path: str | None = None
    teacher_url: str | None = None
    teacher_model: str | None = None
    teacher_fraction: float = 1.0
    texts_per_schema: int = 2
    min_chars: int = 20
    max_chars: int = 6000
    grounder: str = "auto"
    near_dup_threshold: float = 0.8
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS
    progress: bool = True
    open_share: float = 0.0
    """Wide vocabularies (vocabulary.py) at this share; 0, the library default, is the old output byte for
    byte. The CLI's default is vocabulary.DEFAULT_OPEN_SHARE."""

    def check(self) -> None:
        """Raise ConfigError (one clear line) for any inconsistent setting."""
        if self.n <= 0:
            raise ConfigError(f"--n must be a positive integer, got {self.n}")
        if self.num_shards <= 0:
            raise ConfigError(f"--num-shards must be >= 1, got {self.num_shards}")
        if not 0 <= self.shard_index < self.num_shards:
            raise ConfigError(f"--shard-index must be in [0, {self.num_shards - 1}], got {self.shard_index}")
        if self.workers <= 0:
            raise ConfigError(f"--workers must be >= 1, got {self.workers}")
        if self.texts_per_schema <= 0:
            raise ConfigError("--texts-per-schema must be >= 1")
        if not 0 < self.min_chars <= self.max_chars:
            raise ConfigError("length bounds must satisfy 0 < min-chars <= max-chars")
        if self.grounder not in ("auto", "slot", "simple"):
            raise ConfigError(f"--grounder must be auto, slot or simple, got {self.grounder!r}")
        if self.grounder == "slot" and F.grounder_name("auto") != "slot":
            raise ConfigError("--grounder slot needs slot.grounding, which is not importable")
        if bool(self.teacher_url) != bool(self.teacher_model):
            raise ConfigError("--teacher-url and --teacher-model must be given together")
        if self.teacher_url and not self.teacher_url.startswith(("http://", "https://")):
            raise ConfigError(f"--teacher-url must be an http(s) URL, got {self.teacher_url!r}")
        if not 0.0 <= self.teacher_fraction <= 1.0:
            raise ConfigError("--teacher-fraction must be in [0, 1]")
        if abs(sum(self.fractions) - 1.0) > 1e-9 or min(self.fractions) < 0:
            raise ConfigError("split fractions must be >= 0 and sum to 1")
        if not 0.0 <= self.open_share <= 1.0:
            raise ConfigError(f"--open-share must be in [0, 1], got {self.open_share}")


@dataclass
class _Worker:
    cfg: GenConfig
    external: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    teacher: TeacherClient | None = None
    cache: dict[int, tuple[Node, dict[str, Any], str, str, str]] = field(default_factory=dict)
    vocab: Vocabulary | None = None


_W: _Worker | None = None


def _init_worker(cfg: GenConfig, external: list[tuple[str, dict[str, Any]]]) -> None:
    global _W
    teacher = TeacherClient(cfg.teacher_url, cfg.teacher_model) if cfg.teacher_url and cfg.teacher_model else None
    _W = _Worker(cfg, external, teacher, vocab=Vocabulary(cfg.open_share) if cfg.open_share > 0 else None)


def _schema(w: _Worker, schema_index: int) -> tuple[Node, dict[str, Any], str, str, str]:
    """(plan, schema, domain, complexity, canonical JSON) for a schema index, cached per process."""
    got = w.cache.get(schema_index)
    if got is not None:
        return got
    if len(w.cache) > 256:
        w.cache.clear()
    if w.external:
        name, schema = w.external[schema_index % len(w.external)]
        plan = plan_from_schema(schema)
        n_leaves = sum(1 for _ in plan.leaves())
        level = "external_" + ("flat" if plan.depth() <= 1 else "nested") + ("_small" if n_leaves <= 5 else "")
        got = (plan, schema, "external", level, F.canonical_json(schema))
    else:
        plan, schema, domain, level = synthetic_schema(w.cfg.seed, schema_index)
        got = (plan, schema, domain, level, F.canonical_json(schema))
    w.cache[schema_index] = got
    return got


def synthetic_schema(seed: int, schema_index: int) -> tuple[Node, dict[str, Any], str, str]:
    """(plan, schema, domain, complexity) of synthetic schema ``schema_index`` (example index //
    texts_per_schema): a pure function of the seed, so tools can recover each gold leaf's generator."""
    rng = random.Random(f"schema:{seed}:{schema_index}")
    plan, domain, level = build_plan(rng)
    return plan, emit_schema(plan, rng, level), domain, level


def make_candidate(index: int) -> dict[str, Any]:
    """Build and filter one example; returns {"index", "drop"} or {"index", "record", "sig"}."""
    w = _W
    assert w is not None, "worker not initialised"
    cfg = w.cfg
    plan, schema, domain, level, canonical = _schema(w, index // cfg.texts_per_schema)
    rng = random.Random(f"example:{cfg.seed}:{index}")
    gold: Any = None
    for _ in range(3):  # external schemas may have constraints the generators do not know
        gold = instance_for(plan, rng, w.vocab)
        errors = F.schema_errors(gold, schema, canonical)
        if not errors:
            break
    else:
        return {"index": index, "drop": "schema_invalid"}
    if w.vocab is not None and any(isinstance(v, str) and holds_eval_value(v) for _, v in iter_leaves(gold)):
        return {"index": index, "drop": "eval_vocabulary"}  # e.g. an external schema's enum holds one
    kind = rng.choice(TEXT_KINDS)
    rendered = render(kind, plan, gold, rng)
    text, source, reformatted = rendered.text, "template", rendered.reformatted
    if w.teacher is not None and rng.random() < cfg.teacher_fraction:
        try:
            text, source, reformatted = w.teacher.write_text(schema, gold, kind), "teacher", []
            ok, _ = w.teacher.judge(schema, gold, text)
        except TeacherError:
            return {"index": index, "drop": "teacher_error"}
        if not ok:
            return {"index": index, "drop": "teacher_rejected"}
    if not (cfg.min_chars <= len(text) <= cfg.max_chars):
        return {"index": index, "drop": "length"}
    if F._is_grounded(gold, text, schema, cfg.grounder):
        return {"index": index, "drop": "ungrounded"}
    meta: dict[str, Any] = {
        "source": "synthetic", "domain": domain, "complexity": level, "text_kind": kind,
        "text_source": source, "seed": cfg.seed, "index": index, "schema_id": schema_id(canonical),
        "n_leaves": sum(1 for _ in iter_leaves(gold)), "reformatted": reformatted, **rendered.info,
    }
    record = {"id": f"syn-{cfg.seed}-{index:08d}", "input_text": text, "json_schema": schema, "gold": gold,
              "meta": meta}
    exact, mins = F.text_signature(text)
    return {"index": index, "record": record, "sig": {"exact": exact, "minhash": mins},
            "split": split_for(canonical, cfg.fractions)}


def _candidates(cfg: GenConfig, indices: range, external: list[tuple[str, dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    for kind in ("person", "first", "last", "company", "city", "country", "street", "zip", "phone", "job",
                 "color", "iban", "free_email", "state"):
        pool(kind)  # build Faker pools before forking so workers inherit them
    if cfg.open_share > 0:
        for kind in WIDE_KINDS:
            wide_pool(kind)
    if cfg.workers == 1:
        _init_worker(cfg, external)
        yield from map(make_candidate, indices)
        return
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    with ctx.Pool(cfg.workers, initializer=_init_worker, initargs=(cfg, external)) as p:
        yield from p.imap(make_candidate, indices, chunksize=32)


def order_key(meta: dict[str, Any]) -> tuple[str, int, int]:
    """Global order of candidates: dedup keeps the first, merge sorts by it."""
    return (str(meta.get("source", "synthetic")), int(meta.get("seed", 0)), int(meta.get("index", 0)))


def sig_line(key: tuple[str, int, int], sig: dict[str, Any]) -> str:
    return json.dumps({"key": list(key), "exact": sig["exact"], "minhash": sig["minhash"]}, separators=(",", ":"))


@dataclass
class RunSummary:
    candidates: int
    kept: dict[str, int]
    dropped: dict[str, int]
    seconds: float


def generate(cfg: GenConfig, out: str | Path) -> RunSummary:
    """Run one shard and write DIR/{train,validation,test}.jsonl, signatures and the dataset card."""
    cfg.check()
    external = load_schemas(cfg.schemas_path) if cfg.schemas_path else []
    out_dir = Path(out)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"cannot create output folder {out_dir}: {e}") from None
    indices = range(cfg.shard_index, cfg.n, cfg.num_shards)
    t0 = time.perf_counter()
    dropped: Counter[str] = Counter()
    dedup = F.Deduper(threshold=cfg.near_dup_threshold)
    records: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLITS}
    sig_lines: list[str] = []
    bar = _progress(cfg, len(indices))
    for cand in _candidates(cfg, indices, external):
        bar.update(1)
        if "drop" in cand:
            dropped[cand["drop"]] += 1
            continue
        sig = cand["sig"]
        sig_lines.append(sig_line(order_key(cand["record"]["meta"]), sig))
        verdict = dedup.check_and_add(sig["exact"], sig["minhash"])
        if verdict:
            dropped[verdict] += 1
            continue
        records[cand["split"]].append(cand["record"])
    bar.close()
    seconds = time.perf_counter() - t0
    from data_synthesis.card import write_outputs

    config = {k: v for k, v in asdict(cfg).items() if k not in ("workers", "progress")}
    if not cfg.open_share:
        del config["open_share"]  # the card of a share-0 run is today's, byte for byte
    config["grounder_used"] = F.grounder_name(cfg.grounder)
    write_outputs(out_dir, records, sig_lines, len(indices), dict(dropped), config)
    return RunSummary(len(indices), {s: len(v) for s, v in records.items()}, dict(dropped), seconds)


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(cfg: GenConfig, total: int) -> Any:
    if not cfg.progress or not sys.stderr.isatty():
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, desc=f"shard {cfg.shard_index}/{cfg.num_shards}", unit="ex", file=sys.stderr)


__all__ = ["GenConfig", "RunSummary", "generate", "make_candidate", "order_key", "synthetic_schema", "LEVELS",
           "SIGNATURES_FILE"]
