/* bench-glib-threads: what GLib itself costs per item when two threads do
 * what two workers do, against one thread doing it (issue 9).
 *
 * Each thread makes and frees, in batches, the GVariants a worker makes
 * for every item; the figure is ns per item in each thread, and the ratio
 * one thread / two threads (1.0: two threads each as fast as one alone,
 * which two independent processes on two cores reach). What it shows on
 * GLib 2.74:
 *
 * - int64 values, a batch of 1024 alive at once: GLib's slice allocator
 *   (g_slice, which every GVariant and GBytes comes from before GLib 2.76)
 *   keeps a few dozen free blocks per size and thread and goes to a depot
 *   shared by all threads, under a lock, for the rest: two threads slow
 *   each other down. With batches of 64 (what libflow's threaded workers
 *   push: SLICE_THREADED_ITEMS in flow-exec.c) much less so; with
 *   G_SLICE=always-malloc in the environment, not at all.
 * - keyed items, a batch of 64, made by libflow's own
 *   flow_batch_pack_into() as it hands them to a sink (children of one
 *   `a(sv)`): every container
 *   GVariant holds a reference on its type's GVariantTypeInfo, shared by
 *   every thread, and in GLib 2.74 freeing one takes a process-wide lock
 *   (g_variant_type_info_unref()). Two threads doing so cost each other
 *   several hundred ns per item, with any allocator.
 *
 * Run it with and without G_SLICE=always-malloc.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <flow.h>

#include "bench-common.h"
#include "flow-batch-private.h"

typedef enum { KIND_INT64, KIND_KEYED } Kind;

typedef struct
{
  Kind   kind;
  guint  batch;
  guint  rounds;
} Job;

static char keys[1000][16];

/* One batch of keyed items as a sink receives them: libflow's own
 * packing (flow_batch_pack_into(): children of one `a(sv)`), the keys
 * GRefStrings of this thread's, as a worker's are. */
static void
keyed_batch (char      **thread_keys,
             GVariant  **values,
             guint       n,
             guint       round,
             GPtrArray  *out)
{
  FlowBatch batch;

  flow_batch_init (&batch);
  for (guint i = 0; i < n; i++)
    flow_batch_push_take (&batch, g_ref_string_acquire (thread_keys[(round * n + i) % 1000]),
                          g_variant_ref (values[i]));
  flow_batch_pack_into (&batch, out);
  flow_batch_destroy (&batch);
}

static gpointer
run_job (gpointer data)
{
  const Job *job = data;
  GVariant **values = g_new (GVariant *, job->batch);
  g_autoptr(GPtrArray) items = g_ptr_array_new_full (job->batch, (GDestroyNotify) g_variant_unref);
  char *thread_keys[G_N_ELEMENTS (keys)];

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    thread_keys[i] = g_ref_string_new (keys[i]);
  for (guint r = 0; r < job->rounds; r++)
    {
      for (guint i = 0; i < job->batch; i++)
        values[i] = g_variant_ref_sink (g_variant_new_int64 ((gint64) r * job->batch + i));
      if (job->kind == KIND_KEYED)
        {
          keyed_batch (thread_keys, values, job->batch, r, items);
          g_ptr_array_set_size (items, 0);
        }
      for (guint i = 0; i < job->batch; i++)
        g_variant_unref (values[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    g_ref_string_release (thread_keys[i]);
  g_free (values);
  return NULL;
}

/* ns per item in each of @threads threads, best of @repeat */
static double
measure (const Job *job,
         guint      threads,
         int        repeat)
{
  double best = G_MAXDOUBLE;

  for (int r = 0; r < repeat; r++)
    {
      GThread *running[2];
      gint64 start = g_get_monotonic_time ();

      for (guint t = 0; t < threads; t++)
        running[t] = g_thread_new ("bench", run_job, (gpointer) job);
      for (guint t = 0; t < threads; t++)
        g_thread_join (running[t]);
      bench_keep_best (&best, bench_seconds_since (start));
    }
  return best * 1e9 / ((double) job->batch * job->rounds);
}

int
main (int    argc,
      char **argv)
{
  gint64 items = 2 * 1000 * 1000;
  int repeat = 3;
  GOptionEntry entries[] = {
    { "items", 'n', 0, G_OPTION_ARG_INT64, &items, "Items per thread (default 2,000,000)", "N" },
    { "repeat", 'r', 0, G_OPTION_ARG_INT, &repeat, "Best of N runs (default 3)", "N" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- GLib's cost per item in two threads");
  g_autoptr(GError) error = NULL;
  struct { const char *name; Kind kind; guint batch; } rows[] = {
    { "int64 values, batches of 1024", KIND_INT64, 1024 },
    { "int64 values, batches of 64", KIND_INT64, 64 },
    { "keyed items for a sink, batches of 64", KIND_KEYED, 64 },
  };

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    g_snprintf (keys[i], sizeof keys[i], "key-%u", i);

  /* The keyed items are what flow_item_new_keyed() makes. */
  {
    GVariant *values[3];
    char *thread_keys[G_N_ELEMENTS (keys)];
    g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);

    for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
      thread_keys[i] = g_ref_string_new (keys[i]);
    for (guint i = 0; i < 3; i++)
      values[i] = g_variant_ref_sink (g_variant_new_int64 (-(gint64) i));
    keyed_batch (thread_keys, values, 3, 0, got);
    for (guint i = 0; i < 3; i++)
      {
        g_autoptr(GVariant) want = g_variant_ref_sink (flow_item_new_keyed (keys[i], values[i]));

        if (!g_variant_equal (g_ptr_array_index (got, i), want))
          g_error ("keyed item %u is not what flow_item_new_keyed() makes", i);
        g_variant_unref (values[i]);
      }
    for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
      g_ref_string_release (thread_keys[i]);
  }

  g_print ("# GLib %u.%u.%u, G_SLICE=%s, %" G_GINT64_FORMAT " items per thread, best of %d\n",
           glib_major_version, glib_minor_version, glib_micro_version,
           g_getenv ("G_SLICE") ? g_getenv ("G_SLICE") : "(unset)", items, repeat);
  g_print ("# %-40s %12s %14s %8s\n", "made and freed per item", "1 thread", "each of 2", "ratio");
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      Job job = { rows[i].kind, rows[i].batch, (guint) MAX (items / rows[i].batch, 1) };
      double one = measure (&job, 1, repeat);
      double two = measure (&job, 2, repeat);

      g_print ("%-42s %9.1f ns %11.1f ns %8.3f\n", rows[i].name, one, two, one / two);
    }
  return 0;
}
