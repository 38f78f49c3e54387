"""Label selectors: the string syntax of `?labelSelector=` and the `LabelSelector` object form,
parsed into one matcher so the cache can filter in memory exactly as the server does.

Syntax (comma = AND): `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`,
`k>1`, `k<1`. An empty selector matches everything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(r"\s*(!=|==|=|\(|\)|,|!|>|<|[A-Za-z0-9._/-]+)")


class SelectorError(ValueError):
    pass


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # In, NotIn, Exists, DoesNotExist, Gt, Lt
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        op = self.operator
        if op == "Exists":
            return present
        if op == "DoesNotExist":
            return not present
        if op == "In":
            return present and labels[self.key] in self.values
        if op == "NotIn":
            return not present or labels[self.key] not in self.values
        if op in ("Gt", "Lt"):
            if not present:
                return False
            try:
                have, want = int(labels[self.key]), int(self.values[0])
            except ValueError:
                return False
            return have > want if op == "Gt" else have < want
        raise SelectorError(f"unknown operator {op}")

    def __str__(self) -> str:
        op, key, values = self.operator, self.key, self.values
        if op == "Exists":
            return key
        if op == "DoesNotExist":
            return f"!{key}"
        if op == "In" and len(values) == 1:
            return f"{key}={values[0]}"
        if op == "NotIn" and len(values) == 1:
            return f"{key}!={values[0]}"
        if op in ("Gt", "Lt"):
            return f"{key}{'>' if op == 'Gt' else '<'}{values[0]}"
        return f"{key} {'in' if op == 'In' else 'notin'} ({','.join(sorted(values))})"


@dataclass(frozen=True)
class Selector:
    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    def empty(self) -> bool:
        return not self.requirements

    def __str__(self) -> str:
        return ",".join(str(r) for r in sorted(self.requirements, key=lambda r: r.key))


EVERYTHING = Selector()


def parse(selector: str | None) -> Selector:
    """Parses the string form; raises SelectorError on bad syntax."""
    if not selector or not selector.strip():
        return EVERYTHING
    tokens: list[str] = _TOKEN.findall(selector)
    if "".join(tokens).replace(" ", "") != selector.replace(" ", ""):
        raise SelectorError(f"invalid label selector {selector!r}")
    reqs: list[Requirement] = []
    i = 0

    def take() -> str:
        nonlocal i
        if i >= len(tokens):
            raise SelectorError(f"unexpected end of label selector {selector!r}")
        i += 1
        return tokens[i - 1]

    def value() -> str:
        """The value after ``=``, ``==`` or ``!=``: empty (``k=``) is a value, as in
        Kubernetes (it matches the label ``k`` set to "")."""
        nonlocal i
        if i >= len(tokens) or tokens[i] == ",":
            return ""
        return take()

    while i < len(tokens):
        tok = take()
        if tok == "!":
            reqs.append(Requirement(take(), "DoesNotExist"))
        else:
            key = tok
            nxt = tokens[i] if i < len(tokens) else ","
            if nxt == ",":
                reqs.append(Requirement(key, "Exists"))
            elif nxt in ("=", "=="):
                take()
                reqs.append(Requirement(key, "In", (value(),)))
            elif nxt == "!=":
                take()
                reqs.append(Requirement(key, "NotIn", (value(),)))
            elif nxt in (">", "<"):
                take()
                reqs.append(Requirement(key, "Gt" if nxt == ">" else "Lt", (take(),)))
            elif nxt in ("in", "notin"):
                take()
                if take() != "(":
                    raise SelectorError(f"expected '(' in label selector {selector!r}")
                values: list[str] = []
                while (tok := take()) != ")":
                    if tok != ",":
                        values.append(tok)
                reqs.append(Requirement(key, "In" if nxt == "in" else "NotIn", tuple(values)))
            else:
                raise SelectorError(f"invalid label selector {selector!r} near {nxt!r}")
        if i < len(tokens) and take() != ",":
            raise SelectorError(f"expected ',' in label selector {selector!r}")
    return Selector(tuple(reqs))


def from_label_selector(obj: Mapping[str, Any] | None) -> Selector:
    """From the LabelSelector object form (`matchLabels`, `matchExpressions`)."""
    if not obj:
        return EVERYTHING
    reqs = [Requirement(k, "In", (v,)) for k, v in (obj.get("matchLabels") or {}).items()]
    for expr in obj.get("matchExpressions") or []:
        op = expr["operator"]
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise SelectorError(f"invalid label selector operator {op!r}")
        reqs.append(Requirement(expr["key"], op, tuple(expr.get("values") or ())))
    return Selector(tuple(reqs))


def from_labels(labels: Mapping[str, str]) -> Selector:
    """Equality on every given label (matchLabels)."""
    return Selector(tuple(Requirement(k, "In", (v,)) for k, v in labels.items()))
