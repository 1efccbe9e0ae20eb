#!/usr/bin/env bash
# The whole GPU check of colorlab on one CUDA GPU, unattended, in under 8 minutes. It writes a results file:
#
#   bash benchmarks/gpu.sh [OUT_DIR]      # OUT_DIR defaults to $OUT, else gpu-results/
#
# Phases (each with its own time limit; a failing phase is reported and the next one runs):
#   1. environment   torch, CUDA, the GPU, native bf16, CPU cores; which Python packages are missing
#   2. cuda-tests    the CUDA tests of the test suite (pytest -m cuda), when pytest is installed
#   3. syncs         host-device synchronisations and host-to-device copies per training step
#                    (benchmarks/step_syncs.py: torch.cuda.set_sync_debug_mode and dispatch counting)
#   4. throughput    ECCV16 at width 1, 176² crops, batch 40, bf16, channels_last (benchmarks/train_throughput.py):
#                    steps fed by the real loader with 8 and 14 workers; one loader worker's decoding rate
#                    before/after and on prepared photos; synthetic batches with compile off and on; peak memory
#   5. train         a real run of `colorlab train --config configs/gpu.yaml` on the prepared photos, stopped by
#                    SIGTERM after TRAIN_SECONDS (180; less if the budget is short): does the loss fall, how fast
#                    does it train, does it stop cleanly with a checkpoint
# The photos: $PHOTOS, else ../shared/photos/train or shared/photos/train beside the repository; without them,
# 1,000 synthetic JPEGs (500 × 375) stand in. Phase 4 and 5 use them after `colorlab prepare --short-side 256`.
# Nothing is downloaded or installed: the machine's Python needs torch (CUDA), numpy, pillow, pyyaml and tqdm
# (pytest for phase 2). Environment: PYTHON, PHOTOS, TRAIN_SECONDS (180), BUDGET_SECONDS (455: the whole run,
# a phase's kill grace and the summary stay under 480 s); and, to check the script itself on a CPU:
# DEVICE=cpu WIDTH=0.0625 SIZE=32 BATCH=4 STEPS=2 WORKERS="1 2" TRAIN_SECONDS=60, with LIMIT_FACTOR=N to give
# every phase N times its time limit (and BUDGET_SECONDS=N × 455) on a slow machine.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR=$(mkdir -p "${1:-${OUT:-gpu-results}}" && cd "${1:-${OUT:-gpu-results}}" && pwd)
RESULTS=$OUT_DIR/gpu_results.md
PYTHON=${PYTHON:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}
TRAIN_SECONDS=${TRAIN_SECONDS:-180}
BUDGET_SECONDS=${BUDGET_SECONDS:-455}
DEVICE=${DEVICE:-cuda} WIDTH=${WIDTH:-1} SIZE=${SIZE:-176} BATCH=${BATCH:-40} STEPS=${STEPS:-40}
read -r -a WORKERS <<<"${WORKERS:-8 14}"
LIMIT_FACTOR=${LIMIT_FACTOR:-1}
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/colorlab-gpu.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
START=$SECONDS

# run_phase NAME LIMIT_SECONDS COMMAND...: run with a time limit (cut to what is left of the budget), log to
# OUT_DIR/NAME.log, and add a status line to the results file.
run_phase() {
  local name=$1 limit=$(($2 * LIMIT_FACTOR)) left
  shift 2
  left=$((BUDGET_SECONDS - (SECONDS - START)))
  ((limit > left)) && limit=$left
  if ((limit < 20)); then
    echo "- **$name**: skipped, the time budget is spent" >>"$RESULTS"
    return 1
  fi
  echo "==> $name (limit ${limit} s)"
  local started=$SECONDS status
  timeout -k 10 "$limit" "$@" >"$OUT_DIR/$name.log" 2>&1
  status=$?
  echo "- **$name**: exit status $status after $((SECONDS - started)) s (log: $name.log)" >>"$RESULTS"
  tail -n 5 "$OUT_DIR/$name.log"
  return $status
}

{
  echo "# colorlab GPU check"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo
  echo "## Phases"
  echo
} >"$RESULTS"

