/* flow-join.c: joining keyed streams, and enriching items from a cache
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The public face of the `join` and `enrich_cached` operators (their
 * processing is in operators/flow-op-join.c) and FlowTTLCache.
 */

#include "config.h"

#include "flow-private.h"
#include "flow-graph-private.h"
#include "operators/flow-operator-private.h"
#include "binding/flow-binding-private.h"

/**
 * flow_stream_join:
 * @self: the first side: a keyed stream
 * @step_id: the id of the new step
 * @others: (array length=n_others): the other sides: keyed streams of the
 *   same dataflow
 * @n_others: the number of @others
 * @insert_mode: what the join keeps of the values of one side for a key
 * @emit_mode: when it emits
 *
 * Gathers the values of each key on several keyed streams (Bytewax's
 * `join`). The sides are @self and then @others, in order; the same
 * stream may be given more than once.
 *
 * Each item out is keyed by the key, and its value is a tuple `(v…)` of
 * one value per side, in the order of the sides; a side that has no value
 * for the key (yet) stands as `None` (see [func@Flow.item_new_none]). With
 * %FLOW_JOIN_INSERT_MODE_PRODUCT it emits a tuple for every combination of
 * the sides' values (the last side varies fastest).
 *
 * - %FLOW_JOIN_EMIT_MODE_COMPLETE emits when every side has a value, then
 *   forgets the key;
 * - %FLOW_JOIN_EMIT_MODE_RUNNING emits after every value and keeps the
 *   state forever;
 * - %FLOW_JOIN_EMIT_MODE_FINAL emits at the end of input (keys in
 *   order), missing sides as `None`, then forgets the key.
 *
 * Every side must carry keyed items: `(sv)` tuples. The run fails with
 * %FLOW_ERROR_NOT_KEYED, naming the step and the item, on one that is not.
 * The sides of each key are in the step's snapshot (`aav`: each side's
 * values), so a resumed run goes on with them.
 *
 * Returns: (transfer none): the stream of joined tuples, keyed
 */
FlowStream *
flow_stream_join (FlowStream          *self,
                  const char          *step_id,
                  FlowStream         **others,
                  guint                n_others,
                  FlowJoinInsertMode   insert_mode,
                  FlowJoinEmitMode     emit_mode)
{
  g_autoptr(GPtrArray) ups = NULL;
  FlowDataflow *flow;
  FlowStep *step;

  g_return_val_if_fail (FLOW_IS_STREAM (self), NULL);
  g_return_val_if_fail (n_others == 0 || others != NULL, NULL);
  g_return_val_if_fail (insert_mode <= FLOW_JOIN_INSERT_MODE_PRODUCT, NULL);
  g_return_val_if_fail (emit_mode <= FLOW_JOIN_EMIT_MODE_RUNNING, NULL);

  flow = flow_stream_get_dataflow (self);
  if (flow == NULL)
    {
      g_critical ("%s: the dataflow of this stream was finalized", G_STRFUNC);
      return NULL;
    }

  ups = g_ptr_array_new ();
  g_ptr_array_add (ups, self);
  for (guint i = 0; i < n_others; i++)
    {
      g_return_val_if_fail (FLOW_IS_STREAM (others[i]), NULL);
      g_ptr_array_add (ups, others[i]);
    }

  step = flow_dataflow_add_step (flow, flow_operator_find ("join"), step_id,
                                 (FlowStream **) ups->pdata, ups->len, 1);
  step->join_insert = insert_mode;
  step->join_emit = emit_mode;
  return step->outputs[0];
}

/**
 * flow_stream_enrich_cached:
 * @self: the upstream
 * @step_id: the id of the new step
 * @getter: (scope notified) (closure getter_data) (destroy getter_destroy):
 *   gets the value of a key that the cache does not hold (or holds for
 *   longer than @ttl)
 * @getter_data: data for @getter
 * @getter_destroy: (nullable): frees @getter_data
 * @mapper: (scope notified) (closure mapper_data) (destroy mapper_destroy):
 *   makes each new item from an item and the cache
 * @mapper_data: data for @mapper
 * @mapper_destroy: (nullable): frees @mapper_data
 * @ttl: how long a value stays in the cache, in microseconds;
 *   %FLOW_TTL_CACHE_FOREVER (or any negative value) for ever
 *
 * Enriches items with values looked up by key and cached (Bytewax's
 * `enrich_cached`): @mapper gets each item and a [class@Flow.TTLCache],
 * whose [method@Flow.TTLCache.get] calls @getter on a miss.
 *
 * The cache belongs to the run (one per worker) and is not in the
 * snapshots, as Bytewax's: a resumed run starts with an empty cache and
 * gets the values again. Its time is the run's clock
 * ([func@Flow.get_real_time], a [class@Flow.TestClock] in tests) as each
 * batch arrives, so a value older than @ttl is got again.
 *
 * Returns: (transfer none): the stream of what @mapper returned
 */
