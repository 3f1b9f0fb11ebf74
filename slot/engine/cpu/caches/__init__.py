"""Key/value caches: prompt prefixes reused across requests, and the states of the sequences decoded together."""
