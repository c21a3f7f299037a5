/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The new frames of several contexts' questions encoded together: the
 * frames none of the contexts' frame caches holds go through the vision
 * encoder in shared passes (a frame that several of them are given, once),
 * each frame's embeddings bit for bit those ib_context_set_frames gives it
 * alone (ib_vit_forward_many). */
#pragma once

#include "ib-context-private.h"

G_BEGIN_DECLS

typedef struct _IbVisionBatch IbVisionBatch;

/* The frames one context is given: @frames or @pixels (preprocessed). */
typedef struct
{
  const IbImage *frames;
  const float *pixels;
  int n_frames;
} IbFrameSet;

/* What ib_vision_batch_set_frames did. */
typedef struct
{
  int n_passes; /* vision encoder passes */
  int n_encoded; /* frames encoded */
  int max_pass; /* most frames in one pass */
  int n_shared; /* frames of a context copied from another's encoding */
  int n_qformer_passes; /* ib_vision_batch_qformer's passes */
  int max_qformer_pass; /* most (frame, instruction) sequences in one */
} IbVisionBatchRun;

/* Passes of up to @max_pass frames of @model's vision encoder; raises
 * *@scratch to the queue scratch their products need
 * (ib_cl_queue_reserve_scratch of the queue they are given). */
IbVisionBatch *ib_vision_batch_new (IbModel *model, int max_pass,
    gsize *scratch, GError **error);
void ib_vision_batch_free (IbVisionBatch *vb);

/* ib_context_set_frames (or _set_pixel_values) of ctxs[i] to sets[i] for
 * each i < @n, the vision encoder's work on @q. errors[i] gets context i's
 * failure (its frames are then unset). */
void ib_vision_batch_set_frames (IbVisionBatch *vb, IbClQueue *q,
    IbContext *const *ctxs, const IbFrameSet *sets, int n, GError **errors,
    IbVisionBatchRun *run);

/* The Q-Former of ctxs[i]'s current frames with instructions[i] for each
 * i < @n whose errors[i] is NULL, in shared passes on @q: every (frame,
 * instruction) sequence of those questions through each Q-Former layer
 * together, up to @max_pass sequences a pass (ib_qformer_forward_many),
 * each one's soft tokens bit for bit those it gets alone; then
 * ib_context_answer_begin (or _rank) with that instruction keeps them.
 * errors[i] gets question i's failure; @run counts the passes. */
void ib_vision_batch_qformer (IbVisionBatch *vb, IbClQueue *q,
    IbContext *const *ctxs, const char *const *instructions, int n,
    GError **errors, IbVisionBatchRun *run);

G_END_DECLS
