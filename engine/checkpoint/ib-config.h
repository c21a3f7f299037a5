/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The configuration of a Hugging Face InstructBLIP model directory, typed. */
#pragma once

#include <glib.h>

#include "instructblip.h" /* IbEarlyStopping */

G_BEGIN_DECLS

/*
 * ib_model_config_load() reads, from a model directory as downloaded from
 * the Hugging Face Hub (Salesforce/instructblip-vicuna-7b, ...):
 *
 *   config.json                      required
 *   generation_config.json           optional (absent: ids from text_config)
 *   preprocessor_config.json         optional (absent: BlipImageProcessor
 *                                    defaults, size = vision image_size)
 *   video_preprocessor_config.json   optional (absent: the image settings)
 *
 * Fields a file omits get the defaults of the transformers config classes
 * (InstructBlipVisionConfig, InstructBlipQFormerConfig, LlamaConfig,
 * T5Config, GenerationConfig, BlipImageProcessor), so the terse configs of
 * the released checkpoints load as transformers loads them. Each field
 * comment names the JSON key it comes from.
 *
 * Token ids are -1 where the file says null or nothing (Python None).
 */

#define IB_MAX_EOS_IDS 8

/* Limits on the sizes a config.json may give, far above any released
 * model's (ViT-g: 39 layers, 1408 wide; Vicuna-13B: 40 layers, 5120 wide,
 * 32001 tokens); a larger value is IB_ERROR_FORMAT before anything is
 * allocated, and ib_checkpoint_validate() checks the layer counts against
 * the layers the weights hold. */
#define IB_CONFIG_MAX_LAYERS 1024 /* num_hidden_layers, num_layers, ... */
#define IB_CONFIG_MAX_WIDTH 131072 /* hidden, intermediate, head sizes */
#define IB_CONFIG_MAX_HEADS 1024 /* attention heads */
#define IB_CONFIG_MAX_VOCAB 4194304 /* vocab_size */
#define IB_CONFIG_MAX_POSITIONS \
  1048576 /* max_position_embeddings, T5
                                         * relative distances and buckets */
#define IB_CONFIG_MAX_IMAGE 16384 /* vision image_size, pixels per side */
#define IB_CONFIG_MAX_QUERIES 4096 /* num_query_tokens */

typedef enum
{
  IB_MODEL_INSTRUCTBLIP, /* "instructblip" */
  IB_MODEL_INSTRUCTBLIP_VIDEO, /* "instructblipvideo" */
} IbModelType;

typedef enum
{
  IB_TEXT_ARCH_LLAMA, /* decoder-only (Vicuna), "llama" */
  IB_TEXT_ARCH_T5, /* encoder-decoder (Flan-T5), "t5" */
} IbTextArch;

typedef enum
{
  IB_ACT_GELU, /* "gelu": exact erf form */
  IB_ACT_GELU_TANH, /* "gelu_new", "gelu_pytorch_tanh": tanh approximation */
  IB_ACT_RELU, /* "relu" */
  IB_ACT_SILU, /* "silu", "swish" */
} IbActivation;

typedef struct
{
  gint hidden_dim; /* hidden_size (1408) */
  gint n_layers; /* num_hidden_layers (39) */
  gint n_heads; /* num_attention_heads (16) */
  gint intermediate_dim; /* intermediate_size (6144) */
  gint image_size; /* image_size, pixels per side (224) */
  gint patch_size; /* patch_size, pixels per side (14) */
  gdouble layer_norm_eps; /* layer_norm_eps (1e-6) */
  IbActivation act; /* hidden_act ("gelu") */
  gboolean qkv_bias; /* qkv_bias (true): qkv.bias = (q_bias, 0, v_bias) */
} IbVisionConfig;

