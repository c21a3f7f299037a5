/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* instructblip-ask end to end on the parity fixtures: token ids as transformers generated them, from pixel values, PNG files and a video file; ranking; errors. */
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "ask-test-util.h"
#include "device.h"
#include "ib-safetensors.h"

static const char *const fixtures[] = { "vicuna-tiny", "t5-tiny",
  "vicuna-tiny-video" };

static char *tmp_dir;
static gboolean have_device;
static char *device_why;

/* runs instructblip-ask with @args (NULL-terminated); returns its exit
 * status, stdout and stderr */
static int
run_ask (const char *const *args, char **out, char **err)
{
  GPtrArray *argv = g_ptr_array_new ();
  GSubprocess *p;
  GBytes *o = NULL, *e = NULL;
  GError *error = NULL;
  int status;

  g_ptr_array_add (argv, (gpointer) g_getenv ("IB_ASK"));
  for (; *args; args++)
    g_ptr_array_add (argv, (gpointer) *args);
  g_ptr_array_add (argv, NULL);
  p = g_subprocess_newv ((const char *const *) argv->pdata,
      G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate (p, NULL, NULL, &o, &e, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (p));
  status = g_subprocess_get_exit_status (p);
  /* an empty GBytes may have NULL data */
  *out = g_strndup (g_bytes_get_size (o) ? g_bytes_get_data (o, NULL) : "",
      g_bytes_get_size (o));
  *err = g_strndup (g_bytes_get_size (e) ? g_bytes_get_data (e, NULL) : "",
      g_bytes_get_size (e));
  g_bytes_unref (o);
  g_bytes_unref (e);
  g_object_unref (p);
  g_ptr_array_free (argv, TRUE);
  return status;
}

/* runs with @args, expecting success; returns the parsed --json line */
static JsonObject *
run_json (GPtrArray *args)
{
  JsonNode *node;
  JsonObject *obj;
  char *out, *err;
  int status;

  g_ptr_array_add (args, NULL);
  status = run_ask ((const char *const *) args->pdata, &out, &err);
  g_ptr_array_remove_index (args, args->len - 1);
  if (status != 0)
    g_test_message ("stderr: %s", err);
  g_assert_cmpint (status, ==, 0);
  node = json_from_string (out, NULL);
  g_assert_nonnull (node);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  obj = json_object_ref (json_node_get_object (node));
  json_node_unref (node);
  g_free (out);
  g_free (err);
  return obj;
}

static char *
fixture_path (const char *fixture, const char *name)
{
  return ask_test_path ("data", "parity", fixture, name, NULL);
}

/* reference.safetensors' @name (I64) as "[1, 2, 3]"; T5's leading
 * decoder start token is dropped (the engine does not return it) */
static char *
reference_ids (const char *fixture, const char *name)
{
  char *path = fixture_path (fixture, "reference.safetensors");
  GError *error = NULL;
  IbSafetensors *st = ib_safetensors_open_file (path, &error);
  const IbTensor *t;
  GString *s = g_string_new ("[");
  guint64 i, first = g_str_has_prefix (fixture, "t5") ? 1 : 0;

  g_assert_no_error (error);
  t = ib_safetensors_get (st, name);
  g_assert_nonnull (t);
  g_assert_cmpint (t->dtype, ==, IB_DTYPE_I64);
  for (i = first; i < t->n_elements; i++) {
    gint64 v;
    memcpy (&v, (const guint8 *) t->data + 8 * i, 8);
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i > first ? ", " : "", v);
  }
  g_string_append_c (s, ']');
  ib_safetensors_free (st);
  g_free (path);
  return g_string_free (s, FALSE);
}

