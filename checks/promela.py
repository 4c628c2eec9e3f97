"""The Promela model of one configuration, for SPIN, generated from the rules in ``spec/``.

Nothing of the protocol is written here, and no ``.pml`` file is kept: the rules
are compiled into the transition relation of :mod:`checks.symbolic` (the same
z3 terms that BMC and induction use, cross-checked against the explicit engine
state by state), and each branch of that relation becomes one guarded command
of a single Promela process::

    do
    :: d_step { c_expr { (B17(0, 1, 0u)) } -> c_code { B17(1, 1, 0u); }; CHECK }
    ...
    od

``B17`` is a C function, embedded with ``c_code``, that evaluates branch 17's
guard (``apply`` = 0) or performs it (``apply`` = 1) for one choice of channel
slot and ISS.  The guard and the updates are the branch's z3 terms written as
C: every bit-vector is a ``uint32_t`` masked to its width, so sequence numbers
are unsigned and modular and the §3.4 comparisons read the sign bit of a
32-bit difference, exactly as :mod:`spec.seqnum` says.  Embedded C is used
because a guard is one expression in Promela, and written out as one the
branch guards of larger presets run to tens of thousands of nodes; in C they
are short sequences of shared temporaries.  Each command's comment names the
rules its branch applies and their RFC 9293 sections.

The state vector is the bounded state of :mod:`checks.symstate`, one Promela
variable per leaf (``A_snd_nxt``, ``AB_0_seq``...), kept canonical after every
step (unused slots blank, segments in a reordering channel and held segments
sorted), so that SPIN stores exactly one state per state of the explicit engine.

The safety properties are assertions on flags computed from the formulas of
:mod:`checks.symprops`: the state properties by a first guarded command that is
enabled only in a state that violates one (so each state is checked once), the
properties of transitions by the step itself; no-deadlock by a last command,
enabled by SPIN's ``timeout`` (no other command is), that asserts a proper
final state.  ``TCPSPEC_PROPERTIES`` (a bit
mask in the environment of ``pan``) selects which of them are checked, so that
one compiled ``pan`` serves every property.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import z3

from checks.properties import (
    DETERMINISM,
    GRACEFUL_CLOSE,
    HANDSHAKE_SYNC,
    NO_DEADLOCK,
    NO_OLD_DUPLICATES,
    ONE_CONNECTION_PER_OPEN,
    RFC_CONFORMANCE,
    STREAM_INTEGRITY,
    Property,
)
from checks.symbolic import Branch, Relation
from checks.symprops import (
    graceful_close,
    handshake_sync,
    old_duplicate_in,
    one_connection_per_open,
    proper_final,
    stream_integrity,
)
from checks.symstate import Held, Slots, SymEndpoint, SymSegment, SymWorld
from checks.terms import SEQ_BITS, Term
from spec.config import Config
from spec.rules import Rule

#: The properties the Promela model checks, in the order of their bits in ``TCPSPEC_PROPERTIES``.
CHECKED: tuple[Property, ...] = (
    HANDSHAKE_SYNC,
    STREAM_INTEGRITY,
    GRACEFUL_CLOSE,
    NO_OLD_DUPLICATES,
    RFC_CONFORMANCE,
    DETERMINISM,
    NO_DEADLOCK,
    ONE_CONNECTION_PER_OPEN,
)
#: The longest C expression written inline; a longer one is a temporary (statements stay short).
INLINE_LIMIT = 2_000
#: The most nodes of a term written inline in a guard's first test (see CTerms.necessary).
SMALL_TERM = 12
#: The most C that SPIN reads in one c_code block (its limit is 64 KiB).
C_BLOCK_LIMIT = 60_000


def flag(prop: Property) -> str:
    """The C name of a property's violation bit: ``V_handshake_sync``."""
    return "V_" + prop.name.replace("-", "_")


@dataclass(frozen=True)
class Option:
    """One guarded command of the model: a branch of the relation with its channel slot and ISS."""

    line: int  # its line in the model (pan's trails name a d_step by its line)
    branch: int  # index into Relation.branches
    idx: int  # the channel slot it takes (0 if the branch takes none)
    iss: int  # the ISS it selects (0 if it selects none)


@dataclass
class PromelaModel:
    """A generated model and what is needed to read SPIN's answers about it."""

    config: Config
    relation: Relation
    text: str
    options: dict[int, Option]  # by line
    leaves: tuple[str, ...]  # the Promela variables, in the order of SymWorld.leaves()
    guess_line: int | None = None  # the liveness model: the line of the command that starts the monitor


# --- Names ------------------------------------------------------------------------------------------


def leaf_name(z3_name: str) -> str:
    """The Promela variable of a symstate leaf: ``A>B[0].seq@cur`` is ``AB_0_seq``."""
    name = z3_name.split("@", 1)[0].replace(">", "")
    name = re.sub(r"\[(\d+)\]", r"_\1", name).replace(".", "_")
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
        raise ValueError(f"cannot name the state variable {z3_name!r} in Promela")
    return name


def _width(t: Term) -> int | None:
    return t.e.size() if z3.is_bv(t.e) else None


