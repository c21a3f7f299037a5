# SPDX-License-Identifier: LGPL-2.1-or-later
"""Synthetic video question answering data for the default model: frames made
by GStreamer's videotestsrc (run through gst-launch-1.0) and procedurally
drawn scenes of coloured shapes, each clip resized to the model's input size
with Pillow bicubic (what the engine and the element do), with questions in
varied wording and one- or two-word answers. Everything is seeded."""

import subprocess

import numpy as np
from PIL import Image, ImageDraw

IMAGE_SIZE = 64
FRAMES = 4

# name -> (R, G, B); foreground-color/background-color take 0xAARRGGBB
COLOURS = {
    "red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255),
    "yellow": (255, 255, 0), "cyan": (0, 255, 255),
    "magenta": (255, 0, 255), "white": (255, 255, 255),
    "black": (0, 0, 0), "orange": (255, 128, 0), "purple": (128, 0, 128),
    "grey": (128, 128, 128),
}
COLOUR_NAMES = list(COLOURS)

# videotestsrc pattern -> answer to "which pattern". Uniform fills (black,
# white, red, green, blue, solid-color) are all "solid"; the colour question
# names their colour. checkers-1/2/4/8 are all "checkers".
PATTERNS = {
    "smpte": "smpte", "smpte75": "smpte75", "smpte100": "smpte100",
    "smpte-rp-219": "smpte-rp-219", "snow": "snow",
    "checkers-1": "checkers", "checkers-2": "checkers",
    "checkers-4": "checkers", "checkers-8": "checkers",
    "circular": "circular", "ball": "ball", "bar": "bar",
    "pinwheel": "pinwheel", "spokes": "spokes", "gradient": "gradient",
    "colors": "colors", "black": "solid", "white": "solid", "red": "solid",
    "green": "solid", "blue": "solid", "solid-color": "solid",
}
STATIC_PATTERNS = [p for p in PATTERNS if p != "ball"]
RESOLUTIONS = [(160, 120), (320, 240), (640, 360), (640, 480)]
MOTIONS = ["wavy", "sweep", "hsweep"]
SHAPES = ["circle", "square", "triangle"]
COUNTS = ["one", "two", "three", "four"]
QUADRANTS = ["top left", "top right", "bottom left", "bottom right"]

Q_PATTERN = ["What pattern is this?", "Which test pattern is shown?",
             "What test pattern is this?", "Name the pattern.",
             "What pattern does the video show?",
             "Which videotestsrc pattern is this?",
             "What kind of pattern is on the screen?",
             "Which pattern do you see?"]
Q_SCREEN = ["What colour is the screen?", "What color is the screen?",
            "What colour is the picture?", "Which colour fills the frame?",
            "What color is the image?", "What colour is the video?"]
Q_BG = ["What colour is the background?", "What color is the background?",
        "Which colour is the background?", "What is the background colour?",
        "What is the color of the background?"]
Q_OBJ_COLOUR = ["What colour is the {o}?", "What color is the {o}?",
                "Which colour is the {o}?", "What is the colour of the {o}?",
                "Tell me the color of the {o}."]
Q_SHAPE = ["What shape is the {c} object?", "Which shape is {c}?",
           "What is the shape of the {c} object?",
           "What {c} shape do you see?", "What shape has the colour {c}?"]
Q_COUNT = ["How many shapes are there?", "How many objects are there?",
           "How many objects do you see?", "Count the shapes.",
           "How many shapes can you see?", "How many things are shown?"]
Q_WHERE = ["Where is the {o}?", "In which part of the frame is the {o}?",
           "Where is the {o} located?", "Where can you see the {o}?"]
Q_LR = ["Is the {o} on the left or the right?",
        "Is the {o} on the left or right side?",
        "Left or right: where is the {o}?"]
Q_TB = ["Is the {o} at the top or the bottom?",
        "Is the {o} in the top or bottom half?",
        "Top or bottom: where is the {o}?"]
Q_MOVE = ["Which way does the {o} move?",
          "Which direction is the {o} moving?", "Where is the {o} going?",
          "In which direction does the {o} move?",
          "Is the {o} moving left, right, up or down?",
          "Which way is the {o} moving?"]

ALL_TEMPLATES = (Q_PATTERN + Q_SCREEN + Q_BG + Q_OBJ_COLOUR + Q_SHAPE +
                 Q_COUNT + Q_WHERE + Q_LR + Q_TB + Q_MOVE)


def answers():
    return sorted(set(PATTERNS.values()) | set(COLOUR_NAMES) | set(SHAPES) |
                  set(COUNTS) | set(QUADRANTS) |
                  {"left", "right", "top", "bottom", "up", "down"})


