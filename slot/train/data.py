"""Training examples: JSONL rows -> token ids with the loss masked to the JSON answer, batched by length.

A row is ``{"id", "input_text", "json_schema", "gold"}`` (other keys are kept but unused). The prompt is
the one inference uses (:mod:`slot.prompt`), tokenized the same way (prefix and suffix separately), and
the target is ``target_text(gold, schema)`` followed by the EOS token: exactly what constrained decoding
lets the model write. Labels are -100 on every prompt token, so the loss is on the answer only.
Rows that cannot be used (bad JSON, missing keys, bad schema, gold invalid against its schema, too long)
are counted and skipped with a reason, never a traceback.
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from slot.errors import SlotError
from slot.prompt import answer_end_id, encode, render, target_text
from slot.schema import load_schema

IGNORE_INDEX = -100
"""Label value that the loss ignores (torch's cross-entropy default)."""

REQUIRED_KEYS = ("input_text", "json_schema", "gold")


class DataError(ValueError):
    """A data file that cannot be used at all (missing, unreadable, or with no usable row)."""


@dataclass(frozen=True)
class Example:
    """One tokenized training example."""

    id: str
    input_ids: list[int]
    labels: list[int]
    """Same length as input_ids: -100 on the prompt, the token id on the answer and its EOS."""

    @property
    def prompt_length(self) -> int:
        return sum(1 for label in self.labels if label == IGNORE_INDEX)

    def __len__(self) -> int:
        return len(self.input_ids)


@dataclass
class LoadReport:
    """What was read from the data files: counts of kept and skipped rows, with the reasons."""

    kept: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    examples_of_skips: list[str] = field(default_factory=list)

    def skip(self, reason: str, where: str) -> None:
        self.skipped[reason] += 1
        if len(self.examples_of_skips) < 5:
            self.examples_of_skips.append(f"{where}: {reason}")

    def summary(self) -> str:
        if not self.skipped:
            return f"{self.kept} rows kept"
        reasons = ", ".join(f"{n} {reason}" for reason, n in self.skipped.most_common())
        return f"{self.kept} rows kept, {sum(self.skipped.values())} skipped ({reasons})"


def read_rows(paths: Sequence[Path], report: LoadReport) -> list[dict[str, Any]]:
    """Parse JSONL files into dict rows; bad lines are counted in the report and skipped."""
    rows: list[dict[str, Any]] = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise DataError(f"data file {path} does not exist")
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"cannot read data file {path}: {exc}") from None
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                report.skip("invalid JSON line", f"{where} ({exc.msg})")
                continue
            if not isinstance(row, dict):
                report.skip("line is not a JSON object", where)
                continue
            missing = [key for key in REQUIRED_KEYS if key not in row]
            if missing:
                report.skip(f"missing key {missing[0]!r}", where)
                continue
            if not isinstance(row["input_text"], str):
                report.skip("input_text is not a string", where)
                continue
            row.setdefault("id", where)
            row["_where"] = where
            rows.append(row)
    return rows


def target_for(row: dict[str, Any]) -> tuple[str, str]:
    """(schema_text for the prompt, target JSON text) of a row; raises ValueError when unusable."""
    raw = row["json_schema"]
    if isinstance(raw, str):
        raw = raw.strip()
    try:
        schema = load_schema(raw)
    except SlotError as exc:
        raise ValueError(f"bad schema: {exc}") from None
    errors = schema.errors(row["gold"])
    if errors:
        raise ValueError(f"gold does not validate against its schema: {errors[0]}")
    return schema.canonical, target_text(row["gold"], schema.document)


def build_example(tokenizer: Any, row: dict[str, Any], end_id: int | None = None) -> Example:
    """Tokenize a row as prompt (masked) + target JSON + answer end (trained). Raises ValueError when unusable.

    ``end_id``: ``answer_end_id(tokenizer)``, which renders the chat template; callers building many rows
    pass it once computed."""
    schema_text, target = target_for(row)
    prompt = encode(tokenizer, render(tokenizer, schema_text, row["input_text"])).ids
    end = answer_end_id(tokenizer) if end_id is None else end_id
    answer = tokenizer.encode(target, add_special_tokens=False) + [end]
    return Example(id=str(row["id"]), input_ids=prompt + answer, labels=[IGNORE_INDEX] * len(prompt) + answer)