def _promela_type(width: int | None) -> str:
    if width is None:
        return "bit"
    if width <= 8:
        return "byte"
    return "int"  # 32 bits: C reads it back as uint32_t


# --- z3 terms as C ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """A z3 term, read once: its operation, its arguments (node numbers), its width (1 for a boolean)."""

    kind: int
    args: tuple[int, ...]
    width: int
    arg_widths: tuple[int, ...]
    value: int | str | tuple[int, int] | None  # a number, a constant's name, or extract's (hi, lo)


class CTerms:
    """Writes z3 terms as C expressions over ``uint32_t``, naming shared subterms.

    Every z3 term is read once into a :class:`Node` (z3's Python API is slow to walk, and the
    branches share most of their terms).  ``names`` maps each z3 constant (by name) to the C
    that reads it.  Within one function, :meth:`prepare` counts how often each subterm is used;
    :meth:`expr` then writes the temporaries a term needs (into ``lines``) and returns its C.
    """

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.nodes: list[Node] = []
        self._number: dict[int, int] = {}  # z3 id -> node number
        self._alive: list[z3.ExprRef] = []  # z3 reuses the id of a freed term: keep every numbered one
        self.lines: list[str] = []
        self._done: dict[int, str] = {}
        self._uses: dict[int, int] = {}
        self._count = 0
        self._necessary_of: dict[int, str | None] = {}
        self._size_of: dict[int, int] = {}

    def node(self, e: z3.ExprRef) -> int:
        """The number of ``e``'s node (reading it, and what it is made of, if new)."""
        top = e.get_id()
        if top in self._number:
            return self._number[top]
        stack: list[tuple[z3.ExprRef, int, list[z3.ExprRef] | None]] = [(e, top, None)]
        while stack:
            x, k, kids = stack.pop()
            if k in self._number:
                continue
            if kids is None:
                kids = x.children()
                stack.append((x, k, kids))
                stack.extend((c, c.get_id(), None) for c in kids if c.get_id() not in self._number)
                continue
            args = tuple(self._number[c.get_id()] for c in kids)
            self._alive.append(x)
            self._number[k] = len(self.nodes)
            self.nodes.append(self._read(x, args))
        return self._number[top]

    def _read(self, x: z3.ExprRef, args: tuple[int, ...]) -> Node:
        kind = x.decl().kind()
        width = x.size() if z3.is_bv(x) else 1
        value: int | str | tuple[int, int] | None = None
        if z3.is_bv_value(x):
            value = x.as_long()
        elif kind == z3.Z3_OP_UNINTERPRETED:
            value = str(x.decl().name())
        elif kind == z3.Z3_OP_EXTRACT:
            hi, lo = x.params()
            value = (hi, lo)
        arg_widths = tuple(self.nodes[a].width for a in args)
        return Node(kind, args, width, arg_widths, value)

    def prepare(self, roots: Iterable[z3.ExprRef]) -> list[int]:
        """Count the parents of every subterm of ``roots``, for one function; returns the roots' nodes."""
        self.lines, self._done, self._uses, self._count = [], {}, {}, 0
        tops = [self.node(r) for r in roots]
        seen: set[int] = set()
        stack = list(tops)
        for r in tops:
            self._uses[r] = self._uses.get(r, 0) + 2  # a root is always named
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            for a in self.nodes[n].args:
                self._uses[a] = self._uses.get(a, 0) + 1
                stack.append(a)
        return tops

    def constants(self, roots: Iterable[z3.ExprRef]) -> set[str]:
        """The names of the z3 constants that ``roots`` read."""
        out: set[str] = set()
        seen: set[int] = set()
        stack = [self.node(r) for r in roots]
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            node = self.nodes[n]
            if node.kind == z3.Z3_OP_UNINTERPRETED and isinstance(node.value, str):
                out.add(node.value)
            stack.extend(node.args)
        return out

    def necessary(self, e: z3.ExprRef) -> str | None:
        """A short C condition that ``e`` implies (None: nothing short), written inline without temporaries.

        C computes a temporary as soon as it is declared, so a guard written with temporaries
        costs all of itself even where its first conjunct (``A_state == 3``) fails, as most do.
        This is that first test: the small conjuncts of the guard, through its And and Or.
        """
        return self._necessary(self.node(e))

    def _necessary(self, n: int) -> str | None:
        if n in self._necessary_of:
            return self._necessary_of[n]
        node = self.nodes[n]
        text: str | None
        if node.kind == z3.Z3_OP_AND:
            parts = [p for p in (self._necessary(a) for a in node.args) if p is not None]
            text = "(" + " && ".join(parts) + ")" if parts else None
        elif node.kind == z3.Z3_OP_OR:
            alternatives = [self._necessary(a) for a in node.args]
            text = None if any(p is None for p in alternatives) else "(" + " || ".join(alternatives) + ")"  # type: ignore[arg-type]
        else:
            text = self._small(n)
        if text is not None and len(text) > INLINE_LIMIT:
            text = None
        self._necessary_of[n] = text
        return text

    def _size(self, n: int) -> int:
        """The size of ``n`` as a tree, counted up to SMALL_TERM + 1."""
        if n not in self._size_of:
            total = 1
            for a in self.nodes[n].args:
                total += self._size(a)
                if total > SMALL_TERM:
                    break
            self._size_of[n] = min(total, SMALL_TERM + 1)
        return self._size_of[n]

    def _small(self, n: int) -> str | None:
        """``n`` written inline if it has at most SMALL_TERM nodes (as a tree), else None."""
        if self._size(n) > SMALL_TERM:
            return None
        node = self.nodes[n]
        return self._write(node, [self._small(a) or "" for a in node.args])

    def expr(self, e: z3.ExprRef) -> str:
        """The C expression for ``e``; shared subterms become temporaries in ``lines``."""
        return self._expr(self.node(e))

    def _expr(self, top: int) -> str:
        order: list[int] = []
        stack: list[tuple[int, bool]] = [(top, False)]
        visiting: set[int] = set()
        while stack:  # post-order, without recursion (If chains run deep)
            n, expanded = stack.pop()
            if n in self._done:
                continue
            if expanded:
                order.append(n)
                continue
            if n in visiting:
                continue
            visiting.add(n)
            stack.append((n, True))
            stack.extend((a, False) for a in reversed(self.nodes[n].args) if a not in self._done)
        inline: dict[int, str] = {}
        for n in order:
            if n in self._done or n in inline:
                continue
            node = self.nodes[n]
            text = self._write(node, [self._done.get(a) or inline[a] for a in node.args])
            if node.args and (self._uses.get(n, 0) > 1 or len(text) > INLINE_LIMIT):
                self._count += 1
                name = f"t{self._count}"
                self.lines.append(f"uint32_t {name} = {text};")
                self._done[n] = name
            else:
                inline[n] = text
        return self._done.get(top) or inline[top]

    def _write(self, node: Node, args: list[str]) -> str:
        kind, width = node.kind, node.width
        mask = (1 << width) - 1
        if kind == z3.Z3_OP_TRUE:
            return "1"
        if kind == z3.Z3_OP_FALSE:
            return "0"
        if kind == z3.Z3_OP_BNUM:
            return f"{node.value}u"
        if kind == z3.Z3_OP_UNINTERPRETED and not node.args:
            assert isinstance(node.value, str)
            if node.value not in self.names:
                raise ValueError(f"no C name for the z3 constant {node.value}")
            return self.names[node.value]

        def masked(text: str) -> str:  # every result in parentheses: it may be an operand of anything
            return f"({text})" if width == 32 else f"(({text}) & {mask}u)"

        def signed(text: str, w: int) -> str:  # two's complement order as unsigned order
            return f"(({text}) ^ {1 << (w - 1)}u)"

        if kind in _ARITHMETIC:
            return masked(f" {_ARITHMETIC[kind]} ".join(args))
        if kind in _BITWISE:
            return "(" + f" {_BITWISE[kind]} ".join(args) + ")"
        if kind in _COMPARE:
            return f"({args[0]} {_COMPARE[kind]} {args[1]})"
        if kind in _SIGNED_COMPARE:
            w = node.arg_widths[0]
            return f"({signed(args[0], w)} {_SIGNED_COMPARE[kind]} {signed(args[1], w)})"
        if kind == z3.Z3_OP_BNOT:
            return masked(f"~({args[0]})")
        if kind == z3.Z3_OP_BNEG:
            return masked(f"-({args[0]})")
        if kind == z3.Z3_OP_AND:
            return "(" + " && ".join(args) + ")" if args else "1"
        if kind == z3.Z3_OP_OR:
            return "(" + " || ".join(args) + ")" if args else "0"
        if kind == z3.Z3_OP_NOT:
            return f"!({args[0]})"
        if kind == z3.Z3_OP_IMPLIES:
            return f"(!{args[0]} || {args[1]})"
        if kind in (z3.Z3_OP_XOR, z3.Z3_OP_DISTINCT) and len(args) == 2:
            return f"({args[0]} != {args[1]})"
        if kind == z3.Z3_OP_EQ:
            return f"({args[0]} == {args[1]})"
        if kind == z3.Z3_OP_ITE:
            return f"({args[0]} ? {args[1]} : {args[2]})"
        if kind == z3.Z3_OP_EXTRACT:
            assert isinstance(node.value, tuple)
            lo = node.value[1]
            return masked(f"({args[0]}) >> {lo}") if lo else masked(args[0])
        if kind == z3.Z3_OP_ZERO_EXT:
            return args[0]
        if kind == z3.Z3_OP_SIGN_EXT:
            sign = 1 << (node.arg_widths[0] - 1)
            return masked(f"({args[0]} ^ {sign}u) - {sign}u")
        if kind == z3.Z3_OP_CONCAT:
            text, shift = args[-1], node.arg_widths[-1]
            for i in range(len(args) - 2, -1, -1):
                text = f"({args[i]} << {shift}) | {text}"
                shift += node.arg_widths[i]
            return masked(text)
        raise ValueError(f"the Promela export cannot write the z3 operation number {kind}")


