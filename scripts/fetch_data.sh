#!/usr/bin/env bash
# Put the datasets into the data root ($NNVIZ_DATA_DIR or ./data).
# With $NNVIZ_LOCAL_DATA (default: ../shared/data, present on machines without internet) the
# official files are copied from there; torchvision checks their MD5 and downloads only what is
# still missing, which needs internet. Runs nnviz with ${PYTHON:-python3}: the python of the
# environment nnviz is installed in.
set -euo pipefail
cd "$(dirname "$0")/.."
root=${NNVIZ_DATA_DIR:-data}
src=${NNVIZ_LOCAL_DATA:-../shared/data}
for pair in mnist/MNIST fashion-mnist/FashionMNIST; do
  folder=${pair#*/}
  if [ -d "$src/$pair/raw" ] && [ ! -f "$root/$folder/raw/t10k-labels-idx1-ubyte.gz" ]; then
    mkdir -p "$root/$folder/raw"
    cp "$src/$pair/raw/"*.gz "$root/$folder/raw/"
  fi
done
"${PYTHON:-python3}" -m nnviz data
