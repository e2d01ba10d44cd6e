"""What a candidate declares about itself: features it lacks, and the pooling conventions it follows.

A candidate (a module or any object) may carry two attributes:

* ``CNNREF_UNSUPPORTED``: features it does not support, never drawn.  A set
  applies to every function; a mapping gives them per function (or per group,
  ``"conv"`` / ``"max_pool"``, whose former name ``"pool"`` is accepted too):
  ``{"conv2d": {"groups"}, "max_pool": {"ceil_mode"}}``.
* ``CNNREF_CONVENTIONS``: the pooling semantics it implements on purpose, when
  they are not PyTorch's.  A mapping of convention to value applies to both
  pool functions; a mapping keyed by function or group gives them per
  function: ``{"max_pool2d_backward": {"ties": "split"}}``.

The reference implements every convention, so the candidate is checked
exactly against what it declares.  It imports only the list of ops
(``cnnref.ops``), so the strategies, the properties and the verifier all read it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from .ops import FUNCTIONS, GROUPS, OPS, op_features

CONV, MAX_POOL = GROUPS["conv"], GROUPS["max_pool"]

# The names a candidate may list as unsupported that every op has, and what each turns off.
COMMON_FEATURES: dict[str, str] = {
    "stride": "strides other than 1 in conv2d; in max_pool2d, strides other than kernel_size",
    "dilation": "dilation other than 1",
    "non_square_input": "inputs of different height and width",
    "non_square_geometry": (
        "different height and width values in kernel_size, stride, padding, dilation"
    ),
    "non_contiguous": "inputs that are not C-contiguous (Fortran order, strided and reversed views)",
    "nonfinite_dy": "NaN and +-inf in dy, the gradient the backward functions are given",
    "float32": "float32 inputs (float64 only)",
    "float16": "float16 inputs (IEEE half precision)",
    "bfloat16": "bfloat16 inputs (8 significand bits, float32's exponent range)",
    "subnormal": (
        "half-format inputs among the subnormals (for kernels that flush them to zero, as "
        "oneDNN's bfloat16 convolution does)"
    ),
    "int_arguments": "a plain int for a square kernel_size, stride, padding or dilation",
    "omitted_arguments": "optional arguments left out, so that the function's defaults apply",
}
# The functions that have each feature: an op's own features are its functions' alone.
FEATURE_FUNCTIONS: dict[str, tuple[str, ...]] = {
    "nonfinite_dy": tuple(f for f in FUNCTIONS if f.endswith("_backward")),
}
FEATURES: dict[str, str] = dict(COMMON_FEATURES)
for _op, _group in OPS.items():
    for _name, _meaning in op_features(_op).items():
        FEATURES.setdefault(_name, _meaning)
        FEATURE_FUNCTIONS[_name] = (*FEATURE_FUNCTIONS.get(_name, ()), *GROUPS[_group])


def functions_with(feature: str) -> tuple[str, ...]:
    return FEATURE_FUNCTIONS.get(feature, FUNCTIONS)


# Older names, each standing for the features it turned off before they were split.
ALIASES: dict[str, tuple[str, ...]] = {
    "padding": ("conv_padding", "pool_padding"),
    "non_square": ("non_square_input", "non_square_geometry"),
}


@dataclass(frozen=True)
class Conventions:
    """The pooling semantics a function follows; the defaults are PyTorch CPU's."""

    ties: str = "first"  # max_pool2d_backward: a tied maximum gets all of dY (first) or a share
    nan: str = "propagate"  # NaN is a window's maximum (propagate) or is skipped (ignore)
    pad_value: str = "-inf"  # padding is never read (-inf), or holds zeros or -inf that compete
    windows: str = "partial"  # any geometry (partial), or only windows that tile exactly
    accumulation: str = "float32"  # how a half-format result is summed (docs/tolerances.md)

    def differs_from_pytorch(self) -> dict[str, str]:
        """The conventions that are not PyTorch's, name -> declared value."""
        return {name: value for name, value in self.as_dict().items() if value != PYTORCH[name]}

    def comparable_with_pytorch(self) -> bool:
        """Whether PyTorch computes the same results (``windows`` only narrows the geometries)."""
        return not (set(self.differs_from_pytorch()) - {"windows", "accumulation"})

    def as_dict(self) -> dict[str, str]:
        return {field.name: getattr(self, field.name) for field in fields(self)}

    def describe(self) -> str:
        """``ties=split, nan=ignore`` or "PyTorch's"; for reports."""
        different = self.differs_from_pytorch()
        if not different:
            return "PyTorch's"
        return ", ".join(f"{name}={value}" for name, value in different.items())

    def phrase(self, summary: str) -> str:
        """A property's ``summary`` as it reads under these conventions: what PyTorch does is
        what the declaration says, where it differs."""
        if not self.differs_from_pytorch():
            return summary
        return summary.replace("as PyTorch does", f"as declared ({self.describe()})")

    def pytorch_cannot_judge(self, function: str) -> str:
        """Why PyTorch cannot judge ``function`` under these conventions; empty if it can."""
        relevant = self.reference_options(function)
        different = {name: value for name, value in relevant.items() if value != PYTORCH[name]}
        if not different:
            return ""
        declared = ", ".join(f"{name}={value!r}" for name, value in different.items())
        return (
            f"not checked: the candidate declares {declared} for {function}, which PyTorch does "
            "not follow; the reference checks it under that convention"
        )

    def reference_options(self, function: str) -> dict[str, Any]:
        """Keyword options of the reference's ``function`` that compute under these conventions."""
        options = self.as_dict()
        del options["windows"]  # narrows the geometries drawn; the results are the same
        del options["accumulation"]  # sets the tolerance; the exact results are the same
        if function == "max_pool2d":
            del options["ties"]  # which maximum is routed to does not change the maximum
            if options["nan"] == "first":  # nor which NaN
                options["nan"] = "propagate"
            if options["pad_value"] == "-inf-competes":  # nor -inf padding that never wins
                options["pad_value"] = "-inf"
        return options


