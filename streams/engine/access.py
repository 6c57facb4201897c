"""A permission the broker refused, said as such: which operation on which
resource, for the one ERROR line a worker stops with (`watchdog.fail_fast`)."""

from __future__ import annotations

import traceback

__all__ = ["refusal"]

_RESOURCES = {
    "TopicAuthorizationFailedError": "topic",
    "GroupAuthorizationFailedError": "group",
    "TransactionalIdAuthorizationFailed": "transactional id",
    "ClusterAuthorizationFailedError": "cluster",
}


def refusal(exc: BaseException) -> str | None:
    """'Kafka refused OPERATION on RESOURCE NAME ...' for an authorization
    error of a Kafka client (aiokafka, kafka-python), None for any other."""
    resource = _RESOURCES.get(type(exc).__name__)
    if resource is None:
        return None
    text = str(exc)
    name = _name(exc)
    if resource == "group":
        operation = "READ"
    elif resource == "transactional id":
        operation = "WRITE"
    elif resource == "cluster":
        operation = "an operation"
    elif "create topic" in text.lower():
        operation = "CREATE"
    else:
        files = " ".join(f.filename for f in traceback.extract_tb(exc.__traceback__))
        operation = "READ" if "fetcher" in files or "/consumer/" in files else "WRITE"
    return (
        f"Kafka refused {operation} on {resource} {name}: "
        "grant the ACLs `thresholds acls` lists for this worker's principal"
    )


def _name(exc: BaseException) -> str:
    args = [a for a in exc.args if isinstance(a, str)]
    for arg in args:
        if "Cannot create topic:" in arg:  # aiokafka's "Cannot create topic: NAME (29): ..."
            return arg.split("Cannot create topic:", 1)[1].split()[0]
    if args:
        return args[0].split(":")[-1].strip()[:200]
    return "(unnamed)"
