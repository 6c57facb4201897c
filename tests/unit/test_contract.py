"""The published contract: JSON Schemas in sync, the fast codec agreeing with the models."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas import FollowerCountChanged, VerificationResult
from schemas.export import JSON_DIR, render
from streams.codec import (
    Rejected,
    decode_follower_change,
    decode_follower_change_fast,
    decode_verification_result,
    parse_json,
)

ROOT = Path(__file__).parent.parent.parent


def test_every_model_has_its_exported_json_schema_in_sync() -> None:
    expected = render()

    on_disk = {p.name: p.read_text(encoding="utf-8") for p in JSON_DIR.glob("*.json")}

    assert on_disk == expected, "run `python -m schemas.export` and commit schemas/json"


def imported_modules(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names]
    return names


def _package_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:2]) if parts[0] == "streams" and len(parts) > 2 else parts[0]


LAYERS = {
    # a package may import the product packages listed, and nothing else of ours
    "streams.core": set(),
    "schemas": {"streams.core"},
    "streams.codec": {"streams.core"},
    "streams.config": {"streams.core"},
    "streams.process": {"streams.core", "streams.codec", "streams.config"},
    "streams.engine": {"streams.core", "streams.codec", "streams.config", "streams.process"},
    "streams.kafka": {"streams.core", "streams.codec", "streams.config", "streams.process"},
    "streams.cli": {
        "schemas",
        "streams.core",
        "streams.codec",
        "streams.config",
        "streams.process",
        "streams.engine",
        "streams.kafka",
    },
}
LAYERS["streams.testing"] = {*LAYERS["streams.cli"], "streams.cli"}  # the users' test kit
PRODUCT = [p for p in (ROOT / "streams").rglob("*.py") if _package_of(p) != "streams.testing"]
SHIPPED = [*(ROOT / "streams").rglob("*.py"), *(ROOT / "schemas").rglob("*.py")]


def _ours(name: str) -> str | None:
    parts = name.split(".")
    if parts[0] == "schemas":
        return "schemas"
    if parts[0] == "streams" and len(parts) > 1:
        return ".".join(parts[:2])
    return None


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_a_layer_imports_only_the_layers_beneath_it(package: str) -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in SHIPPED
        if _package_of(path) == package
        for name in imported_modules(path)
        if (layer := _ours(name)) not in (None, package) and layer not in LAYERS[package]
    ]

    assert not wrong


def _module_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports, at any depth of its code."""
    modules = {_module_of(p): p for p in SHIPPED}

    def resolve(name: str) -> str | None:  # `from a.b import c`: a.b.c if a module, else a.b
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    return {
        module: {
            target
            for name in imported_modules(path)
            if (target := resolve(name)) is not None and target != module
        }
        for module, path in modules.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in graph[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_no_modules_import_each_other_in_a_cycle() -> None:
    assert _cycles(_import_graph()) == []


def test_a_cycle_is_found_when_there_is_one() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}

    assert _cycles(graph) == [["a", "b", "c"]]


def test_the_core_imports_only_the_standard_library() -> None:
    for path in (ROOT / "streams" / "core").rglob("*.py"):
        for name in imported_modules(path):
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or name.startswith("streams.core"), (
                f"{path.name} imports {name}"
            )


def test_only_the_engine_imports_faust() -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in SHIPPED
        if _package_of(path) != "streams.engine"
        for name in imported_modules(path)
        if name.split(".")[0] in {"faust", "mode", "aiokafka"}
    ]

    assert not wrong


def test_the_product_never_imports_its_test_kit() -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in [*PRODUCT, *(ROOT / "schemas").rglob("*.py")]
        for name in imported_modules(path)
        if name.startswith("streams.testing") or name.split(".")[0] in {"testcontainers", "pytest"}
    ]

    assert not wrong


def test_nothing_shipped_imports_the_repositorys_own_tests() -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in SHIPPED
        for name in imported_modules(path)
        if name.split(".")[0] in {"tests", "benchmarks"}
    ]

    assert not wrong


def test_nothing_but_the_app_imports_the_agents() -> None:
    for path in [*(ROOT / "streams").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]:
        if path.name == "app.py":
            continue
        assert "streams.engine.agents" not in imported_modules(path), path


