"""The verification policy: crossings, results and time in; requests and restrictions out.

Every function takes an account's policy state and returns the new state and
the records to emit, in order. `now` is the caller's clock (wall clock live,
event time in replay) in UTC microseconds since the epoch.
"""

from __future__ import annotations

import uuid
from typing import NamedTuple

from streams.core.crossings import ThresholdCrossed
from streams.core.rules import Phase
from streams.core.timestamps import MAX_US

__all__ = [
    "DAY_US",
    "OpenRequest",
    "PolicyOutput",
    "PolicyState",
    "RestrictionLifted",
    "TrafficRestricted",
    "VerificationCancelled",
    "VerificationRequested",
    "VerificationResult",
    "is_subject",
    "on_crossing",
    "on_deadline",
    "on_phase_start",
    "on_result",
    "record_event_id",
]

DAY_US = 86_400 * 1_000_000


class VerificationResult(NamedTuple):
    """The outcome of a real-name verification; carries nothing personal."""

    event_id: str
    platform: str
    account_id: str
    status: str  # "verified" | "rejected"
    decided_at: int


class VerificationRequested(NamedTuple):
    """An account must verify its real name by `due_at`."""

    event_id: str
    platform: str
    account_id: str
    threshold: int
    requested_at: int
    due_at: int
    cause_event_id: str | None


class VerificationCancelled(NamedTuple):
    """An open request no longer applies."""

    event_id: str
    platform: str
    account_id: str
    request_id: str
    cancelled_at: int
    reason: str


class TrafficRestricted(NamedTuple):
    """An account missed its deadline: traffic and income are restricted."""

    event_id: str
    platform: str
    account_id: str
    request_id: str
    restrictions: tuple[str, ...]
    restricted_at: int
    reason: str


class RestrictionLifted(NamedTuple):
    """A restriction ends."""

    event_id: str
    platform: str
    account_id: str
    lifted_at: int
    reason: str


PolicyOutput = VerificationRequested | VerificationCancelled | TrafficRestricted | RestrictionLifted


class OpenRequest(NamedTuple):
    """The request an account has open."""

    request_id: str
    threshold: int
    due_at: int


class PolicyState(NamedTuple):
    """What the policy remembers about one account."""

    above: tuple[int, ...] = ()
    verified: bool = False
    request: OpenRequest | None = None
    restricted: bool = False
    # ordinals of the records emitted so far: requested, cancelled, restricted, lifted
    counts: tuple[int, int, int, int] = (0, 0, 0, 0)
    # when the restriction in force began (UTC microseconds), None when not restricted
    restricted_since: int | None = None


_REQUESTED, _CANCELLED, _RESTRICTED, _LIFTED = range(4)
_TYPE_NAMES = (
    "VerificationRequested",
    "VerificationCancelled",
    "TrafficRestricted",
    "RestrictionLifted",
)


def record_event_id(type_name: str, platform: str, account_id: str, n: int) -> str:
    """The deterministic id of the n-th record of `type_name` for an account."""
    name = f"{type_name}:{platform}/{account_id}/{n}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def _effective(phases: tuple[Phase, ...], now: int) -> dict[int, Phase]:
    return {p.threshold: p for p in phases if p.effective_from is None or p.effective_from <= now}


def is_subject(above: tuple[int, ...], phases: tuple[Phase, ...], now: int) -> bool:
    """Whether an account above `above` must verify at `now`."""
    effective = _effective(phases, now)
    return any(t in effective for t in above)


def _next_id(
    state: PolicyState, kind: int, platform: str, account_id: str
) -> tuple[PolicyState, str]:
    counts = list(state.counts)
    counts[kind] += 1
    n = counts[kind]
    new_counts = (counts[0], counts[1], counts[2], counts[3])
    return state._replace(counts=new_counts), record_event_id(
        _TYPE_NAMES[kind], platform, account_id, n
    )