def argb(name):
    r, g, b = COLOURS[name]
    return "0xff%02x%02x%02x" % (r, g, b)


def resize(frame):
    """[H, W, 3] uint8 -> [S, S, 3] uint8, Pillow bicubic (= the engine)."""
    im = Image.fromarray(frame)
    if im.size != (IMAGE_SIZE, IMAGE_SIZE):
        im = im.resize((IMAGE_SIZE, IMAGE_SIZE), Image.BICUBIC)
    return np.asarray(im)


def gst_frames(pattern, w, h, n, fg, bg, motion=None):
    """n native frames from videotestsrc, [n, h, w, 3] uint8."""
    cmd = ["gst-launch-1.0", "-q", "videotestsrc", "pattern=" + pattern,
           "num-buffers=%d" % n, "foreground-color=" + argb(fg),
           "background-color=" + argb(bg)]
    if motion:
        cmd.append("motion=" + motion)
    cmd += ["!", "video/x-raw,format=RGB,width=%d,height=%d,framerate=30/1"
            % (w, h), "!", "fdsink", "fd=1"]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE).stdout
    return np.frombuffer(out, np.uint8).reshape(n, h, w, 3)


def colour_pairs(rng, k, default=True):
    pairs = [("white", "black")] if default else []
    while len(pairs) < k:
        fg, bg = rng.choice(COLOUR_NAMES, 2, replace=False)
        if (fg, bg) not in pairs:
            pairs.append((str(fg), str(bg)))
    return pairs


def pattern_colour(pattern, fg, bg):
    """The colour of a uniform pattern (videotestsrc's black and white use
    the background and foreground colours)."""
    return {"black": bg, "white": fg, "red": "red", "green": "green",
            "blue": "blue", "solid-color": fg}.get(pattern)


def build_gst_bank(seed, pairs_static=5, pairs_ball=8, log=print):
    """Static pattern clips (8 frames each) and ball clips (200 frames, one
    period of the motion), resized; ball clips carry the ball centre per
    frame in fractions of the frame (measured on the native frames)."""
    rng = np.random.default_rng(seed)
    static, balls = [], []
    for (w, h) in RESOLUTIONS:
        for p in STATIC_PATTERNS:
            for fg, bg in colour_pairs(rng, pairs_static):
                fr = gst_frames(p, w, h, 8, fg, bg)
                static.append(dict(pattern=p, fg=fg, bg=bg, res=(w, h),
                                   frames=np.stack([resize(f) for f in fr])))
        for m in MOTIONS:
            for fg, bg in colour_pairs(rng, pairs_ball):
                fr = gst_frames("ball", w, h, 200, fg, bg, m)
                ref = np.array(COLOURS[fg], np.int32)
                centres = []
                for f in fr:
                    d = np.abs(f.astype(np.int32) - ref).sum(-1)
                    ys, xs = np.nonzero(d < 60)
                    centres.append((xs.mean() / w, ys.mean() / h)
                                   if len(xs) else (np.nan, np.nan))
                balls.append(dict(pattern="ball", motion=m, fg=fg, bg=bg,
                                  res=(w, h), centres=np.array(centres),
                                  frames=np.stack([resize(f) for f in fr])))
        log("  gst bank %dx%d: %d static, %d ball clips" %
            (w, h, len(static), len(balls)))
    return static, balls


# A motion question is asked only when the object travels at least this
# fraction of the frame over the 4 frames: 0.1 is 6.4 pixels of the model's
# 64, most of a ViT patch.
MIN_TRAVEL = 0.1


def direction(track):
    """left/right/up/down when the 4 positions move clearly and steadily
    along one axis, else None. track [4, 2] fractions (x, y)."""
    if np.isnan(track).any():
        return None
    d = np.diff(track, axis=0)
    dx, dy = track[-1] - track[0]
    if abs(dx) >= abs(dy):
        dom, other, steps = dx, dy, d[:, 0]
        name = "right" if dx > 0 else "left"
    else:
        dom, other, steps = dy, dx, d[:, 1]
        name = "down" if dy > 0 else "up"
    if abs(dom) < MIN_TRAVEL or abs(other) > 0.5 * abs(dom):
        return None
    if not (np.sign(steps) == np.sign(dom)).all():
        return None
    if (np.abs(steps) < 0.1 * abs(dom)).any():
        return None
    return name


def draw_shape(draw, kind, cx, cy, r, colour):
    if kind == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
    elif kind == "square":
        q = r * 0.9
        draw.rectangle([cx - q, cy - q, cx + q, cy + q], fill=colour)
    else:
        draw.polygon([(cx, cy - r), (cx - r * 1.1, cy + r * 0.8),
                      (cx + r * 1.1, cy + r * 0.8)], fill=colour)


