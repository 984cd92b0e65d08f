"""The walk of a decoded input against its botocore shape: required members, types, lengths,
ranges, patterns and enums, collected in member order as Coral reports them."""

from dataclasses import dataclass, field
from typing import Any

from botocore.model import Shape
from moto.core.parse import UNDEFINED

from .documented import DOCUMENTED
from .patterns import compiled_pattern
from .scalars import FLOAT_TYPES, INTEGER_TYPES, type_violation, typed_scalar
from .violations import Key, Violation, leaf_member, utf16_length


@dataclass
class Validator:
    """Walks a decoded input against its shape, collecting violations in member order."""

    service: str
    violations: list[Violation] = field(default_factory=list)

    def check_structure(self, shape: Shape, value: Any, path: tuple[str | int, ...]) -> None:
        if shape.metadata.get("document"):
            return
        if not isinstance(value, dict):
            self._type(shape, value, path)
            return
        for name, member in shape.members.items():
            child = value.get(name)
            if child is None:
                if name in shape.required_members:
                    self.violations.append(Violation(path + (name,), name, "required", "Member must not be null"))
                continue
            self.check_value(member, child, path + (name,))

    def check_value(self, shape: Shape, value: Any, path: tuple[str | int, ...]) -> None:
        kind = shape.type_name
        if kind == "structure":
            self.check_structure(shape, value, path)
        elif kind == "list":
            self.check_list(shape, value, path)
        elif kind == "map":
            self.check_map(shape, value, path)
        else:
            for violation in self.check_scalar(shape, value, path):
                self.violations.append(violation)

    def check_list(self, shape: Shape, value: Any, path: tuple[str | int, ...]) -> None:
        if not isinstance(value, list):
            self._type(shape, value, path)
            return
        self._size(shape, value, path)
        if shape.member.type_name in ("structure", "list", "map"):
            for index, item in enumerate(value, start=1):
                if item is not None:
                    self.check_value(shape.member, item, path + (index,))
            return
        self._scalar_members(shape.member, [v for v in value if v is not None], value, path, "Member")

    def check_map(self, shape: Shape, value: Any, path: tuple[str | int, ...]) -> None:
        if not isinstance(value, dict):
            self._type(shape, value, path)
            return
        self._size(shape, value, path)
        self._scalar_members(shape.key, list(value), value, path, "Map keys")
        if shape.value.type_name in ("structure", "list", "map"):
            for key, item in value.items():
                if item is not None:
                    self.check_value(shape.value, item, path + (Key(key),))
        else:
            self._scalar_members(shape.value, [v for v in value.values() if v is not None], value, path, "Map value")

    def _scalar_members(
        self, shape: Shape, items: list[Any], whole: Any, path: tuple[str | int, ...], what: str
    ) -> None:
        """Scalars inside a list or map: a type error is reported as such; any other broken
        rule as Coral does, once, at the collection: ``Member must satisfy constraint: [...]``."""
        for item in items:
            problems = self.check_scalar(shape, item, path)
            typed = [p for p in problems if p.rule == "type"]
            if typed:
                self.violations.extend(typed)
                return
            if problems:
                listed = ", ".join(constraint_texts(shape, self.service))
                self.violations.append(
                    Violation(
                        path,
                        leaf_member(path),
                        problems[0].rule,
                        f"{what} must satisfy constraint: [{listed}]",
                        whole,
                        bool(shape.metadata.get("sensitive")),
                    )
                )
                return

    def _size(self, shape: Shape, value: Any, path: tuple[str | int, ...]) -> None:
        self.violations.extend(length_violations(shape, len(value), value, path, self.service))

    def _type(self, shape: Shape, value: Any, path: tuple[str | int, ...]) -> None:
        self.violations.append(type_violation(shape, value, path))

    def check_scalar(self, shape: Shape, value: Any, path: tuple[str | int, ...]) -> list[Violation]:
        """The violations of one scalar (a type error alone, else every broken rule)."""
        typed = typed_scalar(shape, value)
        if typed is UNDEFINED:
            return [type_violation(shape, value, path)]
        kind = shape.type_name
        sensitive = bool(shape.metadata.get("sensitive"))
        found: list[Violation] = []
        if kind == "string":
            found += pattern_violations(shape, typed, path, self.service)
            found += length_violations(shape, utf16_length(typed), typed, path, self.service)
            enum = shape.enum
            if enum and typed not in enum:
                text = f"Member must satisfy enum value set: [{', '.join(enum)}]"
                found.append(Violation(path, leaf_member(path), "enum", text, typed, sensitive))
        elif kind == "blob":
            found += length_violations(shape, len(typed), typed, path, self.service)
        elif kind in INTEGER_TYPES or kind in FLOAT_TYPES:
            found += range_violations(shape, typed, path)
        return [_with_sensitivity(v, sensitive) for v in found]


