#!/usr/bin/env bash
# The whole product on embedded defaults, offline: `make demo` runs this.
#  1. a local Azure DevOps (bootstrap emulator) and `bootstrap up` against it, twice
#     (the second run changes nothing), then `vars sync` and `status`;
#  2. the pipelines' AML steps on the local AML backend: upload the Titanic data, train,
#     register and fetch the model;
#  3. the model API started the way its image starts it, answering one real prediction.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
BOOTSTRAP=${BOOTSTRAP:-.venv/bin/bootstrap}
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

# Keep the demo away from the user's real keyring, SDK cache and AML workspace folder.
export AZURE_DEVOPS_CACHE_DIR="$work/ado-cache"
export AZURE_DEVOPS_EXT_PAT=demo-pat
export XDG_CONFIG_HOME="$work/config"
# A throwaway file keyring inside the temporary folder (a real user has the system keyring).
export PYTHON_KEYRING_BACKEND=keyrings.alt.file.PlaintextKeyring
export XDG_DATA_HOME="$work/data"

step "bootstrap emulator (a local Azure DevOps; this checkout is its Git repository)"
"$BOOTSTRAP" emulator --port 0 --repo-dir . >"$work/emulator.out" 2>"$work/emulator.err" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/emulator.out" ] && break; sleep 0.1; done
head -n 1 "$work/emulator.out"
url=$(head -n 1 "$work/emulator.out" | sed -E 's/^emulator: ([^ ]+) .*/\1/')

step "bootstrap up (first run: creates everything)"
"$BOOTSTRAP" up --config config/demo.yaml --org "$url" --yes

step "bootstrap up (second run: nothing to do)"
"$BOOTSTRAP" up --config config/demo.yaml --org "$url" --yes

step "bootstrap vars set ACR_PASSWORD --stdin (kept in the keyring, never printed)"
printf '%s' "demo-registry-password-$RANDOM$RANDOM" |
    "$BOOTSTRAP" vars set ACR_PASSWORD --stdin --config config/demo.yaml --org "$url"

step "bootstrap vars sync (pushes the secret once)"
"$BOOTSTRAP" vars sync --config config/demo.yaml --org "$url" --yes

step "bootstrap vars sync (again: nothing to push)"
"$BOOTSTRAP" vars sync --config config/demo.yaml --org "$url" --yes

step "bootstrap status"
"$BOOTSTRAP" status --config config/demo.yaml --org "$url"

kill "${pids[0]}" 2>/dev/null || true
wait "${pids[0]}" 2>/dev/null || true
pids=()

titanic=../shared/data/titanic
if [ ! -f "$titanic/titanic.csv" ]; then
    echo "demo: $titanic/titanic.csv is absent: put the Titanic training CSV there to run the AML and API part" >&2
    exit 2
fi
export AZML_BACKEND=local AZML_LOCAL_ROOT="$work/aml-local" AZML_DATAPATH=titanic-data \
       AZML_SCRIPT=scikit-titanic.py AZML_EXPERIMENT=titanic-training AZML_MODEL=titanic

step "aml/upload-data.py (the data-load pipeline's step, local AML backend)"
"$PY" aml/upload-data.py --data-dir "$titanic"

step "aml/run-training.py (the training pipeline's step: train, log metrics, register)"
"$PY" aml/run-training.py

step "aml/fetch-model.py (the build-api pipeline's step: fetch the model for the image)"
"$PY" aml/fetch-model.py --output-path model-api/model

port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
step "model-api/serve (the image's start command) on port $port"
PORT=$port WORKERS=1 MODEL_DIR=model-api/model "$PY" model-api/serve 2>"$work/api.err" &
pids+=($!)
"$PY" - "$port" <<'PYEOF'
import json, sys, time, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}"
for _ in range(200):
    try:
        with urllib.request.urlopen(base + "/readyz", timeout=1) as r:
            if r.status == 200:
                break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("demo: the model API did not become ready")
row = {"Pclass": 1, "Sex": "female", "Age": 38, "SibSp": 1, "Parch": 0, "Fare": 71.28,
       "Embarked": "C", "Name": "Cumings, Mrs. John Bradley (Florence Briggs Thayer)"}
request = urllib.request.Request(base + "/api/predict", data=json.dumps(row).encode(),
                                 headers={"Content-Type": "application/json"})
print("POST /api/predict", json.dumps(row))
with urllib.request.urlopen(request, timeout=5) as r:
    print(r.read().decode())
PYEOF
step "demo finished"
