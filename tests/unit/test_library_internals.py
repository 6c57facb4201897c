"""Every Faust, mode or aiokafka internal the worker touches is listed here and
in docs/operations.md, and each is guarded: a private attribute or method we
read, write or call must still exist, and a method we override must still
have the source we read when we wrote the override. An upgrade that changes
one fails here, by name, before anything runs against a broker."""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parent.parent.parent
ENGINE = ROOT / "streams" / "engine"
LIBRARIES = ("faust", "mode", "aiokafka")

TOUCHED: list[tuple[str, str | None, str]] = [
    # (module, class or None for a module attribute, attribute)
    ("faust.transport.consumer", "Consumer", "_unacked_messages"),
    ("faust.transport.consumer", "Consumer", "_add_gap"),
    ("faust.transport.consumer", "Consumer", "_committed_offset"),
    ("faust.transport.consumer", "ThreadDelegateConsumer", "_thread"),
    ("faust.transport.consumer", "Consumer", "_read_offset"),
    ("faust.transport.consumer", "Consumer", "_commit_every"),
    ("faust.transport.consumer", "TransactionManager", "_tps_to_transactional_ids"),
    ("mode.services", "Service", "_stopped"),
    ("faust.transport.drivers.aiokafka", "Producer", "_producer"),
    ("faust.transport.drivers.aiokafka", "Producer", "_new_producer"),
    ("faust.transport.drivers.aiokafka", "Producer", "_transaction_producers"),
    ("faust.transport.drivers.aiokafka", "Producer", "_trn_locks"),
    ("faust.transport.drivers.aiokafka", "Producer", "_ensure_producer"),
    ("faust.transport.drivers.aiokafka", "AIOKafkaConsumerThread", "_ensure_consumer"),
    ("faust.transport.drivers.aiokafka", "AIOKafkaConsumerThread", "_consumer"),
    ("faust.tables.base", "Collection", "_on_changelog_event"),
    ("faust.stores.memory", "Store", "_key_partition"),
    ("faust.stores.rocksdb", "Store", "_dbs"),
    ("faust.stores.rocksdb", "Store", "_db_for_partition"),
    ("faust.agents.agent", "Agent", "_actors"),
    ("faust.app.base", "App", "_consumer"),
    ("aiokafka.producer.producer", "AIOKafkaProducer", "_txn_manager"),
    ("aiokafka.consumer.consumer", "AIOKafkaConsumer", "_fetch_max_wait_ms"),
    ("aiokafka.consumer.consumer", "AIOKafkaConsumer", "_isolation_level"),
    ("aiokafka.consumer.consumer", "AIOKafkaConsumer", "_coordinator"),
    ("aiokafka.consumer.group_coordinator", "GroupCoordinator", "_pending_exception"),
]

OVERRIDDEN: list[tuple[str, str, str, str]] = [
    # (module, class, method, sha256 prefix of its source in the pinned version)
    (
        "faust.transport.drivers.aiokafka",
        "AIOKafkaConsumerThread",
        "_create_worker_consumer",
        "c2701bfc3e6f6cad",
    ),
    ("faust.transport.drivers.aiokafka", "AIOKafkaConsumerThread", "on_start", "38b4e8bd1e10723a"),
    (
        "faust.transport.drivers.aiokafka",
        "AIOKafkaConsumerThread",
        "_highwaters",
        "a7f4f97d9f32aca2",
    ),
    (
        "faust.transport.drivers.aiokafka",
        "AIOKafkaConsumerThread",
        "seek_to_committed",
        "775ab0adc4b052ab",
    ),
    ("faust.transport.drivers.aiokafka", "Consumer", "_new_consumer_thread", "0870ec53dea75083"),
    ("faust.transport.consumer", "Consumer", "commit", "a354437baaa08bf8"),
    ("faust.transport.consumer", "Consumer", "on_partitions_revoked", "d04b7ae72c6fc206"),
    ("faust.transport.consumer", "Consumer", "wait_empty", "e4662fe24f094819"),
    ("faust.transport.consumer", "Consumer", "_drain_messages", "44a2500309e83c63"),
    ("faust.transport.producer", "ProducerBuffer", "size", "b543a978fdece62e"),
    ("faust.transport.producer", "Producer", "__init__", "5c53a4b47aa1372b"),
    ("faust.transport.drivers.aiokafka", "Producer", "create_topic", "d2d406c4b9a44be7"),
    ("faust.serializers.schemas", "Schema", "compile", "d46eec5ce3195b2c"),
    ("faust.tables.recovery", "Recovery", "_build_offsets", "27eec86be06cb51f"),
    ("faust.tables.manager", "TableManager", "recovery", "f0bf5de78b4c3d23"),
    ("faust.transport.consumer", "TransactionManager", "on_partitions_revoked", "6c0e120716813506"),
    ("faust.transport.consumer", "TransactionManager", "on_rebalance", "2c190b35003af25c"),
    ("faust.transport.consumer", "TransactionManager", "commit", "fbb29c3467ac8bfa"),
    # not overridden but done again for a whole fetch (streams.engine.fetches):
    # the conductor's per-record hand-off, and the ack its chain ends in
    ("faust.transport.conductor", "ConductorCompiler", "build", "837cf521368c1ee4"),
    ("faust.transport.consumer", "Consumer", "ack", "5fcf41cf45153475"),
]

