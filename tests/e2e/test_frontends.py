"""The reference frontends in a real browser (Debian's Chromium, headless, over the DevTools
protocol): a ticket issued at the kiosk is pushed to the board; the agent calls it from the
console; the board shows "<number> → desk 3" and the customer's page says it is their turn at
desk 3, without a reload; a board that lost its stream resumes (Last-Event-ID) without losing
the call made meanwhile. Screenshots of every page land in .local/artifacts/frontends/."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from tests.conftest import ROOT, auth
from tests.e2e.browser import Browser, Page, chromium_path
from tests.e2e.conftest import ServiceProcess, free_port

pytestmark = pytest.mark.e2e

ARTIFACTS = ROOT / ".local" / "artifacts" / "frontends"
DESK = "3"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def frontends(processes: dict[str, ServiceProcess]) -> AsyncIterator[ServiceProcess]:
    port = free_port()
    peers = ",".join(f"{name}={service.url}" for name, service in processes.items())
    log = ROOT / ".local" / "logs" / "e2e" / "frontends.log"
    env = {
        **os.environ,
        "FRONTDESK_ENV": "test",
        "FRONTDESK_FRONTENDS_PORT": str(port),
        "FRONTDESK_PEERS": peers,
    }
    process = subprocess.Popen(  # noqa: ASYNC220 - started once per module
        [sys.executable, "-m", "frontends"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    server = ServiceProcess("frontends", f"http://127.0.0.1:{port}", process, log, env)
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            await _wait_healthy(client, server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            raise AssertionError("the frontends server did not stop on SIGTERM") from None


async def _wait_healthy(client: httpx.AsyncClient, server: ServiceProcess) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"frontends exited:\n{server.log.read_text()[-3000:]}")
        try:
            if (await client.get(f"{server.url}/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)  # noqa: ASYNC251 - start-up only
    raise AssertionError("frontends not healthy")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_path()
    if executable is None:
        pytest.fail("chromium is missing: deploy/setup.sh installs it (apt-get install chromium)")
    started = Browser(executable)
    await started.start()
    yield started
    await started.close()


async def _site(checkin: str, supervisor: dict[str, str], agent_id: str) -> str:
    site_id = f"site-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=checkin, timeout=30) as client:
        configured = await client.put(
            f"/sites/{site_id}",
            json={
                "name": "Shenzhen service center",
                "timezone": "Asia/Shanghai",
                "queues": [{"queue": "account_security"}, {"queue": "general"}],
            },
            headers=supervisor,
        )
        assert configured.status_code == 200, configured.text
        added = await client.post(
            f"/sites/{site_id}/desks", json={"desk_id": DESK}, headers=supervisor
        )
        assert added.status_code == 201, added.text
        profile = await client.put(
            f"/agents/{agent_id}/profile",
            json={
                "queues": ["account_security", "general"],
                "languages": [{"tag": "zh-CN"}],
            },
            headers=supervisor,
        )
        assert profile.status_code == 200, profile.text
    return site_id


async def ask_at_the_kiosk(kiosk: Page, account_ref: str, customer_id: str) -> None:
    """Reception fills the kiosk's form (the screening confirmed) and asks for a ticket, as
    soon as the page's script runs (its form is handled from then on)."""
    await kiosk.wait_for("window.frontdesk !== undefined")
    await kiosk.evaluate(
        f"""(() => {{
            document.getElementById('account').value = '{account_ref}';
            document.getElementById('customer').value = '{customer_id}';
            document.getElementById('screening').checked = true;
            document.getElementById('submit').click();
            return true;
        }})()"""
    )


async def token_on_its_way(browser: Browser, url: str) -> Page:
    """``url`` opened with the page's token request held (until ``release_requests``): what
    a click does while the token is on its way, on cue."""
    page = await browser.new_page("about:blank")
    await page.hold_requests("*/dev/token*")
    await page.goto(url)
    await page.requests_held(1)
    return page


