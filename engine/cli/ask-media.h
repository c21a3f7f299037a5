/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Image and video files to packed 8-bit frames for instructblip-ask (GStreamer, and libjpeg for Pillow-exact JPEG). */
#pragma once

#include <glib.h>

#include "image.h"

G_BEGIN_DECLS

#define ASK_MEDIA_ERROR (ask_media_error_quark ())

typedef enum
{
  ASK_MEDIA_ERROR_NOT_FOUND, /* the file is missing or unreadable */
  ASK_MEDIA_ERROR_NOT_MEDIA, /* neither an image nor a video */
  ASK_MEDIA_ERROR_DECODE, /* a decoder or GStreamer failed */
  ASK_MEDIA_ERROR_USAGE, /* a video among several files, and the like */
} AskMediaError;

GQuark ask_media_error_quark (void);

/* Decoded frames; each IbImage points into pixels this struct owns. */
typedef struct
{
  int n_frames;
  IbImage *frames; /* [n_frames]: RGB, or RGBA where the source has alpha */
  guint8 **data; /* [n_frames] owned pixel buffers behind frames[i].data */
  gboolean is_video; /* one file with several frames */
  guint64 n_source_frames; /* frames in that video; 1 per image otherwise */
  int *source_index; /* [n_frames] frame index within the video (0 for
                      * images) */
} AskFrames;

/* Whether libjpeg decodes JPEG files (Pillow-exact); without it they go
 * through GStreamer's jpegdec, whose pixels differ from Pillow's. */
gboolean ask_media_has_exact_jpeg (void);

/* Decodes @files: each an image (one frame each, in order), or a single
 * video file of which @video_frames frames are sampled uniformly: indices
 * floor (k * n / video_frames), k = 0 .. video_frames - 1, where n is the
 * number of frames the stream decodes to (LAVIS and the transformers
 * examples: np.arange (0, n, n / N).astype (int)). The video is decoded
 * twice, once to count its frames and once to keep the chosen ones (no
 * seeking, so any container works and the count is exact; each pass drops
 * unwanted frames before colour conversion and the second stops after the
 * last wanted frame). Calls gst_init_check itself. (transfer full) */
AskFrames *ask_frames_load (const char *const *files, int n_files,
    int video_frames, GError **error);

void ask_frames_free (AskFrames *frames);

/* A decoding pass fails with ASK_MEDIA_ERROR_DECODE "decoding stalled"
 * when no frame arrives for this long (default 30 s), and a JPEG decoding
 * that takes longer with "decoding takes more than". */
#define ASK_MEDIA_STALL_US (30 * G_USEC_PER_SEC)

/* Tests: sets that bound (<= 0: the default). */
void ask_media_set_stall_timeout (gint64 us);

G_END_DECLS