OURS = {"_exit"}  # os._exit: the standard library's, documented


def _target(module: str, name: str | None) -> Any:
    found = importlib.import_module(module)
    return found if name is None else getattr(found, name)


def _exists(target: Any, attribute: str) -> bool:
    """A class or module attribute, or an instance attribute its code sets or annotates."""
    if hasattr(target, attribute):
        return True
    pattern = re.compile(rf"(self\.{attribute}\b\s*(:[^=\n]+)?=)|(^\s+{attribute}\s*:)", re.M)
    for klass in inspect.getmro(target) if inspect.isclass(target) else [target]:
        try:
            if pattern.search(inspect.getsource(klass)):
                return True
        except (OSError, TypeError):
            continue
    return False


@pytest.mark.parametrize(("module", "name", "attribute"), TOUCHED)
def test_each_internal_the_worker_touches_still_exists(
    module: str, name: str | None, attribute: str
) -> None:
    assert _exists(_target(module, name), attribute), f"{module}.{name}.{attribute} is gone"


def _source_hash(module: str, name: str, method: str) -> str:
    found: Any = vars(_target(module, name))[method]
    function: Any = found.fget if isinstance(found, property) else found
    function = inspect.unwrap(function)
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]


@pytest.mark.parametrize(("module", "name", "method", "expected"), OVERRIDDEN)
def test_each_method_the_worker_overrides_is_the_one_it_was_written_against(
    module: str, name: str, method: str, expected: str
) -> None:
    assert _source_hash(module, name, method) == expected, (
        f"{module}.{name}.{method} changed upstream: read the change, carry it over to "
        "our override, then update the hash"
    )


def _library_subclasses() -> list[tuple[ast.ClassDef, type]]:
    found = []
    for path in ENGINE.glob("*.py"):
        module = importlib.import_module(f"streams.engine.{path.stem}")
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef) and node.bases:
                klass = getattr(module, node.name)
                if any(b.__module__.split(".")[0] in LIBRARIES for b in klass.__mro__[1:]):
                    found.append((node, klass))
    return found


def _overrides() -> set[tuple[str, str, str]]:
    """(module, class, method) of every library method our subclasses define."""
    found = set()
    for node, klass in _library_subclasses():
        for item in node.body:
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                for base in klass.__mro__[1:]:
                    if item.name in vars(base) and base.__module__.split(".")[0] in LIBRARIES:
                        found.add((base.__module__, base.__qualname__, item.name))
                        break
    return found


def test_every_library_method_the_worker_overrides_is_listed() -> None:
    listed = {(m, c, f) for m, c, f, _ in OVERRIDDEN}

    assert _overrides() <= listed, sorted(_overrides() - listed)


def _private_names() -> set[str]:
    """Private names the engine reaches into on objects that are not its own:
    `x._name`, `getattr(x, "_name")`, and in a subclass of a library class a
    `self._name` the subclass neither defines nor sets."""
    names: set[str] = set()
    for path in ENGINE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
            ):
                names.add(node.attr)
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "hasattr", "setattr")
                and len(node.args) > 1
                and isinstance(node.args[1], ast.Constant)
                and str(node.args[1].value).startswith("_")
            ):
                names.add(str(node.args[1].value))
    for node, _ in _library_subclasses():
        own = {i.name for i in node.body if isinstance(i, ast.FunctionDef | ast.AsyncFunctionDef)}
        for sub in ast.walk(node):
            if (
                isinstance(sub, ast.Attribute)
                and isinstance(sub.value, ast.Name)
                and sub.value.id == "self"
                and sub.attr.startswith("_")
                and not sub.attr.startswith("__")
            ):
                if isinstance(sub.ctx, ast.Store):
                    own.add(sub.attr)
                else:
                    names.add(sub.attr)
        names -= own - {a for _, _, a in TOUCHED}
    return names


def test_every_library_internal_the_worker_touches_is_listed() -> None:
    listed = {a for _, _, a in TOUCHED} | {m for _, _, m, _ in OVERRIDDEN} | OURS

    assert _private_names() <= listed, sorted(_private_names() - listed)


def test_the_operations_guide_lists_every_internal() -> None:
    guide = (ROOT / "docs" / "operations.md").read_text()
    section = guide[guide.index("## Faust and aiokafka internals") :]
    names = {a for _, _, a in TOUCHED} | {
        m for _, _, m, _ in OVERRIDDEN if m.startswith("_") and not m.startswith("__")
    }

    missing = sorted(n for n in names if f"{n}" not in section)

    assert not missing