static char *
ids_string (JsonObject *answer)
{
  JsonArray *a = json_object_get_array_member (answer, "token_ids");
  GString *s = g_string_new ("[");
  guint i;

  for (i = 0; i < json_array_get_length (a); i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "",
        json_array_get_int_element (a, i));
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static JsonNode *
load_settings (const char *fixture)
{
  char *path = fixture_path (fixture, "settings.json");
  GError *error = NULL;
  JsonParser *parser = json_parser_new ();
  JsonNode *node;

  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  node = json_node_copy (json_parser_get_root (parser));
  g_object_unref (parser);
  g_free (path);
  return node;
}

static void
add_arg (GPtrArray *args, const char *flag, const char *value)
{
  g_ptr_array_add (args, g_strdup (flag));
  if (value)
    g_ptr_array_add (args, g_strdup (value));
}

/* --json --model DIR --prompt TEXT and the flags of one settings.json
 * entry ({"num_beams": 5, ...}) */
static GPtrArray *
ask_args (const char *fixture, JsonObject *settings, const char *setting)
{
  GPtrArray *args = g_ptr_array_new_with_free_func (g_free);
  JsonObject *s =
      json_object_get_object_member (json_object_get_object_member (settings,
                                         "settings"),
          setting);
  char *model = ask_test_path ("data", "parity", fixture, NULL);
  GList *members = json_object_get_members (s), *l;

  add_arg (args, "--json", NULL);
  add_arg (args, "--model", model);
  add_arg (args, "--prompt",
      json_object_get_string_member (settings, "prompt"));
  for (l = members; l; l = l->next) {
    const char *key = l->data;
    JsonNode *v = json_object_get_member (s, key);
    char *flag = g_strdup_printf ("--%s", key), *p;
    char buf[G_ASCII_DTOSTR_BUF_SIZE];

    for (p = flag; *p; p++)
      if (*p == '_')
        *p = '-';
    if (g_str_equal (key, "do_sample")) {
      add_arg (args, json_node_get_boolean (v) ? "--do-sample" : "--no-sample",
          NULL);
    } else if (json_node_get_value_type (v) == G_TYPE_INT64) {
      g_snprintf (buf, sizeof (buf), "%" G_GINT64_FORMAT,
          json_node_get_int (v));
      add_arg (args, flag, buf);
    } else {
      add_arg (args, flag,
          g_ascii_dtostr (buf, sizeof (buf), json_node_get_double (v)));
    }
    g_free (flag);
  }
  g_list_free (members);
  g_free (model);
  return args;
}

static void
add_images (GPtrArray *args, const char *fixture, JsonObject *settings)
{
  JsonArray *images = json_object_get_array_member (settings, "images");
  guint i;

  for (i = 0; i < json_array_get_length (images); i++) {
    char **parts =
        g_strsplit (json_array_get_string_element (images, i), "/", -1);
    g_assert_cmpuint (g_strv_length (parts), ==, 2);
    g_ptr_array_add (args,
        ask_test_path ("data", "parity", parts[0], parts[1], NULL));
    g_strfreev (parts);
  }
  (void) fixture;
}

/* one answer with @args against reference.safetensors' @ids */
static void
check_ids (GPtrArray *args, const char *fixture, const char *ids)
{
  JsonObject *answer = run_json (args);
  char *want = reference_ids (fixture, ids), *got = ids_string (answer);

  g_test_message ("%s %s: %s", fixture, ids, got);
  g_assert_cmpstr (got, ==, want);
  g_assert_true (json_object_has_member (answer, "text"));
  g_assert_true (json_object_has_member (answer, "timings"));
  g_free (want);
  g_free (got);
  json_object_unref (answer);
}

static gboolean
need_device (void)
{
  if (!have_device)
    g_test_skip (device_why);
  return have_device;
}

/* every deterministic setting of settings.json from the reference pixels */
static void
test_pixel_values (gconstpointer data)
{
  const char *fixture = data;
  const char *settings_names[] = { "greedy", "greedy_rep", "beam5",
    "beam5_lp" };
  JsonNode *settings;
  guint i;

  if (!need_device ())
    return;
  settings = load_settings (fixture);
  for (i = 0; i < G_N_ELEMENTS (settings_names); i++) {
    GPtrArray *args =
        ask_args (fixture, json_node_get_object (settings), settings_names[i]);
    char *ids = g_strconcat (settings_names[i], "_ids", NULL);
    add_arg (args, "--pixel-values", NULL);
    g_ptr_array_add (args, fixture_path (fixture, "reference.safetensors"));
    check_ids (args, fixture, ids);
    g_free (ids);
    g_ptr_array_unref (args);
  }
  json_node_unref (settings);
}

/* the PNG frames: the engine's preprocessing is Pillow-exact */
static void
test_images (gconstpointer data)
{
  const char *fixture = data;
  const char *settings_names[] = { "greedy", "beam5" };
  JsonNode *settings;
  guint i;

  if (!need_device ())
    return;
  settings = load_settings (fixture);
  for (i = 0; i < G_N_ELEMENTS (settings_names); i++) {
    GPtrArray *args =
        ask_args (fixture, json_node_get_object (settings), settings_names[i]);
    char *ids = g_strconcat (settings_names[i], "_ids", NULL);
    add_images (args, fixture, json_node_get_object (settings));
    check_ids (args, fixture, ids);
    g_free (ids);
    g_ptr_array_unref (args);
  }
  json_node_unref (settings);
}

/* a lossless clip [f0, x, f1, x, f2, x, f3, x]: four frames sampled
 * uniformly are the video fixture's frames */
static void
test_video_file (void)
{
  const char *fixture = "vicuna-tiny-video";
  guint8 *rgb[4], *junk = g_malloc (40 * 32 * 3);
  const guint8 *frames[8];
  char *video = g_build_filename (tmp_dir, "clip.mkv", NULL);
  GError *error = NULL;
  JsonNode *settings;
  GPtrArray *args;
  int i;

  if (!need_device ())
    goto out;
  for (i = 0; i < 4; i++) {
    char *name = g_strdup_printf ("frame%d.rgb", i);
    char *path = ask_test_path ("data", "parity", "images", name, NULL);
    rgb[i] = ask_test_read_exact (path, 40 * 32 * 3);
    g_free (path);
    g_free (name);
  }
  for (i = 0; i < 40 * 32 * 3; i++)
    junk[i] = (guint8) (i * 31);
  for (i = 0; i < 8; i++)
    frames[i] = i % 2 ? junk : rgb[i / 2];
  g_assert_true (
      ask_test_encode (video, "RGB", 40, 32, frames, 8, "matroskamux", &error));
  g_assert_no_error (error);
  for (i = 0; i < 4; i++)
    g_free (rgb[i]);

  settings = load_settings (fixture);
  args = ask_args (fixture, json_node_get_object (settings), "greedy");
  add_arg (args, "--frames", "4");
  add_arg (args, video, NULL);
  check_ids (args, fixture, "greedy_ids");
  g_ptr_array_unref (args);
  json_node_unref (settings);
  g_remove (video);

out:
  g_free (junk);
  g_free (video);
}

/* sampling is not torch's RNG (engine/generate/rng.h): the same seed gives
 * the same answer, within the length asked for */
static void
test_sample (void)
{
  const char *fixture = "vicuna-tiny";
  JsonNode *settings;
  GPtrArray *args;
  JsonObject *a, *b;
  char *ia, *ib;

  if (!need_device ())
    return;
  settings = load_settings (fixture);
  args = ask_args (fixture, json_node_get_object (settings), "sample");
  add_arg (args, "--pixel-values", NULL);
  g_ptr_array_add (args, fixture_path (fixture, "reference.safetensors"));
  a = run_json (args);
  b = run_json (args);
  ia = ids_string (a);
  ib = ids_string (b);
  g_assert_cmpstr (ia, ==, ib);
  g_assert_cmpuint (json_array_get_length (
                        json_object_get_array_member (a, "token_ids")),
      <=, 12);
  g_free (ia);
  g_free (ib);
  json_object_unref (a);
  json_object_unref (b);
  g_ptr_array_unref (args);
  json_node_unref (settings);
}

/* plain output is the answer's text on one line */
static void
test_plain (void)
{
  char *model = ask_test_path ("data", "parity", "t5-tiny", NULL);
  char *png = ask_test_path ("data", "parity", "images", "frame0.png", NULL);
  const char *plain[] = { "--model", model, "--prompt", "What is this?",
    "--max-new-tokens", "5", png, NULL };
  const char *json[] = { "--model", model, "--prompt", "What is this?",
    "--max-new-tokens", "5", "--json", png, NULL };
  char *out, *err, *jout, *text;
  JsonNode *node;

  if (!need_device ())
    goto out;
  g_assert_cmpint (run_ask (plain, &out, &err), ==, 0);
  g_free (err);
  g_assert_cmpint (run_ask (json, &jout, &err), ==, 0);
  g_free (err);
  node = json_from_string (jout, NULL);
  g_assert_nonnull (node);
  text =
      g_strconcat (json_object_get_string_member (json_node_get_object (node),
                       "text"),
          "\n", NULL);
  g_assert_cmpstr (out, ==, text);
  g_free (text);
  json_node_unref (node);
  g_free (out);
  g_free (jout);

out:
  g_free (model);
  g_free (png);
}

/* --candidates: the best is the highest score */
static void
test_rank (void)
{
  char *model = ask_test_path ("data", "parity", "vicuna-tiny", NULL);
  char *png = ask_test_path ("data", "parity", "images", "frame0.png", NULL);
  char *cands = g_build_filename (tmp_dir, "candidates.txt", NULL);
  const char *args[] = { "--model", model, "--prompt", "What colour?",
    "--candidates", cands, "--json", png, NULL };
  const char *plain[] = { "--model", model, "--prompt", "What colour?",
    "--candidates", cands, png, NULL };
  char *out, *err, *line;
  JsonNode *node;
  JsonObject *o;
  JsonArray *scores;
  int status;
  guint i, best = 0;

  if (!need_device ())
    goto out;
  g_assert_true (
      g_file_set_contents (cands, "red\nblue ball\n\ngreen\r\n", -1, NULL));
  status = run_ask (args, &out, &err);
  g_test_message ("%s%s", out, err);
  g_assert_cmpint (status, ==, 0);
  node = json_from_string (out, NULL);
  g_assert_nonnull (node);
  o = json_node_get_object (node);
  scores = json_object_get_array_member (o, "scores");
  g_assert_cmpuint (json_array_get_length (scores), ==, 3);
  g_assert_cmpuint (json_array_get_length (
                        json_object_get_array_member (o, "candidates")),
      ==, 3);
  for (i = 1; i < 3; i++)
    if (json_array_get_double_element (scores, i) >
        json_array_get_double_element (scores, best))
      best = i;
  g_assert_cmpint (json_object_get_int_member (o, "index"), ==, best);
  line = g_strconcat (json_object_get_string_member (o, "text"), "\n", NULL);
  g_free (out);
  g_free (err);
  g_assert_cmpint (run_ask (plain, &out, &err), ==, 0);
  g_assert_cmpstr (out, ==, line);
  g_free (line);
  g_free (out);
  g_free (err);
  json_node_unref (node);
  g_remove (cands);

out:
  g_free (model);
  g_free (png);
  g_free (cands);
}

/* runs @args expecting exit status @want and a message on stderr */
static void
expect_failure (const char *const *args, int want)
{
  char *out, *err;
  int status = run_ask (args, &out, &err);

  g_test_message ("exit %d: %s", status, err);
  g_assert_cmpint (status, ==, want);
  g_assert_cmpstr (out, ==, "");
  g_assert_true (g_str_has_prefix (err, "instructblip-ask: "));
  g_free (out);
  g_free (err);
}

/* failures before any device work: no OpenCL needed */
static void
test_errors (void)
{
  char *model = ask_test_path ("data", "parity", "vicuna-tiny", NULL);
  char *png = ask_test_path ("data", "parity", "images", "frame0.png", NULL);
  char *text = g_build_filename (tmp_dir, "notes.txt", NULL);
  char *settings =
      ask_test_path ("data", "parity", "vicuna-tiny", "settings.json", NULL);
  char *weights = ask_test_path ("data", "parity", "vicuna-tiny",
      "model.safetensors", NULL);
  const char *no_model[] = { "--model", "/nonexistent/model", "--prompt", "hi",
    png, NULL };
  const char *bad_precision[] = { "--model", model, "--prompt", "hi",
    "--precision", "fp8", png, NULL };
  const char *missing_file[] = { "--model", model, "--prompt", "hi",
    "/nonexistent/frame.png", NULL };
  const char *text_file[] = { "--model", model, "--prompt", "hi", text, NULL };
  const char *json_file[] = { "--model", model, "--prompt", "hi", settings,
    NULL };
  const char *no_file[] = { "--model", model, "--prompt", "hi", NULL };
  const char *no_prompt[] = { "--model", model, png, NULL };
  const char *bad_beams[] = { "--model", model, "--prompt", "hi", "--num-beams",
    "-1", png, NULL };
  const char *bad_top_p[] = { "--model", model, "--prompt", "hi", "--top-p",
    "1.5", png, NULL };
  const char *bad_frames[] = { "--model", model, "--prompt", "hi", "--frames",
    "0", png, NULL };
  const char *both[] = { "--model", model, "--prompt", "hi", "--pixel-values",
    weights, png, NULL };
  const char *no_pixels[] = { "--model", model, "--prompt", "hi",
    "--pixel-values", weights, NULL };
  const char *unknown[] = { "--prompt", "hi", "--no-such-option", png, NULL };

  g_assert_true (g_file_set_contents (text, "not a picture\n", -1, NULL));
  expect_failure (no_model, 1);
  expect_failure (bad_precision, 2);
  expect_failure (missing_file, 1);
  expect_failure (text_file, 1);
  expect_failure (json_file, 1);
  expect_failure (no_file, 2);
  expect_failure (no_prompt, 2);
  expect_failure (bad_beams, 2);
  expect_failure (bad_top_p, 2);
  expect_failure (bad_frames, 2);
  expect_failure (both, 2);
  expect_failure (no_pixels, 1);
  expect_failure (unknown, 2);
  g_remove (text);
  g_free (text);
  g_free (model);
  g_free (png);
  g_free (settings);
  g_free (weights);
}

/* engine errors come out as messages and exit status 1 (with or without
 * an OpenCL device) */
static void
test_engine_errors (void)
{
  char *model = ask_test_path ("data", "parity", "vicuna-tiny", NULL);
  char *pv = ask_test_path ("data", "parity", "vicuna-tiny",
      "reference.safetensors", NULL);
  const char *bad_device[] = { "--model", model, "--prompt", "hi", "--device",
    "no-such-device-name", "--pixel-values", pv, NULL };

  expect_failure (bad_device, 1);
  g_free (model);
  g_free (pv);
}

/* fails with @want and a message holding @needle */
static void
expect_message (const char *const *args, int want, const char *needle)
{
  char *out, *err;
  int status = run_ask (args, &out, &err);

  g_test_message ("exit %d: %s", status, err);
  g_assert_cmpint (status, ==, want);
  g_assert_cmpstr (out, ==, "");
  if (strstr (err, needle) == NULL)
    g_error ("\"%s\" not in \"%s\"", needle, err);
  g_free (out);
  g_free (err);
}

/* issue 12: arguments beyond the element's ranges, NaN */
static void
test_hostile_args (void)
{
  char *model = ask_test_path ("data", "parity", "vicuna-tiny", NULL);
  char *png = ask_test_path ("data", "parity", "images", "frame0.png", NULL);
  const char *cases[][3] = {
    { "--num-beams", "1000", "--num-beams must be 1 .. 16" },
    { "--max-new-tokens", "2147483647", "--max-new-tokens must be 1 .. 1024" },
    { "--min-length", "100000", "--min-length must be 0 .. 1024" },
    { "--temperature", "nan",
        "--temperature must be a finite number, not \"nan\"" },
    { "--repetition-penalty", "nan",
        "--repetition-penalty must be a finite number, not \"nan\"" },
    { "--repetition-penalty", "inf", "must be a finite number, not \"inf\"" },
    { "--length-penalty", "-nan", "must be a finite number" },
    { "--top-p", "nan", "--top-p must be a finite number" },
    { "--temperature", "1e9", "--temperature must be in (0, 100]" },
    { "--frames", "100000", "--frames must be 1 .. 1024" },
  };
  guint i;

  char *loop = g_build_filename (tmp_dir, "loop", NULL);
  const char *unreadable[] = { "--model", loop, "--prompt", "hi", png, NULL };

  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    const char *args[] = { "--model", model, "--prompt", "hi", cases[i][0],
      cases[i][1], png, NULL };
    expect_message (args, 2, cases[i][2]);
  }
  /* an unreadable model directory was reported as missing (a symlink loop
   * fails even for root, as permissions do for users) */
  g_assert_cmpint (symlink ("loop", loop), ==, 0);
  expect_message (unreadable, 1, "loop: cannot read: ");
  g_remove (loop);
  g_free (loop);
  g_free (model);
  g_free (png);
}

