"""A headless Chromium driven over the Chrome DevTools protocol (Debian's ``chromium``, no
browser download, no Playwright): open pages, evaluate JavaScript, wait on the page's state
with a deadline, take screenshots."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import websockets

from tests.conftest import eventually

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str | None:
    explicit = os.environ.get("FRONTDESK_CHROMIUM")
    if explicit:
        return explicit
    return next((p for p in map(shutil.which, CHROMIUM_CANDIDATES) if p), None)


class BrowserError(Exception):
    pass


class Browser:
    def __init__(self, executable: str) -> None:
        self.executable = executable
        self.profile = tempfile.mkdtemp(prefix="frontdesk-chromium-")
        self.process: subprocess.Popen[bytes] | None = None
        self.socket: Any = None
        self.ids = itertools.count(1)
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.errors: list[str] = []
        self.held: list[tuple[str, str]] = []  # (page session, request id): Page.hold_requests
        self.reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: ASYNC220 - started once, polled below
            [
                self.executable,
                "--headless=new",
                "--no-sandbox",  # tests run as root in CI
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--autoplay-policy=no-user-gesture-required",
                "--window-size=1366,900",
                "--remote-debugging-port=0",
                f"--user-data-dir={self.profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        active = Path(self.profile) / "DevToolsActivePort"
        for _ in range(600):
            if active.exists() and len(active.read_text().splitlines()) >= 2:
                break
            if self.process.poll() is not None:
                raise BrowserError("chromium exited at start")
            await asyncio.sleep(0.1)
        else:
            raise BrowserError("chromium did not open its DevTools port")
        port, path = active.read_text().splitlines()[:2]
        self.socket = await websockets.connect(
            f"ws://127.0.0.1:{port}{path}", max_size=64 * 1024 * 1024
        )
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.socket:
            message = json.loads(raw)
            if "id" in message and message["id"] in self.pending:
                future = self.pending.pop(message["id"])
                if "error" in message:
                    future.set_exception(BrowserError(str(message["error"])))
                else:
                    future.set_result(message.get("result", {}))
            elif message.get("method") == "Fetch.requestPaused":
                self.held.append((message.get("sessionId", ""), message["params"]["requestId"]))
            elif message.get("method") == "Runtime.exceptionThrown":
                details = message["params"]["exceptionDetails"]
                self.errors.append(str(details.get("exception", {}).get("description", details)))

    async def send(self, method: str, params: dict[str, Any] | None = None, **extra: Any) -> Any:
        command_id = next(self.ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[command_id] = future
        await self.socket.send(
            json.dumps({"id": command_id, "method": method, "params": params or {}, **extra})
        )
        return await asyncio.wait_for(future, 60)

    async def new_page(self, url: str) -> Page:
        target = await self.send("Target.createTarget", {"url": "about:blank"})
        attached = await self.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )
        page = Page(self, attached["sessionId"])
        await page.send("Runtime.enable")
        await page.send("Page.enable")
        await page.goto(url)
        return page

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
        if self.socket is not None:
            with contextlib.suppress(Exception):
                await self.socket.close()
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


class Page:
    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session

    async def send(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return await self.browser.send(method, params, sessionId=self.session)

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", {"url": url})
        await self.wait_for("document.readyState === 'complete'", within=60)

    async def evaluate(self, expression: str) -> Any:
        result = await self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, *, within: float = 30.0) -> Any:
        """Poll ``expression`` until it is truthy (state, not speed: a generous deadline)."""
        deadline = asyncio.get_running_loop().time() + within
        last: Any = None
        while True:
            try:
                last = await self.evaluate(expression)
            except BrowserError as error:
                last = str(error)
            else:
                if last:
                    return last
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(
                    f"not true within {within}s: {expression} (last: {last!r}; "
                    f"page errors: {self.browser.errors})"
                )
            await asyncio.sleep(0.1)

    async def hold_requests(self, url_pattern: str) -> None:
        """Hold the page's requests to URLs matching ``url_pattern`` (``*`` and ``?``
        wildcards) before they are sent, until ``release_requests``: a slow network on cue."""
        await self.send(
            "Fetch.enable", {"patterns": [{"urlPattern": url_pattern, "requestStage": "Request"}]}
        )

    async def requests_held(self, count: int) -> None:
        """Wait until ``count`` requests of this page are held."""

        async def held() -> bool:
            return len(self._held()) >= count

        await eventually(held)

    async def release_requests(self) -> None:
        """Send the held requests on, and hold no more."""
        for request in self._held():
            await self.send("Fetch.continueRequest", {"requestId": request})
        self.browser.held = [(s, r) for s, r in self.browser.held if s != self.session]
        await self.send("Fetch.disable")

    def _held(self) -> list[str]:
        return [request for session, request in self.browser.held if session == self.session]

    async def screenshot(self, path: Path) -> Path:
        shot = await self.send("Page.captureScreenshot", {"format": "png"})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))  # noqa: ASYNC240
        return path
