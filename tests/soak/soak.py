#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Soak test: one long pipeline with the default model, textoverlay linked
to the answers, a question every 4 frames, the test pattern switching every
400 frames. Records the process's resident memory every 500 frames and
checks that every answer names the pattern on screen and that memory stays
flat.

  GST_PLUGIN_PATH=build/gst tests/soak/soak.py [--frames 20000]
      [--csv rss.csv] [--max-growth-mb 8] [--min-right 0.95]

Exits non-zero when fewer than --min-right of the answers are right (each
pattern is also reported alone), when the answer count is off, or when the
resident memory grows by more than --max-growth-mb between the end of the
first quarter (everything warmed up) and the end.
"""
import argparse
import sys
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

# patterns the default model names reliably at 160x120 (its README), and the
# answer it gives for each
PATTERNS = [
    ("smpte", "smpte"),
    ("checkers-8", "checkers"),
    ("circular", "circular"),
    ("colors", "colors"),
    ("spokes", "spokes"),
    ("ball", "ball"),
    ("bar", "bar"),
    ("smpte100", "smpte100"),
]
SWITCH = 400  # frames per pattern, a multiple of the 4 frames per question
FPS = 30


def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=20000)
    ap.add_argument("--csv", default=None)
    ap.add_argument("--max-growth-mb", type=float, default=8.0)
    ap.add_argument("--min-right", type=float, default=0.95)
    ap.add_argument("--size", default="160x120")
    ap.add_argument("--no-overlay", action="store_true",
                    help="fakesink instead of textoverlay (to tell the "
                    "element's memory from pango's)")
    args = ap.parse_args()
    w, h = args.size.split("x")

    Gst.init(None)
    sink = ("fakesink sync=false" if args.no_overlay else
            "textoverlay name=overlay ! videoconvert ! fakesink sync=false "
            "q.text_src ! queue ! overlay.text_sink")
    desc = (
        "videotestsrc name=src num-buffers=%d pattern=%s ! "
        "video/x-raw,width=%s,height=%s,framerate=%d/1 ! "
        "instructblip name=q processing-mode=blocking num-frames=4 interval=0 "
        "instruction=\"What pattern is this?\" ! queue ! %s"
        % (args.frames, PATTERNS[0][0], w, h, FPS, sink))
    pipeline = Gst.parse_launch(desc)
    src = pipeline.get_by_name("src")
    state = {"n": 0, "rss": [], "t0": time.monotonic()}

    def on_buffer(pad, info):
        i = state["n"]
        state["n"] = i + 1
        if (i + 1) % SWITCH == 0:
            # the next buffer shows the next pattern
            src.set_property("pattern",
                             PATTERNS[((i + 1) // SWITCH) % len(PATTERNS)][0])
        if i % 500 == 0:
            state["rss"].append((i, rss_kb(), time.monotonic() - state["t0"]))
        return Gst.PadProbeReturn.OK

    src.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, on_buffer)

    # tallies only: a list of every answer would itself grow the process
    # by ~250 bytes an answer, the size of the creep this run looks for
    expected_answers = args.frames // 4
    q = max(1, expected_answers // 4)
    tally = {"n": 0, "right": 0, "first_q": [0, 0], "last_q": [0, 0]}
    per = {}
    loop = GLib.MainLoop()
    result = {"error": None}

    def record(first, ans):
        pattern, expected = PATTERNS[(first // SWITCH) % len(PATTERNS)]
        ok = ans == expected
        i = tally["n"]
        tally["n"] = i + 1
        tally["right"] += ok
        for key, inside in (("first_q", i < q),
                            ("last_q", i >= expected_answers - q)):
            if inside:
                tally[key][0] += ok
                tally[key][1] += 1
        r = per.setdefault(pattern, [0, 0, {}])
        r[0] += ok
        r[1] += 1
        r[2][ans] = r[2].get(ans, 0) + 1

    def on_message(bus, msg):
        t = msg.type
        if t == Gst.MessageType.ELEMENT:
            s = msg.get_structure()
            if s is not None and s.get_name() == "instructblip-answer":
                first = (s.get_value("first-pts") * FPS + Gst.SECOND // 2) // Gst.SECOND
                record(first, s.get_string("answer"))
        elif t == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            result["error"] = "%s (%s)" % (err.message, dbg)
            loop.quit()
        elif t == Gst.MessageType.EOS:
            loop.quit()

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    pipeline.set_state(Gst.State.PLAYING)
    loop.run()
    # the last sample at EOS, with everything still allocated
    state["rss"].append((state["n"], rss_kb(), time.monotonic() - state["t0"]))
    pipeline.set_state(Gst.State.NULL)
    stopped_kb = rss_kb()

    fail = []
    if result["error"]:
        fail.append("pipeline error: " + result["error"])
    if state["n"] != args.frames:
        fail.append("%d frames of %d" % (state["n"], args.frames))
    n_answers, right = tally["n"], tally["right"]
    if n_answers != expected_answers:
        fail.append("%d answers, expected %d" % (n_answers, expected_answers))
    first_q = tally["first_q"][0] / max(1, tally["first_q"][1])
    last_q = tally["last_q"][0] / max(1, tally["last_q"][1])

    print("frames %d, answers %d, right %d (%.1f %%), first quarter %.1f %%, "
          "last quarter %.1f %%, %.0f s"
          % (state["n"], n_answers, right,
             100.0 * right / max(1, n_answers), 100 * first_q,
             100 * last_q, time.monotonic() - state["t0"]))
    for pattern, (good, n, got) in per.items():
        print("  %-12s %4d / %4d  %s" % (pattern, good, n, dict(got)))

    print("frame      RSS MB   seconds")
    for i, kb, t in state["rss"]:
        print("%6d %10.1f %9.1f" % (i, kb / 1024.0, t))
    if args.csv:
        with open(args.csv, "w") as f:
            f.write("frame,rss_kb,seconds\n")
            for i, kb, t in state["rss"]:
                f.write("%d,%d,%.2f\n" % (i, kb, t))

    quarter = [r for r in state["rss"] if r[0] >= args.frames // 4]
    if quarter:
        growth = (state["rss"][-1][1] - quarter[0][1]) / 1024.0
        peak = max(kb for _, kb, _ in state["rss"]) / 1024.0
        print("RSS after a quarter %.1f MB, at EOS %.1f MB (growth %+.1f MB), "
              "peak %.1f MB, after stopping %.1f MB"
              % (quarter[0][1] / 1024.0, state["rss"][-1][1] / 1024.0, growth,
                 peak, stopped_kb / 1024.0))
        if growth > args.max_growth_mb:
            fail.append("resident memory grew by %.1f MB (limit %.1f)"
                        % (growth, args.max_growth_mb))
    if n_answers and right < args.min_right * n_answers:
        fail.append("%.1f %% of the answers right, below %.0f %%"
                    % (100.0 * right / n_answers, 100 * args.min_right))
    if last_q + 0.02 < first_q:
        fail.append("answers got worse: %.1f %% right in the first quarter, "
                    "%.1f %% in the last" % (100 * first_q, 100 * last_q))
    for f in fail:
        print("FAIL: " + f)
    return 1 if fail else 0


if __name__ == "__main__":
    sys.exit(main())