FlowStream *
flow_stream_enrich_cached (FlowStream     *self,
                           const char     *step_id,
                           FlowMapFunc     getter,
                           gpointer        getter_data,
                           GDestroyNotify  getter_destroy,
                           FlowEnrichFunc  mapper,
                           gpointer        mapper_data,
                           GDestroyNotify  mapper_destroy,
                           GTimeSpan       ttl)
{
  FlowDataflow *flow;
  FlowStep *step;

  g_return_val_if_fail (FLOW_IS_STREAM (self), NULL);
  g_return_val_if_fail (getter != NULL, NULL);
  g_return_val_if_fail (mapper != NULL, NULL);

  flow = flow_stream_get_dataflow (self);
  if (flow == NULL)
    {
      g_critical ("%s: the dataflow of this stream was finalized", G_STRFUNC);
      return NULL;
    }

  step = flow_dataflow_add_step (flow, flow_operator_find ("enrich_cached"), step_id,
                                 &self, 1, 1);
  step->func = (FlowClosure) { mapper, mapper_data, mapper_destroy };
  flow_binding_guard_closure (&step->func, FLOW_BINDING_SHAPE_ENRICH);
  step->builder = (FlowClosure) { getter, getter_data, getter_destroy };
  flow_binding_guard_closure (&step->builder, FLOW_BINDING_SHAPE_ITEM_TO_VARIANT);
  step->ttl = ttl;
  return step->outputs[0];
}

/* ------------------------------------------------------------------------
 * FlowTTLCache
 * ------------------------------------------------------------------------ */

/**
 * FlowTTLCache:
 *
 * A cache of values by key, each kept for a time to live (Bytewax's
 * `TTLCache`). [method@Flow.TTLCache.get] returns the cached value of a
 * key, or calls the getter when there is none or it is older than the
 * time to live, and caches what it returns.
 *
 * Its time is the one given by [method@Flow.TTLCache.set_time], or, when
 * none was, the run's clock ([func@Flow.get_real_time]): a
 * [class@Flow.TestClock] makes expiry testable without waiting.
 *
 * Keys are items of any type; two keys are the same when they are equal
 * GVariants (g_variant_equal()). There is no maximum size.
 */

typedef struct
{
  gint64    time;    /* when it was got */
  GVariant *value;
} CacheEntry;

struct _FlowTTLCache
{
  GObject        parent_instance;

  FlowMapFunc    getter;
  gpointer       getter_data;
  GDestroyNotify getter_destroy;
  GTimeSpan      ttl;
  gboolean       has_time;
  gint64         time;
  GHashTable    *entries;   /* GVariant key -> CacheEntry */
};

G_DEFINE_FINAL_TYPE (FlowTTLCache, flow_ttl_cache, G_TYPE_OBJECT)

static void
cache_entry_free (gpointer data)
{
  CacheEntry *entry = data;

  g_variant_unref (entry->value);
  g_free (entry);
}

/* Any GVariant (g_variant_hash() takes only basic types): its type and
 * its serialised data. */
static guint
variant_hash (gconstpointer key)
{
  GVariant *v = (GVariant *) key;
  const char *type = g_variant_get_type_string (v);
  guint64 h = flow_hash_bytes (0, type, strlen (type));

  h = flow_hash_bytes (h, g_variant_get_data (v), g_variant_get_size (v));
  return (guint) (h ^ (h >> 32));
}

static gboolean
variant_equal (gconstpointer a,
               gconstpointer b)
{
  return g_variant_type_equal (g_variant_get_type ((GVariant *) a),
                               g_variant_get_type ((GVariant *) b))
         && g_variant_equal (a, b);
}

static void
flow_ttl_cache_finalize (GObject *object)
{
  FlowTTLCache *self = FLOW_TTL_CACHE (object);

  g_hash_table_unref (self->entries);
  if (self->getter_destroy != NULL && self->getter_data != NULL)
    self->getter_destroy (self->getter_data);
  G_OBJECT_CLASS (flow_ttl_cache_parent_class)->finalize (object);
}

static void
flow_ttl_cache_class_init (FlowTTLCacheClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = flow_ttl_cache_finalize;
}

static void
flow_ttl_cache_init (FlowTTLCache *self)
{
  self->entries = g_hash_table_new_full (variant_hash, variant_equal,
                                         (GDestroyNotify) g_variant_unref,
                                         cache_entry_free);
  self->ttl = FLOW_TTL_CACHE_FOREVER;
}

/**
 * flow_ttl_cache_new:
 * @getter: (scope notified) (closure user_data) (destroy destroy): gets
 *   the value of a key on a miss; it may return %NULL without an error
 *   for `None`
 * @user_data: data for @getter
 * @destroy: (nullable): frees @user_data
 * @ttl: how long a value stays valid, in microseconds;
 *   %FLOW_TTL_CACHE_FOREVER (or any negative value) for ever
 *
 * Creates an empty cache.
 *
 * Returns: (transfer full): a new cache
 */
