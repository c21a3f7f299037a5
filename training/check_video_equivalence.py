#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks that the training's multi-frame forward (an image checkpoint fed
F frames, soft tokens frame-major, F·Q <image> placeholders) computes what
InstructBlipVideoForConditionalGeneration computes with the same weights
(F·Q <video> placeholders), for F = 4:

    python3 training/check_video_equivalence.py [models/instructblip-synthvid-tiny]
"""

import os
import sys

import numpy as np
import torch
from transformers import (InstructBlipVideoConfig,
                          InstructBlipVideoForConditionalGeneration)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synthvid as sv  # noqa: E402
import train_default_model as T  # noqa: E402


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else \
        "models/instructblip-synthvid-tiny"
    torch.set_num_threads(2)
    img = T.load_f32(out)
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(out)
    qtok = AutoTokenizer.from_pretrained(os.path.join(out,
                                                      "qformer_tokenizer"))
    c = img.config
    vcfg = InstructBlipVideoConfig(
        vision_config=c.vision_config.to_dict(),
        qformer_config=c.qformer_config.to_dict(),
        text_config=c.text_config.to_dict(),
        num_query_tokens=c.num_query_tokens,
        video_token_index=tok.convert_tokens_to_ids("<video>"))
    vid = InstructBlipVideoForConditionalGeneration(vcfg).eval()
    missing = vid.load_state_dict(img.state_dict(), strict=True)
    print("state dict:", missing)
    batcher = T.Batcher(tok, qtok)
    rng = np.random.default_rng(5)
    worst = 0.0
    for _ in range(6):
        frames, q, a, kind = sv.sample(rng, BANK, sv.FRAMES)
        px, cidx, qids, qm, ids, att, lab = batcher.batch(
            [(frames, [(q, a, kind, ())], ())])[:7]
        px = px[cidx]
        with torch.no_grad():
            # the training's forward: one ViT pass per clip, shared
            soft = T.soft_tokens_shared(img, px, torch.arange(len(px)), qids,
                                        qm)
            mine = img.language_model(
                inputs_embeds=T.embed(img, ids, soft),
                attention_mask=att).logits
            vids = ids.clone()
            vids[vids == c.image_token_index] = vcfg.video_token_index
            ref = vid(pixel_values=px, qformer_input_ids=qids,
                      qformer_attention_mask=qm, input_ids=vids,
                      attention_mask=att).logits
        d = float((mine - ref).abs().max())
        worst = max(worst, d)
        print("%-45s max |logit diff| %.3g" % (q, d))
    print("worst %.3g" % worst)
    assert worst < 1e-4


if __name__ == "__main__":
    sv.RESOLUTIONS = [(160, 120)]
    BANK = sv.build_gst_bank(9, pairs_static=1, pairs_ball=1,
                             log=lambda *a: None)
    main()
