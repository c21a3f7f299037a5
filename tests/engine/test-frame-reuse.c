/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The context's frame cache: XXH64 against the reference implementation
 * (Python xxhash 4.1), the content key of a frame, LRU slots, and answers
 * over overlapping windows identical with the cache on and off (and to
 * transformers on the parity fixture) with fewer ViT passes. */
#include <string.h>

#include <json-glib/json-glib.h>

#include "hash.h"
#include "ib-checkpoint.h"
#include "ib-frame-cache.h"
#include "ibt-model.h"
#include "instructblip.h"

/* ---- XXH64 and frame keys (no device) ---- */

/* byte i of the test input */
static guint8
test_byte (gsize i)
{
  return (guint8) ((i * 131 + 7) & 255);
}

/* xxhash.xxh64_intdigest (bytes (((i * 131 + 7) & 255) for i in
 * range (n)), seed) with Python's xxhash 4.1.0 */
static const struct
{
  gsize n;
  guint64 seed, want;
} xxh64_vectors[] = {
  { 0, 0, G_GUINT64_CONSTANT (0xEF46DB3751D8E999) },
  { 0, 2654435761u, G_GUINT64_CONSTANT (0xAC75FDA2929B17EF) },
  { 1, 0, G_GUINT64_CONSTANT (0xA96C7F0CE858BBB7) },
  { 1, 2654435761u, G_GUINT64_CONSTANT (0x84E535B36672440D) },
  { 3, 0, G_GUINT64_CONSTANT (0xBED43740EE6332BB) },
  { 3, 2654435761u, G_GUINT64_CONSTANT (0x00B77B485431CE5D) },
  { 4, 0, G_GUINT64_CONSTANT (0xFA212AE44B3BB23D) },
  { 4, 2654435761u, G_GUINT64_CONSTANT (0x60492C4BFCB70CAC) },
  { 7, 0, G_GUINT64_CONSTANT (0x2744460DD675D2C0) },
  { 7, 2654435761u, G_GUINT64_CONSTANT (0xCDF83B729545B016) },
  { 8, 0, G_GUINT64_CONSTANT (0x994B676B71CE94DD) },
  { 8, 2654435761u, G_GUINT64_CONSTANT (0xF424EDEBFEA8D23F) },
  { 12, 0, G_GUINT64_CONSTANT (0xB92F588CE720786E) },
  { 12, 2654435761u, G_GUINT64_CONSTANT (0xDDD89BDBF8AA26E0) },
  { 31, 0, G_GUINT64_CONSTANT (0x6711D55E306B5D8F) },
  { 31, 2654435761u, G_GUINT64_CONSTANT (0xFA1259CC8B20EB58) },
  { 32, 0, G_GUINT64_CONSTANT (0x07F7B8E3BC5D6E25) },
  { 32, 2654435761u, G_GUINT64_CONSTANT (0x920F3E10A5DB09C6) },
  { 33, 0, G_GUINT64_CONSTANT (0x09F85EEB4E1CBE9F) },
  { 33, 2654435761u, G_GUINT64_CONSTANT (0x3D805E8712CB4890) },
  { 63, 0, G_GUINT64_CONSTANT (0xB7C9968C066CB6A5) },
  { 63, 2654435761u, G_GUINT64_CONSTANT (0x184BC5097530BB9A) },
  { 64, 0, G_GUINT64_CONSTANT (0x50D4159A0411632E) },
  { 64, 2654435761u, G_GUINT64_CONSTANT (0x94667E10D68B3991) },
  { 100, 0, G_GUINT64_CONSTANT (0x9DDADA11D3DC2D8F) },
  { 100, 2654435761u, G_GUINT64_CONSTANT (0x5766BE6782B96389) },
  { 1000, 0, G_GUINT64_CONSTANT (0x0BF0BDBCC82EB373) },
  { 1000, 2654435761u, G_GUINT64_CONSTANT (0xB43E358553049780) },
};