def _with_sensitivity(violation: Violation, sensitive: bool) -> Violation:
    if violation.sensitive == sensitive:
        return violation
    return Violation(violation.path, violation.member, violation.rule, violation.constraint, violation.value, sensitive)


def _rules(shape: Shape, path: tuple[str | int, ...], service: str) -> dict[str, Any]:
    """The shape's min/max/pattern, with the documented rules of its member added."""
    rules = {k: shape.metadata[k] for k in ("min", "max", "pattern") if k in shape.metadata}
    rules.update(DOCUMENTED.get((service, leaf_member(path)), {}) if path and isinstance(path[-1], str) else {})
    return rules


def constraint_texts(shape: Shape, service: str, path: tuple[str | int, ...] = ()) -> list[str]:
    """Every constraint of a scalar shape in Coral's words (for a list's or map's members)."""
    rules = _rules(shape, path, service)
    texts: list[str] = []
    numeric = shape.type_name in INTEGER_TYPES or shape.type_name in FLOAT_TYPES
    unit = "value" if numeric else "length"
    if "max" in rules:
        texts.append(f"Member must have {unit} less than or equal to {_number(rules['max'])}")
    if "min" in rules:
        texts.append(f"Member must have {unit} greater than or equal to {_number(rules['min'])}")
    if "pattern" in rules:
        texts.append(f"Member must satisfy regular expression pattern: {rules['pattern']}")
    if getattr(shape, "enum", None):
        texts.append(f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
    return texts


def _number(bound: Any) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


def pattern_violations(shape: Shape, value: str, path: tuple[str | int, ...], service: str) -> list[Violation]:
    pattern = _rules(shape, path, service).get("pattern")
    if pattern is None:
        return []
    compiled = compiled_pattern(pattern)
    if compiled is None or compiled.fullmatch(value):
        return []
    text = f"Member must satisfy regular expression pattern: {pattern}"
    return [Violation(path, leaf_member(path), "pattern", text, value)]


def length_violations(
    shape: Shape, length: int, value: Any, path: tuple[str | int, ...], service: str
) -> list[Violation]:
    rules = _rules(shape, path, service)
    found: list[Violation] = []
    if "min" in rules and length < rules["min"]:
        text = f"Member must have length greater than or equal to {_number(rules['min'])}"
        found.append(Violation(path, leaf_member(path), "min_length", text, value))
    if "max" in rules and length > rules["max"]:
        text = f"Member must have length less than or equal to {_number(rules['max'])}"
        found.append(Violation(path, leaf_member(path), "max_length", text, value))
    return found


def range_violations(shape: Shape, value: float, path: tuple[str | int, ...]) -> list[Violation]:
    found: list[Violation] = []
    if "min" in shape.metadata and value < shape.metadata["min"]:
        text = f"Member must have value greater than or equal to {_number(shape.metadata['min'])}"
        found.append(Violation(path, leaf_member(path), "min_value", text, value))
    if "max" in shape.metadata and value > shape.metadata["max"]:
        text = f"Member must have value less than or equal to {_number(shape.metadata['max'])}"
        found.append(Violation(path, leaf_member(path), "max_value", text, value))
    return found
