"""Where the settings of the paper's profile come from (colorlab.provenance)."""

import dataclasses

import pytest

from colorlab import provenance
from colorlab.train import TrainConfig


def gpu_profile():
    return TrainConfig.from_yaml(provenance.profile_path("gpu"))


def test_every_setting_of_the_run_has_a_source():
    fields = {field.name for field in dataclasses.fields(TrainConfig)}
    assert set(provenance.SOURCES) == fields
    assert {source.origin for source in provenance.SOURCES.values()} == set(provenance.ORIGINS)
    assert all(source.where for source in provenance.SOURCES.values())


def test_the_table_marks_what_differs_from_the_profile():
    profile = gpu_profile()
    run = profile.replace(steps=100, width=0.25, device="cpu", amp="off")
    rows = {name: (value, reference, differs) for name, value, reference, _, differs
            in provenance.settings_table(run, profile)}
    assert rows["steps"] == (100, profile.steps, True)
    assert rows["lam"] == (0.5, 0.5, False)
    assert sorted(name for name, (*_, differs) in rows.items() if differs) == ["amp", "device", "steps",
                                                                              "width"]
    html = provenance.settings_table(run, profile)._repr_html_()
    assert html.count("<tr>") == len(rows) + 1
    assert "<b>released code</b>: train_val.prototxt: crop_size 176" in html
    text = str(provenance.settings_table(run, profile))
    assert "steps" in text and "*" in text


def test_a_missing_profile_is_named():
    with pytest.raises(FileNotFoundError, match="profile 'nope' not found"):
        provenance.profile_path("nope")
