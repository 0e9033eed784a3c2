"""Methodology files: load, round-trip, and refuse bad data with clear messages."""

from __future__ import annotations

import copy
import json

import pytest
import yaml

from oversight.engine import (
    METHODOLOGIES_DIR,
    MethodologyError,
    MethodologySpec,
    MetricSpec,
    builtin_methodology_path,
    load_methodology_file,
)

from .conftest import methodology_doc, metric

SLUGS = ["nof-2025-26", "nof-2026-27"]
PROVIDERS = {"acute", "mental-health-and-community", "ambulance"}

MHC_METRICS = {
    "OF1005": ("OF0005", "lower", "rank", "national"),
    "OF1041": ("OF0041", "higher", "rank", "national"),
    "OF1035": (None, None, "supplied", "peer_group"),
    "OF1057": ("OF0057", "higher", "rank", "national"),
    "OF1063": ("OF0063", "lower", "rank", "national"),
    "OF1016": ("OF0016", "higher", "rank", "national"),
    "OF1061": ("OF0061", "higher", "rank", "peer_group"),
    "OF1067": (None, None, "rating", "peer_group"),
    "OF1082": ("OF0082", "lower", "rank", "national"),
    "OF1084": ("OF0084", "higher", "rank", "peer_group"),
    "OF1079": ("OF0079", "higher", "bands", "peer_group"),
    "OF1081": ("OF0081", "higher", "bands", "peer_group"),
    "OF1080": (None, None, "combined", "peer_group"),
    "OF1086": ("OF0086", "lower", "rank", "national"),
}
ACUTE_VALUE_IDS = {
    "OF0023": "higher",
    "OF0106": "higher",
    "OF0003": "lower",
    "OF0010": "higher",
    "OF0011": "higher",
    "OF0013": "higher",
    "OF0014": "lower",
    "OF0025": "lower",
    "OF0020": "lower",
    "OF0048": "lower",
    "OF0088": "lower",
    "OF0085": "higher",
}


@pytest.mark.parametrize("slug", SLUGS)
def test_methodology_files_load_and_round_trip(slug):
    spec = load_methodology_file(builtin_methodology_path(slug))
    assert spec.slug == slug
    assert MethodologySpec.from_dict(spec.to_dict()) == spec
    # to_dict is JSON- and YAML-safe (a JSONField or a fixture can hold it).
    assert MethodologySpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    assert MethodologySpec.from_dict(yaml.safe_load(yaml.safe_dump(spec.to_dict()))) == spec
    assert all(isinstance(m, MetricSpec) for m in spec.metrics)


def test_every_methodology_file_in_the_folder_loads():
    files = sorted(METHODOLOGIES_DIR.glob("nof-*.yaml"))
    assert [f.stem for f in files] == SLUGS
    for f in files:
        load_methodology_file(f)


def test_2025_26_catalogue_holds_section_5():
    spec = load_methodology_file(builtin_methodology_path("nof-2025-26"))
    by_id = {m.score_id: m for m in spec.metrics}
    for sid, (vid, direction, method, pool) in MHC_METRICS.items():
        m = by_id[sid]
        assert (m.value_id, m.direction, m.method, m.pool) == (vid, direction, method, pool), sid
        assert "mental-health-and-community" in m.peer_groups
    for sid in ("OF1061", "OF1082", "OF1084", "OF1079", "OF1081", "OF1080", "OF1086", "OF1067"):
        assert set(by_id[sid].peer_groups) == PROVIDERS, sid
    value_ids = {m.value_id: m for m in spec.metrics if m.value_id}
    for vid, direction in ACUTE_VALUE_IDS.items():
        assert value_ids[vid].direction == direction and "acute" in value_ids[vid].peer_groups
    for vid in ("OF0020", "OF0048", "OF0088"):
        assert value_ids[vid].weight == pytest.approx(1 / 3)
    assert value_ids["OF0017"].peer_groups == ("ambulance",)
    assert value_ids["OF0057"].params == {"floor": 70.0}
    assert by_id["OF1079"].params["cut_points"] == [0, -1, -2]
    assert by_id["OF1081"].params["cut_points"] == [0, -0.5, -1]
    assert not by_id["OF1079"].included_in_average and not by_id["OF1081"].included_in_average
    assert by_id["OF1080"].params == {
        "plan": "OF1079",
        "variance": "OF1081",
        "plan_threshold": 1.0,
        "step": 1.0,
    }
    assert by_id["OF1067"].params["scale"]["Requires improvement"] == 3
    contextual = [m for m in spec.metrics if m.contextual]
    assert contextual and all(m.peer_groups == ("icb",) for m in contextual)
    assert (spec.segmentation_method, spec.quartile_pool, spec.thresholds) == (
        "quartiles",
        "national",
        None,
    )
    assert "icb" not in spec.segmented_peer_groups
    assert (spec.override_cap, spec.derive_override_from) == (3, "OF0079")
    assert (spec.rating_lookback_days, spec.replicates, spec.min_metric_count) == (730, 1000, 1)
    # Sub-domains and names follow NHS England's data file where it has them.
    assert by_id["OF1063"].sub_domain == "Effective flow and discharge"
    assert by_id["OF1084"].name == "NHS staff survey engagement theme sub-score"


