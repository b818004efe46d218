"""Each relayed record carries the trace its command stored: the relay's producer span is a
child of the stored ``traceparent`` (parsed directly, not through the propagator), and the
record's headers carry that span's context, or the stored one when nothing records spans."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NoOpTracer, SpanKind

from runtime.kafka import TransactionalPublisher
from runtime.relay import OutboundRecord
from runtime.settings import KafkaSettings

pytestmark = pytest.mark.unit

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
STORED = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


def record(carrier: dict[str, str]) -> OutboundRecord:
    return OutboundRecord(
        position=7,
        topic="frontdesk.checkin.tickets",
        key=b"ticket-1",
        value=b"{}",
        headers={"event_id": "e-1", "event_type": "checkin.ticket_left"},
        trace_carrier=carrier,
        timestamp_ms=0,
    )


def recording_publisher() -> tuple[TransactionalPublisher, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    publisher = TransactionalPublisher(KafkaSettings(), "t")
    publisher._tracer = provider.get_tracer("test")
    return publisher, exporter


def test_the_producer_span_is_a_child_of_the_stored_trace_and_its_context_is_the_header() -> None:
    publisher, exporter = recording_publisher()
    carrier = {"traceparent": STORED, "tracestate": "vendor=value"}

    headers = dict(publisher._publish_span(record(carrier), "e-1"))

    [span] = exporter.get_finished_spans()
    assert span.name == "frontdesk.checkin.tickets publish"
    assert span.kind is SpanKind.PRODUCER
    assert span.attributes is not None
    assert span.attributes["messaging.message.id"] == "e-1"
    assert span.parent is not None
    assert f"{span.parent.trace_id:032x}" == TRACE_ID
    assert f"{span.parent.span_id:016x}" == "00f067aa0ba902b7"
    assert headers["traceparent"] == f"00-{TRACE_ID}-{span.context.span_id:016x}-01".encode()
    assert headers["tracestate"] == b"vendor=value"


def test_without_a_tracing_sdk_the_stored_context_is_passed_on() -> None:
    publisher = TransactionalPublisher(KafkaSettings(), "t")
    publisher._tracer = NoOpTracer()

    assert publisher._publish_span(record({"traceparent": STORED}), "e-1") == [
        ("traceparent", STORED.encode())
    ]
    assert publisher._publish_span(record({}), "e-1") == []  # nothing stored, nothing made up


@pytest.mark.parametrize(
    "stored",
    [
        "garbage",
        f"01-{TRACE_ID}-00f067aa0ba902b7-01",  # a version this relay does not know
        f"00-{'0' * 32}-00f067aa0ba902b7-01",  # the invalid (all-zero) trace id
        f"00-{TRACE_ID}_00f067aa0ba902b7-01",
        f"00-{TRACE_ID[:-1]}x-00f067aa0ba902b7-01",
    ],
)
def test_a_stored_context_that_does_not_parse_starts_a_trace_of_its_own(stored: str) -> None:
    publisher, exporter = recording_publisher()

    headers = dict(publisher._publish_span(record({"traceparent": stored}), "e-1"))

    [span] = exporter.get_finished_spans()
    assert span.parent is None
    context = span.context
    assert headers["traceparent"] == (
        f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}".encode()
    )


def test_consecutive_records_each_keep_their_own_stored_trace() -> None:
    """The parsed stored context is reused for the next record only when it stored the same
    one (the events of one command): a record with another trace, or none, gets its own."""
    publisher, exporter = recording_publisher()
    other = f"00-{'1' * 32}-{'2' * 16}-01"
    carriers = [
        {"traceparent": STORED},
        {"traceparent": STORED},
        {"traceparent": other},
        {},
        {"traceparent": STORED, "tracestate": "vendor=value"},
    ]

    headers = [dict(publisher._publish_span(record(carrier), "e-1")) for carrier in carriers]

    spans = exporter.get_finished_spans()
    parents = [f"{span.parent.span_id:016x}" if span.parent else None for span in spans]
    assert parents == ["00f067aa0ba902b7", "00f067aa0ba902b7", "2" * 16, None, "00f067aa0ba902b7"]
    assert [h["traceparent"][3:35] for h in headers[:3]] == [TRACE_ID.encode()] * 2 + [b"1" * 32]
    assert "tracestate" not in headers[0]
    assert headers[4]["tracestate"] == b"vendor=value"
