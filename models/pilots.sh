#!/usr/bin/env bash
# The pilot runs that chose the recipe of the book's models (models/README.md), and their table.
#
#   bash models/pilots.sh PHOTOS [RUNS]
#
# PHOTOS holds the photo pool and its manifest.csv; RUNS (default runs/pilots) receives the split, the prepared
# training photos, one folder per pilot and table.md. Each pilot trains on one thread for the same budget of
# about a quarter of an hour on a two-core CPU (600 steps of the base recipe; wider networks, larger crops and
# larger batches get proportionally fewer steps), then is evaluated on the validation photos. Two pilots run
# side by side.
set -euo pipefail
photos=${1:?usage: bash models/pilots.sh PHOTOS [RUNS]}
runs=${2:-runs/pilots}
here=$(cd "$(dirname "$0")" && pwd)
export OMP_NUM_THREADS=1

python "$here/split_photos.py" "$photos" "$runs/split"
colorlab prepare "$runs/split/train" "$runs/train256" --short-side 256

pilot() {  # pilot NAME STEPS [colorlab train flags]: train, then evaluate on the validation photos
  local name=$1 steps=$2
  shift 2
  colorlab train --config "$here/../configs/cpu.yaml" --data-dir "$runs/train256" --holdout 0 \
    --steps "$steps" --lr-decay-steps $((steps * 2 / 3)) $((steps * 87 / 100)) --checkpoint-every "$steps" \
    --log-every 20 --channels-last --run-dir "$runs/$name" "$@"
  local kind=(--checkpoint "$runs/$name/checkpoint.pt")
  [[ " $* " == *" --model regression "* ]] && kind=(--regression-checkpoint "$runs/$name/checkpoint.pt")
  colorlab evaluate "$runs/split/val" "${kind[@]}" --json "$runs/$name/val.json"
}

pilot base 600 & pilot reg-base 600 --model regression & wait
pilot width0.5 170 --width 0.5 & pilot lr1e-3 600 --lr 1e-3 & wait
pilot crop176 320 --image-size 176 & pilot lam1 600 --lam 1.0 & wait
pilot prior-imagenet 600 --prior imagenet & pilot lam0.25 600 --lam 0.25 & wait
pilot batch32 300 --batch-size 32 & pilot nodecay 600 --lr-decay 1.0 & wait

names=(base reg-base width0.5 crop176 lr1e-3 nodecay batch32 lam1 lam0.25 prior-imagenet)
python "$here/pilot_table.py" "${names[@]/#/$runs/}" | tee "$runs/table.md"
