#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Counts subtests from meson's testlog.json: each TAP line of a test
program's stdout is one subtest (GLib tests speak TAP); a program without TAP
output counts as one. Prints the failures and skips, then a closing line
exactly 'N passed, N failed'; exits non-zero when any failed or nothing ran.

    summary.py [LABEL=]testlog.json ...   (several runs: one closing line)

A skip is a failure, except where its reason says that no OpenCL device is
there (CI always has one: such skips are listed) or that the subtest only
runs on request (-m perf timings, an opt-in environment variable)."""
import json
import re
import sys

TAP_PLAN = re.compile(r"^1\.\.(\d+)")
TAP_RESULT = re.compile(r"^(ok|not ok)\b\s*(\d+)?\s*-?\s*([^#]*)(?:#\s*(.*))?$")
NO_DEVICE = re.compile(r"no OpenCL|OpenCL (platform|device) \S+ does not exist")
ON_REQUEST = re.compile(r"-m perf|set IB_[A-Z_]+ to")

passed = failed = 0
allowed_skips = []


def skip_ok(reason):
    return bool(NO_DEVICE.search(reason) or ON_REQUEST.search(reason))


def fail(what):
    global failed
    failed += 1
    print("failed: " + what)


def tap_lines(stdout):
    """the TAP results and plan of a program's stdout, or None without TAP"""
    results, plan = [], None
    for line in stdout.splitlines():
        m = TAP_PLAN.match(line)
        if m:
            plan = int(m.group(1))
            continue
        m = TAP_RESULT.match(line)
        if m:
            results.append((m.group(1) == "ok", m.group(3).strip(),
                            (m.group(4) or "").strip()))
    if plan is None and not results:
        return None
    return results, plan


def count(test, label):
    global passed
    name, result = label + test["name"], test["result"]
    tap = tap_lines(test.get("stdout") or "")
    if tap is None:
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif result == "SKIP":
            why = (test.get("stdout") or "").strip().splitlines()[-1:] or [""]
            if skip_ok(why[0]):
                allowed_skips.append("%s (%s)" % (name, why[0]))
            else:
                fail("%s (skipped: %s)" % (name, why[0] or "no reason given"))
        else:
            fail("%s (%s)" % (name, result))
        return
    results, plan = tap
    bad_before = failed
    for ok, sub, directive in results:
        what = "%s %s" % (name, sub)
        if directive.upper().startswith("SKIP"):
            why = directive[4:].strip()
            if skip_ok(why):
                allowed_skips.append("%s (%s)" % (what, why))
            else:
                fail("%s (skipped: %s)" % (what, why or "no reason given"))
        elif directive.upper().startswith("TODO"):
            passed += 1  # an expected failure, as meson counts it
        elif ok:
            passed += 1
        else:
            fail(what)
    if plan is not None and len(results) < plan:
        for _ in range(plan - len(results)):
            fail("%s: a subtest of its plan 1..%d did not report (crash?)"
                 % (name, plan))
    elif result not in ("OK", "EXPECTEDFAIL", "SKIP") and failed == bad_before:
        fail("%s (%s, after its subtests)" % (name, result))


for arg in sys.argv[1:]:
    label, _, path = arg.rpartition("=")
    with open(path) as f:
        for line in f:
            if line.strip():
                count(json.loads(line), label + ": " if label else "")
for s in allowed_skips:
    print("skipped (allowed): " + s)
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed or passed == 0 else 0)