_ARITHMETIC = {z3.Z3_OP_BADD: "+", z3.Z3_OP_BSUB: "-", z3.Z3_OP_BMUL: "*"}
_BITWISE = {z3.Z3_OP_BAND: "&", z3.Z3_OP_BOR: "|", z3.Z3_OP_BXOR: "^"}
_COMPARE = {z3.Z3_OP_ULT: "<", z3.Z3_OP_ULEQ: "<=", z3.Z3_OP_UGT: ">", z3.Z3_OP_UGEQ: ">="}
_SIGNED_COMPARE = {z3.Z3_OP_SLT: "<", z3.Z3_OP_SLEQ: "<=", z3.Z3_OP_SGT: ">", z3.Z3_OP_SGEQ: ">="}


# --- The model --------------------------------------------------------------------------------------


def _zname(t: Term) -> str:
    """The z3 name of a state leaf."""
    return str(t.e.decl().name())


class Generator:
    """Writes the Promela model of a relation."""

    def __init__(self, rel: Relation) -> None:
        self.rel = rel
        self.config = rel.config
        world = rel.cur.world
        self.world = world
        self.leaves = world.leaves()
        self.names = {_zname(t): f"now.{leaf_name(_zname(t))}" for t in self.leaves}
        for t in self.leaves:
            if _width(t) == SEQ_BITS:
                self.names[_zname(t)] = f"((uint32_t) now.{leaf_name(_zname(t))})"
        self.names[_zname(rel.cur.idx)] = "idx"
        self.names[_zname(rel.cur.iss)] = "iss"
        self.initial = SymWorld.of(rel.machine.initial(), rel.bounds).leaves()

    # --- pieces of C ---------------------------------------------------------------------------------

    def _assign(self, t: Term, value: str) -> str:
        name = leaf_name(_zname(t))
        return f"now.{name} = {'(int) ' if _width(t) == SEQ_BITS else ''}{value};"

    def _blank(self, t: Term) -> str:
        """C that gives leaf ``t`` its value in a blank slot (the initial state has every slot blank)."""
        i = next(k for k, leaf in enumerate(self.leaves) if leaf.e.eq(t.e))
        value = self.initial[i]
        v = int(z3.is_true(value.e)) if z3.is_bool(value.e) else value.e.as_long()
        return self._assign(t, f"{v}u")

    def canonical(self) -> list[str]:
        """C functions that keep the state canonical: blank unused slots, sorted sets."""
        out = [
            "typedef struct { uint32_t f[6]; } Seg;",
            "static int seg_before(const Seg *s, const Seg *t) {",
            "  for (int i = 0; i < 6; i++) { if (s->f[i] != t->f[i]) return s->f[i] < t->f[i]; }",
            "  return 0;",
            "}",
            "static void seg_sort(Seg *s, int n) {  /* insertion sort: at most a few slots */",
            "  for (int i = 1; i < n; i++) {",
            "    Seg x = s[i]; int j = i - 1;",
            "    while (j >= 0 && seg_before(&x, &s[j])) { s[j + 1] = s[j]; j--; }",
            "    s[j + 1] = x;",
            "  }",
            "}",
        ]
        body: list[str] = []
        reorder = self.config.reorder
        for label, chan in (("AB", self.world.ab), ("BA", self.world.ba)):
            out += self._canon_list(f"canon_{label}", chan.items, leaf_name(_zname(chan.length)), reorder)
            body.append(f"canon_{label}();")
        for side, ep in (("A", self.world.a), ("B", self.world.b)):
            if ep.held.items:
                out += self._canon_held(f"canon_{side}_held", ep.held)
                body.append(f"canon_{side}_held();")
            out += self._canon_records(f"canon_{side}_records", ep)
            body.append(f"canon_{side}_records();")
        out.append("static void canonical(void) {")
        out += ["  " + b for b in body]
        out.append("}")
        return out

    def _load(self, segs: Sequence[SymSegment], into: str) -> list[str]:
        lines = []
        for i, s in enumerate(segs):
            for j, t in enumerate(s.leaves()):
                lines.append(f"  {into}[{i}].f[{j}] = (uint32_t) now.{leaf_name(_zname(t))};")
        return lines

    def _store(self, segs: Sequence[SymSegment], source: str) -> list[str]:
        lines = []
        for i, s in enumerate(segs):
            for j, t in enumerate(s.leaves()):
                lines.append("  " + self._assign(t, f"{source}[{i}].f[{j}]"))
        return lines

    def _canon_list(self, fn: str, segs: list[SymSegment], length: str, sort: bool) -> list[str]:
        n = len(segs)
        lines = [f"static void {fn}(void) {{", f"  Seg s[{max(n, 1)}]; int n = now.{length};"]
        lines += self._load(segs, "s")
        if sort:
            lines.append("  seg_sort(s, n);")
        lines.append(f"  for (int i = n; i < {n}; i++) {{ s[i] = (Seg) {{{{0, 0, 0, 0, 0, 0}}}}; }}")
        lines += self._store(segs, "s")
        lines.append("}")
        return lines

    def _canon_held(self, fn: str, held: Held) -> list[str]:
        n = len(held.items)
        lines = [f"static void {fn}(void) {{", f"  Seg s[{n}]; Seg kept[{n}]; int k = 0;"]
        lines += self._load(held.items, "s")
        for i, p in enumerate(held.present):
            lines.append(f"  if (now.{leaf_name(_zname(p))}) kept[k++] = s[{i}];")
        lines.append("  seg_sort(kept, k);")
        lines.append(f"  for (int i = k; i < {n}; i++) {{ kept[i] = (Seg) {{{{0, 0, 0, 0, 0, 0}}}}; }}")
        lines += self._store(held.items, "kept")
        for i, p in enumerate(held.present):
            lines.append(f"  now.{leaf_name(_zname(p))} = {i} < k;")
        lines.append("}")
        return lines

    def _canon_records(self, fn: str, ep: SymEndpoint) -> list[str]:
        """Blank the unused slots of delivered data and ended incarnations (and theirs)."""
        lines = [f"static void {fn}(void) {{"]

        def slots(s: Slots, indent: str) -> None:
            length = leaf_name(_zname(s.length))
            for i, item in enumerate(s.items):
                parts = list(item) if isinstance(item, tuple) else item.leaves()
                blanks = " ".join(self._blank(t) for t in parts)
                lines.append(f"{indent}if (now.{length} <= {i}) {{ {blanks} }}")

        slots(ep.delivered, "  ")
        slots(ep.history, "  ")
        for i, e in enumerate(ep.history.items):
            lines.append(f"  if (now.{leaf_name(_zname(ep.history.length))} > {i}) {{")
            slots(e.delivered, "    ")
            lines.append("  }")
        lines.append("}")
        return lines

    def state_checks(self, c: CTerms) -> list[str]:
        """``state_bits()``: the violation bits of the wanted state properties, on the current state."""
        rel = self.rel
        w = rel.cur.world
        formulas = [
            (HANDSHAKE_SYNC, z3.Not(handshake_sync(w))),
            (STREAM_INTEGRITY, z3.Not(stream_integrity(w))),
            (GRACEFUL_CLOSE, z3.Not(graceful_close(w))),
            (ONE_CONNECTION_PER_OPEN, z3.Not(one_connection_per_open(w))),
        ]
        out = ["static unsigned int state_bits(void) {", "  unsigned int bits = 0;", "  if (!ready) want();"]
        c.prepare([f for _, f in formulas])
        exprs = [(p, c.expr(f)) for p, f in formulas]
        out += ["  " + line for line in c.lines]
        for p, text in exprs:
            out.append(f"  if ({text}) bits |= {flag(p)};")
        out.append(f"  if ((wanted & {flag(DETERMINISM)}) && problem()) bits |= {flag(DETERMINISM)};")
        out.append(f"  if (now.{leaf_name(_zname(w.overflow))}) bits |= V_bounds;")
        out += ["  return bits & wanted;", "}"]
        return out

    def final_check(self) -> list[str]:
        """``proper_final()``: nothing is in flight, and each user has finished or waits in LISTEN."""
        c = CTerms(self.names)
        formula = proper_final(self.rel.cur.world, self.config)
        c.prepare([formula])
        text = c.expr(formula)
        return ["static int proper_final(void) {", *["  " + line for line in c.lines], f"  return {text};", "}"]

    def problem(self, c: CTerms) -> list[list[str]]:
        """``problem()``: some event meets ambiguous or incomplete rules, for some slot and ISS.

        The problems are grouped by their first test (the RFC state of the endpoint whose event
        it is, and ``CTerms.necessary``); a group's whole condition is computed only where its
        test holds.
        """
        rel = self.rel
        groups: dict[str, list[z3.BoolRef]] = {}
        for p in rel.problems:
            tests = []
            if p.state is not None:
                tests.append(f"(now.{'AB'[p.side]}_state == {int(p.state)}u)")
            tests.append(c.necessary(p.cond) or "1")
            groups.setdefault(" && ".join(tests), []).append(p.cond)
        functions: list[list[str]] = []
        calls = []
        for g, (first, conds) in enumerate(sorted(groups.items())):
            anything = z3.Or(*conds)
            c.prepare([anything])
            text = c.expr(anything)
            functions.append(
                [
                    f"static int problem_{g}(uint32_t idx, uint32_t iss) {{",
                    *["  " + x for x in c.lines],
                    f"  return {text};",
                    "}",
                ]
            )
            calls.append(f"  if ({first} && problem_{g}(idx, iss)) return 1;")
        functions.append(["static int problem_at(uint32_t idx, uint32_t iss) {", *calls, "  return 0;", "}"])
        values = self.iss_values()
        functions.append(
            [
                "static int problem(void) {",
                f"  static const uint32_t choices[] = {{{', '.join(f'{v}u' for v in values)}}};",
                f"  for (uint32_t idx = 0; idx < {max(1, rel.bounds.channel)}; idx++) {{",
                f"    for (int k = 0; k < {len(values)}; k++) {{ if (problem_at(idx, choices[k])) return 1; }}",
                "  }",
                "  return 0;",
                "}",
            ]
        )
        return functions

    def iss_values(self, side: int | None = None) -> list[int]:
        """The ISS values endpoint ``side`` may select (both endpoints' if None)."""
        sides = (self.config.a, self.config.b) if side is None else (self.config.endpoint(side),)
        values = {v for ep in sides for inc in ep.iss for v in inc}
        return sorted(values) or [0]

    def branch_function(self, k: int, b: Branch, c: CTerms) -> list[str]:
        """``B<k>(apply, idx, iss)``: branch ``k``'s guard, or (apply) the step itself."""
        rel = self.rel
        cur = rel.cur.world
        updates: list[tuple[Term, z3.ExprRef]] = []
        cur_leaves = cur.a.leaves() + cur.b.leaves() + [cur.losses, cur.dups, cur.crashes]
        new_leaves = b.target.a.leaves() + b.target.b.leaves() + [b.target.losses, b.target.dups, b.target.crashes]
        for old, new in zip(cur_leaves, new_leaves, strict=True):
            if not old.e.eq(new.e):
                updates.append((old, new.e))
        sends: list[tuple[int, z3.ExprRef, list[z3.ExprRef]]] = []
        for ch, op in enumerate(b.ops):
            for when, seg in op.sends:
                sends.append((ch, when, [t.e for t in seg.leaves()]))
        olddup = old_duplicate_in(rel, b)
        roots: list[z3.ExprRef] = [b.cond, b.overflow]
        roots += [e for _, e in updates]
        for _, when, fields in sends:
            roots += [when, *fields]
        removes = [(ch, op.remove.e) for ch, op in enumerate(b.ops) if op.remove is not None]
        roots += [e for _, e in removes]
        if olddup is not None:
            roots.append(olddup)
        c.prepare(roots)
        lines = [f"static int B{k}(int apply, uint32_t idx, uint32_t iss) {{"]
        mine = [ch for ch in b.changes if ch.side == b.actor]
        start = b.start if b.start is not None else (mine[0].before if mine else None)
        if start is not None:  # the branch is enabled in one RFC state of its endpoint
            lines.append(f"  if (now.{'AB'[b.actor]}_state != {int(start)}u) return 0;")
        first = c.necessary(b.cond)
        if first is not None:
            lines.append(f"  if (!{first}) return 0;")
        guard = c.expr(b.cond)
        lines += ["  " + line for line in c.lines]
        lines += [f"  if (!{guard}) return 0;", "  if (!apply) return 1;"]
        c.lines = []
        news = [(t, c.expr(e)) for t, e in updates]
        sent = [(ch, c.expr(when), [c.expr(f) for f in fields]) for ch, when, fields in sends]
        taken = [(ch, c.expr(e)) for ch, e in removes]
        full = c.expr(b.overflow)
        bad = c.expr(olddup) if olddup is not None else None
        lines += ["  " + line for line in c.lines]
        # Everything above reads the current state; now the next one is written.
        for i, (_, text) in enumerate(news):
            lines.append(f"  uint32_t n{i} = {text};")
        for j, (_, when, fields) in enumerate(sent):
            lines.append(f"  int w{j} = {when}; Seg s{j} = {{{{{', '.join(fields)}}}}};")
        lines.append(f"  int full = {full};")
        if bad is not None:
            lines.append(f"  if ({bad}) viol |= {flag(NO_OLD_DUPLICATES)};")
        if not b.conforms:
            lines.append(f"  viol |= {flag(RFC_CONFORMANCE)};")
        for i, (t, _) in enumerate(news):
            lines.append("  " + self._assign(t, f"n{i}"))
        for ch, slot in taken:
            lines.append(f"  chan_remove({ch}, {slot});")
        for ch, op in enumerate(b.ops):
            if op.age:
                lines.append(f"  chan_age({ch});")
        for j, (ch, _, _) in enumerate(sent):
            lines.append(f"  if (w{j}) full |= chan_append({ch}, &s{j});")
        lines.append(f"  if (full) now.{leaf_name(_zname(cur.overflow))} = 1;")
        lines += ["  canonical();", "  return 1;", "}"]
        return lines

    def channel_functions(self) -> list[str]:
        """Remove a slot, age every segment, append one (tail drop, or overflow when unbounded)."""
        out: list[str] = []
        cap = self.rel.bounds.channel
        bounded = self.config.capacity is not None
        for name, body in (
            ("static void chan_remove(int ch, uint32_t slot) {", self._chan_remove),
            ("static void chan_age(int ch) {", self._chan_age),
            ("static int chan_append(int ch, const Seg *seg) {", self._chan_append),
        ):
            out.append(name)
            for ch, chan in enumerate((self.world.ab, self.world.ba)):
                out.append(f"  if (ch == {ch}) {{")
                out += ["    " + line for line in body(chan, cap, bounded)]
                out.append("  }")
            out.append("  return 0;" if "int chan_append" in name else "  return;")
            out.append("}")
        return out

    def _chan_remove(self, chan: Slots, cap: int, bounded: bool) -> list[str]:
        length = leaf_name(_zname(chan.length))
        lines = [f"Seg s[{max(cap, 1)}];", *[x.strip() for x in self._load(chan.items, "s")]]
        lines.append(f"for (uint32_t i = slot; i + 1 < {cap}; i++) s[i] = s[i + 1];")
        lines += [x.strip() for x in self._store(chan.items, "s")]
        lines.append(f"now.{length} = now.{length} - 1;")
        return lines

    def _chan_age(self, chan: Slots, cap: int, bounded: bool) -> list[str]:
        return [f"now.{leaf_name(_zname(s.age))} = (now.{leaf_name(_zname(s.age))} + 1) & 255;" for s in chan.items]

    def _chan_append(self, chan: Slots, cap: int, bounded: bool) -> list[str]:
        length = leaf_name(_zname(chan.length))
        lines = [f"if (now.{length} >= {cap}) return {0 if bounded else 1};"]
        for i, s in enumerate(chan.items):
            stores = " ".join(self._assign(t, f"seg->f[{j}]") for j, t in enumerate(s.leaves()))
            lines.append(f"if (now.{length} == {i}) {{ {stores} }}")
        lines.append(f"now.{length} = now.{length} + 1;")
        lines.append("return 0;")
        return lines

    # --- the whole model ----------------------------------------------------------------------------

    def options_of(self, b: Branch, c: CTerms) -> list[tuple[int, int]]:
        """The (slot, ISS) choices branch ``b`` depends on: every combination it may read."""
        roots: list[z3.ExprRef] = [b.cond, *[t.e for t in b.target.leaves()]]
        for op in b.ops:
            if op.remove is not None:
                roots.append(op.remove.e)
            for when, seg in op.sends:
                roots += [when, *[t.e for t in seg.leaves()]]
        names = c.constants(roots)
        slots = range(max(1, self.rel.bounds.channel)) if _zname(self.rel.cur.idx) in names else range(1)
        side = b.actor if b.actor < 2 else None
        values = self.iss_values(side) if _zname(self.rel.cur.iss) in names else [0]
        return [(j, v) for j in slots for v in values]

    def head(self, what: str) -> list[str]:
        cfg, rel = self.config, self.rel
        return [
            f"/* tcpspec: the {what} of configuration {cfg.name!r}, generated from the rules of spec/.",
            f" * {cfg.description}",
            f" * bounds: {cfg.bounds()}",
            f" * slots: {rel.bounds.describe()}",
            " * Do not edit: `tcpspec export promela` writes it again. */",
            "",
        ]

    def declarations(self) -> list[str]:
        """One Promela variable per leaf of the state, with its initial value."""
        decls = ["/* The state: one variable per leaf of checks.symstate (A and B, their channels, the budgets). */"]
        for t, v in zip(self.leaves, self.initial, strict=True):
            value = int(z3.is_true(v.e)) if z3.is_bool(v.e) else v.e.as_long()
            width = _width(t)
            if width == SEQ_BITS and value >= 1 << 31:
                value -= 1 << 32
            decls.append(f"{_promela_type(width)} {leaf_name(_zname(t))} = {value};")
        return decls

    def prelude(self, checked: Sequence[Property]) -> list[str]:
        """The C that every model starts with: the property bits and ``want()``, which reads them."""
        bits = [f"#define {flag(p)} {1 << i}u" for i, p in enumerate(checked)]
        bits.append(f"#define V_bounds {1 << len(checked)}u")
        return [
            "\\#define BEGIN_FUNCTION {  /* a function split over c_code blocks (SPIN counts braces) */",
            "\\#define END_FUNCTION }",
            "\\#include <stdint.h>",  # "\\#": SPIN's preprocessor leaves it to the C compiler
            *bits,
            "static void want(void) {  /* which properties to check: TCPSPEC_PROPERTIES, a bit mask */",
            '  const char *e = getenv("TCPSPEC_PROPERTIES");',
            f"  wanted = (e ? (unsigned int) strtoul(e, 0, 0) : {(1 << len(checked)) - 1}u) | V_bounds;",
            "  ready = 1;",
            "}",
        ]

    def c_code(self, blocks: list[list[str]], c: CTerms, after: Sequence[list[str]] = ()) -> list[str]:
        """The hidden C state and every block of C as c_code blocks: ``blocks``, the branches, ``after``."""
        branches = [[f"/* {describe(b)} */", *self.branch_function(k, b, c)] for k, b in enumerate(self.rel.branches)]
        blocks = [*blocks, *branches, *after]
        ccode = ['c_state "unsigned int viol" "Hidden"', 'c_state "unsigned int wanted" "Hidden"']
        ccode.append('c_state "int ready" "Hidden"')
        for block in blocks:
            for piece in c_blocks(block):
                ccode += ["", "c_code {", *piece, "}"]
        return ccode

    def commands(
        self, c: CTerms, text_lines: list[str], command: Callable[[int, Branch, str], str]
    ) -> dict[int, Option]:
        """One guarded command per branch and choice, appended to ``text_lines``; the options by line.

        ``command(k, branch, call)`` writes branch ``k``'s command, where ``call % 0`` tests its
        guard and ``call % 1`` takes it.
        """
        options: dict[int, Option] = {}
        for k, b in enumerate(self.rel.branches):
            text_lines.append(f"  /* {describe(b)} */")
            for slot, iss in self.options_of(b, c):
                line = len(text_lines) + 1
                options[line] = Option(line, k, slot, iss)
                text_lines.append(command(k, b, f"B{k}(%d, {slot}u, {iss}u)"))
        return options

    def generate(self) -> PromelaModel:
        """The model that checks the safety properties and no-deadlock (the properties of :data:`CHECKED`)."""
        c = CTerms(self.names)
        blocks = [self.prelude(CHECKED), self.canonical(), self.channel_functions(), *self.problem(c)]
        blocks.append(self.state_checks(c))
        blocks.append(self.final_check())
        ccode = self.c_code(blocks, c)
        asserts = [f"assert(c_expr {{ (!(viol & wanted & {flag(p)})) }})" for p in CHECKED]
        asserts.append("assert(c_expr { (!(viol & V_bounds)) })")
        body_head = [
            "",
            "#define CHECK " + "; ".join(asserts),
            "",
            "active proctype tcp() {",
            "  do",
            "  /* the state properties, checked once in every state: enabled only where one is violated */",
            "  :: d_step { c_expr { (state_bits()) } -> c_code { viol = state_bits(); }; CHECK }",
        ]
        text_lines = self.head("Promela model") + self.declarations() + [""] + ccode + body_head

        def command(k: int, b: Branch, call: str) -> str:
            return f"  :: d_step {{ c_expr {{ ({call % 0}) }} -> c_code {{ viol = 0; {call % 1}; }}; CHECK }}"

        options = self.commands(c, text_lines, command)
        text_lines += [
            "  /* no-deadlock: where no other command is enabled (SPIN's timeout), the state must be a proper",
            "     final state: nothing in flight, each user done or waiting in LISTEN */",
            f"  :: d_step {{ timeout -> assert(c_expr {{ (!(wanted & {flag(NO_DEADLOCK)}) || proper_final()) }}) }}",
            "  od",
            "}",
            "",
        ]
        return PromelaModel(self.config, self.rel, "\n".join(text_lines), options, self.leaf_names())

    def leaf_names(self) -> tuple[str, ...]:
        return tuple(leaf_name(_zname(t)) for t in self.leaves)


