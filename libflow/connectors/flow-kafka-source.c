/* flow-kafka-source.c: the partitions of Kafka topics, resumable
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>
#include <librdkafka/rdkafka.h>

#include "flow-private.h"
#include "flow-kafka-private.h"

/**
 * FlowKafkaSource:
 *
 * A source reading Kafka topics through librdkafka: one partition per
 * partition of the given topics, named `"PARTITION-TOPIC"` (as Bytewax
 * names them, `"0-events"`).
 *
 * Each message is an item of type %FLOW_KAFKA_MESSAGE_TYPE_STRING: (key,
 * value, topic, partition, offset, timestamp, headers). A partition reads
 * up to [property@Flow.KafkaSource:batch-size] messages at a time and never
 * blocks the run's main loop: librdkafka fetches in its own threads, and
 * the partition is woken through a file descriptor when messages arrive.
 *
 * Each partition's snapshot is the offset of the next message to read, so a
 * resumed run continues just after the last message of the last committed
 * epoch. A partition without a resume state starts at
 * [property@Flow.KafkaSource:starting-offset]. With
 * [property@Flow.KafkaSource:tail] %FALSE a partition ends when it reaches
 * the end of what the topic held (its high watermark); otherwise it waits
 * for new messages forever.
 *
 * An error of the broker about a partition (an unknown or deleted topic, an
 * unknown partition, a message too large to fetch) fails the run with
 * %FLOW_ERROR_IO naming the topic and partition, or, when
 * [property@Flow.KafkaSource:raise-on-errors] is %FALSE, is emitted as an
 * item of type %FLOW_KAFKA_ERROR_TYPE_STRING among the messages. Errors of
 * the connection (a broker down) are retried by librdkafka and are only
 * logged: no message is skipped.
 *
 * Settings are librdkafka's (see its `CONFIGURATION.md`), passed with
 * [method@Flow.KafkaSource.set_config]; `bootstrap.servers` is the brokers
 * given to [ctor@Flow.KafkaSource.new].
 */

#define DEFAULT_BATCH_SIZE 1000
/* How long an idle partition waits before it is polled again when it has
 * no way to be woken up early (a safety net; see wake_cb()). */
#define IDLE_WAIT_USEC (100 * G_TIME_SPAN_MILLISECOND)
#define METADATA_TIMEOUT_MS 10000

struct _FlowKafkaSource
{
  FlowSource               parent_instance;

  char                    *brokers;
  char                   **topics;
  GHashTable              *config;      /* name → value */
  FlowKafkaStartingOffset  starting_offset;
  gboolean                 tail;
  guint                    batch_size;
  gboolean                 raise_on_errors;
  guint                    share_index;
  guint                    share_count;

  /* The client of the run being started: made by list_parts(), shared by
   * the partitions built from that list. */
  FlowKafkaClient         *client;
  guint                    n_unbuilt;
};

enum {
  PROP_0,
  PROP_BROKERS,
  PROP_TOPICS,
  PROP_STARTING_OFFSET,
  PROP_TAIL,
  PROP_BATCH_SIZE,
  PROP_RAISE_ON_ERRORS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (FlowKafkaSource, flow_kafka_source, FLOW_TYPE_SOURCE)

G_DEFINE_ENUM_TYPE (FlowKafkaStartingOffset, flow_kafka_starting_offset,
                    G_DEFINE_ENUM_VALUE (FLOW_KAFKA_STARTING_OFFSET_BEGINNING, "beginning"),
                    G_DEFINE_ENUM_VALUE (FLOW_KAFKA_STARTING_OFFSET_END, "end"),
                    G_DEFINE_ENUM_VALUE (FLOW_KAFKA_STARTING_OFFSET_STORED, "stored"))

#define FLOW_TYPE_KAFKA_SOURCE_PARTITION (flow_kafka_source_partition_get_type ())
G_DECLARE_FINAL_TYPE (FlowKafkaSourcePartition, flow_kafka_source_partition, FLOW, KAFKA_SOURCE_PARTITION, FlowSourcePartition)

struct _FlowKafkaSourcePartition
{
  FlowSourcePartition   parent_instance;

  FlowKafkaClient      *client;
  rd_kafka_topic_t     *rkt;
  rd_kafka_queue_t     *queue;
  char                 *topic;
  gsize                 topic_len;
  gint32                partition;
  gint64                next_offset;   /* or a logical RD_KAFKA_OFFSET_* */
  guint                 batch_size;
  gboolean              tail;
  gboolean              raise_on_errors;
  gboolean              started;
  gboolean              eof;
  gboolean              maybe_more;    /* the last read filled a batch */
  rd_kafka_message_t  **messages;

