/* flow-kafka-sink.c: messages to Kafka topics, flushed at every epoch
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include <librdkafka/rdkafka.h>

#include "flow-private.h"
#include "flow-kafka-private.h"

/**
 * FlowKafkaSink:
 *
 * A sink producing each item as a Kafka message through librdkafka, in one
 * partition named `"0"`.
 *
 * An item can be:
 *
 * - a message of type %FLOW_KAFKA_MESSAGE_TYPE_STRING (what a
 *   [class@Flow.KafkaSource] reads), or any tuple of seven with the same
 *   meaning whose members are boxed (`v`) or maybe types: (key, value,
 *   topic, partition, offset, timestamp, headers). An empty or absent topic
 *   is the sink's [property@Flow.KafkaSink:topic]; a partition of -1 (or
 *   absent) lets the key choose the partition (librdkafka's `partitioner`
 *   setting); the offset is ignored; a timestamp (microseconds since the
 *   Unix epoch) of 0 or less is the time of producing;
 * - a keyed item `(key, value)`: the key (a string) is the message's key;
 * - a value alone.
 *
 * Keys and values are byte strings (`ay`) or strings (`s`, written as
 * UTF-8), or absent (a `nothing` maybe). Anything else fails the run with
 * %FLOW_ERROR_WRONG_TYPE.
 *
 * Every epoch's messages are acknowledged by the brokers before the epoch
 * commits: the sink waits for every delivery report at the end of each
 * epoch (when the runner snapshots it), and a message that could not be
 * delivered fails the run with %FLOW_ERROR_IO naming its topic, partition
 * and the reason. After a crash, the messages of the epochs after the last
 * committed one are produced again when the run resumes: the output is
 * at-least-once. The producer is idempotent by default
 * (`enable.idempotence=true`), so librdkafka's own retries do not duplicate
 * or reorder messages.
 *
 * With a [property@Flow.KafkaSink:transactional-id], the sink is
 * transactional instead: each epoch's messages are produced in one Kafka
 * transaction once the epoch is committed
 * ([vfunc@Flow.SinkPartition.commit]), and a resumed run commits what a
 * crash left uncommitted, so consumers reading with
 * `isolation.level=read_committed` see every message exactly once.
 *
 * Settings are librdkafka's, passed with [method@Flow.KafkaSink.set_config].
 */

struct _FlowKafkaSink
{
  FlowSink    parent_instance;

  char       *brokers;
  char       *topic;
  GHashTable *config;
  gboolean    keep_read_metadata;
  char       *transactional_id;
};

enum {
  PROP_0,
  PROP_BROKERS,
  PROP_TOPIC,
  PROP_KEEP_READ_METADATA,
  PROP_TRANSACTIONAL_ID,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (FlowKafkaSink, flow_kafka_sink, FLOW_TYPE_SINK)

#define FLOW_TYPE_KAFKA_SINK_PARTITION (flow_kafka_sink_partition_get_type ())
G_DECLARE_FINAL_TYPE (FlowKafkaSinkPartition, flow_kafka_sink_partition, FLOW, KAFKA_SINK_PARTITION, FlowSinkPartition)

struct _FlowKafkaSinkPartition
{
  FlowSinkPartition  parent_instance;

  rd_kafka_t        *rk;
  char              *topic;        /* the default; may be NULL */
  gboolean           keep_read_metadata;
  char              *brokers;
  GHashTable        *config;       /* the sink's settings (a reference) */
  GError            *failure;      /* the first failed delivery */

  /* Transactional mode (a transactional.id): an epoch's messages wait in
   * @pending (as STORED_TYPE tuples) until its snapshot, which moves them
   * into @prepared (and returns them as its state); commit() produces
   * @prepared in one transaction. */
  gboolean           txn;
  GPtrArray         *pending;
  GVariant          *prepared;     /* STATE_TYPE, or NULL */
  guint64            n_produced;
  guint64            n_delivered;
};

G_DEFINE_FINAL_TYPE (FlowKafkaSinkPartition, flow_kafka_sink_partition, FLOW_TYPE_SINK_PARTITION)

/* ------------------------------------------------------------------------
 * Items as messages
 * ------------------------------------------------------------------------ */

/* Removes boxes and maybes: returns a new reference, or NULL for an absent
 * value. */
static GVariant *
unwrap (GVariant *value)
{
  GVariant *v = g_variant_ref (value);

  for (;;)
    {
      GVariant *inner;

      if (g_variant_is_of_type (v, G_VARIANT_TYPE_VARIANT))
        inner = g_variant_get_variant (v);
      else if (g_variant_is_of_type (v, G_VARIANT_TYPE_MAYBE))
        inner = g_variant_get_maybe (v);
      else
        return v;
      g_variant_unref (v);
      if (inner == NULL)
        return NULL;
      v = inner;
    }
}

/* Points *data at the bytes of @value (ay, or s as UTF-8), kept alive by
 * the returned reference (NULL for an absent value). */
static gboolean
bytes_of (GVariant     *value,
          const char   *what,
          GVariant    **holder,
          const void  **data,
          gsize        *len,
          GError      **error)
{
  GVariant *v = unwrap (value);

  *holder = v;
  *data = NULL;
  *len = 0;
  if (v == NULL)
    return TRUE;
  if (g_variant_is_of_type (v, G_VARIANT_TYPE_BYTESTRING))
    {
      *data = g_variant_get_fixed_array (v, len, 1);
      if (*data == NULL)
        *data = "";
      return TRUE;
    }
  if (g_variant_is_of_type (v, G_VARIANT_TYPE_STRING))
    {
      *data = g_variant_get_string (v, len);
      return TRUE;
    }
  g_set_error (error, FLOW_ERROR, FLOW_ERROR_WRONG_TYPE,
               "a Kafka message's %s must be bytes, str or None (ay, s or nothing; "
               "serialize it first), not %s",
               what, g_variant_get_type_string (v));
  return FALSE;
}

static gboolean
int_of (GVariant    *value,
        const char  *what,
        gint64       absent,
        gint64      *result,
        GError     **error)
{
  g_autoptr(GVariant) v = unwrap (value);

  *result = absent;
  if (v == NULL)
    return TRUE;
  switch (g_variant_classify (v))
    {
    case G_VARIANT_CLASS_BYTE: *result = g_variant_get_byte (v); return TRUE;
    case G_VARIANT_CLASS_INT16: *result = g_variant_get_int16 (v); return TRUE;
    case G_VARIANT_CLASS_UINT16: *result = g_variant_get_uint16 (v); return TRUE;
    case G_VARIANT_CLASS_INT32: *result = g_variant_get_int32 (v); return TRUE;
    case G_VARIANT_CLASS_UINT32: *result = g_variant_get_uint32 (v); return TRUE;
    case G_VARIANT_CLASS_INT64: *result = g_variant_get_int64 (v); return TRUE;
    case G_VARIANT_CLASS_UINT64: *result = (gint64) g_variant_get_uint64 (v); return TRUE;
    default:
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_WRONG_TYPE,
                   "a Kafka message's %s must be an integer, not %s",
                   what, g_variant_get_type_string (v));
      return FALSE;
    }
}