typedef struct
{
  gint vocab_size; /* vocab_size (30522; the checkpoints say 30523) */
  gint hidden_dim; /* hidden_size (768) */
  gint n_layers; /* num_hidden_layers (12) */
  gint n_heads; /* num_attention_heads (12) */
  gint intermediate_dim; /* intermediate_size (3072) */
  gdouble layer_norm_eps; /* layer_norm_eps (1e-12) */
  gint max_position_embeddings; /* max_position_embeddings (512) */
  gint cross_attention_frequency; /* cross_attention_frequency (2): layer i
                                   * has cross-attention iff i % freq == 0 */
  gint encoder_hidden_dim; /* always vision hidden_size, as transformers
                            * overrides encoder_hidden_size */
  IbActivation act; /* hidden_act ("gelu") */
  gint pad_token_id; /* pad_token_id (0) */
} IbQFormerConfig;

typedef struct
{
  IbTextArch arch; /* model_type */
  gint vocab_size; /* vocab_size (LLaMA 32000, T5 32128) */
  gint hidden_dim; /* LLaMA hidden_size (4096), T5 d_model (512) */
  gint n_layers; /* LLaMA num_hidden_layers (32), T5 num_layers: the
                  * encoder (6) */
  gint n_decoder_layers; /* T5 num_decoder_layers (= num_layers); LLaMA 0 */
  gint n_heads; /* num_attention_heads (32) / num_heads (8) */
  gint n_kv_heads; /* LLaMA num_key_value_heads (= n_heads); T5 n_heads */
  gint head_dim; /* LLaMA head_dim (hidden / heads), T5 d_kv (64) */
  gint intermediate_dim; /* LLaMA intermediate_size (11008), T5 d_ff (2048) */
  gdouble norm_eps; /* LLaMA rms_norm_eps, T5 layer_norm_epsilon (1e-6) */
  IbActivation act; /* LLaMA hidden_act ("silu"); T5 dense_act_fn: the
                     * file's value, else from feed_forward_proj ("relu";
                     * "gated-gelu" gives gelu_new) */
  gboolean gated_ffn; /* LLaMA: always (gate_proj/up_proj); T5 is_gated_act:
                       * the file's value, else feed_forward_proj starts
                       * with "gated-" (wi_0/wi_1 instead of wi) */
  gboolean attention_bias; /* LLaMA attention_bias (false) */
  gboolean mlp_bias; /* LLaMA mlp_bias (false) */
  gdouble rope_theta; /* LLaMA rope_parameters.rope_theta or rope_theta
                       * (10000); T5 0 */
  gint max_position_embeddings; /* LLaMA max_position_embeddings (2048);
                                 * T5 0 (relative positions) */
  gint relative_attention_num_buckets; /* T5 (32); LLaMA 0 */
  gint relative_attention_max_distance; /* T5 (128); LLaMA 0 */
  gboolean tie_word_embeddings; /* tie_word_embeddings (LLaMA false, T5
                                 * true); the lm_head may then be absent
                                 * and the input embedding used instead */
  gboolean scale_decoder_outputs; /* T5: multiply the decoder output by
                                   * d_model^-0.5 before lm_head;
                                   * scale_decoder_outputs, else
                                   * tie_word_embeddings. LLaMA false */
  gint bos_token_id; /* bos_token_id (LLaMA 1, T5 none) */
  gint pad_token_id; /* pad_token_id (LLaMA none, T5 0) */
  gint decoder_start_token_id; /* T5 decoder_start_token_id (none; the
                                * released configs say 0) */
  gint eos_token_ids[IB_MAX_EOS_IDS]; /* eos_token_id, int or list
                                       * (LLaMA 2, T5 1) */
  guint n_eos_token_ids;
} IbTextConfig;

typedef struct
{
  gboolean present; /* generation_config.json exists */
  /* ids: the file's, else those of text_config */
  gint bos_token_id;
  gint pad_token_id;
  gint decoder_start_token_id;
  gint eos_token_ids[IB_MAX_EOS_IDS];
  guint n_eos_token_ids;
  gint max_length; /* max_length (20), prompt included for decoder-only */
  gint max_new_tokens; /* max_new_tokens (-1: unset) */
  gint min_length; /* min_length (0) */
  gint num_beams; /* num_beams (1) */
  gboolean do_sample; /* do_sample (false) */
  gdouble temperature; /* temperature (1.0) */
  gint top_k; /* top_k (50) */
  gdouble top_p; /* top_p (1.0) */
  gdouble repetition_penalty; /* repetition_penalty (1.0) */
  gdouble length_penalty; /* length_penalty (1.0) */
  gint no_repeat_ngram_size; /* no_repeat_ngram_size (0) */
  IbEarlyStopping early_stopping; /* early_stopping (false) */
} IbGenerationConfig;