  /* Waking up: librdkafka writes to wake_fds[1] when the queue becomes
   * non-empty; wake_source watches wake_fds[0] and makes the runner's
   * source of this partition ready. */
  int                   wake_fds[2];
  GSource              *wake_source;
  GSource              *poll_source;   /* the runner's, as seen dispatching */
  guint64               n_reads, n_empty, n_wakes, n_messages;
};

G_DEFINE_FINAL_TYPE (FlowKafkaSourcePartition, flow_kafka_source_partition, FLOW_TYPE_SOURCE_PARTITION)

/* ------------------------------------------------------------------------
 * The client shared by the partitions of one run
 * ------------------------------------------------------------------------ */

static void
log_cb (const rd_kafka_t *rk,
        int               level,
        const char       *fac,
        const char       *buf)
{
  /* Connection trouble is retried by librdkafka: it is worth a debug
   * message, not a warning on every reconnect. */
  g_debug ("librdkafka %s: %s: %s", rd_kafka_name (rk), fac, buf);
}

static void
error_cb (rd_kafka_t *rk,
          int         err,
          const char *reason,
          void       *opaque)
{
  g_debug ("librdkafka %s: %s (%s)", rd_kafka_name (rk), reason,
           rd_kafka_err2name (err));
}

gboolean
flow_kafka_conf_set (rd_kafka_conf_t  *conf,
                     const char       *name,
                     const char       *value,
                     GError          **error)
{
  char errstr[512];

  if (rd_kafka_conf_set (conf, name, value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "Kafka setting %s=%s: %s", name, value, errstr);
      return FALSE;
    }
  return TRUE;
}

rd_kafka_conf_t *
flow_kafka_conf_new (const char  *brokers,
                     GHashTable  *config,
                     GError     **error)
{
  rd_kafka_conf_t *conf = rd_kafka_conf_new ();
  GHashTableIter iter;
  gpointer name, value;

  rd_kafka_conf_set_log_cb (conf, log_cb);
  rd_kafka_conf_set_error_cb (conf, error_cb);
  if (!flow_kafka_conf_set (conf, "bootstrap.servers", brokers, error))
    goto failed;

  g_hash_table_iter_init (&iter, config);
  while (g_hash_table_iter_next (&iter, &name, &value))
    if (!flow_kafka_conf_set (conf, name, value, error))
      goto failed;
  return conf;

failed:
  rd_kafka_conf_destroy (conf);
  return NULL;
}

struct _FlowKafkaClient
{
  gatomicrefcount  ref;
  rd_kafka_t      *rk;
};

static FlowKafkaClient *
client_new (FlowKafkaSource  *self,
            GError          **error)
{
  rd_kafka_conf_t *conf;
  FlowKafkaClient *client;
  char errstr[512];
  rd_kafka_t *rk;

  conf = flow_kafka_conf_new (self->brokers, self->config, error);
  if (conf == NULL)
    return NULL;
  /* The end of a partition is seen as an event when the run ends there. */
  if (!self->tail && !flow_kafka_conf_set (conf, "enable.partition.eof", "true", error))
    {
      rd_kafka_conf_destroy (conf);
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

  client = g_new0 (FlowKafkaClient, 1);
  g_atomic_ref_count_init (&client->ref);
  client->rk = rk;
  return client;
}

static FlowKafkaClient *
client_ref (FlowKafkaClient *client)
{
  g_atomic_ref_count_inc (&client->ref);
  return client;
}

static void
client_unref (FlowKafkaClient *client)
{
  if (g_atomic_ref_count_dec (&client->ref))
    {
      rd_kafka_destroy (client->rk);
      g_free (client);
    }
}

/* ------------------------------------------------------------------------
 * Messages as items
 * ------------------------------------------------------------------------ */

static GVariant *
maybe_bytes (const void *data,
             gsize       len)
{
  if (data == NULL)
    return g_variant_new_maybe (G_VARIANT_TYPE_BYTESTRING, NULL);
  return g_variant_new_maybe (NULL, g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, data, len, 1));
}

GVariant *
flow_kafka_message_build (const void          *key,
                          gsize                key_len,
                          const void          *value,
                          gsize                value_len,
                          const char          *topic,
                          gint32               partition,
                          gint64               offset,
                          gint64               timestamp,
                          rd_kafka_headers_t  *headers)
{
  GVariant *children[7];

  children[0] = maybe_bytes (key, key_len);
  children[1] = maybe_bytes (value, value_len);
  children[2] = g_variant_new_string (topic);
  children[3] = g_variant_new_int32 (partition);
  children[4] = g_variant_new_int64 (offset);
  children[5] = g_variant_new_int64 (timestamp);
  if (headers != NULL && rd_kafka_header_cnt (headers) > 0)
    {
      GVariantBuilder builder;
      const char *name;
      const void *data;
      size_t size;

      g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(smay)"));
      for (size_t i = 0; rd_kafka_header_get_all (headers, i, &name, &data, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; i++)
        g_variant_builder_add (&builder, "(s@may)", name, maybe_bytes (data, size));
      children[6] = g_variant_builder_end (&builder);
    }
  else
    children[6] = g_variant_new_array (G_VARIANT_TYPE ("(smay)"), NULL, 0);

  return g_variant_new_tuple (children, G_N_ELEMENTS (children));
}

static inline void
put_offset (guint8 *p,
            gsize   value,
            gsize   size)
{
  for (gsize i = 0; i < size; i++)
    p[i] = (guint8) (value >> (8 * i));   /* little-endian, as GVariant's */
}

/* The same as flow_kafka_message_build() for a message without headers,
 * serialised at once into one buffer: a (maymaysixxa(smay)) is the key
 * and the value (each followed by a 0 byte when present), the topic and
 * its NUL, the partition aligned to 4, offset and timestamp aligned to 8,
 * an empty array, then the end offsets of the first three members, last
 * one first, in the smallest size that can address the whole. Three
 * allocations instead of about twenty. */
GVariant *
flow_kafka_message_encode (const void *key,
                           gsize       key_len,
                           const void *value,
                           gsize       value_len,
                           const char *topic,
                           gsize       topic_len,
                           gint32      partition,
                           gint64      offset,
                           gint64      timestamp)
{
  gsize end_key = key != NULL ? key_len + 1 : 0;
  gsize end_value = end_key + (value != NULL ? value_len + 1 : 0);
  gsize end_topic = end_value + topic_len + 1;
  gsize at_partition = (end_topic + 3) & ~(gsize) 3;
  gsize at_offset = (at_partition + 4 + 7) & ~(gsize) 7;
  gsize body = at_offset + 16;
  gsize osize, total;
  guint8 *buf;

  for (osize = 1; ; osize *= 2)
    {
      total = body + 3 * osize;
      if (osize == 8 || total <= (G_GUINT64_CONSTANT (1) << (8 * osize)) - 1)
        break;
    }

  buf = g_malloc (total);
  if (key != NULL)
    {
      memcpy (buf, key, key_len);
      buf[key_len] = 0;
    }
  if (value != NULL)
    {
      memcpy (buf + end_key, value, value_len);
      buf[end_key + value_len] = 0;
    }
  memcpy (buf + end_value, topic, topic_len);
  buf[end_value + topic_len] = 0;
  memset (buf + end_topic, 0, at_offset - end_topic);
  memcpy (buf + at_partition, &partition, 4);
  memcpy (buf + at_offset, &offset, 8);
  memcpy (buf + at_offset + 8, &timestamp, 8);
  put_offset (buf + body, end_topic, osize);
  put_offset (buf + body + osize, end_value, osize);
  put_offset (buf + body + 2 * osize, end_key, osize);

  return g_variant_new_from_data (G_VARIANT_TYPE (FLOW_KAFKA_MESSAGE_TYPE_STRING),
                                  buf, total, TRUE, g_free, buf);
}

GVariant *
flow_kafka_message_to_variant (const rd_kafka_message_t *msg,
                               const char               *topic,
                               gsize                     topic_len)
{
  rd_kafka_headers_t *headers = NULL;
  rd_kafka_timestamp_type_t ts_type;
  gint64 ts = rd_kafka_message_timestamp (msg, &ts_type);

  ts = ts_type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE || ts < 0 ? -1 : ts * G_TIME_SPAN_MILLISECOND;
  if (rd_kafka_message_headers (msg, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
      rd_kafka_header_cnt (headers) > 0)
    return flow_kafka_message_build (msg->key, msg->key_len, msg->payload, msg->len, topic,
                                     msg->partition, msg->offset, ts, headers);
  return flow_kafka_message_encode (msg->key, msg->key_len, msg->payload, msg->len, topic,
                                    topic_len, msg->partition, msg->offset, ts);
}

/* ------------------------------------------------------------------------
 * Partitions
 * ------------------------------------------------------------------------ */

static gboolean
wake_cb (int          fd,
         GIOCondition condition,
         gpointer     data)
{
  FlowKafkaSourcePartition *self = data;
  char buf[64];

  while (read (fd, buf, sizeof buf) > 0)
    ;
  self->n_wakes++;
  /* The runner polls this partition with a GSource that dispatches at the
   * time next_awake() returned; messages arrived, so make it ready now. */
  if (self->poll_source != NULL && !g_source_is_destroyed (self->poll_source))
    g_source_set_ready_time (self->poll_source, 0);
  return G_SOURCE_CONTINUE;
}

static const char *
offset_name (gint64 offset,
             char   buf[32])
{
  switch (offset)
    {
    case RD_KAFKA_OFFSET_BEGINNING:
      return "the beginning";
    case RD_KAFKA_OFFSET_END:
      return "the end";
    case RD_KAFKA_OFFSET_STORED:
      return "the stored group offset";
    default:
      g_snprintf (buf, 32, "offset %" G_GINT64_FORMAT, offset);
      return buf;
    }
}

/* Errors of a fetch that librdkafka retries by itself, from the same
 * offset: they are only logged. */
static gboolean
is_transient (rd_kafka_resp_err_t err)
{
  switch ((int) err)
    {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR:
    case RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_PREFERRED_LEADER_NOT_AVAILABLE:
      return TRUE;
    default:
      return FALSE;
    }
}

static gboolean
partition_start (FlowKafkaSourcePartition  *self,
                 GError                   **error)
{
  char buf[32];

  self->started = TRUE;
  if (rd_kafka_consume_start_queue (self->rkt, self->partition, self->next_offset, self->queue) != 0)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_IO,
                   "Kafka topic '%s' partition %d: cannot start reading at %s: %s",
                   self->topic, self->partition, offset_name (self->next_offset, buf),
                   rd_kafka_err2str (rd_kafka_last_error ()));
      return FALSE;
    }
  g_debug ("Kafka topic '%s' partition %d: reading from %s", self->topic, self->partition,
           offset_name (self->next_offset, buf));
  return TRUE;
}

static gboolean
kafka_fast_next (FlowSourcePartition  *part,
                 FlowBatch            *out,
                 gboolean             *eof,
                 GError              **error)
{
  FlowKafkaSourcePartition *self = FLOW_KAFKA_SOURCE_PARTITION (part);
  GError *local = NULL;
  GSource *current;
  ssize_t n;

  *eof = FALSE;
  if (self->eof)
    {
      *eof = TRUE;
      return TRUE;
    }

  /* This is called while the runner's source of this partition dispatches:
   * that is the source wake_cb() makes ready. */
  current = g_main_current_source ();
  if (current != self->poll_source && current != NULL && current != self->wake_source)
    {
      g_clear_pointer (&self->poll_source, g_source_unref);
      self->poll_source = g_source_ref (current);
    }

  if (!self->started && !partition_start (self, error))
    return FALSE;

  n = rd_kafka_consume_batch_queue (self->queue, 0, self->messages, self->batch_size);
  if (n < 0)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_IO,
                   "Kafka topic '%s' partition %d: reading failed: %s",
                   self->topic, self->partition, rd_kafka_err2str (rd_kafka_last_error ()));
      return FALSE;
    }
  self->maybe_more = (size_t) n == self->batch_size;
  self->n_reads++;
  self->n_messages += n;
  if (n == 0)
    self->n_empty++;

  flow_batch_reserve (out, out->len + n);
  for (ssize_t i = 0; i < n; i++)
    {
      rd_kafka_message_t *msg = self->messages[i];

      if (self->eof || local != NULL)
        ; /* messages after the end or an error are read again next run */
      else if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
        {
          if (!self->tail)
            {
              g_debug ("Kafka topic '%s' partition %d: end at offset %" G_GINT64_FORMAT,
                       self->topic, self->partition, msg->offset);
              self->eof = TRUE;
              *eof = TRUE;
            }
        }
      else if (is_transient (msg->err))
        g_debug ("Kafka topic '%s' partition %d: %s (%s); retrying",
                 self->topic, self->partition, rd_kafka_err2str (msg->err),
                 rd_kafka_err2name (msg->err));
      else if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR)
        {
          char *reason = msg->payload != NULL
            ? g_strndup (msg->payload, msg->len)
            : g_strdup (rd_kafka_err2str (msg->err));

          if (self->raise_on_errors)
            g_set_error (&local, FLOW_ERROR, FLOW_ERROR_IO,
                         "Kafka topic '%s' partition %d: %s (%s)",
                         self->topic, self->partition, reason, rd_kafka_err2name (msg->err));
          else
            flow_batch_push_take (out, NULL,
                                  g_variant_ref_sink (g_variant_new ("(sixis)", self->topic,
                                                                     self->partition, (gint64) msg->offset,
                                                                     (gint32) msg->err, reason)));
          g_free (reason);
        }
      else
        {
          flow_batch_push_take (out, NULL,
                                g_variant_ref_sink (flow_kafka_message_to_variant (msg, self->topic, self->topic_len)));
          self->next_offset = msg->offset + 1;
        }
      rd_kafka_message_destroy (msg);
    }

  if (local != NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  return TRUE;
}

