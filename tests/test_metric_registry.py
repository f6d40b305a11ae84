"""The metric registry is the one list: the summary computes exactly its metrics, summary.json
groups them under its families, and docs/metrics.md is generated from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from preflight.run import simulate, summary_dict
from sim.metric_registry import FAMILIES, KINDS, REGISTRY, by_family, flat, format_value, markdown
from tests.sites import small

DOCS = Path(__file__).resolve().parent.parent / "docs" / "metrics.md"


@pytest.fixture(scope="module")
def result():
    return simulate(small(days=20, warmup=5, seed=2))


def test_computed_metrics_are_exactly_the_registered_ones(result):
    computed, registered = set(result.metrics), set(REGISTRY)
    assert not computed - registered, f"computed but not registered: {sorted(computed - registered)}"
    assert not registered - computed, f"registered but not computed: {sorted(registered - computed)}"


def test_every_metric_is_fully_described():
    for name, m in REGISTRY.items():
        assert m.family in FAMILIES and m.kind in KINDS, name
        assert m.direction in ("lower_is_better", "higher_is_better", "neutral"), name
        assert m.unit and m.definition.endswith("."), name
        if m.kind in ("share", "rate") and m.family != "fairness":
            assert (m.groups is None) != (m.no_groups is None), f"{name}: say why there is no breakdown"


def test_summary_json_groups_metrics_by_family(result):
    summary = json.loads(json.dumps(summary_dict(result, command="test")))
    assert set(summary["metrics"]) <= set(FAMILIES)
    assert "community_health" in summary["metrics"]
    assert summary["metrics"]["community_health"]["questions_per_day"] == pytest.approx(
        result.metrics["questions_per_day"])
    assert set(flat(summary["metrics"])) == set(REGISTRY)
    assert flat({"harm_exposure": 1.0}) == {"harm_exposure": 1.0}  # older, flat summaries still read


def test_by_family_refuses_an_unregistered_metric():
    with pytest.raises(KeyError, match="unregistered"):
        by_family({"harm_exposure": 1.0, "made_up_metric": 2.0})


def test_docs_are_generated_from_the_registry():
    assert DOCS.read_text() == markdown(), "regenerate: python -m sim.metric_registry > docs/metrics.md"
    for name in REGISTRY:
        assert f"`{name}`" in DOCS.read_text()


def test_values_are_printed_as_a_reader_wants_them():
    assert format_value("wrongful_actions", 12.0) == "12 actions"
    assert format_value("prevalence", 0.0025) == "0.25%"
    assert format_value("time_to_removal_min_p50", 871.0) == "871 minutes"
    assert format_value("prevalence", float("nan")) == "n/a"
