"""The local schema registry (issue 27): references to other documents are served from an operator's directory
(``schema_registry_dir``), embedded into the working document; the official meta-schemas are always served (from
the installed ``jsonschema_specifications``); nothing is ever fetched; and the process's cache of checked schemas
(``slot.schema.SchemaCache``)."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from slot.config import Settings, SettingsError
from slot.errors import SchemaError, UnsupportedSchemaError
from slot.leaves import resolve_ref
from slot.schema import Limits, SchemaCache, cached_load_schema, load_schema
from slot.schema_registry import SchemaRegistry, registry_for
from slot.target import target_text

COMMON = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$id": "https://example.com/schemas/common.json",
    "definitions": {
        "zip": {"type": "string", "pattern": "^[0-9]{5}$"},
        "address": {"type": "object", "properties": {"city": {"type": "string"}, "zip": {"$ref": "#/definitions/zip"}},
                    "required": ["city", "zip"], "additionalProperties": False},
        "unused": {"type": "object", "description": "nothing references this", "properties": {"x": {"type": "null"}}},
    },
}
ORDER = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$id": "https://example.com/schemas/order.json",
    "type": "object",
    "properties": {"id": {"type": "integer"}, "ship_to": {"$ref": "common.json#/definitions/address"}},
    "required": ["id", "ship_to"],
}
"""References ``common.json`` relative to its own ``$id``: https://example.com/schemas/common.json."""

TREE = {"$id": "https://example.com/schemas/tree.json", "$defs": {
    "node": {"type": "object", "properties": {"label": {"$ref": "leaf.json#/$defs/label"},
                                              "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
             "required": ["label"]}}}
LEAF = {"$id": "https://example.com/schemas/leaf.json", "$defs": {
    "label": {"type": "object", "properties": {"text": {"type": "string", "maxLength": 8},
                                               "sub": {"$ref": "tree.json#/$defs/node"}},
              "required": ["text"]}}}
"""Two registry documents referencing each other: tree -> leaf -> tree (a cycle through properties)."""


def _registry(tmp_path: Path, **documents: Any) -> SchemaRegistry:
    directory = tmp_path / "registry"
    directory.mkdir(parents=True, exist_ok=True)
    for name, document in documents.items():
        path = directory / name.replace("__", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document), encoding="utf-8")
    return SchemaRegistry.load(directory)


@pytest.fixture(scope="module")
def grammars():
    """A GrammarCache over the embedded model's tokenizer (no model weights loaded)."""
    from slot.grammar.cache import GrammarCache
    from slot.models import load_tokenizer, resolve_base_model

    settings = Settings.from_env()
    tokenizer, vocab = load_tokenizer(resolve_base_model(settings.base_model, settings.home_path, progress=False))
    return GrammarCache(tokenizer, vocab)


def _accepts(grammars: Any, compiled: Any, value: Any, document: Any) -> bool:
    ids = grammars._tokenizer.encode(target_text(value, document), add_special_tokens=False)
    matcher = compiled.matcher()
    return bool(matcher.consume(ids)) and bool(matcher.is_accepting())


def test_a_remote_reference_resolves_through_the_registry(tmp_path):
    registry = _registry(tmp_path, **{"common.json": COMMON})
    schema = load_schema(json.dumps(ORDER), registry=registry)
    assert schema.embedded == ("https://example.com/schemas/common.json",)
    ship_to = schema.document["properties"]["ship_to"]["$ref"]
    assert ship_to.startswith("#/") and resolve_ref(schema.document, ship_to)["required"] == ["city", "zip"]
    zip_ref = resolve_ref(schema.document, ship_to)["properties"]["zip"]["$ref"]
    assert resolve_ref(schema.document, zip_ref)["pattern"] == "^[0-9]{5}$", "the registry document's own ref too"
    assert schema.given == ORDER, "post-validation checks the document as given"
    assert schema.errors({"id": 1, "ship_to": {"city": "Paris", "zip": "75001"}}) == []
    errors = schema.errors({"id": 1, "ship_to": {"city": "Paris", "zip": "Paris"}})
    assert len(errors) == 1 and errors[0].startswith("/ship_to/zip:") and "does not match" in errors[0]
    assert schema.errors({"id": 1, "ship_to": {"city": "Paris", "zip": "75001", "x": 1}}), "closed in common.json"