static GVariant *
flow_kafka_source_partition_next_batch (FlowSourcePartition  *part,
                                        GError              **error)
{
  FlowBatch batch;
  gboolean eof;
  GVariantBuilder builder;

  flow_batch_init (&batch);
  if (!kafka_fast_next (part, &batch, &eof, error))
    {
      flow_batch_destroy (&batch);
      return NULL;
    }
  if (eof && batch.len == 0)
    {
      flow_batch_destroy (&batch);
      return NULL;
    }

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("av"));
  for (guint i = 0; i < batch.len; i++)
    g_variant_builder_add (&builder, "v", batch.items[i].value);
  flow_batch_destroy (&batch);
  return g_variant_ref_sink (g_variant_builder_end (&builder));
}

static gint64
flow_kafka_source_partition_next_awake (FlowSourcePartition *part)
{
  FlowKafkaSourcePartition *self = FLOW_KAFKA_SOURCE_PARTITION (part);

  if (self->eof || self->maybe_more)
    return 0;
  /* Idle: wake_cb() makes the runner poll again as soon as a message
   * arrives; the deadline is only a safety net. */
  return g_get_monotonic_time () + IDLE_WAIT_USEC;
}

static GVariant *
flow_kafka_source_partition_snapshot (FlowSourcePartition  *part,
                                      GError              **error)
{
  FlowKafkaSourcePartition *self = FLOW_KAFKA_SOURCE_PARTITION (part);

  return g_variant_ref_sink (g_variant_new_int64 (self->next_offset));
}

