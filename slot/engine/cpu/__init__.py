"""The CPU engine (``TransformersEngine`` in ``slot.engine.cpu.engine``), in four parts.

``decoding``: the scheduler that batches requests and the sequence each request decodes in; ``caches``: key/value
states of prompts and running sequences; ``model``: the forward pass and its precision (float16 weights, the
float32 second opinion on near-ties); ``drafts`` and ``guards``: what speculation proposes and what refines the
greedy choice (repetition, runaway values, the token budget). Imports nothing, so a part loads without torch.
"""
