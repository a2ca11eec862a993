/* flow-testing-source.c: a source over an array of items, for tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "flow-private.h"
#include "flow-clock-private.h"

/**
 * FlowTestingSource:
 *
 * A source that emits the elements of an array #GVariant, in one
 * partition, [property@Flow.TestingSource:batch-size] items at a time.
 * Elements of an `av` array are unboxed, so `av` holds items of mixed types.
 *
 * Markers placed between items with [method@Flow.TestingSource.add_marker]
 * end the input (%FLOW_TESTING_MARKER_EOF), abort the execution as if it
 * crashed (%FLOW_TESTING_MARKER_ABORT) or pause the partition
 * (%FLOW_TESTING_MARKER_PAUSE), as Bytewax's markers do.
 *
 * It resumes: its snapshot is the position reached plus a fingerprint of
 * everything consumed before it. When a run resumes and the items given now
 * start with the same consumed prefix (the same input, or the same input
 * grown), it skips that prefix; when they differ, they are new data and it
 * starts from their beginning. So the seed tutorial's second run, with
 * `[3, 4]` instead of `[0, 1, 2]`, processes 3 and 4 on top of the restored
 * state, while `[0, 1, 2, EOF, 3, 4]` run again continues after the EOF.
 */

typedef struct
{
  guint             position;   /* before which item */
  FlowTestingMarker marker;
  double            seconds;
  gboolean          triggered;  /* aborts trigger once per source object */
} Marker;

struct _FlowTestingSource
{
  FlowSource  parent_instance;

  GVariant   *items;
  gsize       n_items;
  gboolean    boxed;        /* `av`: unbox elements */
  guint       batch_size;
  GArray     *markers;      /* Marker, sorted by position (stable) */
};

enum {
  PROP_0,
  PROP_ITEMS,
  PROP_BATCH_SIZE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (FlowTestingSource, flow_testing_source, FLOW_TYPE_SOURCE)

/* An entry is an item (>= 0) or a marker (-1 - marker index). */
typedef gssize Entry;

#define FLOW_TYPE_TESTING_SOURCE_PARTITION (flow_testing_source_partition_get_type ())
G_DECLARE_FINAL_TYPE (FlowTestingSourcePartition, flow_testing_source_partition, FLOW, TESTING_SOURCE_PARTITION, FlowSourcePartition)

struct _FlowTestingSourcePartition
{
  FlowSourcePartition  parent_instance;

