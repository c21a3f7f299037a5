#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the tiny InstructBLIP checkpoints the checkpoint tests read.

Run by developers only (CI never runs Python); the outputs are committed.
Needs the newest transformers, torch and safetensors from PyPI:

    python3 tests/data/checkpoint/make_fixtures.py

Every fixture is a Hugging Face model directory as `save_pretrained` writes
it (config.json, generation_config.json, model.safetensors or shards plus
model.safetensors.index.json, preprocessor_config.json), plus manifest.json:
the config values transformers resolves (defaults applied) and, per tensor,
dtype, shape, shard file, the first values, the first values converted to
IEEE half by torch, and the exact sum (see tensor_manifest for the keys), so
the C tests can check that they read the right bytes and convert them the
way torch does. The video fixture's video_preprocessor_config.json is
written by hand (InstructBlipVideoVideoProcessor needs torchvision).

configs/<name>/ hold config-only fixtures written like older Hub files
(most fields omitted), with the values transformers resolves for them.
half-cases/ holds special values (subnormals, ties, overflow, NaN) for the
f32/bf16 -> f16 conversions, rounded by torch.
"""

import json
import math
import os
import shutil
import struct

import torch
from safetensors.torch import save_file
from transformers import (
    BlipImageProcessor,
    GenerationConfig,
    InstructBlipConfig,
    InstructBlipForConditionalGeneration,
    InstructBlipVideoConfig,
    InstructBlipVideoForConditionalGeneration,
    LlamaConfig,
    T5Config,
)

HERE = os.path.dirname(os.path.abspath(__file__))

VISION = dict(
    hidden_size=12,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    image_size=8,
    patch_size=4,
)
QFORMER = dict(
    vocab_size=30,
    hidden_size=8,
    num_hidden_layers=4,
    num_attention_heads=4,
    intermediate_size=12,
    max_position_embeddings=16,
    cross_attention_frequency=2,
)
NUM_QUERY_TOKENS = 4


def llama_config(**kw):
    return LlamaConfig(
        vocab_size=32,
        hidden_size=20,
        intermediate_size=14,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=6,
        max_position_embeddings=64,
        rms_norm_eps=1e-6,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
        **kw,
    )


def t5_config():
    return T5Config(
        vocab_size=32,
        d_model=20,
        d_kv=4,
        num_heads=4,
        d_ff=14,
        num_layers=2,
        num_decoder_layers=1,
        feed_forward_proj="gated-gelu",
        dense_act_fn="gelu",
        relative_attention_num_buckets=8,
        relative_attention_max_distance=16,
        decoder_start_token_id=0,
        tie_word_embeddings=False,
    )


def randomize(model, seed):
    """Replaces every parameter with N(0, 0.5) values: the HF initialisers
    give 1e-10-sized values (vision) that would underflow in f16."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in sorted(model.named_parameters()):
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5)


def first_values(t, n=4):
    """The first values as shortest decimal strings that parse back to the
    same float32 (every source dtype converts to float32 exactly)."""
    flat = t.reshape(-1)[:n].to(torch.float32).numpy()
    return [float(str(v)) for v in flat]


def f16_bits(t, n=4):
    flat = t.reshape(-1)[:n].to(torch.float16)
    return [int(v) for v in flat.view(torch.int16).to(torch.int32) & 0xFFFF]


def read_header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n))


def tensor_manifest(model_dir):
    """Reads back what save_pretrained wrote (names, dtypes, shapes, shard)."""
    from safetensors import safe_open

    files = sorted(f for f in os.listdir(model_dir) if f.endswith(".safetensors"))
    out = {}
    for fn in files:
        header = read_header(os.path.join(model_dir, fn))
        with safe_open(os.path.join(model_dir, fn), "pt") as f:
            for name in f.keys():
                t = f.get_tensor(name)
                d = t.to(torch.float64).reshape(-1).tolist()
                # short keys keep the manifests small: d dtype, s shape,
                # f shard file (sharded only), v first values, h first
                # values as f16 bits (non-F16 only), sum the exact sum
                e = {
                    "d": header[name]["dtype"],
                    "s": list(t.shape),
                    "v": first_values(t),
                    "sum": float("%.12g" % math.fsum(d)),
                }
                if len(files) > 1:
                    e["f"] = fn
                if e["d"] != "F16":
                    e["h"] = f16_bits(t)
                out[name] = e
    return files, out


