# SPDX-License-Identifier: LGPL-2.1-or-later
"""The toy language model of the generation tests, as a transformers model.

Its next-token logits are a pure function of the last two ids of the sequence
(integer hashing, values on a binary grid so float32 holds them exactly).
tests/generate/toy-model.c computes the very same logits in C; the two must
stay in step.  Developers only (CI never runs Python).
"""

import torch
from transformers import GenerationMixin, PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import CausalLMOutputWithPast

VOCAB = 50
NO_TOKEN = 1000  # stands in for the id before the first one

# variant -> (grid step, number of grid levels, strong bonus, eos levels)
VARIANTS = {
    # coarse grid: many exact ties within a row (ties broken by index)
    "coarse": (0.125, 33, 2.5, 9),
    # fine grid: near-ties between rows and between beams
    "fine": (1.0 / 1024.0, 4097, 2.5, 9),
}

M32 = 0xFFFFFFFF


def mix32(x):
    """A 32-bit integer finaliser (lowbias32)."""
    x &= M32
    x ^= x >> 16
    x = (x * 0x7FEB352D) & M32
    x ^= x >> 15
    x = (x * 0x846CA68B) & M32
    x ^= x >> 16
    return x


def toy_logits(variant, a, b):
    """Logits [VOCAB] (python floats, exact in float32) after ids ... a, b."""
    step, levels, bonus, eos_levels = VARIANTS[variant]
    salt = 0x1234 if variant == "coarse" else 0x9876
    out = []
    for v in range(VOCAB):
        h = mix32((a * 0x9E3779B1) ^ (b * 0x85EBCA77) ^ (v * 0xC2B2AE3D) ^ salt)
        x = ((h >> 4) % levels) * step - 2.0
        if v == 2 or v == 7:
            # the two ids the tests use as eos: sometimes the best choice
            x = ((h >> 8) % eos_levels) * 0.5 - 1.5
        if v == (a * 7 + b * 13 + salt) % VOCAB:
            x += bonus
        out.append(x)
    return out


class ToyConfig(PretrainedConfig):
    model_type = "ib_toy"

    def __init__(self, variant="coarse", vocab_size=VOCAB, **kw):
        self.variant = variant
        self.vocab_size = vocab_size
        super().__init__(**kw)


class ToyLM(PreTrainedModel, GenerationMixin):
    """Returns toy_logits for the last position; no cache (use_cache=False)."""

    config_class = ToyConfig

    def __init__(self, config):
        super().__init__(config)
        self.dummy = torch.nn.Parameter(torch.zeros(1))
        self.memo = {}
        self.n_forward = 0  # forward calls, the prefill included
        self.post_init()

    def row(self, a, b):
        key = (a, b)
        if key not in self.memo:
            self.memo[key] = torch.tensor(
                toy_logits(self.config.variant, a, b), dtype=torch.float32)
        return self.memo[key]

    def forward(self, input_ids=None, attention_mask=None, **kw):
        self.n_forward += 1
        n, length = input_ids.shape
        logits = torch.zeros(n, length, VOCAB, dtype=torch.float32)
        for i in range(n):
            ids = input_ids[i].tolist()
            a = ids[-2] if length >= 2 else NO_TOKEN
            logits[i, -1] = self.row(a, ids[-1])
        return CausalLMOutputWithPast(logits=logits)


def make_model(variant):
    return ToyLM(ToyConfig(variant=variant)).eval()
