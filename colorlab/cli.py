"""The ``colorlab`` command line: ``colorlab <command> [options]``.

Each command is two small functions: ``_add_<command>(subparsers)`` declares its parser and sets
``handler=_<command>``, and ``_<command>(args) -> int`` runs it and returns the exit status. :data:`COMMANDS`
lists the ``_add_*`` functions in the order ``--help`` shows them.

Errors are reported as one line on stderr (``colorlab <command>: error: <message>``) with exit status 1
(2 for a malformed command line, as argparse does; ``colorize`` and ``evaluate`` exit with 3 when they finished
but skipped files they could not read); ``colorlab --debug <command> ...`` shows the traceback instead.

Also runs as ``python -m colorlab.cli``, which is what ``torchrun`` needs::

    torchrun --standalone --nproc_per_node=2 -m colorlab.cli train --config configs/gpu.yaml --data-dir DIR
"""

from __future__ import annotations

import argparse
import sys

#: Command-line spellings of None for options whose value may be None.
_NONE_WORDS = ("none", "None", "null", "~")


# ----------------------------------------------------------------------------------------------------------
# train
# ----------------------------------------------------------------------------------------------------------


def _optional(value: str):
    return None if value in _NONE_WORDS else value


def _holdout(values: list[str]):
    """One number is a fraction; anything else is a list of names."""
    if len(values) == 1:
        try:
            return float(values[0])
        except ValueError:
            pass
    return values


def _add_train(subparsers) -> None:
    import dataclasses

    from .train import TrainConfig

    parser = subparsers.add_parser(
        "train",
        help="train a colorization network (see configs/*.yaml)",
        description=(
            "Train a colorization network. Options come from --config (a YAML file of TrainConfig fields, the "
            "same file papermill's -f reads), then from the flags below, which override it. Without --config "
            "every field has the paper's value. Write None as 'none'."
        ),
        argument_default=argparse.SUPPRESS,  # only flags given on the command line override the config
    )
    parser.add_argument("--config", metavar="YAML", help="a configuration file, e.g. configs/smoke.yaml")
    special = {
        "data_dir": dict(type=_optional, metavar="DIR"),
        "run_dir": dict(type=_optional, metavar="DIR"),
        "steps": dict(type=_optional, metavar="N"),
        "epochs": dict(type=_optional, metavar="N"),
        "workers": dict(type=_optional, metavar="N"),
        "lr_decay_steps": dict(nargs="*", metavar="STEP"),
        "betas": dict(nargs=2, metavar=("BETA1", "BETA2")),
        "holdout": dict(nargs="+", type=str, metavar="FRACTION_OR_NAME"),
    }
    for field in dataclasses.fields(TrainConfig):  # each field's help and choices come from its metadata
        name, default = field.name, field.default
        # papermill's spelling (--batch_size) is accepted too; booleans keep one spelling (--resume/--no-resume)
        flags = ["--" + name.replace("_", "-")] + (["--" + name] if "_" in name and default not in (True, False) else [])
        help_text = field.metadata["help"].replace("%", "%%")
        options = dict(help=f"{help_text} (default: {default!r})", dest=name)
        if isinstance(default, bool):
            options.update(action=argparse.BooleanOptionalAction)
        elif "choices" in field.metadata:
            options.update(choices=field.metadata["choices"])
        else:
            options.update(special.get(name, dict(metavar=name.upper())))
        parser.add_argument(*flags, **options)
    parser.set_defaults(handler=_train)


def _train(args) -> int:
    import warnings

    from .train import TrainConfig, fit, read_log

    overrides = {k: v for k, v in vars(args).items() if k in TrainConfig.field_names()}
    if "holdout" in overrides:
        overrides["holdout"] = _holdout(overrides["holdout"])
    if getattr(args, "config", None) is not None:
        config = TrainConfig.from_yaml(args.config, **overrides)
    else:
        config = TrainConfig.from_dict({}, **overrides)
    with warnings.catch_warnings():  # each warning (a stale lock, a skipped image) as one line, when it happens
        warnings.showwarning = lambda message, *_: print(f"colorlab train: warning: {message}", file=sys.stderr)
        run_dir = fit(config)
    import os

    if int(os.environ.get("RANK", "0")) == 0:
        records = read_log(run_dir)
        last = records[-1] if records else {}
        print(
            f"colorlab train: {last.get('step', 0)} steps, last loss {last.get('loss', float('nan')):.4f}; "
            f"run folder {run_dir} (log.jsonl, checkpoint.pt)"
        )
    return 0