  FlowTestingSource   *source;
  GArray              *entries;      /* Entry */
  guint                position;     /* next entry */
  guint64              fingerprint;  /* of entries [0, fp_position) */
  guint                fp_position;
  gint64               awake;
  gboolean             eof;
};

G_DEFINE_FINAL_TYPE (FlowTestingSourcePartition, flow_testing_source_partition, FLOW_TYPE_SOURCE_PARTITION)

static guint64
hash_entry (FlowTestingSource *source,
            guint64            h,
            Entry              entry)
{
  if (entry >= 0)
    {
      g_autoptr(GVariant) item = g_variant_get_child_value (source->items, entry);
      g_autoptr(GVariant) normal = g_variant_get_normal_form (item);
      const char *type;

      /* Little-endian, like the snapshots: the same input has the same
       * fingerprint on every machine. */
      if (G_BYTE_ORDER == G_BIG_ENDIAN)
        {
          GVariant *swapped = g_variant_byteswap (normal);
          g_variant_unref (normal);
          normal = swapped;
        }
      type = g_variant_get_type_string (normal);

      h = flow_hash_string (h, type);
      return flow_hash_bytes (h, g_variant_get_data (normal), g_variant_get_size (normal));
    }
  else
    {
      const Marker *m = &g_array_index (source->markers, Marker, -1 - entry);
      guint32 tag = 0xF10F0000u | m->marker;
      return flow_hash_bytes (h, &tag, sizeof tag);
    }
}

static void
advance_fingerprint (FlowTestingSourcePartition *self,
                     guint                       upto)
{
  for (; self->fp_position < upto; self->fp_position++)
    self->fingerprint = hash_entry (self->source, self->fingerprint,
                                    g_array_index (self->entries, Entry, self->fp_position));
}

static gboolean
testing_partition_fast_next (FlowSourcePartition  *part,
                             FlowBatch            *out,
                             gboolean             *eof,
                             GError              **error)
{
  FlowTestingSourcePartition *self = FLOW_TESTING_SOURCE_PARTITION (part);
  FlowTestingSource *source = self->source;
  guint emitted = 0;

  *eof = FALSE;
  self->awake = 0;

  while (emitted < source->batch_size)
    {
      Entry entry;

      if (self->position >= self->entries->len)
        {
          *eof = TRUE;
          self->eof = TRUE;
          return TRUE;
        }

      entry = g_array_index (self->entries, Entry, self->position);
      if (entry >= 0)
        {
          GVariant *item = g_variant_get_child_value (source->items, entry);
          if (source->boxed)
            item = flow_variant_unbox (item);
          flow_batch_push_take (out, NULL, item);
          emitted++;
          self->position++;
          continue;
        }

      {
        Marker *m = &g_array_index (source->markers, Marker, -1 - entry);

        switch (m->marker)
          {
          case FLOW_TESTING_MARKER_EOF:
            self->position++;
            *eof = TRUE;
            self->eof = TRUE;
            return TRUE;

          case FLOW_TESTING_MARKER_PAUSE:
            self->position++;
            self->awake = flow_clock_get_monotonic (flow_clock_get_thread_default ()) + (gint64) (m->seconds * G_USEC_PER_SEC);
            return TRUE;

          case FLOW_TESTING_MARKER_ABORT:
            if (m->triggered)
              {
                self->position++;
                continue;
              }
            if (emitted > 0)
              return TRUE;  /* deliver what came before, abort next time */
            m->triggered = TRUE;
            g_set_error (error, FLOW_ERROR, FLOW_ERROR_ABORTED,
                         "the execution was aborted by an ABORT marker of a testing source, "
                         "before item %d",
                         m->position);
            return FALSE;

          default:
            g_assert_not_reached ();
          }
      }
    }

  return TRUE;
}

static GVariant *
flow_testing_source_partition_next_batch (FlowSourcePartition  *part,
                                          GError              **error)
{
  FlowBatch batch;
  gboolean eof;
  GVariantBuilder builder;

  if (FLOW_TESTING_SOURCE_PARTITION (part)->eof)
    return NULL;

  flow_batch_init (&batch);
  if (!testing_partition_fast_next (part, &batch, &eof, error))
    {
      flow_batch_destroy (&batch);
      return NULL;
    }

  if (eof && batch.len == 0)
    {
      flow_batch_destroy (&batch);
      return NULL;
    }

  /* At EOF with items left, return them now; the next call returns NULL. */
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("av"));
  for (guint i = 0; i < batch.len; i++)
    g_variant_builder_add (&builder, "v", batch.items[i].value);
  flow_batch_destroy (&batch);
  return g_variant_ref_sink (g_variant_builder_end (&builder));
}

static gint64
flow_testing_source_partition_next_awake (FlowSourcePartition *part)
{
  return FLOW_TESTING_SOURCE_PARTITION (part)->awake;
}

static GVariant *
flow_testing_source_partition_snapshot (FlowSourcePartition  *part,
                                        GError              **error)
{
  FlowTestingSourcePartition *self = FLOW_TESTING_SOURCE_PARTITION (part);

  advance_fingerprint (self, self->position);
  return g_variant_ref_sink (g_variant_new ("(tt)", (guint64) self->position, self->fingerprint));
}

static void
flow_testing_source_partition_finalize (GObject *object)
{
  FlowTestingSourcePartition *self = FLOW_TESTING_SOURCE_PARTITION (object);

  g_clear_pointer (&self->entries, g_array_unref);
  g_clear_object (&self->source);

  G_OBJECT_CLASS (flow_testing_source_partition_parent_class)->finalize (object);
}

