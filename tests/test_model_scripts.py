"""The scripts under models/ that split the photos and choose where a run stops."""

from __future__ import annotations

import csv
import json
import runpy
from pathlib import Path

import pytest
from PIL import Image

import colorlab as cl

MODELS = Path(__file__).resolve().parents[1] / "models"


def script(name: str) -> dict:
    return runpy.run_path(str(MODELS / name))


def write_pool(folder: Path, groups: dict[str, int]) -> None:
    """A photo pool with a manifest: ``groups`` maps a source group to its number of photos."""
    folder.mkdir()
    rows = []
    for group, count in groups.items():
        for i in range(count):
            name = f"{group}-{i}.png"
            Image.new("RGB", (8, 8), (i * 20, 100, 50)).save(folder / name)
            rows.append({"file": name, "package": "Debian: x", "source_group": group})
    with (folder / "manifest.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["file", "package", "source_group"])
        writer.writeheader()
        writer.writerows(rows)


def sides(out: Path) -> dict[str, str]:
    with (out / "split.csv").open(newline="") as f:
        return {row["file"]: row["side"] for row in csv.DictReader(f)}


def test_stop_fraction_takes_whole_groups_from_the_training_side_only(tmp_path):
    write_pool(tmp_path / "pool", {f"g{i}": 1 + i % 3 for i in range(30)})
    split = script("split_photos.py")["main"]
    assert split([str(tmp_path / "pool"), str(tmp_path / "two"), "--val-fraction", "0.2"]) == 0
    assert split([str(tmp_path / "pool"), str(tmp_path / "three"), "--val-fraction", "0.2",
                  "--stop-fraction", "0.1"]) == 0
    two, three = sides(tmp_path / "two"), sides(tmp_path / "three")
    assert {f for f, s in three.items() if s == "val"} == {f for f, s in two.items() if s == "val"}
    stop = {f for f, s in three.items() if s == "stop"}
    assert stop and all(two[f] == "train" for f in stop)
    for group in {f.split("-")[0] for f in stop}:  # a group is never split across sides
        assert {three[f] for f in three if f.startswith(group + "-")} == {"stop"}
    assert sorted(p.name for p in (tmp_path / "three" / "stop").iterdir()) == sorted(stop)


def test_train_fraction_keeps_validation_and_stopping_photos_as_in_the_full_split(tmp_path):
    write_pool(tmp_path / "pool", {f"g{i}": 1 + i % 3 for i in range(40)})
    split = script("split_photos.py")["main"]
    common = ["--val-fraction", "0.2", "--stop-fraction", "0.1"]
    assert split([str(tmp_path / "pool"), str(tmp_path / "full"), *common]) == 0
    assert split([str(tmp_path / "pool"), str(tmp_path / "half"), *common, "--train-fraction", "0.5"]) == 0
    full, half = sides(tmp_path / "full"), sides(tmp_path / "half")
    assert {f: s for f, s in half.items() if s in ("val", "stop")} == {
        f: s for f, s in full.items() if s in ("val", "stop")}
    kept = {f for f, s in half.items() if s == "train"}
    unused = {f for f, s in half.items() if s == "unused"}
    assert kept | unused == {f for f, s in full.items() if s == "train"}
    assert abs(len(kept) - len(unused)) <= 3  # about half, whole groups of at most 3
    for group in {f.split("-")[0] for f in unused}:
        assert {half[f] for f in half if f.startswith(group + "-")} == {"unused"}
    assert sorted(p.name for p in (tmp_path / "half" / "train").iterdir()) == sorted(kept)
    with pytest.raises(SystemExit):
        split([str(tmp_path / "pool"), str(tmp_path / "bad"), "--train-fraction", "0"])


@pytest.mark.slow
def test_stopping_loss_scores_every_kept_step_and_picks_the_lowest(tmp_path, capsys):
    from colorlab.train import TrainConfig, fit

    run_dir = fit(TrainConfig.from_dict({}, model="eccv16", width=0.0625, image_size=32, batch_size=2, steps=2,
                                        keep_every=1, device="cpu", workers=0, holdout=["chelsea"], log_every=1,
                                        run_dir=str(tmp_path / "run")))
    stop = tmp_path / "stop"
    stop.mkdir()
    for name in ("chelsea", "coffee"):
        Image.fromarray(cl.sample_photo(name)).save(stop / f"{name}.png")
    main = script("stopping_loss.py")["main"]
    out = tmp_path / "losses.json"
    assert main([str(run_dir), str(stop), "--size", "32", "--json", str(out)]) == 0
    losses = json.loads(out.read_text())
    assert sorted(losses) == ["1", "2"] and all(len(v) == 2 for v in losses.values())
    best = min(losses, key=lambda step: sum(losses[step]))
    assert capsys.readouterr().out.splitlines()[-1] == f"lowest held-out loss: step {best}"
    # a later call scores only new steps: what the file holds is taken as it is
    other = "1" if best == "2" else "2"
    losses[other] = [0.0, 0.0]
    out.write_text(json.dumps(losses))
    assert main([str(run_dir), str(stop), "--size", "32", "--json", str(out)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"lowest held-out loss: step {other}"


def test_stopping_loss_needs_kept_weights(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    assert script("stopping_loss.py")["main"]([str(tmp_path / "run"), str(tmp_path)]) == 2
    assert "--keep-every" in capsys.readouterr().err