# ----------------------------------------------------------------------------------------------------------
# prepare
# ----------------------------------------------------------------------------------------------------------


def _add_prepare(subparsers) -> None:
    from .prepare import JPEG_QUALITY, SHORT_SIDE

    parser = subparsers.add_parser(
        "prepare",
        help="resize a folder of photos once, for fast training",
        description=(
            "Decode every image under SRC (recursively) as training does, shrink it so that its shorter side is "
            "--short-side pixels (Lanczos filter; smaller images keep their size, nothing is upscaled) and write "
            "it as a JPEG (4:2:0, no metadata) at the same relative path under DST, with the extension .jpg. "
            "Files that cannot be decoded are skipped and reported. A re-run skips outputs that are already "
            "up to date (as new as their source, of this --short-side and written at this --quality, which each "
            "output's JPEG quantisation tables record), so it finishes an interrupted run and redoes the outputs "
            "of another size or quality."
        ),
    )
    parser.add_argument("src", metavar="SRC", help="the folder of photos")
    parser.add_argument("dst", metavar="DST", help="the output folder (created if missing; not inside SRC)")
    parser.add_argument("--short-side", type=_positive_int, default=SHORT_SIDE, metavar="PIXELS",
                        help=f"shorter side of the outputs (default: {SHORT_SIDE})")
    parser.add_argument("--quality", type=_positive_int, default=JPEG_QUALITY,
                        help=f"JPEG quality, 1-95 (default: {JPEG_QUALITY})")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="processes working in parallel (default: the CPU cores available)")
    parser.set_defaults(handler=_prepare)


def _prepare(args) -> int:
    from .prepare import prepare_folder

    report = prepare_folder(args.src, args.dst, args.short_side, quality=args.quality, workers=args.workers)
    print(f"colorlab prepare: wrote {report.written} image(s) to {args.dst}, {report.up_to_date} already up to "
          f"date, skipped {len(report.skipped)} unreadable file(s)")
    for name, reason in report.skipped[:20]:
        print(f"  skipped {name}: {reason}", file=sys.stderr)
    if len(report.skipped) > 20:
        print(f"  ... and {len(report.skipped) - 20} more", file=sys.stderr)
    return 0


