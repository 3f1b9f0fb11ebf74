"""Prometheus metrics of one server (own registry, so several servers can live in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64)


class Metrics:
    """Counters, histograms and gauges of requests, tokens, caches and the queue."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("slot_requests_total", "RPCs by method and status code", ["method", "code"], registry=r)
        self.latency = Histogram("slot_request_latency_seconds", "RPC latency by method", ["method"],
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.tokens = Counter("slot_tokens_total", "Tokens by kind (prompt, completion, forced, copied, remembered, cached)",
                              ["kind"], registry=r)
        self.forward_passes = Counter("slot_forward_passes_total", "Decoding forward passes", registry=r)
        self.grammar_cache = Counter("slot_grammar_cache_total", "Grammar cache lookups by result", ["result"],
                                     registry=r)
        self.queue_depth = Gauge("slot_queue_depth", "Requests waiting for a generation slot", registry=r)
        self.inflight = Gauge("slot_inflight_generations", "Generations running", registry=r)
        self.cancelled = Counter("slot_cancelled_generations_total",
                                 "Generations stopped early because the call was cancelled or its deadline passed",
                                 registry=r)
        self.rejected = Counter("slot_rejected_total", "Requests refused with RESOURCE_EXHAUSTED", registry=r)

    def serve(self, port: int, host: str) -> None:
        """Expose /metrics over HTTP (in a daemon thread)."""
        start_http_server(port, addr=host, registry=self.registry)
