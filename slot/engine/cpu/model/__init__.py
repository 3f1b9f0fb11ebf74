"""The model's forward pass and its precision: float16 weights, a lean Llama forward, float32 near-tie checks."""
