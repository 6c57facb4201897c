"""Write the JSON Schema of every model to `schemas/json/` (`python -m schemas.export`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from schemas.models import MODELS

__all__ = ["JSON_DIR", "export", "render"]

JSON_DIR = Path(__file__).parent / "json"
_INPUTS = {"FollowerCountChanged", "VerificationResult"}


def render() -> dict[str, str]:
    """File name -> JSON Schema text, for every model."""
    files = {}
    for name, model in MODELS.items():
        # inputs are documented as we accept them, outputs as we write them
        mode: Literal["validation", "serialization"] = (
            "validation" if name in _INPUTS else "serialization"
        )
        schema = model.model_json_schema(mode=mode)
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://follower-thresholds.dev/schemas/{name}.json"
        files[f"{name}.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return files


def export(directory: Path = JSON_DIR) -> list[Path]:
    """Write every schema file; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in export():
        print(path)
