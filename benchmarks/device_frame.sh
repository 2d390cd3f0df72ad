#!/usr/bin/env bash
# Issue 17's frame and the GPU speed table on a lent device machine (one H200,
# 16 cores): `run` it from the repository root with `.whl` (SAELens and the
# packages it imports that the machine lacks, as wheels) and `.devdata` (the
# offline model and text, and a stand-in for wandb) carried. Rows land in
# $OUT/per_sign_runs.jsonl as runs finish; `quality_frame.py` resumes the plan
# from them anywhere else.
#   PLAN (default benchmarks/per_sign_plan.json), JOBS (14), DEVICES (cuda),
#   SECONDS_FOR_RUNS (start no run after this; default 450), SPEED (1: GPU table)
set -u
START=$(date +%s)
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
[ -n "${SKIP_INSTALL:-}" ] || python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD:$PWD/studies:$PWD/benchmarks:$PWD/.devdata/stubs
export SAE_SIGNAWARE_ASSETS=$PWD/.devdata/assets HF_HUB_OFFLINE=1
export HF_HUB_CACHE=$PWD/.devdata/assets/hf-cache/hub PYTHONUNBUFFERED=1 TQDM_DISABLE=1
DEVICES=${DEVICES:-cuda}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null
python3 -c "import torch, sae_lens_signaware; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" || exit 1
if [ "${SPEED:-1}" = 1 ]; then
    timeout 150 python3 benchmarks/speed.py --device "${DEVICES%%,*}" --sizes gpu \
        --precisions float32 bf16-autocast --only "sign_aware" "gated (2H)" "topk (2H)" \
        --threads 0 --steps 10 --output "$OUT/speed_gpu.json" > "$OUT/speed_gpu.log" 2>&1
    tail -25 "$OUT/speed_gpu.log"
fi
LEFT=$(( ${SECONDS_FOR_RUNS:-450} - ($(date +%s) - START) ))
python3 benchmarks/quality_frame.py --frame per_sign --plan "${PLAN:-benchmarks/per_sign_plan.json}" \
    --jobs "${JOBS:-14}" --devices "$DEVICES" --cache-device "${DEVICES%%,*}" --cache-threads 8 \
    --minutes "$(python3 -c "print(max($LEFT, 0) / 60)")" --out "$OUT/per_sign_runs.jsonl" \
    --cache-dir "${CACHE_DIR:-/tmp/frame-cache}" > "$OUT/frame.log" 2>    --cache-dir /tmp/frame-cache > "$OUT/frame.log" 2>&11
grep -c "^\[frame\] " "$OUT/frame.log"; grep "FAILED\|Error" "$OUT/frame.log" | head -5
wc -l "$OUT/per_sign_runs.jsonl"; echo "seconds: $(( $(date +%s) - START ))"