static void
flow_testing_source_partition_class_init (FlowTestingSourcePartitionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  FlowSourcePartitionClass *part_class = FLOW_SOURCE_PARTITION_CLASS (klass);

  object_class->finalize = flow_testing_source_partition_finalize;
  part_class->next_batch = flow_testing_source_partition_next_batch;
  part_class->next_awake = flow_testing_source_partition_next_awake;
  part_class->snapshot = flow_testing_source_partition_snapshot;
}

static void
flow_testing_source_partition_init (FlowTestingSourcePartition *self)
{
  self->fingerprint = FLOW_HASH_SEED;
  flow_source_partition_set_fast_path (FLOW_SOURCE_PARTITION (self), testing_partition_fast_next);
}

static FlowSourcePartition *
flow_testing_source_build_part (FlowSource  *source,
                                const char  *step_id,
                                const char  *part_key,
                                GVariant    *resume_state,
                                GError     **error)
{
  FlowTestingSource *self = FLOW_TESTING_SOURCE (source);
  FlowTestingSourcePartition *part;
  guint m = 0;

  part = g_object_new (FLOW_TYPE_TESTING_SOURCE_PARTITION, NULL);
  part->source = g_object_ref (self);
  part->entries = g_array_sized_new (FALSE, FALSE, sizeof (Entry), self->n_items + self->markers->len);
  for (gsize i = 0; i <= self->n_items; i++)
    {
      for (; m < self->markers->len && g_array_index (self->markers, Marker, m).position <= i; m++)
        {
          Entry e = -1 - (Entry) m;
          g_array_append_val (part->entries, e);
        }
      if (i < self->n_items)
        {
          Entry e = i;
          g_array_append_val (part->entries, e);
        }
    }

  if (resume_state != NULL)
    {
      guint64 position, fingerprint;

      if (!g_variant_is_of_type (resume_state, G_VARIANT_TYPE ("(tt)")))
        {
          g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
                       "input '%s': the resume state of a testing source must be (tt), not %s",
                       step_id, g_variant_get_type_string (resume_state));
          g_object_unref (part);
          return NULL;
        }
      g_variant_get (resume_state, "(tt)", &position, &fingerprint);

      if (position <= part->entries->len)
        {
          advance_fingerprint (part, position);
          if (part->fingerprint == fingerprint)
            {
              part->position = position;
              g_debug ("input '%s': continuing at item %u of %u",
                       step_id, part->position, part->entries->len);
            }
        }
      if (part->position == 0 && position > 0)
        g_debug ("input '%s': the items differ from the %" G_GUINT64_FORMAT
                 " consumed before; they are new data, starting at the first",
                 step_id, position);
    }

  return FLOW_SOURCE_PARTITION (part);
}

static void
flow_testing_source_finalize (GObject *object)
{
  FlowTestingSource *self = FLOW_TESTING_SOURCE (object);

  g_clear_pointer (&self->items, g_variant_unref);
  g_clear_pointer (&self->markers, g_array_unref);

  G_OBJECT_CLASS (flow_testing_source_parent_class)->finalize (object);
}

