"""The worker's HTTP endpoints (SPEC.md, "Operations"), on Faust's web server.

`/health` and `/ready` for probes, `/metrics` for Prometheus, and
`/accounts/{platform}/{account_id}`, answered from the tables of whichever
worker owns the key: the crossing state and the policy state may live on two
workers (their topics are assigned independently), so each part is read where
it lives, locally or by one forwarded request (`?part=`), and the answer
assembled where it was asked.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp
import faust
from faust.web import Request, Response, View

from streams.codec import decode_account_state, decode_policy_state
from streams.codec.outputs import account_view, encode_account_lookup, encode_policy_lookup
from streams.config import Settings
from streams.core.identity import is_account_id, is_platform, record_key
from streams.engine.brokers import BrokerWatch
from streams.engine.metrics import CONTENT_TYPE, WorkerMetrics

__all__ = ["Readiness", "readiness", "register_pages"]

log = logging.getLogger("streams.engine.web")

FORWARD_TIMEOUT = 5.0
"""Seconds a forwarded lookup may take before the asking worker answers 503."""


@dataclass
class Readiness:
    """What `/ready` and `/health` answer, from the app's own state."""

    app: Any
    joined: bool = False  # the group assigned this worker its partitions at least once
    agents: list[str] = field(default_factory=list)
    brokers: BrokerWatch | None = None

    def dead_agents(self) -> list[str]:
        """Agents whose task has ended (every agent runs for the worker's life)."""
        dead = []
        for name in self.agents:
            agent = self.app.agents.get(name)
            actors = [] if agent is None else list(agent._actors)  # Faust touchpoint
            if any(a.actor_task is not None and a.actor_task.done() for a in actors):
                dead.append(name)
        return dead

    def status(self) -> tuple[str, str]:
        """("ready", "") or (starting|recovering|rebalancing|stopping, detail)."""
        app = self.app
        recovery = app.tables.recovery
        recovering = bool(recovery.in_recovery) or not recovery.completed.is_set()
        return readiness(
            dead=self.dead_agents(),
            stopping=bool(app.should_stop),
            unreachable=self.brokers.unready(time.monotonic()) if self.brokers else None,
            joined=self.joined,
            rebalancing=bool(app.rebalancing),
            recovering=recovering,
            remaining=recovery.active_remaining_total() if recovery.in_recovery else 0,
        )


def readiness(
    *,
    dead: list[str],
    stopping: bool,
    joined: bool,
    unreachable: str | None = None,
    rebalancing: bool,
    recovering: bool,
    remaining: int,
) -> tuple[str, str]:
    """What `/ready` says of a worker in this state: ("ready", "") or
    (starting|recovering|rebalancing|stopping, a detail for people)."""
    if dead:
        return "stopping", f"agent {', '.join(dead)} has stopped"
    if stopping:
        return "stopping", "the worker is shutting down"
    if unreachable:  # the group cannot hold while no broker answers
        return "rebalancing", unreachable
    if not joined:
        return "starting", "joining the consumer group"
    if recovering:  # the part of a rebalance that can take long: say how long
        return "recovering", f"{remaining} changelog records left to restore"
    if rebalancing:
        return "rebalancing", "the group is reassigning partitions"
    return "ready", ""


def _json_error(view: View, status: int, message: str) -> Response:
    return view.json({"error": message}, status=status)


def register_pages(
    app: faust.App,
    settings: Settings,
    readiness: Readiness,
    metrics: WorkerMetrics,
    account_state: Any,
    policy_state: Any,
) -> None:
    """Serve the four endpoints on `app`'s web server."""
    own_url = settings.web_url.rstrip("/")
    token = settings.web_token

    @app.page("/health")
    async def health(view: View, request: Request) -> Response:
        dead = readiness.dead_agents()
        if dead:
            return view.json(
                {"status": "failing", "detail": f"agent {', '.join(dead)}"}, status=503
            )
        return view.json({"status": "ok"})

    @app.page("/ready")
    async def ready(view: View, request: Request) -> Response:
        status, detail = readiness.status()
        if status == "ready":
            return view.json({"status": "ready"})
        return view.json({"status": status, "detail": detail}, status=503)

    @app.page("/metrics")
    async def scrape(view: View, request: Request) -> Response:
        return view.bytes(metrics.exposition(), headers={"Content-Type": CONTENT_TYPE})

    parts: dict[str, tuple[Any, Callable[[bytes], dict[str, Any]]]] = {
        "account": (account_state, lambda v: encode_account_lookup(decode_account_state(v))),
        "policy": (policy_state, lambda v: encode_policy_lookup(decode_policy_state(v)[0])),
    }

    def local(part: str, key: bytes) -> dict[str, Any] | None:
        table, encode = parts[part]
        value = table.get(key)
        return None if value is None else encode(value)

    async def read_part(
        part: str, key: bytes, path: str, headers: dict[str, str]
    ) -> dict[str, Any] | None:
        table, _ = parts[part]
        owner = str(app.router.key_store(table.name, key)).rstrip("/")
        if owner == own_url:
            return local(part, key)
        async with app.http_client.get(
            f"{owner}{path}?part={part}",
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=FORWARD_TIMEOUT),
        ) as answer:
            if answer.status == 404:
                return None
            if answer.status != 200:
                raise LookupError(f"{owner} answered {answer.status}")
            found: dict[str, Any] = await answer.json()
            return found

    @app.page("/accounts/{platform}/{account_id}")
    async def account(view: View, request: Request, platform: str, account_id: str) -> Response:
        authorization = request.headers.get("Authorization", "")
        if token is not None and not hmac.compare_digest(
            authorization.encode(), f"Bearer {token}".encode()
        ):
            return _json_error(view, 401, "this lookup needs Authorization: Bearer <token>")
        if not is_platform(platform):
            return _json_error(view, 400, f"not a platform: {platform[:64]!r}")
        if not is_account_id(account_id):
            return _json_error(view, 400, f"not an account id: {account_id[:64]!r}")
        key = record_key(platform, account_id).encode()
        part = request.query.get("part")
        if part is not None:  # forwarded here by the worker that was asked: answer locally
            if part not in parts:
                return _json_error(view, 400, f"unknown part: {part[:16]!r}")
            found = local(part, key)
            return view.json(found) if found is not None else _json_error(view, 404, "not here")
        path = f"/accounts/{quote(platform, safe='')}/{quote(account_id, safe='')}"
        headers = {"Authorization": authorization} if authorization else {}
        try:
            crossing = await read_part("account", key, path, headers)
            policy = await read_part("policy", key, path, headers)
        except KeyError:  # no assignment yet: the router knows no owner
            return _json_error(view, 503, "the group has not assigned the key's partition yet")
        except (LookupError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("account lookup forward failed: %s", exc)
            return _json_error(view, 503, f"the key's owner did not answer: {exc}")
        if crossing is None and policy is None:
            return _json_error(view, 404, f"account never seen: {platform}:{account_id}")
        return view.json(account_view(platform, account_id, crossing, policy))
