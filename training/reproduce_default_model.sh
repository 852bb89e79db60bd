#!/usr/bin/env bash
# Reproduce the shipped default model, models/pets.h5 and everything beside it, from the shared
# photo sets: preprocess → split → train (MobileNetV2 at 224 px with the offline backbone weights,
# five cross-fitted heads on its frozen features, outlier exposure on half of the OOD photos, the
# unknown threshold at 5% out-of-fold in-class rejection) → evaluate on the split's test side.
#
#   training/reproduce_default_model.sh
#
# Environment (all optional):
#   PETS     class folders of pet photos        (default ../shared/datasets/pets)
#   OOD      photos that are none of the classes (default ../shared/datasets/ood)
#   WEIGHTS  MobileNetV2 no-top Keras weights    (default ../shared/backbones/mobilenetv2_160_notop.weights.h5)
#   IMAGES   where the processed photos go       (default Images/processed)
#   SPLIT    where the split goes                (default Test_train_sets)
#   OUT      the model file                      (default models/pets.h5)
#   PETCLF   the console script                  (default .venv/bin/petclf)
set -euo pipefail
cd "$(dirname "$0")/.."

PETS=${PETS:-../shared/datasets/pets}
OOD=${OOD:-../shared/datasets/ood}
WEIGHTS=${WEIGHTS:-../shared/backbones/mobilenetv2_160_notop.weights.h5}
IMAGES=${IMAGES:-Images/processed}
SPLIT=${SPLIT:-Test_train_sets}
OUT=${OUT:-models/pets.h5}
PETCLF=${PETCLF:-.venv/bin/petclf}

"$PETCLF" preprocess --src "$PETS" --dst "$IMAGES" --force
"$PETCLF" split --src "$IMAGES" --dst "$SPLIT" --seed 1 --test-ratio 0.25 --force
"$PETCLF" train --data "$SPLIT" --out "$OUT" --arch mobilenet_v2 \
    --backbone-weights "$WEIGHTS" --backbone-size 224 --epochs 0 --heads 5 --seed 1 \
    --ood "$OOD" --ood-exposure 0.5 --score energy --max-reject-rate 0.05
"$PETCLF" evaluate --model "$OUT" --data "$SPLIT/test" --ood "$OOD" --plot "$SPLIT/confusion_matrix.png"
