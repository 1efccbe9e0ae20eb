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


def test_the_repository_url_comes_from_the_book_configuration(tmp_path):
    config = tmp_path / "_config.yml"
    config.write_text("title: x\nrepository:\n  url: https://example.org/owner/book\n")
    assert provenance.repository_url(config) == "https://example.org/owner/book"
    with pytest.raises(FileNotFoundError, match="root of the repository"):
        provenance.repository_url(tmp_path / "missing.yml")


def test_model_cards_are_linked_in_the_repository():
    from colorlab.pretrained import model_card_url

    base = provenance.repository_url()
    assert model_card_url() == f"{base}/blob/main/models/classification.md"
    assert model_card_url("regression") == f"{base}/blob/main/models/regression.md"
    assert (provenance.BOOK_CONFIG.parent / "models" / "classification.md").is_file()
    with pytest.raises(ValueError):
        model_card_url("colour")