static void
test_xxh64 (void)
{
  guint8 buf[1000];
  IbXxh64 s;
  gsize i, at, chunk;

  for (i = 0; i < sizeof (buf); i++)
    buf[i] = test_byte (i);
  for (i = 0; i < G_N_ELEMENTS (xxh64_vectors); i++) {
    const gsize n = xxh64_vectors[i].n;
    const guint64 seed = xxh64_vectors[i].seed;

    g_assert_cmphex (ib_xxh64 (buf, n, seed), ==, xxh64_vectors[i].want);
    /* streamed in uneven pieces: the same digest */
    ib_xxh64_init (&s, seed);
    for (at = 0, chunk = 1; at < n; at += chunk, chunk = chunk % 37 + 5)
      ib_xxh64_update (&s, buf + at, MIN (chunk, n - at));
    g_assert_cmphex (ib_xxh64_digest (&s), ==, xxh64_vectors[i].want);
  }
}

/* A frame whose byte at offset i is test_byte (i) (so the padding bytes
 * are not those of a tight copy). */
static guint8 *
patterned (int stride, int height)
{
  guint8 *data = g_malloc ((gsize) stride * height);
  gsize i;

  for (i = 0; i < (gsize) stride * height; i++)
    data[i] = test_byte (i);
  return data;
}

static void
test_image_hash (void)
{
  guint8 *rgb = patterned (17, 3), *rgba = patterned (48, 4), *tight;
  IbImage img = { 5, 3, 17, IB_PIXEL_FORMAT_RGB, rgb };
  IbImage img4 = { 11, 4, 48, IB_PIXEL_FORMAT_RGBA, rgba };
  IbImage t;
  int y;

  /* Python: xxh64 of the visible bytes, rows concatenated */
  g_assert_cmphex (ib_image_hash (&img), ==,
      G_GUINT64_CONSTANT (0xCA862A468616BD94));
  g_assert_cmphex (ib_image_hash (&img4), ==,
      G_GUINT64_CONSTANT (0x7A44A03602AC5DEC));

  /* the same pixels without padding hash alike, whatever the padding */
  tight = g_malloc (15 * 3);
  for (y = 0; y < 3; y++)
    memcpy (tight + y * 15, rgb + y * 17, 15);
  t = (IbImage){ 5, 3, 15, IB_PIXEL_FORMAT_RGB, tight };
  g_assert_cmphex (ib_image_hash (&t), ==, ib_image_hash (&img));
  rgb[15] ^= 0xff;
  rgb[16] ^= 0xff;
  g_assert_cmphex (ib_image_hash (&img), ==, ib_image_hash (&t));
  /* one visible byte changes it */
  rgb[17 + 4] ^= 1;
  g_assert_cmphex (ib_image_hash (&img), !=, ib_image_hash (&t));
  g_free (rgb);
  g_free (rgba);
  g_free (tight);
}

static IbFrameKey
key (guint64 hash)
{
  return (IbFrameKey){ hash, 8, 8, IB_PIXEL_FORMAT_RGB };
}

/* The bookkeeping alone: empty slots first, then least recently used;
 * pinned slots are never handed out; a claim not committed holds nothing;
 * size and format are part of the key. */