static gboolean
headers_of (GVariant            *value,
            rd_kafka_headers_t **headers,
            GError             **error)
{
  g_autoptr(GVariant) v = unwrap (value);
  gsize n;

  *headers = NULL;
  if (v == NULL)
    return TRUE;
  if (!g_variant_is_of_type (v, G_VARIANT_TYPE_ARRAY))
    goto wrong;
  n = g_variant_n_children (v);
  if (n == 0)
    return TRUE;

  *headers = rd_kafka_headers_new (n);
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) pair = g_variant_get_child_value (v, i);
      g_autoptr(GVariant) inner = unwrap (pair);
      g_autoptr(GVariant) name_v = NULL;
      g_autoptr(GVariant) holder = NULL;
      GVariant *name_holder = NULL;
      const void *name, *data;
      gsize name_len, len;
      gboolean ok;

      if (inner == NULL || !g_variant_is_of_type (inner, G_VARIANT_TYPE_TUPLE) ||
          g_variant_n_children (inner) != 2)
        goto wrong;
      name_v = g_variant_get_child_value (inner, 0);
      ok = bytes_of (name_v, "header name", &name_holder, &name, &name_len, error);
      if (ok && name == NULL)
        {
          g_clear_pointer (&name_holder, g_variant_unref);
          goto wrong;
        }
      if (ok)
        {
          g_autoptr(GVariant) value_v = g_variant_get_child_value (inner, 1);
          ok = bytes_of (value_v, "header value", &holder, &data, &len, error);
        }
      if (ok)
        rd_kafka_header_add (*headers, name, name_len, data, len);
      g_clear_pointer (&name_holder, g_variant_unref);
      if (!ok)
        {
          g_clear_pointer (headers, rd_kafka_headers_destroy);
          return FALSE;
        }
    }
  return TRUE;

wrong:
  g_clear_pointer (headers, rd_kafka_headers_destroy);
  g_set_error (error, FLOW_ERROR, FLOW_ERROR_WRONG_TYPE,
               "a Kafka message's headers must be an array of (name, value) pairs, not %s",
               g_variant_get_type_string (value));
  return FALSE;
}

static void
record_failure (FlowKafkaSinkPartition *self,
                GError                 *error)
{
  if (self->failure == NULL)
    self->failure = error;
  else
    g_error_free (error);
}

static void
delivery_cb (rd_kafka_t               *rk,
             const rd_kafka_message_t *msg,
             void                     *opaque)
{
  FlowKafkaSinkPartition *self = opaque;

  if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR)
    {
      self->n_delivered++;
      return;
    }
  record_failure (self, g_error_new (FLOW_ERROR, FLOW_ERROR_IO,
                                     "delivering a message to Kafka topic '%s' partition %d failed: %s (%s)",
                                     rd_kafka_topic_name (msg->rkt), msg->partition,
                                     rd_kafka_err2str (msg->err), rd_kafka_err2name (msg->err)));
}

static gboolean
take_failure (FlowKafkaSinkPartition  *self,
              GError                 **error)
{
  if (self->failure == NULL)
    return TRUE;
  g_propagate_error (error, g_steal_pointer (&self->failure));
  return FALSE;
}

static GVariant *stored_new (const char         *topic,
                             gint32              partition,
                             const void         *key,
                             gsize               key_len,
                             const void         *value,
                             gsize               value_len,
                             gint64              timestamp,
                             rd_kafka_headers_t *headers);
static gboolean  send_one   (FlowKafkaSinkPartition  *self,
                             const char              *topic,
                             gint32                   partition,
                             const void              *key,
                             gsize                    key_len,
                             const void              *value,
                             gsize                    value_len,
                             gint64                   timestamp,
                             rd_kafka_headers_t      *headers,
                             GError                 **error);