# ----------------------------------------------------------------------------------------------------------
# colorize, evaluate, bins
# ----------------------------------------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _temperature(text: str) -> float:
    """A temperature under the rule of :func:`colorlab.decode.check_temperature`: 0 ≤ T ≤ inf."""
    from .decode import check_temperature

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    try:
        return check_temperature(value, "the temperature")
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _reporting_warnings(command: str, fn, *args, **kwargs):
    """Run ``fn``, then print each warning it raised as one ``colorlab COMMAND: warning: ...`` line (also when it
    raises, so that the files skipped before the error are named)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            return fn(*args, **kwargs)
        finally:
            for warning in caught:
                print(f"colorlab {command}: warning: {warning.message}", file=sys.stderr)


def _load_for_cli(checkpoint, kind: str | None, device: str):
    """The model of ``--checkpoint`` (any kind unless ``kind``), or the committed model of ``kind``."""
    from .pretrained import load_model, load_pretrained
    from .train import resolve_device

    device = resolve_device(device, name="--device")
    if checkpoint is None:
        return load_pretrained(kind or "classification", device=device)
    return load_model(checkpoint, device=device, kind=kind)


#: Exit status of ``colorize`` and ``evaluate`` when they finished but skipped files they could not read.
EXIT_SKIPPED = 3

_EXIT_STATUS_HELP = (
    "Exit status: 0 when every file was used, 3 when the command finished but skipped files it could not read "
    "(unreadable, not a regular file, an unsupported format, over --max-pixels), 1 on an error (nothing "
    "written), 2 for a malformed command line."
)


def _bounded_int(maximum: int):
    """An argparse type: an integer from 1 to ``maximum``."""
    def parse(text: str) -> int:
        value = _positive_int(text)
        if value > maximum:
            raise argparse.ArgumentTypeError(f"expected at most {maximum}, got {text!r}")
        return value

    return parse


def _add_max_pixels(parser) -> None:
    from .data import MAX_PIXELS

    parser.add_argument("--max-pixels", type=_positive_int, default=MAX_PIXELS, metavar="N",
                        help=f"skip photos with more pixels than this, read from the header before decoding "
                             f"(default: {MAX_PIXELS:,}, as the book's panel)")


def _add_colorize(subparsers) -> None:
    from .colorize import MAX_SIZE, OUTPUT_EXTENSIONS
    from .decode import T_ANNEALED
    from .models import PREDICT_SIZE

    parser = subparsers.add_parser(
        "colorize",
        help="colorize photos at full resolution",
        description=(
            "Colorize image files, folders (recursively) or glob patterns. The network predicts ab from L resized "
            "so that its shorter side is --size pixels; ab is upsampled to the full resolution and recombined "
            "with the photo's own L. With one input, -o may name the output file "
            f"({', '.join(OUTPUT_EXTENSIONS)}); otherwise -o is a folder and the outputs keep the inputs' names, "
            "made unique. An output never replaces an input, and replaces an existing file only with --overwrite "
            "(both checked before any work). Files that cannot be read or decoded, FIFOs and devices (never "
            "read), photos over --max-pixels and, in folders, formats colorlab does not read (.gif, .heic, ...) "
            "are skipped with a warning and counted. " + _EXIT_STATUS_HELP
        ),
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders or glob patterns")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="output file (one input) or folder")
    parser.add_argument("--checkpoint", metavar="PATH",
                        help="a model file or training checkpoint/run folder (default: the committed "
                             "classification model)")
    parser.add_argument("--temperature", "-T", type=_temperature, default=T_ANNEALED, metavar="T",
                        help=f"annealed-mean temperature; 1 is the mean, 0 the mode (default: {T_ANNEALED})")
    parser.add_argument("--size", type=_bounded_int(MAX_SIZE), default=PREDICT_SIZE,
                        help=f"shorter side, in pixels, of the copy the network sees, at most {MAX_SIZE} "
                             f"(default: {PREDICT_SIZE})")
    _add_max_pixels(parser)
    parser.add_argument("--overwrite", action="store_true",
                        help="replace output files that exist already (never an input)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default: auto)")
    parser.add_argument("--side-by-side", action="store_true",
                        help="also write <name>_compare.<ext>: the input's L, the colorization and the original")
    parser.set_defaults(handler=_colorize)


def _colorize(args) -> int:
    from .colorize import colorize_files, expand_inputs, output_paths

    # bad inputs and outputs fail before the model loads
    output_paths(expand_inputs(args.inputs), args.output, compare=args.side_by_side, overwrite=args.overwrite)
    model = _load_for_cli(args.checkpoint, None, args.device)
    result = _reporting_warnings("colorize", colorize_files, model, args.inputs, args.output, args.temperature,
                                 args.size, compare=args.side_by_side, max_pixels=args.max_pixels,
                                 overwrite=args.overwrite)
    written = result["written"]
    where = written[0] if len(written) == 1 else args.output
    extra = f", {len(result['compared'])} comparison images" if result["compared"] else ""
    skipped = f"; skipped {len(result['skipped'])} file(s) (see the warnings)" if result["skipped"] else ""
    print(f"colorlab colorize: wrote {len(written)} image(s){extra} to {where}{skipped}")
    return EXIT_SKIPPED if result["skipped"] else 0


def _add_evaluate(subparsers) -> None:
    from .colorize import MAX_SIZE
    from .decode import T_ANNEALED
    from .evaluate import EVAL_SIZE, METHODS

    parser = subparsers.add_parser(
        "evaluate",
        help="compare colorization methods on a folder of colour photos",
        description=(
            "Treat the folder's colour photos as ground truth: cut the central square at --size, keep its L, and "
            f"colorize it with every method ({', '.join(METHODS)}). Prints mean [95% bootstrap interval] of AuC, "
            "rebalanced AuC, PSNR, SSIM and colourfulness per method (one photo gives no interval) and optionally "
            "writes every number as JSON. Models default to the committed ones. Files that cannot be read are "
            "skipped as by colorize; gray photos are left out by the protocol and do not change the exit status. "
            + _EXIT_STATUS_HELP
        ),
    )
    parser.add_argument("folder", metavar="FOLDER", help="a folder of colour photos (searched recursively)")
    parser.add_argument("--checkpoint", metavar="PATH", help="classification model (default: the committed one)")
    parser.add_argument("--regression-checkpoint", metavar="PATH",
                        help="regression model (default: the committed one)")
    parser.add_argument("--authors-checkpoint", metavar="PATH",
                        help="the authors' weights imported by `colorlab import-weights`: adds the methods "
                             "authors_mean (T = 1, their demo) and authors_annealed (at --temperature)")
    parser.add_argument("--json", metavar="OUT.json", help="write the full results, per image too, as JSON")
    parser.add_argument("--size", type=_bounded_int(MAX_SIZE), default=EVAL_SIZE,
                        help=f"side of the evaluated square in pixels, at most {MAX_SIZE} (default: {EVAL_SIZE})")
    parser.add_argument("--limit", type=_positive_int, metavar="N", help="evaluate only the first N photos")
    _add_max_pixels(parser)
    parser.add_argument("--temperature", "-T", type=_temperature, default=T_ANNEALED, metavar="T",
                        help=f"temperature of class_annealed (default: {T_ANNEALED})")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default: auto)")
    parser.set_defaults(handler=_evaluate)


def _evaluate(args) -> int:
    from ._atomic import writable_file
    from .data import list_images
    from .evaluate import evaluate_folder, format_table, write_json_atomic

    if args.temperature == 0:
        raise ValueError("--temperature must be positive for class_annealed (class_mode is already the T → 0 limit)")
    list_images(args.folder)  # a missing or empty folder fails before the models load
    if args.json is not None:
        writable_file(args.json, "--json", "results.json")  # fails before the work, not after
    classifier = _load_for_cli(args.checkpoint, "classification", args.device)
    regressor = _load_for_cli(args.regression_checkpoint, "regression", args.device)
    authors = None
    if args.authors_checkpoint is not None:
        authors = _load_for_cli(args.authors_checkpoint, "classification", args.device)
    result = _reporting_warnings("evaluate", evaluate_folder, args.folder, classifier, regressor, size=args.size,
                                 T=args.temperature, limit=args.limit, progress=True, max_pixels=args.max_pixels,
                                 authors=authors)
    result["checkpoints"] = {"classification": args.checkpoint or "committed",
                             "regression": args.regression_checkpoint or "committed"}
    if authors is not None:
        result["checkpoints"]["authors"] = args.authors_checkpoint
    print(format_table(result))
    if result["skipped"]:
        print(f"skipped {len(result['skipped'])} file(s): "
              + "; ".join(f"{s['image']} ({s['reason'].split(':')[0]})" for s in result["skipped"][:5])
              + (" ..." if len(result["skipped"]) > 5 else ""))
    if args.json is not None:
        write_json_atomic(result, args.json)
        print(f"wrote {args.json}")
    return EXIT_SKIPPED if result["n_unreadable"] else 0


def _add_bins(subparsers) -> None:
    parser = subparsers.add_parser(
        "bins",
        help="print (or plot) the 313 quantised ab bins",
        description="Print the ab bin centres (paper section 2.1: grid step 10, in the sRGB gamut) as "
                    "'index a b' lines, or draw them with --plot.",
    )
    parser.add_argument("--plot", metavar="OUT.png", help="draw the bins over the gamut into an image file")
    parser.add_argument("--lightness", type=float, default=50.0, metavar="L",
                        help="lightness at which --plot shows the bin colours (default: 50)")
    parser.set_defaults(handler=_bins)


def _bins(args) -> int:
    from .bins import ab_bins

    if args.plot is not None:
        from .evaluate import save_figure_atomic
        from .plot import ab_bins_grid

        if not 0 <= args.lightness <= 100:
            raise ValueError(f"--lightness must lie in [0, 100]; got {args.lightness:g}")
        save_figure_atomic(ab_bins_grid(args.lightness), args.plot)
        print(f"colorlab bins: wrote {args.plot}")
        return 0
    centres = ab_bins().round().long()
    lines = [f"{i:3d} {a:5d} {b:5d}" for i, (a, b) in enumerate(centres.tolist())]
    print("bin     a     b")
    print("\n".join(lines))
    print(f"{len(lines)} bins")
    return 0


# ----------------------------------------------------------------------------------------------------------
# export-onnx
# ----------------------------------------------------------------------------------------------------------


def _add_export_onnx(subparsers) -> None:
    from .models import PREDICT_SIZE
    from .web import AUTO_PRECISIONS, MAX_MODEL_BYTES, PRECISIONS

    parser = subparsers.add_parser(
        "export-onnx",
        help="write the classification model as one ONNX graph for web pages",
        description=(
            "Write the whole colorization of `colorlab colorize` as one ONNX graph with a dynamic height and "
            "width: inputs rgb (uint8, 1 x 3 x H x W) and temperature (float32 scalar), outputs colorized and "
            "gray (uint8, 1 x 3 x H x W). The book's in-browser panel runs it with onnxruntime-web."
        ),
    )
    parser.add_argument("-o", "--output", required=True, metavar="OUT.onnx", help="the file to write")
    parser.add_argument("--checkpoint", metavar="PATH",
                        help="a classification model file or training checkpoint (default: the committed one)")
    parser.add_argument("--precision", choices=("auto", *PRECISIONS), default="auto",
                        help=f"how the convolution kernels are stored; auto: the first of "
                             f"{', '.join(AUTO_PRECISIONS)} whose file has at most {MAX_MODEL_BYTES:,} bytes "
                             "(default: auto)")
    parser.add_argument("--size", type=_positive_int, default=PREDICT_SIZE,
                        help=f"shorter side, in pixels, of the copy the network sees, at least 8 (default: "
                             f"{PREDICT_SIZE})")
    parser.set_defaults(handler=_export_onnx)


def _export_onnx(args) -> int:
    from . import load_pretrained
    from ._atomic import writable_file
    from .web import export_onnx

    target = writable_file(args.output, "-o", "model.onnx", create=True)
    model = load_pretrained("classification", checkpoint=args.checkpoint)
    path, precision = export_onnx(model, target, args.precision, args.size)
    print(f"colorlab export-onnx: wrote {path} ({path.stat().st_size / 1e6:.1f} MB, {precision} kernels); "
          "inputs rgb uint8 (1, 3, H, W) and temperature float32 (); outputs colorized and gray uint8 "
          "(1, 3, H, W)")
    return 0


# ----------------------------------------------------------------------------------------------------------
# import-weights
# ----------------------------------------------------------------------------------------------------------


def _add_import_weights(subparsers) -> None:
    from .authors import AUTHORS_FILE, AUTHORS_URL

    parser = subparsers.add_parser(
        "import-weights",
        help="turn the authors' released ECCV16 weights into a colorlab model file",
        description=(
            f"Read the authors' PyTorch ECCV16 weights ({AUTHORS_FILE}, published by Zhang, Isola & Efros with "
            f"their repository richzhang/colorization at {AUTHORS_URL}), check every name and shape, and write "
            "them as a colorlab checkpoint of ECCV16 at width 1: --checkpoint of colorize, --authors-checkpoint "
            "of evaluate, colorlab.load_model in Python. Decode at T = 1 to reproduce the authors' PyTorch demo."
        ),
    )
    parser.add_argument("path", metavar="PATH", help=f"the authors' weights ({AUTHORS_FILE})")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.pt", help="the colorlab checkpoint to write")
    parser.add_argument("--half", action="store_true",
                        help="store float16 weights, as the book's model files do (65 MB instead of 130 MB)")
    parser.set_defaults(handler=_import_weights)


def _import_weights(args) -> int:
    from .authors import AUTHORS_T, import_authors_weights

    report = import_authors_weights(args.path, args.output, half=args.half)
    size = report["output"].stat().st_size / 1e6
    release = "the released file" if report["released"] else "not the released file's SHA-256"
    scale = "" if abs(report["ab_scale"] - 1) < 1e-3 else (
        f"; model_out is the bin centres × {report['ab_scale']:.4g}: the authors' ab are that many times colorlab's")
    print(f"colorlab import-weights: wrote {report['output']} ({size:.1f} MB, ECCV16 width 1, {report['tensors']} "
          f"tensors read, {release}{scale}); decode at T = {AUTHORS_T:g} for the authors' demo")
    return 0


# ----------------------------------------------------------------------------------------------------------
# The program
# ----------------------------------------------------------------------------------------------------------

#: Functions that each add one subcommand to the parser, in the order ``--help`` lists them.
COMMANDS = [_add_colorize, _add_train, _add_prepare, _add_evaluate, _add_bins, _add_export_onnx, _add_import_weights]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``colorlab`` with every subcommand of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="colorlab",
        description="Colorful Image Colorization (Zhang, Isola & Efros, ECCV 2016): tools of the colorlab book.",
    )
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="command")
    for add in COMMANDS:
        add(subparsers)
    return parser


def main(argv=None) -> int:
    """Run ``colorlab`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt as interrupt:  # e.g. colorlab.train.TrainingInterrupted, which says how to resume
        detail = f": {interrupt}" if str(interrupt) else ""
        print(f"colorlab {args.command}: interrupted{detail}", file=sys.stderr)
        return 130
    except Exception as error:  # one clear line instead of a traceback (unless --debug)
        if args.debug:
            raise
        known = (ValueError, TypeError, OSError, FloatingPointError)
        message = str(error).strip().replace("\n", " ") or type(error).__name__
        if not isinstance(error, known):
            message = f"{type(error).__name__}: {message} (run with --debug for the traceback)"
        print(f"colorlab {args.command}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
