/* test-connectors.c: sources and sinks subclassed in C, FlowTestingSource
 * (markers, batch size), FlowTestingSink and FlowStdOutSink
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "flow-test-utils.h"

#define ADD(path, func) \
  g_test_add (path, FlowHarness, NULL, flow_harness_setup, func, flow_harness_teardown)

/* ------------------------------------------------------------------------
 * A source with named partitions: partition k emits "k-0", "k-1", ... in
 * batches, optionally asking to be woken up some time later after each
 * batch. It records what the runner does with it.
 * ------------------------------------------------------------------------ */

typedef struct
{
  GPtrArray *builds;      /* "step_id/part_key" */
  GPtrArray *closes;      /* part keys, one per close() */
  GArray    *call_times;  /* gint64, monotonic time of each next_batch() */
  guint      live_parts;  /* partitions not yet finalized */
} SourceLog;

#define TEST_TYPE_RANGE_PART (test_range_part_get_type ())
G_DECLARE_FINAL_TYPE (TestRangePart, test_range_part, TEST, RANGE_PART, FlowSourcePartition)
struct _TestRangePart
{
  FlowSourcePartition parent_instance;
  char      *key;
  guint      n_items;
  guint      batch_size;
  gint64     interval;
  guint      next;
  gint64     awake;
  SourceLog *log;
};
G_DEFINE_FINAL_TYPE (TestRangePart, test_range_part, FLOW_TYPE_SOURCE_PARTITION)

static GVariant *
test_range_part_next_batch (FlowSourcePartition *part, GError **error)
{
  TestRangePart *self = TEST_RANGE_PART (part);
  gint64 now = flow_clock_get_monotonic (flow_clock_get_thread_default ());
  GVariantBuilder builder;

  g_array_append_val (self->log->call_times, now);
  if (self->next >= self->n_items)
    return NULL;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("as"));
  for (guint i = 0; i < self->batch_size && self->next < self->n_items; i++, self->next++)
    {
      g_autofree char *item = g_strdup_printf ("%s-%u", self->key, self->next);
      g_variant_builder_add (&builder, "s", item);
    }
  self->awake = self->interval > 0 ? now + self->interval : 0;
  return g_variant_builder_end (&builder);
}

static gint64
test_range_part_next_awake (FlowSourcePartition *part)
{
  return TEST_RANGE_PART (part)->awake;
}

static gboolean
test_range_part_close (FlowSourcePartition *part, GError **error)
{
  TestRangePart *self = TEST_RANGE_PART (part);

  g_ptr_array_add (self->log->closes, g_strdup (self->key));
  return TRUE;
}

static void
test_range_part_finalize (GObject *object)
{
  TestRangePart *self = TEST_RANGE_PART (object);

  self->log->live_parts--;
  g_free (self->key);
  G_OBJECT_CLASS (test_range_part_parent_class)->finalize (object);
}

static void
test_range_part_class_init (TestRangePartClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_range_part_finalize;
  FLOW_SOURCE_PARTITION_CLASS (klass)->next_batch = test_range_part_next_batch;
  FLOW_SOURCE_PARTITION_CLASS (klass)->next_awake = test_range_part_next_awake;
  FLOW_SOURCE_PARTITION_CLASS (klass)->close = test_range_part_close;
}

static void
test_range_part_init (TestRangePart *self)
{
}

#define TEST_TYPE_RANGE_SOURCE (test_range_source_get_type ())
G_DECLARE_FINAL_TYPE (TestRangeSource, test_range_source, TEST, RANGE_SOURCE, FlowSource)
struct _TestRangeSource
{
  FlowSource  parent_instance;
  char      **keys;
  guint       n_items;
  guint       batch_size;
  gint64      interval;
  gint64      build_time;  /* flow_get_monotonic_time() in build_part() */
  SourceLog   log;
};
G_DEFINE_FINAL_TYPE (TestRangeSource, test_range_source, FLOW_TYPE_SOURCE)

static char **
test_range_source_list_parts (FlowSource *source, GError **error)
{
  return g_strdupv (TEST_RANGE_SOURCE (source)->keys);
}

static FlowSourcePartition *
test_range_source_build_part (FlowSource *source, const char *step_id, const char *key,
                              GVariant *resume_state, GError **error)
{
  TestRangeSource *self = TEST_RANGE_SOURCE (source);
  TestRangePart *part = g_object_new (TEST_TYPE_RANGE_PART, NULL);

  /* No recovery directory: nothing to resume from. */
  g_assert_null (resume_state);
  g_ptr_array_add (self->log.builds, g_strdup_printf ("%s/%s", step_id, key));
  self->build_time = flow_get_monotonic_time ();
  part->key = g_strdup (key);
  part->n_items = self->n_items;
  part->batch_size = self->batch_size;
  part->interval = self->interval;
  part->log = &self->log;
  self->log.live_parts++;
  return FLOW_SOURCE_PARTITION (part);
}

static void
test_range_source_finalize (GObject *object)
{
  TestRangeSource *self = TEST_RANGE_SOURCE (object);

  g_strfreev (self->keys);
  g_ptr_array_unref (self->log.builds);
  g_ptr_array_unref (self->log.closes);
  g_array_unref (self->log.call_times);
  G_OBJECT_CLASS (test_range_source_parent_class)->finalize (object);
}

static void
test_range_source_class_init (TestRangeSourceClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_range_source_finalize;
  FLOW_SOURCE_CLASS (klass)->list_parts = test_range_source_list_parts;
  FLOW_SOURCE_CLASS (klass)->build_part = test_range_source_build_part;
}

