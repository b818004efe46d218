"""One telemetry set-up for every service: traces, metrics, structured logs.

Configured by the standard OpenTelemetry variables: ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) turns on the OTLP/HTTP exporter; ``OTEL_SDK_DISABLED``
switches it all off; ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` are honoured.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

from opentelemetry import metrics, propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

# the stable HTTP semantic conventions: http.server.request.duration (seconds) by http.route,
# the route template (never a path with an id in it)
os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")

correlation_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "correlation_id", default=None
)

_configured: str | None = None


def _otlp_configured() -> bool:
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def setup_telemetry(service_name: str, log_level: str = "INFO") -> TracerProvider:
    """Install the tracer and meter providers and JSON logs, once per process."""
    global _configured
    configure_logging(service_name, log_level)
    provider = trace.get_tracer_provider()
    if _configured is not None and isinstance(provider, TracerProvider):
        return provider
    resource = Resource.create(
        {
            "service.name": os.environ.get("OTEL_SERVICE_NAME", service_name),
            "service.namespace": "frontdesk",
        }
    )
    provider = TracerProvider(resource=resource)
    meter_readers: list[Any] = []
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() != "true":
        from opentelemetry.exporter.prometheus import PrometheusMetricReader

        # GET /metrics renders prometheus_client's registry, which this reader feeds
        meter_readers.append(PrometheusMetricReader())
    if _otlp_configured() and os.environ.get("OTEL_SDK_DISABLED", "").lower() != "true":
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        meter_readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    trace.set_tracer_provider(provider)
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=meter_readers))
    _configured = service_name
    return provider


def shutdown_telemetry() -> None:
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.force_flush()
    meter_provider = metrics.get_meter_provider()
    if isinstance(meter_provider, MeterProvider):
        meter_provider.force_flush()


def current_trace_carrier() -> dict[str, str]:
    """The current W3C trace context as headers (empty when there is no active span)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def context_from_carrier(carrier: dict[str, str]) -> Context:
    return propagate.extract(carrier)


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line with the trace, span and correlation ids of the moment."""

    def __init__(self, service_name: str) -> None:
        super().__init__()
        self.service_name = service_name

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "service": self.service_name,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("trace_id", "span_id", "correlation_id"):
            value = getattr(record, key, None)
            if value:
                entry[key] = value
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


_base_record_factory = logging.getLogRecordFactory()


def _record_with_context(*args: Any, **kwargs: Any) -> logging.LogRecord:
    """Stamp each log record, when it is created, with the ids of the moment: handlers that
    format later (queues, test capture) still see the right trace."""
    record = _base_record_factory(*args, **kwargs)
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        record.trace_id = format(span_context.trace_id, "032x")
        record.span_id = format(span_context.span_id, "016x")
    record.correlation_id = correlation_id_var.get()
    return record


def configure_logging(service_name: str, level: str = "INFO") -> None:
    logging.setLogRecordFactory(_record_with_context)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter(service_name))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "kafka", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # FastStream sets up a plain-text stdout handler of its own; route it through ours
    for name in ("faststream", "faststream.access"):
        own = logging.getLogger(name)
        own.handlers.clear()
        own.propagate = True


def log_fields(**fields: Any) -> dict[str, Any]:
    """``extra=`` for a log call; values must never be personal data."""
    return {"fields": fields}