async def test_the_kiosk_issues_a_ticket_asked_for_before_its_token_arrived(
    processes: dict[str, ServiceProcess],
    frontends: ServiceProcess,
    browser: Browser,
    token: Callable[..., str],
) -> None:
    """A receptionist who asks for a ticket while the kiosk's token is on its way gets it when
    the token arrives; the form is not sent as a page load (CI failed once under load: the
    form was handled only after the token came, and a click before then reloaded the page)."""
    run = uuid.uuid4().hex[:6]
    supervisor = auth(token("supervisor", sub=f"sup-{run}"))
    site_id = await _site(processes["checkin"].url, supervisor, f"agent-{run}")
    page = f"kiosk.html?site={site_id}&staff=reception-{run}"
    kiosk = await token_on_its_way(browser, f"{frontends.url}/{page}")
    await ask_at_the_kiosk(kiosk, f"acct-{run}", f"cust-{run}")
    await kiosk.release_requests()
    ticket = await kiosk.wait_for("window.frontdesk.ticket")
    assert ticket["site_id"] == site_id
    assert await kiosk.evaluate("location.href") == f"{frontends.url}/{page}"  # no page load


async def test_the_console_signs_in_an_agent_who_clicked_before_its_token_arrived(
    processes: dict[str, ServiceProcess],
    frontends: ServiceProcess,
    browser: Browser,
    token: Callable[..., str],
) -> None:
    """The console's sign-in, clicked while the agent's token is on its way, signs the agent in
    when it arrives (the form was handled only after the token came, as the kiosk's was)."""
    run = uuid.uuid4().hex[:6]
    agent_id = f"agent-{run}"
    supervisor = auth(token("supervisor", sub=f"sup-{run}"))
    site_id = await _site(processes["checkin"].url, supervisor, agent_id)
    console = await token_on_its_way(
        browser, f"{frontends.url}/console.html?agent={agent_id}&site={site_id}&desk={DESK}"
    )
    await console.wait_for("window.frontdesk !== undefined")
    await console.evaluate("document.getElementById('sign-in').click()")
    await console.release_requests()
    await console.wait_for(
        "window.frontdesk.view && window.frontdesk.view.status === 'available'", within=30
    )


