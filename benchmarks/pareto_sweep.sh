#!/bin/bash
# The committed Pareto sweep (docs/results/pareto), as it was run: two halves in
# parallel, one torch thread each (a 2-core machine), then one call that only
# rewrites the summary, tables and plots from all finished runs (resumable:
# stop it any time and run it again).
#
# Seed 0: all 8 architectures. Seeds 1 and 2: the four the claims compare
# (SA-GSAE, Gated, no auxiliary loss, untied thresholds).
#
#   HF_HUB_OFFLINE=1 HF_HUB_CACHE=../shared/assets/hf-cache/hub bash benchmarks/pareto_sweep.sh
set -euo pipefail
OUT=${OUT:-docs/results/pareto}
P="sae-signaware bench pareto --out $OUT --steps 1000 --threads 1"
(
    $P --archs sa_gsae,gated,jumprelu,topk --seeds 0
    $P --archs sa_gsae,gated --seeds 1
    $P --archs sa_gsae --seeds 2
) > "$OUT.a.log" 2>&1 &
(
    $P --archs abstopk,sa_one_sided,sa_no_aux,sa_untied --seeds 0
    $P --archs sa_no_aux,sa_untied --seeds 1 2
    $P --archs gated --seeds 2
) > "$OUT.b.log" 2>&1 &
wait
$P --seeds 0 1 2 --archs sa_gsae,gated,sa_no_aux,sa_untied
