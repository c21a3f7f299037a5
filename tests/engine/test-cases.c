/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parity cases (tests/data/cases, written by make_cases.py): each case's
 * checkpoint answers from its pixel_values through the public API with
 * exactly the ids transformers generated, in fp32 and in fp16 (transformers
 * in fp32 on the fp16-rounded parameters). Named cases, real tokenizers
 * with non-Latin instructions, and a sample of the randomized sweep; the
 * full sweep runs the same program on its directory:
 *   test-cases DIR...   (each DIR holds case directories) */
#include <string.h>

#include <json-glib/json-glib.h>

#include "ib-checkpoint.h"
#include "ibt-model.h"
#include "instructblip.h"

typedef struct
{
  char *dir;
  IbPrecision precision;
} Case;

static float *
read_pixels (const char *dir, int *n_frames)
{
  char *path = g_build_filename (dir, "pixels.safetensors", NULL);
  GError *error = NULL;
  IbSafetensors *st = ib_safetensors_open_file (path, &error);
  const IbTensor *t;
  float *px;

  g_assert_no_error (error);
  t = ib_safetensors_get (st, "pixel_values");
  g_assert_nonnull (t);
  px = g_new (float, t->n_elements);
  g_assert_true (ib_tensor_read_f32 (t, 0, t->n_elements, px, &error));
  g_assert_no_error (error);
  *n_frames = (int) t->shape[0];
  ib_safetensors_free (st);
  g_free (path);
  return px;
}

static int
member_int (JsonObject *o, const char *key, int def)
{
  return json_object_has_member (o, key) &&
          !json_object_get_null_member (o, key) ?
      (int) json_object_get_int_member (o, key) :
      def;
}

static double
member_double (JsonObject *o, const char *key, double def)
{
  return json_object_has_member (o, key) ?
      json_object_get_double_member (o, key) :
      def;
}

/* transformers' generate() arguments of make_cases.py */
static void
settings_for (JsonObject *s, IbGenerateParams *p)
{
  ib_generate_params_init (p);
  p->num_beams = member_int (s, "num_beams", 1);
  p->max_new_tokens = member_int (s, "max_new_tokens", 20);
  p->min_length = member_int (s, "min_length", 0);
  p->min_new_tokens = member_int (s, "min_new_tokens", 0);
  p->length_penalty = member_double (s, "length_penalty", 1.0);
  p->repetition_penalty = member_double (s, "repetition_penalty", 1.0);
  p->early_stopping = 0;
}

static gboolean
same_ids (const IbAnswer *a, JsonArray *want)
{
  guint i;

  if ((guint) a->n_tokens != json_array_get_length (want))
    return FALSE;
  for (i = 0; i < json_array_get_length (want); i++)
    if (a->token_ids[i] != (gint32) json_array_get_int_element (want, i))
      return FALSE;
  return TRUE;
}

static char *
ids_string (const gint32 *ids, int n)
{
  GString *s = g_string_new ("[");
  int i;

  for (i = 0; i < n; i++)
    g_string_append_printf (s, "%s%d", i ? ", " : "", ids[i]);
  g_string_append (s, "]");
  return g_string_free (s, FALSE);
}