@pytest.mark.model
def test_the_grammar_of_a_bundled_schema_compiles_and_enforces_the_referenced_document(tmp_path, grammars):
    schema = load_schema(ORDER, registry=_registry(tmp_path, **{"common.json": COMMON}))
    compiled, _ = grammars.get(schema, "llguidance")
    good = {"id": 7, "ship_to": {"city": "Lyon", "zip": "69001"}}
    assert _accepts(grammars, compiled, good, schema.document)
    assert not _accepts(grammars, compiled, {"id": 7, "ship_to": {"city": "Lyon", "zip": "6900"}}, schema.document)
    assert not _accepts(grammars, compiled, {"id": 7, "ship_to": {"city": "Lyon"}}, schema.document)


def test_only_the_parts_a_schema_reaches_are_embedded_and_the_prompt_text_holds_them(tmp_path):
    schema = load_schema(ORDER, registry=_registry(tmp_path, **{"common.json": COMMON}))
    embedded = json.loads(schema.canonical)["$defs"]["https://example.com/schemas/common.json"]
    assert embedded["$id"] == "https://example.com/schemas/common.json" and "$schema" not in embedded
    assert set(embedded["definitions"]) == {"address", "zip"}, "the unused definition is pruned"
    assert json.loads(schema.canonical)["properties"] == ORDER["properties"], "the schema itself as given"
    plain = load_schema({k: v for k, v in ORDER.items() if k != "properties"})
    assert schema.hash != plain.hash


@pytest.mark.model
def test_references_across_two_registry_documents_resolve_recursively(tmp_path, grammars):
    registry = _registry(tmp_path, **{"tree.json": TREE, "sub__leaf.json": LEAF})
    assert registry.lookup("https://example.com/schemas/leaf.json").path == "sub/leaf.json"
    root = {"type": "object", "properties": {"root": {"$ref": "https://example.com/schemas/tree.json#/$defs/node"}},
            "required": ["root"]}
    schema = load_schema(root, registry=registry)
    assert set(schema.embedded) == {"https://example.com/schemas/tree.json", "https://example.com/schemas/leaf.json"}
    deep = {"root": {"label": {"text": "a", "sub": {"label": {"text": "b"}, "kids": [{"label": {"text": "c"}}]}}}}
    assert schema.errors(deep) == []
    bad = {"root": {"label": {"text": "a", "sub": {"label": {"text": "much too long"}}}}}
    errors = schema.errors(bad)
    assert len(errors) == 1 and errors[0].startswith("/root/label/sub/label/text:")
    compiled, _ = grammars.get(schema, "llguidance")
    assert _accepts(grammars, compiled, deep, schema.document)
    assert not _accepts(grammars, compiled, bad, schema.document)


def test_a_schema_without_id_names_registry_files_by_their_path(tmp_path):
    registry = _registry(tmp_path, **{"parts__zip.json": {"type": "string", "pattern": "^[0-9]{5}$"}})
    schema = load_schema({"type": "object", "properties": {"zip": {"$ref": "parts/zip.json"}}}, registry=registry)
    assert schema.embedded == ("parts/zip.json",)
    assert schema.errors({"zip": "12345"}) == [] and schema.errors({"zip": "x"})
    with pytest.raises(UnsupportedSchemaError, match="which no \\$id of this schema names"):
        load_schema({"$id": "https://other.example/a.json", "properties": {"zip": {"$ref": "parts/zip.json"}}},
                    registry=registry)