static void
partition_release (FlowKafkaSourcePartition *self)
{
  if (self->rkt != NULL)
    g_debug ("Kafka topic '%s' partition %d: %" G_GUINT64_FORMAT " messages in %" G_GUINT64_FORMAT
             " reads (%" G_GUINT64_FORMAT " empty), %" G_GUINT64_FORMAT " wake-ups",
             self->topic, self->partition, self->n_messages, self->n_reads, self->n_empty,
             self->n_wakes);
  if (self->wake_source != NULL)
    {
      g_source_destroy (self->wake_source);
      g_clear_pointer (&self->wake_source, g_source_unref);
    }
  g_clear_pointer (&self->poll_source, g_source_unref);

  if (self->rkt != NULL)
    {
      if (self->started)
        rd_kafka_consume_stop (self->rkt, self->partition);
      g_clear_pointer (&self->rkt, rd_kafka_topic_destroy);
    }
  if (self->queue != NULL)
    {
      rd_kafka_queue_io_event_enable (self->queue, -1, NULL, 0);
      g_clear_pointer (&self->queue, rd_kafka_queue_destroy);
    }
  for (guint i = 0; i < 2; i++)
    if (self->wake_fds[i] >= 0)
      {
        close (self->wake_fds[i]);
        self->wake_fds[i] = -1;
      }
  g_clear_pointer (&self->client, client_unref);
}

