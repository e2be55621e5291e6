#!/usr/bin/env bash
# Rebuilds sample-runs/ (baseline, iter-1, iter-2, inspect.json) that the prompt-tuning pack's
# answers files point at: the README loop on a scratch copy of this app, offline and seeded.
# Run from the repository root: examples/prompt-app/make-sample-runs.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cairn="${CAIRN:-$(command -v cairn || echo "$here/../../.venv/bin/cairn")}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cp -r "$here/prompt_app" "$here/cases.jsonl" "$here/langgraph.json" "$scratch/"
cd "$scratch"
export PROMPT_APP_FAKE=1 PROMPT_APP_SEED=7 CAIRN_OUTPUT="$scratch/output"
run() { "$cairn" eval run --target prompt_app.graph:graph --cases cases.jsonl --output-key reply \
          --repeat 3 --concurrency 1 --cache-env PROMPT_APP_FAKE --no-cache -o "runs/$1" >/dev/null; }
"$cairn" eval inspect . --json > inspect.json
run baseline
sed -i 's/billing, technical, account$/billing, technical, account, shipping/' prompt_app/prompts/classify.txt
run iter-1
sed -i 's/Then answer in two sentences or fewer./Then answer in one or two short sentences./' prompt_app/prompts/answer.txt
run iter-2
for name in baseline iter-1 iter-2; do
  mkdir -p "$here/sample-runs/$name"
  cp "runs/$name/summary.json" "runs/$name/results.jsonl" "$here/sample-runs/$name/"
done
cp inspect.json "$here/sample-runs/inspect.json"
"$cairn" eval compare runs/baseline runs/iter-1
"$cairn" eval compare runs/iter-1 runs/iter-2
