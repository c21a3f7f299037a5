#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""An application reading instructblip answers from buffer metas with plain
PyGObject (python3-gi, no python3-gst-1.0 overrides needed).

    python3 pipelines/read-meta.py [NUM_BUFFERS]

It runs videotestsrc -> instructblip -> appsink, prints one line per answer
found on a buffer, and exits 0 if at least one answer was read."""
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

META = "InstructBlipAnswerMeta"


def main():
    Gst.init(None)
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    pipeline = Gst.parse_launch(
        f"videotestsrc num-buffers={n} ! "
        "video/x-raw,width=64,height=48,framerate=30/1 ! "
        "instructblip processing-mode=blocking num-frames=2 "
        "interval=500000000 max-new-tokens=8 "
        'instruction="What is in the picture?" ! '
        "appsink name=sink emit-signals=true sync=false")
    found = []

    def on_sample(sink):
        buf = sink.emit("pull-sample").get_buffer()
        meta = buf.get_custom_meta(META)
        if meta is not None:
            s = meta.get_structure()
            found.append(s)
            print("pts %.3f s: %r -> %r (frames %.3f-%.3f s, %d tokens, "
                  "%.1f ms)" % (
                      buf.pts / Gst.SECOND, s.get_value("instruction"),
                      s.get_value("answer"),
                      s.get_value("first-pts") / Gst.SECOND,
                      s.get_value("last-pts") / Gst.SECOND,
                      s.get_value("n-tokens"),
                      s.get_value("latency") / 1e6))
        return Gst.FlowReturn.OK

    pipeline.get_by_name("sink").connect("new-sample", on_sample)
    pipeline.set_state(Gst.State.PLAYING)
    msg = pipeline.get_bus().timed_pop_filtered(
        60 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    if msg is None or msg.type == Gst.MessageType.ERROR:
        err = msg.parse_error()[0].message if msg else "timeout"
        print("pipeline failed:", err, file=sys.stderr)
        return 1
    if not found:
        print("no answer meta found", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
