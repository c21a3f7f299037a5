/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The answer meta: a GstCustomMeta with flat fields, readable from C and
 * from plain PyGObject. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/**
 * GST_INSTRUCT_BLIP_META_NAME:
 *
 * The name the answer meta is registered under with
 * gst_meta_register_custom(). Read it with
 * `gst_buffer_get_custom_meta (buf, GST_INSTRUCT_BLIP_META_NAME)` and
 * gst_custom_meta_get_structure(), or in Python with
 * `buf.get_custom_meta("InstructBlipAnswerMeta").get_structure()`.
 *
 * Fields (also those of the "instructblip-answer" element message):
 * instruction (string), answer (string), first-pts and last-pts (guint64,
 * the PTS of the first and last frame asked about), latency (guint64 ns,
 * from the last frame's arrival to the answer), n-tokens (guint, generated
 * tokens), n-frames (guint), request-id (guint), asked (gboolean: TRUE for
 * an answer to the "ask" action signal).
 */
#define GST_INSTRUCT_BLIP_META_NAME "InstructBlipAnswerMeta"

/* The name of the answer structure: the element message, the structure of
 * the "answer" signal. */
#define GST_INSTRUCT_BLIP_ANSWER_NAME "instructblip-answer"

/* Registers the meta once (thread-safe); the plugin calls it at load. */
const GstMetaInfo *gst_instruct_blip_meta_get_info (void);

/* Adds an answer meta to @buffer (which must be writable) holding a copy
 * of every field of @answer. Returns the meta. (transfer none) */
GstCustomMeta *gst_buffer_add_instruct_blip_meta (GstBuffer *buffer,
    const GstStructure *answer);

/* The fields of @buffer's first answer meta, or NULL. (transfer none) */
const GstStructure *gst_buffer_get_instruct_blip_answer (GstBuffer *buffer);

G_END_DECLS
