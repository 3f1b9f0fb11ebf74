"""Two schemas equal up to key order share ``Schema.hash`` but not a grammar: keys are written in the order
``properties`` declares them, so the grammar cache keys on the schema text in its own order (issue 27)."""

from __future__ import annotations

import pytest

from slot.grammar.cache import GrammarCache, grammar_key
from slot.schema import load_schema
from slot.target import target_text

pytestmark = pytest.mark.model

NAME_FIRST = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
              "required": ["name", "age"]}
AGE_FIRST = {"type": "object", "properties": {"age": {"type": "integer"}, "name": {"type": "string"}},
             "required": ["name", "age"]}


@pytest.fixture(scope="module")
def tokenizer_and_vocab(settings):
    from slot.models import load_tokenizer, resolve_base_model

    return load_tokenizer(resolve_base_model(settings.base_model, settings.home_path, progress=False))


def _accepts(grammar, tokenizer, text: str) -> bool:
    matcher = grammar.matcher()
    return matcher.consume(tokenizer.encode(text, add_special_tokens=False)) and matcher.is_accepting()


def test_schemas_equal_up_to_key_order_get_their_own_grammar(tokenizer_and_vocab):
    tokenizer, vocab = tokenizer_and_vocab
    first, second = load_schema(NAME_FIRST), load_schema(AGE_FIRST)
    assert first.hash == second.hash and grammar_key(first) != grammar_key(second)
    cache = GrammarCache(tokenizer, vocab)
    name_first, _ = cache.get(first, "llguidance")
    age_first, hit = cache.get(second, "llguidance")
    assert not hit and len(cache) == 2
    value = {"name": "Ada", "age": 36}
    assert target_text(value, NAME_FIRST) == '{"name":"Ada","age":36}'
    assert target_text(value, AGE_FIRST) == '{"age":36,"name":"Ada"}'
    # each grammar writes the keys in its own schema's order, and only in that order
    assert _accepts(name_first, tokenizer, target_text(value, NAME_FIRST))
    assert not _accepts(name_first, tokenizer, target_text(value, AGE_FIRST))
    assert _accepts(age_first, tokenizer, target_text(value, AGE_FIRST))
    assert not _accepts(age_first, tokenizer, target_text(value, NAME_FIRST))
    assert cache.get(load_schema(dict(AGE_FIRST)), "llguidance")[1]  # the same spelling again: a hit
