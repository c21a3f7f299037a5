/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* torch.topk and torch.sort on the CPU: libstdc++'s partial_sort,
 * nth_element and sort on (value, index) pairs, written out so that tied
 * values land where torch puts them. */
#include "topk.h"

#include <math.h>
#include <string.h>

typedef struct
{
  float v;
  gint64 i;
} Item;

/* "x goes before y": torch's comparators */
typedef gboolean (*Before) (const Item *x, const Item *y);

/* topk largest=True and sort descending: NaN first, then descending */
static gboolean
before_desc (const Item *x, const Item *y)
{
  return (isnan (x->v) && !isnan (y->v)) || x->v > y->v;
}

/* sort ascending: NaN last */
static gboolean
before_asc (const Item *x, const Item *y)
{
  return (!isnan (x->v) && isnan (y->v)) || x->v < y->v;
}

static inline void
swap_items (Item *a, Item *b)
{
  Item t = *a;

  *a = *b;
  *b = t;
}

/* floor (log2 (n)) for n > 0: std::__lg */
static int
lg (gint64 n)
{
  int k = 0;

  while (n > 1) {
    n >>= 1;
    k++;
  }
  return k;
}

/* --- heaps (std::__push_heap, __adjust_heap, __make_heap, __pop_heap) --- */

static void
push_heap (Item *first, gint64 hole, gint64 top, Item value, Before before)
{
  gint64 parent = (hole - 1) / 2;

  while (hole > top && before (&first[parent], &value)) {
    first[hole] = first[parent];
    hole = parent;
    parent = (hole - 1) / 2;
  }
  first[hole] = value;
}

static void
adjust_heap (Item *first, gint64 hole, gint64 len, Item value, Before before)
{
  const gint64 top = hole;
  gint64 child = hole;

  while (child < (len - 1) / 2) {
    child = 2 * (child + 1);
    if (before (&first[child], &first[child - 1]))
      child--;
    first[hole] = first[child];
    hole = child;
  }
  if ((len & 1) == 0 && child == (len - 2) / 2) {
    child = 2 * (child + 1);
    first[hole] = first[child - 1];
    hole = child - 1;
  }
  push_heap (first, hole, top, value, before);
}

static void
make_heap (Item *first, Item *last, Before before)
{
  gint64 len = last - first, parent;

  if (len < 2)
    return;
  for (parent = (len - 2) / 2;; parent--) {
    adjust_heap (first, parent, len, first[parent], before);
    if (parent == 0)
      return;
  }
}

/* move *first to *result and re-heap [first, last) with the old *result */
static void
pop_heap (Item *first, Item *last, Item *result, Before before)
{
  Item value = *result;

  *result = *first;
  adjust_heap (first, 0, last - first, value, before);
}

static void
heap_select (Item *first, Item *middle, Item *last, Before before)
{
  Item *i;

  make_heap (first, middle, before);
  for (i = middle; i < last; i++)
    if (before (i, first))
      pop_heap (first, middle, i, before);
}

static void
sort_heap (Item *first, Item *last, Before before)
{
  while (last - first > 1) {
    last--;
    pop_heap (first, last, last, before);
  }
}

static void
partial_sort (Item *first, Item *middle, Item *last, Before before)
{
  heap_select (first, middle, last, before);
  sort_heap (first, middle, before);
}

/* --- insertion sorts --- */

static void
unguarded_linear_insert (Item *last, Before before)
{
  Item value = *last;
  Item *next = last - 1;

  while (before (&value, next)) {
    *last = *next;
    last = next;
    next--;
  }
  *last = value;
}

static void
insertion_sort (Item *first, Item *last, Before before)
{
  Item *i;

  if (first == last)
    return;
  for (i = first + 1; i != last; i++) {
    if (before (i, first)) {
      Item value = *i;

      memmove (first + 1, first, (gsize) (i - first) * sizeof (Item));
      *first = value;
    } else {
      unguarded_linear_insert (i, before);
    }
  }
}

/* --- quicksort partition (median of three moved to *first) --- */