static gboolean
produce (FlowKafkaSinkPartition  *self,
         const char              *split_key,
         GVariant                *item,
         GError                 **error)
{
  g_autoptr(GVariant) key_holder = NULL;
  g_autoptr(GVariant) value_holder = NULL;
  g_autoptr(GVariant) topic_holder = NULL;
  rd_kafka_headers_t *headers = NULL;
  const void *key = NULL, *value = NULL;
  gsize key_len = 0, value_len = 0;
  const char *topic = self->topic;
  gint64 partition = RD_KAFKA_PARTITION_UA, timestamp = 0;

  if (split_key != NULL)
    {
      key = split_key;
      key_len = strlen (split_key);
      if (!bytes_of (item, "value", &value_holder, &value, &value_len, error))
        return FALSE;
    }
  else if (g_variant_is_of_type (item, G_VARIANT_TYPE_TUPLE) && g_variant_n_children (item) == 2)
    {
      g_autoptr(GVariant) k = g_variant_get_child_value (item, 0);
      g_autoptr(GVariant) v = g_variant_get_child_value (item, 1);

      if (!bytes_of (k, "key", &key_holder, &key, &key_len, error) ||
          !bytes_of (v, "value", &value_holder, &value, &value_len, error))
        return FALSE;
    }
  else if (g_variant_is_of_type (item, G_VARIANT_TYPE_TUPLE) && g_variant_n_children (item) == 7)
    {
      g_autoptr(GVariant) k = g_variant_get_child_value (item, 0);
      g_autoptr(GVariant) v = g_variant_get_child_value (item, 1);
      g_autoptr(GVariant) t = g_variant_get_child_value (item, 2);
      g_autoptr(GVariant) p = g_variant_get_child_value (item, 3);
      g_autoptr(GVariant) o = g_variant_get_child_value (item, 4);
      g_autoptr(GVariant) ts = g_variant_get_child_value (item, 5);
      g_autoptr(GVariant) h = g_variant_get_child_value (item, 6);
      const void *topic_data;
      gsize topic_len;

      if (!bytes_of (k, "key", &key_holder, &key, &key_len, error) ||
          !bytes_of (v, "value", &value_holder, &value, &value_len, error) ||
          !bytes_of (t, "topic", &topic_holder, &topic_data, &topic_len, error) ||
          !int_of (p, "partition", RD_KAFKA_PARTITION_UA, &partition, error) ||
          !int_of (ts, "timestamp", 0, &timestamp, error) ||
          !headers_of (h, &headers, error))
        return FALSE;
      if (topic_data != NULL && topic_len > 0)
        {
          if (!g_variant_is_of_type (topic_holder, G_VARIANT_TYPE_STRING))
            {
              g_clear_pointer (&headers, rd_kafka_headers_destroy);
              g_set_error (error, FLOW_ERROR, FLOW_ERROR_WRONG_TYPE,
                           "a Kafka message's topic must be a string, not %s",
                           g_variant_get_type_string (topic_holder));
              return FALSE;
            }
          topic = topic_data;
        }
      /* A message as read (its offset an `x`, not a maybe) goes where a
       * new message of its key would, unless its place is to be kept. */
      if (!self->keep_read_metadata && g_variant_is_of_type (o, G_VARIANT_TYPE_INT64))
        {
          topic = self->topic;
          partition = RD_KAFKA_PARTITION_UA;
          timestamp = 0;
        }
      if (partition < 0)
        partition = RD_KAFKA_PARTITION_UA;
      if (partition > G_MAXINT32)
        {
          g_clear_pointer (&headers, rd_kafka_headers_destroy);
          g_set_error (error, FLOW_ERROR, FLOW_ERROR_WRONG_TYPE,
                       "a Kafka message's partition must be below 2^31, not %" G_GINT64_FORMAT,
                       partition);
          return FALSE;
        }
    }
  else if (g_variant_is_of_type (item, G_VARIANT_TYPE_TUPLE))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_WRONG_TYPE,
                   "a Kafka sink writes (key, value) pairs, messages of type "
                   FLOW_KAFKA_MESSAGE_TYPE_STRING " or values, not %s",
                   g_variant_get_type_string (item));
      return FALSE;
    }
  else if (!bytes_of (item, "value", &value_holder, &value, &value_len, error))
    return FALSE;

  if (topic == NULL)
    {
      g_clear_pointer (&headers, rd_kafka_headers_destroy);
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "a Kafka message has no topic and the sink has no default topic");
      return FALSE;
    }

  if (self->txn)
    {
      /* Kept until the epoch commits (see prepare() and publish()). */
      g_ptr_array_add (self->pending,
                       g_variant_ref_sink (stored_new (topic, (gint32) partition, key, key_len,
                                                       value, value_len, timestamp, headers)));
      g_clear_pointer (&headers, rd_kafka_headers_destroy);
      return TRUE;
    }
  return send_one (self, topic, (gint32) partition, key, key_len, value, value_len, timestamp,
                   headers, error);
}

/* Produces one message; takes @headers. */
static gboolean
send_one (FlowKafkaSinkPartition  *self,
          const char              *topic,
          gint32                   partition,
          const void              *key,
          gsize                    key_len,
          const void              *value,
          gsize                    value_len,
          gint64                   timestamp,
          rd_kafka_headers_t      *headers,
          GError                 **error)
{
  rd_kafka_resp_err_t err;

  for (;;)
    {
      err = rd_kafka_producev (self->rk,
                               RD_KAFKA_V_TOPIC (topic),
                               RD_KAFKA_V_PARTITION ((gint32) partition),
                               RD_KAFKA_V_MSGFLAGS (RD_KAFKA_MSG_F_COPY),
                               RD_KAFKA_V_KEY (key, key_len),
                               RD_KAFKA_V_VALUE ((void *) value, value_len),
                               RD_KAFKA_V_TIMESTAMP (timestamp > 0 ? timestamp / G_TIME_SPAN_MILLISECOND : 0),
                               RD_KAFKA_V_HEADERS (headers),
                               RD_KAFKA_V_END);
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
        break;
      /* The producer's queue is full: wait for deliveries (back-pressure). */
      rd_kafka_poll (self->rk, 100);
      if (self->failure != NULL)
        break;
    }

  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    {
      g_clear_pointer (&headers, rd_kafka_headers_destroy);
      if (self->failure != NULL)
        return take_failure (self, error);
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_IO,
                   "producing a message to Kafka topic '%s'%s failed: %s (%s)",
                   topic, partition >= 0 ? " (partition given)" : "",
                   rd_kafka_err2str (err), rd_kafka_err2name (err));
      return FALSE;
    }
  self->n_produced++;
  return TRUE;
}

/* ------------------------------------------------------------------------
 * Transactional mode
 *
 * With a transactional.id, the messages of an epoch are not produced while
 * the epoch runs. Its snapshot (prepare()) returns them, with a random
 * batch id and the high watermark of every partition of their topics, as
 * the sink's state, so the recovery store keeps them with the epoch. Once
 * the epoch is durable, commit() (publish()) produces them in one Kafka
 * transaction, each with a header TXN_HEADER = "BATCH:INDEX", and commits
 * it.
 *
 * A resumed run gets the state of the last committed epoch. Its producer
 * first fences the killed one (init_transactions() aborts a transaction
 * left open), then recover() reads the partitions from the recorded
 * watermarks with isolation.level=read_committed: the messages of the
 * batch found there were committed; the others are produced again in a
 * new transaction. So every message is committed once, whatever the moment
 * of the crash.
 * ------------------------------------------------------------------------ */

#define TXN_HEADER "flow-txn"
#define STORED_TYPE "(simaymayxa(smay))"
#define STATE_TYPE "(ta(six)a" STORED_TYPE ")"
#define TXN_TIMEOUT_MS 60000