static gboolean
flow_kafka_source_partition_close (FlowSourcePartition  *part,
                                   GError              **error)
{
  partition_release (FLOW_KAFKA_SOURCE_PARTITION (part));
  return TRUE;
}

static void
flow_kafka_source_partition_finalize (GObject *object)
{
  FlowKafkaSourcePartition *self = FLOW_KAFKA_SOURCE_PARTITION (object);

  partition_release (self);
  g_free (self->messages);
  g_free (self->topic);

  G_OBJECT_CLASS (flow_kafka_source_partition_parent_class)->finalize (object);
}

static void
flow_kafka_source_partition_class_init (FlowKafkaSourcePartitionClass *klass)
{
  FlowSourcePartitionClass *part_class = FLOW_SOURCE_PARTITION_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = flow_kafka_source_partition_finalize;
  part_class->next_batch = flow_kafka_source_partition_next_batch;
  part_class->next_awake = flow_kafka_source_partition_next_awake;
  part_class->snapshot = flow_kafka_source_partition_snapshot;
  part_class->close = flow_kafka_source_partition_close;
}

static void
flow_kafka_source_partition_init (FlowKafkaSourcePartition *self)
{
  self->wake_fds[0] = self->wake_fds[1] = -1;
  flow_source_partition_set_fast_path (FLOW_SOURCE_PARTITION (self), kafka_fast_next);
}

/* ------------------------------------------------------------------------
 * The source
 * ------------------------------------------------------------------------ */

static gboolean
parse_part_key (const char  *part_key,
                gint32      *partition,
                const char **topic)
{
  const char *dash = strchr (part_key, '-');
  guint64 n;

  if (dash == NULL || dash == part_key || dash[1] == '\0')
    return FALSE;
  {
    g_autofree char *number = g_strndup (part_key, dash - part_key);
    if (!g_ascii_string_to_unsigned (number, 10, 0, G_MAXINT32, &n, NULL))
      return FALSE;
  }
  *partition = (gint32) n;
  *topic = dash + 1;
  return TRUE;
}

static char **
flow_kafka_source_list_parts (FlowSource  *source,
                              GError     **error)
{
  FlowKafkaSource *self = FLOW_KAFKA_SOURCE (source);
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  FlowKafkaClient *client;
  guint n_listed = 0;

  if (self->topics == NULL || self->topics[0] == NULL)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "a Kafka source needs at least one topic");
      return NULL;
    }

  g_clear_pointer (&self->client, client_unref);
  client = client_new (self, error);
  if (client == NULL)
    return NULL;

  for (guint t = 0; self->topics[t] != NULL; t++)
    {
      const char *topic = self->topics[t];
      rd_kafka_topic_t *rkt = rd_kafka_topic_new (client->rk, topic, NULL);
      const struct rd_kafka_metadata *md = NULL;
      rd_kafka_resp_err_t err;

      if (rkt == NULL)
        {
          g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                       "Kafka topic '%s': %s", topic, rd_kafka_err2str (rd_kafka_last_error ()));
          client_unref (client);
          return NULL;
        }
      err = rd_kafka_metadata (client->rk, 0, rkt, &md, METADATA_TIMEOUT_MS);
      rd_kafka_topic_destroy (rkt);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1)
        err = md->topics[0].err;
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1 || md->topics[0].partition_cnt == 0)
        {
          g_set_error (error, FLOW_ERROR, FLOW_ERROR_IO,
                       "Kafka topic '%s' on %s: cannot list its partitions: %s",
                       topic, self->brokers,
                       err != RD_KAFKA_RESP_ERR_NO_ERROR ? rd_kafka_err2str (err) : "it has none");
          if (md != NULL)
            rd_kafka_metadata_destroy (md);
          client_unref (client);
          return NULL;
        }
      for (int p = 0; p < md->topics[0].partition_cnt; p++)
        {
          /* A process's share: every share_count-th partition. */
          if (n_listed++ % self->share_count == self->share_index)
            g_ptr_array_add (keys, g_strdup_printf ("%d-%s", md->topics[0].partitions[p].id, topic));
        }
      rd_kafka_metadata_destroy (md);
    }

  if (keys->len == 0)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "share %u of %u of the Kafka topics has no partitions (there are %u)",
                   self->share_index, self->share_count, n_listed);
      client_unref (client);
      return NULL;
    }
  self->client = client;
  self->n_unbuilt = keys->len;
  g_ptr_array_add (keys, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&keys), FALSE);
}