PYTORCH_CONVENTIONS = Conventions()
PYTORCH = PYTORCH_CONVENTIONS.as_dict()
# Each convention: its values, PyTorch's first, and what each value means.
CONVENTIONS: dict[str, dict[str, str]] = {
    "ties": {
        "first": "a tie routes all of dY to the first maximum in row-major window order",
        "split": "dY is split evenly between the tied maxima",
    },
    "nan": {
        "propagate": "a window holding NaN has maximum NaN and routes to its last NaN",
        "ignore": "NaN is skipped; a window with nothing but NaN gives NaN and routes nothing",
        "first": "a window holding NaN has maximum NaN and routes to its FIRST NaN (np.argmax: "
        "mygrad, DeZero)",
    },
    "pad_value": {
        "-inf": "padding is never read: it never wins a window",
        "zeros": "padding holds zeros that compete for the maximum; gradient routed there is dropped",
        "-inf-competes": "padding holds -inf values that compete (JAX, Chainer): a window of -inf "
        "only routes to its first tap, padding included, and what the padding wins is dropped",
    },
    "windows": {
        "partial": "any geometry PyTorch accepts, ceil_mode's partial last window included",
        "exact": "only geometries whose windows cover the padded input exactly, nothing left over "
        "(conv2d too: mygrad's conv_nd refuses the rest)",
    },
    "accumulation": {
        "float32": "a float16 or bfloat16 result is summed in float32 and rounded once",
        "half": (
            "partial sums are rounded to the half format as they are added (PyTorch CPU's "
            "float16 backward): judged by the bound of a sum in that format"
        ),
    },
}
# Which functions each convention concerns.
CONVENTION_FUNCTIONS = {
    "ties": ("max_pool2d_backward",),
    "nan": MAX_POOL,
    "pad_value": MAX_POOL,
    "windows": (*MAX_POOL, *CONV),
    "accumulation": FUNCTIONS,
}
# The functions whose results the conventions change (the max pool functions), recorded with
# every result; conv2d's windows only narrows what is drawn, and accumulation, which every
# function has, sets a tolerance (evaluate.py reads it).
WITH_CONVENTIONS = frozenset(MAX_POOL)


def conventions_summary(checked: Iterable[tuple[str, Mapping[str, str] | None]]) -> str:
    """One line for reports: the pooling conventions each function was checked under.

    ``checked``: (function, conventions as ``Conventions.as_dict`` gives them, or None).
    Empty when no pool function was checked.
    """
    per_function: dict[str, str] = {}
    for function, conventions in checked:
        if conventions:
            per_function.setdefault(function, Conventions(**conventions).describe())
    if not per_function:
        return ""
    if all(text == "PyTorch's" for text in per_function.values()):
        defaults = ", ".join(
            f"{name}={value}" for name, value in PYTORCH.items() if name != "accumulation"
        )
        return f"pooling conventions checked: PyTorch's ({defaults})"
    named = "; ".join(f"{function}: {text}" for function, text in per_function.items())
    return f"pooling conventions checked: {named} (the rest PyTorch's)"