static GVariant *
maybe_bytes (const void *data,
             gsize       len)
{
  if (data == NULL)
    return g_variant_new_maybe (G_VARIANT_TYPE_BYTESTRING, NULL);
  return g_variant_new_maybe (NULL, g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE,
                                                               len > 0 ? data : "", len, 1));
}

/* A message to produce later: (topic, partition or -1, key, value,
 * timestamp in µs or 0, headers). */
static GVariant *
stored_new (const char         *topic,
            gint32              partition,
            const void         *key,
            gsize               key_len,
            const void         *value,
            gsize               value_len,
            gint64              timestamp,
            rd_kafka_headers_t *headers)
{
  GVariantBuilder hb;
  const char *name;
  const void *data;
  size_t len;

  g_variant_builder_init (&hb, G_VARIANT_TYPE ("a(smay)"));
  for (size_t i = 0; headers != NULL && rd_kafka_header_get_all (headers, i, &name, &data, &len) == 0; i++)
    g_variant_builder_add (&hb, "(s@may)", name, maybe_bytes (data, len));
  return g_variant_new ("(si@may@mayxa(smay))", topic, partition,
                        maybe_bytes (key, key_len), maybe_bytes (value, value_len),
                        timestamp, &hb);
}

static const void *
maybe_data (GVariant *maybe,
            gsize    *len)
{
  g_autoptr(GVariant) inner = g_variant_get_maybe (maybe);
  const void *data;

  *len = 0;
  if (inner == NULL)
    return NULL;
  /* @maybe holds its child's data: it outlives @inner here */
  data = g_variant_get_fixed_array (inner, len, 1);
  return data != NULL ? data : "";
}

/* Produces stored message @index of batch @batch. */
static gboolean
send_stored (FlowKafkaSinkPartition  *self,
             GVariant                *msg,
             guint64                  batch,
             guint                    index,
             GError                 **error)
{
  g_autoptr(GVariant) key_v = NULL, value_v = NULL, headers_v = NULL;
  g_autofree char *tag = g_strdup_printf ("%016" G_GINT64_MODIFIER "x:%u", batch, index);
  rd_kafka_headers_t *headers;
  const char *topic;
  gint32 partition;
  gint64 timestamp;
  const void *key, *value;
  gsize key_len, value_len, n;

  g_variant_get (msg, "(&si@may@mayx@a(smay))", &topic, &partition, &key_v, &value_v,
                 &timestamp, &headers_v);
  n = g_variant_n_children (headers_v);
  headers = rd_kafka_headers_new (n + 1);
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) v = NULL;
      const char *name;
      const void *data;
      gsize len;

      g_variant_get_child (headers_v, i, "(&s@may)", &name, &v);
      data = maybe_data (v, &len);
      rd_kafka_header_add (headers, name, -1, data, (ssize_t) len);
    }
  rd_kafka_header_add (headers, TXN_HEADER, -1, tag, -1);
  key = maybe_data (key_v, &key_len);
  value = maybe_data (value_v, &value_len);
  return send_one (self, topic, partition < 0 ? RD_KAFKA_PARTITION_UA : partition,
                   key, key_len, value, value_len, timestamp, headers, error);
}

static gboolean
txn_error (rd_kafka_error_t  *err,
           const char        *what,
           GError           **error)
{
  if (err == NULL)
    return TRUE;
  g_set_error (error, FLOW_ERROR, FLOW_ERROR_IO, "%s the Kafka transaction failed: %s (%s)",
               what, rd_kafka_error_string (err), rd_kafka_error_name (err));
  rd_kafka_error_destroy (err);
  return FALSE;
}

/* Produces the messages of @state (STATE_TYPE) that @found does not hold
 * (indexes; NULL: none found) in one transaction, and commits it. */
static gboolean
publish (FlowKafkaSinkPartition  *self,
         GVariant                *state,
         GHashTable              *found,
         GError                 **error)
{
  g_autoptr(GVariant) msgs = g_variant_get_child_value (state, 2);
  guint64 batch;
  gsize n = g_variant_n_children (msgs);
  rd_kafka_error_t *err;
  guint sent = 0;

  g_variant_get_child (state, 0, "t", &batch);
  if (n == 0 || (found != NULL && g_hash_table_size (found) == n))
    return TRUE;

  if (!txn_error (rd_kafka_begin_transaction (self->rk), "beginning", error))
    return FALSE;
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) msg = NULL;

      if (found != NULL && g_hash_table_contains (found, GUINT_TO_POINTER (i + 1)))
        continue;
      msg = g_variant_get_child_value (msgs, i);
      if (!send_stored (self, msg, batch, (guint) i, error))
        goto abort;
      sent++;
    }
  /* Flushes, then commits; a failed delivery fails the commit. */
  err = rd_kafka_commit_transaction (self->rk, TXN_TIMEOUT_MS);
  if (err != NULL)
    {
      if (self->failure == NULL)
        txn_error (err, "committing", error);   /* frees it */
      else
        rd_kafka_error_destroy (err);
      goto abort;
    }
  if (!take_failure (self, error))
    goto abort;
  g_debug ("Kafka sink: batch %016" G_GINT64_MODIFIER "x: %u of %" G_GSIZE_FORMAT
           " messages committed", batch, sent, n);
  return TRUE;

abort:
  if (self->failure != NULL && error != NULL && *error == NULL)
    take_failure (self, error);
  g_clear_error (&self->failure);
  err = rd_kafka_abort_transaction (self->rk, TXN_TIMEOUT_MS);
  if (err != NULL)
    rd_kafka_error_destroy (err);
  return FALSE;
}

/* The end of the epoch: its messages, and where each partition of their
 * topics ends before any of them is produced, as the state to resume
 * from (STATE_TYPE). */