FlowTTLCache *
flow_ttl_cache_new (FlowMapFunc     getter,
                    gpointer        user_data,
                    GDestroyNotify  destroy,
                    GTimeSpan       ttl)
{
  FlowTTLCache *self;

  g_return_val_if_fail (getter != NULL, NULL);

  self = g_object_new (FLOW_TYPE_TTL_CACHE, NULL);
  self->getter = getter;
  self->getter_data = user_data;
  self->getter_destroy = destroy;
  self->ttl = ttl;
  return self;
}

static gint64
cache_now (FlowTTLCache *self)
{
  return self->has_time ? self->time : flow_get_real_time ();
}

/**
 * flow_ttl_cache_get:
 * @self: a cache
 * @key: the key (any item; a floating reference is sunk)
 * @error: return location for a #GError
 *
 * Gets the value of @key: the cached one if it was got at most the time
 * to live ago, else what the getter returns now, which is cached.
 *
 * Returns: (transfer full): the value (`None` if the getter returned
 *   %NULL without an error), or %NULL with @error set if the getter
 *   failed; nothing is cached then
 */
GVariant *
flow_ttl_cache_get (FlowTTLCache  *self,
                    GVariant      *key,
                    GError       **error)
{
  g_autoptr(GVariant) owned_key = NULL;
  gint64 now;
  CacheEntry *entry;
  GError *local = NULL;
  GVariant *value;

  g_return_val_if_fail (FLOW_IS_TTL_CACHE (self), NULL);
  g_return_val_if_fail (key != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  owned_key = g_variant_ref_sink (key);
  now = cache_now (self);
  entry = g_hash_table_lookup (self->entries, owned_key);
  /* As Bytewax's: expired once strictly older than the time to live. */
  if (entry != NULL && (self->ttl < 0 || !(now - entry->time > self->ttl)))
    return g_variant_ref (entry->value);

  value = self->getter (owned_key, self->getter_data, &local);
  if (local != NULL)
    {
      g_clear_pointer (&value, g_variant_unref);
      g_propagate_error (error, local);
      return NULL;
    }
  if (value == NULL)
    value = flow_item_new_none ();
  g_variant_take_ref (value);

  entry = g_new (CacheEntry, 1);
  entry->time = now;
  entry->value = g_variant_ref (value);
  g_hash_table_replace (self->entries, g_variant_ref (owned_key), entry);
  return value;
}

/**
 * flow_ttl_cache_remove:
 * @self: a cache
 * @key: the key (a floating reference is sunk)
 *
 * Forgets the cached value of @key, so that the next get calls the
 * getter.
 *
 * Returns: %TRUE if the cache held a value for @key
 */
gboolean
flow_ttl_cache_remove (FlowTTLCache *self,
                       GVariant     *key)
{
  g_autoptr(GVariant) owned_key = NULL;

  g_return_val_if_fail (FLOW_IS_TTL_CACHE (self), FALSE);
  g_return_val_if_fail (key != NULL, FALSE);

  owned_key = g_variant_ref_sink (key);
  return g_hash_table_remove (self->entries, owned_key);
}

/**
 * flow_ttl_cache_get_size:
 * @self: a cache
 *
 * Gets the number of keys cached, expired ones included.
 *
 * Returns: the number of entries
 */
guint
flow_ttl_cache_get_size (FlowTTLCache *self)
{
  g_return_val_if_fail (FLOW_IS_TTL_CACHE (self), 0);

  return g_hash_table_size (self->entries);
}

/**
 * flow_ttl_cache_get_ttl:
 * @self: a cache
 *
 * Gets the time to live of the cache's values.
 *
 * Returns: microseconds; %FLOW_TTL_CACHE_FOREVER (negative) for ever
 */
GTimeSpan
flow_ttl_cache_get_ttl (FlowTTLCache *self)
{
  g_return_val_if_fail (FLOW_IS_TTL_CACHE (self), 0);

  return self->ttl;
}

/**
 * flow_ttl_cache_set_time:
 * @self: a cache
 * @time: microseconds since the Unix epoch (UTC)
 *
 * Sets the time the cache considers it is, until it is set again or
 * unset (Bytewax's `now_getter`). [method@Flow.Stream.enrich_cached]
 * sets it to the run's clock for each batch.
 */
void
flow_ttl_cache_set_time (FlowTTLCache *self,
                         gint64        time)
{
  g_return_if_fail (FLOW_IS_TTL_CACHE (self));

  self->has_time = TRUE;
  self->time = time;
}

/**
 * flow_ttl_cache_unset_time:
 * @self: a cache
 *
 * Makes the cache read the run's clock ([func@Flow.get_real_time]) at
 * each get again, as it does when created.
 */
void
flow_ttl_cache_unset_time (FlowTTLCache *self)
{
  g_return_if_fail (FLOW_IS_TTL_CACHE (self));

  self->has_time = FALSE;
}