static void
test_range_source_init (TestRangeSource *self)
{
  self->log.builds = g_ptr_array_new_with_free_func (g_free);
  self->log.closes = g_ptr_array_new_with_free_func (g_free);
  self->log.call_times = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->batch_size = 1;
}

static TestRangeSource *
range_source_new (const char * const *keys,
                  guint               n_items,
                  guint               batch_size)
{
  TestRangeSource *self = g_object_new (TEST_TYPE_RANGE_SOURCE, NULL);

  self->keys = g_strdupv ((char **) keys);
  self->n_items = n_items;
  self->batch_size = batch_size;
  return self;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(char * const *) a, *(char * const *) b);
}

static char *
join_sorted (GPtrArray *strings)
{
  /* A shallow copy, without the free function of @strings */
  g_autoptr(GPtrArray) copy = g_ptr_array_sized_new (strings->len + 1);

  for (guint i = 0; i < strings->len; i++)
    g_ptr_array_add (copy, g_ptr_array_index (strings, i));
  g_ptr_array_sort (copy, compare_strings);
  g_ptr_array_add (copy, NULL);
  return g_strjoinv (" ", (char **) copy->pdata);
}

/* ------------------------------------------------------------------------
 * A sink with named partitions that records every write, snapshot and
 * close, as "part: repr" lines.
 * ------------------------------------------------------------------------ */

typedef struct
{
  GPtrArray *writes;      /* "part: repr" per item */
  GArray    *batch_lens;  /* guint per write_batch() */
  GPtrArray *closes;      /* part keys */
  guint      snapshots;
  guint      live_parts;
} SinkLog;

#define TEST_TYPE_RECORD_PART (test_record_part_get_type ())
G_DECLARE_FINAL_TYPE (TestRecordPart, test_record_part, TEST, RECORD_PART, FlowSinkPartition)
struct _TestRecordPart
{
  FlowSinkPartition parent_instance;
  char    *key;
  SinkLog *log;
};
G_DEFINE_FINAL_TYPE (TestRecordPart, test_record_part, FLOW_TYPE_SINK_PARTITION)

static gboolean
test_record_part_write_batch (FlowSinkPartition *part, GPtrArray *items, GError **error)
{
  TestRecordPart *self = TEST_RECORD_PART (part);
  guint len = items->len;

  g_array_append_val (self->log->batch_lens, len);
  for (guint i = 0; i < items->len; i++)
    {
      GVariant *item = g_ptr_array_index (items, i);
      g_autofree char *repr = flow_item_repr (item);

      g_assert_false (g_variant_is_floating (item));
      g_ptr_array_add (self->log->writes, g_strdup_printf ("%s: %s", self->key, repr));
    }
  return TRUE;
}

static GVariant *
test_record_part_snapshot (FlowSinkPartition *part, GError **error)
{
  TEST_RECORD_PART (part)->log->snapshots++;
  return NULL;
}

static gboolean
test_record_part_close (FlowSinkPartition *part, GError **error)
{
  TestRecordPart *self = TEST_RECORD_PART (part);

  g_ptr_array_add (self->log->closes, g_strdup (self->key));
  return TRUE;
}

static void
test_record_part_finalize (GObject *object)
{
  TestRecordPart *self = TEST_RECORD_PART (object);

  self->log->live_parts--;
  g_free (self->key);
  G_OBJECT_CLASS (test_record_part_parent_class)->finalize (object);
}

static void
test_record_part_class_init (TestRecordPartClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_record_part_finalize;
  FLOW_SINK_PARTITION_CLASS (klass)->write_batch = test_record_part_write_batch;
  FLOW_SINK_PARTITION_CLASS (klass)->snapshot = test_record_part_snapshot;
  FLOW_SINK_PARTITION_CLASS (klass)->close = test_record_part_close;
}

static void
test_record_part_init (TestRecordPart *self)
{
}

#define TEST_TYPE_RECORD_SINK (test_record_sink_get_type ())
G_DECLARE_FINAL_TYPE (TestRecordSink, test_record_sink, TEST, RECORD_SINK, FlowSink)
struct _TestRecordSink
{
  FlowSink  parent_instance;
  char    **keys;    /* NULL: the default, one partition "0" */
  SinkLog   log;
};
G_DEFINE_FINAL_TYPE (TestRecordSink, test_record_sink, FLOW_TYPE_SINK)

static char **
test_record_sink_list_parts (FlowSink *sink, GError **error)
{
  TestRecordSink *self = TEST_RECORD_SINK (sink);

  if (self->keys == NULL)
    return FLOW_SINK_CLASS (test_record_sink_parent_class)->list_parts (sink, error);
  return g_strdupv (self->keys);
}

static FlowSinkPartition *
test_record_sink_build_part (FlowSink *sink, const char *step_id, const char *key,
                             GVariant *resume_state, GError **error)
{
  TestRecordSink *self = TEST_RECORD_SINK (sink);
  TestRecordPart *part = g_object_new (TEST_TYPE_RECORD_PART, NULL);

  g_assert_null (resume_state);
  part->key = g_strdup (key);
  part->log = &self->log;
  self->log.live_parts++;
  return FLOW_SINK_PARTITION (part);
}