static GVariant *
prepare (FlowKafkaSinkPartition  *self,
         GError                 **error)
{
  g_autoptr(GHashTable) topics = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) msgs = g_steal_pointer (&self->pending);
  GVariantBuilder marks;
  GHashTableIter iter;
  gpointer topic;
  guint64 batch = 0;
  GVariant *state;

  self->pending = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  g_variant_builder_init (&marks, G_VARIANT_TYPE ("a(six)"));
  for (guint i = 0; i < msgs->len; i++)
    {
      const char *t;

      g_variant_get_child (g_ptr_array_index (msgs, i), 0, "&s", &t);
      g_hash_table_add (topics, (gpointer) t);
    }

  g_hash_table_iter_init (&iter, topics);
  while (g_hash_table_iter_next (&iter, &topic, NULL))
    {
      rd_kafka_topic_t *rkt = rd_kafka_topic_new (self->rk, topic, NULL);
      const struct rd_kafka_metadata *md = NULL;
      rd_kafka_resp_err_t err;

      err = rd_kafka_metadata (self->rk, 0, rkt, &md, TXN_TIMEOUT_MS);
      rd_kafka_topic_destroy (rkt);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt != 1)
        err = RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
      else if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topics[0].err != 0)
        err = md->topics[0].err;
      for (int p = 0; err == RD_KAFKA_RESP_ERR_NO_ERROR && p < md->topics[0].partition_cnt; p++)
        {
          int64_t low, high;
          gint32 id = md->topics[0].partitions[p].id;

          err = rd_kafka_query_watermark_offsets (self->rk, topic, id, &low, &high, TXN_TIMEOUT_MS);
          if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
            g_variant_builder_add (&marks, "(six)", (const char *) topic, id, (gint64) high);
        }
      if (md != NULL)
        rd_kafka_metadata_destroy (md);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        {
          g_variant_builder_clear (&marks);
          g_set_error (error, FLOW_ERROR, FLOW_ERROR_IO,
                       "finding where the partitions of Kafka topic '%s' end failed: %s (%s)",
                       (const char *) topic, rd_kafka_err2str (err), rd_kafka_err2name (err));
          return NULL;
        }
    }

  if (msgs->len > 0)
    while (batch == 0)
      batch = ((guint64) g_random_int () << 32) | g_random_int ();
  state = g_variant_new ("(t@a(six)@a" STORED_TYPE ")", batch, g_variant_builder_end (&marks),
                         g_variant_new_array (G_VARIANT_TYPE (STORED_TYPE),
                                              (GVariant **) msgs->pdata, msgs->len));
  g_clear_pointer (&self->prepared, g_variant_unref);
  self->prepared = g_variant_ref_sink (state);
  return g_variant_ref (self->prepared);
}

/* Which messages of @state's batch are committed: their indexes + 1. */
static GHashTable *
find_committed (FlowKafkaSinkPartition  *self,
                GVariant                *state,
                GError                 **error)
{
  g_autoptr(GHashTable) found = g_hash_table_new (NULL, NULL);
  g_autoptr(GVariant) marks = g_variant_get_child_value (state, 1);
  g_autoptr(GPtrArray) started = g_ptr_array_new ();   /* (rkt, partition) pairs */
  g_autoptr(GHashTable) rkts = NULL;
  rd_kafka_queue_t *queue;
  rd_kafka_conf_t *conf;
  rd_kafka_t *rk;
  char errstr[512];
  guint64 batch;
  int open = 0;
  gint64 deadline = g_get_monotonic_time () + TXN_TIMEOUT_MS * G_TIME_SPAN_MILLISECOND;
  gboolean ok = TRUE;

  g_variant_get_child (state, 0, "t", &batch);
  conf = flow_kafka_conf_new (self->brokers, self->config, error);
  if (conf == NULL ||
      !flow_kafka_conf_set (conf, "isolation.level", "read_committed", error) ||
      !flow_kafka_conf_set (conf, "enable.partition.eof", "true", error) ||
      !flow_kafka_conf_set (conf, "enable.auto.commit", "false", error))
    {
      g_clear_pointer (&conf, rd_kafka_conf_destroy);
      return NULL;
    }
  rk = rd_kafka_new (RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (rk == NULL)
    {
      rd_kafka_conf_destroy (conf);
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "creating a Kafka consumer for %s: %s", self->brokers, errstr);
      return NULL;
    }

  /* Every partition from its mark, into one queue (no consumer group). */
  queue = rd_kafka_queue_new (rk);
  rkts = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) rd_kafka_topic_destroy);
  for (gsize i = 0; i < g_variant_n_children (marks); i++)
    {
      const char *topic;
      gint32 partition;
      gint64 offset;
      rd_kafka_topic_t *rkt;

      g_variant_get_child (marks, i, "(&six)", &topic, &partition, &offset);
      rkt = g_hash_table_lookup (rkts, topic);
      if (rkt == NULL)
        {
          rkt = rd_kafka_topic_new (rk, topic, NULL);
          g_hash_table_insert (rkts, (gpointer) rd_kafka_topic_name (rkt), rkt);
        }
      if (rd_kafka_consume_start_queue (rkt, partition, offset, queue) == 0)
        {
          g_ptr_array_add (started, rkt);
          g_ptr_array_add (started, GINT_TO_POINTER (partition));
          open++;
        }
      else if (ok)
        {
          g_set_error (error, FLOW_ERROR, FLOW_ERROR_IO,
                       "reading back the last epoch's output from Kafka topic '%s' partition %d failed: %s",
                       topic, partition, rd_kafka_err2str (rd_kafka_last_error ()));
          ok = FALSE;
        }
    }

  while (ok && open > 0)
    {
      rd_kafka_message_t *m = rd_kafka_consume_queue (queue, 100);

      if (m == NULL)
        {
          if (g_get_monotonic_time () > deadline)
            {
              g_set_error (error, FLOW_ERROR, FLOW_ERROR_IO,
                           "reading back the last epoch's Kafka output timed out "
                           "(%d partitions not read to their end)", open);
              ok = FALSE;
            }
          continue;
        }
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
        open--;
      else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR)
        {
          g_set_error (error, FLOW_ERROR, FLOW_ERROR_IO,
                       "reading back the last epoch's output from Kafka topic '%s' partition %d failed: %s",
                       m->rkt != NULL ? rd_kafka_topic_name (m->rkt) : "?", m->partition,
                       rd_kafka_message_errstr (m));
          ok = FALSE;
        }
      else
        {
          rd_kafka_headers_t *headers = NULL;
          const void *tag;
          size_t len;

          if (rd_kafka_message_headers (m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
              rd_kafka_header_get_last (headers, TXN_HEADER, &tag, &len) == RD_KAFKA_RESP_ERR_NO_ERROR &&
              tag != NULL && len > 17 && len < 40)
            {
              char text[40];
              guint64 b, index;
              char *end;

              memcpy (text, tag, len);
              text[len] = '\0';
              b = g_ascii_strtoull (text, &end, 16);
              if (end == text + 16 && *end == ':' && b == batch &&
                  g_ascii_string_to_unsigned (end + 1, 10, 0, G_MAXUINT32, &index, NULL))
                g_hash_table_add (found, GUINT_TO_POINTER ((guint) index + 1));
            }
        }
      rd_kafka_message_destroy (m);
    }
  for (guint i = 0; i < started->len; i += 2)
    rd_kafka_consume_stop (g_ptr_array_index (started, i),
                           GPOINTER_TO_INT (g_ptr_array_index (started, i + 1)));
  g_clear_pointer (&rkts, g_hash_table_unref);
  rd_kafka_queue_destroy (queue);
  rd_kafka_destroy (rk);
  return ok ? g_steal_pointer (&found) : NULL;
}

