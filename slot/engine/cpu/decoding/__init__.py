"""The decoding loop: continuous batching (scheduler), one request's decoding state (sequence), token probability."""