typedef enum
{
  IB_RESIZE_EXACT, /* size {height, width} or an int: squash to it */
  IB_RESIZE_SHORTEST_EDGE, /* size {shortest_edge[, longest_edge]} */
} IbResizeMode;

/* PIL's numbering, as the files store it. */
typedef enum
{
  IB_RESAMPLE_NEAREST = 0,
  IB_RESAMPLE_LANCZOS = 1,
  IB_RESAMPLE_BILINEAR = 2,
  IB_RESAMPLE_BICUBIC = 3,
  IB_RESAMPLE_BOX = 4,
  IB_RESAMPLE_HAMMING = 5,
} IbResample;

typedef struct
{
  gboolean present; /* the file exists */
  gboolean do_resize; /* do_resize (true) */
  IbResizeMode size_mode; /* from size ({height: 384, width: 384}) */
  gint height, width; /* IB_RESIZE_EXACT */
  gint shortest_edge, longest_edge; /* IB_RESIZE_SHORTEST_EDGE; longest -1
                                     * when not given */
  IbResample resample; /* resample (3, bicubic) */
  gboolean do_center_crop; /* do_center_crop (false) */
  gint crop_height, crop_width; /* crop_size (-1: none) */
  gboolean do_rescale; /* do_rescale (true) */
  gdouble rescale_factor; /* rescale_factor (1/255) */
  gboolean do_normalize; /* do_normalize (true) */
  gdouble image_mean[3]; /* image_mean (CLIP mean), RGB */
  gdouble image_std[3]; /* image_std (CLIP std), RGB */
  gboolean do_convert_rgb; /* do_convert_rgb (true) */
  /* image_processor_type names transformers' PIL backend (a class name
   * ending in "Pil", such as BlipImageProcessorPil); otherwise transformers
   * uses its torchvision backend where torchvision is installed */
  gboolean pil_backend;
} IbImageProcessorConfig;

typedef struct
{
  IbModelType model_type; /* model_type */
  gint n_query_tokens; /* num_query_tokens (32) */
  gint image_token_index; /* image_token_index (none) */
  gint video_token_index; /* video_token_index (none) */
  gboolean tie_word_embeddings; /* top-level tie_word_embeddings (true);
                                 * the text model uses text.tie_... */
  IbVisionConfig vision; /* vision_config */
  IbQFormerConfig qformer; /* qformer_config */
  IbTextConfig text; /* text_config */
  IbGenerationConfig generation; /* generation_config.json */
  IbImageProcessorConfig image_processor; /* preprocessor_config.json */
  IbImageProcessorConfig video_processor; /* video_preprocessor_config.json */
} IbModelConfig;

/* Reads the configuration files of @model_dir. Returns a new config to free
 * with ib_model_config_free(), or NULL with @error set: IB_ERROR_IO (missing
 * config.json, unreadable file), IB_ERROR_FORMAT (invalid JSON, a field of
 * the wrong type or out of range), IB_ERROR_UNSUPPORTED (an architecture,
 * activation or option this engine does not implement). Messages name the
 * file and the field. */
IbModelConfig *ib_model_config_load (const char *model_dir, GError **error);

/* Frees @config; NULL is a no-op. */
void ib_model_config_free (IbModelConfig *config);

/* Names as the files spell them ("llama", "gelu_new", ...). */
const char *ib_text_arch_name (IbTextArch arch);
const char *ib_activation_name (IbActivation act);
const char *ib_model_type_name (IbModelType type);

G_END_DECLS
