"""What does the diagram-code budget cost? (engine/definitions/budget.py)

Runs three scripts in the sandbox with the watchdog (as the engine does) and with it
patched out, alternating rounds so machine drift hits both sides alike, and prints the
median of each and their ratio:
  condition  `amount > 100 and category == "water"` (what most diagram code is),
  loop       a 10,000-iteration Python loop (the worst case: every opcode is traced),
  c_range    `sum(range(1_000_000))` (C iteration, checked every 4,096 items).

    .venv/bin/python benchmarks/budget_bench.py [--rounds N]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

from engine.definitions import scripting

SCRIPTS = {
    "condition": ("eval", 'amount > 100 and category == "water"'),
    "loop": ("exec", "x = 0\nfor i in range(10000):\n    x += i % 7"),
    "c_range": ("exec", "t = sum(range(1_000_000))"),
}


def _time(env, mode: str, source: str) -> float:
    data = {"amount": 120, "category": "water"}
    started = time.perf_counter()
    if mode == "eval":
        env.evaluate(source, data)
    else:
        env.execute(source, data)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    env = scripting.SandboxEnvironment()
    results = {name: {"budgeted": [], "bare": []} for name in SCRIPTS}
    real = scripting.budgeted
    for _ in range(rounds):
        for name, (mode, source) in SCRIPTS.items():
            results[name]["budgeted"].append(_time(env, mode, source))
            scripting.budgeted = lambda budget: contextlib.nullcontext()
            try:
                results[name]["bare"].append(_time(env, mode, source))
            finally:
                scripting.budgeted = real
    for name, sides in results.items():
        budgeted, bare = statistics.median(sides["budgeted"]), statistics.median(sides["bare"])
        print(f"{name:10} budgeted {budgeted * 1e3:9.3f} ms   bare {bare * 1e3:9.3f} ms   x{budgeted / bare:5.1f}")


if __name__ == "__main__":
    main()