/* a 100 000-character prompt or budget failed with "buffer of
 * 175008252672 bytes exceeds ..." */
static void
test_length_limits (void)
{
  char *vicuna = ask_test_path ("data", "parity", "vicuna-tiny", NULL);
  char *t5 = ask_test_path ("data", "parity", "t5-tiny", NULL);
  char *png = ask_test_path ("data", "parity", "images", "frame0.png", NULL);
  char *long_prompt = g_strnfill (100000, 'a');
  const char *budget[] = { "--model", vicuna, "--prompt", "What is this?",
    "--max-new-tokens", "300", png, NULL };
  const char *prompt[] = { "--model", vicuna, "--prompt", long_prompt, png,
    NULL };
  const char *t5_prompt[] = { "--model", t5, "--prompt", long_prompt, png,
    NULL };

  if (!need_device ())
    goto out;
  /* vicuna-tiny: text_config.max_position_embeddings 256, 6 queries */
  expect_message (budget, 1,
      "plus max_new_tokens 300 is longer than the 256 positions of the model "
      "(text_config.max_position_embeddings)");
  expect_message (prompt, 1, "x 6 query tokens and");
  expect_message (prompt, 1, "is longer than the 256 positions");
  /* T5 has no position limit: memory is the bound */
  expect_message (t5_prompt, 1,
      "context: not enough device memory for max_frames 1, "
      "max_prompt_tokens 100016");

out:
  g_free (vicuna);
  g_free (t5);
  g_free (png);
  g_free (long_prompt);
}