static void
test_record_sink_finalize (GObject *object)
{
  TestRecordSink *self = TEST_RECORD_SINK (object);

  g_strfreev (self->keys);
  g_ptr_array_unref (self->log.writes);
  g_array_unref (self->log.batch_lens);
  g_ptr_array_unref (self->log.closes);
  G_OBJECT_CLASS (test_record_sink_parent_class)->finalize (object);
}

static void
test_record_sink_class_init (TestRecordSinkClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_record_sink_finalize;
  FLOW_SINK_CLASS (klass)->list_parts = test_record_sink_list_parts;
  FLOW_SINK_CLASS (klass)->build_part = test_record_sink_build_part;
}

static void
test_record_sink_init (TestRecordSink *self)
{
  self->log.writes = g_ptr_array_new_with_free_func (g_free);
  self->log.batch_lens = g_array_new (FALSE, FALSE, sizeof (guint));
  self->log.closes = g_ptr_array_new_with_free_func (g_free);
}

static TestRecordSink *
record_sink_new (const char * const *keys)
{
  TestRecordSink *self = g_object_new (TEST_TYPE_RECORD_SINK, NULL);

  self->keys = g_strdupv ((char **) keys);
  return self;
}

static char *
batch_lens (SinkLog *log)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < log->batch_lens->len; i++)
    g_string_append_printf (s, "%s%u", i ? " " : "", g_array_index (log->batch_lens, guint, i));
  return g_string_free (s, FALSE);
}

/* ------------------------------------------------------------------------
 * Custom sources
 * ------------------------------------------------------------------------ */

static void
test_source_two_partitions (FlowHarness *h, gconstpointer data)
{
  static const char * const keys[] = { "left", "right", NULL };
  TestRangeSource *source = flow_harness_track (h, range_source_new (keys, 3, 2));
  FlowStream *s = flow_dataflow_input (h->flow, "inp", FLOW_SOURCE (source));
  g_autofree char *sorted = NULL;
  g_autofree char *builds = NULL;
  g_autofree char *closes = NULL;
  g_auto(GStrv) reprs = NULL;
  GString *left = g_string_new (NULL), *right = g_string_new (NULL);

  flow_stream_output (s, "out", FLOW_SINK (h->sink));
  g_assert_true (flow_test_run (h->flow, NULL));

  sorted = flow_test_sink_repr_sorted (h->sink);
  g_assert_cmpstr (sorted, ==, "['left-0', 'left-1', 'left-2', 'right-0', 'right-1', 'right-2']");
  /* Each partition's items in its own order */
  reprs = flow_test_sink_reprs (h->sink);
  for (guint i = 0; reprs[i] != NULL; i++)
    g_string_append (g_str_has_prefix (reprs[i], "'left") ? left : right, reprs[i]);
  g_assert_cmpstr (left->str, ==, "'left-0''left-1''left-2'");
  g_assert_cmpstr (right->str, ==, "'right-0''right-1''right-2'");
  g_string_free (left, TRUE);
  g_string_free (right, TRUE);

  builds = join_sorted (source->log.builds);
  g_assert_cmpstr (builds, ==, "test.inp/left test.inp/right");
  closes = join_sorted (source->log.closes);
  g_assert_cmpstr (closes, ==, "left right");
  g_assert_cmpuint (source->log.live_parts, ==, 0);
}

static void
test_source_next_awake (FlowHarness *h, gconstpointer data)
{
  static const char * const keys[] = { "p", NULL };
  TestRangeSource *source = flow_harness_track (h, range_source_new (keys, 4, 1));
  GArray *times;
  g_autofree char *repr = NULL;

  /* After each batch the partition asks to be called again 30 ms later */
  source->interval = 30000;
  flow_stream_output (flow_dataflow_input (h->flow, "inp", FLOW_SOURCE (source)), "out",
                      FLOW_SINK (h->sink));
  g_assert_true (flow_test_run (h->flow, NULL));
  repr = flow_test_sink_repr (h->sink);
  g_assert_cmpstr (repr, ==, "['p-0', 'p-1', 'p-2', 'p-3']");

  /* 4 batches and the end: 5 calls, each 30 ms (test clock) after the last */
  times = source->log.call_times;
  g_assert_cmpuint (times->len, ==, 5);
  for (guint i = 1; i < times->len; i++)
    g_assert_cmpint (g_array_index (times, gint64, i) - g_array_index (times, gint64, i - 1), ==, 30000);
}

static void
test_source_built_on_the_run_clock (FlowHarness *h, gconstpointer data)
{
  /* Partitions are built with the run's (test) clock as the thread's: a
   * partition that reads the time when built sees the time of its first
   * next_batch(), not the system's. */
  static const char * const keys[] = { "p", NULL };
  TestRangeSource *source = flow_harness_track (h, range_source_new (keys, 2, 1));

  source->interval = G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC;
  flow_stream_output (flow_dataflow_input (h->flow, "inp", FLOW_SOURCE (source)), "out",
                      FLOW_SINK (h->sink));
  g_assert_true (flow_test_run (h->flow, NULL));
  g_assert_cmpuint (source->log.call_times->len, ==, 3);
  g_assert_cmpint (source->build_time, ==, g_array_index (source->log.call_times, gint64, 0));
  g_assert_cmpint (g_array_index (source->log.call_times, gint64, 1) - source->build_time, ==,
                   G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC);
}

static GVariant *
fail_on_left_1 (GVariant *item, gpointer data, GError **error)
{
  if (g_str_equal (g_variant_get_string (item, NULL), "left-1"))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "no");
      return NULL;
    }
  return g_variant_ref (item);
}