static void
test_lru (void)
{
  IbFrameCache *c = ib_frame_cache_new (3);
  IbFrameKey a = key (1), b = key (2), d = key (4), e = key (5), other;
  int sa, sb, sc, s;

  ib_frame_cache_begin (c);
  g_assert_cmpint (ib_frame_cache_lookup (c, &a), ==, -1);
  sa = ib_frame_cache_claim (c, &a);
  g_assert_cmpint (sa, >=, 0);
  /* claimed but not computed yet: not found */
  g_assert_cmpint (ib_frame_cache_lookup (c, &a), ==, -1);
  ib_frame_cache_commit (c, sa);
  g_assert_cmpint (ib_frame_cache_lookup (c, &a), ==, sa);
  sb = ib_frame_cache_claim (c, &b);
  ib_frame_cache_commit (c, sb);
  other = key (3);
  sc = ib_frame_cache_claim (c, &other);
  ib_frame_cache_commit (c, sc);
  g_assert_cmpint (sa, !=, sb);
  g_assert_cmpint (sb, !=, sc);
  g_assert_cmpint (sa, !=, sc);
  /* all three pinned by this call */
  g_assert_cmpint (ib_frame_cache_claim (c, &d), ==, -1);

  /* next call: b is used again, so a (the oldest) goes first, then c */
  ib_frame_cache_begin (c);
  g_assert_cmpint (ib_frame_cache_lookup (c, &b), ==, sb);
  s = ib_frame_cache_claim (c, &d);
  g_assert_cmpint (s, ==, sa);
  ib_frame_cache_commit (c, s);
  g_assert_cmpint (ib_frame_cache_lookup (c, &a), ==, -1);
  s = ib_frame_cache_claim (c, &e);
  g_assert_cmpint (s, ==, sc);
  /* a failed computation: e's slot stays empty and is reused first */
  ib_frame_cache_begin (c);
  g_assert_cmpint (ib_frame_cache_lookup (c, &e), ==, -1);
  g_assert_cmpint (ib_frame_cache_claim (c, &a), ==, sc);

  /* same hash, other size or format: another frame */
  ib_frame_cache_begin (c);
  other = b;
  other.width = 9;
  g_assert_cmpint (ib_frame_cache_lookup (c, &other), ==, -1);
  other = b;
  other.format = IB_PIXEL_FORMAT_BGR;
  g_assert_cmpint (ib_frame_cache_lookup (c, &other), ==, -1);
  other = b;
  other.format = IB_FRAME_KEY_PIXELS;
  g_assert_cmpint (ib_frame_cache_lookup (c, &other), ==, -1);
  g_assert_cmpint (ib_frame_cache_lookup (c, &b), ==, sb);
  ib_frame_cache_free (c);
}

/* ---- on the device: the parity fixture vicuna-tiny-video ---- */

#define FIXTURE "vicuna-tiny-video"
#define W 40
#define H 32

static char *
fixture_path (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "data", "parity", FIXTURE, name,
      NULL);
}

/* The fixture's prompt and transformers' greedy ids. */
static char *
ref_greedy (GArray *ids)
{
  char *path = fixture_path ("reference.safetensors");
  char *spath = fixture_path ("settings.json");
  JsonParser *p = json_parser_new ();
  GError *error = NULL;
  IbSafetensors *ref = ib_safetensors_open_file (path, &error);
  const IbTensor *t;
  char *prompt;
  guint64 i;

  g_assert_no_error (error);
  g_assert_true (json_parser_load_from_file (p, spath, &error));
  prompt =
      g_strdup (json_object_get_string_member (json_node_get_object (
                                                   json_parser_get_root (p)),
          "prompt"));
  t = ib_safetensors_get (ref, "greedy_ids");
  g_assert_nonnull (t);
  for (i = 0; i < t->n_elements; i++) {
    gint64 v;
    gint32 id;
    g_assert_true (ib_tensor_read_bytes (t, i * 8, 8, &v, &error));
    g_assert_no_error (error);
    id = (gint32) v;
    g_array_append_val (ids, id);
  }
  ib_safetensors_free (ref);
  g_object_unref (p);
  g_free (path);
  g_free (spath);
  return prompt;
}

/* Frames 0-3 are the fixture's (the frames of its reference answer),
 * the others made up. Each is W x H RGB at @stride. */
static guint8 *
load_frame (int k, int stride)
{
  guint8 *data = g_malloc0 ((gsize) stride * H);
  int x, y;

  if (k < 4) {
    char *name = g_strdup_printf ("frame%d.rgb", k);
    char *path = g_test_build_filename (G_TEST_DIST, "data", "parity", "images",
        name, NULL);
    guint8 *rgb;
    gsize len;
    GError *error = NULL;

    g_assert_true (g_file_get_contents (path, (char **) &rgb, &len, &error));
    g_assert_cmpuint (len, ==, W * H * 3);
    for (y = 0; y < H; y++)
      memcpy (data + y * stride, rgb + y * W * 3, W * 3);
    g_free (rgb);
    g_free (name);
    g_free (path);
  } else {
    for (y = 0; y < H; y++)
      for (x = 0; x < W * 3; x++)
        data[y * stride + x] = (guint8) (x * 7 + y * 13 + k * 50);
  }
  /* padding that differs from frame to frame and copy to copy */
  for (y = 0; y < H; y++)
    for (x = W * 3; x < stride; x++)
      data[y * stride + x] = (guint8) g_random_int ();
  return data;
}

