#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks that the installed headers declare exactly the functions the
installed libinstructblip exports, and that both are libinstructblip.map's
global list: a caller can link everything it is shown, and is shown
everything it can link.

    check-api.py CC INCLUDEDIR LIBRARY MAPFILE"""
import re
import subprocess
import sys

cc, includedir, library, mapfile = sys.argv[1:5]

# functions declared by the headers, from the preprocessed text of the main
# header (so every header it pulls in counts, and nothing else)
pre = subprocess.run(
    [cc, "-E", "-x", "c", "-I" + includedir] +
    subprocess.run(["pkg-config", "--cflags", "glib-2.0"], check=True,
                   capture_output=True, text=True).stdout.split() + ["-"],
    input='#include "instructblip.h"\n', check=True, capture_output=True,
    text=True).stdout
declared, ours, headers = set(), False, set()
for line in pre.splitlines():
    m = re.match(r'# \d+ "([^"]+)"', line)
    if m:
        ours = m.group(1).startswith(includedir)
        if ours:
            headers.add(m.group(1))
        continue
    if ours:
        declared.update(re.findall(r"\b(ib_\w+)\s*\(", line))

exported = set()
for line in subprocess.run(["nm", "-D", "--defined-only", library],
                           check=True, capture_output=True,
                           text=True).stdout.splitlines():
    parts = line.split()
    if len(parts) == 3 and parts[1] in "TtWi":
        exported.add(parts[2])

text = re.sub(r"/\*.*?\*/", "", open(mapfile).read(), flags=re.S)
glob = re.search(r"global:(.*?)local:", text, re.S).group(1)
mapped = set(re.findall(r"(\w+)\s*;", glob))

ok = True
for what, a, b in [("declared in the installed headers but not exported",
                    declared, exported),
                   ("exported but declared in no installed header",
                    exported, declared),
                   ("in libinstructblip.map but not exported", mapped,
                    exported)]:
    if a - b:
        ok = False
        print("%s: %s" % (what, ", ".join(sorted(a - b))))
print("%d headers, %d functions declared, %d exported" %
      (len(headers), len(declared), len(exported)))
sys.exit(0 if ok else 1)