def eos_list(v):
    if v is None:
        return []
    return list(v) if isinstance(v, (list, tuple)) else [v]


def or_minus1(v):
    return -1 if v is None else int(v)


def resolved_config(cfg):
    """The values the C IbModelConfig must hold, as transformers resolves
    them (defaults of each config class applied)."""
    v, q, t = cfg.vision_config, cfg.qformer_config, cfg.text_config
    out = {
        "model_type": cfg.model_type,
        "num_query_tokens": cfg.num_query_tokens,
        "image_token_index": or_minus1(getattr(cfg, "image_token_index", None)),
        "video_token_index": or_minus1(getattr(cfg, "video_token_index", None)),
        "vision.hidden_size": v.hidden_size,
        "vision.num_hidden_layers": v.num_hidden_layers,
        "vision.num_attention_heads": v.num_attention_heads,
        "vision.intermediate_size": v.intermediate_size,
        "vision.image_size": v.image_size,
        "vision.patch_size": v.patch_size,
        "vision.layer_norm_eps": v.layer_norm_eps,
        "vision.qkv_bias": bool(v.qkv_bias),
        "vision.hidden_act": v.hidden_act,
        "qformer.vocab_size": q.vocab_size,
        "qformer.hidden_size": q.hidden_size,
        "qformer.num_hidden_layers": q.num_hidden_layers,
        "qformer.num_attention_heads": q.num_attention_heads,
        "qformer.intermediate_size": q.intermediate_size,
        "qformer.layer_norm_eps": q.layer_norm_eps,
        "qformer.max_position_embeddings": q.max_position_embeddings,
        "qformer.cross_attention_frequency": q.cross_attention_frequency,
        "qformer.encoder_hidden_size": q.encoder_hidden_size,
        "qformer.hidden_act": q.hidden_act,
        "text.model_type": t.model_type,
        "text.vocab_size": t.vocab_size,
        "text.pad_token_id": or_minus1(t.pad_token_id),
        "text.eos_token_id": eos_list(t.eos_token_id),
    }
    if t.model_type == "llama":
        rope = getattr(t, "rope_parameters", None) or {}
        theta = rope.get("rope_theta", getattr(t, "rope_theta", 10000.0))
        out.update(
            {
                "text.hidden_size": t.hidden_size,
                "text.num_layers": t.num_hidden_layers,
                "text.num_heads": t.num_attention_heads,
                "text.num_kv_heads": t.num_key_value_heads,
                "text.head_dim": t.head_dim,
                "text.intermediate_size": t.intermediate_size,
                "text.norm_eps": t.rms_norm_eps,
                "text.rope_theta": float(theta),
                "text.max_position_embeddings": t.max_position_embeddings,
                "text.hidden_act": t.hidden_act,
                "text.tie_word_embeddings": bool(t.tie_word_embeddings),
                "text.bos_token_id": or_minus1(t.bos_token_id),
            }
        )
    else:
        out.update(
            {
                "text.hidden_size": t.d_model,
                "text.num_layers": t.num_layers,
                "text.num_decoder_layers": t.num_decoder_layers,
                "text.num_heads": t.num_heads,
                "text.num_kv_heads": t.num_heads,
                "text.head_dim": t.d_kv,
                "text.intermediate_size": t.d_ff,
                "text.norm_eps": t.layer_norm_epsilon,
                "text.relative_attention_num_buckets": t.relative_attention_num_buckets,
                "text.relative_attention_max_distance": t.relative_attention_max_distance,
                "text.hidden_act": t.dense_act_fn,
                "text.gated_act": bool(t.is_gated_act),
                "text.decoder_start_token_id": or_minus1(
                    getattr(t, "decoder_start_token_id", None)
                ),
                # transformers 5 always ties T5's lm_head to shared when the
                # file has no lm_head; what the file's tie_word_embeddings
                # still decides is the d_model^-0.5 scaling before lm_head
                "text.scale_decoder_outputs": bool(t.scale_decoder_outputs),
            }
        )
    return out


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")


