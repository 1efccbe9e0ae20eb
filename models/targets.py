"""Check the book models against their targets on the validation photos (models/README.md).

    python models/targets.py VAL_JSON [CLASSIFIER_METHOD]

CLASSIFIER_METHOD is the decoding of the classifier held to the targets: class_annealed (the default, T = 0.38),
class_mean or class_mode. VAL_JSON is written by ``colorlab evaluate VAL_FOLDER --json VAL_JSON`` with the committed models. Each row is a
paired difference over the same photos (mean and 95% bootstrap interval, colorlab.evaluate.paired_difference) or a
ratio of mean colourfulness to the photos' own, and whether it meets its target.
"""

from __future__ import annotations

import json
import sys

from colorlab.claims import RAW_AUC_TOLERANCE
from colorlab.evaluate import paired_difference

#: The classifier's colourfulness must lie within this fraction of the photos' own.
COLOURFULNESS_TOLERANCE = 0.2


def _difference(result: dict, a: str, b: str, metric: str) -> tuple[str, float, float]:
    mean, lo, hi = (100 * v for v in paired_difference(result, a, b, metric))
    return f"{mean:+z.2f} [{lo:+z.2f}, {hi:+z.2f}] points", mean, lo


def _ratio(result: dict, method: str) -> float:
    return result["methods"][method]["colorfulness"]["mean"] / result["ground_truth"]["colorfulness"]["mean"]


def targets(result: dict, classifier: str = "class_annealed") -> list[tuple[str, str, str, bool]]:
    """(quantity, measured, target, met) for each target, with the classifier decoded as ``classifier``."""
    rows = []
    for other in ("regression", "gray"):
        text, _, lo = _difference(result, classifier, other, "auc_rebal")
        rows.append((f"rebalanced AuC, {classifier} − {other}", text, "interval above 0", lo > 0))
    text, mean, _ = _difference(result, classifier, "gray", "auc")
    rows.append((f"raw AuC, {classifier} − gray", text, f"mean ≥ −{RAW_AUC_TOLERANCE:g}", mean >= -RAW_AUC_TOLERANCE))
    ratio = _ratio(result, classifier)
    rows.append((f"colourfulness, {classifier} / photos", f"{ratio:.2f}", f"1 ± {COLOURFULNESS_TOLERANCE:g}",
                 abs(ratio - 1) <= COLOURFULNESS_TOLERANCE))
    text, _, lo = _difference(result, "regression", "gray", "auc_rebal")
    rows.append(("rebalanced AuC, regression − gray", text, "interval above 0", lo > 0))
    ratio = _ratio(result, "regression")
    rows.append(("colourfulness, regression / photos", f"{ratio:.2f}", "clearly below 1 (≤ 0.8)", ratio <= 0.8))
    return rows


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) not in (1, 2):
        print(__doc__, file=sys.stderr)
        return 2
    result = json.loads(open(argv[0], encoding="utf-8").read())
    classifier = argv[1] if len(argv) == 2 else "class_annealed"
    print(f"{result['n_images']} photos\n")
    print("| quantity | measured | target | met? |\n|---|---|---|---|")
    for quantity, measured, target, met in targets(result, classifier):
        print(f"| {quantity} | {measured} | {target} | {'yes' if met else '**no**'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
