"""A pickle virtual machine that runs no code: an allowlist of opcodes and of callables.

The standard ``pickle`` module imports whatever module a stream names and calls whatever it
finds there; that is how a checkpoint runs ``os.system``. This interpreter never imports
anything: ``GLOBAL``/``STACK_GLOBAL`` go through ``find_class``, which the caller supplies and
which returns one of *our* :class:`Allowed` callables or raises. ``REDUCE``/``NEWOBJ``/``BUILD``
only ever call those. Opcodes that exist to import or call (``INST``, ``OBJ``, ``EXT*``,
out-of-band buffers) are refused. Every length is checked against the bytes left before
anything is read, the memo is a capped dict (a ``LONG_BINPUT 4294967295`` costs one entry), and
the depth of nested containers is capped when the result is handed back.
"""

from __future__ import annotations

import codecs
import struct
from collections import OrderedDict
from typing import Any, Callable

from .errors import SerializationError

MAX_MEMO = 1 << 20
MAX_DEPTH = 200


class Allowed:
    """A callable the stream may invoke, standing for ``module.name`` in the file."""

    __slots__ = ("module", "name", "call")

    def __init__(self, module: str, name: str, call: Callable[..., Any] | None = None) -> None:
        self.module, self.name, self.call = module, name, call

    def __repr__(self) -> str:
        return f"{self.module}.{self.name}"


class _Mark:
    pass


_MARK = _Mark()