typedef struct
{
  IbModel *m;
  char *prompt;
  GArray *want; /* transformers' greedy ids on frames 0-3 */
  guint8 *data[8];
  IbImage frames[8];
} Fixture;

static gboolean
fixture_open (Fixture *fx)
{
  char *dir =
      g_test_build_filename (G_TEST_DIST, "data", "parity", FIXTURE, NULL);
  int k;

  memset (fx, 0, sizeof (*fx));
  fx->m = ibt_load_model (dir, IB_PRECISION_F32);
  g_free (dir);
  if (fx->m == NULL)
    return FALSE;
  fx->want = g_array_new (FALSE, FALSE, sizeof (gint32));
  fx->prompt = ref_greedy (fx->want);
  for (k = 0; k < 8; k++) {
    fx->data[k] = load_frame (k, W * 3 + 5);
    fx->frames[k] =
        (IbImage){ W, H, W * 3 + 5, IB_PIXEL_FORMAT_RGB, fx->data[k] };
  }
  return TRUE;
}

static void
fixture_close (Fixture *fx)
{
  int k;

  for (k = 0; k < 8; k++)
    g_free (fx->data[k]);
  g_array_unref (fx->want);
  g_free (fx->prompt);
  ib_model_unref (fx->m);
}

static IbContext *
context (Fixture *fx, int frame_cache)
{
  IbContextParams cp;
  GError *error = NULL;
  IbContext *ctx;

  ib_context_params_init (&cp);
  cp.max_frames = 4;
  cp.frame_cache = frame_cache;
  ctx = ib_context_new (fx->m, &cp, &error);
  g_assert_no_error (error);
  return ctx;
}

/* Sets @frames on @ctx and answers greedily (or with 3 beams). */
static IbAnswer *
ask (Fixture *fx, IbContext *ctx, const IbImage *frames, int n, int beams)
{
  IbGenerateParams p;
  GError *error = NULL;
  IbAnswer *a;

  g_assert_true (ib_context_set_frames (ctx, frames, n, &error));
  g_assert_no_error (error);
  ib_generate_params_init (&p);
  p.max_new_tokens = 12;
  p.num_beams = beams;
  a = ib_context_answer (ctx, fx->prompt, &p, &error);
  g_assert_no_error (error);
  return a;
}

static void
assert_same (const IbAnswer *a, const IbAnswer *b)
{
  int i;

  g_assert_cmpstr (a->text, ==, b->text);
  g_assert_cmpint (a->n_tokens, ==, b->n_tokens);
  for (i = 0; i < a->n_tokens; i++)
    g_assert_cmpint (a->token_ids[i], ==, b->token_ids[i]);
}

static void
assert_ids (const IbAnswer *a, const GArray *want)
{
  guint i;

  g_assert_cmpint (a->n_tokens, ==, want->len);
  for (i = 0; i < want->len; i++)
    g_assert_cmpint (a->token_ids[i], ==, g_array_index (want, gint32, i));
}

/* Windows of 4 sliding by one over frames 4, 0, 1, 2, 3, 5 (the second
 * window is the fixture's): each window after the first encodes one frame
 * and reuses 3; every answer is the one the cache-free context gives, and
 * the fixture's window still gives transformers' ids. */
static void
test_overlap (void)
{
  static const int order[] = { 4, 0, 1, 2, 3, 5 };
  Fixture fx;
  IbContext *on, *off;
  IbImage win[4];
  int w, f, encoded = 0, beams;

  if (!fixture_open (&fx))
    return;
  on = context (&fx, 8);
  off = context (&fx, 0);
  for (beams = 1; beams <= 3; beams += 2) {
    for (w = 0; w + 4 <= (int) G_N_ELEMENTS (order); w++) {
      IbAnswer *a, *b;

      for (f = 0; f < 4; f++)
        win[f] = fx.frames[order[w + f]];
      a = ask (&fx, on, win, 4, beams);
      b = ask (&fx, off, win, 4, beams);
      g_test_message ("window %d, %d beams: \"%s\", %d frames reused", w, beams,
          a->text, a->timings.n_frames_reused);
      /* the second pass over the same windows reuses everything */
      g_assert_cmpint (a->timings.n_frames_reused, ==,
          beams == 1 ? (w == 0 ? 0 : 3) : 4);
      g_assert_cmpint (b->timings.n_frames_reused, ==, 0);
      encoded += 4 - a->timings.n_frames_reused;
      assert_same (a, b);
      if (w == 1 && beams == 1)
        assert_ids (a, fx.want);
      if (a->timings.n_frames_reused == 4)
        g_assert_cmpfloat (a->timings.vision_ms, ==, 0.0);
      ib_answer_free (a);
      ib_answer_free (b);
    }
  }
  /* 6 frames seen, 6 ViT passes (the cache-free context: 24) */
  g_assert_cmpint (encoded, ==, 6);
  ib_context_free (on);
  ib_context_free (off);
  fixture_close (&fx);
}

