/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared models and their worker threads: a process-wide registry of
 * workers (one model, one engine batch and one thread per batch slot each)
 * keyed by model-instance-id, or, for elements without one, by what makes
 * the model (resolved directory, device, precision, frame preprocessing).
 * The questions of all elements on a worker are answered together by its
 * IbBatch (one batched decoding step for all), one question per element at
 * a time, so that each element's answers keep their order. */
#include "ibworker.h"

#include "ibframe.h"
#include "ibworker-private.h"

GST_DEBUG_CATEGORY_EXTERN (gst_instruct_blip_debug);
#define GST_CAT_DEFAULT gst_instruct_blip_debug

/* Smallest context budgets: small growth steps would recreate it often. */
#define MIN_NEW_TOKENS 64

struct _GstInstructBlipWorker
{
  /* registry fields, under registry_lock */
  gint refcount;
  gboolean loading;
  char *instance_id; /* NULL: private to one element */
  char *model_dir; /* canonical */
  char *device;
  IbPrecision precision;
  IbImageResize image_resize;

  IbModel *model; /* set once loaded, then immutable */
  guint delay_ms;

  /* the queue and the batch, under lock */
  GMutex lock;
  GCond cond;
  GQueue waiting; /* GstInstructBlipRequest * */
  GPtrArray *running; /* Running *: the questions being answered */
  GPtrArray *threads; /* GThread *: one per batch slot */
  gboolean resizing; /* a reserve call or a thread remakes the batch */
  int n_parked; /* running threads waiting in begin_resize */
  gboolean quit;
  IbBatch *batch; /* remade only while resizing with nothing running */
  IbContextParams ctx_params;
  int n_slots; /* the first batch's slots (from device memory) */
};

/* A question being answered: its owner, until its done callback returned
 * (the request itself is the callback's by then). */
typedef struct
{
  gpointer owner;
} Running;

static GMutex registry_lock;
static GCond registry_cond;
static GHashTable *registry; /* instance id -> GstInstructBlipWorker * */


/* Test hook (ibworker-private.h): new workers sleep this long before each
 * question. */
static guint test_delay_ms;

void
gst_instructblip_worker_set_test_delay (guint ms)
{
  g_atomic_int_set (&test_delay_ms, ms);
}

GstInstructBlipRequest *
gst_instructblip_request_new (void)
{
  GstInstructBlipRequest *req = g_new0 (GstInstructBlipRequest, 1);

  req->first_pts = req->last_pts = GST_CLOCK_TIME_NONE;
  req->last_rt = req->next_rt = GST_CLOCK_TIME_NONE;
  return req;
}

void
gst_instructblip_request_free (GstInstructBlipRequest *req)
{
  if (req == NULL)
    return;
  if (req->frames)
    g_ptr_array_unref (req->frames);
  g_free (req->instruction);
  g_strfreev (req->candidates);
  g_free (req->answer);
  g_clear_error (&req->error);
  g_free (req);
}

/* ---- the batch ---- */

static gpointer worker_thread (gpointer data);

/* With resizing held and nothing running: grows the batch's slots to at
 * least these budgets, one thread per slot. */
