"""The bare baseline of ``POST /tickets``: FastAPI and asyncpg, one INSERT of a similar JSON row
in a transaction, served by uvicorn with the same settings as a Frontdesk service.

    BENCH_DSN=postgresql://… BENCH_PORT=… python -m bench.baseline_app
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import uvicorn
from fastapi import FastAPI, Request


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(os.environ["BENCH_DSN"], min_size=2, max_size=10)
    await app.state.pool.execute(
        "CREATE TABLE IF NOT EXISTS baseline_tickets (id uuid PRIMARY KEY, body jsonb NOT NULL)"
    )
    yield
    await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


@app.get("/readyz")
async def ready() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/tickets", status_code=201)
async def issue(request: Request, body: dict[str, Any]) -> dict[str, Any]:
    ticket = uuid.uuid4()
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO baseline_tickets VALUES ($1, $2::jsonb)",
            ticket,
            json.dumps(body),
        )
    return {"ticket_id": str(ticket), **body}


if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(os.environ["BENCH_PORT"]),
        log_config=None,
        access_log=False,
    )