def shape_scene(rng, max_objects=4):
    """A clip of 1-4 (at most @max_objects) coloured shapes on a plain
    background. Static scenes put each shape in its own quadrant; moving
    scenes move one shape steadily along one axis (and have at most 3).
    Returns frames [4, S, S, 3] and the scene description."""
    w, h = RESOLUTIONS[rng.integers(len(RESOLUTIONS))]
    moving = rng.random() < 0.4
    n = int(rng.integers(1, min(max_objects, 3 if moving else 4) + 1))
    cols = [str(c) for c in rng.choice(COLOUR_NAMES, n + 1, replace=False)]
    bg, cols = cols[0], cols[1:]
    kinds = [str(k) for k in rng.choice(SHAPES, n)]
    quads = rng.permutation(4)[:n]
    r = rng.uniform(0.12, 0.17) * h
    objs = []
    for i in range(n):
        qy, qx = divmod(int(quads[i]), 2)
        fx = rng.uniform(0.22, 0.3) if qx == 0 else rng.uniform(0.7, 0.78)
        fy = rng.uniform(0.24, 0.3) if qy == 0 else rng.uniform(0.7, 0.76)
        objs.append(dict(kind=kinds[i], colour=cols[i], x=fx, y=fy,
                         quad=int(quads[i])))
    mover, move = None, None
    if moving:
        mover = int(rng.integers(n))
        move = str(rng.choice(["left", "right", "up", "down"]))
        total = rng.uniform(0.25, 0.45)
        o = objs[mover]
        if move in ("left", "right"):
            o["y"] = rng.uniform(0.25, 0.75)
            start = rng.uniform(0.15, 0.85 - total)
            xs = start + np.linspace(0, total, FRAMES)
            o["track"] = [(x, o["y"]) for x in (xs if move == "right"
                                                 else xs[::-1])]
        else:
            o["x"] = rng.uniform(0.2, 0.8)
            start = rng.uniform(0.15, 0.85 - total)
            ys = start + np.linspace(0, total, FRAMES)
            o["track"] = [(o["x"], y) for y in (ys if move == "down"
                                                 else ys[::-1])]
    frames = []
    for t in range(FRAMES):
        im = Image.new("RGB", (w, h), COLOURS[bg])
        dr = ImageDraw.Draw(im)
        for i, o in enumerate(objs):
            x, y = o["track"][t] if i == mover else (o["x"], o["y"])
            draw_shape(dr, o["kind"], x * w, y * h, r, COLOURS[o["colour"]])
        frames.append(resize(np.asarray(im)))
    return np.stack(frames), dict(bg=bg, objs=objs, mover=mover, move=move,
                                  res=(w, h))


def obj_name(o, objs, rng):
    """'red circle', or 'circle' when it is the only one of its kind."""
    unique = sum(p["kind"] == o["kind"] for p in objs) == 1
    if unique and rng.random() < 0.4:
        return o["kind"]
    return "%s %s" % (o["colour"], o["kind"])


def pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def position_question(rng, o, objs):
    name = obj_name(o, objs, rng)
    qy, qx = divmod(o["quad"], 2)
    k = rng.integers(3)
    look = (o["colour"],)
    if k == 0:
        return (pick(rng, Q_WHERE).format(o=name), QUADRANTS[o["quad"]],
                "position", look)
    if k == 1:
        return (pick(rng, Q_LR).format(o=name),
                "left" if qx == 0 else "right", "position", look)
    return (pick(rng, Q_TB).format(o=name), "top" if qy == 0 else "bottom",
            "position", look)


def shape_questions(rng, scene, extra=False):
    """(question, answer, kind, look) tuples about a shape scene. @extra (for
    training): also the shape and the position of every other object."""
    objs, qs = scene["objs"], []
    qs.append((pick(rng, Q_COUNT), COUNTS[len(objs) - 1], "count",
               tuple(p["colour"] for p in objs)))
    qs.append((pick(rng, Q_BG), scene["bg"], "background", ()))
    o = pick(rng, objs)
    qs.append((pick(rng, Q_SHAPE).format(c=o["colour"]), o["kind"], "shape",
               (o["colour"],)))
    uniq = [p for p in objs if sum(q["kind"] == p["kind"] for q in objs) == 1]
    if uniq:
        u = pick(rng, uniq)
        qs.append((pick(rng, Q_OBJ_COLOUR).format(o=u["kind"]), u["colour"],
                   "object colour", (u["colour"],)))
    if scene["mover"] is not None:
        m = objs[scene["mover"]]
        for _ in range(2):
            qs.append((pick(rng, Q_MOVE).format(o=obj_name(m, objs, rng)),
                       scene["move"], "direction", (m["colour"],)))
    else:
        qs.append(position_question(rng, pick(rng, objs), objs))
    if extra:
        for p in objs:
            if p is not o:
                qs.append((pick(rng, Q_SHAPE).format(c=p["colour"]),
                           p["kind"], "shape", (p["colour"],)))
            if scene["mover"] is None:
                qs.append(position_question(rng, p, objs))
    return qs


