"""Loads `openapi.yaml`, inlines its `$ref`s and validates real responses against it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

import httpx
import yaml
from jsonschema import Draft202012Validator, FormatChecker

import rasa_project.booking_api

SPEC_PATH = Path(rasa_project.booking_api.__file__).parent / "openapi.yaml"
METHODS = {"get", "post", "put", "patch", "delete"}


def load_spec() -> Dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


def resolve(node: Any, spec: Dict[str, Any], seen: Tuple[str, ...] = ()) -> Any:
    """A copy of `node` with every local `$ref` replaced by its target (siblings of `$ref` are merged)."""
    if isinstance(node, list):
        return [resolve(item, spec, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/") and ref not in seen, f"unsupported or cyclic $ref {ref}"
        target: Any = spec
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        merged = {**resolve(target, spec, seen + (ref,)), **{k: v for k, v in node.items() if k != "$ref"}}
        return resolve(merged, spec, seen + (ref,))
    return {key: resolve(value, spec, seen) for key, value in node.items()}


class ContractChecker:
    """Validates responses and records which operation/status pairs were exercised."""

    def __init__(self) -> None:
        self.raw = load_spec()
        self.spec = resolve(self.raw, self.raw)
        self.operations: List[Tuple[str, str, re.Pattern]] = []
        for template, item in self.spec["paths"].items():
            pattern = re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$")
            for method in item:
                if method in METHODS:
                    self.operations.append((method.upper(), template, pattern))
        self.exercised: Set[Tuple[str, str, str]] = set()

    def documented(self) -> Set[Tuple[str, str, str]]:
        return {
            (m, t, key)
            for m, t, _ in self.operations
            for key in self.spec["paths"][t][m.lower()]["responses"]
        }

    def operation(self, method: str, path: str) -> str:
        for op_method, template, pattern in self.operations:
            if op_method == method and pattern.match(path):
                return template
        raise AssertionError(f"{method} {path} is not in the contract")

    def check(self, response: httpx.Response) -> httpx.Response:
        method, path = response.request.method, response.request.url.path
        template = self.operation(method, path)
        responses = self.spec["paths"][template][method.lower()]["responses"]
        status = str(response.status_code)
        key = next((k for k in (status, status[0] + "XX", "default") if k in responses), None)
        assert key is not None, f"{method} {path}: status {status} is not documented ({sorted(responses)})"
        schema = responses[key]["content"]["application/json"]["schema"]
        assert response.headers["content-type"].startswith("application/json"), response.headers
        body = response.json()
        errors = sorted(
            Draft202012Validator(schema, format_checker=FormatChecker()).iter_errors(body), key=str
        )
        assert not errors, f"{method} {path} {status}: " + "; ".join(
            f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]
        )
        self.exercised.add((method, template, key))
        return response
