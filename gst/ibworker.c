/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared models and their worker threads: a process-wide registry of
 * workers (one thread, one engine context and one model each) keyed by
 * model-instance-id, or, for elements without one, by what makes the model
 * (resolved directory, device, precision, frame preprocessing). */
#include "ibworker.h"

#include "ibframe.h"
#include "ibworker-private.h"

GST_DEBUG_CATEGORY_EXTERN (gst_instruct_blip_debug);
#define GST_CAT_DEFAULT gst_instruct_blip_debug

/* Smallest context budgets: small growth steps would recreate it often. */
#define MIN_NEW_TOKENS 64

struct _IbWorker
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
  GThread *thread;
  guint delay_ms;

  /* the queue and the context, under lock */
  GMutex lock;
  GCond cond;
  GQueue waiting; /* IbRequest * */
  gpointer running_owner; /* owner of the request being answered */
  gboolean ctx_in_use; /* the worker or a reserve call uses ctx */
  gboolean quit;
  IbContext *ctx; /* used outside the lock by whoever set
                                 * ctx_in_use */
  IbContextParams ctx_params;
};

static GMutex registry_lock;
static GCond registry_cond;
static GHashTable *registry; /* instance id -> IbWorker * */


/* Test hook (ibworker-private.h): new workers sleep this long before each
 * question. */
static guint test_delay_ms;

void
ib_worker_set_test_delay (guint ms)
{
  g_atomic_int_set (&test_delay_ms, ms);
}

IbRequest *
ib_request_new (void)
{
  IbRequest *req = g_new0 (IbRequest, 1);

  req->first_pts = req->last_pts = GST_CLOCK_TIME_NONE;
  req->last_rt = req->next_rt = GST_CLOCK_TIME_NONE;
  return req;
}

void
ib_request_free (IbRequest *req)
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

/* ---- the context ---- */

/* Under w->lock with ctx_in_use held by the caller, or on the worker
 * thread while it answers: grows the context to at least these budgets. */
static gboolean
ensure_context (IbWorker *w, int n_frames, int max_new_tokens, int num_beams,
    GError **error)
{
  IbContextParams p = w->ctx_params;

  if (w->ctx && n_frames <= p.max_frames &&
      max_new_tokens <= p.max_new_tokens && num_beams <= p.max_beams)
    return TRUE;
  if (w->ctx == NULL) {
    ib_context_params_init (&p);
    p.max_frames = n_frames;
    p.max_new_tokens = MAX (max_new_tokens, MIN_NEW_TOKENS);
    p.max_beams = num_beams;
  } else {
    p.max_frames = MAX (p.max_frames, n_frames);
    p.max_new_tokens = MAX (p.max_new_tokens, max_new_tokens);
    p.max_beams = MAX (p.max_beams, num_beams);
  }
  /* free first: the old arena's device memory may be needed */
  ib_context_free (w->ctx);
  w->ctx = ib_context_new (w->model, &p, error);
  w->ctx_params = p;
  GST_DEBUG ("context for %d frames, %d new tokens, %d beams: %s", p.max_frames,
      p.max_new_tokens, p.max_beams, w->ctx ? "ok" : "failed");
  return w->ctx != NULL;
}

gboolean
ib_worker_reserve (IbWorker *w, int n_frames, int max_new_tokens, int num_beams,
    GError **error)
{
  gboolean ok;

  g_mutex_lock (&w->lock);
  while (w->ctx_in_use)
    g_cond_wait (&w->cond, &w->lock);
  w->ctx_in_use = TRUE;
  g_mutex_unlock (&w->lock);

  ok = ensure_context (w, n_frames, max_new_tokens, num_beams, error);

  g_mutex_lock (&w->lock);
  w->ctx_in_use = FALSE;
  g_cond_broadcast (&w->cond);
  g_mutex_unlock (&w->lock);
  return ok;
}

/* ---- answering ---- */