def write_manifest(path, manifest):
    """Like write_json, but one line per tensor to keep the file small."""
    tensors = manifest.pop("tensors")
    lines = [json.dumps(manifest, sort_keys=True)[:-1] + ', "tensors": {']
    names = sorted(tensors)
    for i, name in enumerate(names):
        sep = "," if i + 1 < len(names) else ""
        lines.append(f" {json.dumps(name)}: {json.dumps(tensors[name], sort_keys=True)}{sep}")
    lines.append("}}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def finish(model_dir, cfg, extra=None):
    """Drops files the tests do not need and writes manifest.json."""
    files, tensors = tensor_manifest(model_dir)
    manifest = {
        "config": resolved_config(cfg),
        "files": files,
        "sharded": os.path.exists(
            os.path.join(model_dir, "model.safetensors.index.json")
        ),
        "tensors": tensors,
    }
    manifest.update(extra or {})
    write_manifest(os.path.join(model_dir, "manifest.json"), manifest)


def fresh_dir(name):
    d = os.path.join(HERE, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def save_image_processor(d):
    BlipImageProcessor(size={"height": 8, "width": 8}).save_pretrained(d)


def make_llama():
    cfg = InstructBlipConfig(
        vision_config=VISION,
        qformer_config=QFORMER,
        text_config=llama_config().to_dict(),
        num_query_tokens=NUM_QUERY_TOKENS,
        image_token_index=31,
    )
    torch.manual_seed(0)
    model = InstructBlipForConditionalGeneration(cfg).eval()
    randomize(model, 1)
    model.generation_config = GenerationConfig(
        bos_token_id=1,
        eos_token_id=[2, 5],
        pad_token_id=0,
        max_length=30,
        min_length=1,
        num_beams=5,
        repetition_penalty=1.5,
        length_penalty=1.0,
        do_sample=False,
    )
    gen = {
        "generation": {
            "present": True,
            "bos_token_id": 1,
            "eos_token_id": [2, 5],
            "pad_token_id": 0,
            "max_length": 30,
            "min_length": 1,
            "num_beams": 5,
            "repetition_penalty": 1.5,
        }
    }
    variants = [
        ("llama-f32", torch.float32, None),
        ("llama-f32-sharded", torch.float32, "40KB"),
        ("llama-f16", torch.float16, None),
        ("llama-bf16", torch.bfloat16, None),
    ]
    for name, dtype, shard in variants:
        d = fresh_dir(name)
        m = model.to(dtype)
        if shard:
            m.save_pretrained(d, max_shard_size=shard)
        else:
            m.save_pretrained(d)
        save_image_processor(d)
        finish(d, cfg, gen)
        model = model.to(torch.float32)


def make_t5():
    cfg = InstructBlipConfig(
        vision_config=VISION,
        qformer_config=QFORMER,
        text_config=t5_config().to_dict(),
        num_query_tokens=NUM_QUERY_TOKENS,
        image_token_index=30,
    )
    model = InstructBlipForConditionalGeneration(cfg).eval()
    randomize(model, 2)
    d = fresh_dir("t5-bf16")
    model.to(torch.bfloat16).save_pretrained(d)
    save_image_processor(d)
    finish(d, cfg)


def make_t5_legacy():
    """The tensor layout and config style of the released Salesforce
    flan-t5 files (written by transformers 4.3x): a separate lm_head,
    encoder/decoder.embed_tokens copies of shared, position_ids buffer,
    text_config with tie_word_embeddings false, qformer/vision configs
    reduced to the fields that differ from the defaults."""
    cfg = InstructBlipConfig(
        vision_config=VISION,
        qformer_config=QFORMER,
        text_config=t5_config().to_dict(),
        num_query_tokens=NUM_QUERY_TOKENS,
    )
    model = InstructBlipForConditionalGeneration(cfg).eval()
    randomize(model, 3)
    sd = {k: v.detach().clone().to(torch.float16) for k, v in model.state_dict().items()}
    gen = torch.Generator().manual_seed(4)
    shared = sd["language_model.shared.weight"]
    sd["language_model.encoder.embed_tokens.weight"] = shared.clone()
    sd["language_model.decoder.embed_tokens.weight"] = shared.clone()
    sd["language_model.lm_head.weight"] = (
        torch.randn(shared.shape, generator=gen) * 0.5
    ).to(torch.float16)
    sd["qformer.embeddings.position_ids"] = torch.arange(
        QFORMER["max_position_embeddings"], dtype=torch.int64
    ).reshape(1, -1)
    d = fresh_dir("t5-legacy-f16")
    save_file(sd, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    text = {
        "architectures": ["T5ForConditionalGeneration"],
        "d_ff": 14,
        "d_kv": 4,
        "d_model": 20,
        "decoder_start_token_id": 0,
        "dense_act_fn": "gelu",
        "eos_token_id": 1,
        "feed_forward_proj": "gated-gelu",
        "is_gated_act": True,
        "layer_norm_epsilon": 1e-06,
        "model_type": "t5",
        "num_decoder_layers": 1,
        "num_heads": 4,
        "num_layers": 2,
        "pad_token_id": 0,
        "relative_attention_max_distance": 16,
        "relative_attention_num_buckets": 8,
        "tie_word_embeddings": False,
        "torch_dtype": "float16",
        "vocab_size": 32,
    }
    config = {
        "architectures": ["InstructBlipForConditionalGeneration"],
        "initializer_factor": 1.0,
        "initializer_range": 0.02,
        "model_type": "instructblip",
        "num_query_tokens": NUM_QUERY_TOKENS,
        "qformer_config": dict(QFORMER, model_type="instructblip_qformer"),
        "text_config": text,
        "tie_word_embeddings": False,
        "torch_dtype": "float16",
        "transformers_version": "4.31.0.dev0",
        "use_decoder_only_language_model": False,
        "vision_config": dict(VISION, model_type="instructblip_vision_model"),
    }
    write_json(os.path.join(d, "config.json"), config)
    # an older processor file: size as a plain int
    write_json(
        os.path.join(d, "preprocessor_config.json"),
        {
            "do_normalize": True,
            "do_resize": True,
            "image_mean": [0.48145466, 0.4578275, 0.40821073],
            "image_processor_type": "BlipImageProcessor",
            "image_std": [0.26862954, 0.26130258, 0.27577711],
            "processor_class": "InstructBlipProcessor",
            "size": 8,
        },
    )
    finish(d, InstructBlipConfig.from_pretrained(d))


def make_video():
    cfg = InstructBlipVideoConfig(
        vision_config=VISION,
        qformer_config=QFORMER,
        text_config=llama_config(tie_word_embeddings=True).to_dict(),
        num_query_tokens=NUM_QUERY_TOKENS,
        video_token_index=31,
    )
    model = InstructBlipVideoForConditionalGeneration(cfg).eval()
    randomize(model, 5)
    d = fresh_dir("video-llama-f16")
    model.to(torch.float16).save_pretrained(d)
    save_image_processor(d)
    # InstructBlipVideoVideoProcessor needs torchvision; this is what its
    # save_pretrained writes (null = class default).
    write_json(
        os.path.join(d, "video_preprocessor_config.json"),
        {
            "crop_size": None,
            "data_format": "channels_first",
            "default_to_square": True,
            "device": None,
            "do_center_crop": None,
            "do_convert_rgb": True,
            "do_normalize": True,
            "do_rescale": True,
            "do_resize": True,
            "do_sample_frames": False,
            "fps": None,
            "image_mean": [0.48145466, 0.4578275, 0.40821073],
            "image_std": [0.26862954, 0.26130258, 0.27577711],
            "input_data_format": None,
            "num_frames": None,
            "processor_class": "InstructBlipVideoProcessor",
            "resample": 3,
            "rescale_factor": 0.00392156862745098,
            "return_metadata": False,
            "size": {"height": 6, "width": 10},
            "size_divisor": None,
            "video_metadata": None,
            "video_processor_type": "InstructBlipVideoVideoProcessor",
        },
    )
    finish(d, cfg)


# Released-style config.json files, reduced to what the Hub files carry.
LEGACY_CONFIGS = {
    "vicuna-7b": {
        "architectures": ["InstructBlipForConditionalGeneration"],
        "initializer_factor": 1.0,
        "initializer_range": 0.02,
        "model_type": "instructblip",
        "num_query_tokens": 32,
        "qformer_config": {"model_type": "instructblip_qformer", "vocab_size": 30523},
        "text_config": {
            "architectures": ["LLaMAForCausalLM"],
            "bos_token_id": 0,
            "eos_token_id": 1,
            "hidden_act": "silu",
            "hidden_size": 4096,
            "initializer_range": 0.02,
            "intermediate_size": 11008,
            "max_sequence_length": 2048,
            "model_type": "llama",
            "num_attention_heads": 32,
            "num_hidden_layers": 32,
            "pad_token_id": -1,
            "rms_norm_eps": 1e-06,
            "tie_word_embeddings": False,
            "torch_dtype": "float16",
            "vocab_size": 32001,
        },
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "transformers_version": "4.31.0.dev0",
        "use_decoder_only_language_model": True,
        "vision_config": {"model_type": "instructblip_vision_model"},
    },
    "flan-t5-xl": {
        "architectures": ["InstructBlipForConditionalGeneration"],
        "image_token_index": 32100,
        "model_type": "instructblip",
        "num_query_tokens": 32,
        "qformer_config": {"model_type": "instructblip_qformer", "vocab_size": 30523},
        "text_config": {
            "architectures": ["T5ForConditionalGeneration"],
            "bos_token_id": 1,
            "d_ff": 5120,
            "d_kv": 64,
            "d_model": 2048,
            "decoder_start_token_id": 0,
            "dense_act_fn": "gelu",
            "eos_token_id": 1,
            "feed_forward_proj": "gated-gelu",
            "is_gated_act": True,
            "layer_norm_epsilon": 1e-06,
            "model_type": "t5",
            "num_decoder_layers": 24,
            "num_heads": 32,
            "num_layers": 24,
            "pad_token_id": 0,
            "tie_word_embeddings": False,
            "vocab_size": 32128,
        },
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "transformers_version": "4.47.0.dev0",
        "use_decoder_only_language_model": False,
        "vision_config": {"model_type": "instructblip_vision_model"},
    },
    # plain T5 defaults (relu, 6 layers, 8 heads) and qformer defaults
    "t5-defaults": {
        "model_type": "instructblip",
        "text_config": {"model_type": "t5"},
    },
    "llama-defaults": {
        "model_type": "instructblipvideo",
        "video_token_index": 32002,
        "text_config": {"model_type": "llama", "num_key_value_heads": 8},
    },
}


def make_legacy_configs():
    base = os.path.join(HERE, "configs")
    shutil.rmtree(base, ignore_errors=True)
    for name, config in LEGACY_CONFIGS.items():
        d = os.path.join(base, name)
        os.makedirs(d)
        write_json(os.path.join(d, "config.json"), config)
        cls = (
            InstructBlipVideoConfig
            if config["model_type"] == "instructblipvideo"
            else InstructBlipConfig
        )
        write_json(
            os.path.join(d, "expected.json"),
            resolved_config(cls.from_pretrained(d)),
        )


def make_half_cases():
    """Special values for the f32 -> f16 and bf16 -> f32/f16 conversions."""
    vals = [
        0.0, -0.0, 1.0, -1.0, 0.5, 65504.0, 65519.99, 65520.0, -65520.0, 1e6,
        float("inf"), float("-inf"), float("nan"),
        6.103515625e-05, 6.0975552e-05, 5.960464477539063e-08,
        2.98023223876953125e-08, 2.9802326e-08, 1.7881393e-07, 1e-10,
        1.00048828125, 1.00146484375, 1.0009765625 + 2 ** -24, 2049.0, 2051.0,
        -3.1415927, 0.1, 1e-4, 3.0517578e-05,
    ]
    gen = torch.Generator().manual_seed(6)
    rnd = torch.randn(227, generator=gen) * torch.exp(torch.randn(227, generator=gen) * 6)
    f32 = torch.cat([torch.tensor(vals, dtype=torch.float32), rnd.to(torch.float32)])
    bits = torch.randint(0, 1 << 16, (256,), generator=gen, dtype=torch.int32)
    bf16 = bits.to(torch.int16).view(torch.bfloat16)
    d = fresh_dir("half-cases")
    tensors = {
        "f32": f32,
        "f32_as_f16": f32.to(torch.float16),
        "bf16": bf16,
        "bf16_as_f32": bf16.to(torch.float32),
        "bf16_as_f16": bf16.to(torch.float16),
        "f16": f32.to(torch.float16),
        "f16_as_f32": f32.to(torch.float16).to(torch.float32),
    }
    save_file(tensors, os.path.join(d, "model.safetensors"))


def main():
    make_llama()
    make_t5()
    make_t5_legacy()
    make_video()
    make_legacy_configs()
    make_half_cases()
    total = 0
    for root, _, files in os.walk(HERE):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    print(f"fixtures written, {total} bytes in {HERE}")


if __name__ == "__main__":
    main()
