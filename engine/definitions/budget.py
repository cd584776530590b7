"""CPU-time and memory budgets for diagram code: scripts, conditions and instruction templates.

A watchdog on the evaluating thread counts the opcodes of sandboxed frames (scripts
compile as "<string>", Jinja templates as "<template>") and checks the thread's CPU time
and the process's resident memory every few hundred lines, and raises an exception that
sandboxed code cannot catch. Operations that build a large
result in one C call (`*`, `**`, `%`, `<<`, `range`, padding methods) are guarded here and
refused before they allocate, since no line event happens inside them.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import sys
import threading
import time
from dataclasses import dataclass

from engine.errors import ScriptError

_SANDBOX_FILES = frozenset({"<string>", "<template>"})
_CHECK_EVERY = 1024  # trace events between CPU checks; memory is read every 16th check
_RANGE_CHUNK = 4096  # items a budgeted range yields between two checks
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_WIDTH = re.compile(r"%(\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?([a-zA-Z%])")


@dataclass(frozen=True)
class Budget:
    """What one evaluation may use: CPU seconds of its thread, and megabytes of memory."""

    cpu_seconds: float = 1.0
    memory_mb: int = 256

    @property
    def memory_bytes(self) -> int:
        return int(self.memory_mb) * 1024 * 1024

    @classmethod
    def of(cls, entry: dict | None, base: Budget | None = None) -> Budget:
        """A budget from a policy entry ({cpu_seconds, memory_mb}); missing keys come from `base`."""
        base = base or cls()
        entry = entry or {}
        return cls(float(entry.get("cpu_seconds", base.cpu_seconds)), int(entry.get("memory_mb", base.memory_mb)))


DEFAULT_BUDGET = Budget()


class BudgetExceeded(ScriptError):
    """Diagram code used more CPU time or memory than the site policy allows."""

    def __init__(self, kind: str, budget: Budget, line: int | None = None):
        self.kind, self.budget = kind, budget
        if kind == "cpu":
            self.zh = f"运行超时：超出 CPU 时间预算 {budget.cpu_seconds:g} 秒（可能是死循环）"
            self.en = f"over the CPU-time budget of {budget.cpu_seconds:g} s (a runaway loop?)"
        else:
            self.zh = f"内存超限：结果将超出内存预算 {budget.memory_mb} MB"
            self.en = f"over the memory budget of {budget.memory_mb} MB"
        # Both languages: the case keeps one message, read by Chinese and English staff alike.
        self.detail = f"{self.zh} / {self.en}"
        super().__init__(self.detail, line=line)


class _Stop(BaseException):
    """Raised inside sandboxed code over budget. Not an Exception, so `except Exception` in a
    script cannot catch it (the sandbox refuses bare `except`, `finally` and BaseException);
    `budgeted` turns it into BudgetExceeded at the boundary."""

    def __init__(self, kind: str, line: int | None):
        super().__init__(kind, line)
        self.kind, self.line = kind, line


class _Watchdog:
    def __init__(self, budget: Budget):
        self.budget = budget
        self.deadline = time.thread_time() + budget.cpu_seconds
        self.memory_limit = _resident() + budget.memory_bytes
        self.lines = 0
        self.tripped: str | None = None

    def trace(self, frame, event, arg):
        """Global trace function: follow sandboxed frames only (the engine's own run untraced)."""
        if frame.f_code.co_filename not in _SANDBOX_FILES:
            return None
        frame.f_trace_opcodes = True  # `while True: pass` gives no line events, only opcodes
        return self.local

    def local(self, frame, event, arg):
        # Raising from the trace function unsets it, which is why _Stop must not be catchable.
        self.lines += 1
        if self.lines % _CHECK_EVERY == 0:
            self.check(frame.f_lineno, memory=self.lines % (_CHECK_EVERY * 16) == 0)
        return self.local

    def check(self, line: int | None = None, memory: bool = True):
        if self.tripped is None and time.thread_time() > self.deadline:
            self.tripped = "cpu"
        if self.tripped is None and memory and _resident() > self.memory_limit:
            self.tripped = "memory"
        if self.tripped:
            raise _Stop(self.tripped, line or _sandbox_line())
        # Hand the GIL to threads waiting for it. A spinning script otherwise keeps it for the
        # whole switch interval each time a request thread comes back from the database, and a
        # page of a few hundred queries waits seconds (the convoy effect).
        time.sleep(0)

    def need(self, size: int):
        """Refuse to build a result of about `size` bytes when it would not fit the budget."""
        if size > self.budget.memory_bytes:
            self.tripped = "memory"
            raise _Stop("memory", _sandbox_line())


_local = threading.local()


def _resident() -> int:
    """The process's resident memory in bytes (0 where /proc is missing)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def _sandbox_line() -> int | None:
    """The line of the innermost sandboxed frame on this thread's stack, if any."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename not in _SANDBOX_FILES:
        frame = frame.f_back
    return frame.f_lineno if frame is not None else None


class _Unwatched(_Watchdog):
    """Outside any budget (lint, tests): sizes are still refused, time and memory not read."""

    def __init__(self):
        self.budget, self.tripped = DEFAULT_BUDGET, None

    def check(self, line=None, memory=True):
        pass


_UNWATCHED = _Unwatched()


def _watchdog() -> _Watchdog:
    """The running watchdog, or the unwatched one outside any budget."""
    return getattr(_local, "watchdog", None) or _UNWATCHED


@contextlib.contextmanager
def budgeted(budget: Budget):
    """Run the block's sandboxed code under `budget`; an inner block keeps the outer budget."""
    if getattr(_local, "watchdog", None) is not None:
        yield
        return
    watchdog = _local.watchdog = _Watchdog(budget)
    previous = sys.gettrace()
    sys.settrace(watchdog.trace)
    try:
        yield
    except _Stop as stop:
        raise BudgetExceeded(stop.kind, budget, stop.line) from None
    finally:
        sys.settrace(previous)
        _local.watchdog = None


# -- guarded operations ----------------------------------------------------------------

_SEQUENCES = (str, bytes, list, tuple)


def _item_size(value) -> int:
    return 1 if isinstance(value, str | bytes) else 8


def guarded_mul(left, right):
    """`*`, refusing a repeated sequence that would not fit the memory budget."""
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, _SEQUENCES) and isinstance(times, int):
            _watchdog().need(len(seq) * max(times, 0) * _item_size(seq))
    return left * right


