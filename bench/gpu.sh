#!/usr/bin/env bash
# bench/gpu.sh: the GPU checks of rotcurve in one run (at most ~10 minutes on a bare GPU machine).
#
#   bash bench/gpu.sh                 # on the GPU machine, from the repository root; results in $OUT
#   TINY=1 bash bench/gpu.sh          # CPU dry run (--device cpu, tiny sizes): under 3 minutes
#
# Parts (each in its own timeout, its log in $OUT; a failing part is reported, the next one runs):
#   install    a virtual environment on top of the machine's python3 (which holds torch with CUDA;
#              nothing can be fetched there): --system-site-packages, the wheels in .whl/ if they
#              were carried (corner, emcee, astropy, ...), then rotcurve itself (--no-deps).
#              RC_INSTALL=pip instead runs the networked install:
#              pip install "torch==$RC_TORCH" -e ".[test]"
#   tests      the gpu-marked tests (pytest -m gpu)
#   train      bench/bench_train.py: rotcurve's loop against the tutorial's DataLoader loop on
#              the same GPU, 1,000,000 curves (targets: >= 20x the tutorial, >= 5 M curves/s)
#   simulate   bench/bench_simulate_train.py --parts throughput: torch-twin curves/s on the device
#              against reading the curve file
#   quickstart rotcurve quickstart --device cuda (generate, train, report)
# Output: $OUT/summary.md (also printed), train.json, simulate.json, logs.tar.gz (every log and
# the quickstart report's figures).  OUT defaults to ./gpu-out.
set -euo pipefail

OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
TINY=${TINY:-0}
RC_TORCH=${RC_TORCH:-2.13.0}
LOGS=$(mktemp -d)
START=$(date +%s)
declare -a ROWS=()

if [[ $TINY == 1 ]]; then
  DEVICE=cpu; N_TRAIN=4000; EPOCHS=2; BASE_EPOCHS=1; N_SIM=4000; QS_CURVES=600; QS_EPOCHS=2
  T_INSTALL=120; T_TESTS=60; T_TRAIN=90; T_SIM=60; T_QS=120
else
  DEVICE=cuda; N_TRAIN=1000000; EPOCHS=20; BASE_EPOCHS=1; N_SIM=1000000; QS_CURVES=20000; QS_EPOCHS=100
  T_INSTALL=150; T_TESTS=90; T_TRAIN=240; T_SIM=60; T_QS=150
fi

part() {  # part NAME TIMEOUT_S COMMAND...: run it, log it, keep going
  local name=$1 limit=$2; shift 2
  local t0=$(date +%s) status=0
  echo "== $name (limit ${limit}s)"
  set +e
  timeout --kill-after=10 "$limit" "$@" >"$LOGS/$name.log" 2>&1
  status=$?
  set -e
  local took=$(( $(date +%s) - t0 ))
  local what=ok
  if [[ $status == 124 || $status == 137 ]]; then what="timed out"; elif [[ $status != 0 ]]; then what="failed ($status)"; fi
  tail -n 5 "$LOGS/$name.log" | sed 's/^/   /'
  ROWS+=("| $name | $what | ${took} s | $(tail -n 1 "$LOGS/$name.log" | tr '|' '/' | cut -c1-100) |")
  return 0
}

