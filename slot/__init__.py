"""SLOT: structure arbitrary LLM text into JSON that is valid against a JSON Schema.

This top-level package imports nothing heavy: the client SDK (``slot.client``) must work without
torch, transformers or any grammar engine installed.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