static gboolean
ensure_batch (GstInstructBlipWorker *w, int n_frames, int max_new_tokens,
    int num_beams, GError **error)
{
  IbContextParams p = w->ctx_params;
  IbBatchParams bp;

  if (w->batch && n_frames <= p.max_frames &&
      max_new_tokens <= p.max_new_tokens && num_beams <= p.max_beams)
    return TRUE;
  if (w->batch == NULL) {
    ib_context_params_init (&p);
    p.max_frames = n_frames;
    p.max_new_tokens = MAX (max_new_tokens, MIN_NEW_TOKENS);
    p.max_beams = num_beams;
  } else {
    p.max_frames = MAX (p.max_frames, n_frames);
    p.max_new_tokens = MAX (p.max_new_tokens, max_new_tokens);
    p.max_beams = MAX (p.max_beams, num_beams);
  }
  /* free first: the old slots' device memory may be needed */
  g_clear_pointer (&w->batch, ib_batch_free);
  ib_batch_params_init (&bp);
  bp.max_requests = w->n_slots;
  bp.context = p;
  w->batch = ib_batch_new (w->model, &bp, error);
  w->ctx_params = p;
  GST_DEBUG ("batch of %d slots for %d frames, %d new tokens, %d beams: %s",
      w->batch ? ib_batch_get_max_requests (w->batch) : 0, p.max_frames,
      p.max_new_tokens, p.max_beams, w->batch ? "ok" : "failed");
  if (w->batch == NULL)
    return FALSE;
  w->n_slots = ib_batch_get_max_requests (w->batch);
  g_mutex_lock (&w->lock);
  while ((int) w->threads->len < w->n_slots) {
    GThread *t = g_thread_try_new ("ib-worker", worker_thread, w, error);
    if (t == NULL)
      break;
    g_ptr_array_add (w->threads, t);
  }
  g_mutex_unlock (&w->lock);
  return (int) w->threads->len >= w->n_slots;
}

/* Under lock: waits for the batch to be free of questions and takes it
 * for remaking (@running_self: the caller's own question counts as
 * running, and is not waited for; nor are those of threads waiting here
 * to remake it in turn). */
static void
begin_resize (GstInstructBlipWorker *w, gboolean running_self)
{
  const int self = running_self ? 1 : 0;

  /* parked: running, but waiting here, not in the batch */
  w->n_parked += self;
  while (w->resizing)
    g_cond_wait (&w->cond, &w->lock);
  w->resizing = TRUE;
  w->n_parked -= self;
  while ((int) w->running->len - w->n_parked > self)
    g_cond_wait (&w->cond, &w->lock);
}

static void
end_resize (GstInstructBlipWorker *w)
{
  w->resizing = FALSE;
  g_cond_broadcast (&w->cond);
}

gboolean
gst_instructblip_worker_reserve (GstInstructBlipWorker *w, int n_frames,
    int max_new_tokens, int num_beams, GError **error)
{
  gboolean ok;

  g_mutex_lock (&w->lock);
  begin_resize (w, FALSE);
  g_mutex_unlock (&w->lock);

  ok = ensure_batch (w, n_frames, max_new_tokens, num_beams, error);

  g_mutex_lock (&w->lock);
  end_resize (w);
  g_mutex_unlock (&w->lock);
  return ok;
}

/* ---- answering ---- */

/* Whether the batch's slots take @req (read by a thread whose question is
 * running: the batch is not remade meanwhile). */
static gboolean
fits (GstInstructBlipWorker *w, int n_frames, const GstInstructBlipRequest *req)
{
  return w->batch && n_frames <= w->ctx_params.max_frames &&
      req->params.max_new_tokens <= w->ctx_params.max_new_tokens &&
      req->params.num_beams <= w->ctx_params.max_beams;
}

static void
answer (GstInstructBlipWorker *w, GstInstructBlipRequest *req)
{
  const guint n = req->frames->len;
  IbImage *images = g_new (IbImage, n);
  double *scores = NULL;
  IbAnswer *a = NULL;
  GError *err = NULL;
  guint i;
  int best;

  if (w->delay_ms)
    g_usleep (w->delay_ms * G_TIME_SPAN_MILLISECOND);
  if (!fits (w, n, req)) {
    /* a question the slots cannot take: remake the batch once the others
     * are answered */
    gboolean ok;
    g_mutex_lock (&w->lock);
    begin_resize (w, TRUE);
    g_mutex_unlock (&w->lock);
    ok = ensure_batch (w, n, req->params.max_new_tokens, req->params.num_beams,
        &err);
    g_mutex_lock (&w->lock);
    end_resize (w);
    g_mutex_unlock (&w->lock);
    if (!ok)
      goto out;
  }
  for (i = 0; i < n; i++)
    images[i] =
        ((GstInstructBlipFrame *) g_ptr_array_index (req->frames, i))->image;
  if (req->candidates) {
    scores = g_new0 (double, g_strv_length (req->candidates));
    best = ib_batch_rank (w->batch, images, n, req->instruction,
        (const char *const *) req->candidates, g_strv_length (req->candidates),
        scores, &err);
    if (best >= 0)
      req->answer = g_strdup (req->candidates[best]);
    else if (err == NULL)
      g_set_error (&err, IB_ERROR, IB_ERROR_FAILED, "ranking failed");
  } else {
    a = ib_batch_answer (w->batch, images, n, req->instruction, &req->params,
        &err);
    if (a) {
      /* text pads, structures and Python want valid UTF-8 */
      req->answer = g_utf8_make_valid (a->text, -1);
      req->n_tokens = a->n_tokens;
      req->n_frames_reused = a->timings.n_frames_reused;
    }
  }
out:
  req->error = err;
  req->answered_us = g_get_monotonic_time ();
  ib_answer_free (a);
  g_free (scores);
  g_free (images);
}