def canonical_features(names: object, *, where: str, function: str | None = None) -> frozenset[str]:
    """Validated feature names, aliases expanded; ValueError naming what is unknown.

    ``function``: the names were declared for this function alone, so each must concern it.
    """
    listed = _names(names, where)
    known = sorted(FEATURES) + sorted(ALIASES)
    unknown = sorted(name for name in listed if name not in FEATURES and name not in ALIASES)
    if unknown:
        raise ValueError(f"{where} names unknown features {unknown}; known features: {known}")
    expanded = frozenset(feature for name in listed for feature in ALIASES.get(name, (name,)))
    if function is not None:
        foreign = sorted(
            name for name in listed if name in FEATURES and function not in functions_with(name)
        )
        if foreign:
            own = sorted(name for name in FEATURES if function in functions_with(name))
            raise ValueError(
                f"{where} names {foreign}, which {function} does not have; features of "
                f"{function}: {own}"
            )
        expanded = frozenset(f for f in expanded if function in functions_with(f))
    return expanded


def check_features(unsupported: object) -> frozenset[str]:
    """Validate one set of feature names (aliases expanded), as ``CNNREF_UNSUPPORTED`` lists them."""
    return canonical_features(unsupported, where="CNNREF_UNSUPPORTED")


@dataclass(frozen=True)
class Declarations:
    """A candidate's declarations, validated: per function, its unsupported features and conventions."""

    unsupported: Mapping[str, frozenset[str]]
    conventions: Mapping[str, Conventions]

    def unsupported_for(self, *functions: str) -> frozenset[str]:
        """The features not drawn for a property that calls ``functions``."""
        return frozenset().union(*(self.unsupported.get(f, frozenset()) for f in functions))

    def conventions_for(self, function: str) -> Conventions:
        return self.conventions.get(function, Conventions())

    def also_unsupported(self, features: Iterable[str]) -> Declarations:
        """These declarations with ``features`` unsupported too, by every function that has them."""
        unsupported = {
            function: self.unsupported.get(function, frozenset())
            | {feature for feature in features if function in functions_with(feature)}
            for function in FUNCTIONS
        }
        return Declarations(unsupported, self.conventions)

    def as_dict(self) -> dict[str, dict]:
        """Per function: ``unsupported`` (sorted) and ``conventions`` (all four, pool functions only)."""
        return {
            function: {"unsupported": sorted(self.unsupported.get(function, ()))}
            | (
                {"conventions": self.conventions_for(function).as_dict()}
                if function in MAX_POOL
                else {}
            )
            for function in FUNCTIONS
        }


NOTHING_DECLARED = Declarations({}, {})
# Where the feature and convention names are listed, for the errors that name them.
NAMES_TABLE = "docs/adapters.md#feature-and-convention-names"


def enforce(
    declared: Declarations,
    *,
    strict: bool = False,
    require: Iterable[str] = (),
    excused: Iterable[str] = (),
) -> tuple[Declarations, dict[str, list[str]]]:
    """The declarations a grader's run honours, and per function why the rest fail it.

    ``strict``: none are honoured; every feature is drawn and PyTorch's conventions
    apply.  ``require``: these features are drawn whatever was declared (canonical
    names, ``canonical_features``).  ``excused`` features stay honoured either way (a
    program in another language cannot be sent Python's spellings).
    """
    require, excused = frozenset(require), frozenset(excused)
    if not strict and not require:
        return declared, {}
    reasons: dict[str, list[str]] = {}
    honoured: dict[str, frozenset[str]] = {}
    rule = "--strict requires every feature" if strict else "--require requires it"
    for function in FUNCTIONS:
        own = declared.unsupported.get(function, frozenset())
        away = sorted((own if strict else own & require) - excused)
        honoured[function] = own - frozenset(away)
        if away:
            names = ", ".join(repr(name) for name in away)
            reasons.setdefault(function, []).append(
                f"CNNREF_UNSUPPORTED declares {names} unsupported for {function}; {rule}"
            )
    conventions = dict(declared.conventions)
    if strict:
        for function, chosen in declared.conventions.items():
            if chosen.differs_from_pytorch():
                reasons.setdefault(function, []).append(
                    f"CNNREF_CONVENTIONS declares {chosen.describe()} for {function}; "
                    "--strict checks PyTorch's conventions"
                )
        conventions = {}
    return Declarations(honoured, conventions), reasons