/* Finishes the epoch a resumed run starts from: commits what of its
 * messages the crash left uncommitted. */
static gboolean
recover (FlowKafkaSinkPartition  *self,
         GVariant                *state,
         GError                 **error)
{
  g_autoptr(GHashTable) found = NULL;
  g_autoptr(GVariant) msgs = NULL;

  if (!g_variant_is_of_type (state, G_VARIANT_TYPE (STATE_TYPE)))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_WRONG_TYPE,
                   "the resume state of a transactional Kafka sink must be of type "
                   STATE_TYPE ", not %s (was it written by a sink without a transactional.id?)",
                   g_variant_get_type_string (state));
      return FALSE;
    }
  msgs = g_variant_get_child_value (state, 2);
  if (g_variant_n_children (msgs) == 0)
    return TRUE;
  found = find_committed (self, state, error);
  if (found == NULL)
    return FALSE;
  g_debug ("Kafka sink: resuming: %u of %" G_GSIZE_FORMAT " messages of the last epoch were committed",
           g_hash_table_size (found), g_variant_n_children (msgs));
  return publish (self, state, found, error);
}

static gboolean
flow_kafka_sink_partition_commit (FlowSinkPartition  *part,
                                  guint64             epoch,
                                  GError            **error)
{
  FlowKafkaSinkPartition *self = FLOW_KAFKA_SINK_PARTITION (part);
  g_autoptr(GVariant) state = g_steal_pointer (&self->prepared);

  if (!self->txn || state == NULL)
    return TRUE;
  if (!publish (self, state, NULL, error))
    {
      g_prefix_error (error, "epoch %" G_GUINT64_FORMAT ": ", epoch);
      return FALSE;
    }
  return TRUE;
}

static gboolean
kafka_fast_write (FlowSinkPartition  *part,
                  const FlowBatch    *batch,
                  GError            **error)
{
  FlowKafkaSinkPartition *self = FLOW_KAFKA_SINK_PARTITION (part);

  if (!take_failure (self, error))
    return FALSE;
  for (guint i = 0; i < batch->len; i++)
    if (!produce (self, batch->items[i].key, batch->items[i].value, error))
      return FALSE;
  /* Serve the delivery reports of what went out so far. */
  rd_kafka_poll (self->rk, 0);
  return take_failure (self, error);
}

static gboolean
flow_kafka_sink_partition_write_batch (FlowSinkPartition  *part,
                                       GPtrArray          *items,
                                       GError            **error)
{
  FlowKafkaSinkPartition *self = FLOW_KAFKA_SINK_PARTITION (part);

  if (!take_failure (self, error))
    return FALSE;
  for (guint i = 0; i < items->len; i++)
    if (!produce (self, NULL, g_ptr_array_index (items, i), error))
      return FALSE;
  rd_kafka_poll (self->rk, 0);
  return take_failure (self, error);
}

/* Waits until every message produced so far was delivered or failed. */
static gboolean
flush (FlowKafkaSinkPartition  *self,
       GError                 **error)
{
  rd_kafka_resp_err_t err;

  if (self->rk == NULL)
    return TRUE;
  do
    err = rd_kafka_flush (self->rk, 1000);
  while (err == RD_KAFKA_RESP_ERR__TIMED_OUT && self->failure == NULL);
  g_debug ("Kafka sink: %" G_GUINT64_FORMAT " messages produced, %" G_GUINT64_FORMAT " delivered",
           self->n_produced, self->n_delivered);
  return take_failure (self, error);
}

static GVariant *
flow_kafka_sink_partition_snapshot (FlowSinkPartition  *part,
                                    GError            **error)
{
  FlowKafkaSinkPartition *self = FLOW_KAFKA_SINK_PARTITION (part);

  if (self->txn)
    return prepare (self, error);
  flush (self, error);
  return NULL;
}

