"""Many formulas over many concrete states, fast: a z3 formula DAG compiled once into a Python function.

``z3.substitute`` and ``model.eval`` cost milliseconds a formula; learning (:mod:`checks.lemmas`) asks
whether each of a thousand candidates holds in each of tens of thousands of reachable states.  The
compiled function computes every node of the shared DAG once a state, with Python ints for bit-vectors
(masked to their width) and bools for formulas.  It knows the operators the encodings use and refuses
the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import z3

Evaluator = Callable[[Sequence[int]], tuple[int | bool, ...]]

_NARY = {z3.Z3_OP_AND: " and ", z3.Z3_OP_OR: " or ", z3.Z3_OP_BAND: " & ", z3.Z3_OP_BOR: " | "}
_BINARY = {
    z3.Z3_OP_EQ: "==",
    z3.Z3_OP_IFF: "==",
    z3.Z3_OP_XOR: "!=",
    z3.Z3_OP_ULEQ: "<=",
    z3.Z3_OP_ULT: "<",
    z3.Z3_OP_UGEQ: ">=",
    z3.Z3_OP_UGT: ">",
    z3.Z3_OP_BLSHR: ">>",
}


def compile_formulas(formulas: Sequence[z3.ExprRef], leaves: Sequence[z3.ExprRef]) -> Evaluator:
    """A function from the leaves' values (in order; booleans as 0/1) to the formulas' values."""
    slot = {leaf.get_id(): i for i, leaf in enumerate(leaves)}
    names: dict[int, str] = {}
    lines: list[str] = []

    def go(e: z3.ExprRef) -> str:
        key = e.get_id()
        if key in names:
            return names[key]
        if key in slot:
            names[key] = f"v[{slot[key]}]"
            return names[key]
        kind = e.decl().kind()
        args = [go(a) for a in e.children()]
        mask = (1 << e.size()) - 1 if z3.is_bv(e) else 0
        if kind == z3.Z3_OP_TRUE:
            x = "True"
        elif kind == z3.Z3_OP_FALSE:
            x = "False"
        elif kind == z3.Z3_OP_BNUM:
            x = str(e.as_long())
        elif kind in _NARY:
            x = "(" + _NARY[kind].join(args) + ")"
        elif kind in _BINARY:
            x = f"({args[0]} {_BINARY[kind]} {args[1]})"
        elif kind == z3.Z3_OP_NOT:
            x = f"(not {args[0]})"
        elif kind == z3.Z3_OP_IMPLIES:
            x = f"((not {args[0]}) or {args[1]})"
        elif kind == z3.Z3_OP_DISTINCT:
            x = f"(len({{{', '.join(args)}}}) == {len(args)})"
        elif kind == z3.Z3_OP_ITE:
            x = f"({args[1]} if {args[0]} else {args[2]})"
        elif kind == z3.Z3_OP_BADD:
            x = f"(({' + '.join(args)}) & {mask})"
        elif kind == z3.Z3_OP_BMUL:
            x = f"(({' * '.join(args)}) & {mask})"
        elif kind == z3.Z3_OP_BSUB:
            x = f"(({args[0]} - {args[1]}) & {mask})"
        elif kind == z3.Z3_OP_BNEG:
            x = f"((-{args[0]}) & {mask})"
        elif kind == z3.Z3_OP_BNOT:
            x = f"((~{args[0]}) & {mask})"
        elif kind == z3.Z3_OP_BSHL:
            x = f"(({args[0]} << {args[1]}) & {mask})"
        elif kind == z3.Z3_OP_EXTRACT:
            high, low = e.params()
            x = f"(({args[0]} >> {low}) & {(1 << (high - low + 1)) - 1})"
        elif kind == z3.Z3_OP_ZERO_EXT:
            x = args[0]
        elif kind == z3.Z3_OP_CONCAT:
            x, shift = "0", 0
            for a, sub in zip(reversed(args), reversed(e.children()), strict=True):
                x = f"({x} | ({a} << {shift}))"
                shift += sub.size()
        else:
            raise ValueError(f"cannot evaluate {e.decl()} (kind {kind})")
        name = f"t{len(lines)}"
        lines.append(f"    {name} = {x}")
        names[key] = name
        return name

    outs = [go(f) for f in formulas]
    source = "def evaluate(v):\n" + "\n".join(lines) + f"\n    return ({', '.join(outs)},)\n"
    scope: dict[str, Evaluator] = {}
    exec(compile(source, "<checks.evaluate>", "exec"), scope)  # (code generated above from z3 terms)
    return scope["evaluate"]