install() {
  if [[ -n ${VIRTUAL_ENV:-} && $TINY == 1 ]]; then
    echo "TINY=1 in an active virtual environment ($VIRTUAL_ENV): nothing installed"
  elif [[ ${RC_INSTALL:-offline} == pip ]]; then
    python3 -m venv .venv && . .venv/bin/activate && pip install -q "torch==$RC_TORCH" -e ".[test]"
  else
    python3 -m venv --system-site-packages .venv && . .venv/bin/activate
    if compgen -G ".whl/*.whl" >/dev/null; then
      python -m pip install -q --no-index --no-deps --no-compile .whl/*.whl
    fi
    python -m pip install -q --no-index --no-deps --no-build-isolation -e . \
      || echo "editable install failed; using PYTHONPATH=$PWD"
  fi
  python -c "import torch, rotcurve; print('rotcurve', rotcurve.__version__, 'torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name() if torch.cuda.is_available() else '')"
}

export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 MPLBACKEND=Agg
export TINY RC_TORCH
part install "$T_INSTALL" bash -c "$(declare -f install); install"
if [[ -z ${VIRTUAL_ENV:-} || $TINY != 1 ]] && [[ -f .venv/bin/activate ]]; then . .venv/bin/activate; fi
PY=$(command -v python || command -v python3)
if [[ $DEVICE == cuda ]] && ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "no CUDA device: falling back to the CPU dry run sizes (TINY=1)"
  exec env TINY=1 OUT="$OUT" bash "$0"
fi
THREADS=(); [[ $DEVICE == cpu ]] && THREADS=(--threads 1)

part tests "$T_TESTS" "$PY" -m pytest -q -m gpu -p no:cacheprovider tests/training tests/physics tests/models tests/datasets
part train "$T_TRAIN" "$PY" bench/bench_train.py --device "$DEVICE" --n "$N_TRAIN" --epochs "$EPOCHS" \
  --baseline-epochs "$BASE_EPOCHS" --loops default throughput "${THREADS[@]}" --json "$OUT/train.json"
part simulate "$T_SIM" "$PY" bench/bench_simulate_train.py --device "$DEVICE" --parts throughput \
  --n-file "$N_SIM" "${THREADS[@]}" --json "$OUT/simulate.json"
QS=$(mktemp -d)/quickstart
part quickstart "$T_QS" "$PY" -m rotcurve.cli.main quickstart --out "$QS" --device "$DEVICE" \
  --n-curves "$QS_CURVES" --epochs "$QS_EPOCHS" "${THREADS[@]}" --quiet

# -- summary: the parts, then the figures against the targets
"$PY" - "$OUT" "$DEVICE" >"$LOGS/figures.md" 2>&1 <<'EOF' || true
import json, sys
from pathlib import Path
out, device = Path(sys.argv[1]), sys.argv[2]
lines = ["", "| figure | value | target |", "|---|---:|---|"]
try:
    t = json.loads((out / "train.json").read_text())
    for r in t["repeats"][0]["rows"]:
        rate, ratio = r["samples_per_s"], "" if r["loop"] == "tutorial" else f" ({r['speedup']:.1f}x the tutorial)"
        lines.append(f"| train {r['loop']} (batch {r['batch_size']}), curves/s | {rate:,.0f}{ratio} | >= 5,000,000 and >= 20x (H100/H200) |")
except Exception as exc:  # the part's own log says more
    lines.append(f"| train | not read ({type(exc).__name__}: {exc}) | |")
try:
    s = json.loads((out / "simulate.json").read_text())["throughput"]
    lines.append(f"| torch twin on {device}, curves/s | {s['twin_curves_per_s']:,.0f} | |")
    lines.append(f"| curve file read, curves/s | {s['file_read_curves_per_s']:,.0f} | |")
except Exception as exc:
    lines.append(f"| simulate | not read ({type(exc).__name__}: {exc}) | |")
print("\n".join(lines))
EOF
{
  echo "# bench/gpu.sh summary"
  echo
  echo "device: $DEVICE, TINY=$TINY, $(date -u +%FT%TZ), $(( $(date +%s) - START )) s in all"
  "$PY" -c "import torch; print('torch', torch.__version__, '|', torch.cuda.get_device_name() if torch.cuda.is_available() else 'no CUDA device')" 2>/dev/null || true
  echo
  echo "| part | result | time | last line of its log |"
  echo "|---|---|---:|---|"
  printf '%s\n' "${ROWS[@]}"
  grep -v '^{' "$LOGS/figures.md" | grep '^|\|^$' || true
} | tee "$OUT/summary.md"

[[ -d $QS ]] && find "$QS" -name '*.png' -o -name '*.html' -o -name '*.json' | head -40 | xargs -r cp -t "$LOGS" 2>/dev/null || true
tar -czf "$OUT/logs.tar.gz" -C "$LOGS" .
