"""Grammar-constrained decoding support: one module per backend behind a small interface."""

from slot.grammar.base import CompiledGrammar, Matcher
from slot.grammar.cache import BACKENDS, GrammarCache

__all__ = ["BACKENDS", "CompiledGrammar", "GrammarCache", "Matcher"]
