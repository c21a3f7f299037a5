#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""JPEG fixtures for tests/cli: small JPEG files and the RGB pixels Pillow
decodes them to (Image.open (f).convert ("RGB"), what the transformers
processors see), written as raw [height, width, 3] bytes next to each file.
Run by a developer (Pillow needed); the outputs are committed."""
import os

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))


def picture(w, h, seed):
    """A gradient with a disc and some noise: edges, flat areas, detail."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3), np.float64)
    img[..., 0] = 255 * x / (w - 1)
    img[..., 1] = 255 * y / (h - 1)
    img[..., 2] = 128
    disc = (x - w / 2) ** 2 + (y - h / 2) ** 2 < (min(w, h) / 3) ** 2
    img[disc] = (230, 40, 30)
    img += rng.normal(0, 12, img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def save(name, im, **kw):
    path = os.path.join(HERE, name + ".jpg")
    im.save(path, "JPEG", **kw)
    rgb = np.asarray(Image.open(path).convert("RGB"))
    rgb.tofile(os.path.join(HERE, name + ".rgb"))
    print(name, rgb.shape)


def main():
    im = picture(37, 29, 1)
    save("jpeg420", im, quality=85)                      # 4:2:0, baseline
    save("jpeg444-progressive", im, quality=90, subsampling=0,
         progressive=True)
    save("jpeg-gray", im.convert("L"), quality=80)


if __name__ == "__main__":
    main()