static void
flow_testing_source_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  FlowTestingSource *self = FLOW_TESTING_SOURCE (object);

  switch (prop_id)
    {
    case PROP_ITEMS:
      g_value_set_variant (value, self->items);
      break;
    case PROP_BATCH_SIZE:
      g_value_set_uint (value, self->batch_size);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
flow_testing_source_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  FlowTestingSource *self = FLOW_TESTING_SOURCE (object);

  switch (prop_id)
    {
    case PROP_ITEMS:
      {
        GVariant *items = g_value_get_variant (value);

        if (items == NULL)
          items = g_variant_new_array (G_VARIANT_TYPE_VARIANT, NULL, 0);
        g_return_if_fail (g_variant_is_of_type (items, G_VARIANT_TYPE_ARRAY));
        self->items = g_variant_ref_sink (items);
        self->n_items = g_variant_n_children (items);
        self->boxed = g_variant_is_of_type (items, G_VARIANT_TYPE ("av"));
      }
      break;
    case PROP_BATCH_SIZE:
      flow_testing_source_set_batch_size (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
flow_testing_source_class_init (FlowTestingSourceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  FlowSourceClass *source_class = FLOW_SOURCE_CLASS (klass);

  object_class->finalize = flow_testing_source_finalize;
  object_class->get_property = flow_testing_source_get_property;
  object_class->set_property = flow_testing_source_set_property;
  source_class->build_part = flow_testing_source_build_part;

  /**
   * FlowTestingSource:items:
   *
   * The array of items to emit.
   */
  properties[PROP_ITEMS] =
    g_param_spec_variant ("items", NULL, NULL,
                          G_VARIANT_TYPE_ARRAY, NULL,
                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * FlowTestingSource:batch-size:
   *
   * The largest number of items returned in one batch.
   */
  properties[PROP_BATCH_SIZE] =
    g_param_spec_uint ("batch-size", NULL, NULL,
                       1, G_MAXUINT, 1,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
flow_testing_source_init (FlowTestingSource *self)
{
  self->batch_size = 1;
  self->markers = g_array_new (FALSE, FALSE, sizeof (Marker));
}

/**
 * flow_testing_source_new:
 * @items: an array of items; if floating, its floating reference is consumed
 *
 * Creates a source emitting the elements of @items.
 *
 * Returns: (transfer full): a new testing source
 */
FlowTestingSource *
flow_testing_source_new (GVariant *items)
{
  g_return_val_if_fail (items != NULL, NULL);
  g_return_val_if_fail (g_variant_is_of_type (items, G_VARIANT_TYPE_ARRAY), NULL);

  return g_object_new (FLOW_TYPE_TESTING_SOURCE, "items", items, NULL);
}

/**
 * flow_testing_source_get_items:
 * @self: a testing source
 *
 * Gets [property@Flow.TestingSource:items], the array of items the source
 * emits.
 *
 * Returns: (transfer none): the array of items
 */
GVariant *
flow_testing_source_get_items (FlowTestingSource *self)
{
  g_return_val_if_fail (FLOW_IS_TESTING_SOURCE (self), NULL);

  return self->items;
}

/**
 * flow_testing_source_get_batch_size:
 * @self: a testing source
 *
 * Gets [property@Flow.TestingSource:batch-size].
 *
 * Returns: the largest number of items in one batch
 */
guint
flow_testing_source_get_batch_size (FlowTestingSource *self)
{
  g_return_val_if_fail (FLOW_IS_TESTING_SOURCE (self), 0);

  return self->batch_size;
}

/**
 * flow_testing_source_set_batch_size:
 * @self: a testing source
 * @batch_size: the largest number of items in one batch, at least 1
 *
 * Sets [property@Flow.TestingSource:batch-size].
 */
void
flow_testing_source_set_batch_size (FlowTestingSource *self,
                                    guint              batch_size)
{
  g_return_if_fail (FLOW_IS_TESTING_SOURCE (self));
  g_return_if_fail (batch_size > 0);

  if (self->batch_size != batch_size)
    {
      self->batch_size = batch_size;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BATCH_SIZE]);
    }
}

/**
 * flow_testing_source_add_marker:
 * @self: a testing source
 * @position: the index of the item the marker comes before (the number of
 *   items, for a marker at the end)
 * @marker: the kind of marker
 * @pause_seconds: for %FLOW_TESTING_MARKER_PAUSE, how long to pause
 *
 * Places a marker between items. Markers at the same position keep the
 * order they were added in.
 */
void
flow_testing_source_add_marker (FlowTestingSource *self,
                                guint              position,
                                FlowTestingMarker  marker,
                                double             pause_seconds)
{
  Marker m = { position, marker, pause_seconds, FALSE };
  guint i;

  g_return_if_fail (FLOW_IS_TESTING_SOURCE (self));
  g_return_if_fail (position <= self->n_items);
  g_return_if_fail (marker <= FLOW_TESTING_MARKER_PAUSE);
  g_return_if_fail (marker != FLOW_TESTING_MARKER_PAUSE || pause_seconds >= 0);

  for (i = 0; i < self->markers->len; i++)
    if (g_array_index (self->markers, Marker, i).position > position)
      break;
  g_array_insert_val (self->markers, i, m);
}
