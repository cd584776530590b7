"""Budgets of diagram code: site policy, ordinary code unaffected, no way to catch the stop."""

import pytest

from engine.definitions.budget import Budget, BudgetExceeded
from engine.definitions.rules import load_rules
from engine.definitions.scripting import SandboxEnvironment, validate_source
from engine.errors import DefinitionError


def with_sites(library, extra: str):
    return load_rules({**library.rules, "sites.yaml": library.rules["sites.yaml"] + extra})


def test_a_site_may_set_its_own_budget_and_keeps_the_bundle_default_for_the_rest(library):
    rules = with_sites(library, "    budgets:\n      cpu_seconds: 0.25\n")
    assert rules.budget("binhai") == Budget(0.25, 256)
    assert rules.budget("nanshan") == rules.budget(None) == Budget(1.0, 256)


def test_a_budget_key_the_schema_does_not_know_is_refused(library):
    with pytest.raises(DefinitionError) as raised:
        with_sites(library, "    budgets:\n      wall_seconds: 3\n")
    assert "wall_seconds" in str(raised.value.findings)


def test_ordinary_arithmetic_and_formatting_still_work_under_the_guards():
    data = {}
    SandboxEnvironment().execute("a = '%05d' % 42\nb = 'ab' * 3\nc = 2 ** 10\nd = list(range(3))\n"
                                 "e = 'x'.rjust(4)\nn = 2\nn **= 3\nf = 7 % 3", data)
    assert (data["a"], data["b"], data["c"], data["d"], data["e"], data["n"], data["f"]) == \
        ("00042", "ababab", 1024, [0, 1, 2], "   x", 8, 1)


@pytest.mark.parametrize("source", [
    "try:\n    x = 1\nexcept:\n    pass",
    "try:\n    x = 1\nfinally:\n    pass",
])
def test_the_sandbox_refuses_what_could_catch_a_budget_stop(source):
    assert "refused by the sandbox" in validate_source(source, "exec")


def test_base_exception_is_not_reachable_from_a_script():
    with pytest.raises(NameError):
        SandboxEnvironment().execute("try:\n    x = 1\nexcept BaseException:\n    pass\nBaseException", {})


def test_a_padding_method_over_the_memory_budget_is_refused_before_it_allocates():
    with pytest.raises(BudgetExceeded) as raised:
        SandboxEnvironment(budget_for=lambda data: Budget(1, 16)).execute("s = 'a'.ljust(10**8)", {})
    assert "16 MB" in str(raised.value) and "内存" in str(raised.value)
