#!/bin/bash
# The all-heads training run on a lent GPU machine (see gpu_torch.py). Run from the repo root:
#   start STEPS   unpack what was carried, start training in the background
#   wait SECONDS  show the training log after waiting (the run goes on between calls)
#   finish        score model-best on the test sets (GPU), write float16 copies to $OUT in parts
# Carried: .carry/site312.tar.xz (pinned wheels for Python 3.12), .carry/spacy_mtl-*.whl,
# .carry/enc.npz (pack_encoder.py), project/corpus (converted here).
set -e
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
case "$1" in
start)
  mkdir -p /tmp/site
  tar xJf .carry/site312.tar.xz -C /tmp/site
  python3 -m zipfile -e .carry/spacy_mtl-*.whl /tmp/site
  python3 scripts/device/pack_encoder.py unpack .carry/enc.npz project/encoders/e5-small
  python3 -c "import torch, spacy, spacy_mtl, transformers; print(torch.__version__, spacy.__version__, transformers.__version__, torch.cuda.get_device_name(0))"
  cd project
  C="--paths.train_ud corpus/ud_gsdsimp-train.spacy --paths.dev_ud corpus/ud_gsdsimp-dev.spacy --paths.train_sdp corpus/sdp-train.spacy --paths.dev_sdp corpus/sdp-dev.spacy --paths.train_con corpus/con-train.spacy --paths.dev_con corpus/con-dev.spacy --paths.train_amr corpus/amr-train.spacy --paths.dev_amr corpus/amr-dev.spacy"
  date +%s > /tmp/train_start
  setsid nohup bash -c "python3 ../scripts/device/gpu_torch.py train configs/zh_mtl_base.cfg training/gpu --paths.encoder encoders/e5-small $C --training.max_steps $2 --training.eval_frequency $3 --training.optimizer.learn_rate.warmup_steps 150 --training.logger.progress_bar true; date +%s > /tmp/train_end" > /tmp/train.log 2>&1 < /dev/null &
  sleep "${4:-60}"
  tail -25 /tmp/train.log
  ;;
wait)
  for i in $(seq 1 "$2"); do
    [ -f /tmp/train_end ] && break
    sleep 1
  done
  tail -30 /tmp/train.log
  nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv
  ;;
stop)
  pkill -f "gpu_torch.py train" || true
  sleep 5
  date +%s > /tmp/train_end
  tail -5 /tmp/train.log
  ;;
finish)
  cd project
  echo $(( $(cat /tmp/train_end) - $(cat /tmp/train_start) )) > /tmp/train_seconds
  python3 ../scripts/device/gpu_torch.py evaluate training/gpu/model-best corpus/ud_gsdsimp-test.spacy $OUT/zh_mtl_full_gpu --speed-runs 0 --sdp-test corpus/sdp-test.spacy --con-test corpus/con-test.spacy --amr-test corpus/amr-test.spacy
  cp /tmp/train.log /tmp/train_seconds $OUT/
  python3 ../scripts/device/gpu_torch.py half training/gpu/model-best /tmp/half
  tar cf - -C /tmp half | xz -1 -T0 > /tmp/half.tar.xz
  split -b 15M -d /tmp/half.tar.xz /tmp/half.part.
  ls -la /tmp/half.part.*
  for f in /tmp/half.part.0[0-2]; do [ -f "$f" ] && cp "$f" $OUT/; done
  ;;
more)
  for f in /tmp/half.part.0[3-9]; do [ -f "$f" ] && cp "$f" $OUT/; done
  ls $OUT
  ;;
esac
