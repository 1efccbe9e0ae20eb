"""The project's configuration agrees with itself: one source of truth for dependencies and constants."""

import pathlib
import re
import tokenize
import tomllib

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_environment_yml_installs_the_package_from_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    # Python matches requires-python, and conda installs nothing but Python and pip.
    python = next(d for d in conda if d.startswith("python"))
    assert python.split("=")[1] >= project["requires-python"].lstrip(">=")
    assert sorted(re.split("[=<>]", d)[0] for d in conda) == ["pip", "python"]
    # Every Python dependency comes through pip from pyproject.toml, with every extra the Makefile installs.
    extras = set(project["optional-dependencies"])
    assert pip == [f"-e .[{','.join(sorted(extras))}]"]
    makefile = (ROOT / "Makefile").read_text()
    assert f"-e '.[{','.join(sorted(extras))}]'" in makefile


def test_no_bare_bin_count_outside_its_definition():
    """The number of bins is a named constant (colorlab.bins.NUM_BINS); code never writes the literal 313."""
    offenders = []
    for path in sorted((ROOT / "colorlab").rglob("*.py")):
        with path.open("rb") as f:
            for token in tokenize.tokenize(f.readline):
                if token.type == tokenize.NUMBER and token.string == "313" and "NUM_BINS = 313" not in token.line:
                    offenders.append(f"{path.name}:{token.start[0]}: {token.line.strip()}")
    assert offenders == []