def test_2026_27_fixed_unset_and_segments_icbs():
    spec = load_methodology_file(builtin_methodology_path("nof-2026-27"))
    assert (spec.segmentation_method, spec.thresholds) == ("fixed", None)
    assert "icb" in spec.segmented_peer_groups
    scored_icb = [m for m in spec.metrics_for("icb") if m.scored]
    assert len(scored_icb) >= 2


# --- validation --------------------------------------------------------------------------


def base_doc():
    return methodology_doc(
        [
            metric("OF1001"),
            metric("OF1079", method="bands", params={"cut_points": [0, -1, -2]}),
            metric("OF1081", method="bands", params={"cut_points": [0, -0.5, -1]}),
            metric(
                "OF1080",
                value_id=None,
                method="combined",
                direction=None,
                params={"plan": "OF1079", "variance": "OF1081"},
            ),
        ]
    )


def rejects(doc, *fragments):
    with pytest.raises(MethodologyError) as exc:
        MethodologySpec.from_dict(doc)
    for fragment in fragments:
        assert fragment in str(exc.value), str(exc.value)
    return exc.value


def test_base_doc_is_valid():
    spec = MethodologySpec.from_dict(base_doc())
    assert spec.metric("OF1080").params["step"] == 1.0


def test_rejects_unknown_method():
    doc = base_doc()
    doc["metrics"][0]["method"] = "magic"
    rejects(doc, "metric OF1001", "unknown method 'magic'")


def test_rejects_bands_without_cut_points():
    doc = base_doc()
    doc["metrics"][1]["params"] = {}
    rejects(doc, "metric OF1079", "needs params.cut_points")


def test_rejects_bands_cut_points_in_the_wrong_order():
    doc = base_doc()
    doc["metrics"][1]["params"] = {"cut_points": [-2, -1, 0]}
    rejects(doc, "metric OF1079", "descending")


def test_rejects_duplicate_score_id():
    doc = base_doc()
    doc["metrics"].append(copy.deepcopy(doc["metrics"][0]))
    rejects(doc, "metric OF1001: duplicate score_id")


def test_rejects_combined_with_unknown_inputs():
    doc = base_doc()
    doc["metrics"][3]["params"]["plan"] = "OF1999"
    rejects(doc, "metric OF1080", "params.plan 'OF1999'")


def test_rejects_rank_without_direction_and_bad_fields():
    doc = base_doc()
    doc["metrics"][0]["direction"] = None
    doc["metrics"][0]["weight"] = -1
    doc["metrics"][0]["domain"] = "Nowhere"
    doc["metrics"][0]["colour"] = "blue"
    err = rejects(
        doc,
        "needs a direction",
        "weight must be a positive number",
        "domain 'Nowhere'",
        "unknown field(s) colour",
    )
    assert len(err.errors) >= 4  # every problem reported, not just the first


def test_rejects_bad_segmentation_settings():
    doc = base_doc()
    doc["segmentation"].update(
        method="deciles",
        thresholds=[3, 2, 1],
        override_cap=7,
        segmented_peer_groups=["acute", "prisons"],
        derive_override_from="OF0000",
    )
    rejects(
        doc,
        "segmentation.method",
        "segmentation.thresholds",
        "segmentation.override_cap",
        "prisons",
        "segmentation.derive_override_from",
    )


def test_thresholds_kept_exactly_or_refused():
    doc = base_doc()
    doc["segmentation"].update(method="fixed", thresholds=[2.05, 2.325, 2.6125])
    assert MethodologySpec.from_dict(doc).thresholds == (2.05, 2.325, 2.6125)
    doc["segmentation"]["thresholds"] = [2.05, 2.32501, 2.62]
    rejects(doc, "segmentation.thresholds: at most 4 decimal places")


def test_rejects_standard_and_floor_together_and_bad_rating_scale():
    doc = base_doc()
    doc["metrics"][0]["params"] = {"standard": 1, "floor": 2}
    doc["metrics"].append(
        metric(
            "OF1067", value_id=None, method="rating", direction=None, params={"scale": {"Good": 9}}
        )
    )
    rejects(doc, "a standard or a floor, not both", "params.scale")


def test_rejects_peer_group_not_declared_and_bad_rounding():
    doc = base_doc()
    doc["metrics"][0]["peer_groups"] = ["hospices"]
    doc["rounding"] = "bankers"
    rejects(doc, "hospices", "rounding: must be one of half_even, half_up")


def test_fraction_weights_accepted():
    doc = base_doc()
    doc["metrics"][0]["weight"] = "1/3"
    assert MethodologySpec.from_dict(doc).metric("OF1001").weight == pytest.approx(1 / 3)


def test_load_methodology_file_names_the_file(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("slug: x\nmetrics: [\n")
    with pytest.raises(MethodologyError, match=r"broken\.yaml"):
        load_methodology_file(bad)
    doc = base_doc()
    doc["metrics"][0]["method"] = "magic"
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(MethodologyError, match=r"(?s)bad\.yaml.*unknown method"):
        load_methodology_file(tmp_path / "bad.yaml")


def test_specs_are_hashable_and_blank_strings_mean_none():
    doc = base_doc()
    doc["metrics"][3]["value_id"] = ""
    doc["metrics"][3]["direction"] = ""
    doc["segmentation"]["derive_override_from"] = ""
    spec = MethodologySpec.from_dict(doc)
    assert spec.metric("OF1080").value_id is None and spec.derive_override_from is None
    assert {spec: 1}[MethodologySpec.from_dict(spec.to_dict())] == 1
