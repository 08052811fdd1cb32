#!/usr/bin/env bash
# GPU bench: bench/scale.py's 25M row on CUDA, one short script for a lent GPU machine (sized for 5 minutes
# on an H100/H200: not yet run, no GPU was lent to the session that wrote it). The machine has torch with
# CUDA, pandas, pyarrow, scipy and PyYAML but not pydantic, so its wheels travel in .whl/ (git-ignored
# through .git/info/exclude). Once, here:
#
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
#     pydantic==2.14.4 pydantic_core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5
#
# then through the device tool: run(command="bash bench/gpu.sh", carry=[".whl"], timeout_s=480).
# Results: $OUT/scale-gpu.json (or bench/results/scale-gpu.json without $OUT), and the log beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-bench/results}"
mkdir -p "$out"
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH="/tmp/site:$PWD"
else
  export PYTHONPATH="$PWD"
fi
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.log"
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" | tee -a "$out/gpu.log"
# the scale bench's 25M row, every variant (kNN's fit runs on the CPU cores), one fresh process each
python3 bench/scale.py --device cuda --sizes 25000000 --out "$out/scale-gpu.json" 2>&1 | tee -a "$out/gpu.log"