static void
test_close_once_on_failure (FlowHarness *h, gconstpointer data)
{
  /* A run that fails still closes every partition, once. */
  static const char * const keys[] = { "left", "right", NULL };
  static const char * const sink_keys[] = { "a", "b", NULL };
  TestRangeSource *source = flow_harness_track (h, range_source_new (keys, 3, 1));
  TestRecordSink *sink = flow_harness_track (h, record_sink_new (sink_keys));
  FlowStream *s = flow_dataflow_input (h->flow, "inp", FLOW_SOURCE (source));
  g_autoptr(GError) error = NULL;
  g_autofree char *source_closes = NULL;
  g_autofree char *sink_closes = NULL;

  flow_stream_output (flow_stream_map (s, "m", fail_on_left_1, NULL, NULL), "out", FLOW_SINK (sink));
  g_assert_false (flow_test_run (h->flow, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  source_closes = join_sorted (source->log.closes);
  g_assert_cmpstr (source_closes, ==, "left right");
  sink_closes = join_sorted (sink->log.closes);
  g_assert_cmpstr (sink_closes, ==, "a b");
  g_assert_cmpuint (source->log.live_parts, ==, 0);
  g_assert_cmpuint (sink->log.live_parts, ==, 0);
}

/* ------------------------------------------------------------------------
 * Custom sinks
 * ------------------------------------------------------------------------ */

static char *
key_of_string (GVariant *item, gpointer data, GError **error)
{
  /* "k7-3" -> "k7" */
  const char *s = g_variant_get_string (item, NULL);

  return g_strndup (s, strcspn (s, "-"));
}

static GVariant *
make_keyed_strings (gpointer data, GError **error)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("as"));
  for (guint k = 0; k < 20; k++)
    for (guint j = 0; j < 3; j++)
      {
        g_autofree char *item = g_strdup_printf ("k%u-%u", k, j);
        g_variant_builder_add (&builder, "s", item);
      }
  return g_variant_builder_end (&builder);
}

/* Maps each item key to the sink partition it was written to; fails the
 * test if a key went to two partitions. */
static GHashTable *
partition_of_keys (SinkLog *log)
{
  GHashTable *where = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  for (guint i = 0; i < log->writes->len; i++)
    {
      /* "a: ('k7', 'k7-3')" */
      const char *line = g_ptr_array_index (log->writes, i);
      const char *colon = strchr (line, ':');
      const char *quote = strchr (line, '\'');
      g_autofree char *part = g_strndup (line, colon - line);
      char *key = g_strndup (quote + 1, strcspn (quote + 1, "'"));
      const char *seen = g_hash_table_lookup (where, key);

      g_assert_true (g_str_has_prefix (colon, ": ('k"));
      if (seen != NULL)
        {
          g_assert_cmpstr (seen, ==, part);
          g_free (key);
        }
      else
        g_hash_table_insert (where, key, g_strdup (part));
    }
  return where;
}

static void
run_keyed_into (FlowHarness    *h,
                FlowDataflow   *flow,
                TestRecordSink *sink)
{
  FlowTestingSource *source;
  FlowStream *s;
  g_autoptr(GVariant) items = make_keyed_strings (NULL, NULL);

  source = flow_harness_track (h, flow_testing_source_new (g_steal_pointer (&items)));
  flow_testing_source_set_batch_size (source, 7);
  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  s = flow_stream_key_on (s, "key", key_of_string, NULL, NULL);
  flow_stream_output (s, "out", FLOW_SINK (sink));
  g_assert_true (flow_test_run (flow, NULL));
}

static void
test_sink_routed_by_key (FlowHarness *h, gconstpointer data)
{
  static const char * const keys[] = { "a", "b", NULL };
  TestRecordSink *sink = flow_harness_track (h, record_sink_new (keys));
  TestRecordSink *sink2 = flow_harness_track (h, record_sink_new (keys));
  FlowDataflow *flow2 = flow_dataflow_new ("test");
  g_autoptr(GHashTable) where = NULL;
  g_autoptr(GHashTable) where_again = NULL;
  g_autoptr(GHashTable) where_other = NULL;
  g_autofree char *closes = NULL;
  GHashTableIter iter;
  gpointer key, part;
  guint in_a = 0;

  run_keyed_into (h, h->flow, sink);
  g_assert_cmpuint (sink->log.writes->len, ==, 60);
  where = partition_of_keys (&sink->log);
  g_assert_cmpuint (g_hash_table_size (where), ==, 20);

  /* Both partitions get keys. */
  g_hash_table_iter_init (&iter, where);
  while (g_hash_table_iter_next (&iter, &key, &part))
    in_a += g_str_equal (part, "a");
  g_assert_cmpuint (in_a, >, 0);
  g_assert_cmpuint (in_a, <, 20);

  /* close() once per partition */
  closes = join_sorted (sink->log.closes);
  g_assert_cmpstr (closes, ==, "a b");
  g_assert_cmpuint (sink->log.live_parts, ==, 0);
  g_assert_cmpuint (sink->log.snapshots, ==, 2);

  /* A key goes to the same partition run after run, and in another
   * dataflow with the same partitions. */
  g_assert_true (flow_test_run (h->flow, NULL));
  g_assert_cmpuint (sink->log.writes->len, ==, 120);
  where_again = partition_of_keys (&sink->log);
  g_assert_cmpuint (g_hash_table_size (where_again), ==, 20);

  run_keyed_into (h, flow2, sink2);
  where_other = partition_of_keys (&sink2->log);
  g_hash_table_iter_init (&iter, where);
  while (g_hash_table_iter_next (&iter, &key, &part))
    g_assert_cmpstr (g_hash_table_lookup (where_other, key), ==, part);

  g_assert_finalize_object (flow2);
}