static gboolean
flow_kafka_sink_partition_close (FlowSinkPartition  *part,
                                 GError            **error)
{
  FlowKafkaSinkPartition *self = FLOW_KAFKA_SINK_PARTITION (part);
  gboolean ok = TRUE;

  if (self->rk != NULL)
    {
      /* A run that failed on a delivery does not wait for the rest. */
      if (self->failure != NULL)
        rd_kafka_purge (self->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      ok = flush (self, error);
      g_clear_pointer (&self->rk, rd_kafka_destroy);
    }
  return ok;
}

static void
flow_kafka_sink_partition_finalize (GObject *object)
{
  FlowKafkaSinkPartition *self = FLOW_KAFKA_SINK_PARTITION (object);

  if (self->rk != NULL)
    {
      rd_kafka_purge (self->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      rd_kafka_flush (self->rk, 0);
      g_clear_pointer (&self->rk, rd_kafka_destroy);
    }
  g_clear_error (&self->failure);
  g_free (self->topic);
  g_free (self->brokers);
  g_clear_pointer (&self->config, g_hash_table_unref);
  g_clear_pointer (&self->pending, g_ptr_array_unref);
  g_clear_pointer (&self->prepared, g_variant_unref);

  G_OBJECT_CLASS (flow_kafka_sink_partition_parent_class)->finalize (object);
}

static void
flow_kafka_sink_partition_class_init (FlowKafkaSinkPartitionClass *klass)
{
  FlowSinkPartitionClass *part_class = FLOW_SINK_PARTITION_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = flow_kafka_sink_partition_finalize;
  part_class->write_batch = flow_kafka_sink_partition_write_batch;
  part_class->snapshot = flow_kafka_sink_partition_snapshot;
  part_class->close = flow_kafka_sink_partition_close;
  part_class->commit = flow_kafka_sink_partition_commit;
}

static void
flow_kafka_sink_partition_init (FlowKafkaSinkPartition *self)
{
  flow_sink_partition_set_fast_path (FLOW_SINK_PARTITION (self), kafka_fast_write);
}

/* ------------------------------------------------------------------------
 * The sink
 * ------------------------------------------------------------------------ */

static FlowSinkPartition *
flow_kafka_sink_build_part (FlowSink    *sink,
                            const char  *step_id,
                            const char  *part_key,
                            GVariant    *resume_state,
                            GError     **error)
{
  FlowKafkaSink *self = FLOW_KAFKA_SINK (sink);
  g_autoptr(FlowKafkaSinkPartition) part = NULL;
  rd_kafka_conf_t *conf;
  char errstr[512];

  conf = flow_kafka_conf_new (self->brokers, self->config, error);
  if (conf == NULL)
    return NULL;

  part = g_object_new (FLOW_TYPE_KAFKA_SINK_PARTITION, NULL);
  part->topic = g_strdup (self->topic);
  part->keep_read_metadata = self->keep_read_metadata;
  part->brokers = g_strdup (self->brokers);
  part->config = g_hash_table_ref (self->config);
  part->txn = self->transactional_id != NULL;
  part->pending = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  if (part->txn &&
      (!flow_kafka_conf_set (conf, "transactional.id", self->transactional_id, error) ||
       !flow_kafka_conf_set (conf, "transaction.timeout.ms", "60000", error)))
    {
      rd_kafka_conf_destroy (conf);
      return NULL;
    }
  rd_kafka_conf_set_dr_msg_cb (conf, delivery_cb);
  rd_kafka_conf_set_opaque (conf, part);
  part->rk = rd_kafka_new (RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (part->rk == NULL)
    {
      rd_kafka_conf_destroy (conf);
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "creating a Kafka producer for %s: %s", self->brokers, errstr);
      return NULL;
    }

  if (part->txn)
    {
      /* Fences a killed run's producer of the same transactional.id,
       * aborting its open transaction; then finishes the epoch resumed
       * from. */
      if (!txn_error (rd_kafka_init_transactions (part->rk, TXN_TIMEOUT_MS),
                      "initialising", error))
        {
          g_prefix_error (error, "transactional.id '%s': ", self->transactional_id);
          return NULL;
        }
      if (resume_state != NULL && !recover (part, resume_state, error))
        return NULL;
    }
  return FLOW_SINK_PARTITION (g_steal_pointer (&part));
}

static void
flow_kafka_sink_finalize (GObject *object)
{
  FlowKafkaSink *self = FLOW_KAFKA_SINK (object);

  g_free (self->brokers);
  g_free (self->topic);
  g_free (self->transactional_id);
  g_hash_table_unref (self->config);

  G_OBJECT_CLASS (flow_kafka_sink_parent_class)->finalize (object);
}

static void
flow_kafka_sink_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  FlowKafkaSink *self = FLOW_KAFKA_SINK (object);

  switch (prop_id)
    {
    case PROP_BROKERS:
      g_value_set_string (value, self->brokers);
      break;
    case PROP_TOPIC:
      g_value_set_string (value, self->topic);
      break;
    case PROP_KEEP_READ_METADATA:
      g_value_set_boolean (value, self->keep_read_metadata);
      break;
    case PROP_TRANSACTIONAL_ID:
      g_value_set_string (value, self->transactional_id);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
flow_kafka_sink_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  FlowKafkaSink *self = FLOW_KAFKA_SINK (object);

  switch (prop_id)
    {
    case PROP_BROKERS:
      self->brokers = g_value_dup_string (value);
      break;
    case PROP_TOPIC:
      self->topic = g_value_dup_string (value);
      break;
    case PROP_KEEP_READ_METADATA:
      self->keep_read_metadata = g_value_get_boolean (value);
      break;
    case PROP_TRANSACTIONAL_ID:
      flow_kafka_sink_set_transactional_id (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
flow_kafka_sink_class_init (FlowKafkaSinkClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  FlowSinkClass *sink_class = FLOW_SINK_CLASS (klass);

  object_class->finalize = flow_kafka_sink_finalize;
  object_class->get_property = flow_kafka_sink_get_property;
  object_class->set_property = flow_kafka_sink_set_property;
  sink_class->build_part = flow_kafka_sink_build_part;

  /**
   * FlowKafkaSink:brokers:
   *
   * The brokers to bootstrap from, as librdkafka's `bootstrap.servers`: a
   * comma-separated list of `host:port`.
   */
  properties[PROP_BROKERS] =
    g_param_spec_string ("brokers", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * FlowKafkaSink:topic:
   *
   * The topic of messages that do not name their own, or %NULL if every
   * message names its topic.
   */
  properties[PROP_TOPIC] =
    g_param_spec_string ("topic", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * FlowKafkaSink:keep-read-metadata:
   *
   * Whether a message as a [class@Flow.KafkaSource] read it (an item of
   * type %FLOW_KAFKA_MESSAGE_TYPE_STRING, or any seven-tuple whose offset
   * is an `x`) is produced to its own topic and partition with its
   * timestamp (%TRUE, the default), or as a new message with its key,
   * value and headers (%FALSE): to the sink's topic, in the partition its
   * key chooses, stamped with the time of producing. Python's
   * `KafkaSink` sets it to %FALSE, as `KafkaSourceMessage.to_sink()` does.
   */
  properties[PROP_KEEP_READ_METADATA] =
    g_param_spec_boolean ("keep-read-metadata", NULL, NULL,
                          TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * FlowKafkaSink:transactional-id:
   *
   * The Kafka `transactional.id` of the sink's producer, or %NULL (the
   * default) for at-least-once output. With an id, the sink is
   * transactional: the messages of an epoch are produced in one Kafka
   * transaction once the epoch is committed, so a consumer reading with
   * `isolation.level=read_committed` sees every message exactly once, also
   * after crashes (see the "Kafka" page). The id must stay the same
   * across the resumes of a recovery directory, and no two running
   * processes may use the same id.
   */
  properties[PROP_TRANSACTIONAL_ID] =
    g_param_spec_string ("transactional-id", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
flow_kafka_sink_init (FlowKafkaSink *self)
{
  self->keep_read_metadata = TRUE;
  self->config = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_insert (self->config, g_strdup ("enable.idempotence"), g_strdup ("true"));
}

/**
 * flow_kafka_sink_new:
 * @brokers: the brokers to bootstrap from (`host:port`, comma-separated)
 * @topic: (nullable): the topic of messages that do not name their own
 *
 * Creates a sink producing to Kafka. The brokers are contacted when a run
 * starts.
 *
 * Returns: (transfer full): a new Kafka sink
 */
FlowKafkaSink *
flow_kafka_sink_new (const char *brokers,
                     const char *topic)
{
  g_return_val_if_fail (brokers != NULL, NULL);

  return g_object_new (FLOW_TYPE_KAFKA_SINK, "brokers", brokers, "topic", topic, NULL);
}

/**
 * flow_kafka_sink_get_brokers:
 * @self: a Kafka sink
 *
 * Gets [property@Flow.KafkaSink:brokers].
 *
 * Returns: the brokers
 */
const char *
flow_kafka_sink_get_brokers (FlowKafkaSink *self)
{
  g_return_val_if_fail (FLOW_IS_KAFKA_SINK (self), NULL);

  return self->brokers;
}

/**
 * flow_kafka_sink_get_topic:
 * @self: a Kafka sink
 *
 * Gets [property@Flow.KafkaSink:topic].
 *
 * Returns: (nullable): the default topic
 */
const char *
flow_kafka_sink_get_topic (FlowKafkaSink *self)
{
  g_return_val_if_fail (FLOW_IS_KAFKA_SINK (self), NULL);

  return self->topic;
}

/**
 * flow_kafka_sink_set_config:
 * @self: a Kafka sink
 * @name: the name of a librdkafka setting, such as `compression.type`
 * @value: (nullable): its value, or %NULL to remove the setting
 *
 * Sets a librdkafka setting of the producer (see librdkafka's
 * `CONFIGURATION.md`). A bad name or value fails the next run with
 * %FLOW_ERROR_INVALID_ARGUMENT naming it. `transactional.id` sets
 * [property@Flow.KafkaSink:transactional-id] (the transactional mode).
 */
void
flow_kafka_sink_set_config (FlowKafkaSink *self,
                            const char    *name,
                            const char    *value)
{
  g_return_if_fail (FLOW_IS_KAFKA_SINK (self));
  g_return_if_fail (name != NULL);

  /* The transactional mode goes with the id (librdkafka's producer needs
   * its transactions initialised). */
  if (g_str_equal (name, "transactional.id"))
    {
      flow_kafka_sink_set_transactional_id (self, value);
      return;
    }
  if (value == NULL)
    g_hash_table_remove (self->config, name);
  else
    g_hash_table_insert (self->config, g_strdup (name), g_strdup (value));
}

/**
 * flow_kafka_sink_set_keep_read_metadata:
 * @self: a Kafka sink
 * @keep: whether messages as read keep their topic, partition and timestamp
 *
 * Sets [property@Flow.KafkaSink:keep-read-metadata].
 */
void
flow_kafka_sink_set_keep_read_metadata (FlowKafkaSink *self,
                                        gboolean       keep)
{
  g_return_if_fail (FLOW_IS_KAFKA_SINK (self));

  keep = !!keep;
  if (self->keep_read_metadata == keep)
    return;
  self->keep_read_metadata = keep;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_KEEP_READ_METADATA]);
}

/**
 * flow_kafka_sink_get_keep_read_metadata:
 * @self: a Kafka sink
 *
 * Gets [property@Flow.KafkaSink:keep-read-metadata].
 *
 * Returns: whether messages as read keep their topic, partition and timestamp
 */
gboolean
flow_kafka_sink_get_keep_read_metadata (FlowKafkaSink *self)
{
  g_return_val_if_fail (FLOW_IS_KAFKA_SINK (self), TRUE);

  return self->keep_read_metadata;
}

/**
 * flow_kafka_sink_set_transactional_id:
 * @self: a Kafka sink
 * @transactional_id: (nullable): a `transactional.id`, or %NULL
 *
 * Sets [property@Flow.KafkaSink:transactional-id]: with an id, the sink
 * produces each epoch's messages in one Kafka transaction, committed once
 * the epoch is, for exactly-once output.
 */
void
flow_kafka_sink_set_transactional_id (FlowKafkaSink *self,
                                      const char    *transactional_id)
{
  g_return_if_fail (FLOW_IS_KAFKA_SINK (self));

  if (g_strcmp0 (self->transactional_id, transactional_id) == 0)
    return;
  g_free (self->transactional_id);
  self->transactional_id = g_strdup (transactional_id);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TRANSACTIONAL_ID]);
}

/**
 * flow_kafka_sink_get_transactional_id:
 * @self: a Kafka sink
 *
 * Gets [property@Flow.KafkaSink:transactional-id].
 *
 * Returns: (nullable): the `transactional.id`, or %NULL
 */
const char *
flow_kafka_sink_get_transactional_id (FlowKafkaSink *self)
{
  g_return_val_if_fail (FLOW_IS_KAFKA_SINK (self), NULL);

  return self->transactional_id;
}

/**
 * flow_kafka_sink_get_config:
 * @self: a Kafka sink
 * @name: the name of a librdkafka setting
 *
 * Gets a setting given with [method@Flow.KafkaSink.set_config].
 *
 * Returns: (nullable): its value, or %NULL when it was not set
 */
const char *
flow_kafka_sink_get_config (FlowKafkaSink *self,
                            const char    *name)
{
  g_return_val_if_fail (FLOW_IS_KAFKA_SINK (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  if (g_str_equal (name, "transactional.id"))
    return self->transactional_id;
  return g_hash_table_lookup (self->config, name);
}