static FlowSourcePartition *
flow_kafka_source_build_part (FlowSource  *source,
                              const char  *step_id,
                              const char  *part_key,
                              GVariant    *resume_state,
                              GError     **error)
{
  FlowKafkaSource *self = FLOW_KAFKA_SOURCE (source);
  g_autoptr(FlowKafkaSourcePartition) part = NULL;
  const char *topic;
  gint32 partition;
  GError *local = NULL;

  if (!parse_part_key (part_key, &partition, &topic))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "'%s' is not the key of a Kafka source partition (PARTITION-TOPIC)", part_key);
      return NULL;
    }
  if (resume_state != NULL && !g_variant_is_of_type (resume_state, G_VARIANT_TYPE_INT64))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
                   "the resume state of Kafka topic '%s' partition %d must be an offset (x), not %s",
                   topic, partition, g_variant_get_type_string (resume_state));
      return NULL;
    }

  part = g_object_new (FLOW_TYPE_KAFKA_SOURCE_PARTITION, NULL);
  if (self->client == NULL)
    {
      /* Built without list_parts() (a caller that knows the keys). */
      self->client = client_new (self, error);
      if (self->client == NULL)
        return NULL;
      self->n_unbuilt = 1;
    }
  part->client = client_ref (self->client);
  if (self->n_unbuilt > 0 && --self->n_unbuilt == 0)
    g_clear_pointer (&self->client, client_unref);

  part->topic = g_strdup (topic);
  part->topic_len = strlen (topic);
  part->partition = partition;
  part->batch_size = self->batch_size;
  part->tail = self->tail;
  part->raise_on_errors = self->raise_on_errors;
  part->messages = g_new (rd_kafka_message_t *, self->batch_size);

  if (resume_state != NULL)
    {
      part->next_offset = g_variant_get_int64 (resume_state);
      g_debug ("%s: resuming Kafka topic '%s' partition %d at %" G_GINT64_FORMAT,
               step_id, topic, partition, part->next_offset);
    }
  else
    switch (self->starting_offset)
      {
      case FLOW_KAFKA_STARTING_OFFSET_BEGINNING:
        part->next_offset = RD_KAFKA_OFFSET_BEGINNING;
        break;
      case FLOW_KAFKA_STARTING_OFFSET_END:
        part->next_offset = RD_KAFKA_OFFSET_END;
        break;
      case FLOW_KAFKA_STARTING_OFFSET_STORED:
      default:
        part->next_offset = RD_KAFKA_OFFSET_STORED;
        break;
      }

  part->rkt = rd_kafka_topic_new (part->client->rk, topic, NULL);
  part->queue = rd_kafka_queue_new (part->client->rk);
  if (part->rkt == NULL ||
      !g_unix_open_pipe (part->wake_fds, FD_CLOEXEC, &local) ||
      !g_unix_set_fd_nonblocking (part->wake_fds[0], TRUE, &local) ||
      !g_unix_set_fd_nonblocking (part->wake_fds[1], TRUE, &local))
    {
      if (local != NULL)
        g_propagate_prefixed_error (error, local, "Kafka topic '%s' partition %d: ", topic, partition);
      else
        g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT, "Kafka topic '%s': %s",
                     topic, rd_kafka_err2str (rd_kafka_last_error ()));
      return NULL;
    }
  rd_kafka_queue_io_event_enable (part->queue, part->wake_fds[1], "w", 1);
  part->wake_source = g_unix_fd_source_new (part->wake_fds[0], G_IO_IN);
  g_source_set_static_name (part->wake_source, "[libflow] Kafka wake-up");
  g_source_set_callback (part->wake_source, G_SOURCE_FUNC (wake_cb), part, NULL);
  g_source_attach (part->wake_source, g_main_context_get_thread_default ());

  return FLOW_SOURCE_PARTITION (g_steal_pointer (&part));
}

static void
flow_kafka_source_finalize (GObject *object)
{
  FlowKafkaSource *self = FLOW_KAFKA_SOURCE (object);

  g_clear_pointer (&self->client, client_unref);
  g_free (self->brokers);
  g_strfreev (self->topics);
  g_hash_table_unref (self->config);

  G_OBJECT_CLASS (flow_kafka_source_parent_class)->finalize (object);
}

