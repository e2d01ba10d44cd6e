"""The calls cnnref makes to a candidate's functions, and whether a function's signature can
take them: a wrong signature is one line at load time, not a failure of every property.

``expected_calls`` runs in the verifier (it reads the reference's signatures);
``signature_problem`` runs where the candidate is imported, which may be its own lean process.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable


def expected_calls(functions: Iterable[str]) -> dict[str, dict]:
    """How cnnref calls each function: its arrays positionally (the operands, the reference's
    leading array parameters), then its geometry by keyword (the reference's other parameters
    that a caller may name; keyword-only ones are the reference's own options)."""
    import cnnref

    calls = {}
    for name in functions:
        parameters = list(inspect.signature(getattr(cnnref, name)).parameters.values())
        named = [p for p in parameters if p.kind == p.POSITIONAL_OR_KEYWORD]
        operands = 0
        while operands < len(named) and "ndarray" in str(named[operands].annotation):
            operands += 1
        calls[name] = {
            "operands": [p.name for p in named[:operands]],
            "keywords": [p.name for p in named[operands:]],
        }
    return calls


def signature_problem(name: str, function: Callable, call: dict | None) -> str | None:
    """Why ``function`` cannot take ``call`` (one of ``expected_calls``), or None when it can,
    or its signature cannot be read (a C function: its calls will tell)."""
    if not call:
        return None
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    try:
        signature.bind(*call["operands"], **dict.fromkeys(call["keywords"]))
    except TypeError as error:
        expected = ", ".join([*call["operands"], *(f"{k}=..." for k in call["keywords"])])
        return f"{name}{signature} cannot take cnnref's calls, {name}({expected}): {error}"
    return None