/* The same pixels in a new buffer at another stride (as the element's
 * fresh copies of each sampled frame) are the same frame. */
static void
test_new_copies (void)
{
  Fixture fx;
  IbContext *ctx;
  IbImage copies[4];
  guint8 *data[4];
  IbAnswer *a;
  int f, y;

  if (!fixture_open (&fx))
    return;
  ctx = context (&fx, 8);
  a = ask (&fx, ctx, fx.frames, 4, 1);
  g_assert_cmpint (a->timings.n_frames_reused, ==, 0);
  ib_answer_free (a);
  for (f = 0; f < 4; f++) {
    data[f] = g_malloc (W * 3 * H);
    for (y = 0; y < H; y++)
      memcpy (data[f] + y * W * 3, fx.frames[f].data + y * fx.frames[f].stride,
          W * 3);
    copies[f] = (IbImage){ W, H, W * 3, IB_PIXEL_FORMAT_RGB, data[f] };
  }
  a = ask (&fx, ctx, copies, 4, 1);
  g_assert_cmpint (a->timings.n_frames_reused, ==, 4);
  assert_ids (a, fx.want);
  ib_answer_free (a);
  /* one changed pixel: that frame is encoded again */
  data[2][W * 3 * 7 + 11] ^= 1;
  a = ask (&fx, ctx, copies, 4, 1);
  g_assert_cmpint (a->timings.n_frames_reused, ==, 3);
  ib_answer_free (a);
  for (f = 0; f < 4; f++)
    g_free (data[f]);
  ib_context_free (ctx);
  fixture_close (&fx);
}

/* A frame repeated within one call (the element pads short windows at EOS
 * with the last frame) is encoded once. */
static void
test_repeated (void)
{
  Fixture fx;
  IbContext *on, *off;
  IbImage win[4];
  IbAnswer *a, *b;

  if (!fixture_open (&fx))
    return;
  on = context (&fx, 8);
  off = context (&fx, 0);
  win[0] = fx.frames[0];
  win[1] = fx.frames[1];
  win[2] = fx.frames[1];
  win[3] = fx.frames[1];
  a = ask (&fx, on, win, 4, 1);
  b = ask (&fx, off, win, 4, 1);
  g_assert_cmpint (a->timings.n_frames_reused, ==, 2);
  assert_same (a, b);
  ib_answer_free (a);
  ib_answer_free (b);
  ib_context_free (on);
  ib_context_free (off);
  fixture_close (&fx);
}

/* A cache of one frame beyond max_frames: windows of 4 sliding by 2 over
 * frames 0..7 then back to 0..3. LRU keeps the newest; the answers are
 * those of the cache-free context throughout. */
static void
test_eviction (void)
{
  /* window starts; reused frames as LRU over 5 slots predicts */
  static const struct
  {
    int first, reused;
  } steps[] = {
    { 0, 0 }, /* 0 1 2 3 encoded */
    { 2, 2 }, /* 2 3 kept; 4 5 take the free slot and 0's (1 is newer) */
    { 4, 2 }, /* 4 5 kept; 6 7 */
    { 0, 1 }, /* 3 is left: 6 7 took 1's and 2's slots */
    { 0, 4 },
  };
  Fixture fx;
  IbContext *on, *off;
  IbImage win[4];
  guint i;
  int f;

  if (!fixture_open (&fx))
    return;
  on = context (&fx, 1);
  off = context (&fx, 0);
  for (i = 0; i < G_N_ELEMENTS (steps); i++) {
    IbAnswer *a, *b;

    for (f = 0; f < 4; f++)
      win[f] = fx.frames[steps[i].first + f];
    a = ask (&fx, on, win, 4, 1);
    b = ask (&fx, off, win, 4, 1);
    g_assert_cmpint (a->timings.n_frames_reused, ==, steps[i].reused);
    assert_same (a, b);
    if (steps[i].first == 0)
      assert_ids (a, fx.want);
    ib_answer_free (a);
    ib_answer_free (b);
  }
  ib_context_free (on);
  ib_context_free (off);
  fixture_close (&fx);
}