def test_a_draft7_document_with_a_top_level_ref_is_embedded_under_its_uri(tmp_path):
    """Up to draft 7 an ``$id`` beside ``$ref`` is ignored: the embedded document's URI must still be its base."""
    thing = {"$schema": "http://json-schema.org/draft-07/schema#", "$id": "https://example.com/thing.json",
             "$ref": "#/definitions/thing", "definitions": {"thing": {"type": "object", "properties": {
                 "name": {"type": "string"}}, "required": ["name"]}}}
    registry = _registry(tmp_path, **{"thing.json": thing})
    schema = load_schema({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
                          "properties": {"t": {"$ref": "https://example.com/thing.json"}}}, registry=registry)
    assert schema.errors({"t": {"name": "x"}}) == [] and schema.errors({"t": {}})
    target = resolve_ref(schema.document, schema.document["properties"]["t"]["$ref"])
    assert resolve_ref(schema.document, target["$ref"])["required"] == ["name"]


@pytest.mark.parametrize("uri", ["https://example.org/elsewhere.json#/definitions/a",
                                 "http://json-schema.org/draft-03/schema#"])  # draft 3: no draft SLOT reads
@pytest.mark.parametrize("which", ["none", "builtin", "operator"])
def test_an_unknown_remote_reference_is_refused_naming_the_setting(tmp_path, which, uri):
    registry = {"none": None, "builtin": registry_for(Settings.from_env({})),
                "operator": _registry(tmp_path, **{"common.json": COMMON})}[which]
    raw = {"type": "object", "properties": {"a": {"$ref": uri}}}
    with pytest.raises(UnsupportedSchemaError) as caught:
        load_schema(raw, registry=registry)
    message = str(caught.value)
    assert "only local references" in message and "never fetches" in message
    assert "SLOT_SCHEMA_REGISTRY_DIR" in message and "schema_registry_dir" in message
    assert caught.value.path == "/properties/a/$ref" and caught.value.keyword == "$ref"
    assert ("does not hold" in message) is (which == "operator")
    assert ("no schema registry is configured" in message) is (which != "operator")


# -- the official meta-schemas, always served -------------------------------------------------------------------

DRAFT7_META = "http://json-schema.org/draft-07/schema#"
META_REF = {"type": "object", "properties": {"s": {"$ref": DRAFT7_META}}, "required": ["s"]}
"""What SchemaStore's aio-connector-metadata schemas do: a property whose value is a JSON Schema."""


def test_the_meta_schemas_are_known_without_a_registry():
    builtin = registry_for(Settings.from_env({}))
    assert builtin is SchemaRegistry.builtin() and builtin.directory == ""
    assert builtin.lookup(DRAFT7_META).uri == "http://json-schema.org/draft-07/schema"
    for uri in ("http://json-schema.org/draft-04/schema", "http://json-schema.org/draft-06/schema",
                "https://json-schema.org/draft/2019-09/schema", "https://json-schema.org/draft/2019-09/meta/core",
                "https://json-schema.org/draft/2020-12/schema",
                "https://json-schema.org/draft/2020-12/meta/applicator"):
        assert builtin.lookup(uri) is not None, uri
    assert builtin.lookup("http://json-schema.org/draft-03/schema") is None
    assert builtin.lookup("https://json-schema.org/draft-07/schema") is None, "exact URIs only"


@pytest.mark.parametrize("registry", [None, "builtin"])
def test_a_reference_to_the_draft7_meta_schema_is_embedded_and_post_validated(registry):
    schema = load_schema(META_REF, registry=SchemaRegistry.builtin() if registry else None)
    assert schema.embedded == ("http://json-schema.org/draft-07/schema",)
    embedded = json.loads(schema.canonical)["$defs"]["http://json-schema.org/draft-07/schema"]
    assert embedded["$id"] == "http://json-schema.org/draft-07/schema" and "$schema" not in embedded
    assert embedded["properties"]["type"]["anyOf"][0] == {"$ref": "#/definitions/simpleTypes"}
    target = resolve_ref(schema.document, schema.document["properties"]["s"]["$ref"])
    assert "properties" in target and target["properties"]["items"]["anyOf"][0]["$ref"].startswith("#/")
    assert schema.given == META_REF and schema.relaxed == ()
    assert schema.errors({"s": {"type": "string"}}) == []
    assert schema.errors({"s": {"type": "object", "properties": {"n": {"minimum": 1}}}}) == []
    assert schema.errors({"s": {"type": 5}})[0].startswith("/s/type:")
    assert schema.errors({"s": {"properties": {"n": {"minimum": "x"}}}})[0].startswith("/s/properties/n/minimum:")


