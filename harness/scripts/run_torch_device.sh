#!/usr/bin/env bash
# One device call for the torch stacks:  bash harness/scripts/run_torch_device.sh PHASE
#   PHASE = micro   : full microbenchmark families (launch, elementwise, gemm, attention, prefill attention)
#                     after a quick end-to-end shake-out of the step code
#   PHASE = micro-only : the microbenchmark families alone
#   PHASE = e2e     : full end-to-end families, main set then hold-out set
#   PHASE = fp8     : fp8 GEMMs (torch._scaled_mm) + activation casts, then end-to-end steps with fp8 weights
#   PHASE = ew-decode: elementwise ops in the decode layout (B requests x 1 token), warm and after an L2 flush
#   PHASE = holdout2: the second end-to-end hold-out set (head_dim 96, odd group sizes, a 12B shape)
#   PHASE = profile : per-kernel times inside end-to-end steps (CUPTI; PROFILE_POINTS_H2 / _MAIN)
#   PHASE = holdout3: the gap probe (torch_gap_probe.py), the third end-to-end hold-out set, its per-kernel profiles
#   PHASE = sets    : the end-to-end sets named in E2E_SETS ("main:290 holdout2:140": set and time budget in s)
#   PHASE = layer   : elementwise ops in their layer's regime (behind an L2 flush and the writer of their
#                     input), then SDPA decode at the head_dims FA2 pads (80, 96, 112, 160, 192)
#   PHASE = power-decode-shapes: decode-attention power bursts at five shapes
#   PHASE = attention-shapes: SDPA decode at MQA / few-KV-head layouts the main grid lacks (session 11)
#   PHASE = attention-context: SDPA decode by K/V footprint and GEMM context (diagnostic), attention-shapes (session 12)
#   PHASE = attention-knobs: cuDNN decode kernels by (n_kv, g, head_dim) (diagnostic), then causal prefill at
#                     head_dims 64 (cuDNN) and 80-160 (session 12)
#   PHASE = cudnn-ctas: cuDNN decode at 72-160 unsplit CTAs (session 12); E2E_SETS="holdout8:330" ... sets: the eighth hold-out (session 13)
#   PHASE = grids   : SDPA decode launch grids and blocks per SM from the profiler trace, both stacks (session 13)
#   PHASE = profile-s14: per-kernel profiles of the holdout8 / holdout9 steps each stack misses most (session 14)
#   PHASE = session14: the tenth end-to-end hold-out set, launch grids at odd contexts / head_dims, cuDNN decode at
#                     head_dims 80-192
#   PHASE = session15: the twelfth end-to-end hold-out set, SDPA decode at 70-530 CTAs (partial waves)
#   PHASE = holdout13: the thirteenth end-to-end hold-out set (after session 15's model changes)
#   PHASE = session16: the thirteenth end-to-end hold-out set again (session 15's copy was lost before it landed)
#                     and the fourteenth, both after session 15-16's model changes
#   PHASE = profile-s16: per-kernel profiles of the sub-1B steps torch-flash predicts 8-11 % slow
#   PHASE = session16c: the sixteenth end-to-end hold-out set (after every session-16 change)
#   PHASE = session16b: GEMMs at non-power-of-two rows and sub-1B shapes, SDPA decode in FA2's split regime and
#                     cuDNN's 1-2 waves, elementwise chains at widths 576-1280 (one file), the holdout13 steps both
#                     stacks miss most kernel by kernel, then the fifteenth end-to-end hold-out set
#   PHASE = session17: the seventeenth end-to-end hold-out set (before any session-17 change), then the power bursts
#                     and the GEMM / causal-prefill / launch grids on a second unit
#   PHASE = power-rests: GEMM power bursts after 0.1-20 ms of idle (the headroom's refill with rest)
#   PHASE = power-cudnn: prefill-attention power bursts on both SDPA backends (session 17)
#   PHASE = newgpu-1: on a GPU the torch stacks were never fitted on, every fitted family but SDPA decode's extra
#                     grids (the micro grid, elementwise cold / chains, power bursts and rests, fp8 GEMMs, cuDNN decode
#                     at head_dims 64 / 256), with the H200's flags (torch-fit-files.txt), into the H200's file names
#   PHASE = newgpu-2: the rest: SDPA decode at padded head_dims, MQA layouts, cuDNN CTAs / head_dims, partial waves,
#                     split regimes, causal prefill at head_dims 64-160; then the main end-to-end set
#   PHASE = holdout6: the sixth end-to-end hold-out set (both stacks), cuDNN / FA2 per-kernel profiles (session 12)
#   PHASE = profile-worst: per-kernel profiles of the steps the model misses most (session 11)
#   PHASE = chain   : elementwise ops behind the GEMM and ops that precede them in a step, then the fifth
#                     end-to-end hold-out set (small models, MQA at head_dim 128 / 256)
#   PHASE = power   : bursts of back-to-back GEMMs / prefill attentions (the power governor's clock)
# Results (JSON + logs) go to $OUT (or ./torch-out). Env: KVBENCH_GIT_SHA, TORCH_BENCH_BUDGET_S.
set -uo pipefail
phase=${1:-micro}
case "$phase" in profile | holdout3 | small-models | profile-worst | holdout6 | profile-s14 | session16b | profile-s16) . "$(dirname "$0")/profile_points.env" ;; esac
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-$root/torch-out}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
sha=${KVBENCH_GIT_SHA:-$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)}
tb="$root/harness/scripts/torch_bench.py"
echo "== torch device run: phase=$phase sha=$sha host=$(hostname) date=$(date -u +%FT%TZ)"
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,clocks.sm,power.limit,ecc.mode.current --format=csv 2>&1 | head -3
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version())'
rc=0
# bench NAME BUDGET_S NOTES ARGS...: one full torch_bench run into $out/NAME.json (+ .log), its summary lines shown
bench() {
  local name=$1 budget=$2 notes=$3
  shift 3
  python3 "$tb" --mode full "$@" --out-json "$out/$name.json" --git-sha "$sha" --budget-s "$budget" --notes "$notes" \
    >"$out/$name.log" 2>&1 || rc=1
  grep -E "^==|Traceback|Error" "$out/$name.log" | tail -6
}
# profile_step NAME SET BACKEND POINTS: one torch_step_profile run into $out/NAME.json (+ .log), its last lines shown
profile_step() {
  python3 "$root/harness/scripts/torch_step_profile.py" --set "$2" --backend "$3" --git-sha "$sha" \
    --out-json "$out/$1.json" --points "$4" >"$out/$1.log" 2>&1 || rc=1
  tail -4 "$out/$1.log"
}
case "$phase" in
  micro-only)
    python3 "$tb" --mode full --families launch,elementwise,gemm,attention,attention_prefill \
      --out-json "$out/torch-micro.json" --git-sha "$sha" --budget-s "${TORCH_BENCH_BUDGET_S:-430}" \
      --notes "torch stacks: microbenchmark families" >"$out/torch-micro.log" 2>&1 || rc=1
    grep -E "^==|Traceback|Error|separator" "$out/torch-micro.log" | tail -40
    ;;
  micro)
    python3 "$tb" --mode quick --families e2e --out-json "$out/torch-e2e-quick.json" --git-sha "$sha" --budget-s 60 \
      2>&1 | tee "$out/torch-e2e-quick.log" | tail -40 || rc=1
    python3 "$tb" --mode full --families launch,elementwise,gemm,attention,attention_prefill \
      --out-json "$out/torch-micro.json" --git-sha "$sha" --budget-s "${TORCH_BENCH_BUDGET_S:-430}" \
      --notes "torch stacks: microbenchmark families" >"$out/torch-micro.log" 2>&1 || rc=1
    grep -E "^==|Traceback|Error" "$out/torch-micro.log" | tail -40
    ;;
  e2e)
    python3 "$tb" --mode full --families e2e --set main --out-json "$out/torch-e2e-main.json" --git-sha "$sha" \
      --budget-s "${TORCH_BENCH_BUDGET_S:-300}" --notes "torch stacks: end-to-end, main set" >"$out/torch-e2e-main.log" 2>&1 || rc=1
    grep -E "^==|Traceback|Error" "$out/torch-e2e-main.log" | tail -20
    python3 "$tb" --mode full --families e2e --set holdout --out-json "$out/torch-e2e-holdout.json" --git-sha "$sha" \
      --budget-s "${TORCH_BENCH_BUDGET_S2:-200}" --notes "torch stacks: end-to-end, hold-out set" >"$out/torch-e2e-holdout.log" 2>&1 || rc=1
    grep -E "^==|Traceback|Error" "$out/torch-e2e-holdout.log" | tail -20
    ;;
  fp8)
    python3 "$tb" --mode full --families gemm_fp8 --out-json "$out/torch-gemm-fp8.json" --git-sha "$sha" \
      --budget-s "${TORCH_BENCH_BUDGET_S:-200}" --notes "fp8 weight GEMMs (torch._scaled_mm)" >"$out/torch-gemm-fp8.log" 2>&1 || rc=1
    grep -E "^==|Traceback|Error|refused" "$out/torch-gemm-fp8.log" | tail -20
    python3 "$tb" --mode full --families e2e --set fp8w --stacks torch-flash --out-json "$out/torch-e2e-fp8w.json" \
      --git-sha "$sha" --budget-s "${TORCH_BENCH_BUDGET_S2:-200}" --notes "end-to-end steps, fp8 weights" \
      >"$out/torch-e2e-fp8w.log" 2>&1 || rc=1
    grep -E "^==|Traceback|Error" "$out/torch-e2e-fp8w.log" | tail -20
    ;;
  layer)
    python3 "$tb" --mode full --families elementwise_layer --out-json "$out/torch-elementwise-layer.json" \
      --git-sha "$sha" --budget-s "${TORCH_BENCH_BUDGET_S:-330}" --notes "elementwise ops in the layer regime (decode layout)" \
      >"$out/torch-elementwise-layer.log" 2>&1 || rc=1
    grep -E "^==|Traceback|Error" "$out/torch-elementwise-layer.log" | tail -20
    python3 "$tb" --mode full --families attention_dims --stacks torch-flash --out-json "$out/torch-attention-dims.json" \
      --git-sha "$sha" --budget-s "${TORCH_BENCH_BUDGET_S2:-150}" --notes "SDPA decode at padded head_dims" \
      >"$out/torch-attention-dims.log" 2>&1 || rc=1
    grep -E "^==|Traceback|Error" "$out/torch-attention-dims.log" | tail -20
    ;;
  ew-decode)
    python3 "$tb" --mode full --families elementwise_decode --cold-elementwise --out-json "$out/torch-elementwise-decode.json" \
      --git-sha "$sha" --budget-s "${TORCH_BENCH_BUDGET_S:-300}" --notes "elementwise ops in the decode layout (B requests x 1 token)" \
      >"$out/torch-elementwise-decode.log" 2>&1 || rc=1
    grep -E "^==|Traceback|Error" "$out/torch-elementwise-decode.log" | tail -20
    ;;
  holdout2)
    python3 "$tb" --mode full --families e2e --set holdout2 --stacks torch-flash --out-json "$out/torch-e2e-holdout2.json" \
      --git-sha "$sha" --budget-s "${TORCH_BENCH_BUDGET_S:-420}" --notes "torch stacks: end-to-end, second hold-out set" \
      >"$out/torch-e2e-holdout2.log" 2>&1 || rc=1
    grep -E "^==|Traceback|Error" "$out/torch-e2e-holdout2.log" | tail -20
    ;;
  power)
    python3 "$tb" --mode full --families power --out-json "$out/torch-power.json" --git-sha "$sha" \
      --budget-s "${TORCH_BENCH_BUDGET_S:-240}" --notes "clock of compute-bound bursts against burst length (power governor)" \
      >"$out/torch-power.log" 2>&1 || rc=1
    grep -E "^==|Traceback|Error|power " "$out/torch-power.log" | tail -90
    ;;
  power2)
    python3 "$tb" --mode full --families power --out-json "$out/torch-power.json" --git-sha "$sha" \
      --budget-s 120 --notes "clock of compute-bound bursts against burst length (power governor)" \
      >"$out/torch-power.log" 2>&1 || rc=1
    grep -E "Traceback|Error|power .*(gemm |copy rest= 20)" "$out/torch-power.log" | tail -30
    for set in main holdout; do
      python3 "$tb" --mode full --families e2e --set $set --prefill-only --sustained --stacks torch-flash \
        --out-json "$out/torch-e2e-sustained-$set.json" --git-sha "$sha" --budget-s 200 \
        --notes "end-to-end prefill steps, harness-timed and back to back (power_state sustained), $set set" \
        >"$out/torch-e2e-sustained-$set.log" 2>&1 || rc=1
      grep -E "^==|Traceback|Error|prefill" "$out/torch-e2e-sustained-$set.log" | tail -40
    done
    ;;
  profile)
    # per-kernel time inside end-to-end steps (diagnostic, never fitted): holdout2 shapes and main large batch
    python3 "$root/harness/scripts/torch_step_profile.py" --set holdout2 --git-sha "$sha" --out-json "$out/torch-step-profile-holdout2.json" \
      --points "${PROFILE_POINTS_H2}" >"$out/torch-step-profile-holdout2.log" 2>&1 || rc=1
    tail -40 "$out/torch-step-profile-holdout2.log"
    python3 "$root/harness/scripts/torch_step_profile.py" --set main --git-sha "$sha" --out-json "$out/torch-step-profile-main.json" \
      --points "${PROFILE_POINTS_MAIN}" >"$out/torch-step-profile-main.log" 2>&1 || rc=1
    tail -20 "$out/torch-step-profile-main.log"
    ;;
  sustained-decode)
    # decode steps harness-timed and back to back in one process (protocol vs day-to-day drift)
    python3 "$tb" --mode full --families e2e --set holdout2 --sustained --stacks torch-flash \
      --out-json "$out/torch-e2e-sustained-holdout2.json" --git-sha "$sha" --budget-s "${TORCH_BENCH_BUDGET_S:-240}" \
      --notes "end-to-end steps, harness-timed and back to back (power_state sustained), holdout2 set" \
      >"$out/torch-e2e-sustained-holdout2.log" 2>&1 || rc=1
    grep -E "^==|Traceback|Error|decode|prefill" "$out/torch-e2e-sustained-holdout2.log" | tail -150
    ;;
  holdout3)
    # session 9: why a step timed alone is slower than back to back (diagnostic), then the third end-to-end
    # hold-out set (sliding windows, head_dim 256 / 80, an irregular producer map), then per-kernel profiles of it
    python3 "$root/harness/scripts/torch_gap_probe.py" --git-sha "$sha" --out-json "$out/torch-gap-probe.json" \
      >"$out/torch-gap-probe.log" 2>&1 || rc=1
    cat "$out/torch-gap-probe.log" | cut -c1-330 | tail -12
    python3 "$tb" --mode full --families e2e --set holdout3 --out-json "$out/torch-e2e-holdout3.json" \
      --git-sha "$sha" --budget-s "${TORCH_BENCH_BUDGET_S:-330}" --notes "torch stacks: end-to-end, third hold-out set" \
      >"$out/torch-e2e-holdout3.log" 2>&1 || rc=1
    grep -E "^==|Traceback|Error" "$out/torch-e2e-holdout3.log" | tail -12
    python3 "$root/harness/scripts/torch_step_profile.py" --set holdout3 --git-sha "$sha" --out-json "$out/torch-step-profile-holdout3.json" \
      --points "${PROFILE_POINTS_H3}" >"$out/torch-step-profile-holdout3.log" 2>&1 || rc=1
    tail -3 "$out/torch-step-profile-holdout3.log"
    ;;
  power-decode)
    # bursts of unsplit FA2 decode attention (session 9: does decode attention draw power like a GEMM?)
    python3 "$tb" --mode full --families power --power-ops decode --out-json "$out/torch-power-decode.json" --git-sha "$sha" \
      --budget-s 120 --notes "power bursts of decode attention (B 128, S 8192, GQA 8 x 4, d 128)" \
      >"$out/torch-power-decode.log" 2>&1 || rc=1
    grep -E "^==|Traceback|Error|power " "$out/torch-power-decode.log" | tail -30
    ;;
  small-models)
    # the main set's 1B shapes and the hold-out Qwen2.5-3B measured again (day-to-day drift of small steps), then
    # their B 1 / small-B steps kernel by kernel (CUPTI)
    python3 "$tb" --mode full --families e2e --set main --stacks torch-flash \
      --models llama-3.2-1b-GQA8-CLA1,llama-3.2-1b-GQA8-CLA2,llama-3.2-1b-MQA-CLA1 --out-json "$out/torch-e2e-main1b.json" \
      --git-sha "$sha" --budget-s 150 --notes "main set, 1B shapes only, measured again" >"$out/torch-e2e-main1b.log" 2>&1 || rc=1
    grep -E "^==|Traceback|Error" "$out/torch-e2e-main1b.log" | tail -6
    python3 "$root/harness/scripts/torch_step_profile.py" --set main --git-sha "$sha" --out-json "$out/torch-step-profile-main1b.json" \
      --points "${PROFILE_POINTS_1B}" >"$out/torch-step-profile-main1b.log" 2>&1 || rc=1
    tail -12 "$out/torch-step-profile-main1b.log"
    ;;
  power-decode-shapes)
    # bursts of unsplit FA2 decode attention at five shapes (session 10: one power weight for every decode shape?)
    python3 "$tb" --mode full --families power --power-ops decode_shapes --out-json "$out/torch-power-decode-shapes.json" \
      --git-sha "$sha" --budget-s "${TORCH_BENCH_BUDGET_S:-400}" \
      --notes "power bursts of decode attention: GQA-4 d 128, MQA d 64, MHA d 128, GQA-8 d 128, GQA-2 d 256" \
      >"$out/torch-power-decode-shapes.log" 2>&1 || rc=1
    grep -E "^==|Traceback|Error|power " "$out/torch-power-decode-shapes.log" | tail -70
    ;;
  chain)
    python3 "$tb" --mode full --families elementwise_chain --out-json "$out/torch-elementwise-chain.json" \
      --git-sha "$sha" --budget-s "${TORCH_BENCH_BUDGET_S:-230}" --notes "elementwise ops in step chains (decode layout)" \
      >"$out/torch-elementwise-chain.log" 2>&1 || rc=1
    grep -E "^==|Traceback|Error" "$out/torch-elementwise-chain.log" | tail -12
    grep -E "B=   1 |B=   2 " "$out/torch-elementwise-chain.log" | head -70
    python3 "$tb" --mode full --families e2e --set holdout5 --stacks torch-flash --out-json "$out/torch-e2e-holdout5.json" \
      --git-sha "$sha" --budget-s "${TORCH_BENCH_BUDGET_S2:-240}" --notes "torch stacks: end-to-end, fifth hold-out set" \
      >"$out/torch-e2e-holdout5.log" 2>&1 || rc=1
    grep -E "^==|Traceback|Error" "$out/torch-e2e-holdout5.log" | tail -8
    ;;
  attention-shapes)
    # session 11: SDPA flash decode at head layouts the main grid lacks (MQA / 2 KV heads at head_dim 64, MQA at 256)
    python3 "$tb" --mode full --families attention_shapes --stacks torch-flash --out-json "$out/torch-attention-shapes.json" \
      --git-sha "$sha" --budget-s "${TORCH_BENCH_BUDGET_S:-300}" --notes "SDPA decode at MQA / few-KV-head layouts, B 1-1024" \
      >"$out/torch-attention-shapes.log" 2>&1 || rc=1
    grep -E "^==|Traceback|Error" "$out/torch-attention-shapes.log" | tail -6
    ;;
  profile-worst)
    # session 11: per-kernel time inside the steps the model still misses most (diagnostic, never fitted)
    for sp in holdout2:PROFILE_POINTS_S11_H2 holdout5:PROFILE_POINTS_S11_H5 holdout3:PROFILE_POINTS_S11_H3; do
      set=${sp%%:*}; var=${sp##*:}
      python3 "$root/harness/scripts/torch_step_profile.py" --set "$set" --git-sha "$sha" \
        --out-json "$out/torch-step-profile-worst-$set.json" --points "${!var}" >"$out/torch-step-profile-worst-$set.log" 2>&1 || rc=1
      tail -4 "$out/torch-step-profile-worst-$set.log"
    done
    ;;
  holdout6)
    # session 12: the sixth end-to-end hold-out set (both stacks on every point), measured before any model change of
    # the session; then the holdout3 steps torch-cudnn misses most, kernel by kernel under cuDNN and FA2
    python3 "$tb" --mode full --families e2e --set holdout6 --out-json "$out/torch-e2e-holdout6.json" \
      --git-sha "$sha" --budget-s "${TORCH_BENCH_BUDGET_S:-330}" --notes "torch stacks: end-to-end, sixth hold-out set" \
      >"$out/torch-e2e-holdout6.log" 2>&1 || rc=1
    grep -E "^==|Traceback|Error" "$out/torch-e2e-holdout6.log" | tail -8
    for be in CUDNN_ATTENTION FLASH_ATTENTION; do
      profile_step "torch-step-profile-$be-holdout3" holdout3 "$be" "${PROFILE_POINTS_S12_H3}"
    done
    ;;
  attention-context)
    # session 12: SDPA decode (cuDNN / FA2) at the end-to-end shapes where cuDNN steps are slower than its isolated
    # kernel: one K/V set vs a >= 40 GB ring, alone vs behind a GEMM (diagnostic); then attention-shapes again
    # (its session-11 result did not land)
    python3 "$tb" --mode full --families attention_context --out-json "$out/torch-attention-context.json" \
      --git-sha "$sha" --budget-s "${TORCH_BENCH_BUDGET_S:-200}" --notes "SDPA decode: K/V footprint and GEMM context (diagnostic)" \
      >"$out/torch-attention-context.log" 2>&1 || rc=1
    grep -E "^==|Traceback|Error|attn-ctx|kernels:" "$out/torch-attention-context.log" | cut -c1-200 | tail -70
    python3 "$tb" --mode full --families attention_shapes --stacks torch-flash --out-json "$out/torch-attention-shapes.json" \
      --git-sha "$sha" --budget-s "${TORCH_BENCH_BUDGET_S2:-250}" --notes "SDPA decode at MQA / few-KV-head layouts, B 1-1024" \
      >"$out/torch-attention-shapes.log" 2>&1 || rc=1
    grep -E "^==|Traceback|Error" "$out/torch-attention-shapes.log" | tail -6
    ;;
  attention-knobs)
    # session 12: which cuDNN decode kernel runs per (n_kv, g, head_dim) and the K/V stream it reaches (diagnostic)
    python3 "$tb" --mode full --families attention_knobs --stacks torch-cudnn --out-json "$out/torch-attention-knobs.json" \
      --git-sha "$sha" --budget-s "${TORCH_BENCH_BUDGET_S:-200}" --notes "cuDNN decode kernels by layout (diagnostic)" \
      >"$out/torch-attention-knobs.log" 2>&1 || rc=1
    grep -E "^==|Traceback|Error|  attn|kernels:" "$out/torch-attention-knobs.log" | cut -c1-190 | tail -130
    # then causal prefill at the head_dims the prefill grid lacks (cuDNN 64; both stacks 80 / 96 / 112 / 160)
    python3 "$tb" --mode full --families attention_prefill_dims --out-json "$out/torch-attention-prefill-dims.json" \
      --git-sha "$sha" --budget-s "${TORCH_BENCH_BUDGET_S2:-200}" --notes "SDPA causal prefill at head_dims 64 (cuDNN) and 80-160" \
      >"$out/torch-attention-prefill-dims.log" 2>&1 || rc=1
    grep -E "^==|Traceback|Error" "$out/torch-attention-prefill-dims.log" | tail -6
    ;;
  cudnn-ctas)
    # session 12: cuDNN decode at 72-160 unsplit CTAs (head_dims 64 / 128 / 256), the region its micro grid lacks
    python3 "$tb" --mode full --families attention_cudnn_ctas --stacks torch-cudnn --out-json "$out/torch-attention-cudnn-ctas.json" \
      --git-sha "$sha" --budget-s "${TORCH_BENCH_BUDGET_S:-120}" --notes "cuDNN decode at 72-160 unsplit CTAs" \
      >"$out/torch-attention-cudnn-ctas.log" 2>&1 || rc=1
    grep -E "^==|Traceback|Error|  attn" "$out/torch-attention-cudnn-ctas.log" | cut -c1-150 | tail -70
    ;;
  grids)
    # session 13: the launch grid (CTAs, blocks per SM) of every SDPA decode kernel, both stacks (diagnostic)
    python3 "$tb" --mode full --families attention_grids --out-json "$out/torch-attention-grids.json" \
      --git-sha "$sha" --budget-s "${TORCH_BENCH_BUDGET_S:-120}" --notes "SDPA decode launch grids (profiler trace)" \
      >"$out/torch-attention-grids.log" 2>&1 || rc=1
    grep -E "^==|Traceback|Error" "$out/torch-attention-grids.log" | tail -8
    ;;
  session14)
    # session 14: the tenth end-to-end hold-out set (both stacks), measured before any model change of the session;
    # then launch grids at non-power-of-two contexts and head_dims 96-192 (diagnostic), cuDNN decode timed at the
    # head_dims its grid lacks (fitted)
    bench torch-e2e-holdout10 "${TORCH_BENCH_BUDGET_S:-280}" "torch stacks: end-to-end, holdout10 set" --families e2e --set holdout10
    bench torch-attention-grids2 "${TORCH_BENCH_BUDGET_S2:-80}" "SDPA decode launch grids, odd contexts and head_dims" \
      --families attention_grids2
    bench torch-attention-cudnn-dims "${TORCH_BENCH_BUDGET_S3:-110}" "cuDNN decode at head_dims 80-192" \
      --families attention_cudnn_dims --stacks torch-cudnn
    ;;
  cudnn-steps)
    # session 14: cuDNN decode isolated at the end-to-end shapes it misses most (diagnostic)
    bench torch-attention-cudnn-steps 90 "cuDNN decode at end-to-end step shapes" --families attention_cudnn_steps --stacks torch-cudnn \
      --attn-max-kv-gb 40
    grep -E "  attn" "$out/torch-attention-cudnn-steps.log" | cut -c1-150
    ;;
  session15)
    # session 15: the twelfth end-to-end hold-out set (both stacks), measured before any model change of the session;
    # then SDPA decode at 70-530 unsplit CTAs, one to three cuDNN tiles per KV head (fitted)
    bench torch-e2e-holdout12 "${TORCH_BENCH_BUDGET_S:-260}" "torch stacks: end-to-end, holdout12 set" --families e2e --set holdout12
    bench torch-attention-waves "${TORCH_BENCH_BUDGET_S2:-230}" "SDPA decode at 70-530 CTAs: partial waves" \
      --families attention_waves --attn-max-kv-gb 40
    ;;
  holdout13)
    # session 15: the thirteenth end-to-end hold-out set (both stacks), measured after that session's model changes
    bench torch-e2e-holdout13 "${TORCH_BENCH_BUDGET_S:-300}" "torch stacks: end-to-end, holdout13 set" --families e2e --set holdout13
    ;;
  session16)
    # session 16: holdout13 measured again (session 15's results never reached the repository) and holdout14
    # (MQA with 71 query heads, MHA at head_dim 80 + CLA2, a 135M shape, a 12288-wide shape, MQA at 256 with
    # 512 windows on a 1 / 3 producer map, 8192 windows 3:1), both after every model change they check
    bench torch-e2e-holdout13 "${TORCH_BENCH_BUDGET_S:-250}" "torch stacks: end-to-end, holdout13 set" --families e2e --set holdout13
    bench torch-e2e-holdout14 "${TORCH_BENCH_BUDGET_S2:-250}" "torch stacks: end-to-end, holdout14 set" --families e2e --set holdout14
    ;;
  profile-s16)
    # session 16: per-kernel time inside the sub-1B steps torch-flash predicts 8-11 % slow (diagnostic)
    profile_step torch-step-profile-flash-holdout14 holdout14 FLASH_ATTENTION "$PROFILE_POINTS_S16_H14"
    profile_step torch-step-profile-flash-holdout16 holdout16 FLASH_ATTENTION "$PROFILE_POINTS_S16_H16"
    ;;
  session16c)
    # session 16: the sixteenth end-to-end hold-out set, after every change of the session (its blind check)
    bench torch-e2e-holdout16 "${TORCH_BENCH_BUDGET_S:-270}" "torch stacks: end-to-end, holdout16 set" --families e2e --set holdout16
    ;;
  session17)
    # session 17: the seventeenth end-to-end hold-out set (both stacks) before any model change of the session; then,
    # on this second unit, the power-governor bursts and the GEMM / causal-prefill / launch grids of torch-micro-v3 (a
    # second unit's measurement of the laws fitted on one)
    bench torch-e2e-holdout17 "${TORCH_BENCH_BUDGET_S:-250}" "torch stacks: end-to-end, holdout17 set" --families e2e --set holdout17
    bench torch-power-s17 "${TORCH_BENCH_BUDGET_S2:-60}" "clock of compute-bound bursts against burst length (power governor), second unit" \
      --families power
    bench torch-micro-s17 "${TORCH_BENCH_BUDGET_S3:-120}" "GEMM, causal prefill attention and launch grids, second unit" \
      --families launch,gemm,attention_prefill
    ;;
  power-rests)
    # session 17: GEMM bursts (M 2048 and 256 of a 14336 x 4096 weight, nothing between repetitions) after ten idle
    # lengths from 0.1 to 20 ms: how the power limit's headroom refills with rest (fitted: power_refill_rate)
    bench torch-power-rests "${TORCH_BENCH_BUDGET_S:-150}" "GEMM bursts after 0.1-20 ms of idle (power headroom refill)" \
      --families power --power-ops gemm --power-fillers none --power-rests 0.1,0.3,0.6,1,1.5,2,3,5,10,20
    grep -E "power gemm_M2048 .* n=  (16|32|64)" "$out/torch-power-rests.log" | head -40
    ;;
  power-cudnn)
    # session 17: causal prefill attention bursts on both SDPA backends (alone, with a copy, with a GEMM) and the
    # GEMM groups they are referred to, after 0.1 and 20 ms of idle: the cuDNN kernel's energy per tensor FLOP
    bench torch-power-cudnn "${TORCH_BENCH_BUDGET_S:-120}" "prefill-attention power bursts, FA2 and cuDNN" \
      --families power --power-ops gemm,prefill,prefill_cudnn
    grep -E "power prefill_attn.* n=  (32|64|128)" "$out/torch-power-cudnn.log" | head -40
    ;;
  session16b)
    bench torch-micro-s16 "${TORCH_BENCH_BUDGET_S:-170}" "GEMMs at odd rows, SDPA decode split regimes, narrow elementwise chains" \
      --families gemm_odd,attention_splits,elementwise_chain_small --attn-max-kv-gb 40
    for be in FLASH_ATTENTION CUDNN_ATTENTION; do
      profile_step "torch-step-profile-$be-holdout13" holdout13 "$be" "$PROFILE_POINTS_S16_H13"
    done
    bench torch-e2e-holdout15 "${TORCH_BENCH_BUDGET_S2:-210}" "torch stacks: end-to-end, holdout15 set" --families e2e --set holdout15
    ;;
  profile-s14)
    # session 14: per-kernel time inside the holdout8 / holdout9 steps each stack misses most (diagnostic)
    for sp in holdout8:CUDNN_ATTENTION:PROFILE_POINTS_S14_H8_CUDNN holdout8:FLASH_ATTENTION:PROFILE_POINTS_S14_H8_FLASH \
      holdout9:FLASH_ATTENTION:PROFILE_POINTS_S14_H9_FLASH; do
      set=${sp%%:*}; rest=${sp#*:}; be=${rest%%:*}; var=${rest#*:}
      profile_step "torch-step-profile-$be-$set" "$set" "$be" "${!var}"
    done
    ;;
  newgpu-1)
    d=$(date -u +%F)
    bench torch-micro-v3-$d 330 "torch stacks: microbenchmark families" --families launch,elementwise,gemm,attention,attention_prefill
    bench torch-power-$d 60 "clock of compute-bound bursts against burst length (power governor)" --families power
    bench torch-power-decode-$d 30 "power bursts of decode attention (B 128, S 8192, GQA 8 x 4, d 128)" --families power --power-ops decode
    bench torch-power-rests-$d 60 "GEMM bursts after 0.1-20 ms of idle (power headroom refill)" \
      --families power --power-ops gemm --power-fillers none --power-rests 0.1,0.3,0.6,1,1.5,2,3,5,10,20
    bench torch-elementwise-cold-$d 60 "torch stacks: elementwise warm + after L2 flush" --families launch,elementwise --cold-elementwise
    bench torch-elementwise-chain-$d 130 "elementwise ops in step chains (decode layout)" --families elementwise_chain
    bench torch-gemm-fp8-$d 60 "fp8 weight GEMMs (torch._scaled_mm)" --families gemm_fp8
    bench torch-cudnn-dims-$d 40 "torch-cudnn decode attention at head_dim 64 / 256" --families attention --stacks torch-cudnn --cudnn-all
    ;;
  newgpu-2)
    d=$(date -u +%F)
    bench torch-attention-dims-$d 30 "SDPA decode at padded head_dims" --families attention_dims --stacks torch-flash
    bench torch-attention-shapes-$d 30 "SDPA decode at MQA / few-KV-head layouts, B 1-1024" --families attention_shapes --stacks torch-flash
    bench torch-attention-prefill-dims-$d 30 "SDPA causal prefill at head_dims 64 (cuDNN) and 80-160" --families attention_prefill_dims
    bench torch-attention-cudnn-ctas-$d 30 "cuDNN decode at 72-160 unsplit CTAs" --families attention_cudnn_ctas --stacks torch-cudnn
    bench torch-attention-cudnn-dims-$d 30 "cuDNN decode at head_dims 80-192" --families attention_cudnn_dims --stacks torch-cudnn
    bench torch-attention-waves-$d 70 "SDPA decode at 70-530 CTAs: partial waves" --families attention_waves --attn-max-kv-gb 40
    bench torch-attention-splits-$d 70 "SDPA decode split regimes" --families attention_splits --attn-max-kv-gb 40
    bench torch-e2e-main-$d "${TORCH_BENCH_BUDGET_S:-230}" "torch stacks: end-to-end, main set" --families e2e --set main
    ;;
  sets)
    # end-to-end sets by name with their time budgets: E2E_SETS="main:290 holdout2:140" (torch_bench 0.6.0 onwards
    # times each step with a lead that covers the host's graph submission)
    for sb in ${E2E_SETS:?E2E_SETS=\"set:budget_s ...\"}; do
      set=${sb%%:*}; budget=${sb##*:}
      python3 "$tb" --mode full --families e2e --set "$set" --out-json "$out/torch-e2e-$set.json" --git-sha "$sha" \
        --budget-s "$budget" --notes "torch stacks: end-to-end, $set set, harness lead covering the host submission" \
        >"$out/torch-e2e-$set.log" 2>&1 || rc=1
      grep -E "^==|Traceback|Error" "$out/torch-e2e-$set.log" | tail -6
    done
    ;;
  *) echo "usage: $0 micro|micro-only|e2e|fp8|ew-decode|holdout2|holdout3|sets|power|power2|profile|sustained-decode|layer|small-models|power-decode|power-decode-shapes|chain|profile-worst|attention-shapes|holdout6|attention-context|attention-knobs|cudnn-ctas|grids|session14|profile-s14|cudnn-steps|session15|holdout13|session16|session16b|session16c|profile-s16" >&2; exit 2 ;;
esac
ls -la "$out"
exit $rc