def _int_bits(value) -> int:
    return abs(value).bit_length() if isinstance(value, int) else 64


def guarded_pow(left, right, modulo=None):
    """`**` and pow(), refusing an integer result that would not fit the memory budget."""
    if modulo is None and isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
        _watchdog().need(_int_bits(left) * right // 8)
    return pow(left, right) if modulo is None else pow(left, right, modulo)


def guarded_lshift(left, right):
    if isinstance(left, int) and isinstance(right, int) and right > 0:
        _watchdog().need((_int_bits(left) + right) // 8)
    return left << right


def format_width(text: str, args) -> int:
    """The widest field `text % args` would pad to (literal and `*` widths and precisions)."""
    values = list(args) if isinstance(args, tuple) else [args]
    widest = 0
    for key, width, precision, conversion in _WIDTH.findall(text):
        if conversion == "%":
            continue
        for group in (width, precision):
            if group == "*":
                value = values.pop(0) if values else 0
                widest = max(widest, abs(value) if isinstance(value, int) else 0)
            elif group:
                widest = max(widest, int(group))
        if not key and values:
            values.pop(0)
    return widest


def guarded_mod(left, right):
    """`%`, refusing a format whose field widths would not fit the memory budget."""
    if isinstance(left, str | bytes):
        text = left if isinstance(left, str) else left.decode("latin-1")
        _watchdog().need(format_width(text, right) * 4)
    return left % right


_PADDING = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs"})


def guarded_method(obj, name: str, method):
    """Padding methods of text refuse widths that would not fit the memory budget."""
    if not (isinstance(obj, str | bytes) and name in _PADDING):
        return method

    def padded(width=8, *args):
        if isinstance(width, int):
            _watchdog().need(width * (len(obj) if name == "expandtabs" else 1))
        return method(width, *args)
    return padded


BINOPS = {"*": guarded_mul, "**": guarded_pow, "%": guarded_mod, "<<": guarded_lshift}
INPLACE = {"*=": guarded_mul, "**=": guarded_pow, "%=": guarded_mod, "<<=": guarded_lshift}


class budgeted_range:  # noqa: N801 - it stands in for the builtin `range`
    """`range` whose iteration checks the budget every few thousand items.

    `sum(range(10**9))` runs in C with no line event, so the check lives in the iterator.
    """

    def __init__(self, *args):
        self._range = range(*args)

    def __iter__(self):
        # chain iterates each chunk in C: the generator (and the tracer's call event) runs once a chunk
        return itertools.chain.from_iterable(self._chunks())

    def _chunks(self):
        inner = self._range
        for start in range(0, len(inner), _RANGE_CHUNK):
            _watchdog().check()
            yield inner[start:start + _RANGE_CHUNK]

    def __len__(self):
        return len(self._range)

    def __getitem__(self, index):
        found = self._range[index]
        return budgeted_range(found.start, found.stop, found.step) if isinstance(found, range) else found

    def __contains__(self, item):
        return item in self._range

    def __reversed__(self):
        inner = self._range
        return iter(budgeted_range(inner[-1], inner[0] - inner.step, -inner.step)) if inner else iter(())

    def __repr__(self):
        return repr(self._range)


__all__ = ["BINOPS", "Budget", "BudgetExceeded", "DEFAULT_BUDGET", "INPLACE", "budgeted", "budgeted_range",
           "guarded_method", "guarded_mod", "guarded_mul", "guarded_pow"]
