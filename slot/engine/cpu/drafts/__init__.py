"""Draft sources for speculative decoding: grammar-forced text, the input text, value forms, earlier outputs."""
