"""Command line: generate / merge / convert-e2e / counterfactual / convert-snips / long-docs.

Configuration mistakes print one line (`error: ...`) to stderr and exit with code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from data_synthesis.external import ConfigError
from data_synthesis.vocabulary import DEFAULT_OPEN_SHARE


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message} (see --help)\n")


def _fractions(text: str) -> tuple[float, float, float]:
    try:
        parts = tuple(float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected three comma-separated numbers, got {text!r}") from None
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(f"expected three comma-separated numbers, got {text!r}")
    return parts  # type: ignore[return-value]


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m data_synthesis", description="Synthesise (text, schema, JSON) training pairs.")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    g = sub.add_parser("generate", help="generate one shard of synthetic examples")
    g.add_argument("--n", type=int, required=True, help="number of candidate examples (before filters), all shards")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--out", required=True, help="output folder")
    g.add_argument("--shard-index", type=int, default=None,
                   help="this shard (default: $JOB_COMPLETION_INDEX of a Kubernetes Indexed Job, else 0)")
    g.add_argument("--num-shards", type=int, default=1)
    g.add_argument("--workers", type=int, default=1, help="processes on this machine (output does not depend on it)")
    g.add_argument("--schemas", help="external schemas: a folder of .json files or a JSONL file")
    g.add_argument("--teacher-url", help="OpenAI-compatible endpoint base URL, e.g. http://127.0.0.1:8000")
    g.add_argument("--teacher-model", help="model name for the teacher endpoint")
    g.add_argument("--teacher-fraction", type=float, default=1.0, help="share of examples written by the teacher")
    g.add_argument("--texts-per-schema", type=int, default=2)
    g.add_argument("--min-chars", type=int, default=20)
    g.add_argument("--max-chars", type=int, default=6000)
    g.add_argument("--grounder", default="auto", help="auto (slot.grounding if importable), slot or simple")
    g.add_argument("--near-dup-threshold", type=float, default=0.8)
    g.add_argument("--split-fractions", type=_fractions, default=(0.9, 0.05, 0.05), help="train,validation,test")
    g.add_argument("--open-share", type=float, default=DEFAULT_OPEN_SHARE,
                   help="share of word/sentence/pick values drawn as new values, with multi-locale Faker pools "
                        f"(default {DEFAULT_OPEN_SHARE}); 0 reproduces the narrow pools of earlier runs exactly")
    g.add_argument("--no-progress", action="store_true")
    m = sub.add_parser("merge", help="merge shard (or converted) output folders")
    m.add_argument("--out", required=True)
    m.add_argument("inputs", nargs="+", help="output folders of generate / convert-e2e")
    c = sub.add_parser("convert-e2e", help="recast the shared E2E file into the training format")
    c.add_argument("--input", required=True)
    c.add_argument("--out", required=True)
    c.add_argument("--drop-ungrounded", action="store_true", help="drop examples whose gold is not in the text")
    c.add_argument("--grounder", default="auto")
    f = sub.add_parser("counterfactual", help="value-swapped copies of (text, gold) rows (training or evaluation)")
    f.add_argument("--input", required=True, help="JSONL rows {id, input_text, json_schema, gold}")
    f.add_argument("--out", required=True, help="output JSONL; each row records its swaps in meta.swapped")
    f.add_argument("--pool", choices=("train", "eval"), required=True,
                   help="vocabulary of new values: 'train' for augmentation, 'eval' (disjoint) for measurement")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--copies", type=int, default=1, help="swapped copies per row (each with other values)")
    f.add_argument("--limit", type=int, default=0, help="use only the first N input rows (0: all)")
    n = sub.add_parser("convert-snips", help="recast the SNIPS NLU requests as request -> arguments rows")
    n.add_argument("--input-dir", required=True, help="folder of train_<Intent>_full.json / validate_<Intent>.json")
    n.add_argument("--out", required=True, help="output JSONL")
    n.add_argument("--split", choices=("train", "validate", "both"), default="both")
    n.add_argument("--per-intent", type=int, default=0, help="N rows per intent, drawn with --seed (0: all)")
    n.add_argument("--seed", type=int, default=0)
    n.add_argument("--intents", default="", help="comma-separated intents to keep (default: all)")
    d = sub.add_parser("long-docs", help="long report-like documents (1-4k characters) with schemas of depth 4-7")
    d.add_argument("--n", type=int, required=True, help="number of rows (domains and depths cycle over them)")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--out", required=True, help="output JSONL")
    d.add_argument("--domains", choices=("eval", "train"), default="eval",
                   help="'eval': the six evaluation domains (default); 'train': six other domains, for training "
                        "rows that keep the evaluation domains unseen")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command is None:
        build_parser().print_help(sys.stderr)
        return 2
    try:
        return _run(args)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    if args.command == "generate":
        from data_synthesis.pipeline import GenConfig, generate

        if args.shard_index is None:
            env = os.environ.get("JOB_COMPLETION_INDEX", "0")
            if not env.isdigit():
                raise ConfigError(f"JOB_COMPLETION_INDEX must be a non-negative integer, got {env!r}")
            args.shard_index = int(env)

        cfg = GenConfig(n=args.n, seed=args.seed, shard_index=args.shard_index, num_shards=args.num_shards,
                        workers=args.workers, schemas_path=args.schemas, teacher_url=args.teacher_url,
                        teacher_model=args.teacher_model, teacher_fraction=args.teacher_fraction,
                        texts_per_schema=args.texts_per_schema, min_chars=args.min_chars, max_chars=args.max_chars,
                        grounder=args.grounder, near_dup_threshold=args.near_dup_threshold,
                        fractions=args.split_fractions, progress=not args.no_progress, open_share=args.open_share)
        s = generate(cfg, args.out)
        kept = sum(s.kept.values())
        rate = s.candidates / s.seconds if s.seconds > 0 else float("inf")
        print(f"generated {s.candidates} candidates, kept {kept} ({s.kept}) in {s.seconds:.2f}s "
              f"= {rate:.0f} candidates/s, {kept / s.seconds if s.seconds else 0:.0f} kept/s; dropped {s.dropped}",
              file=sys.stderr)
        return 0
    if args.command == "merge":
        from data_synthesis.merge import merge

        card = merge(args.out, args.inputs)
        print(f"merged {len(args.inputs)} folders: {card['examples']} (dropped {card['dropped']})", file=sys.stderr)
        return 0
    if args.command == "counterfactual":
        from data_synthesis.counterfactual import write_counterfactuals

        made, unswappable = write_counterfactuals(args.input, args.out, pool=args.pool, seed=args.seed,
                                                  copies=args.copies, limit=args.limit)
        print(f"wrote {made} counterfactual rows to {args.out} ({unswappable} rows state no swappable value)",
              file=sys.stderr)
        return 0
    if args.command == "convert-snips":
        from data_synthesis.snips import write_snips

        intents = [i.strip() for i in args.intents.split(",") if i.strip()]
        summary = write_snips(args.input_dir, args.out, split=args.split, per_intent=args.per_intent, seed=args.seed,
                              intents=intents)
        print(summary.line(args.out), file=sys.stderr)
        return 0
    if args.command == "long-docs":
        from data_synthesis.long_docs import write_long_docs

        if args.n <= 0:
            raise ConfigError(f"--n must be a positive integer, got {args.n}")
        print(write_long_docs(args.out, args.n, args.seed, args.domains).line(args.out), file=sys.stderr)
        return 0
    from data_synthesis.merge import convert_e2e

    card = convert_e2e(args.input, args.out, drop_ungrounded=args.drop_ungrounded, grounder=args.grounder)
    print(f"converted {card['candidates']} E2E rows: {card['examples']} (dropped {card['dropped']})", file=sys.stderr)
    return 0
