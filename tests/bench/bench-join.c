/* bench-join: items/s through a two-input join (complete mode, last
 * value), against a plain C loop pairing the same items by key with a
 * GHashTable.
 *
 *   bench-join [N]   N items per side (default 500,000), one key per pair
 *
 * Every key has one value on each side, so every key is emitted once
 * whatever the order in which the runner reads the two inputs.
 *
 * Both build the same `(vv)` row GVariant for every pair and hand it to
 * the same function (a filter that keeps nothing, so no sink holds the
 * rows), so the ratio is what the dataflow machinery costs: two inputs,
 * splitting keyed items, the state table and its change tracking.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <flow.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench-common.h"

static guint64 rows_seen;

static gboolean
consume (GVariant  *row,
         gpointer   user_data,
         GError   **error)
{
  rows_seen++;
  return FALSE;
}

static GVariant *
side_items (guint n,
            gint64 sign,
            char **keys)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("av"));
  for (guint i = 0; i < n; i++)
    g_variant_builder_add (&builder, "v",
                           g_variant_new ("(sv)", keys[i],
                                          g_variant_new_int64 (sign * (gint64) i)));
  return g_variant_builder_end (&builder);
}

static double
run_flow (GVariant *left_items,
          GVariant *right_items)
{
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("bench_join");
  g_autoptr(FlowTestingSource) left_source = flow_testing_source_new (left_items);
  g_autoptr(FlowTestingSource) right_source = flow_testing_source_new (right_items);
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowRunner) runner = NULL;
  g_autoptr(GError) error = NULL;
  FlowStream *left, *right, *joined;
  gint64 start;

  flow_testing_source_set_batch_size (left_source, 1000);
  flow_testing_source_set_batch_size (right_source, 1000);
  left = flow_dataflow_input (flow, "left", FLOW_SOURCE (left_source));
  right = flow_dataflow_input (flow, "right", FLOW_SOURCE (right_source));
  joined = flow_stream_join (left, "join", &right, 1,
                             FLOW_JOIN_INSERT_MODE_LAST, FLOW_JOIN_EMIT_MODE_COMPLETE);
  joined = flow_stream_filter (joined, "consume", consume, NULL, NULL);
  flow_stream_output (joined, "out", FLOW_SINK (sink));
  runner = flow_runner_new (flow);

  start = g_get_monotonic_time ();
  if (!flow_runner_run (runner, NULL, &error))
    g_error ("%s", error->message);
  return bench_seconds_since (start);
}

typedef struct
{
  GVariant *left;
  GVariant *right;
} Pair;

static void
pair_free (gpointer data)
{
  Pair *p = data;

  g_clear_pointer (&p->left, g_variant_unref);
  g_clear_pointer (&p->right, g_variant_unref);
  g_free (p);
}

/* The same pairing by hand: the items of both sides in turn, a batch of
 * 1000 of each, as the runner reads them. */
static double
run_loop (GVariant *left_items,
          GVariant *right_items)
{
  g_autoptr(GHashTable) table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, pair_free);
  gsize n = g_variant_n_children (left_items);
  gint64 start = g_get_monotonic_time ();

  for (gsize base = 0; base < n; base += 1000)
    for (guint side = 0; side < 2; side++)
      for (gsize i = base; i < MIN (base + 1000, n); i++)
        {
          g_autoptr(GVariant) boxed = g_variant_get_child_value (side ? right_items : left_items, i);
          g_autoptr(GVariant) item = g_variant_get_variant (boxed);
          const char *key;
          GVariant *value;
          Pair *p;

          g_variant_get (item, "(&sv)", &key, &value);
          p = g_hash_table_lookup (table, key);
          if (p == NULL)
            {
              p = g_new0 (Pair, 1);
              g_hash_table_insert (table, g_strdup (key), p);
            }
          if (side)
            {
              g_clear_pointer (&p->right, g_variant_unref);
              p->right = value;
            }
          else
            {
              g_clear_pointer (&p->left, g_variant_unref);
              p->left = value;
            }
          if (p->left != NULL && p->right != NULL)
            {
              GVariant *row[2] = { g_variant_new_variant (p->left),
                                   g_variant_new_variant (p->right) };
              g_autoptr(GVariant) tuple = g_variant_ref_sink (g_variant_new_tuple (row, 2));

              consume (tuple, NULL, NULL);
              g_hash_table_remove (table, key);
            }
        }
  return bench_seconds_since (start);
}

int
main (int    argc,
      char **argv)
{
  guint n = argc > 1 ? (guint) atoi (argv[1]) : 500000;
  char **keys = g_new (char *, n);
  g_autoptr(GVariant) left = NULL;
  g_autoptr(GVariant) right = NULL;
  double t_flow, t_loop;
  guint64 flow_rows, loop_rows;

  for (guint i = 0; i < n; i++)
    keys[i] = g_strdup_printf ("key-%u", i);
  left = g_variant_ref_sink (side_items (n, 1, keys));
  right = g_variant_ref_sink (side_items (n, -1, keys));

  rows_seen = 0;
  t_loop = run_loop (left, right);
  loop_rows = rows_seen;
  rows_seen = 0;
  t_flow = run_flow (left, right);
  flow_rows = rows_seen;

  printf ("join (complete, last), %u items per side, %u keys\n", n, n);
  printf ("  plain loop: %.3f s, %.0f items/s, %" G_GUINT64_FORMAT " rows\n",
          t_loop, 2.0 * n / t_loop, loop_rows);
  printf ("  flow:       %.3f s, %.0f items/s, %" G_GUINT64_FORMAT " rows\n",
          t_flow, 2.0 * n / t_flow, flow_rows);
  printf ("  ratio flow/loop: %.2f\n", t_loop / t_flow);

  for (guint i = 0; i < n; i++)
    g_free (keys[i]);
  g_free (keys);
  return 0;
}