_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**13), 10**13),
    st.floats(allow_nan=False),
    st.text(max_size=5),
    st.sampled_from(["weibo", "a1", "2023-11-01T00:00:00Z", "2023-11-01T00:00:00"]),
)
_change_fields = {
    "event_id": st.one_of(st.text(min_size=0, max_size=3), _values),
    "platform": st.one_of(st.sampled_from(["weibo", "douyin", "Weibo", "a" * 33]), _values),
    "account_id": st.one_of(st.sampled_from(["a1", "a b", "x" * 129]), _values),
    "followers": st.one_of(st.integers(-1, 10**12 + 1), _values),
    "occurred_at": st.one_of(
        st.sampled_from(
            ["2023-11-01T00:00:00Z", "2023-11-01T08:00:00.123+08:00", "2023-02-29T00:00:00Z"]
        ),
        _values,
    ),
    "sequence": st.one_of(st.integers(-1, 5), _values),
    "delta": _values,
    "schema_version": st.one_of(st.integers(0, 2), _values),
}


def _accepts(decode: Any, value: dict[str, Any]) -> bool:
    raw = orjson.dumps(value)
    try:
        decode(parse_json(raw), raw)
    except Rejected:
        return False
    return True


def _model_accepts(model: Any, value: dict[str, Any]) -> bool:
    try:
        model.model_validate_json(orjson.dumps(value))
    except ValidationError:
        return False
    return True


@given(st.fixed_dictionaries({}, optional=_change_fields))
def test_the_fast_decoder_and_the_model_accept_the_same_follower_changes(
    value: dict[str, Any],
) -> None:
    assert _accepts(decode_follower_change, value) == _model_accepts(FollowerCountChanged, value)


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "event_id": _change_fields["event_id"],
            "platform": _change_fields["platform"],
            "account_id": _change_fields["account_id"],
            "status": st.one_of(st.sampled_from(["verified", "rejected", "approved"]), _values),
            "decided_at": _change_fields["occurred_at"],
            "schema_version": _change_fields["schema_version"],
            "real_name": st.text(max_size=3),
        },
    )
)
def test_the_fast_decoder_and_the_model_accept_the_same_verification_results(
    value: dict[str, Any],
) -> None:
    assert _accepts(decode_verification_result, value) == _model_accepts(VerificationResult, value)


@pytest.mark.parametrize("name", ["FollowerCountChanged", "ThresholdCrossed", "DeadLetter"])
def test_a_schema_requires_type_and_schema_version_fields(name: str) -> None:
    schema = orjson.loads((JSON_DIR / f"{name}.json").read_bytes())

    assert {"type", "schema_version"} <= set(schema["properties"])


@given(
    st.fixed_dictionaries(
        {
            "event_id": st.text(min_size=1, max_size=3),
            "platform": st.sampled_from(["weibo", "douyin"]),
            "account_id": st.sampled_from(["a1", "a b", "a\u3000", "x" * 128]),
            "followers": st.integers(-1, 10**12 + 1),
            "occurred_at": st.sampled_from(
                [
                    "2023-11-01T00:00:05Z",
                    "2023-11-01T00:00:05.123456Z",
                    "2023-11-01T00:00:05.1z",
                    "2023-11-01t00:00:59.123456789Z",
                    "2023-11-01T00:00:60.000000Z",
                    "2023-11-01T00:00:5x.000000Z",
                    "2023-11-01T00:00:05.12345\u0663Z",
                    "2023-11-01T00:00:05+08:00",
                ]
            ),
        },
        optional={
            "sequence": st.one_of(st.none(), st.integers(-1, 10**20), st.booleans()),
            "delta": st.one_of(st.none(), st.integers(), st.floats(allow_nan=False)),
            "schema_version": st.sampled_from([1, 2, True, 1.0]),
            "type": st.sampled_from(["FollowerCountChanged", "VerificationResult", None]),
        },
    )
)
def test_the_fast_path_decodes_exactly_what_the_full_decoder_decodes(
    value: dict[str, Any],
) -> None:
    raw = json.dumps(value).encode() + b"\n"  # the standard library writes any integer
    try:
        expected = decode_follower_change(parse_json(raw), raw)
    except Rejected:
        expected = None

    fast = decode_follower_change_fast(raw)

    # the fast path may decline (None) but never disagrees
    assert fast is None or fast == expected
