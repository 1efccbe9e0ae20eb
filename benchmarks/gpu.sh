#!/usr/bin/env bash
# Training throughput of the paper's network on one GPU: ECCV16 (width 1) at the paper's 176² crops with
# batch 40 and at 256² with batch 32, bfloat16 autocast and channels_last, with and without torch.compile.
# Prints one table (images/s and achieved TFLOP/s; see benchmarks/train_throughput.py for what is counted).
#
#   bash benchmarks/gpu.sh                 # uses .venv/bin/python when it exists, else python3
#   STEPS=50 bash benchmarks/gpu.sh        # more timed steps
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
STEPS=${STEPS:-20}
WARMUP=${WARMUP:-5}

DEVICE=${DEVICE:-cuda}   # DEVICE=cpu WIDTH=0.125 STEPS=1 WARMUP=1 checks the script itself on a CPU
WIDTH=${WIDTH:-1}

"$PYTHON" - "$DEVICE" <<'PY'
import sys, torch
device = torch.device(sys.argv[1])
if device.type == "cuda":
    assert torch.cuda.is_available(), "benchmarks/gpu.sh needs a CUDA device"
    print(f"device: {torch.cuda.get_device_name(device)}, torch {torch.__version__}, CUDA {torch.version.cuda}")
else:
    print(f"device: {device}, torch {torch.__version__}")
sys.path.insert(0, "benchmarks")
import train_throughput
print(train_throughput.ROW_HEADER)
PY
for compile in "" "--compile"; do
  for shape in "176 40" "256 32"; do
    set -- $shape
    "$PYTHON" benchmarks/train_throughput.py --model eccv16 --width "$WIDTH" --size "$1" --batch "$2" --device "$DEVICE" \
      --amp --channels-last $compile --steps "$STEPS" --warmup "$WARMUP" --format row
  done
done
