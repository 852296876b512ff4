"""Prometheus metrics of one server process, in their own registry (no global state)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.connections = Gauge("chat_connections", "Open websocket connections", ["endpoint"],
                                 registry=r)
        self.messages = Counter("chat_messages_total", "Visitor messages accepted", ["channel"],
                                registry=r)
        self.replies = Counter("chat_replies_total", "Replies sent", ["sender", "kind"],
                               registry=r)
        self.errors = Counter("chat_protocol_errors_total", "Protocol errors sent", ["code"],
                              registry=r)
        self.stage_latency = Histogram("chat_stage_seconds", "Latency per pipeline stage",
                                       ["stage"], buckets=_LATENCY_BUCKETS, registry=r)
        self.handoffs = Counter("chat_handoffs_total", "Chats escalated to a human", ["reason"],
                                registry=r)
        self.workers_lost = Counter("chat_model_workers_lost_total",
                                    "Model worker pools replaced after a worker died", registry=r)
        self.queue_length = Gauge("chat_queue_length", "Chats waiting per queue", ["queue"],
                                  registry=r)

    def render(self, queue_lengths: dict[str, int]) -> bytes:
        self.queue_length.clear()
        for queue, length in queue_lengths.items():
            self.queue_length.labels(queue=queue).set(length)
        return generate_latest(self.registry)