static void
test_sink_default_partition (FlowHarness *h, gconstpointer data)
{
  /* A sink that does not override list_parts has one partition, "0",
   * which gets every item, keyed or not, in order. */
  TestRecordSink *sink = flow_harness_track (h, record_sink_new (NULL));
  FlowStream *s = flow_harness_input (h, "[<int64 1>, <('k', <'v'>)>, <'x'>]");
  g_autofree char *writes = NULL;

  flow_stream_output (s, "out", FLOW_SINK (sink));
  g_assert_true (flow_test_run (h->flow, NULL));
  g_ptr_array_add (sink->log.writes, NULL);
  writes = g_strjoinv ("|", (char **) sink->log.writes->pdata);
  g_ptr_array_set_size (sink->log.writes, sink->log.writes->len - 1);
  g_assert_cmpstr (writes, ==, "0: 1|0: ('k', 'v')|0: 'x'");
}

/* ------------------------------------------------------------------------
 * Ownership of what connectors return
 *
 * next_batch() and snapshot() return a full reference, which may be a
 * normal (non-floating) one. libflow must take it without adding one.
 * ------------------------------------------------------------------------ */

static guint tracked_alive;

static void
tracked_free (gpointer data)
{
  tracked_alive--;
  g_free (data);
}

/* A new normal reference to a variant of @type over a copy of @data */
static GVariant *
tracked_variant (const GVariantType *type,
                 gconstpointer       data,
                 gsize               size)
{
  gpointer copy = g_memdup2 (data, size);
  g_autoptr(GBytes) bytes = g_bytes_new_with_free_func (copy, size, tracked_free, copy);

  tracked_alive++;
  return g_variant_ref_sink (g_variant_new_from_bytes (type, bytes, TRUE));
}

#define TEST_TYPE_OWNED_PART (test_owned_part_get_type ())
G_DECLARE_FINAL_TYPE (TestOwnedPart, test_owned_part, TEST, OWNED_PART, FlowSourcePartition)
struct _TestOwnedPart
{
  FlowSourcePartition parent_instance;
  gint64 next;
};
G_DEFINE_FINAL_TYPE (TestOwnedPart, test_owned_part, FLOW_TYPE_SOURCE_PARTITION)

static GVariant *
test_owned_part_next_batch (FlowSourcePartition *part, GError **error)
{
  TestOwnedPart *self = TEST_OWNED_PART (part);
  gint64 batch[2];

  if (self->next >= 4)
    return NULL;
  batch[0] = self->next++;
  batch[1] = self->next++;
  return tracked_variant (G_VARIANT_TYPE ("ax"), batch, sizeof batch);
}

static void
test_owned_part_class_init (TestOwnedPartClass *klass)
{
  FLOW_SOURCE_PARTITION_CLASS (klass)->next_batch = test_owned_part_next_batch;
}

static void
test_owned_part_init (TestOwnedPart *self)
{
}

#define TEST_TYPE_OWNED_SOURCE (test_owned_source_get_type ())
G_DECLARE_FINAL_TYPE (TestOwnedSource, test_owned_source, TEST, OWNED_SOURCE, FlowSource)
struct _TestOwnedSource
{
  FlowSource parent_instance;
};
G_DEFINE_FINAL_TYPE (TestOwnedSource, test_owned_source, FLOW_TYPE_SOURCE)

static FlowSourcePartition *
test_owned_source_build_part (FlowSource *source, const char *step_id, const char *key,
                              GVariant *resume_state, GError **error)
{
  return g_object_new (TEST_TYPE_OWNED_PART, NULL);
}

static void
test_owned_source_class_init (TestOwnedSourceClass *klass)
{
  FLOW_SOURCE_CLASS (klass)->build_part = test_owned_source_build_part;
}

static void
test_owned_source_init (TestOwnedSource *self)
{
}

#define TEST_TYPE_OWNED_SINK_PART (test_owned_sink_part_get_type ())
G_DECLARE_FINAL_TYPE (TestOwnedSinkPart, test_owned_sink_part, TEST, OWNED_SINK_PART, FlowSinkPartition)
struct _TestOwnedSinkPart
{
  FlowSinkPartition parent_instance;
};
G_DEFINE_FINAL_TYPE (TestOwnedSinkPart, test_owned_sink_part, FLOW_TYPE_SINK_PARTITION)

static gboolean
test_owned_sink_part_write_batch (FlowSinkPartition *part, GPtrArray *items, GError **error)
{
  return TRUE;
}

static GVariant *
test_owned_sink_part_snapshot (FlowSinkPartition *part, GError **error)
{
  gint64 offset = 42;

  return tracked_variant (G_VARIANT_TYPE_INT64, &offset, sizeof offset);
}

static void
test_owned_sink_part_class_init (TestOwnedSinkPartClass *klass)
{
  FLOW_SINK_PARTITION_CLASS (klass)->write_batch = test_owned_sink_part_write_batch;
  FLOW_SINK_PARTITION_CLASS (klass)->snapshot = test_owned_sink_part_snapshot;
}

static void
test_owned_sink_part_init (TestOwnedSinkPart *self)
{
}