# 1. The environment.
run_phase environment 60 "$PYTHON" - "$DEVICE" <<'PY'
import importlib.util, os, sys, torch
print(f"python {sys.version.split()[0]}, torch {torch.__version__}, CUDA {torch.version.cuda}, "
      f"cuDNN {torch.backends.cudnn.version()}; CPU cores available: {len(os.sched_getaffinity(0))}")
if sys.argv[1] == "cuda":
    assert torch.cuda.is_available(), "benchmarks/gpu.sh needs a CUDA device"
    p = torch.cuda.get_device_properties(0)
    print(f"GPU: {p.name}, {p.total_memory / 2**30:.0f} GiB, compute capability {p.major}.{p.minor}, "
          f"native bf16: {torch.cuda.is_bf16_supported(including_emulation=False)}")
missing = [m for m in ("numpy", "PIL", "yaml", "tqdm", "pytest", "skimage", "scipy")
           if importlib.util.find_spec(m) is None]
print("missing Python packages:", ", ".join(missing) or "none")
sys.exit(1 if {"numpy", "PIL", "yaml", "tqdm"} & set(missing) else 0)
PY
(($? == 0)) || { echo "the environment cannot run colorlab; see $OUT_DIR/environment.log"; exit 1; }
{ echo; sed 's/^/    /' "$OUT_DIR/environment.log"; echo; } >>"$RESULTS"

# The photos, and the same photos prepared once (colorlab prepare, shorter side 256).
PHOTOS=${PHOTOS:-}
for candidate in ../shared/photos/train shared/photos/train; do
  [[ -z $PHOTOS && -d $candidate ]] && PHOTOS=$candidate
done
if [[ -z $PHOTOS ]]; then
  PHOTOS=$WORK/synthetic
  "$PYTHON" - "$PHOTOS" <<'PY'
import sys, pathlib, numpy as np, torch, torch.nn.functional as F
from PIL import Image
folder = pathlib.Path(sys.argv[1]); folder.mkdir(parents=True)
g = torch.Generator().manual_seed(0)
for i in range(1000):  # smooth random colour images, JPEG-compressed like photos
    rgb = F.interpolate(torch.rand(1, 3, 12, 16, generator=g), size=(375, 500), mode="bicubic")[0].clamp(0, 1)
    Image.fromarray((rgb.permute(1, 2, 0) * 255).byte().numpy()).save(folder / f"{i:04d}.jpg", quality=90)
PY
  echo "- photos: none found; 1,000 synthetic JPEGs (500 × 375) stand in" >>"$RESULTS"
else
  echo "- photos: $PHOTOS ($(find "$PHOTOS" -type f | wc -l) files)" >>"$RESULTS"
fi
PREPARED=$WORK/prepared
run_phase prepare 90 "$PYTHON" -m colorlab.cli prepare "$PHOTOS" "$PREPARED" --short-side 256

# 2. The CUDA tests.
if [[ $DEVICE != cuda ]]; then
  echo "- **cuda-tests**: skipped on $DEVICE" >>"$RESULTS"
elif "$PYTHON" -c "import pytest" 2>/dev/null; then
  run_phase cuda-tests 120 "$PYTHON" -m pytest -q -o addopts="" -p no:cacheprovider -m cuda \
    --continue-on-collection-errors tests
else
  echo "- **cuda-tests**: skipped, pytest is not installed" >>"$RESULTS"
fi

# 3. Synchronisations per step.
run_phase syncs 90 "$PYTHON" benchmarks/step_syncs.py --device "$DEVICE" --json "$OUT_DIR/syncs.json"

# 4. Throughput.
BENCH=("$PYTHON" benchmarks/train_throughput.py --model eccv16 --width "$WIDTH" --size "$SIZE" --batch "$BATCH"
  --device "$DEVICE" --amp --channels-last --format json --steps "$STEPS")
rounds=1  # the per-worker decoding rates, measured once
for workers in "${WORKERS[@]}"; do
  run_phase "throughput-loader-$workers" 100 "${BENCH[@]}" --warmup 5 --loader folder --data-dir "$PHOTOS" \
    --prepared-dir "$PREPARED" --workers "$workers" --decode-rounds "$rounds"
  rounds=0
done

# torch.compile on synthetic batches (before the training run, which takes what is left of the budget).
run_phase throughput-compile 150 "${BENCH[@]}" --warmup 10 --compile