@pytest.mark.model
def test_the_grammar_of_a_schema_referencing_the_draft7_meta_schema_compiles_and_enforces_it(grammars):
    """The draft-07 meta-schema is self-recursive (``"$ref": "#"``): the grammar follows it at any depth."""
    schema = load_schema(META_REF)
    compiled, _ = grammars.get(schema, "llguidance")
    assert _accepts(grammars, compiled, {"s": {"type": "string"}}, schema.document)
    nested = {"s": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"$ref": "#"}]}, "minItems": 1}}
    assert _accepts(grammars, compiled, nested, schema.document) and schema.errors(nested) == []
    assert not _accepts(grammars, compiled, {"s": {"type": 5}}, schema.document)
    assert not _accepts(grammars, compiled, {"s": {"items": {"minLength": -1}}}, schema.document)


def test_an_operator_registry_serves_its_documents_and_the_meta_schemas(tmp_path):
    """The meta-schemas' URIs always name the official text (post-validation resolves them from
    ``jsonschema_specifications`` whatever the directory holds): a file claiming one is a conflict."""
    fake = {"$id": DRAFT7_META, "type": "string"}
    registry = _registry(tmp_path, **{"common.json": COMMON, "fake__draft7.json": fake})
    assert registry.lookup(DRAFT7_META).uri == "http://json-schema.org/draft-07/schema"
    assert registry.lookup(DRAFT7_META).path == "http://json-schema.org/draft-07/schema", "the official one"
    assert registry.conflicts == ("fake/draft7.json: http://json-schema.org/draft-07/schema",)
    assert len(registry) == 2 and len(SchemaRegistry.builtin()) == 0, "the directory's files are counted"
    raw = {**ORDER, "properties": {**ORDER["properties"], "extra": {"$ref": DRAFT7_META}}}
    schema = load_schema(raw, registry=registry)
    assert set(schema.embedded) == {"https://example.com/schemas/common.json", "http://json-schema.org/draft-07/schema"}
    good = {"id": 1, "ship_to": {"city": "Paris", "zip": "75001"}, "extra": {"type": "integer"}}
    assert schema.errors(good) == []
    assert schema.errors({**good, "extra": {"type": 5}})[0].startswith("/extra/type:")
    assert schema.errors({**good, "ship_to": {"city": "Paris", "zip": "x"}})[0].startswith("/ship_to/zip:")
    assert registry.fingerprint != SchemaRegistry.builtin().fingerprint


def test_the_2019_and_2020_meta_schemas_are_served_to_a_schema_of_their_draft():
    """Their vocabularies are embedded too; ``$dynamicRef``/``$recursiveRef`` are post-checked. A schema of another
    draft cannot embed them (the embedded documents are read in the schema's draft): refused, naming the keyword."""
    for draft, keyword in (("https://json-schema.org/draft/2020-12/schema", "$dynamicRef"),
                           ("https://json-schema.org/draft/2019-09/schema", "$recursiveRef")):
        schema = load_schema({"$schema": draft, "properties": {"s": {"$ref": draft}}})
        assert schema.embedded[0] == draft and len(schema.embedded) > 1 and schema.relaxed == (keyword,)
        assert schema.errors({"s": {"type": "string"}}) == [] and schema.errors({"s": {"type": 5}})
        with pytest.raises(UnsupportedSchemaError, match=keyword.replace("$", "\\$")):
            load_schema({"$schema": DRAFT7_META, "properties": {"s": {"$ref": draft}}})


def test_the_server_path_serves_the_meta_schemas_through_the_cache():
    registry = registry_for(Settings.from_env({}))
    first = cached_load_schema(json.dumps(META_REF), registry=registry)
    assert cached_load_schema(json.dumps(META_REF), registry=registry) is first
    assert first.embedded == ("http://json-schema.org/draft-07/schema",)


