/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* LD_PRELOAD for ThreadSanitizer runs: tells TSan about GLib's futex-based locks, which it cannot see inside the uninstrumented libglib. */

/*
 * GLib on Linux implements GMutex, GCond and g_once_init_* with futexes
 * and atomics inside libglib-2.0.so, which is not instrumented: TSan sees
 * neither the lock nor the happens-before edge it creates, and reports
 * every access our code makes under a GMutex as a race. Rebuilding GLib
 * with -fsanitize=thread is the other fix; this one wraps the calls our
 * code makes (through the PLT) and announces each edge with TSan's public
 * annotations: release before unlocking or waiting, acquire after
 * locking or waking. Calls GLib and GStreamer make internally are not
 * wrapped; their memory is not instrumented either.
 *
 * In a process without TSan (a gst-launch-1.0 started by a test) the
 * annotations resolve to nothing and the wrappers only forward.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <glib.h>

typedef void (*AnnotateFunc) (void *addr);

static AnnotateFunc tsan_acquire, tsan_release;
static void (*real_mutex_lock) (GMutex *);
static void (*real_mutex_unlock) (GMutex *);
static gboolean (*real_mutex_trylock) (GMutex *);
static void (*real_cond_wait) (GCond *, GMutex *);
static gboolean (*real_cond_wait_until) (GCond *, GMutex *, gint64);
static gboolean (*real_once_init_enter) (volatile void *);
static void (*real_once_init_leave) (volatile void *, gsize);
static gpointer (*real_once_impl) (GOnce *, GThreadFunc, gpointer);

/* On first use, not in a constructor: other libraries' constructors may
 * lock a GMutex before ours runs. */
static void
resolve (void)
{
  tsan_acquire = (AnnotateFunc) dlsym (RTLD_DEFAULT, "__tsan_acquire");
  tsan_release = (AnnotateFunc) dlsym (RTLD_DEFAULT, "__tsan_release");
  real_mutex_lock = dlsym (RTLD_NEXT, "g_mutex_lock");
  real_mutex_unlock = dlsym (RTLD_NEXT, "g_mutex_unlock");
  real_mutex_trylock = dlsym (RTLD_NEXT, "g_mutex_trylock");
  real_cond_wait = dlsym (RTLD_NEXT, "g_cond_wait");
  real_cond_wait_until = dlsym (RTLD_NEXT, "g_cond_wait_until");
  real_once_init_enter = dlsym (RTLD_NEXT, "g_once_init_enter");
  real_once_init_leave = dlsym (RTLD_NEXT, "g_once_init_leave");
  real_once_impl = dlsym (RTLD_NEXT, "g_once_impl");
}

/* GLib computes some globals on first use under its own lock (the user
 * directories, the charset, the language names): in a TSan process they
 * are computed here, before any thread exists, so that later first uses
 * from several threads are plain reads. */
__attribute__ ((constructor)) static void
warm_glib_globals (void)
{
  if (dlsym (RTLD_DEFAULT, "__tsan_acquire") == NULL)
    return;
  (void) g_get_user_cache_dir ();
  (void) g_get_user_config_dir ();
  (void) g_get_user_data_dir ();
  (void) g_get_user_runtime_dir ();
  (void) g_get_home_dir ();
  (void) g_get_tmp_dir ();
  (void) g_get_language_names ();
  (void) g_get_charset (NULL);
  (void) g_get_system_data_dirs ();
  (void) g_get_system_config_dirs ();
}

#define REAL(name) (real_##name ? real_##name : (resolve (), real_##name))

static inline void
acquire (const volatile void *p)
{
  if (tsan_acquire)
    tsan_acquire ((void *) p);
}

static inline void
release (const volatile void *p)
{
  if (tsan_release)
    tsan_release ((void *) p);
}

void
g_mutex_lock (GMutex *mutex)
{
  REAL (mutex_lock) (mutex);
  acquire (mutex);
}

void
g_mutex_unlock (GMutex *mutex)
{
  release (mutex);
  REAL (mutex_unlock) (mutex);
}

gboolean
g_mutex_trylock (GMutex *mutex)
{
  gboolean locked = REAL (mutex_trylock) (mutex);

  if (locked)
    acquire (mutex);
  return locked;
}

void
g_cond_wait (GCond *cond, GMutex *mutex)
{
  release (mutex);
  REAL (cond_wait) (cond, mutex);
  acquire (mutex);
}

gboolean
g_cond_wait_until (GCond *cond, GMutex *mutex, gint64 end_time)
{
  gboolean signalled;

  release (mutex);
  signalled = REAL (cond_wait_until) (cond, mutex, end_time);
  acquire (mutex);
  return signalled;
}

gboolean (g_once_init_enter) (volatile void *location)
{
  gboolean first = REAL (once_init_enter) (location);

  acquire (location);
  return first;
}

void (g_once_init_leave) (volatile void *location, gsize result)
{
  release (location);
  REAL (once_init_leave) (location, result);
}

/* g_once(): the macro's fast path is an acquire load of once->status in
 * our code; the release is GLib's store after the initialiser returns.
 * The initialiser runs through once_call, which releases on the same
 * address first, and the slow path acquires after g_once_impl(). */
typedef struct
{
  GOnce *once;
  GThreadFunc func;
  gpointer arg;
} OnceCall;

static gpointer
once_call (gpointer data)
{
  OnceCall *c = data;
  gpointer result = c->func (c->arg);

  release (&c->once->status);
  return result;
}

gpointer
g_once_impl (GOnce *once, GThreadFunc func, gpointer arg)
{
  OnceCall c = { once, func, arg };
  gpointer result = REAL (once_impl) (once, once_call, &c);

  acquire (&once->status);
  return result;
}
