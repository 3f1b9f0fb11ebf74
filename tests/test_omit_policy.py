"""The ``omit`` grounding policy: ungrounded values of optional keys are left out, required ones kept."""

from __future__ import annotations

import json

from slot.grounding import apply_policy, ground
from slot.grounding.policy import is_optional

SHOWTIMES = {"type": "object", "description": "Find movie showtimes.", "additionalProperties": False,
             "properties": {
                 "location_name": {"type": "string", "description": "cinema or cinema chain"},
                 "movie_name": {"type": "string", "description": "title of the movie"},
                 "movie_type": {"type": "string", "description": "kind of movie (e.g. animated movies)"},
                 "object_location_type": {"type": "string", "description": "kind of venue (e.g. cinema, movie theatre)"},
                 "object_type": {"type": "string", "description": "what is looked for (e.g. movie schedule, movie times)"},
                 "spatial_relation": {"type": "string", "description": "how close the cinema should be (e.g. nearest)"},
                 "timeRange": {"type": "string", "description": "when the screening is"}}}


def test_only_optional_keys_are_left_out() -> None:
    schema = {"type": "object", "required": ["name"], "properties": {
        "name": {"type": "string"}, "time": {"type": "string"},
        "guests": {"type": "array", "items": {"type": "object", "required": ["who"],
                                               "properties": {"who": {"type": "string"}, "diet": {"type": "string"}}}}}}
    text = "Book a table for Ann and Bo."
    data = {"name": "Luigi's", "time": "high", "guests": [{"who": "Ann", "diet": "vegan"}, {"who": "Zed"}]}
    report = ground(data, text, schema)
    assert set(report.ungrounded_paths) == {"/name", "/time", "/guests/0/diet", "/guests/1/who"}
    out = apply_policy(data, report, schema, "omit")
    assert out == {"name": "Luigi's", "guests": [{"who": "Ann"}, {"who": "Zed"}]}  # required ones stay, flagged
    assert data["time"] == "high"  # never modified in place
    assert is_optional(schema, "/guests/0/diet") and not is_optional(schema, "/guests/1/who")
    assert not is_optional(schema, "") and not is_optional(schema, "/guests/0")


def test_grounded_values_stay() -> None:
    data = {"movie_name": "Heart Beat", "object_type": "movie"}
    text = "Wish to find the movie the Heart Beat"
    assert apply_policy(data, ground(data, text, SHOWTIMES), SHOWTIMES, "omit") == data


def test_the_structurer_leaves_out_what_the_request_does_not_say(base_structurer) -> None:
    """The base model fills every optional argument of this request with invented values (recorded
    2026-12-06: timeRange "string", location_name "cinema or cinema chain"); omit returns only what the
    text supports, and the result stays valid."""
    text = "What times will The Young Swordsman be showing at my cinema?"
    kept = base_structurer.structure(text, SHOWTIMES, grounding_policy="keep")
    omitted = base_structurer.structure(text, SHOWTIMES, grounding_policy="omit")
    assert kept.output == omitted.output  # the same decoding; only the returned JSON differs
    ungrounded = {path[1:] for path in kept.grounding["ungrounded_paths"]}
    assert ungrounded, f"the base model invented nothing this time: {kept.output}"
    assert set(omitted.json) == set(kept.json) - ungrounded
    assert omitted.valid and json.loads(omitted.output) == kept.json


def test_the_policy_travels_from_sdk_to_server_by_name() -> None:
    from slot.client.common import build_request
    from slot.server.servicer import POLICIES
    from slot.grounding.policy import GROUNDING_POLICIES

    for policy in GROUNDING_POLICIES:
        assert POLICIES[build_request("t", "{}", grounding_policy=policy).options.grounding_policy] == policy


def test_a_request_naming_no_policy_gets_the_servers_setting(base_structurer) -> None:
    """``grounding_policy`` None (the SDK's and the proto's unspecified, the HTTP API without one) is the setting."""
    from slot.server.state import ServerState

    text = "What times will The Young Swordsman be showing at my cinema?"
    kept = base_structurer.structure(text, SHOWTIMES, grounding_policy="keep")
    assert kept.grounding["ungrounded_paths"], f"the base model invented nothing this time: {kept.output}"
    settings = base_structurer.settings
    try:
        base_structurer.settings = settings.replace(grounding_policy="omit")
        unnamed = base_structurer.structure(text, SHOWTIMES)
        call = ServerState.prepare(base_structurer, text, SHOWTIMES, request_id="r", grounding_policy="")
        named = ServerState.prepare(base_structurer, text, SHOWTIMES, request_id="r", grounding_policy="keep")
    finally:
        base_structurer.settings = settings
    assert unnamed.json == base_structurer.structure(text, SHOWTIMES, grounding_policy="omit").json != kept.json
    assert call.grounding_policy == "omit" and named.grounding_policy == "keep"
    assert ServerState.prepare(base_structurer, text, SHOWTIMES, request_id="r").grounding_policy == \
        settings.grounding_policy