def test_a_registry_document_referencing_an_unknown_document_is_refused_naming_it(tmp_path):
    broken = {"$id": "https://example.com/broken.json", "$defs": {"a": {"$ref": "https://example.org/x.json"}}}
    registry = _registry(tmp_path, **{"broken.json": broken})
    with pytest.raises(UnsupportedSchemaError, match="in registry document 'https://example.com/broken.json'"):
        load_schema({"$ref": "https://example.com/broken.json#/$defs/a"}, registry=registry)
    with pytest.raises(SchemaError, match="does not resolve in registry document broken.json"):
        load_schema({"$ref": "https://example.com/broken.json#/$defs/missing"}, registry=registry)


def test_nothing_is_fetched(tmp_path, monkeypatch):
    calls: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        raise AssertionError("network access")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    registry = _registry(tmp_path, **{"common.json": COMMON})
    schema = load_schema(ORDER, registry=registry)
    assert schema.errors({"id": 1, "ship_to": {"city": "Nice", "zip": "06000"}}) == []
    for raw in ({"$ref": "http://127.0.0.1:9/s.json"}, {"$ref": "https://example.com/schemas/missing.json"}):
        with pytest.raises(UnsupportedSchemaError):
            load_schema(raw, registry=registry)
        with pytest.raises(UnsupportedSchemaError):
            load_schema(raw)
    meta = load_schema({"properties": {"s": {"$ref": "https://json-schema.org/draft/2020-12/schema"}}})
    assert meta.errors({"s": {"type": "string"}}) == [] and meta.errors({"s": {"type": 5}})
    # post-validation's registry answers from memory: a URI it does not hold stays unresolved, never fetched
    resolver = registry.referencing(schema.validator_class).resolver()
    with pytest.raises(Exception, match="127.0.0.1"):
        resolver.lookup("http://127.0.0.1:9/s.json")
    assert calls == []


def test_limits_apply_to_the_bundle_and_say_so(tmp_path):
    big = {"$id": "https://example.com/big.json", "$defs": {"e": {"enum": [f"value-{i:05d}" for i in range(900)]}}}
    registry = _registry(tmp_path, **{"big.json": big})
    raw = json.dumps({"properties": {"e": {"$ref": "https://example.com/big.json#/$defs/e"}}})
    assert len(raw) < 1_000
    with pytest.raises(SchemaError, match="registry document it references .*https://example.com/big.json.* over "
                                          "the limit of 8000 \\(max_bundled_schema_bytes\\)") as caught:
        load_schema(raw, Limits(max_bundled_bytes=8_000), registry)
    assert caught.value.keyword == "limits"
    with pytest.raises(SchemaError, match="embedded: enum has 900 values, over the limit of 100"):
        load_schema(raw, Limits(max_enum_values=100), registry)
    assert load_schema(raw, registry=registry).embedded == ("https://example.com/big.json",)


def test_the_callers_bytes_and_the_embedded_bytes_have_their_own_limits(tmp_path):
    """The caller's schema stays under max_schema_bytes; with the operator's registry documents embedded it may
    reach max_bundled_schema_bytes (Kubernetes' Pod embeds to ~240 KB of definitions)."""
    from slot.structurer import schema_limits

    big = {"$id": "https://example.com/big.json", "$defs": {"e": {"enum": [f"value-{i:05d}" for i in range(900)]}}}
    registry = _registry(tmp_path, **{"big.json": big})
    raw = json.dumps({"properties": {"e": {"$ref": "https://example.com/big.json#/$defs/e"}}})
    bundled = load_schema(raw, Limits(max_bytes=8_000, max_bundled_bytes=16_000), registry)
    assert 8_000 < len(bundled.canonical) < 16_000
    with pytest.raises(SchemaError, match="over the limit of 8000 bytes"):
        load_schema(json.dumps({"description": "x" * 8_000}), Limits(max_bytes=8_000, max_bundled_bytes=16_000))
    limits = schema_limits(Settings())
    assert (limits.max_bytes, limits.max_bundled_bytes) == (131_072, 524_288)
    raised = schema_limits(Settings().replace(max_schema_bytes=1 << 20))
    assert raised.max_bundled_bytes == 1 << 20, "never below the caller's own limit"