def c_blocks(lines: list[str]) -> list[list[str]]:
    """The lines of C as c_code blocks of at most :data:`C_BLOCK_LIMIT` characters each.

    SPIN takes at most 64 KiB of C in one c_code block, and the guard of a large branch is longer.
    A function longer than that is split between statements; its outer braces become the macros
    BEGIN_FUNCTION and END_FUNCTION, so that every block still has balanced braces for SPIN.
    """
    if sum(len(line) + 1 for line in lines) <= C_BLOCK_LIMIT:
        return [lines]
    body = list(lines)
    head = next((i for i, line in enumerate(body) if line.startswith("static ")), -1)
    if head < 0 or not (body[head].endswith("{") and body[-1] == "}"):
        raise ValueError("only a function can be split over c_code blocks")
    body[head] = body[head][:-1] + "BEGIN_FUNCTION"
    body[-1] = "END_FUNCTION"
    out: list[list[str]] = [[]]
    size = depth = 0
    for line in body:
        if size + len(line) + 1 > C_BLOCK_LIMIT and depth == 0 and out[-1]:
            out.append([])
            size = 0
        out[-1].append(line)
        size += len(line) + 1
        depth += line.count("{") - line.count("}")
    if any(sum(len(line) + 1 for line in block) > 65_000 for block in out):
        raise ValueError("a statement of the model's C is longer than SPIN takes in one c_code block")
    return out


def describe(b: Branch) -> str:
    """One line on a branch: who, what event, which rules (with their RFC sections), what changes."""
    who = "AB"[b.actor] if b.actor < 2 else "network"
    parts = [f"{who}: {b.kind}"]
    if b.channel >= 0:
        parts[0] += f" on {('A>B', 'B>A')[b.channel]}"
    if b.rules:
        parts.append("; ".join(_rule_text(r) for r in b.rules))
    if b.changes:
        parts.append(", ".join(f"{'AB'[ch.side]} {ch.before} -> {ch.after}" for ch in b.changes))
    return " | ".join(parts).replace("*/", "* /")


def _rule_text(r: Rule) -> str:
    return f"{r.name} ({r.citation})"


def generate(config: Config, rules: tuple[Rule, ...] | None = None, relation: Relation | None = None) -> PromelaModel:
    """The Promela model of ``config`` (with ``rules`` in place of the spec's, for broken variants).

    ``relation``, if given, is the compiled relation to write (its bounds give the slots).
    """
    return Generator(relation or Relation(config, rules=rules, per_state=True)).generate()