def parse(unsupported: object = (), conventions: object = None) -> Declarations:
    """``Declarations`` from the raw ``CNNREF_UNSUPPORTED`` and ``CNNREF_CONVENTIONS`` values.

    ValueError, naming the attribute, the function and the valid choices, for anything wrong,
    and where the names are explained.
    """
    try:
        return Declarations(_parse_unsupported(unsupported), _parse_conventions(conventions))
    except ValueError as error:
        raise ValueError(f"{error} (every name, and what it turns off: {NAMES_TABLE})") from None


def read(candidate: object) -> Declarations:
    """The declarations an object or module carries (``CNNREF_UNSUPPORTED``, ``CNNREF_CONVENTIONS``)."""
    return parse(
        getattr(candidate, "CNNREF_UNSUPPORTED", ()), getattr(candidate, "CNNREF_CONVENTIONS", None)
    )


def declare(
    candidate: Any,
    *,
    unsupported: object = (),
    conventions: object = None,
) -> Any:
    """Set ``CNNREF_UNSUPPORTED`` / ``CNNREF_CONVENTIONS`` on ``candidate``, validated first; returns it.

    For adapters and objects built in code: ``declare(layers, conventions={"ties": "split"})``.
    """
    parse(unsupported, conventions)  # ValueError now, where the mistake is made
    candidate.CNNREF_UNSUPPORTED = unsupported
    candidate.CNNREF_CONVENTIONS = conventions
    return candidate


def _parse_unsupported(raw: object) -> dict[str, frozenset[str]]:
    if raw is None:  # nothing declared (a process that does not send the field)
        return {}
    if isinstance(raw, Mapping):
        found: dict[str, frozenset[str]] = {}
        for key, names in _per_function(raw, "CNNREF_UNSUPPORTED").items():
            for function in GROUPS.get(key, (key,)):
                where = f"CNNREF_UNSUPPORTED[{key!r}]"
                found[function] = found.get(function, frozenset()) | canonical_features(
                    names, where=where, function=function
                )
        return found
    everywhere = check_features(raw)
    return {
        function: frozenset(f for f in everywhere if function in functions_with(f))
        for function in FUNCTIONS
    }


def _parse_conventions(raw: object) -> dict[str, Conventions]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ValueError(
            f"CNNREF_CONVENTIONS must be a dict such as {{'ties': 'split'}}; got {type(raw).__name__}"
        )
    if raw and all(key in CONVENTIONS for key in raw):
        # A flat mapping: each convention for every function it concerns.
        flat: dict[str, dict] = {}
        for name, value in raw.items():
            for function in CONVENTION_FUNCTIONS[name]:
                flat.setdefault(function, {})[name] = value
        raw = flat
    chosen: dict[str, dict[str, str]] = {}
    for key, values in _per_function(raw, "CNNREF_CONVENTIONS").items():
        where = f"CNNREF_CONVENTIONS[{key!r}]"
        if not isinstance(values, Mapping):
            raise ValueError(
                f"{where} must be a dict of convention -> value; got {type(values).__name__}"
            )
        for name, value in values.items():
            if name not in CONVENTIONS:
                raise ValueError(
                    f"{where} names unknown convention {name!r}; known conventions: {sorted(CONVENTIONS)}"
                )
            if value not in CONVENTIONS[name]:
                raise ValueError(
                    f"{where}: {name} must be one of {list(CONVENTIONS[name])}; got {value!r}"
                )
            concerned = CONVENTION_FUNCTIONS[name]
            targets = [f for f in GROUPS.get(key, (key,)) if f in concerned]
            if not targets:
                raise ValueError(
                    f"{where}: {name} is a convention of {', '.join(concerned)} only, not of {key}"
                )
            for function in targets:
                chosen.setdefault(function, {})[name] = value
    return {function: Conventions(**values) for function, values in chosen.items()}


def _per_function(raw: Mapping, where: str) -> dict[str, object]:
    known = [*FUNCTIONS, *GROUPS]
    for key in raw:
        if key not in known:
            raise ValueError(f"{where} has a key {key!r} that is no function; keys: {known}")
    return dict(raw)


def _names(names: object, where: str) -> list[str]:
    if isinstance(names, str) or not isinstance(names, Iterable):
        raise ValueError(
            f"{where} must be a set of feature names such as {{'groups'}}; got {names!r}"
        )
    names = list(names)
    if not all(isinstance(name, str) for name in names):
        raise ValueError(f"{where} must hold feature names (strings); got {names!r}")
    return names