def test_registry_index_and_conflicts(tmp_path):
    directory = tmp_path / "registry"
    directory.mkdir()
    (directory / "a.json").write_text(json.dumps({"$id": "https://example.com/same.json", "type": "string"}))
    (directory / "b.json").write_text(json.dumps({"$id": "https://example.com/same.json", "type": "integer"}))
    (directory / "draft4.json").write_text(json.dumps({"id": "https://example.com/d4.json#", "type": "null"}))
    (directory / "broken.json").write_text("{not json")
    registry = SchemaRegistry.load(directory)
    assert registry.lookup("https://example.com/same.json").path == "a.json"
    assert registry.conflicts == ("b.json: https://example.com/same.json",)
    assert registry.lookup("https://example.com/d4.json").path == "draft4.json"
    assert registry.lookup("b.json").uri == "b.json", "a file that lost its $id is embedded under its path"
    assert [line.split(":")[0] for line in registry.skipped] == ["broken.json"]
    assert registry.fingerprint != _registry(tmp_path / "x", **{"a.json": {"type": "string"}}).fingerprint
    with pytest.raises(ValueError, match="not a directory"):
        SchemaRegistry.load(tmp_path / "missing")


def test_the_setting_names_the_directory(tmp_path, monkeypatch):
    directory = tmp_path / "registry"
    directory.mkdir()
    (directory / "common.json").write_text(json.dumps(COMMON))
    settings = Settings.from_env({"SLOT_SCHEMA_REGISTRY_DIR": str(directory)})
    assert settings.schema_registry_dir == str(directory)
    registry = registry_for(settings)
    assert registry is not None and registry.lookup("https://example.com/schemas/common.json") is not None
    assert registry_for(settings) is registry, "read once"
    assert registry_for(Settings.from_env({})) is SchemaRegistry.builtin(), "off by default: the meta-schemas alone"
    with pytest.raises(SettingsError, match="schema_registry_dir must name a directory"):
        Settings.from_env({"SLOT_SCHEMA_REGISTRY_DIR": str(tmp_path / "nowhere")})


class _Stop(Exception):
    """Raised where a test stops a command or a start before the model loads."""


def test_slot_structure_checks_the_schema_with_the_servers_registry(tmp_path, monkeypatch, capsys):
    from slot.cli import main
    from slot.structurer import Structurer

    registry = _registry(tmp_path, **{"common.json": COMMON})
    schema = tmp_path / "order.json"
    schema.write_text(json.dumps(ORDER))

    def loaded(*args: Any, **kwargs: Any) -> Any:
        raise _Stop("the schema was accepted; the model would load now")

    monkeypatch.setattr(Structurer, "from_settings", loaded)
    with pytest.raises(_Stop):
        main(["structure", "--schema", str(schema), "--text", "an order", "--schema-registry-dir", registry.directory])
    monkeypatch.setenv("SLOT_SCHEMA_REGISTRY_DIR", "")
    assert main(["structure", "--schema", str(schema), "--text", "an order"]) == 2, "refused without the registry"
    assert "common.json" in capsys.readouterr().err


def test_the_registry_is_read_at_start_before_the_model_loads(tmp_path, monkeypatch):
    import slot.structurer
    from slot.structurer import Structurer

    reads: list[str] = []
    load = SchemaRegistry.load.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(SchemaRegistry, "load", classmethod(lambda cls, d: reads.append(str(d)) or load(cls, d)))

    def model(*args: Any, **kwargs: Any) -> Any:
        raise _Stop("the model would load now")

    monkeypatch.setattr(slot.structurer, "resolve_base_model", model)
    directory = _registry(tmp_path, **{"common.json": COMMON}).directory
    settings = Settings.from_env({"SLOT_SCHEMA_REGISTRY_DIR": directory})
    reads.clear()
    with pytest.raises(_Stop):
        Structurer.from_settings(settings, progress=False)
    assert reads == [directory]
    assert registry_for(settings) is not None and reads == [directory], "the first request reads nothing"
    gone = tmp_path / "gone"
    gone.mkdir()
    settings = Settings.from_env({"SLOT_SCHEMA_REGISTRY_DIR": str(gone)})
    gone.rmdir()  # removed after the settings were checked: the start fails, naming the setting
    with pytest.raises(ValueError, match="schema_registry_dir"):
        Structurer.from_settings(settings, progress=False)


