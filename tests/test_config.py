"""Settings: one source of truth for env vars, flags, defaults and help texts."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from slot.config import Settings, SettingsError, env_name, field_docs


def test_every_field_has_a_docstring():
    docs = field_docs()
    missing = [f.name for f in dataclasses.fields(Settings) if not docs.get(f.name)]
    assert missing == []


def test_env_overrides_defaults_and_flags_override_env():
    env = {"SLOT_PORT": "6000", "SLOT_SPECULATION": "false", "SLOT_MAX_QUEUE": "3"}
    settings = Settings.from_env(env)
    assert (settings.port, settings.speculation, settings.max_queue) == (6000, False, 3)
    parser = argparse.ArgumentParser()
    Settings.add_arguments(parser)
    args = parser.parse_args(["--port", "7000", "--speculation"])
    assert args.port == 7000 and args.speculation is True
    assert env_name("max_queue") == "SLOT_MAX_QUEUE"


@pytest.mark.parametrize("env, message", [
    ({"SLOT_PORT": "abc"}, "SLOT_PORT='abc' is not a valid int"),
    ({"SLOT_MAX_TOKENS": "0"}, "max_tokens must be positive"),
    ({"SLOT_GRAMMAR_BACKEND": "regex"}, "grammar_backend must be one of"),
    ({"SLOT_SPECULATION": "maybe"}, "is not a valid bool"),
    ({"SLOT_MAX_TOKENS": "5000"}, "must not exceed max_tokens_limit"),
])
def test_bad_settings_name_the_field(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


@pytest.mark.parametrize("engine, dtype, resolved", [
    ("transformers", "auto", "float16-weights"), ("vllm", "auto", "float32"),
    ("transformers", "float32", "float32"), ("vllm", "bfloat16", "bfloat16"),
])
def test_dtype_auto_resolves_per_engine(engine, dtype, resolved):
    assert Settings.from_env({"SLOT_ENGINE": engine, "SLOT_DTYPE": dtype}).resolved_dtype == resolved


def test_float16_weights_is_refused_on_vllm():
    with pytest.raises(SettingsError, match="float16-weights is for the transformers engine"):
        Settings.from_env({"SLOT_ENGINE": "vllm", "SLOT_DTYPE": "float16-weights"})


def test_an_empty_home_is_the_default_cache_not_the_working_directory():
    from slot.config import Settings

    assert Settings.from_env({"SLOT_HOME": ""}).home_path == Settings.from_env({}).home_path
    assert Settings.from_env({"SLOT_HOME": "/srv/slot"}).home_path.as_posix() == "/srv/slot"