def load_examples(paths: Sequence[Path], tokenizer: Any, max_length: int, *,
                  workers: int = 0) -> tuple[list[Example], LoadReport]:
    """Read, check and tokenize JSONL files; rows over max_length tokens are skipped (never truncated).

    Checking a schema against the 2020-12 meta-schema costs ~15 ms, most of a row's time, so big files are
    built in ``workers`` processes (0: one per core, up to 16, for files of 2,000 rows or more). The
    examples and the report do not depend on the number of workers.
    """
    report = LoadReport()
    rows = read_rows(paths, report)
    workers = workers or (min(os.cpu_count() or 1, 16) if len(rows) >= PARALLEL_ROWS else 1)
    try:
        end_id = answer_end_id(tokenizer)
    except ValueError as exc:
        raise DataError(str(exc)) from None
    built: Iterable[Example | str]
    if workers > 1 and len(rows) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        size = max(1, len(rows) // (workers * 8))
        chunks = [rows[i:i + size] for i in range(0, len(rows), size)]
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_set_tokenizer, initargs=(tokenizer, end_id)) as pool:
            built = [item for chunk in pool.map(_build_chunk, chunks) for item in chunk]
    else:
        built = (_build_or_reason(tokenizer, end_id, row) for row in rows)
    examples: list[Example] = []
    for row, example in zip(rows, built):
        if isinstance(example, str):
            report.skip(example.split(":")[0], f"{row['_where']} ({example[:200]})")
            continue
        if len(example) > max_length:
            report.skip(f"longer than max_length {max_length}", row["_where"])
            continue
        examples.append(example)
    report.kept = len(examples)
    if not examples:
        detail = "; ".join(report.examples_of_skips)
        raise DataError(f"no usable rows in {', '.join(map(str, paths))}" + (f" ({detail})" if detail else ""))
    return examples, report


PARALLEL_ROWS = 2000
"""Files with at least this many rows are built in worker processes by default."""

_WORKER: tuple[Any, int] | None = None
"""(tokenizer, answer end id) of a worker process."""


def _set_tokenizer(tokenizer: Any, end_id: int) -> None:
    global _WORKER
    _WORKER = (tokenizer, end_id)


def _build_chunk(rows: list[dict[str, Any]]) -> list[Example | str]:
    assert _WORKER is not None
    return [_build_or_reason(*_WORKER, row) for row in rows]


def _build_or_reason(tokenizer: Any, end_id: int, row: dict[str, Any]) -> Example | str:
    """The example of a row, or why it cannot be used."""
    try:
        return build_example(tokenizer, row, end_id)
    except ValueError as exc:
        return str(exc)


def bucketed_batches(examples: Sequence[Example], batch_size: int, *, seed: int, pool: int = 64) -> list[list[int]]:
    """Indices of examples grouped into batches of similar length, in a seeded random order.

    Shuffles, cuts pools of ``pool * batch_size`` rows, sorts each pool by length, slices it into batches
    and shuffles the batches: little padding, yet no fixed length curriculum.
    """
    rng = random.Random(seed)
    order = list(range(len(examples)))
    rng.shuffle(order)
    span = max(1, pool) * batch_size
    batches: list[list[int]] = []
    for start in range(0, len(order), span):
        chunk = sorted(order[start:start + span], key=lambda i: len(examples[i]))
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def batch_stream(examples: Sequence[Example], batch_size: int, *, seed: int, pool: int = 64) -> Iterator[list[int]]:
    """Endless stream of batches: epoch e uses the order of seed + e (so a resumed run sees the same data)."""
    epoch = 0
    while True:
        yield from bucketed_batches(examples, batch_size, seed=seed + epoch, pool=pool)
        epoch += 1


def collate(examples: Sequence[Example], pad_id: int) -> dict[str, Any]:
    """Right-padded tensors: input_ids, attention_mask and labels (-100 on padding)."""
    import torch

    width = max(len(e) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, example in enumerate(examples):
        n = len(example)
        ids[row, :n] = torch.tensor(example.input_ids)
        labels[row, :n] = torch.tensor(example.labels)
        mask[row, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}