static gboolean
owner_running (GstInstructBlipWorker *w, gpointer owner)
{
  guint i;

  for (i = 0; i < w->running->len; i++)
    if (((Running *) g_ptr_array_index (w->running, i))->owner == owner)
      return TRUE;
  return FALSE;
}

/* Under lock: the oldest waiting request whose owner has none running. */
static GList *
next_request (GstInstructBlipWorker *w)
{
  GList *l;

  if (w->resizing)
    return NULL;
  for (l = w->waiting.head; l; l = l->next)
    if (!owner_running (w, ((GstInstructBlipRequest *) l->data)->owner))
      return l;
  return NULL;
}

/* One per batch slot: takes a question, answers it through the batch
 * (blocking while it is decoded with the others'). */
static gpointer
worker_thread (gpointer data)
{
  GstInstructBlipWorker *w = data;
  Running run;
  GstInstructBlipRequest *req;
  GList *l;

  g_mutex_lock (&w->lock);
  for (;;) {
    while (!w->quit && (l = next_request (w)) == NULL)
      g_cond_wait (&w->cond, &w->lock);
    if (w->quit)
      break;
    req = l->data;
    g_queue_delete_link (&w->waiting, l);
    run.owner = req->owner;
    g_ptr_array_add (w->running, &run);
    g_mutex_unlock (&w->lock);

    answer (w, req);
    /* before it leaves running: a cancelling owner waits for it */
    req->done (req, req->user_data);

    g_mutex_lock (&w->lock);
    g_ptr_array_remove (w->running, &run);
    g_cond_broadcast (&w->cond);
  }
  g_mutex_unlock (&w->lock);
  return NULL;
}

/* ---- the queue ---- */

static guint
count_waiting (GstInstructBlipWorker *w, gpointer owner)
{
  guint n = 0;
  GList *l;

  for (l = w->waiting.head; l; l = l->next)
    n += ((GstInstructBlipRequest *) l->data)->owner == owner;
  return n;
}

GstInstructBlipRequest *
gst_instructblip_worker_submit (GstInstructBlipWorker *w,
    GstInstructBlipRequest *req, guint max_pending, gboolean drop_oldest)
{
  GstInstructBlipRequest *dropped = NULL;
  GList *l;

  g_mutex_lock (&w->lock);
  if (max_pending > 0 && count_waiting (w, req->owner) >= max_pending) {
    if (drop_oldest) {
      for (l = w->waiting.head; l; l = l->next)
        if (((GstInstructBlipRequest *) l->data)->owner == req->owner)
          break;
      dropped = l->data;
      g_queue_delete_link (&w->waiting, l);
    } else {
      dropped = g_steal_pointer (&req);
    }
  }
  if (req) {
    g_queue_push_tail (&w->waiting, req);
    g_cond_broadcast (&w->cond);
  }
  g_mutex_unlock (&w->lock);
  return dropped;
}

