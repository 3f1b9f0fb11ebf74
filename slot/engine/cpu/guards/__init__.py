"""Guards that refine the greedy choice: repeated array items, runaway strings and numbers, the token budget
(and where a JSON prefix stands lexically, which they read)."""