static void
move_median_to_first (Item *result, Item *a, Item *b, Item *c, Before before)
{
  if (before (a, b)) {
    if (before (b, c))
      swap_items (result, b);
    else if (before (a, c))
      swap_items (result, c);
    else
      swap_items (result, a);
  } else if (before (a, c)) {
    swap_items (result, a);
  } else if (before (b, c)) {
    swap_items (result, c);
  } else {
    swap_items (result, b);
  }
}

static Item *
unguarded_partition (Item *first, Item *last, const Item *pivot, Before before)
{
  for (;;) {
    while (before (first, pivot))
      first++;
    last--;
    while (before (pivot, last))
      last--;
    if (!(first < last))
      return first;
    swap_items (first, last);
    first++;
  }
}

static Item *
unguarded_partition_pivot (Item *first, Item *last, Before before)
{
  Item *mid = first + (last - first) / 2;

  move_median_to_first (first, first + 1, mid, last - 1, before);
  return unguarded_partition (first + 1, last, first, before);
}

/* --- std::nth_element --- */

static void
introselect (Item *first, Item *nth, Item *last, int depth_limit, Before before)
{
  while (last - first > 3) {
    Item *cut;

    if (depth_limit == 0) {
      heap_select (first, nth + 1, last, before);
      /* place the nth element in its final position */
      swap_items (first, nth);
      return;
    }
    depth_limit--;
    cut = unguarded_partition_pivot (first, last, before);
    if (cut <= nth)
      first = cut;
    else
      last = cut;
  }
  insertion_sort (first, last, before);
}

static void
nth_element (Item *first, Item *nth, Item *last, Before before)
{
  if (first == last || nth == last)
    return;
  introselect (first, nth, last, lg (last - first) * 2, before);
}

/* --- std::sort --- */

#define SORT_THRESHOLD 16

static void
introsort_loop (Item *first, Item *last, int depth_limit, Before before)
{
  while (last - first > SORT_THRESHOLD) {
    Item *cut;

    if (depth_limit == 0) {
      partial_sort (first, last, last, before);
      return;
    }
    depth_limit--;
    cut = unguarded_partition_pivot (first, last, before);
    introsort_loop (cut, last, depth_limit, before);
    last = cut;
  }
}

static void
final_insertion_sort (Item *first, Item *last, Before before)
{
  if (last - first > SORT_THRESHOLD) {
    Item *i;

    insertion_sort (first, first + SORT_THRESHOLD, before);
    for (i = first + SORT_THRESHOLD; i != last; i++)
      unguarded_linear_insert (i, before);
  } else {
    insertion_sort (first, last, before);
  }
}

static void
std_sort (Item *first, Item *last, Before before)
{
  if (first == last)
    return;
  introsort_loop (first, last, lg (last - first) * 2, before);
  final_insertion_sort (first, last, before);
}

static Item *
load (const float *values, int n)
{
  Item *queue = g_new (Item, n);
  int j;

  for (j = 0; j < n; j++) {
    queue[j].v = values[j];
    queue[j].i = j;
  }
  return queue;
}

static void
store (const Item *queue, int k, int *indices, float *out_values)
{
  int j;

  for (j = 0; j < k; j++) {
    indices[j] = (int) queue[j].i;
    if (out_values)
      out_values[j] = queue[j].v;
  }
}

void
ib_topk (const float *values, int n, int k, int *indices, float *out_values)
{
  Item *queue;

  g_return_if_fail (values != NULL && indices != NULL);
  g_return_if_fail (k >= 1 && k <= n);

  queue = load (values, n);
  if ((gint64) k * 64 <= n) {
    partial_sort (queue, queue + k, queue + n, before_desc);
  } else {
    nth_element (queue, queue + k - 1, queue + n, before_desc);
    std_sort (queue, queue + k - 1, before_desc);
  }
  store (queue, k, indices, out_values);
  g_free (queue);
}

void
ib_sort (const float *values, int n, gboolean descending, int *indices,
    float *out_values)
{
  Item *queue;

  g_return_if_fail (values != NULL && indices != NULL && n >= 0);

  queue = load (values, n);
  std_sort (queue, queue + n, descending ? before_desc : before_asc);
  store (queue, n, indices, out_values);
  g_free (queue);
}
