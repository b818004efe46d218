"""The floor's gauges, sampled when /metrics is scraped: open cases by type and escalation
level, and the open cases whose service-level clocks warned or breached, by kind."""

from __future__ import annotations

import asyncpg

from runtime.metrics import Gauge, Probe, Sample

_ACTIVE = "status NOT IN ('resolved', 'closed', 'merged')"


async def open_cases(conn: asyncpg.Connection) -> list[Sample]:
    rows = await conn.fetch(
        f"""SELECT case_type, escalation_level, count(*) AS open FROM case_views
            WHERE {_ACTIVE} GROUP BY case_type, escalation_level"""
    )
    return [
        Sample(float(r["open"]), {"case_type": r["case_type"], "level": str(r["escalation_level"])})
        for r in rows
    ]


def _marked(key: str) -> Probe:
    async def probe(conn: asyncpg.Connection) -> list[Sample]:
        rows = await conn.fetch(
            f"""SELECT mark ->> 'kind' AS kind, count(DISTINCT case_id) AS cases
                FROM case_views, jsonb_array_elements(service_levels -> '{key}') AS mark
                WHERE {_ACTIVE} GROUP BY mark ->> 'kind'"""
        )
        return [Sample(float(r["cases"]), {"kind": r["kind"]}) for r in rows]

    return probe


GAUGES = [
    Gauge("frontdesk.cases.open", "Open cases by type and escalation level", "{case}", open_cases),
    Gauge(
        "frontdesk.cases.sla_warned",
        "Open cases whose service-level clock warned, by kind",
        "{case}",
        _marked("warnings"),
    ),
    Gauge(
        "frontdesk.cases.sla_breached",
        "Open cases past a service-level target, by kind",
        "{case}",
        _marked("breaches"),
    ),
]
