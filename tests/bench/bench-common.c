/* bench-common.c: what the C benchmarks share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <glib/gstdio.h>
#include <time.h>

#include "bench-common.h"

double
bench_seconds_since (gint64 start)
{
  return (g_get_monotonic_time () - start) / 1e6;
}

double
bench_cpu_seconds (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

void
bench_keep_best (double *best,
                 double  seconds)
{
  *best = MIN (*best, seconds);
}

char *
bench_tmp_dir_new (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("flow-bench-XXXXXX", &error);

  if (dir == NULL)
    g_error ("making a temporary directory: %s", error->message);
  return dir;
}

char *
bench_recovery_dir_new (guint partitions)
{
  g_autoptr(GError) error = NULL;
  char *dir = bench_tmp_dir_new ();

  if (!flow_recovery_init_dir (dir, partitions, &error))
    g_error ("making the recovery directory %s: %s", dir, error->message);
  return dir;
}

void
bench_remove_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        bench_remove_dir (path);
      else
        g_unlink (path);
    }
  if (g_rmdir (dir) != 0)
    g_warning ("could not remove %s: %s", dir, g_strerror (errno));
}

/* ---- the counting sink ---- */

G_DEFINE_FINAL_TYPE (BenchCountSink, bench_count_sink, FLOW_TYPE_SINK)

#define BENCH_TYPE_COUNT_SINK_PART (bench_count_sink_part_get_type ())
G_DECLARE_FINAL_TYPE (BenchCountSinkPart, bench_count_sink_part, BENCH, COUNT_SINK_PART, FlowSinkPartition)
struct _BenchCountSinkPart { FlowSinkPartition parent; BenchCountSink *sink; };
G_DEFINE_FINAL_TYPE (BenchCountSinkPart, bench_count_sink_part, FLOW_TYPE_SINK_PARTITION)

static gboolean
bench_count_sink_part_write_batch (FlowSinkPartition *part, GPtrArray *items, GError **error)
{
  BenchCountSink *sink = BENCH_COUNT_SINK_PART (part)->sink;

  sink->count += items->len;
  if (sink->count_bytes)
    for (guint i = 0; i < items->len; i++)
      sink->bytes += g_variant_get_size (g_ptr_array_index (items, i));
  return TRUE;
}

static void bench_count_sink_part_class_init (BenchCountSinkPartClass *k)
{
  FLOW_SINK_PARTITION_CLASS (k)->write_batch = bench_count_sink_part_write_batch;
}
static void bench_count_sink_part_init (BenchCountSinkPart *self) {}

static FlowSinkPartition *
bench_count_sink_build_part (FlowSink *sink, const char *step_id, const char *key,
                             GVariant *resume, GError **error)
{
  BenchCountSinkPart *part = g_object_new (BENCH_TYPE_COUNT_SINK_PART, NULL);

  part->sink = BENCH_COUNT_SINK (sink);
  return FLOW_SINK_PARTITION (part);
}

static void bench_count_sink_class_init (BenchCountSinkClass *k)
{
  FLOW_SINK_CLASS (k)->build_part = bench_count_sink_build_part;
}
static void bench_count_sink_init (BenchCountSink *self) {}

BenchCountSink *
bench_count_sink_new (gboolean count_bytes)
{
  BenchCountSink *self = g_object_new (BENCH_TYPE_COUNT_SINK, NULL);

  self->count_bytes = count_bytes;
  return self;
}
