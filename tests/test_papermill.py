"""Run a chapter through papermill with overridden parameters and check that the values took effect."""

import json
import pathlib

import pytest

papermill = pytest.importorskip("papermill")
nbformat = pytest.importorskip("nbformat")

CHAPTERS = pathlib.Path(__file__).resolve().parents[1] / "chapters"
# Seconds any one cell may run; papermill has no limit of its own.
CELL_TIMEOUT = 300


def execute(chapter: str, tmp_path, **parameters):
    output = tmp_path / f"out_{chapter}"
    papermill.execute_notebook(
        str(CHAPTERS / chapter),
        str(output),
        parameters=parameters,
        kernel_name="python3",
        cwd=str(CHAPTERS),
        execution_timeout=CELL_TIMEOUT,
        progress_bar=False,
        log_output=False,
    )
    return nbformat.read(output, as_version=4)


def stdout_of(notebook) -> str:
    return "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.output_type == "stream" and output.name == "stdout"
    )


def widget_models(notebook) -> list[dict]:
    state = notebook.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    return [model["state"] for model in state.get("state", {}).values()]


@pytest.mark.slow
def test_lab_chapter_runs_with_injected_parameters(tmp_path):
    notebook = execute("01_lab_space.ipynb", tmp_path, photo="coffee", size=64, lightness=[40], widget_lightness=30)

    injected = [cell for cell in notebook.cells if "injected-parameters" in cell.metadata.get("tags", [])]
    assert len(injected) == 1 and 'photo = "coffee"' in injected[0].source
    default = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert notebook.cells.index(injected[0]) == notebook.cells.index(default[0]) + 1

    text = stdout_of(notebook)
    assert "photo: coffee, 64 × 64 pixels" in text
    assert "astronaut" not in text

    # Every figure cell produced a PNG, and the widget saved its state with the injected lightness: the
    # slider there, the kernel's drawing and a frame for each L (21 of them) for a page without a kernel.
    pngs = sum("image/png" in output.get("data", {}) for cell in notebook.cells for output in cell.get("outputs", []))
    assert pngs >= 2
    models = widget_models(notebook)
    sliders = [state for state in models if state.get("_model_name") == "SelectionSliderModel"]
    assert [slider["_options_labels"][slider["index"]] for slider in sliders] == ["30"]
    outputs = [state for state in models if state.get("_model_name") == "OutputModel"]
    assert outputs and any("image/png" in json.dumps(state.get("outputs", [])) for state in outputs)
    assert sum(state.get("_model_name") == "ImageModel" for state in models) == 21


@pytest.mark.slow
def test_bad_parameter_fails_the_run(tmp_path):
    with pytest.raises(papermill.PapermillExecutionError, match="photo|name must be one of"):
        execute("01_lab_space.ipynb", tmp_path, photo="no-such-photo")
