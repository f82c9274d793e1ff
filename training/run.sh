#!/usr/bin/env bash
# The whole pipeline: `npm run train` (full, writes public/models/sortofclevr-llama + docs/bench/accuracy.json)
# or `npm run train -- --smoke` / TRAIN_SMOKE=1 (a few steps, everything under a fresh temp directory).
set -euo pipefail
cd "$(dirname "$0")/.."
SMOKE=0
EXTRA=()
for a in "$@"; do
  case "$a" in
    --smoke) SMOKE=1 ;;
    *) EXTRA+=("$a") ;;
  esac
done
[ "${TRAIN_SMOKE:-0}" = "1" ] && SMOKE=1
PY=/usr/bin/python3
export OPENBLAS_NUM_THREADS=${TRAIN_THREADS:-1} OMP_NUM_THREADS=${TRAIN_THREADS:-1}
if [ "$SMOKE" = "1" ]; then
  OUT=$(mktemp -d /tmp/memvp-smoke.XXXXXX)
  DATA=$OUT/data; WORK=$OUT/work; MODELS=$OUT/models; BENCH=$OUT/accuracy.json; FLAG=--smoke
else
  DATA=training/data; WORK=training/work; MODELS=public/models/sortofclevr-llama; BENCH=docs/bench/accuracy.json; FLAG=
fi
echo "== train: smoke=$SMOKE data=$DATA work=$WORK models=$MODELS"
START=$(date +%s)
npx vite-node scripts/export-dataset.ts -- --out "$DATA" $FLAG
$PY training/pipeline.py --data "$DATA" --work "$WORK" --models "$MODELS" --bench "$BENCH" $FLAG ${EXTRA[@]+"${EXTRA[@]}"}
npx vite-node scripts/check-onnx.ts -- "$WORK/onnx-check" "$MODELS"
# the 4-bit copy of the package that the zoo ships beside it (npm run zoo:q4 does the same for the default paths)
npx vite-node scripts/memvp.ts -- quantize "$MODELS" "$MODELS-q4" --bits 4 --vision-bits 8
echo "== train: done in $(( $(date +%s) - START )) s -> $MODELS, $BENCH"