#define TEST_TYPE_OWNED_SINK (test_owned_sink_get_type ())
G_DECLARE_FINAL_TYPE (TestOwnedSink, test_owned_sink, TEST, OWNED_SINK, FlowSink)
struct _TestOwnedSink
{
  FlowSink parent_instance;
};
G_DEFINE_FINAL_TYPE (TestOwnedSink, test_owned_sink, FLOW_TYPE_SINK)

static FlowSinkPartition *
test_owned_sink_build_part (FlowSink *sink, const char *step_id, const char *key,
                            GVariant *resume_state, GError **error)
{
  return g_object_new (TEST_TYPE_OWNED_SINK_PART, NULL);
}

static void
test_owned_sink_class_init (TestOwnedSinkClass *klass)
{
  FLOW_SINK_CLASS (klass)->build_part = test_owned_sink_build_part;
}

static void
test_owned_sink_init (TestOwnedSink *self)
{
}

static void
test_next_batch_transfer_full (FlowHarness *h, gconstpointer data)
{
  FlowSource *source = flow_harness_track (h, g_object_new (TEST_TYPE_OWNED_SOURCE, NULL));
  g_autofree char *repr = NULL;

  tracked_alive = 0;
  flow_stream_output (flow_dataflow_input (h->flow, "inp", source), "out", FLOW_SINK (h->sink));
  g_assert_true (flow_test_run (h->flow, NULL));
  repr = flow_test_sink_repr (h->sink);
  g_assert_cmpstr (repr, ==, "[0, 1, 2, 3]");
  flow_testing_sink_clear (h->sink);
  /* Both batches were released once their items were. */
  g_assert_cmpuint (tracked_alive, ==, 0);
}

static void
test_sink_snapshot_transfer_full (FlowHarness *h, gconstpointer data)
{
  FlowSink *sink = flow_harness_track (h, g_object_new (TEST_TYPE_OWNED_SINK, NULL));

  tracked_alive = 0;
  flow_stream_output (flow_harness_input (h, "@ax [1, 2]"), "out", sink);
  g_assert_true (flow_test_run (h->flow, NULL));
  /* Without recovery the snapshot (taken at the end of each epoch to
   * flush the sink) is dropped. */
  g_assert_cmpuint (tracked_alive, ==, 0);
}

/* ------------------------------------------------------------------------
 * FlowTestingSource
 * ------------------------------------------------------------------------ */

static void
test_testing_source_eof (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "@ax [1, 2, 3, 4]");
  g_autofree char *first = NULL;
  g_autofree char *both = NULL;

  flow_testing_source_add_marker (h->source, 2, FLOW_TESTING_MARKER_EOF, 0);
  flow_stream_output (s, "out", FLOW_SINK (h->sink));
  g_assert_true (flow_test_run (h->flow, NULL));
  first = flow_test_sink_repr (h->sink);
  g_assert_cmpstr (first, ==, "[1, 2]");
  /* Without recovery, a new run starts from the beginning again. */
  g_assert_true (flow_test_run (h->flow, NULL));
  both = flow_test_sink_repr (h->sink);
  g_assert_cmpstr (both, ==, "[1, 2, 1, 2]");
}

static void
test_testing_source_eof_first (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "@ax [1]");
  g_autofree char *repr = NULL;

  flow_testing_source_add_marker (h->source, 0, FLOW_TESTING_MARKER_EOF, 0);
  flow_stream_output (s, "out", FLOW_SINK (h->sink));
  g_assert_true (flow_test_run (h->flow, NULL));
  repr = flow_test_sink_repr (h->sink);
  g_assert_cmpstr (repr, ==, "[]");
}

static GVariant *
timestamp (GVariant *item, gpointer data, GError **error)
{
  gint64 now = flow_clock_get_monotonic (flow_test_clock ());

  g_array_append_val ((GArray *) data, now);
  return g_variant_ref (item);
}

static void
test_testing_source_pause (FlowHarness *h, gconstpointer data)
{
  g_autoptr(GArray) times = g_array_new (FALSE, FALSE, sizeof (gint64));
  FlowStream *s = flow_harness_input (h, "@ax [1, 2, 3]");
  g_autofree char *repr = NULL;

  flow_testing_source_add_marker (h->source, 1, FLOW_TESTING_MARKER_PAUSE, 0.2);
  flow_testing_source_add_marker (h->source, 1, FLOW_TESTING_MARKER_PAUSE, 0.1);
  flow_stream_output (flow_stream_map (s, "t", timestamp, times, NULL), "out", FLOW_SINK (h->sink));
  g_assert_true (flow_test_run (h->flow, NULL));
  repr = flow_test_sink_repr (h->sink);
  g_assert_cmpstr (repr, ==, "[1, 2, 3]");

  /* Two pauses in a row before 2, none before 3 */
  g_assert_cmpuint (times->len, ==, 3);
  g_assert_cmpint (g_array_index (times, gint64, 1) - g_array_index (times, gint64, 0), ==, 300000);
  g_assert_cmpint (g_array_index (times, gint64, 2) - g_array_index (times, gint64, 1), ==, 0);
}