# -- the cache of checked schemas -------------------------------------------------------------------------------

def test_the_cache_returns_the_same_schema_for_the_same_text_and_another_for_other_text(tmp_path):
    cache = SchemaCache(capacity=4)
    text = json.dumps({"type": "object", "properties": {"a": {"type": "integer"}}})
    first = cache.load(text)
    assert cache.load(text) is first and cache.load(text.encode("utf-8")) is first
    other = cache.load(text.replace("integer", "string"))
    assert other is not first and other.document["properties"]["a"]["type"] == "string"
    assert cache.load(text, Limits(max_depth=5)) is not first, "keyed by the limits too"
    registry = _registry(tmp_path, **{"common.json": COMMON})
    assert cache.load(text, registry=registry) is not first, "and by the registry"
    assert (cache.hits, cache.misses) == (2, 4)


def test_the_cache_is_bounded_and_least_recently_used_goes_first():
    cache = SchemaCache(capacity=2)
    texts = [json.dumps({"type": "object", "properties": {f"k{i}": {"type": "string"}}}) for i in range(3)]
    a, b = cache.load(texts[0]), cache.load(texts[1])
    assert cache.load(texts[0]) is a  # a is now the most recent
    cache.load(texts[2])
    assert len(cache) == 2 and cache.load(texts[0]) is a and cache.load(texts[1]) is not b
    small = SchemaCache(capacity=10, max_bytes=len(load_schema(texts[0]).canonical) * 2)
    for text in texts:
        small.load(text)
    assert len(small) == 2


def test_a_parsed_schema_is_cached_by_its_text_and_shares_nothing_with_the_callers_object():
    cache = SchemaCache()
    given = {"type": "object", "properties": {"b": {"type": "string"}, "a": {"type": "integer"}}}
    schema = cache.load(given)
    assert cache.load(json.loads(json.dumps(given))) is schema
    assert list(schema.document["properties"]) == ["b", "a"], "key order kept (the grammar writes keys in it)"
    given["properties"]["b"]["type"] = "null"
    assert schema.document["properties"]["b"]["type"] == "string"
    assert cache.load({"properties": {"a": {"type": "integer"}, "b": {"type": "string"}}, "type": "object"}) \
        is not schema, "another key order is another text"


def test_a_cached_schema_changed_by_a_caller_is_checked_afresh(caplog):
    cache = SchemaCache()
    text = json.dumps({"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]})
    schema = cache.load(text)
    schema.document["required"].append("b")  # what no caller may do
    again = cache.load(text)
    assert again is not schema and again.document["required"] == ["a"]
    assert "changed after it was checked" in caplog.text
    assert cache.load(text) is again


@pytest.mark.model
def test_the_structure_path_leaves_a_cached_schema_as_it_was(tmp_path, grammars):
    """Everything a request derives from a schema (grammar with closed objects, prompt rendering, targets,
    post-validation) leaves its documents unchanged, so one cached object can serve every request."""
    from slot.prompt import compact_schema

    cache = SchemaCache()
    registry = _registry(tmp_path, **{"common.json": COMMON})
    schema = cache.load(json.dumps(ORDER), registry=registry)
    before = json.dumps([schema.document, schema.source])
    grammars.get(schema, "llguidance")
    compact_schema(schema.document)
    value = {"id": 1, "ship_to": {"city": "Nice", "zip": "06000"}}
    target_text(value, schema.document)
    schema.errors(value)
    assert json.dumps([schema.document, schema.source]) == before
    assert cache.load(json.dumps(ORDER), registry=registry) is schema