static void
test_case (gconstpointer data)
{
  const Case *c = data;
  const char *prec = c->precision == IB_PRECISION_F16 ? "fp16" : "fp32";
  char *path = g_build_filename (c->dir, "case.json", NULL);
  JsonParser *parser = json_parser_new ();
  GError *error = NULL;
  IbContextParams cp;
  IbContext *ctx = NULL;
  IbModel *m;
  JsonArray *settings;
  float *pixels = NULL;
  int n_frames;
  guint i, n_bad = 0;

  g_assert_true (json_parser_load_from_file (parser, path, &error));
  g_assert_no_error (error);
  m = ibt_load_model (c->dir, c->precision);
  if (m == NULL)
    goto out;
  g_assert_cmpint (ib_model_get_precision (m), ==, c->precision);
  pixels = read_pixels (c->dir, &n_frames);
  ib_context_params_init (&cp);
  cp.max_frames = n_frames;
  /* the checks below go on after a failure in a sweep run (non-fatal
   * assertions): one case's error must not hide the others */
  ctx = ib_context_new (m, &cp, &error);
  g_assert_no_error (error);
  if (ctx == NULL ||
      !ib_context_set_pixel_values (ctx, pixels, n_frames, &error)) {
    g_assert_no_error (error);
    g_clear_error (&error);
    goto done;
  }

  settings = json_object_get_array_member (json_node_get_object (
                                               json_parser_get_root (parser)),
      "settings");
  for (i = 0; i < json_array_get_length (settings); i++) {
    JsonObject *s = json_array_get_object_element (settings, i);
    JsonArray *want =
        json_object_get_array_member (json_object_get_object_member (s, "ids"),
            prec);
    IbGenerateParams p;
    IbAnswer *a;

    settings_for (s, &p);
    a = ib_context_answer (ctx, json_object_get_string_member (s, "prompt"), &p,
        &error);
    g_assert_no_error (error);
    if (a == NULL) {
      g_test_message ("ERROR %s %s %s: %s", c->dir, prec,
          json_object_get_string_member (s, "name"), error->message);
      g_clear_error (&error);
      n_bad++;
      continue;
    }
    if (!same_ids (a, want)) {
      char *got = ids_string (a->token_ids, a->n_tokens);
      JsonNode *node = json_node_alloc ();
      char *exp = json_to_string (json_node_init_array (node, want), FALSE);
      g_test_message ("MISMATCH %s %s %s: got %s, transformers %s", c->dir,
          prec, json_object_get_string_member (s, "name"), got, exp);
      g_free (got);
      g_free (exp);
      json_node_unref (node);
      n_bad++;
    }
    ib_answer_free (a);
  }
  g_assert_cmpuint (n_bad, ==, 0);
done:
  ib_context_free (ctx);
  ib_model_unref (m);
  g_free (pixels);
out:
  g_object_unref (parser);
  g_free (path);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Every case directory under @root, in name order. */
static void
add_cases (const char *root, const char *label, GPtrArray *keep)
{
  GError *error = NULL;
  GDir *d = g_dir_open (root, 0, &error);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  guint i, p;

  g_assert_no_error (error);
  while ((name = g_dir_read_name (d))) {
    char *json = g_build_filename (root, name, "case.json", NULL);
    if (g_file_test (json, G_FILE_TEST_EXISTS))
      g_ptr_array_add (names, g_strdup (name));
    g_free (json);
  }
  g_dir_close (d);
  g_assert_cmpuint (names->len, >, 0);
  g_ptr_array_sort (names, compare_names);
  for (i = 0; i < names->len; i++)
    for (p = 0; p < 2; p++) {
      Case *c = g_new0 (Case, 1);
      char *test;
      c->dir = g_build_filename (root, g_ptr_array_index (names, i), NULL);
      c->precision = p ? IB_PRECISION_F16 : IB_PRECISION_F32;
      test = g_strdup_printf ("/cases/%s/%s/%s", label,
          (char *) g_ptr_array_index (names, i), p ? "fp16" : "fp32");
      g_test_add_data_func (test, c, test_case);
      g_ptr_array_add (keep, c);
      g_free (test);
    }
  g_ptr_array_unref (names);
}

static void
case_free (gpointer p)
{
  Case *c = p;

  g_free (c->dir);
  g_free (c);
}

int
main (int argc, char **argv)
{
  static const char *const sets[] = { "special", "utf8", "sample" };
  GPtrArray *keep = g_ptr_array_new_with_free_func (case_free);
  int i, ret;

  g_test_init (&argc, &argv, NULL);
  if (argc > 1) {
    /* a sweep: every case runs, failures are counted, not fatal */
    g_test_set_nonfatal_assertions ();
    for (i = 1; i < argc; i++) {
      char *label = g_path_get_basename (argv[i]);
      add_cases (argv[i], label, keep);
      g_free (label);
    }
  } else {
    for (i = 0; i < (int) G_N_ELEMENTS (sets); i++) {
      char *root =
          g_test_build_filename (G_TEST_DIST, "data", "cases", sets[i], NULL);
      add_cases (root, sets[i], keep);
      g_free (root);
    }
  }
  ret = g_test_run ();
  g_ptr_array_unref (keep);
  return ret;
}
