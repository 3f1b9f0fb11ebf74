"""Grounding: per-leaf evidence in the source text and flags for values it does not support.

>>> g = ground({"name": "Alimentum", "kids": "no"}, "Alimentum is not family-friendly.")
"""

from slot.grounding.ground import ground, has_claim
from slot.grounding.policy import Policy, apply_policy
from slot.grounding.result import FieldEvidence, Grounding, Status, UngroundedValuesError

__all__ = ["ground", "has_claim", "apply_policy", "Policy", "FieldEvidence", "Grounding", "Status",
           "UngroundedValuesError"]
