"""The paid-service price list (processes/rules/prices.yaml): validated like every rules
file, read by diagrams through price("item"), and offered by forms marked x-price-list."""

from types import SimpleNamespace

import pytest

from engine.definitions.forms import fill_lists
from engine.definitions.rules import load_rules
from engine.errors import DefinitionError, NotFound

PRICES = {
    "replace_faucet": {
        "zh": "更换水龙头",
        "en": "Replace a tap",
        "price": 30,
        "unit": "个",
        "unit_en": "each",
    },
    "unclog_drain": {
        "zh": "疏通下水道",
        "en": "Unclog a drain",
        "price": 50,
        "unit": "次",
        "unit_en": "per job",
    },
}


def test_the_library_price_list_gives_unit_prices(library):
    rules = load_rules(library.rules)
    assert rules.price("replace_faucet") == 30
    assert rules.price("unclog_drain") == 50
    with pytest.raises(NotFound, match="'paint_wall' is not on the price list"):
        rules.price("paint_wall")


def test_a_library_without_a_price_list_has_no_prices(library):
    rules = load_rules({name: text for name, text in library.rules.items() if name != "prices.yaml"})
    assert rules.prices == {}


def test_a_negative_price_is_refused_at_its_line(library):
    texts = dict(library.rules)
    texts["prices.yaml"] = texts["prices.yaml"].replace("price: 50", "price: -50")
    with pytest.raises(DefinitionError) as refused:
        load_rules(texts)
    [finding] = refused.value.findings
    line = texts["prices.yaml"].splitlines()[finding.line - 1]
    assert (finding.file, finding.element_id, line.strip()) == (
        "processes/rules/prices.yaml",
        "items.unclog_drain.price",
        "price: -50",
    )


def test_marked_properties_offer_the_price_list_ahead_of_their_own_values():
    form = {
        "type": "object",
        "properties": {
            "item": {
                "type": "string",
                "x-price-list": True,
                "enum": ["unlisted"],
                "x-enum-labels": {"unlisted": "价目表以外的项目"},
                "x-enum-labels-en": {"unlisted": "Not listed"},
            },
            "note": {"type": "string"},
        },
    }
    filled = fill_lists({"repair/order": form}, _rules())["repair/order"]
    item = filled["properties"]["item"]
    assert item["enum"] == ["replace_faucet", "unclog_drain", "unlisted"]
    assert item["x-enum-labels"] == {
        "replace_faucet": "更换水龙头（30元/个）",
        "unclog_drain": "疏通下水道（50元/次）",
        "unlisted": "价目表以外的项目",
    }
    assert item["x-enum-labels-en"]["unclog_drain"] == "Unclog a drain (50 yuan per job)"
    assert filled["properties"]["note"] == {"type": "string"}
    assert form["properties"]["item"]["enum"] == ["unlisted"]  # the loaded form is not changed in place


def test_forms_without_a_price_list_are_left_as_they_are():
    form = {"type": "object", "properties": {"note": {"type": "string"}}}
    assert fill_lists({"a/b": form}, _rules())["a/b"] is form


def _rules():
    """Rules with the price list above and no categories, sites or staff."""
    return SimpleNamespace(prices=PRICES, categories={}, sites={}, staff=[])