def _maybe_request(
    state: PolicyState,
    platform: str,
    account_id: str,
    phases: tuple[Phase, ...],
    now: int,
    cause_time: int,
    cause_event_id: str | None,
    out: list[PolicyOutput],
) -> PolicyState:
    """Rule 1: a subject, unverified account with nothing open gets a request."""
    if state.verified or state.request is not None or state.restricted:
        return state
    effective = _effective(phases, now)
    enforced = [t for t in state.above if t in effective]
    if not enforced:
        return state
    threshold = max(enforced)
    # A request near the end of year 9999 is due at its last instant: a later
    # due date has no RFC 3339 form, and one bad date must not stop a partition.
    due_at = min(cause_time + effective[threshold].grace_period_days * DAY_US, MAX_US)
    state, event_id = _next_id(state, _REQUESTED, platform, account_id)
    out.append(
        VerificationRequested(
            event_id, platform, account_id, threshold, cause_time, due_at, cause_event_id
        )
    )
    return state._replace(request=OpenRequest(event_id, threshold, due_at))


def on_crossing(
    state: PolicyState | None,
    crossing: ThresholdCrossed,
    phases: tuple[Phase, ...],
    now: int,
) -> tuple[PolicyState, list[PolicyOutput]]:
    """Rules 1, 2 and 5 for one crossing of an account."""
    state = state or PolicyState()
    t = crossing.threshold
    if crossing.direction == "up":
        above = tuple(sorted({*state.above, t}))
    else:
        above = tuple(x for x in state.above if x != t)
    state = state._replace(above=above)
    out: list[PolicyOutput] = []
    platform, account_id = crossing.platform, crossing.account_id
    when = crossing.occurred_at
    state = _maybe_request(state, platform, account_id, phases, now, when, crossing.event_id, out)
    if not is_subject(above, phases, now):
        if state.request is not None:
            state, event_id = _next_id(state, _CANCELLED, platform, account_id)
            request_id = state.request.request_id if state.request else ""
            out.append(
                VerificationCancelled(
                    event_id, platform, account_id, request_id, when, "below_threshold"
                )
            )
            state = state._replace(request=None)
        if state.restricted:
            state, event_id = _next_id(state, _LIFTED, platform, account_id)
            out.append(RestrictionLifted(event_id, platform, account_id, when, "below_threshold"))
            state = state._replace(restricted=False, restricted_since=None)
    return state, out


def on_deadline(
    state: PolicyState,
    platform: str,
    account_id: str,
    due_at: int,
    phases: tuple[Phase, ...],
) -> tuple[PolicyState, list[PolicyOutput]]:
    """Rule 3: the time reached `due_at`; restrict if the request is still owed."""
    request = state.request
    if (
        request is None
        or request.due_at != due_at
        or state.verified
        or not is_subject(state.above, phases, due_at)
    ):
        return state, []
    state, event_id = _next_id(state, _RESTRICTED, platform, account_id)
    restricted = TrafficRestricted(
        event_id,
        platform,
        account_id,
        request.request_id,
        ("traffic", "income"),
        due_at,
        "verification_overdue",
    )
    return state._replace(request=None, restricted=True, restricted_since=due_at), [restricted]


def on_result(
    state: PolicyState | None, result: VerificationResult
) -> tuple[PolicyState, list[PolicyOutput]]:
    """Rule 4: `verified` closes the request and lifts a restriction; `rejected` is a no-op."""
    state = state or PolicyState()
    if result.status != "verified":
        return state, []
    out: list[PolicyOutput] = []
    state = state._replace(verified=True, request=None)
    if state.restricted:
        state, event_id = _next_id(state, _LIFTED, result.platform, result.account_id)
        out.append(
            RestrictionLifted(
                event_id, result.platform, result.account_id, result.decided_at, "verified"
            )
        )
        state = state._replace(restricted=False, restricted_since=None)
    return state, out


def on_phase_start(
    state: PolicyState,
    platform: str,
    account_id: str,
    phases: tuple[Phase, ...],
    started: tuple[Phase, ...],
    at: int,
) -> tuple[PolicyState, list[PolicyOutput]]:
    """Rule 6: phases in `started` began at `at`; rule 1 for an account above one."""
    if not any(p.threshold in state.above and p in phases for p in started):
        return state, []
    out: list[PolicyOutput] = []
    state = _maybe_request(state, platform, account_id, phases, at, at, None, out)
    return state, out