/* ib_context_set_pixel_values reuses by the float bits; a failed call
 * leaves no frames and the cache usable. */
static void
test_pixels_and_errors (void)
{
  char *path = fixture_path ("reference.safetensors");
  Fixture fx;
  IbContextParams cp;
  IbSafetensors *ref;
  const IbTensor *pv;
  IbContext *ctx;
  IbGenerateParams p;
  IbImage win[4];
  IbAnswer *a;
  GError *error = NULL;
  float *pixels;

  if (!fixture_open (&fx))
    goto out;
  ref = ib_safetensors_open_file (path, &error);
  g_assert_no_error (error);
  pv = ib_safetensors_get (ref, "pixel_values");
  pixels = g_new (float, pv->n_elements);
  g_assert_true (ib_tensor_read_f32 (pv, 0, pv->n_elements, pixels, &error));
  ctx = context (&fx, 8);
  ib_generate_params_init (&p);
  p.max_new_tokens = 12;
  g_assert_true (ib_context_set_pixel_values (ctx, pixels, 4, &error));
  g_assert_true (ib_context_set_pixel_values (ctx, pixels, 4, &error));
  a = ib_context_answer (ctx, fx.prompt, &p, &error);
  g_assert_no_error (error);
  g_assert_cmpint (a->timings.n_frames_reused, ==, 4);
  assert_ids (a, fx.want);
  ib_answer_free (a);

  /* a bad frame: refused, no frames left, then all is well again */
  win[0] = fx.frames[0];
  win[1] = fx.frames[6];
  win[2] = fx.frames[7];
  win[2].stride = 3;
  win[3] = fx.frames[1];
  g_assert_false (ib_context_set_frames (ctx, win, 4, &error));
  g_assert_error (error, IB_IMAGE_ERROR, IB_IMAGE_ERROR_INVALID_ARG);
  g_clear_error (&error);
  g_assert_null (ib_context_answer (ctx, fx.prompt, &p, &error));
  g_assert_error (error, IB_ERROR, IB_ERROR_INVALID_ARG);
  g_clear_error (&error);
  a = ask (&fx, ctx, fx.frames, 4, 1);
  assert_ids (a, fx.want);
  ib_answer_free (a);

  /* out of range */
  ib_context_params_init (&cp);
  cp.frame_cache = -1;
  g_assert_null (ib_context_new (fx.m, &cp, &error));
  g_assert_error (error, IB_ERROR, IB_ERROR_INVALID_ARG);
  g_clear_error (&error);
  cp.frame_cache = IB_MAX_FRAME_CACHE + 1;
  g_assert_null (ib_context_new (fx.m, &cp, &error));
  g_assert_error (error, IB_ERROR, IB_ERROR_INVALID_ARG);
  g_clear_error (&error);

  ib_context_free (ctx);
  g_free (pixels);
  ib_safetensors_free (ref);
  fixture_close (&fx);
out:
  g_free (path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/frame-reuse/xxh64", test_xxh64);
  g_test_add_func ("/frame-reuse/image-hash", test_image_hash);
  g_test_add_func ("/frame-reuse/lru", test_lru);
  g_test_add_func ("/frame-reuse/overlap", test_overlap);
  g_test_add_func ("/frame-reuse/new-copies", test_new_copies);
  g_test_add_func ("/frame-reuse/repeated", test_repeated);
  g_test_add_func ("/frame-reuse/eviction", test_eviction);
  g_test_add_func ("/frame-reuse/pixels-and-errors", test_pixels_and_errors);
  return g_test_run ();
}
