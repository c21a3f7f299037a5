#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes reference-fp16.safetensors beside each parity fixture: the ids
transformers generates (settings of make_fixtures.py, from the fixture's
pixel_values and ids) in fp32 arithmetic on the fixture's parameters
rounded to fp16 once, which is what the engine's precision=fp16 means.
Only parameters are rounded (not buffers such as RoPE's inv_freq):
model.half() followed by .float() would round those too.

Run by developers only; the outputs are committed:

    python3 tests/data/parity/make_fp16_refs.py
"""

import os

import torch
from safetensors.torch import load_file, save_file
from transformers import (
    InstructBlipForConditionalGeneration,
    InstructBlipVideoForConditionalGeneration,
)

HERE = os.path.dirname(os.path.abspath(__file__))

SETTINGS = {
    "greedy": dict(do_sample=False, num_beams=1, max_new_tokens=12),
    "greedy_rep": dict(do_sample=False, num_beams=1, max_new_tokens=12,
                       repetition_penalty=1.5),
    "beam5": dict(do_sample=False, num_beams=5, max_new_tokens=10,
                  length_penalty=1.0),
    "beam5_lp": dict(do_sample=False, num_beams=5, max_new_tokens=10,
                     length_penalty=-1.0, repetition_penalty=1.5),
}


@torch.no_grad()
def build(name, video, t5):
    d = os.path.join(HERE, name)
    ref = load_file(os.path.join(d, "reference.safetensors"))
    cls = (InstructBlipVideoForConditionalGeneration if video else
           InstructBlipForConditionalGeneration)
    model = cls.from_pretrained(d, dtype=torch.float32).eval()
    for p in model.parameters():
        p.copy_(p.half().float())
    pv = ref["pixel_values"]
    pv = pv.unsqueeze(0) if video else pv
    q = ref["qformer_input_ids"].unsqueeze(0)
    ids = ref["input_ids"].unsqueeze(0)
    out = {}
    for setting, kw in SETTINGS.items():
        seq = model.generate(pixel_values=pv, qformer_input_ids=q,
                             qformer_attention_mask=torch.ones_like(q),
                             input_ids=ids,
                             attention_mask=torch.ones_like(ids), **kw)[0]
        if not t5:
            seq = seq[ids.shape[1]:]
        out[setting + "_ids"] = seq.to(torch.int64).contiguous()
        same = torch.equal(out[setting + "_ids"], ref[setting + "_ids"])
        print(name, setting, "same as fp32" if same else "differs from fp32")
    save_file(out, os.path.join(d, "reference-fp16.safetensors"))


def main():
    build("vicuna-tiny", False, False)
    build("t5-tiny", False, True)
    build("vicuna-tiny-video", True, False)


if __name__ == "__main__":
    main()