async def test_kiosk_board_console_and_my_place_in_a_browser(
    processes: dict[str, ServiceProcess],
    frontends: ServiceProcess,
    browser: Browser,
    token: Callable[..., str],
) -> None:
    checkin = processes["checkin"].url
    web = frontends.url
    run = uuid.uuid4().hex[:6]
    agent_id, customer_id = f"agent-{run}", f"cust-{run}"
    supervisor = auth(token("supervisor", sub=f"sup-{run}"))
    agent = auth(token("agent", sub=agent_id))
    site_id = await _site(checkin, supervisor, agent_id)

    board = await browser.new_page(f"{web}/board.html?site={site_id}")
    await board.wait_for("window.frontdesk && window.frontdesk.view !== null")

    # the kiosk: reception confirms the screening and issues a ticket
    kiosk = await browser.new_page(f"{web}/kiosk.html?site={site_id}&staff=reception-{run}")
    await ask_at_the_kiosk(kiosk, f"acct-{run}", customer_id)
    ticket = await kiosk.wait_for("window.frontdesk.ticket")
    number, ticket_id = ticket["number"], ticket["ticket_id"]
    await kiosk.wait_for(f"document.getElementById('number').textContent === '{number}'")
    await kiosk.screenshot(ARTIFACTS / "kiosk.png")

    # pushed to the board (no reload): the number is next up in its queue
    await board.wait_for(
        "[...document.querySelectorAll('.queue .next')]"
        f".some(n => n.textContent.includes('{number}'))",
        within=30,
    )

    # the customer's own page: their place, live
    mine = await browser.new_page(
        f"{web}/ticket.html?ticket={ticket_id}&customer={customer_id}&lang=en"
    )
    await mine.wait_for("window.frontdesk.view && window.frontdesk.view.status === 'waiting'")
    await mine.wait_for("document.getElementById('turn').textContent.includes(\"You're next\")")
    await mine.screenshot(ARTIFACTS / "my-place-waiting.png")

    # the agent signs in at desk 3 and calls next from the console
    console = await browser.new_page(
        f"{web}/console.html?agent={agent_id}&site={site_id}&desk={DESK}"
    )
    await console.wait_for("window.frontdesk.view !== null")
    await console.evaluate("document.getElementById('sign-in').click()")
    await console.wait_for("window.frontdesk.view.status === 'available'", within=30)
    await console.evaluate("document.getElementById('call-next').click()")
    await console.wait_for(
        f"document.querySelector('[data-number=\"{number}\"]') !== null", within=30
    )

    # the board: "<number> → desk 3", announced with a chime; the customer: their turn
    call = f"li.call[data-number='{number}'][data-desk='{DESK}']"
    await board.wait_for(f'document.querySelector("{call}") !== null', within=30)
    assert await board.evaluate(
        f"document.querySelector(\"{call}\").textContent.includes('desk {DESK}')"
    )
    assert f"{number} → desk {DESK}" in await board.evaluate("window.frontdesk.calls")
    assert await board.evaluate("window.frontdesk.chimes") >= 1
    await board.screenshot(ARTIFACTS / "board.png")
    await mine.wait_for(
        f"document.getElementById('turn').textContent.includes('go to desk {DESK}')", within=30
    )
    assert await mine.evaluate("window.frontdesk.stream.opened") == 1  # no reload, one stream
    await mine.screenshot(ARTIFACTS / "my-place-called.png")
    await console.wait_for(
        "document.querySelector('[data-field=\"next-step\"]') !== null", within=60
    )
    await console.screenshot(ARTIFACTS / "console.png")

    # the board loses its stream; meanwhile the agent serves, completes and calls the next one
    await board.evaluate("window.frontdesk.stream.drop()")
    last_seen = await board.evaluate("window.frontdesk.stream.lastId")
    assert last_seen
    async with httpx.AsyncClient(base_url=checkin, timeout=30) as client:
        for step in ("start", "complete"):
            done = await client.post(f"/tickets/{ticket_id}/{step}", json={}, headers=agent)
            assert done.status_code == 200, done.text
        second = await client.post(
            "/tickets",
            json={
                "site_id": site_id,
                "screening_confirmed": True,
                "intake": {
                    "problem_category": "account_suspended",
                    "account_ref": f"acct2-{run}",
                    "language": {"tag": "zh-CN"},
                },
            },
            headers=agent,
        )
        assert second.status_code == 201, second.text
        second_number = second.json()["number"]
        called = await client.post(f"/agents/{agent_id}/call-next", headers=agent)
        assert called.status_code == 200, called.text
        assert called.json()["number"] == second_number
    # resumed with Last-Event-ID: the call made while away is shown and announced; the first
    # ticket's completion is another ticket's stream (another partition) than the second's
    # call, projected on its own: wait for it to leave the board too
    await board.evaluate("window.frontdesk.stream.resume()")
    await board.wait_for(
        f"window.frontdesk.calls.includes('{second_number} → desk {DESK}')"
        f' && document.querySelector("{call}") === null',
        within=30,
    )
    assert await board.evaluate("window.frontdesk.stream.opened") == 2
    assert await board.evaluate(f'document.querySelector("{call}")') is None  # served, gone

    wall = await browser.new_page(f"{web}/wall.html?site={site_id}&supervisor=sup-{run}")
    await wall.wait_for(
        "window.frontdesk.view && window.frontdesk.view.queues.length > 0", within=30
    )
    await wall.screenshot(ARTIFACTS / "wall.png")
    assert browser.errors == []
    shots = {path.name for path in Path(ARTIFACTS).glob("*.png")}  # noqa: ASYNC240
    assert {"board.png", "kiosk.png", "my-place-called.png", "console.png", "wall.png"} <= shots