class Unpickler:
    """Interpret one pickle in ``data`` starting at ``pos``; ``load()`` returns the object.

    ``find_class(module, name)`` returns an :class:`Allowed` or raises SerializationError;
    ``persistent_load(pid)`` resolves ``BINPERSID`` references (storages, for PyTorch).
    """

    def __init__(self, data: Any, source: Any, find_class: Callable[[str, str], Allowed],
                 persistent_load: Callable[[Any], Any] | None = None, pos: int = 0) -> None:
        self.data, self.source, self.pos = data, source, pos
        self.find_class, self.persistent_load = find_class, persistent_load
        self.stack: list[Any] = []
        self.marks: list[list[Any]] = []
        self.memo: dict[int, Any] = {}

    def fail(self, why: str) -> SerializationError:
        return SerializationError(self.source, f"pickle: {why} (at byte {self.pos})")

    # -- reading ---------------------------------------------------------------------------------
    def read(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise self.fail(f"truncated: needs {n} bytes, {len(self.data) - self.pos} left")
        b = bytes(self.data[self.pos:self.pos + n])
        self.pos += n
        return b

    def line(self) -> bytes:
        end = self.data.find(b"\n", self.pos, self.pos + 65536) if hasattr(self.data, "find") else -1
        if end < 0:
            raise self.fail("unterminated text argument")
        b = bytes(self.data[self.pos:end])
        self.pos = end + 1
        return b

    def u(self, fmt: str) -> int:
        (v,) = struct.unpack(fmt, self.read(struct.calcsize(fmt)))
        return int(v)

    # -- stack helpers ---------------------------------------------------------------------------
    def pop_mark(self) -> list[Any]:
        if not self.marks:
            raise self.fail("no MARK on the stack")
        items, self.stack = self.stack, self.marks.pop()
        return items

    def put(self, idx: int) -> None:
        if len(self.memo) >= MAX_MEMO and idx not in self.memo:
            raise self.fail(f"memo grows past {MAX_MEMO} entries")
        self.memo[idx] = self.stack[-1]

    def get(self, idx: int) -> None:
        if idx not in self.memo:
            raise self.fail(f"memo key {idx} was never stored")
        self.stack.append(self.memo[idx])

    def call(self, func: Any, args: Any) -> Any:
        if not isinstance(func, Allowed) or func.call is None or not isinstance(args, tuple):
            raise self.fail(f"refusing to call {func!r}")
        return func.call(*args)

    def build(self, obj: Any, state: Any) -> None:
        setstate = getattr(obj, "__wwsetstate__", None)
        if setstate is not None:
            setstate(state)
        elif isinstance(obj, OrderedDict) and isinstance(state, dict) and set(state) <= {"_metadata"}:
            obj.__dict__.update(state)  # a state_dict's version table
        else:
            raise self.fail(f"refusing to BUILD a {type(obj).__name__}")

    def load(self) -> Any:
        """Run until STOP; every failure becomes a SerializationError."""
        try:
            return self._run()
        except SerializationError:
            raise
        except (IndexError, KeyError, ValueError, TypeError, struct.error, OverflowError,
                RecursionError, UnicodeError, AttributeError) as e:
            raise self.fail(f"malformed stream: {type(e).__name__}: {e}") from None

    def _run(self) -> Any:
        while True:
            op = self.read(1)
            handler = _OPS.get(op)
            if handler is None:
                raise self.fail(f"opcode {op!r} is not allowed")
            if handler is _stop:
                if len(self.stack) != 1 or self.marks:
                    raise self.fail("STOP with a malformed stack")
                return self.stack.pop()
            handler(self)


def _stop(u: Unpickler) -> None:  # dispatch sentinel; handled in _run
    pass


def _tuple_n(n: int) -> Callable[[Unpickler], None]:
    def op(u: Unpickler) -> None:
        items = u.stack[len(u.stack) - n:] if n else []
        if len(items) != n:
            raise u.fail("stack underflow")
        del u.stack[len(u.stack) - n:]
        u.stack.append(tuple(items))
    return op


def _setitems(u: Unpickler) -> None:
    items = u.pop_mark()
    d = u.stack[-1]
    if not isinstance(d, dict) or len(items) % 2:
        raise u.fail("SETITEMS on a non-dict or odd item count")
    for i in range(0, len(items), 2):
        d[items[i]] = items[i + 1]


def _setitem(u: Unpickler) -> None:
    v, k = u.stack.pop(), u.stack.pop()
    if not isinstance(u.stack[-1], dict):
        raise u.fail("SETITEM on a non-dict")
    u.stack[-1][k] = v


def _appends(u: Unpickler) -> None:
    items = u.pop_mark()
    if not isinstance(u.stack[-1], list):
        raise u.fail("APPENDS on a non-list")
    u.stack[-1].extend(items)


def _append(u: Unpickler) -> None:
    v = u.stack.pop()
    if not isinstance(u.stack[-1], list):
        raise u.fail("APPEND on a non-list")
    u.stack[-1].append(v)


def _additems(u: Unpickler) -> None:
    items = u.pop_mark()
    if not isinstance(u.stack[-1], set):
        raise u.fail("ADDITEMS on a non-set")
    u.stack[-1].update(items)


def _global(u: Unpickler) -> None:
    module, name = u.line().decode("utf-8"), u.line().decode("utf-8")
    u.stack.append(u.find_class(module, name))


def _stack_global(u: Unpickler) -> None:
    name, module = u.stack.pop(), u.stack.pop()
    if not isinstance(module, str) or not isinstance(name, str):
        raise u.fail("STACK_GLOBAL needs two strings")
    u.stack.append(u.find_class(module, name))


def _reduce(u: Unpickler) -> None:
    args, func = u.stack.pop(), u.stack.pop()
    u.stack.append(u.call(func, args))


def _newobj(u: Unpickler) -> None:
    args, cls = u.stack.pop(), u.stack.pop()
    u.stack.append(u.call(cls, args))


def _build(u: Unpickler) -> None:
    state = u.stack.pop()
    u.build(u.stack[-1], state)


def _binpersid(u: Unpickler) -> None:
    if u.persistent_load is None:
        raise u.fail("persistent reference in a stream that allows none")
    u.stack.append(u.persistent_load(u.stack.pop()))


def _persid(u: Unpickler) -> None:
    if u.persistent_load is None:
        raise u.fail("persistent reference in a stream that allows none")
    u.stack.append(u.persistent_load(u.line().decode("ascii")))


def _text_int(u: Unpickler) -> None:
    s = u.line()  # protocol 0 spells booleans as INT 00 / INT 01
    u.stack.append(s == b"01" if s in (b"00", b"01") else int(s))


def _text_str(u: Unpickler) -> None:
    s = u.line()
    if len(s) < 2 or s[0] != s[-1] or s[:1] not in (b"'", b'"'):
        raise u.fail("malformed STRING")
    u.stack.append(codecs.escape_decode(s[1:-1])[0].decode("latin-1"))


def _from_mark(make: Callable[[list[Any]], Any]) -> Callable[[Unpickler], None]:
    def op(u: Unpickler) -> None:
        items = u.pop_mark()  # first: it swaps u.stack back to the outer list
        u.stack.append(make(items))
    return op


def _push(f: Callable[[Unpickler], Any]) -> Callable[[Unpickler], None]:
    def op(u: Unpickler) -> None:
        u.stack.append(f(u))
    return op


def _pop_mark_op(u: Unpickler) -> None:
    u.pop_mark()


def _frame(u: Unpickler) -> None:
    u.u("<Q")  # framing is only a buffering hint


def _proto(u: Unpickler) -> None:
    if u.read(1)[0] > 5:
        raise u.fail("unsupported pickle protocol")


def _mark(u: Unpickler) -> None:
    u.marks.append(u.stack)
    u.stack = []


_OPS: dict[bytes, Callable[[Unpickler], None]] = {
    b"\x80": _proto, b"\x95": _frame, b".": _stop, b"(": _mark, b"1": _pop_mark_op,
    b"0": lambda u: u.stack.pop() and None, b"2": lambda u: u.stack.append(u.stack[-1]),
    b"N": _push(lambda u: None), b"\x88": _push(lambda u: True), b"\x89": _push(lambda u: False),
    b"J": _push(lambda u: u.u("<i")), b"K": _push(lambda u: u.u("<B")), b"M": _push(lambda u: u.u("<H")),
    b"I": _text_int, b"L": _push(lambda u: int(u.line().rstrip(b"L"))),
    b"\x8a": _push(lambda u: int.from_bytes(u.read(u.u("<B")), "little", signed=True)),
    b"\x8b": _push(lambda u: int.from_bytes(u.read(u.u("<i")), "little", signed=True)),
    b"G": _push(lambda u: struct.unpack(">d", u.read(8))[0]), b"F": _push(lambda u: float(u.line())),
    b"X": _push(lambda u: u.read(u.u("<I")).decode("utf-8", "surrogatepass")),
    b"\x8c": _push(lambda u: u.read(u.u("<B")).decode("utf-8", "surrogatepass")),
    b"\x8d": _push(lambda u: u.read(u.u("<Q")).decode("utf-8", "surrogatepass")),
    b"V": _push(lambda u: u.line().decode("raw_unicode_escape")),
    b"S": _text_str,
    b"T": _push(lambda u: u.read(u.u("<i")).decode("latin-1")),
    b"U": _push(lambda u: u.read(u.u("<B")).decode("latin-1")),
    b"B": _push(lambda u: u.read(u.u("<I"))), b"C": _push(lambda u: u.read(u.u("<B"))),
    b"\x8e": _push(lambda u: u.read(u.u("<Q"))),
    b")": _push(lambda u: ()), b"t": _from_mark(tuple),
    b"\x85": _tuple_n(1), b"\x86": _tuple_n(2), b"\x87": _tuple_n(3),
    b"]": _push(lambda u: []), b"l": _from_mark(list),
    b"a": _append, b"e": _appends,
    b"}": _push(lambda u: {}), b"s": _setitem, b"u": _setitems,
    b"d": _from_mark(lambda items: _pairs(items)),
    b"\x8f": _push(lambda u: set()), b"\x90": _additems,
    b"\x91": _from_mark(frozenset),
    b"c": _global, b"\x93": _stack_global, b"R": _reduce, b"\x81": _newobj, b"b": _build,
    b"Q": _binpersid, b"P": _persid,
    b"q": lambda u: u.put(u.u("<B")), b"r": lambda u: u.put(u.u("<I")),
    b"p": lambda u: u.put(int(u.line())), b"\x94": lambda u: u.put(len(u.memo)),
    b"h": lambda u: u.get(u.u("<B")), b"j": lambda u: u.get(u.u("<I")),
    b"g": lambda u: u.get(int(u.line())),
}


def _pairs(items: list[Any]) -> dict[Any, Any]:
    if len(items) % 2:
        raise ValueError("DICT with an odd item count")
    return {items[i]: items[i + 1] for i in range(0, len(items), 2)}
