"""Leaf paths (RFC 6901 JSON Pointers) shared by grounding and the eval metrics."""

from __future__ import annotations

import pytest

from slot.leaves import escape_token, iter_leaves, join_pointer, leaf_map, resolve_ref, split_pointer


def test_nested_objects_and_lists_in_document_order() -> None:
    doc = {"name": "A", "items": [{"sku": "x", "qty": 2}, {"sku": "y", "qty": None}], "ok": True}
    assert list(iter_leaves(doc)) == [
        ("/name", "A"), ("/items/0/sku", "x"), ("/items/0/qty", 2),
        ("/items/1/sku", "y"), ("/items/1/qty", None), ("/ok", True),
    ]


def test_root_scalar_has_empty_pointer() -> None:
    assert list(iter_leaves(3.5)) == [("", 3.5)]
    assert list(iter_leaves(None)) == [("", None)]


def test_empty_containers_are_leaves() -> None:
    assert list(iter_leaves({"a": [], "b": {}, "c": [[]]})) == [("/a", []), ("/b", {}), ("/c/0", [])]
    assert list(iter_leaves({})) == [("", {})]
    assert list(iter_leaves([])) == [("", [])]


def test_tilde_and_slash_are_escaped() -> None:
    assert leaf_map({"a/b": 1, "m~n": 2, "": 3}) == {"/a~1b": 1, "/m~0n": 2, "/": 3}
    assert escape_token("~1") == "~01"  # '~' first, so '~1' does not turn into '/'


@pytest.mark.parametrize("tokens", [["a/b", "m~n"], ["~1", "0"], [""], ["x", "", "y"]])
def test_split_inverts_join(tokens: list[str]) -> None:
    pointer = ""
    for t in tokens:
        pointer = join_pointer(pointer, t)
    assert split_pointer(pointer) == tokens


def test_split_rejects_relative_pointer() -> None:
    with pytest.raises(ValueError):
        split_pointer("a/b")


def test_resolve_ref_is_the_one_local_reference_resolver():
    doc = {"$defs": {"a/b": {"type": "string"}, "t~x": {"type": "integer"}, "list": [{"const": 1}, {"const": 2}],
                     "sp ace": {"type": "null"}}}
    assert resolve_ref(doc, "#") is doc
    assert resolve_ref(doc, "#/$defs/a~1b") == {"type": "string"}
    assert resolve_ref(doc, "#/$defs/t~0x") == {"type": "integer"}
    assert resolve_ref(doc, "#/$defs/list/1") == {"const": 2}
    assert resolve_ref(doc, "#/$defs/sp%20ace") == {"type": "null"}
    for bad in ("#/$defs/missing", "#/$defs/list/2", "#anchor", "other.json#/a", "#/$defs/list/x"):
        with pytest.raises(LookupError):
            resolve_ref(doc, bad)


def test_field_path_and_set_at():
    from slot.leaves import field_path, set_at

    assert field_path("/items/0/name") == "/items/*/name" and field_path("") == ""
    doc = {"a": [{"b": 1}], "c~d": 2}
    set_at(doc, "/a/0/b", 5)
    set_at(doc, "/c~0d", 3)
    assert doc == {"a": [{"b": 5}], "c~d": 3}