static void
test_testing_source_abort (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "@ax [1, 2, 3]");
  g_autoptr(GError) error = NULL;
  g_autofree char *first = NULL;
  g_autofree char *all = NULL;

  flow_testing_source_add_marker (h->source, 2, FLOW_TESTING_MARKER_ABORT, 0);
  flow_stream_output (s, "out", FLOW_SINK (h->sink));
  g_assert_false (flow_test_run (h->flow, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_ABORTED);
  g_assert_cmpstr (error->message, ==,
                   "input step 'test.inp': the execution was aborted by an ABORT marker "
                   "of a testing source, before item 2");
  first = flow_test_sink_repr (h->sink);
  g_assert_cmpstr (first, ==, "[1, 2]");

  /* The abort triggers once per source object: later runs go past it. */
  g_assert_true (flow_test_run (h->flow, NULL));
  g_assert_true (flow_test_run (h->flow, NULL));
  all = flow_test_sink_repr (h->sink);
  g_assert_cmpstr (all, ==, "[1, 2, 1, 2, 3, 1, 2, 3]");
}

static void
test_testing_source_abort_in_batch (FlowHarness *h, gconstpointer data)
{
  /* With bigger batches, what comes before the marker is delivered first. */
  TestRecordSink *sink = flow_harness_track (h, record_sink_new (NULL));
  FlowStream *s = flow_harness_input (h, "@ax [1, 2, 3, 4]");
  g_autoptr(GError) error = NULL;
  g_autofree char *lens = NULL;

  flow_testing_source_set_batch_size (h->source, 3);
  flow_testing_source_add_marker (h->source, 2, FLOW_TESTING_MARKER_ABORT, 0);
  flow_stream_output (s, "out", FLOW_SINK (sink));
  g_assert_false (flow_test_run (h->flow, &error));
  g_assert_error (error, FLOW_ERROR, FLOW_ERROR_ABORTED);
  lens = batch_lens (&sink->log);
  g_assert_cmpstr (lens, ==, "2");
  g_assert_cmpuint (sink->log.writes->len, ==, 2);
  /* Aborting is like a crash, but partitions are still closed. */
  g_assert_cmpuint (sink->log.closes->len, ==, 1);
}

static void
count_notify (GObject *object, GParamSpec *pspec, gpointer data)
{
  (*(guint *) data)++;
}

static void
test_testing_source_batch_size (FlowHarness *h, gconstpointer data)
{
  TestRecordSink *sink = flow_harness_track (h, record_sink_new (NULL));
  FlowStream *s = flow_harness_input (h, "@ax [1, 2, 3, 4, 5, 6, 7]");
  g_autofree char *lens = NULL;
  guint notified = 0;
  guint batch_size = 0;

  g_assert_cmpuint (flow_testing_source_get_batch_size (h->source), ==, 1);
  g_signal_connect (h->source, "notify::batch-size", G_CALLBACK (count_notify), &notified);
  flow_testing_source_set_batch_size (h->source, 3);
  flow_testing_source_set_batch_size (h->source, 3);
  g_assert_cmpuint (notified, ==, 1);
  g_object_get (h->source, "batch-size", &batch_size, NULL);
  g_assert_cmpuint (batch_size, ==, 3);

  g_test_expect_message ("Flow", G_LOG_LEVEL_CRITICAL, "*batch_size > 0*");
  flow_testing_source_set_batch_size (h->source, 0);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (flow_testing_source_get_batch_size (h->source), ==, 3);

  flow_stream_output (s, "out", FLOW_SINK (sink));
  g_assert_true (flow_test_run (h->flow, NULL));
  lens = batch_lens (&sink->log);
  g_assert_cmpstr (lens, ==, "3 3 1");
}

static void
test_testing_source_batch_pause (FlowHarness *h, gconstpointer data)
{
  /* A marker ends the batch it falls in. */
  TestRecordSink *sink = flow_harness_track (h, record_sink_new (NULL));
  FlowStream *s = flow_harness_input (h, "@ax [1, 2, 3, 4, 5]");
  g_autofree char *lens = NULL;

  flow_testing_source_set_batch_size (h->source, 10);
  flow_testing_source_add_marker (h->source, 2, FLOW_TESTING_MARKER_PAUSE, 0.01);
  flow_stream_output (s, "out", FLOW_SINK (sink));
  g_assert_true (flow_test_run (h->flow, NULL));
  lens = batch_lens (&sink->log);
  g_assert_cmpstr (lens, ==, "2 3");
}

static void
test_testing_source_items (void)
{
  g_autoptr(GVariant) given = flow_test_parse ("@ax [4, 5]");
  FlowTestingSource *source = flow_testing_source_new (given);
  GVariant *items = NULL;

  g_assert_true (flow_testing_source_get_items (source) == given);
  g_object_get (source, "items", &items, NULL);
  g_assert_true (g_variant_equal (items, given));
  g_variant_unref (items);

  g_test_expect_message ("Flow", G_LOG_LEVEL_CRITICAL, "*position <= self->n_items*");
  flow_testing_source_add_marker (source, 3, FLOW_TESTING_MARKER_EOF, 0);
  g_test_assert_expected_messages ();

  g_assert_finalize_object (source);
}

/* ------------------------------------------------------------------------
 * FlowTestingSink
 * ------------------------------------------------------------------------ */