guint
gst_instructblip_worker_cancel (GstInstructBlipWorker *w, gpointer owner,
    gboolean wait)
{
  guint n = 0;
  GList *l, *next;

  g_mutex_lock (&w->lock);
  for (l = w->waiting.head; l; l = next) {
    next = l->next;
    if (((GstInstructBlipRequest *) l->data)->owner == owner) {
      gst_instructblip_request_free (l->data);
      g_queue_delete_link (&w->waiting, l);
      n++;
    }
  }
  while (wait && owner_running (w, owner))
    g_cond_wait (&w->cond, &w->lock);
  g_mutex_unlock (&w->lock);
  return n;
}

void
gst_instructblip_worker_get_load (GstInstructBlipWorker *w, gpointer owner,
    guint *waiting, gboolean *busy)
{
  g_mutex_lock (&w->lock);
  if (waiting)
    *waiting = count_waiting (w, owner);
  if (busy)
    *busy = owner_running (w, owner);
  g_mutex_unlock (&w->lock);
}

/* ---- the registry ---- */

static GstInstructBlipWorker *
worker_new (const char *instance_id, const char *model_dir,
    const IbModelParams *params)
{
  GstInstructBlipWorker *w = g_new0 (GstInstructBlipWorker, 1);

  w->refcount = 1;
  w->instance_id = g_strdup (instance_id);
  w->model_dir = g_strdup (model_dir);
  w->device = g_strdup (params->device ? params->device : "auto");
  w->precision = params->precision;
  w->image_resize = params->image_resize;
  w->delay_ms = g_atomic_int_get (&test_delay_ms);
  g_mutex_init (&w->lock);
  g_cond_init (&w->cond);
  g_queue_init (&w->waiting);
  w->running = g_ptr_array_new ();
  w->threads = g_ptr_array_new ();
  return w;
}

/* What makes two loads the same model. */
static char *
model_key (const char *dir, const IbModelParams *params)
{
  return g_strdup_printf ("%s\n%s\n%d\n%d", dir,
      params->device ? params->device : "auto", (int) params->precision,
      (int) params->image_resize);
}

/* Elements without a model-instance-id share the worker (thread, context
 * and model) of everything that makes the model the same, under an id no
 * property can spell: one model in memory and one queue on the device.
 * (Contexts in several threads are safe too: opencl/queue.c keeps PoCL
 * before 6.0, whose pocl_release_dlhandle_cache asserts otherwise, to one
 * queue's kernels in flight at a time.) */
#define AUTO_ID_PREFIX "\001auto\n"

guint
gst_instructblip_worker_get_n_shared_models (void)
{
  GHashTableIter it;
  gpointer key;
  guint n = 0;

  g_mutex_lock (&registry_lock);
  if (registry) {
    g_hash_table_iter_init (&it, registry);
    while (g_hash_table_iter_next (&it, &key, NULL))
      n += g_str_has_prefix (key, AUTO_ID_PREFIX);
  }
  g_mutex_unlock (&registry_lock);
  return n;
}

int
gst_instructblip_worker_get_max_batched (void)
{
  GHashTableIter it;
  gpointer key, value;
  int n = 0;

  g_mutex_lock (&registry_lock);
  if (registry) {
    g_hash_table_iter_init (&it, registry);
    while (g_hash_table_iter_next (&it, &key, &value)) {
      GstInstructBlipWorker *w = value;
      IbBatchStats st;
      if (!g_str_has_prefix (key, AUTO_ID_PREFIX) || w->loading)
        continue;
      /* the batch is remade only with w->lock's resizing held */
      g_mutex_lock (&w->lock);
      while (w->resizing)
        g_cond_wait (&w->cond, &w->lock);
      if (w->batch) {
        ib_batch_get_stats (w->batch, &st);
        n = MAX (n, st.max_active);
      }
      g_mutex_unlock (&w->lock);
    }
  }
  g_mutex_unlock (&registry_lock);
  return n;
}

static gboolean
worker_load (GstInstructBlipWorker *w, const IbModelParams *params,
    GError **error)
{
  w->model = ib_model_load (w->model_dir, params, error);
  if (w->model == NULL)
    return FALSE;
  /* the batch and its threads come with the first reserve or question */
  g_mutex_lock (&w->lock);
  g_ptr_array_add (w->threads,
      g_thread_try_new ("ib-worker", worker_thread, w, error));
  if (g_ptr_array_index (w->threads, 0) == NULL)
    g_ptr_array_set_size (w->threads, 0);
  g_mutex_unlock (&w->lock);
  return w->threads->len > 0;
}