def static_questions(rng, clip):
    p = clip["pattern"]
    qs = [(pick(rng, Q_PATTERN), PATTERNS[p], "pattern", ())]
    c = pattern_colour(p, clip["fg"], clip["bg"])
    if c:
        qs.append((pick(rng, Q_SCREEN), c, "screen colour", ()))
    if p == "bar":
        qs.append((pick(rng, Q_OBJ_COLOUR).format(o="bar"), clip["fg"],
                   "object colour", (clip["fg"],)))
        qs.append((pick(rng, Q_BG), clip["bg"], "background", ()))
    return qs


def ball_sample(rng, clip):
    """4 frames of a ball clip with a random start and stride (the element
    spreads its frames over the sampling window: 4 frames over its default
    2 s interval at 30 fps are 15 frames apart), and its questions."""
    for _ in range(20):
        stride = int(rng.integers(5, 21))
        start = int(rng.integers(0, 200 - 3 * stride))
        idx = [start + k * stride for k in range(FRAMES)]
        d = direction(clip["centres"][idx])
        if d is not None or rng.random() < 0.3:
            break
    ball = (clip["fg"],)
    qs = [(pick(rng, Q_PATTERN), "ball", "pattern", ()),
          (pick(rng, Q_OBJ_COLOUR).format(o="ball"), clip["fg"],
           "object colour", ball),
          (pick(rng, Q_BG), clip["bg"], "background", ())]
    if d is not None:
        qs += [(pick(rng, Q_MOVE).format(o="ball"), d, "direction",
                ball)] * 2
    return clip["frames"][idx], qs


def clip(rng, bank, n_frames=FRAMES, mix=(0.3, 0.25), extra=False,
         max_objects=4):
    """One clip, its questions and its shapes: (frames [F, S, S, 3] uint8,
    [(question, answer, kind, look)], ((colour, shape), ...)), where look names the colours of the objects the
    answer is about (training's attention target; empty for the whole
    picture). With n_frames 1 only still content and no motion
    questions. @mix: the shares of still patterns and ball clips; shape
    scenes make the rest. @extra: more questions per shape scene.
    @max_objects: the most shapes in a scene (training's curriculum). The
    shapes (empty for the videotestsrc clips) are training's per-patch shape
    target."""
    static, balls = bank
    while True:
        u = rng.random()
        shapes = ()
        if u < mix[0]:
            c = pick(rng, static)
            idx = sorted(rng.choice(8, FRAMES, replace=False))
            frames, qs = c["frames"][idx], static_questions(rng, c)
        elif u < mix[0] + mix[1]:
            frames, qs = ball_sample(rng, pick(rng, balls))
        else:
            frames, scene = shape_scene(rng, max_objects)
            qs = shape_questions(rng, scene, extra)
            shapes = tuple((o["colour"], o["kind"]) for o in scene["objs"])
        if n_frames == 1:
            qs = [q for q in qs if q[2] != "direction"]
            frames = frames[:1]
        if qs:
            return frames, qs, shapes


def sample(rng, bank, n_frames=FRAMES, mix=(0.3, 0.25)):
    """One (frames, question, answer, kind) example: a clip and one of its
    questions at random."""
    frames, qs, _ = clip(rng, bank, n_frames, mix)
    return (frames,) + pick(rng, qs)[:3]


def corpus():
    """Text the tokenizers are built from: every template filled with every
    word it can take, and the answers."""
    lines = []
    objs = ["ball", "bar"] + SHAPES + ["%s %s" % (c, s) for c in COLOUR_NAMES
                                        for s in SHAPES]
    for t in ALL_TEMPLATES:
        if "{o}" in t:
            lines += [t.format(o=o) for o in objs]
        elif "{c}" in t:
            lines += [t.format(c=c) for c in COLOUR_NAMES]
        else:
            lines.append(t)
    lines += answers() * 40
    lines += ["What is happening in the video?", "Describe the scene.",
              "Question: {} Short answer:", "yes no", "0 1 2 3 4 5 6 7 8 9"]
    return lines