static void
flow_kafka_source_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  FlowKafkaSource *self = FLOW_KAFKA_SOURCE (object);

  switch (prop_id)
    {
    case PROP_BROKERS:
      g_value_set_string (value, self->brokers);
      break;
    case PROP_TOPICS:
      g_value_set_boxed (value, self->topics);
      break;
    case PROP_STARTING_OFFSET:
      g_value_set_enum (value, self->starting_offset);
      break;
    case PROP_TAIL:
      g_value_set_boolean (value, self->tail);
      break;
    case PROP_BATCH_SIZE:
      g_value_set_uint (value, self->batch_size);
      break;
    case PROP_RAISE_ON_ERRORS:
      g_value_set_boolean (value, self->raise_on_errors);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
flow_kafka_source_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  FlowKafkaSource *self = FLOW_KAFKA_SOURCE (object);

  switch (prop_id)
    {
    case PROP_BROKERS:
      self->brokers = g_value_dup_string (value);
      break;
    case PROP_TOPICS:
      self->topics = g_value_dup_boxed (value);
      break;
    case PROP_STARTING_OFFSET:
      flow_kafka_source_set_starting_offset (self, g_value_get_enum (value));
      break;
    case PROP_TAIL:
      flow_kafka_source_set_tail (self, g_value_get_boolean (value));
      break;
    case PROP_BATCH_SIZE:
      flow_kafka_source_set_batch_size (self, g_value_get_uint (value));
      break;
    case PROP_RAISE_ON_ERRORS:
      flow_kafka_source_set_raise_on_errors (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
flow_kafka_source_class_init (FlowKafkaSourceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  FlowSourceClass *source_class = FLOW_SOURCE_CLASS (klass);

  object_class->finalize = flow_kafka_source_finalize;
  object_class->get_property = flow_kafka_source_get_property;
  object_class->set_property = flow_kafka_source_set_property;
  source_class->list_parts = flow_kafka_source_list_parts;
  source_class->build_part = flow_kafka_source_build_part;

  /**
   * FlowKafkaSource:brokers:
   *
   * The brokers to bootstrap from, as librdkafka's `bootstrap.servers`: a
   * comma-separated list of `host:port`.
   */
  properties[PROP_BROKERS] =
    g_param_spec_string ("brokers", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * FlowKafkaSource:topics:
   *
   * The topics to read: every partition of each is a partition of the
   * source.
   */
  properties[PROP_TOPICS] =
    g_param_spec_boxed ("topics", NULL, NULL,
                        G_TYPE_STRV,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * FlowKafkaSource:starting-offset:
   *
   * Where a partition without a resume state starts.
   */
  properties[PROP_STARTING_OFFSET] =
    g_param_spec_enum ("starting-offset", NULL, NULL,
                       flow_kafka_starting_offset_get_type (),
                       FLOW_KAFKA_STARTING_OFFSET_BEGINNING,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * FlowKafkaSource:tail:
   *
   * Whether partitions wait for new messages at their end (%TRUE, the
   * default) or end there, so that the run ends once every partition
   * reached the end it had when the run started reading it.
   */
  properties[PROP_TAIL] =
    g_param_spec_boolean ("tail", NULL, NULL,
                          TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * FlowKafkaSource:batch-size:
   *
   * The largest number of messages in one batch.
   */
  properties[PROP_BATCH_SIZE] =
    g_param_spec_uint ("batch-size", NULL, NULL,
                       1, G_MAXINT32, DEFAULT_BATCH_SIZE,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * FlowKafkaSource:raise-on-errors:
   *
   * Whether an error of the broker about a partition fails the run
   * (%TRUE, the default) or is emitted as an item of type
   * %FLOW_KAFKA_ERROR_TYPE_STRING.
   */
  properties[PROP_RAISE_ON_ERRORS] =
    g_param_spec_boolean ("raise-on-errors", NULL, NULL,
                          TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
flow_kafka_source_init (FlowKafkaSource *self)
{
  self->config = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->starting_offset = FLOW_KAFKA_STARTING_OFFSET_BEGINNING;
  self->tail = TRUE;
  self->batch_size = DEFAULT_BATCH_SIZE;
  self->raise_on_errors = TRUE;
  self->share_index = 0;
  self->share_count = 1;
  /* The snapshots are the offsets: by default nothing is committed to the
   * group (set enable.auto.commit to change that). */
  g_hash_table_insert (self->config, g_strdup ("enable.auto.commit"), g_strdup ("false"));
}

/**
 * flow_kafka_source_new:
 * @brokers: the brokers to bootstrap from (`host:port`, comma-separated)
 * @topics: (array zero-terminated=1): the topics to read
 *
 * Creates a source reading every partition of @topics. The brokers are
 * contacted when a run starts.
 *
 * Returns: (transfer full): a new Kafka source
 */
FlowKafkaSource *
flow_kafka_source_new (const char         *brokers,
                       const char * const *topics)
{
  g_return_val_if_fail (brokers != NULL, NULL);
  g_return_val_if_fail (topics != NULL, NULL);

  return g_object_new (FLOW_TYPE_KAFKA_SOURCE, "brokers", brokers, "topics", topics, NULL);
}

/**
 * flow_kafka_source_get_brokers:
 * @self: a Kafka source
 *
 * Gets [property@Flow.KafkaSource:brokers].
 *
 * Returns: the brokers
 */
const char *
flow_kafka_source_get_brokers (FlowKafkaSource *self)
{
  g_return_val_if_fail (FLOW_IS_KAFKA_SOURCE (self), NULL);

  return self->brokers;
}

/**
 * flow_kafka_source_get_topics:
 * @self: a Kafka source
 *
 * Gets [property@Flow.KafkaSource:topics].
 *
 * Returns: (array zero-terminated=1) (transfer none): the topics
 */
const char * const *
flow_kafka_source_get_topics (FlowKafkaSource *self)
{
  g_return_val_if_fail (FLOW_IS_KAFKA_SOURCE (self), NULL);

  return (const char * const *) self->topics;
}

/**
 * flow_kafka_source_set_config:
 * @self: a Kafka source
 * @name: the name of a librdkafka setting, such as `group.id`
 * @value: (nullable): its value, or %NULL to remove the setting
 *
 * Sets a librdkafka setting of the consumer (see librdkafka's
 * `CONFIGURATION.md`). A bad name or value fails the next run with
 * %FLOW_ERROR_INVALID_ARGUMENT naming it.
 */
void
flow_kafka_source_set_config (FlowKafkaSource *self,
                              const char      *name,
                              const char      *value)
{
  g_return_if_fail (FLOW_IS_KAFKA_SOURCE (self));
  g_return_if_fail (name != NULL);

  if (value == NULL)
    g_hash_table_remove (self->config, name);
  else
    g_hash_table_insert (self->config, g_strdup (name), g_strdup (value));
}

/**
 * flow_kafka_source_get_config:
 * @self: a Kafka source
 * @name: the name of a librdkafka setting
 *
 * Gets a setting given with [method@Flow.KafkaSource.set_config].
 *
 * Returns: (nullable): its value, or %NULL when it was not set
 */
const char *
flow_kafka_source_get_config (FlowKafkaSource *self,
                              const char      *name)
{
  g_return_val_if_fail (FLOW_IS_KAFKA_SOURCE (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  return g_hash_table_lookup (self->config, name);
}

/**
 * flow_kafka_source_get_starting_offset:
 * @self: a Kafka source
 *
 * Gets [property@Flow.KafkaSource:starting-offset].
 *
 * Returns: where partitions without a resume state start
 */
FlowKafkaStartingOffset
flow_kafka_source_get_starting_offset (FlowKafkaSource *self)
{
  g_return_val_if_fail (FLOW_IS_KAFKA_SOURCE (self), FLOW_KAFKA_STARTING_OFFSET_BEGINNING);

  return self->starting_offset;
}

/**
 * flow_kafka_source_set_starting_offset:
 * @self: a Kafka source
 * @offset: where partitions without a resume state start
 *
 * Sets [property@Flow.KafkaSource:starting-offset].
 */
void
flow_kafka_source_set_starting_offset (FlowKafkaSource         *self,
                                       FlowKafkaStartingOffset  offset)
{
  g_return_if_fail (FLOW_IS_KAFKA_SOURCE (self));
  g_return_if_fail (offset <= FLOW_KAFKA_STARTING_OFFSET_STORED);

  if (self->starting_offset != offset)
    {
      self->starting_offset = offset;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STARTING_OFFSET]);
    }
}

/**
 * flow_kafka_source_get_tail:
 * @self: a Kafka source
 *
 * Gets [property@Flow.KafkaSource:tail].
 *
 * Returns: whether partitions wait for new messages at their end
 */
gboolean
flow_kafka_source_get_tail (FlowKafkaSource *self)
{
  g_return_val_if_fail (FLOW_IS_KAFKA_SOURCE (self), FALSE);

  return self->tail;
}

/**
 * flow_kafka_source_set_tail:
 * @self: a Kafka source
 * @tail: whether partitions wait for new messages at their end
 *
 * Sets [property@Flow.KafkaSource:tail].
 */
void
flow_kafka_source_set_tail (FlowKafkaSource *self,
                            gboolean         tail)
{
  g_return_if_fail (FLOW_IS_KAFKA_SOURCE (self));

  tail = !!tail;
  if (self->tail != tail)
    {
      self->tail = tail;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TAIL]);
    }
}

/**
 * flow_kafka_source_get_batch_size:
 * @self: a Kafka source
 *
 * Gets [property@Flow.KafkaSource:batch-size].
 *
 * Returns: the largest number of messages in one batch
 */
guint
flow_kafka_source_get_batch_size (FlowKafkaSource *self)
{
  g_return_val_if_fail (FLOW_IS_KAFKA_SOURCE (self), 0);

  return self->batch_size;
}

/**
 * flow_kafka_source_set_batch_size:
 * @self: a Kafka source
 * @batch_size: the largest number of messages in one batch, at least 1
 *
 * Sets [property@Flow.KafkaSource:batch-size].
 */
void
flow_kafka_source_set_batch_size (FlowKafkaSource *self,
                                  guint            batch_size)
{
  g_return_if_fail (FLOW_IS_KAFKA_SOURCE (self));
  g_return_if_fail (batch_size > 0 && batch_size <= G_MAXINT32);

  if (self->batch_size != batch_size)
    {
      self->batch_size = batch_size;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BATCH_SIZE]);
    }
}

/**
 * flow_kafka_source_get_raise_on_errors:
 * @self: a Kafka source
 *
 * Gets [property@Flow.KafkaSource:raise-on-errors].
 *
 * Returns: whether errors of the broker fail the run
 */
gboolean
flow_kafka_source_get_raise_on_errors (FlowKafkaSource *self)
{
  g_return_val_if_fail (FLOW_IS_KAFKA_SOURCE (self), FALSE);

  return self->raise_on_errors;
}

/**
 * flow_kafka_source_set_raise_on_errors:
 * @self: a Kafka source
 * @raise_on_errors: whether errors of the broker fail the run
 *
 * Sets [property@Flow.KafkaSource:raise-on-errors].
 */
void
flow_kafka_source_set_raise_on_errors (FlowKafkaSource *self,
                                       gboolean         raise_on_errors)
{
  g_return_if_fail (FLOW_IS_KAFKA_SOURCE (self));

  raise_on_errors = !!raise_on_errors;
  if (self->raise_on_errors != raise_on_errors)
    {
      self->raise_on_errors = raise_on_errors;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RAISE_ON_ERRORS]);
    }
}

/**
 * flow_kafka_source_set_share:
 * @self: a Kafka source
 * @index: which share this process reads, below @count
 * @count: how many processes share the partitions, at least 1
 *
 * Makes the source read only a share of the partitions: listing the
 * partitions of every topic in order, the @index-th, the
 * (@index + @count)-th, and so on. N processes of one flow, given shares 0
 * to N-1 of N and each its own recovery directory, read every partition
 * once between them (see the "Kafka" page, "Beyond one machine"). The
 * share must stay the same across the resumes of a recovery directory.
 * The default is share 0 of 1: every partition.
 */
void
flow_kafka_source_set_share (FlowKafkaSource *self,
                             guint            index,
                             guint            count)
{
  g_return_if_fail (FLOW_IS_KAFKA_SOURCE (self));
  g_return_if_fail (count >= 1);
  g_return_if_fail (index < count);

  self->share_index = index;
  self->share_count = count;
}
