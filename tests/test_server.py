"""The HTTP server: /healthz for load balancers, and Slack over HTTP or Socket Mode."""

import asyncio

import httpx

from bot.server import create_web_app
from storage.session import make_engine, make_session_factory


def request(web, method: str, path: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://partnerbot") as client:
            return await client.request(method, path)

    return asyncio.run(go())


def test_healthz_is_503_when_the_database_does_not_answer():
    unreachable = make_engine(
        "postgresql+psycopg://postgres@127.0.0.1:1/none", connect_args={"connect_timeout": 1}
    )
    response = request(
        create_web_app(bolt=None, sessions=make_session_factory(unreachable)), "GET", "/healthz"
    )
    assert response.status_code == 503
    assert response.json() == {"ok": False, "database": "unreachable"}


def test_without_http_slack_the_events_endpoint_says_so(db):
    web = create_web_app(bolt=None, sessions=db)
    assert request(web, "GET", "/healthz").status_code == 200
    assert request(web, "POST", "/slack/events").status_code == 404


def test_with_an_app_token_slack_comes_over_socket_mode(db, clock, slack_api):
    from bot.server import build
    from bot.settings import load

    settings = load(
        {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "SLACK_API_URL": slack_api.url}
    )
    service = build(settings=settings, sessions=db, clock=clock)
    assert service.socket_mode is not None
    assert service.socket_mode.client.web_client.base_url == slack_api.url  # SLACK_API_URL honoured
    assert request(service.web, "POST", "/slack/events").status_code == 404
    assert request(service.web, "GET", "/healthz").status_code == 200


def test_slack_requests_are_answered_by_a_bounded_number_of_threads(db):
    """Sixteen requests at once: Python runs one thread at a time, so more than a
    few dispatching together only share the same CPU worse."""
    import threading

    from slack_bolt import BoltResponse

    from bot.server import DISPATCH_THREADS

    one_more = threading.Barrier(DISPATCH_THREADS + 1, timeout=0.3)
    met = []

    class Bolt:
        def dispatch(self, request):
            try:
                one_more.wait()  # only passes if one more than the bound dispatch at once
                met.append(True)
            except threading.BrokenBarrierError:
                pass
            return BoltResponse(status=200, body="ok")

    web = create_web_app(bolt=Bolt(), sessions=db)

    async def sixteen():
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://partnerbot") as client:
            return await asyncio.gather(*(client.post("/slack/events", content=b"x") for _ in range(16)))

    responses = asyncio.run(sixteen())
    assert [r.status_code for r in responses] == [200] * 16
    assert met == []