int
main (int argc, char **argv)
{
  GError *error = NULL;
  IbClDevice *dev;
  guint i;
  int ret;

  g_test_init (&argc, &argv, NULL);
  if (g_getenv ("IB_ASK") == NULL) {
    g_test_message ("IB_ASK (the instructblip-ask binary) is not set");
    return 77;
  }
  tmp_dir = g_dir_make_tmp ("ib-ask-XXXXXX", NULL);
  g_assert_nonnull (tmp_dir);
  /* the same device choice as the program's default ("auto") */
  dev = ib_cl_device_new (NULL, &error);
  have_device = dev != NULL;
  if (dev)
    ib_cl_device_unref (dev);
  else
    device_why = g_strdup_printf ("no OpenCL device: %s", error->message);
  g_clear_error (&error);

  for (i = 0; i < G_N_ELEMENTS (fixtures); i++) {
    char *name = g_strdup_printf ("/cli/ask/pixel-values/%s", fixtures[i]);
    g_test_add_data_func (name, fixtures[i], test_pixel_values);
    g_free (name);
    name = g_strdup_printf ("/cli/ask/images/%s", fixtures[i]);
    g_test_add_data_func (name, fixtures[i], test_images);
    g_free (name);
  }
  g_test_add_func ("/cli/ask/video-file", test_video_file);
  g_test_add_func ("/cli/ask/sample", test_sample);
  g_test_add_func ("/cli/ask/plain", test_plain);
  g_test_add_func ("/cli/ask/rank", test_rank);
  g_test_add_func ("/cli/ask/errors", test_errors);
  g_test_add_func ("/cli/ask/engine-errors", test_engine_errors);
  g_test_add_func ("/cli/ask/hostile-args", test_hostile_args);
  g_test_add_func ("/cli/ask/length-limits", test_length_limits);
  ret = g_test_run ();

  g_rmdir (tmp_dir);
  g_free (tmp_dir);
  g_free (device_why);
  return ret;
}
