#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs pipelines/publish-answers.sh briefly with method=file and checks the
# JSON lines: each answer once, with the stream's source-id, the
# instruction and a non-empty answer.
set -euo pipefail
dir=${PIPELINES:?PIPELINES must point at pipelines/}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

SOURCE_ID=cam-test "$dir/publish-answers.sh" file "$tmp/answers.jsonl" 90
python3 - "$tmp/answers.jsonl" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) >= 2, lines
ids = set()
for line in lines:
    o = json.loads(line)
    assert o["source-id"] == "cam-test", o
    assert o["instruction"] == "Where is the ball?", o
    assert o["answer"], o
    assert o["n-frames"] == 2, o
    assert o["channel"] in ("meta", "bus"), o
    ids.add(o["request-id"])
assert len(ids) == len(lines), "each answer once"
print(len(lines), "answers published")
PY
