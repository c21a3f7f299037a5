/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The vision encoder (EVA ViT-g/14 as in InstructBLIP): patch embedding,
 * class token, absolute positions, pre-LN blocks, post LayerNorm. */
#pragma once

#include "ib-config.h"
#include "loader.h"

G_BEGIN_DECLS

typedef struct _IbVit IbVit;

/* Loads vision_model.* from the checkpoint. (transfer full) */
IbVit *ib_vit_new (IbLoader *l, const IbVisionConfig *cfg, GError **error);
void ib_vit_free (IbVit *vit);

/* Tokens per frame: 1 + (image_size / patch_size)². */
int ib_vit_get_n_tokens (const IbVit *vit);

/* Per-stream activations, carved from an arena once. */
typedef struct _IbVitScratch IbVitScratch;

/* Arena bytes the scratch needs (for sizing the arena). */
gsize ib_vit_scratch_footprint (const IbVit *vit, const IbClDevice *dev);
IbVitScratch *ib_vit_scratch_new (const IbVit *vit, IbClArena *arena,
    GError **error);
/* The same for passes of up to @n_frames frames. */
gsize ib_vit_scratch_footprint_many (const IbVit *vit, const IbClDevice *dev,
    int n_frames);
IbVitScratch *ib_vit_scratch_new_many (const IbVit *vit, IbClArena *arena,
    int n_frames, GError **error);
void ib_vit_scratch_free (IbVitScratch *s);

/* Raises *@need to the queue scratch a frame's products need
 * (ib_cl_queue_reserve_scratch). */
gboolean ib_vit_product_scratch (const IbVit *vit, IbClDevice *dev, gsize *need,
    GError **error);
/* The same for passes of up to @n_frames frames. */
gboolean ib_vit_product_scratch_many (const IbVit *vit, IbClDevice *dev,
    int n_frames, gsize *need, GError **error);

/* One frame: @pixels [3, S, S] normalised, CHW → @out rows [T, hidden]
 * starting at float offset @out_offset. Enqueued; errors stick to @q. */
void ib_vit_forward (const IbVit *vit, IbClQueue *q, IbVitScratch *s,
    const IbClBuffer *pixels, IbClBuffer *out, gsize out_offset);

/* @n frames in one pass (scratch from ib_vit_scratch_new_many for at least
 * @n): frame f from @pixels[f] into @out[f] from @out_offset[f]. The
 * layers' products run over the rows of all frames at once where the
 * backend's rows do not depend on their number (ib_cl_linear_segments),
 * the attention frame by frame: every frame's rows are bit for bit those
 * ib_vit_forward gives it alone. */
void ib_vit_forward_many (const IbVit *vit, IbClQueue *q, IbVitScratch *s,
    const IbClBuffer *const *pixels, int n, IbClBuffer *const *out,
    const gsize *out_offset);

G_END_DECLS