static void
worker_free (GstInstructBlipWorker *w)
{
  guint i;

  g_mutex_lock (&w->lock);
  w->quit = TRUE;
  g_cond_broadcast (&w->cond);
  g_mutex_unlock (&w->lock);
  for (i = 0; i < w->threads->len; i++)
    g_thread_join (g_ptr_array_index (w->threads, i));
  g_ptr_array_unref (w->threads);
  g_ptr_array_unref (w->running);
  g_queue_clear_full (&w->waiting,
      (GDestroyNotify) gst_instructblip_request_free);
  ib_batch_free (w->batch);
  if (w->model)
    ib_model_unref (w->model);
  g_mutex_clear (&w->lock);
  g_cond_clear (&w->cond);
  g_free (w->instance_id);
  g_free (w->model_dir);
  g_free (w->device);
  g_free (w);
}

static gboolean
same_model (const GstInstructBlipWorker *w, const char *model_dir,
    const IbModelParams *params, GError **error)
{
  const char *device = params->device ? params->device : "auto";

  if (g_str_equal (w->model_dir, model_dir) &&
      g_str_equal (w->device, device) && w->precision == params->precision &&
      w->image_resize == params->image_resize)
    return TRUE;
  g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
      "model-instance-id \"%s\" is already used with model-path \"%s\", "
      "device \"%s\", precision %s and image-resize %d; elements sharing a "
      "model instance must agree on these",
      w->instance_id, w->model_dir, w->device,
      ib_precision_to_string (w->precision), (int) w->image_resize);
  return FALSE;
}

GstInstructBlipWorker *
gst_instructblip_worker_acquire (const char *instance_id, const char *model_dir,
    const IbModelParams *params, GError **error)
{
  char *dir = g_canonicalize_filename (model_dir, NULL);
  GstInstructBlipWorker *w = NULL;
  char *auto_id = NULL, *key;
  gboolean ok;

  if (instance_id == NULL || *instance_id == '\0') {
    key = model_key (dir, params);
    instance_id = auto_id = g_strconcat (AUTO_ID_PREFIX, key, NULL);
    g_free (key);
  }

  g_mutex_lock (&registry_lock);
  if (registry == NULL)
    registry = g_hash_table_new (g_str_hash, g_str_equal);
  while ((w = g_hash_table_lookup (registry, instance_id)) != NULL) {
    if (w->loading) {
      g_cond_wait (&registry_cond, &registry_lock);
      continue;
    }
    if (same_model (w, dir, params, error))
      w->refcount++;
    else
      w = NULL;
    g_mutex_unlock (&registry_lock);
    goto out;
  }
  /* the first user loads, outside the registry lock; later users of the
   * same id wait for it */
  w = worker_new (instance_id, dir, params);
  w->loading = TRUE;
  g_hash_table_insert (registry, w->instance_id, w);
  g_mutex_unlock (&registry_lock);

  ok = worker_load (w, params, error);

  g_mutex_lock (&registry_lock);
  w->loading = FALSE;
  if (!ok) {
    g_hash_table_remove (registry, w->instance_id);
    g_clear_pointer (&w, worker_free);
  }
  g_cond_broadcast (&registry_cond);
  g_mutex_unlock (&registry_lock);
out:
  g_free (auto_id);
  g_free (dir);
  return w;
}

void
gst_instructblip_worker_release (GstInstructBlipWorker *w)
{
  gboolean last;

  if (w == NULL)
    return;
  g_mutex_lock (&registry_lock);
  last = --w->refcount == 0;
  if (last && w->instance_id)
    g_hash_table_remove (registry, w->instance_id);
  g_mutex_unlock (&registry_lock);
  if (last)
    worker_free (w);
}

IbModel *
gst_instructblip_worker_get_model (GstInstructBlipWorker *w)
{
  return w->model;
}
