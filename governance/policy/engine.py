"""Compile a policy's rule (a built-in with parameters, or a CEL expression) and its target.

CEL runs on `common-expression-language` (Rust): linear-time regular expressions, no I/O, no
loops but comprehensions over the view's lists. An expression is short, may nest at most two
comprehensions (so a hostile one over a contract's fields stays bounded), and may read only the
view's roots; all of this is checked when the policy is saved, not when it runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cel

from governance.policy.builtins import BUILTINS, Outcome
from governance.policy.view import View
from meshplatform.errors import Invalid

MOMENTS = ("change", "run", "sweep")  # registration/CI, a run before publish, the periodic sweep
VIEW_ROOTS = frozenset({"product", "contract", "run", "grants", "now"})
TARGET_KINDS = ("all", "tag", "classification", "domain")
MAX_EXPRESSION = 1000
MAX_COMPREHENSIONS = 2
_COMPREHENSION = re.compile(r"\.\s*(all|exists|exists_one|map|filter)\s*\(")

__all__ = ["Compiled", "Outcome", "compile_policy"]


@dataclass(frozen=True)
class Compiled:
    """A policy ready to evaluate: which products it targets, when it runs, its check."""

    target: dict[str, Any]
    moments: frozenset[str]
    check: Callable[[View], Outcome]

    def applies(self, view: dict[str, Any]) -> bool:
        kind, values = self.target["kind"], self.target.get("values", [])
        product = view["product"]
        if kind == "all":
            return True
        if kind == "tag":
            return any(tag in values for tag in product["tags"])
        return bool(product[kind] in values)  # classification, domain

    def evaluate(self, view: View) -> Outcome:
        try:
            return self.check(view)
        except Exception as error:  # an expression's failure is its verdict
            return Outcome(False, f"The rule could not be evaluated: {error}")


def compile_policy(rule: Any, target: Any) -> Compiled:
    """Check and compile; Invalid (with `rule.…`/`target.…` fields) when they are wrong."""
    clean_target = _target(target)
    if not isinstance(rule, dict) or len(rule.keys() & {"builtin", "cel"}) != 1:
        raise Invalid(
            "A rule is a built-in check or a CEL expression.",
            fields={"rule": "Give either `builtin` (with `params`) or `cel`."},
        )
    if "builtin" in rule:
        return _builtin(rule, clean_target)
    return _cel(rule, clean_target)


def _target(target: Any) -> dict[str, Any]:
    if target in (None, {}):
        return {"kind": "all"}
    if not isinstance(target, dict) or target.get("kind") not in TARGET_KINDS:
        raise Invalid(
            "Unknown target.", fields={"target.kind": f"One of {', '.join(TARGET_KINDS)}."}
        )
    unknown = set(target) - {"kind", "values"}
    if unknown:
        raise Invalid("Unknown target keys.", fields={f"target.{k}": "Unknown." for k in unknown})
    if target["kind"] == "all":
        return {"kind": "all"}
    values = target.get("values")
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise Invalid("Which products?", fields={"target.values": "A non-empty list of names."})
    return {"kind": target["kind"], "values": sorted(set(values))}


def _builtin(rule: dict[str, Any], target: dict[str, Any]) -> Compiled:
    unknown_keys = set(rule) - {"builtin", "params"}
    if unknown_keys:
        raise Invalid("Unknown rule keys.", fields={f"rule.{k}": "Unknown." for k in unknown_keys})
    spec = BUILTINS.get(rule["builtin"])
    if spec is None:
        raise Invalid(
            f"Unknown built-in check '{rule['builtin']}'.",
            fields={"rule.builtin": f"One of {', '.join(sorted(BUILTINS))}."},
        )
    given = rule.get("params") or {}
    if not isinstance(given, dict):
        raise Invalid("Parameters are a mapping.", fields={"rule.params": "A mapping."})
    names = {param.name for param in spec.params}
    unknown = set(given) - names
    if unknown:
        raise Invalid(
            "Unknown parameters.",
            fields={
                f"rule.params.{name}": f"{spec.name} takes {sorted(names)}." for name in unknown
            },
        )
    params: dict[str, Any] = {}
    for param in spec.params:
        value = given.get(param.name, param.default)
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if not numeric or (param.kind is int and not isinstance(value, int)):
            raise Invalid(
                "Bad parameter.",
                fields={
                    f"rule.params.{param.name}": "An integer." if param.kind is int else "A number."
                },
            )
        if value < param.minimum:
            raise Invalid(
                "Bad parameter.", fields={f"rule.params.{param.name}": f"At least {param.minimum}."}
            )
        params[param.name] = value
    moments = set(MOMENTS)
    if "run" in spec.needs:
        moments.discard("change")
    if "history" in spec.needs:
        moments -= {"change", "run"}
    return Compiled(target, frozenset(moments), lambda view: spec.check(view, params))


def _cel(rule: dict[str, Any], target: dict[str, Any]) -> Compiled:
    unknown_keys = set(rule) - {"cel", "message"}
    if unknown_keys:
        raise Invalid("Unknown rule keys.", fields={f"rule.{k}": "Unknown." for k in unknown_keys})
    expression, message = rule["cel"], rule.get("message") or "The expression is false."
    if not isinstance(expression, str) or not expression.strip():
        raise Invalid("Empty expression.", fields={"rule.cel": "A CEL expression."})
    if len(expression) > MAX_EXPRESSION:
        raise Invalid("Too long.", fields={"rule.cel": f"At most {MAX_EXPRESSION} characters."})
    if len(_COMPREHENSION.findall(expression)) > MAX_COMPREHENSIONS:
        raise Invalid(
            "Too many comprehensions.",
            fields={"rule.cel": f"At most {MAX_COMPREHENSIONS} of all/exists/map/filter."},
        )
    try:
        program = cel.compile(expression)
    except ValueError as error:
        raise Invalid("The expression does not parse.", fields={"rule.cel": str(error)}) from None
    bound = _comprehension_variables(expression)
    unknown = sorted(set(program.variables()) - VIEW_ROOTS - bound)
    if unknown:
        raise Invalid(
            "The expression reads names the view does not have.",
            fields={
                "rule.cel": f"Unknown: {', '.join(unknown)}; the view has {sorted(VIEW_ROOTS)}."
            },
        )
    read = set(program.variables())
    moments = set(MOMENTS)
    if "run" in read:
        moments.discard("change")
    if "now" in read:
        moments -= {"change", "run"}

    def check(view: View) -> Outcome:
        result = program.execute(view.for_cel())
        if not isinstance(result, bool):
            return Outcome(False, f"The expression gave {type(result).__name__}, not a boolean.")
        return Outcome(result, "The expression holds." if result else str(message))

    return Compiled(target, frozenset(moments), check)


def _comprehension_variables(expression: str) -> set[str]:
    """Names bound by comprehensions (`fields.all(f, …)` binds f): reported as variables."""
    return set(
        re.findall(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_]\w*)", expression)
    )