# 5. A real training run, stopped by SIGTERM (exit status 130: interrupted, with a checkpoint). It gets
# TRAIN_SECONDS, or less when the budget is short, and 40 s more to start and to stop at a checkpoint.
left=$((BUDGET_SECONDS - (SECONDS - START) - 40))
train_seconds=$((TRAIN_SECONDS < left ? TRAIN_SECONDS : left))
run_phase train $((train_seconds + 40)) timeout --preserve-status -s TERM "$train_seconds" "$PYTHON" -m colorlab.cli \
  train --config configs/gpu.yaml --data-dir "$PREPARED" --device "$DEVICE" --width "$WIDTH" --image-size "$SIZE" \
  --batch-size "$BATCH" --holdout 0 --steps 1000000 --log-every 100 --checkpoint-every 1000000 --run-dir "$WORK/run"
cp "$WORK/run/log.jsonl" "$WORK/run/config.yaml" "$OUT_DIR/" 2>/dev/null

# The summary: a table for benchmarks/RESULTS.md.
"$PYTHON" - "$OUT_DIR" "$WORK/run" "${WORKERS[@]}" >>"$RESULTS" <<'PY'
import json, pathlib, sys
out, run, workers = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3:]

def result(name):
    try:
        lines = (out / f"{name}.log").read_text().splitlines()
        return json.loads(next(line for line in reversed(lines) if line.startswith("{")))
    except Exception:
        return None

first = result(f"throughput-loader-{workers[0]}") or {}
print(f"\n## Training throughput: ECCV16 width {first.get('width', '?')}, {first.get('size', '?')}² crops, "
      f"batch {first.get('batch', '?')}, channels_last, on {first.get('device', '?')}\n")
print("| run | images/s | TFLOP/s | loader-fed images/s | peak memory (GiB) |")
print("|---|---:|---:|---:|---:|")
runs = [(f"throughput-loader-{n}", f"compile off; loader: {n} workers") for n in workers]
for name, label in runs + [("throughput-compile", "compile on (synthetic batches only)")]:
    r = result(name)
    if r is None:
        print(f"| {label} | failed | | | |")
        continue
    loader = f"{r['loader_images_per_s']:.0f}" if "loader_images_per_s" in r else "-"
    peak = f"{r['peak_memory_gib']:.1f}" if "peak_memory_gib" in r else "-"
    print(f"| {label} ({r['amp']}) | {r['step_images_per_s']:.0f} | {r['step_tflops']:.1f} | {loader} | {peak} |")
r = first
if r and "decode_before_images_per_s" in r:
    b, a, p = (r[f"decode_{k}_images_per_s"] for k in ("before", "after", "prepared"))
    print(f"\nOne loader worker ({r['decode_files']} files, {r['size']}² crops): before {b:.0f} images/s, after {a:.0f} "
          f"({a / b:.2f}x), on prepared photos {p:.0f} ({p / b:.2f}x).")
try:
    s = json.loads((out / "syncs.json").read_text())
    print(f"\nPer training step after the first ({s['device']}, {s['steps']} steps): "
          + ", ".join(f"{k} {v:g}" for k, v in s["per_step_after_the_first"].items()))
except Exception:
    print("\nSyncs per step: not measured (see syncs.log)")
try:
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines() if line.strip()]
    start, end = records[0], records[-1]
    falls = "falls" if end["loss"] < start["loss"] else "DOES NOT FALL"
    speed = sorted(x["images_per_s"] for x in records[1:] if x["images_per_s"]) or [float("nan")]
    print(f"\nTraining run: {end['step']} steps in {end['time']:.0f} s; loss {start['loss']:.3f} at step "
          f"{start['step']} -> {end['loss']:.3f} at step {end['step']} ({falls}); median "
          f"{speed[len(speed) // 2]:.0f} images/s; checkpoint written: {(run / 'checkpoint.pt').is_file()}")
except Exception as error:
    print(f"\nTraining run: no log ({error})")
PY
echo "==> all phases: $((SECONDS - START)) s"
echo "- total: $((SECONDS - START)) s" >>"$RESULTS"
echo "results: $RESULTS"
cat "$RESULTS"
