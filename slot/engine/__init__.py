"""Inference engines behind one small interface; heavy backends are imported lazily."""

from slot.engine.base import Engine, Generation, GenerationRequest, Usage

__all__ = ["Engine", "Generation", "GenerationRequest", "Usage"]