static void
test_testing_sink (FlowHarness *h, gconstpointer data)
{
  FlowStream *s = flow_harness_input (h, "[<int64 1>, <('k', <'v'>)>]");
  g_autoptr(GVariant) items = NULL;
  g_autoptr(GVariant) second = NULL;

  flow_stream_output (s, "out", FLOW_SINK (h->sink));
  g_assert_cmpuint (flow_testing_sink_get_n_items (h->sink), ==, 0);
  g_assert_true (flow_test_run (h->flow, NULL));
  g_assert_cmpuint (flow_testing_sink_get_n_items (h->sink), ==, 2);
  items = flow_testing_sink_get_items (h->sink);
  g_assert_cmpstr (g_variant_get_type_string (items), ==, "av");
  g_assert_false (g_variant_is_floating (items));
  second = flow_testing_sink_get_item (h->sink, 1);
  g_assert_cmpstr (g_variant_get_type_string (second), ==, "(sv)");

  g_test_expect_message ("Flow", G_LOG_LEVEL_CRITICAL, "*");
  g_assert_null (flow_testing_sink_get_item (h->sink, 2));
  g_test_assert_expected_messages ();

  flow_testing_sink_clear (h->sink);
  g_assert_cmpuint (flow_testing_sink_get_n_items (h->sink), ==, 0);
}

/* ------------------------------------------------------------------------
 * FlowStdOutSink
 * ------------------------------------------------------------------------ */

static char *
key_all (GVariant *item, gpointer data, GError **error)
{
  return g_strdup ("ALL");
}

static GVariant *
zero (gpointer data, GError **error)
{
  return g_variant_new_int64 (0);
}

static GVariant *
running_sum (GVariant *state, GVariant *value, GVariant **emit, gpointer data, GError **error)
{
  gint64 sum = g_variant_get_int64 (state) + g_variant_get_int64 (value);

  *emit = g_variant_new_int64 (sum);
  return g_variant_new_int64 (sum);
}

static void
test_std_out_sink_seed (void)
{
  if (g_test_subprocess ())
    {
      static const gint64 inp[] = { 0, 1, 2 };
      FlowDataflow *flow = flow_dataflow_new ("recovery");
      FlowTestingSource *source = flow_test_source_new_int64 (inp, G_N_ELEMENTS (inp));
      FlowStdOutSink *sink = flow_std_out_sink_new ();
      FlowStream *s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));

      s = flow_stream_key_on (s, "key_stream", key_all, NULL, NULL);
      s = flow_stream_stateful_map (s, "running_count", zero, NULL, NULL, running_sum, NULL, NULL);
      flow_stream_output (s, "out", FLOW_SINK (sink));
      g_assert_true (flow_test_run (flow, NULL));
      g_assert_finalize_object (flow);
      g_assert_finalize_object (source);
      g_assert_finalize_object (sink);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stdout ("('ALL', 0)\n('ALL', 1)\n('ALL', 3)\n");
  g_test_trap_assert_stderr ("");
}

static void
test_std_out_sink_formats (void)
{
  if (g_test_subprocess ())
    {
      FlowDataflow *flow = flow_dataflow_new ("fmt");
      FlowTestingSource *source =
        flow_test_source_new_parse ("[<int64 1>, <2.5>, <1e16>, <-0.0>, <\"it's\">, <'a\\nb'>, "
                                    "<b'raw'>, <@mv nothing>, <true>, <[<int64 1>, <'x'>]>, "
                                    "<{'k': <int64 2>}>, <(int64 1,)>, <('ALL', <int64 0>)>, "
                                    "<('python:pickle', 'Point(1, 2)', b'')>]");
      FlowStdOutSink *sink = flow_std_out_sink_new ();

      flow_testing_source_set_batch_size (source, 4);
      flow_stream_output (flow_dataflow_input (flow, "inp", FLOW_SOURCE (source)), "out", FLOW_SINK (sink));
      g_assert_true (flow_test_run (flow, NULL));
      g_assert_finalize_object (flow);
      g_assert_finalize_object (source);
      g_assert_finalize_object (sink);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stdout ("1\n2.5\n1e+16\n-0.0\n\"it's\"\n'a\\nb'\n"
                             "b'raw\\x00'\nNone\nTrue\n[1, 'x']\n"
                             "{'k': 2}\n(1,)\n('ALL', 0)\n"
                             "Point(1, 2)\n");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  /* A failing check marks its test failed and the other tests still run. */
  g_test_set_nonfatal_assertions ();

  ADD ("/connectors/source/two-partitions", test_source_two_partitions);
  ADD ("/connectors/source/next-awake", test_source_next_awake);
  ADD ("/connectors/source/built-on-the-run-clock", test_source_built_on_the_run_clock);
  ADD ("/connectors/close-once-on-failure", test_close_once_on_failure);
  ADD ("/connectors/sink/routed-by-key", test_sink_routed_by_key);
  ADD ("/connectors/sink/default-partition", test_sink_default_partition);
  ADD ("/connectors/source/next-batch-transfer-full", test_next_batch_transfer_full);
  ADD ("/connectors/sink/snapshot-transfer-full", test_sink_snapshot_transfer_full);
  ADD ("/connectors/testing-source/eof", test_testing_source_eof);
  ADD ("/connectors/testing-source/eof-first", test_testing_source_eof_first);
  ADD ("/connectors/testing-source/pause", test_testing_source_pause);
  ADD ("/connectors/testing-source/abort", test_testing_source_abort);
  ADD ("/connectors/testing-source/abort-in-batch", test_testing_source_abort_in_batch);
  ADD ("/connectors/testing-source/batch-size", test_testing_source_batch_size);
  ADD ("/connectors/testing-source/batch-pause", test_testing_source_batch_pause);
  g_test_add_func ("/connectors/testing-source/items", test_testing_source_items);
  ADD ("/connectors/testing-sink", test_testing_sink);
  g_test_add_func ("/connectors/std-out-sink/seed", test_std_out_sink_seed);
  g_test_add_func ("/connectors/std-out-sink/formats", test_std_out_sink_formats);

  return g_test_run ();
}
