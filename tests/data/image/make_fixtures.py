#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the image-preprocessing fixtures: source images and Pillow/HF outputs.

Developers only (CI never runs Python).  Needs Pillow, numpy and transformers
(the PIL backend of the BLIP image processor, the slow path).  Run from any
directory:

    python3 tests/data/image/make_fixtures.py

Writes, next to this script:
  <name>.png               the source image, as Pillow wrote it (for people)
  <name>.rgb / .rgba       the same pixels, raw packed 8-bit, rows top-down
  <name>-<W>x<H>.rgb       Image.resize((W, H), BICUBIC), raw packed RGB
  <name>-<W>x<H>-h.rgb     where Pillow >= 13 runs the vertical pass first:
                           the horizontal-first result of Pillow <= 12, made
                           by Pillow as two one-axis resizes (each is one
                           pass): resize((W, h)) then resize((W, H))
  <name>-hf<S>.f32         BlipImageProcessorPil pixel_values for size SxS,
                           float32 little-endian, CHW [3, S, S]
  <name>-<W>x<H>-tv.rgb    torchvision's resize (bicubic, antialias) of the
                           uint8 CHW tensor, as packed RGB
  <name>-tv<S>.f32         BlipImageProcessor (the torchvision backend,
                           transformers' default) pixel_values; the script
                           checks that InstructBlipVideoVideoProcessor gives
                           the same for each frame of a video of the image
  manifest.ini             one group per source image (GKeyFile syntax)
"""

import os
import sys

import numpy as np
import PIL
from PIL import Image
import torch
import torchvision
import torchvision.transforms.v2.functional as tvF
import transformers
from transformers.models.blip.image_processing_blip import BlipImageProcessor
from transformers.models.blip.image_processing_pil_blip import BlipImageProcessorPil
from transformers.models.instructblipvideo.video_processing_instructblipvideo import (
    InstructBlipVideoVideoProcessor,
)

HERE = os.path.dirname(os.path.abspath(__file__))
RNG = np.random.default_rng(20240611)


def gradient(w, h):
    """Smooth ramps in each channel plus a hard vertical edge."""
    y, x = np.mgrid[0:h, 0:w]
    r = (x * 255 // max(w - 1, 1)).astype(np.uint8)
    g = (y * 255 // max(h - 1, 1)).astype(np.uint8)
    b = np.where(x < w // 2, 0, 255).astype(np.uint8)
    return np.stack([r, g, b], axis=-1)


def noise(w, h):
    """Uniform noise: bicubic overshoot clips at 0 and 255 all over."""
    return RNG.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def edges(w, h):
    """Checkerboard of saturated colours, a thin line grid and a soft disc."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3), np.uint8)
    cell = ((x // 17) + (y // 13)) % 2 == 1
    img[cell] = (255, 0, 0)
    img[~cell] = (0, 255, 255)
    img[(x % 31) == 0] = (255, 255, 255)
    img[(y % 29) == 0] = (0, 0, 0)
    d = np.hypot(x - w * 0.6, y - h * 0.4)
    disc = np.clip(255 - d * 3, 0, 255).astype(np.uint8)
    img[..., 1] = np.maximum(img[..., 1], disc)
    return img


def stripes(w, h):
    """Alternating 1-pixel black/white rows with a colour ramp across."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0] = np.where(y % 2 == 0, 255, 0)
    img[..., 1] = (x * 255 // max(w - 1, 1)).astype(np.uint8)
    img[..., 2] = np.where((y // 5) % 2 == 0, 0, 255)
    return img


def photo_like(w, h):
    """Sums of sinusoids: smooth content with fine detail."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    base = [
        128 + 100 * np.sin(x / 9.0 + c) * np.cos(y / 13.0 - c) + 20 * np.sin((x + y) / 3.0)
        for c in (0.0, 1.3, 2.6)
    ]
    return np.clip(np.rint(np.stack(base, axis=-1)), 0, 255).astype(np.uint8)


def rgba(w, h):
    """Noise with an alpha ramp including fully transparent and opaque pixels."""
    img = np.empty((h, w, 4), np.uint8)
    img[..., :3] = RNG.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    y, x = np.mgrid[0:h, 0:w]
    img[..., 3] = ((x + y * w) * 255 // (w * h - 1)).astype(np.uint8)
    img[0, :4, 3] = 0
    img[-1, -4:, 3] = 255
    return img


SMALL = [(28, 28), (30, 30), (45, 17), (3, 5), (1, 1)]

# name, generator, width, height, extra resize outputs, HF sizes.  Every
# source is also resized to SMALL.  The C test checks the same-size case
# (Pillow copies) against the source itself, so no fixture stores it.
CASES = [
    ("grad", gradient, 37, 23, [(100, 90), (60, 10)], [28]),
    ("noise", noise, 64, 48, [(64, 20), (10, 48)], [28]),
    ("edges", edges, 300, 200, [], [224, 28]),
    ("stripes", stripes, 13, 250, [(120, 60)], [28]),
    ("photo", photo_like, 224, 224, [(7, 300), (224, 40), (40, 224)], [28]),
    ("alpha", rgba, 40, 30, [], [28]),
    # portrait video and shapes where Pillow 13 runs the vertical pass first
    # (the height shrinks by more than twice as many pixels as the width)
    ("portrait", photo_like, 144, 320, [(100, 40), (160, 60), (224, 224)],
     [224, 28]),
    ("tallnoise", noise, 72, 128, [(100, 20), (22, 22), (60, 30)], [28]),
]


def tv_processors(size):
    kw = dict(
        size={"height": size, "width": size},
        resample=PIL.Image.Resampling.BICUBIC,
        do_rescale=True,
        rescale_factor=1 / 255,
        do_normalize=True,
        image_mean=[0.48145466, 0.4578275, 0.40821073],
        image_std=[0.26862954, 0.26130258, 0.27577711],
        do_convert_rgb=True,
    )
    return BlipImageProcessor(**kw), InstructBlipVideoVideoProcessor(**kw)


def hf_processor(size):
    return BlipImageProcessorPil(
        size={"height": size, "width": size},
        resample=PIL.Image.Resampling.BICUBIC,
        do_rescale=True,
        rescale_factor=1 / 255,
        do_normalize=True,
        image_mean=[0.48145466, 0.4578275, 0.40821073],
        image_std=[0.26862954, 0.26130258, 0.27577711],
        do_convert_rgb=True,
    )


def main():
    manifest = [
        "# Written by make_fixtures.py: Pillow %s, numpy %s, transformers %s, "
        "torch %s, torchvision %s (cpu capability %s)"
        % (PIL.__version__, np.__version__, transformers.__version__,
           torch.__version__, torchvision.__version__,
           torch.backends.cpu.get_cpu_capability()),
        "",
    ]
    total = 0

    def write(path, data):
        nonlocal total
        with open(os.path.join(HERE, path), "wb") as f:
            f.write(data)
        total += len(data)

    for name, gen, w, h, extra, hf_sizes in CASES:
        pixels = gen(w, h)
        mode = "RGBA" if pixels.shape[-1] == 4 else "RGB"
        png = os.path.join(HERE, name + ".png")
        Image.fromarray(pixels, mode).save(png)
        total += os.path.getsize(png)
        # Reload from the PNG, as a user of the processor would.
        im = Image.open(png)
        im.load()
        assert im.mode == mode and np.array_equal(np.asarray(im), pixels)
        raw = name + (".rgba" if mode == "RGBA" else ".rgb")
        write(raw, np.ascontiguousarray(pixels).tobytes())

        sizes = SMALL + extra
        hfirst_sizes = []
        if mode == "RGB":
            for ow, oh in sizes:
                out = np.asarray(im.resize((ow, oh), Image.Resampling.BICUBIC))
                assert out.shape == (oh, ow, 3) and out.dtype == np.uint8
                write("%s-%dx%d.rgb" % (name, ow, oh), out.tobytes())
                if ow != w and (h - oh) > 0 and (h - oh) > (w - ow) * 2:
                    hfirst = np.asarray(
                        im.resize((ow, h), Image.Resampling.BICUBIC)
                        .resize((ow, oh), Image.Resampling.BICUBIC))
                    vfirst = np.asarray(
                        im.resize((w, oh), Image.Resampling.BICUBIC)
                        .resize((ow, oh), Image.Resampling.BICUBIC))
                    # the rule this script assumes of Pillow >= 13
                    assert np.array_equal(vfirst, out), (name, ow, oh)
                    write("%s-%dx%d-h.rgb" % (name, ow, oh), hfirst.tobytes())
                    hfirst_sizes.append((ow, oh))
                chw = torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1)
                tv = tvF.resize(chw, [oh, ow],
                                interpolation=tvF.InterpolationMode.BICUBIC,
                                antialias=True).permute(1, 2, 0).numpy()
                write("%s-%dx%d-tv.rgb" % (name, ow, oh),
                      np.ascontiguousarray(tv).tobytes())
        else:
            sizes = []

        for s in hf_sizes:
            image_proc, video_proc = tv_processors(s)
            pv = image_proc(im, return_tensors="pt")["pixel_values"].numpy()
            assert pv.shape == (1, 3, s, s) and pv.dtype == np.float32, pv.shape
            if mode == "RGB":
                video = np.stack([pixels, pixels])
                vv = video_proc(videos=[video], return_tensors="pt")
                vv = vv["pixel_values"].numpy()
                assert vv.shape == (1, 2, 3, s, s), vv.shape
                assert np.array_equal(vv[0, 0], pv[0]) and np.array_equal(
                    vv[0, 1], pv[0]), "video processor differs"
            write("%s-tv%d.f32" % (name, s), pv[0].astype("<f4").tobytes())

        for s in hf_sizes:
            pv = hf_processor(s)(im, return_tensors="np")["pixel_values"]
            assert pv.shape == (1, 3, s, s) and pv.dtype == np.float32, pv.shape
            write("%s-hf%d.f32" % (name, s), pv[0].astype("<f4").tobytes())

        manifest += [
            "[%s]" % name,
            "file=%s" % raw,
            "width=%d" % w,
            "height=%d" % h,
            "format=%s" % mode,
            "resize=%s" % ";".join("%dx%d" % s for s in sizes),
            "resize_hfirst=%s" % ";".join("%dx%d" % s for s in hfirst_sizes),
            "resize_tv=%s" % ";".join("%dx%d" % s for s in sizes),
            "hf=%s" % ";".join(str(s) for s in hf_sizes),
            "",
        ]

    write("manifest.ini", ("\n".join(manifest)).encode())
    print("wrote %d bytes of fixtures" % total, file=sys.stderr)


if __name__ == "__main__":
    main()