static void
answer (IbWorker *w, IbRequest *req)
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
  if (!ensure_context (w, n, req->params.max_new_tokens, req->params.num_beams,
          &err))
    goto out;
  for (i = 0; i < n; i++)
    images[i] = ((IbFrame *) g_ptr_array_index (req->frames, i))->image;
  if (!ib_context_set_frames (w->ctx, images, n, &err))
    goto out;
  if (req->candidates) {
    scores = g_new0 (double, g_strv_length (req->candidates));
    best = ib_context_rank (w->ctx, req->instruction,
        (const char *const *) req->candidates, g_strv_length (req->candidates),
        scores, &err);
    if (best >= 0)
      req->answer = g_strdup (req->candidates[best]);
    else if (err == NULL)
      g_set_error (&err, IB_ERROR, IB_ERROR_FAILED, "ranking failed");
  } else {
    a = ib_context_answer (w->ctx, req->instruction, &req->params, &err);
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

static gpointer
worker_thread (gpointer data)
{
  IbWorker *w = data;
  IbRequest *req;

  g_mutex_lock (&w->lock);
  for (;;) {
    while (!w->quit && (g_queue_is_empty (&w->waiting) || w->ctx_in_use))
      g_cond_wait (&w->cond, &w->lock);
    if (w->quit)
      break;
    req = g_queue_pop_head (&w->waiting);
    w->running_owner = req->owner;
    w->ctx_in_use = TRUE;
    g_mutex_unlock (&w->lock);

    answer (w, req);
    /* before running_owner is cleared: a cancelling owner waits for it */
    req->done (req, req->user_data);

    g_mutex_lock (&w->lock);
    w->running_owner = NULL;
    w->ctx_in_use = FALSE;
    g_cond_broadcast (&w->cond);
  }
  g_mutex_unlock (&w->lock);
  return NULL;
}

/* ---- the queue ---- */

static guint
count_waiting (IbWorker *w, gpointer owner)
{
  guint n = 0;
  GList *l;

  for (l = w->waiting.head; l; l = l->next)
    n += ((IbRequest *) l->data)->owner == owner;
  return n;
}

IbRequest *
ib_worker_submit (IbWorker *w, IbRequest *req, guint max_pending,
    gboolean drop_oldest)
{
  IbRequest *dropped = NULL;
  GList *l;

  g_mutex_lock (&w->lock);
  if (max_pending > 0 && count_waiting (w, req->owner) >= max_pending) {
    if (drop_oldest) {
      for (l = w->waiting.head; l; l = l->next)
        if (((IbRequest *) l->data)->owner == req->owner)
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
ib_worker_cancel (IbWorker *w, gpointer owner, gboolean wait)
{
  guint n = 0;
  GList *l, *next;

  g_mutex_lock (&w->lock);
  for (l = w->waiting.head; l; l = next) {
    next = l->next;
    if (((IbRequest *) l->data)->owner == owner) {
      ib_request_free (l->data);
      g_queue_delete_link (&w->waiting, l);
      n++;
    }
  }
  while (wait && w->running_owner == owner)
    g_cond_wait (&w->cond, &w->lock);
  g_mutex_unlock (&w->lock);
  return n;
}

void
ib_worker_get_load (IbWorker *w, gpointer owner, guint *waiting, gboolean *busy)
{
  g_mutex_lock (&w->lock);
  if (waiting)
    *waiting = count_waiting (w, owner);
  if (busy)
    *busy = w->running_owner == owner;
  g_mutex_unlock (&w->lock);
}

/* ---- the registry ---- */

static IbWorker *
worker_new (const char *instance_id, const char *model_dir,
    const IbModelParams *params)
{
  IbWorker *w = g_new0 (IbWorker, 1);

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
ib_worker_get_n_shared_models (void)
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

static gboolean
worker_load (IbWorker *w, const IbModelParams *params, GError **error)
{
  w->model = ib_model_load (w->model_dir, params, error);
  if (w->model == NULL)
    return FALSE;
  w->thread = g_thread_try_new ("ib-worker", worker_thread, w, error);
  return w->thread != NULL;
}

static void
worker_free (IbWorker *w)
{
  if (w->thread) {
    g_mutex_lock (&w->lock);
    w->quit = TRUE;
    g_cond_broadcast (&w->cond);
    g_mutex_unlock (&w->lock);
    g_thread_join (w->thread);
  }
  g_queue_clear_full (&w->waiting, (GDestroyNotify) ib_request_free);
  ib_context_free (w->ctx);
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
same_model (const IbWorker *w, const char *model_dir,
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

IbWorker *
ib_worker_acquire (const char *instance_id, const char *model_dir,
    const IbModelParams *params, GError **error)
{
  char *dir = g_canonicalize_filename (model_dir, NULL);
  IbWorker *w = NULL;
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
ib_worker_release (IbWorker *w)
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
ib_worker_get_model (IbWorker *w)
{
  return w->model;
}
