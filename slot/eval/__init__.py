"""Evaluation with the SLOT paper's metrics (schema accuracy, content similarity) plus exact
match per field and the share of ungrounded values; reports per data source.

Heavy dependencies (torch, transformers, matplotlib) load only when used.
"""

from slot.eval.metrics import EmbeddingSimilarity, RowScore, parse_output, schema_errors, score_row, soft_scores
from slot.eval.report import EvalReport, GroupSummary, markdown_table, write_report
from slot.eval.runner import evaluate, load_predictions, load_rows, run_predictors, source_of

__all__ = ["EmbeddingSimilarity", "RowScore", "parse_output", "schema_errors", "score_row", "soft_scores",
           "EvalReport", "GroupSummary", "markdown_table", "write_report", "evaluate", "load_predictions",
           "load_rows", "run_predictors", "source_of"]
