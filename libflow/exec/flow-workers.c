/* flow-workers.c: several workers in one process
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * With `workers` > 1 the FlowExec the runner made is a coordinator: it has
 * no nodes of its own, but owns the epoch timer, the recovery store, the
 * cancellation and the callbacks, on the caller's context. It makes one
 * FlowExec per worker, each with its own instance of every step, running
 * on its own GMainContext in its own thread (or, when a binding needs
 * every call on the caller's thread, on the caller's context: see
 * flow_workers_new()). Nothing here waits on another thread but the final
 * join of threads that already said they are done.
 *
 * Everything between them is a message (Msg) in a GAsyncQueue, the inbox
 * of a worker or of the coordinator, read by a source on the receiver's
 * context:
 *
 * - Exchange. In front of every stateful step (and of redistribute and
 *   output), FlowNode.exchange routes the items of a batch: those of this
 *   worker are processed at once, the others are appended to one batch per
 *   (step, port, worker) and sent as one message at the end of the
 *   dispatch (or when the batch is large). A key's items take one path,
 *   through FIFO queues: per-key order is kept.
 *
 * - Epochs. To close epoch E the coordinator sends PAUSE: each worker stops
 *   reading input (what it read goes in) and firing wake-ups, keeps
 *   processing exchanged batches, and reports IDLE with how many batches it
 *   sent to and received from each worker, again whenever that changes. An
 *   epoch is complete when every worker reported IDLE and, for every pair,
 *   sent == received (each worker sends only while handling what it
 *   received, so nothing can be in flight then). The coordinator then
 *   sends SNAPSHOT: each worker flushes its sinks, snapshots, sends its
 *   ROWS and resumes with epoch E + 1; batches tagged E + 1 that reach a
 *   worker still in E are held until it snapshots. Once every worker's
 *   rows are in, the coordinator makes one commit of all of them.
 *
 * - End of input. When every worker's inputs ended, the final close
 *   pauses as above, then calls the end-of-input function of each step
 *   that has one, in step order, one round (EOF_STEP, then quiet again)
 *   per step, so that what a step emits at the end reaches the next
 *   before it ends too; then SNAPSHOT, the commit, and FINISH: each worker
 *   closes its partitions and reports CLOSED.
 *
 * - Test clocks: the coordinator moves the clock only when every worker
 *   is idle (nothing to dispatch) and no message is in flight; after a
 *   move, each worker gets a TICK and must report idle again.
 */

#include "config.h"

#include <string.h>

#include "flow-store-private.h"
#include "flow-binding-private.h"
#include "flow-tsan-private.h"
#include "../operators/flow-operator-private.h"

/* Messages go through GAsyncQueues: see flow-tsan-private.h. */

typedef enum
{
  /* to workers */
  MSG_BATCH,
  MSG_PAUSE,
  MSG_EOF_STEP,
  MSG_SNAPSHOT,
  MSG_COMMIT_SINKS,
  MSG_FINISH,
  MSG_TICK,
  /* to the coordinator */
  MSG_IDLE,
  MSG_ROWS,
  MSG_INPUTS_DONE,
  MSG_BATCH_DONE,
  MSG_FAILED,
  MSG_CLOSED,
} MsgKind;

typedef struct
{
  MsgKind    kind;
  guint      from;       /* the worker that sent it */
  guint64    epoch;      /* BATCH: the sender's; SNAPSHOT: the one closing */
  guint      round;      /* PAUSE, EOF_STEP, IDLE */
  guint      node;       /* BATCH, EOF_STEP: the step's index */
  guint      port;       /* BATCH */
  gboolean   final;      /* PAUSE */
  FlowBatch  batch;      /* BATCH */
  guchar    *packed;     /* BATCH: the items copied (packed_len bytes), or NULL */
  gsize      packed_len;
  GArray    *rows;       /* ROWS (NULL without recovery) */
  GPtrArray *syncs;      /* ROWS: sink partitions to sync() before the commit */
  GVariant  *counters;   /* ROWS: a{sa{st}} */
  GVariant  *parts;      /* ROWS: a(ubsst): node, input?, step, key, count */
  guint64   *counts;     /* IDLE: sent[n] then received[n] */
  GError    *error;      /* FAILED, CLOSED */
} Msg;

typedef enum
{
  EXCHANGE_KEY,        /* by the item's key (keyed stateful steps) */
  EXCHANGE_KEY_FUNC,   /* by what the step's key function returns */
  EXCHANGE_PARTITION,  /* to the worker of the output partition */
  EXCHANGE_SPREAD,     /* a batch to each worker in turn (redistribute) */
} ExchangeKind;

struct _FlowExchange
{
  FlowWorker   *worker;
  FlowNode     *node;
  ExchangeKind  kind;
  guint         n_parts;   /* EXCHANGE_PARTITION */
  guint         n_ports;
  guint         next;      /* EXCHANGE_SPREAD */
  FlowBatch    *out;       /* [port * n + worker] */
  FlowBatch     here;
  guint        *targets;   /* scratch: each item's worker */
  guint         n_targets;
  guint        *counts;    /* scratch: items per worker */
};

typedef struct
{
  GSource      base;
  GAsyncQueue *queue;
} InboxSource;

struct _FlowWorker
{
  FlowWorkers  *coord;
  guint         index;
  FlowExec     *exec;
  GMainContext *context;
  GThread      *thread;
  GAsyncQueue  *inbox;
  GSource      *inbox_source;
  GAsyncQueue  *spare;      /* FlowBatch*: empty arrays its receivers gave back */
  GQueue        held;       /* BATCH of the next epoch */
  FlowBatch     unpacked;   /* scratch: the items of a packed BATCH */
  GHashTable   *keys;       /* GRefString -> itself: the keys of packed
                             * batches, shared by their items (bounded) */
  GPtrArray    *exchanges;  /* FlowExchange* */
  guint64      *sent;       /* batches sent to each worker */
  guint64      *received;   /* batches received from each worker */
  guint         round;
  gboolean      in_round;
  gboolean      reported;   /* IDLE sent for these counts */
  gboolean      batch_told; /* BATCH_DONE sent in this epoch */
  gint          idle_gen;   /* atomic: the clock generation it idles in (0: busy) */
  gboolean      thread_less; /* its thread could not start */
  gint          quit;       /* atomic */
};

typedef enum
{
  PHASE_NONE,
  PHASE_QUIET,      /* waiting for every worker to be IDLE */
  PHASE_ROWS,       /* waiting for every worker's ROWS */
} Phase;

struct _FlowWorkers
{
  FlowExec     *exec;       /* the coordinator; owns this */
  guint         n;
  gboolean      threaded;
  GMainContext *context;    /* the coordinator's */
  FlowWorker  **workers;
  GAsyncQueue  *inbox;
  GSource      *inbox_source;
  GSource      *start_source;

  Phase         phase;
  gboolean      final;
  guint64       epoch;
  guint         round;
  guint         eof_next;   /* final close: the next step to end */
  guint64     **counts;     /* the last IDLE of each worker for this round */
  GArray       *rows;
  GPtrArray    *syncs;      /* every worker's sink partitions to sync() */
  guint         n_rows;
  GVariant    **counters;   /* the last counters of each worker */
  GVariant    **parts;      /* the last partition counts of each worker */
  guint         n_inputs_done;
  guint         n_closed;
  GError       *close_error;
  gboolean      finishing;
  gboolean      draining;   /* the last pause, before FINISH */
  gboolean      snapshot_waiting; /* quiet, but a commit is in flight */

  gboolean      track_idle; /* a test clock that moves when all are idle */
  gint          gen;        /* atomic: clock generation (test clocks) */
  gint          in_flight;  /* atomic: messages to workers not handled yet */
};

/* ------------------------------------------------------------------------
 * Routing (docs/workers.md)
 * ------------------------------------------------------------------------ */

guint64
flow_workers_key_hash (const char *key)
{
  /* FNV-1a 64 of the key's UTF-8 bytes and a terminating zero byte, then
   * MurmurHash3's 64-bit finaliser: FNV-1a alone spreads keys that differ
   * in their last characters badly over a small number of workers (modulo
   * 3, "key0" to "key7" all land on one). */
  guint64 h = flow_hash_string (FLOW_HASH_SEED, key);

  h ^= h >> 33;
  h *= G_GUINT64_CONSTANT (0xff51afd7ed558ccd);
  h ^= h >> 33;
  h *= G_GUINT64_CONSTANT (0xc4ceb9fe1a85ec53);
  h ^= h >> 33;
  return h;
}

guint
flow_workers_owner_of_key (const char *key,
                           guint       n)
{
  return n <= 1 ? 0 : (guint) (flow_workers_key_hash (key) % n);
}

guint
flow_workers_owner_of_part (guint index,
                            guint n)
{
  return n <= 1 ? 0 : index % n;
}

/* ------------------------------------------------------------------------
 * Messages
 * ------------------------------------------------------------------------ */

static Msg *
msg_new (MsgKind kind,
         guint   from)
{
  Msg *m = g_new0 (Msg, 1);

  m->kind = kind;
  m->from = from;
  flow_batch_init (&m->batch);
  return m;
}

static void
msg_free (Msg *m)
{
  flow_batch_destroy (&m->batch);
  g_free (m->packed);
  g_clear_pointer (&m->rows, g_array_unref);
  g_clear_pointer (&m->syncs, g_ptr_array_unref);
  g_clear_pointer (&m->counters, g_variant_unref);
  g_clear_pointer (&m->parts, g_variant_unref);
  g_clear_error (&m->error);
  g_free (m->counts);
  g_free (m);
}

static gboolean
inbox_prepare (GSource *source,
               gint    *timeout)
{
  *timeout = -1;
  return g_async_queue_length (((InboxSource *) source)->queue) > 0;
}

static gboolean
inbox_check (GSource *source)
{
  return g_async_queue_length (((InboxSource *) source)->queue) > 0;
}

static gboolean
inbox_dispatch (GSource     *source,
                GSourceFunc  callback,
                gpointer     user_data)
{
  return callback (user_data);
}

static GSourceFuncs inbox_funcs = {
  inbox_prepare, inbox_check, inbox_dispatch, NULL, NULL, NULL,
};

static GSource *
inbox_source_new (GAsyncQueue  *queue,
                  GMainContext *context,
                  const char   *name,
                  GSourceFunc   func,
                  gpointer      data)
{
  GSource *source = g_source_new (&inbox_funcs, sizeof (InboxSource));

  ((InboxSource *) source)->queue = queue;
  g_source_set_static_name (source, name);
  /* Above the input (DEFAULT_IDLE), with the epoch timer's urgency. */
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, func, data, NULL);
  g_source_attach (source, context);
  return source;
}

static void
send_to_worker (FlowWorkers *ws,
                guint        index,
                Msg         *m)
{
  FlowWorker *w = ws->workers[index];

  g_atomic_int_inc (&ws->in_flight);
  flow_tsan_release (m);
  g_async_queue_push (w->inbox, m);
  /* Workers sharing the caller's context (Python, GJS) are sent to while
   * it dispatches: its next iteration polls the inbox (inbox_prepare())
   * without being woken (a write to its wake-up fd per message). */
  if (ws->threaded)
    g_main_context_wakeup (w->context);
}

static void
send_to_coordinator (FlowWorker *w,
                     Msg        *m)
{
  flow_tsan_release (m);
  g_async_queue_push (w->coord->inbox, m);
  g_main_context_wakeup (w->coord->context);
}

/* ------------------------------------------------------------------------
 * Exchange (worker side)
 * ------------------------------------------------------------------------ */

static void
exchange_free (FlowExchange *x)
{
  guint n = x->worker->coord->n;

  for (guint i = 0; i < x->n_ports * n; i++)
    flow_batch_destroy (&x->out[i]);
  g_free (x->out);
  g_free (x->targets);
  g_free (x->counts);
  flow_batch_destroy (&x->here);
  g_free (x);
}

static inline char *
key_ref (char     *key,
         gboolean  take)
{
  return key == NULL || take ? key : g_ref_string_acquire (key);
}

/* Threaded workers: how a batch crosses to another worker.
 *
 * An item's GVariant and key, made on one thread and read, then released,
 * on another, cost cache misses on both (each of their cache lines moves
 * between cores twice: the key, the GVariant, its GBytes, its data) and a
 * free into the other thread's malloc arena. So when every value of the
 * batch is of a fixed-size basic type (integers, doubles, booleans: what
 * keyed counts and sums carry) the batch is *copied* into one buffer
 * instead, read sequentially by the receiver, which makes its own items
 * (exchange_pack(), worker_unpack()); the sender releases its items at
 * once, on its own thread. Other batches move as they are (the GVariants
 * are handed over, not copied), and the keys are copied (keys are
 * interned per step and worker, and a GRefString whose count two threads
 * change at once bounces between their caches). */
static gsize
basic_size (char type)
{
  switch (type)
    {
    case 'b': case 'y': return 1;
    case 'n': case 'q': return 2;
    case 'i': case 'u': case 'h': return 4;
    case 'x': case 't': case 'd': return 8;
    default: return 0;
    }
}

/* Per item: the key's length + 1 (0: no key) as a guint32, the key's
 * bytes and its NUL, the value's type character, its bytes (in the machine's order). */
static guchar *
exchange_pack (FlowBatch *out,
               gsize     *len)
{
  gsize size = 0;
  guchar *buf, *p;

  for (guint i = 0; i < out->len; i++)
    {
      const char *type = g_variant_get_type_string (out->items[i].value);

      /* (A value made from data of the wrong size reads as zeros:
       * g_variant_get_data() would not have the bytes.) */
      if (type[1] != '\0' || basic_size (type[0]) == 0 ||
          g_variant_get_size (out->items[i].value) != basic_size (type[0]))
        return NULL;
      size += sizeof (guint32) + 1 + basic_size (type[0]);
      if (out->items[i].key != NULL)
        size += g_ref_string_length (out->items[i].key) + 1;
    }
  p = buf = g_malloc (size);
  for (guint i = 0; i < out->len; i++)
    {
      FlowItem *item = &out->items[i];
      char type = g_variant_get_type_string (item->value)[0];
      guint32 key_len = item->key != NULL ? (guint32) g_ref_string_length (item->key) + 1 : 0;
      gsize value_size = basic_size (type);

      memcpy (p, &key_len, sizeof key_len);
      p += sizeof key_len;
      memcpy (p, item->key, key_len);   /* with its NUL */
      p += key_len;
      *p++ = (guchar) type;
      /* g_variant_get_data() of a basic fixed-size value is its bytes. */
      memcpy (p, g_variant_get_data (item->value), value_size);
      p += value_size;
    }
  *len = size;
  return buf;
}

static GVariant *
basic_new (char          type,
           const guchar *data)
{
  union { guint8 u8; gint16 i16; guint16 u16; gint32 i32; guint32 u32; gint64 i64; guint64 u64; double d; } v;

  memcpy (&v, data, basic_size (type));
  switch (type)
    {
    case 'b': return g_variant_new_boolean (v.u8 != 0);
    case 'y': return g_variant_new_byte (v.u8);
    case 'n': return g_variant_new_int16 (v.i16);
    case 'q': return g_variant_new_uint16 (v.u16);
    case 'i': return g_variant_new_int32 (v.i32);
    case 'u': return g_variant_new_uint32 (v.u32);
    case 'h': return g_variant_new_handle (v.i32);
    case 'x': return g_variant_new_int64 (v.i64);
    case 't': return g_variant_new_uint64 (v.u64);
    case 'd': return g_variant_new_double (v.d);
    default: g_assert_not_reached ();
    }
}

/* The key @key (NUL-terminated) as a GRefString (a new reference): the
 * one @w made last time, if it did. Keys change worker again and again,
 * and a look-up costs less than making a copy and freeing it. */
#define WORKER_KEYS_MAX (1 << 16)

static char *
worker_key (FlowWorker *w,
            const char *key)
{
  char *known = g_hash_table_lookup (w->keys, key);

  if (known != NULL)
    return g_ref_string_acquire (known);
  if (g_hash_table_size (w->keys) >= WORKER_KEYS_MAX)
    g_hash_table_remove_all (w->keys);
  known = g_ref_string_new (key);
  g_hash_table_add (w->keys, g_ref_string_acquire (known));
  return known;
}

/* Makes @batch's items from a buffer exchange_pack() made. */
static void
worker_unpack (FlowWorker   *w,
               FlowBatch    *batch,
               const guchar *p,
               gsize         len)
{
  const guchar *end = p + len;

  while (p < end)
    {
      guint32 key_len;
      char *key = NULL;
      char type;

      memcpy (&key_len, p, sizeof key_len);
      p += sizeof key_len;
      if (key_len > 0)
        {
          key = worker_key (w, (const char *) p);
          p += key_len;
        }
      type = (char) *p++;
      flow_batch_push_take (batch, key, g_variant_ref_sink (basic_new (type, p)));
      p += basic_size (type);
    }
}

/* A batch that moves as it is: its keys become copies of their own. */
static void
exchange_copy_keys (FlowBatch *out)
{
  for (guint i = 0; i < out->len; i++)
    {
      char *key = out->items[i].key;

      if (key != NULL)
        {
          out->items[i].key = g_ref_string_new_len (key, (gssize) g_ref_string_length (key));
          g_ref_string_release (key);
        }
    }
}

/* Workers sharing one thread (Python, GJS): @out goes straight into the
 * step of worker @dst, a function call rather than a message. Only when
 * nothing sent earlier waits in its inbox (per-key order) and it is in
 * the same epoch (a batch of the next epoch waits for its snapshot); and
 * not once it closed. Items move to a step of a higher index, so no node
 * is ever entered twice (the graph is acyclic, as with one worker). The
 * counts of sent and received batches are left alone: nothing is in
 * flight. */
static FlowNode *
exchange_direct_node (FlowExchange *x,
                      guint         dst)
{
  FlowWorker *w = x->worker;
  FlowWorker *to = w->coord->workers[dst];

  if (w->coord->threaded || g_atomic_int_get (&to->quit) || to->exec->epoch != w->exec->epoch ||
      !g_queue_is_empty (&to->held) || g_async_queue_length (to->inbox) > 0)
    return NULL;
  return g_ptr_array_index (to->exec->nodes, x->node->step->index);
}

static gboolean
exchange_push_direct (FlowExchange *x,
                      guint         port,
                      guint         dst,
                      FlowBatch    *out)
{
  FlowNode *node = exchange_direct_node (x, dst);
  GError *error = NULL;

  if (node == NULL)
    return FALSE;
  /* Even after a failure, as worker_take_batch(). */
  if (!flow_node_push_here (node, port, out, &error))
    flow_exec_fail (node->exec, node->step->full_id, error);
  flow_batch_clear (out);
  return TRUE;
}

/* For a fused chain of a binding's steps (flow-op-fused.c) that goes on
 * through the exchange in front of @node, a keyed step, when the workers
 * share one thread: the number of workers and this worker's index (FALSE
 * when the chain must stop in front of @node). */
gboolean
flow_exchange_shared_by_key (FlowNode *node,
                             guint    *n_workers,
                             guint    *index)
{
  FlowExchange *x = node->exchange;

  if (x == NULL || x->kind != EXCHANGE_KEY || x->worker->coord->threaded)
    return FALSE;
  *n_workers = x->worker->coord->n;
  *index = x->worker->index;
  return TRUE;
}

/* The node of @node's step in worker @dst, when a batch may go straight
 * into it now (as exchange_push_direct() would send it), or NULL: then
 * the items go through flow_exchange_route(). */
FlowNode *
flow_exchange_direct_node (FlowNode *node,
                           guint     dst)
{
  FlowExchange *x = node->exchange;

  if (x->out[dst].len > 0)   /* port 0: sent per upstream batch, so empty */
    return NULL;
  return exchange_direct_node (x, dst);
}

static void
exchange_send (FlowExchange *x,
               guint         port,
               guint         dst)
{
  FlowWorker *w = x->worker;
  FlowBatch *out = &x->out[port * w->coord->n + dst];
  Msg *m;

  if (out->len == 0)
    return;
  if (exchange_push_direct (x, port, dst, out))
    return;
  m = msg_new (MSG_BATCH, w->index);
  m->epoch = w->exec->epoch;
  m->node = x->node->step->index;
  m->port = port;
  if (w->coord->threaded && (m->packed = exchange_pack (out, &m->packed_len)) != NULL)
    flow_batch_clear (out);   /* released here; the array is used again */
  else
    {
      if (w->coord->threaded)
        exchange_copy_keys (out);
      m->batch = *out;
      flow_batch_init (out);
    }
  w->sent[dst]++;
  w->reported = FALSE;
  send_to_worker (w->coord, dst, m);
}

/* Whether @w runs on a thread of its own (C and Vala flows), rather than
 * sharing the caller's with the other workers (bindings that need it). */
gboolean
flow_worker_is_threaded (FlowWorker *w)
{
  return w->coord->threaded;
}

/* Sends what every exchange of @w holds for other workers. */
void
flow_worker_flush (FlowWorker *w)
{
  guint n = w->coord->n;

  for (guint i = 0; i < w->exchanges->len; i++)
    {
      FlowExchange *x = g_ptr_array_index (w->exchanges, i);

      for (guint port = 0; port < x->n_ports; port++)
        for (guint dst = 0; dst < n; dst++)
          exchange_send (x, port, dst);
    }
}

/* The worker @item goes to; G_MAXUINT: this one, without a key (the
 * step reports what is wrong with the item). */
static guint
exchange_target (FlowExchange *x,
                 FlowItem     *item)
{
  guint n = x->worker->coord->n;

  switch (x->kind)
    {
    case EXCHANGE_KEY:
      if (!flow_item_split (item))
        return G_MAXUINT;
      return flow_workers_owner_of_key (item->key, n);

    case EXCHANGE_KEY_FUNC:
      {
        FlowKeyFunc fn = x->node->step->func.func;
        g_autoptr(GVariant) packed = NULL;
        GVariant *value = item->key == NULL ? item->value : (packed = flow_item_pack (item));
        GError *local = NULL;
        g_autofree char *key = fn (value, x->node->step->func.data, &local);
        guint target;

        if (key == NULL || local != NULL)
          {
            g_clear_error (&local);
            return G_MAXUINT;
          }
        target = flow_workers_owner_of_key (key, n);
        return target;
      }

    case EXCHANGE_PARTITION:
      {
        guint part = 0;

        /* The partition is chosen by the hash that chose the worker of
         * the key (flow_op_output_process()): when n divides n_parts,
         * (h mod n_parts) mod n == h mod n, and a key's output stays on
         * the worker of its state. */
        if (flow_item_split (item))
          part = flow_workers_key_hash (item->key) % x->n_parts;
        return flow_workers_owner_of_part (part, n);
      }

    case EXCHANGE_SPREAD:
    default:
      g_assert_not_reached ();
    }
}

/* Makes room for @count more items in @out, a batch for another worker,
 * at once: in an array a receiver gave back if there is one (a large
 * allocation per message, freed on another thread, costs more than one
 * more queue operation), rounded up a little as arrays are used again. */
static void
exchange_reserve (FlowExchange *x,
                  FlowBatch    *out,
                  guint         count)
{
  guint n = out->len + count;

  if (out->alloc == 0)
    {
      FlowBatch *spare = g_async_queue_try_pop (x->worker->spare);

      if (spare != NULL)
        {
          flow_tsan_acquire (spare);
          *out = *spare;
          g_free (spare);
        }
    }
  if (n <= out->alloc)
    return;
  n = (n + 255) & ~255u;
  out->items = g_renew (FlowItem, out->items, n);
  out->alloc = n;
}

/* With @take, the items for other workers are moved out of @batch rather
 * than copied (no reference taken here and dropped later by the caller
 * while the receiver uses them): on return @batch holds only what stayed
 * here, and its caller must only clear it. */
gboolean
flow_exchange_route (FlowNode   *node,
                     guint       port,
                     FlowBatch  *batch,
                     gboolean    take,
                     GError    **error)
{
  FlowExchange *x = node->exchange;
  FlowWorker *w = x->worker;
  guint n = w->coord->n;
  FlowBatch *outs = &x->out[port * n];
  gboolean ok;

  /* Whole batches: redistribute's turns, and an output step whose sink
   * has one partition (its worker gets everything: no item's key needs
   * hashing). */
  if (x->kind == EXCHANGE_SPREAD || (x->kind == EXCHANGE_PARTITION && x->n_parts == 1))
    {
      guint dst = x->next;

      if (x->kind == EXCHANGE_SPREAD)
        x->next = (x->next + 1) % n;
      if (dst == w->index)
        return flow_node_push_here (node, port, batch, error);
      exchange_reserve (x, &outs[dst], batch->len);
      for (guint i = 0; i < batch->len; i++)
        flow_batch_push_take (&outs[dst], key_ref (batch->items[i].key, take),
                              take ? batch->items[i].value : g_variant_ref (batch->items[i].value));
      if (take)
        batch->len = 0;   /* all moved out */
      exchange_send (x, port, dst);
      return TRUE;
    }

  /* The items of this worker are moved, in order, to the front of the
   * batch and processed there (a view, as the input's sub-batches: no
   * copy). The others go into one batch per worker, sized at once, sent
   * as one message each at the end: moved with @take; otherwise copied,
   * and moved behind this worker's (the batch keeps owning every item it
   * had). A key's items all go one way, so each key keeps its order. */
  {
    guint here = 0, away = 0;
    guint *targets;
    FlowBatch view;

    if (x->n_targets < batch->len)
      {
        x->n_targets = MAX (batch->len, 64);
        x->targets = g_renew (guint, x->targets, x->n_targets);
      }
    targets = x->targets;
    memset (x->counts, 0, n * sizeof (guint));
    for (guint i = 0; i < batch->len; i++)
      {
        guint dst = exchange_target (x, &batch->items[i]);

        if (dst == G_MAXUINT)
          dst = w->index;
        targets[i] = dst;
        x->counts[dst]++;
      }
    for (guint dst = 0; dst < n; dst++)
      if (dst != w->index && x->counts[dst] > 0)
        exchange_reserve (x, &outs[dst], x->counts[dst]);
    if (!take)
      flow_batch_reserve (&x->here, batch->len);

    for (guint i = 0; i < batch->len; i++)
      {
        FlowItem item = batch->items[i];   /* as exchange_target() split it */
        guint dst = targets[i];

        if (dst == w->index)
          batch->items[here++] = item;
        else if (take)
          flow_batch_push_take (&outs[dst], item.key, item.value);
        else
          {
            flow_batch_push_take (&outs[dst], key_ref (item.key, FALSE),
                                  g_variant_ref (item.value));
            x->here.items[away++] = item;
          }
      }
    if (take)
      batch->len = here;   /* the rest was moved out */
    else if (away > 0)
      memcpy (batch->items + here, x->here.items, away * sizeof (FlowItem));
    for (guint dst = 0; dst < n; dst++)
      exchange_send (x, port, dst);
    if (here == 0)
      return TRUE;
    view.items = batch->items;
    view.len = view.alloc = here;
    ok = flow_node_push_here (node, port, &view, error);
  }
  return ok;
}

static void
worker_add_exchanges (FlowWorker *w)
{
  FlowExec *exec = w->exec;

  for (guint i = 0; i < exec->nodes->len; i++)
    {
      FlowNode *node = g_ptr_array_index (exec->nodes, i);
      const FlowOperator *op = node->step->op;
      FlowExchange *x;

      if (flow_step_is_input (node->step))
        continue;
      if (!(op->flags & (FLOW_OPERATOR_STATEFUL | FLOW_OPERATOR_OUTPUT)) &&
          strcmp (op->name, "redistribute") != 0)
        continue;
      /* A dynamic sink: each worker writes what it holds to its own
       * partition (docs/workers.md). */
      if ((op->flags & FLOW_OPERATOR_OUTPUT) && flow_sink_is_dynamic (node->step->sink))
        continue;

      x = g_new0 (FlowExchange, 1);
      x->worker = w;
      x->node = node;
      x->n_ports = MAX (node->step->inputs->len, 1);
      x->out = g_new0 (FlowBatch, x->n_ports * w->coord->n);
      x->counts = g_new0 (guint, w->coord->n);
      for (guint j = 0; j < x->n_ports * w->coord->n; j++)
        flow_batch_init (&x->out[j]);
      flow_batch_init (&x->here);
      if (op->flags & FLOW_OPERATOR_OUTPUT)
        {
          x->kind = EXCHANGE_PARTITION;
          x->n_parts = node->output_slots != NULL ? node->output_slots->len : 1;
          x->next = flow_workers_owner_of_part (0, w->coord->n);   /* n_parts == 1 */
        }
      else if (!(op->flags & FLOW_OPERATOR_STATEFUL))
        {
          x->kind = EXCHANGE_SPREAD;
          x->next = w->index;
        }
      else if (!(op->flags & FLOW_OPERATOR_KEYED) &&
               op->func_shape == FLOW_BINDING_SHAPE_ITEM_TO_STRING)
        x->kind = EXCHANGE_KEY_FUNC;   /* count_final: its key function's key */
      else
        x->kind = EXCHANGE_KEY;
      node->exchange = x;
      g_ptr_array_add (w->exchanges, x);
    }
}

/* ------------------------------------------------------------------------
 * Workers
 * ------------------------------------------------------------------------ */

void
flow_worker_inputs_done (FlowWorker *w)
{
  send_to_coordinator (w, msg_new (MSG_INPUTS_DONE, w->index));
}

/* Snapshot interval 0: the first batch of an epoch asks for its close. */
void
flow_worker_batch_done (FlowWorker *w)
{
  if (w->batch_told)
    return;
  w->batch_told = TRUE;
  send_to_coordinator (w, msg_new (MSG_BATCH_DONE, w->index));
}

void
flow_worker_failed (FlowWorker *w,
                    GError     *error)
{
  Msg *m = msg_new (MSG_FAILED, w->index);

  m->error = error;
  send_to_coordinator (w, m);
}

void
flow_worker_closed (FlowWorker *w,
                    GError     *error)
{
  Msg *m = msg_new (MSG_CLOSED, w->index);

  m->error = error;
  g_atomic_int_set (&w->quit, TRUE);
  send_to_coordinator (w, m);
}

/* In a close: once nothing read is left to push, tells the coordinator
 * how many batches went each way (again whenever that changed). */
void
flow_worker_maybe_idle (FlowWorker *w)
{
  guint n = w->coord->n;
  Msg *m;

  if (!w->in_round || flow_exec_has_pending (w->exec))
    return;
  flow_worker_flush (w);
  if (w->reported)
    return;
  m = msg_new (MSG_IDLE, w->index);
  m->round = w->round;
  m->counts = g_new (guint64, 2 * n);
  memcpy (m->counts, w->sent, n * sizeof (guint64));
  memcpy (m->counts + n, w->received, n * sizeof (guint64));
  w->reported = TRUE;
  send_to_coordinator (w, m);
}

static GVariant *
worker_dup_counters (FlowWorker *w)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{sa{st}}"));
  for (guint i = 0; i < w->exec->nodes->len; i++)
    {
      FlowNode *node = g_ptr_array_index (w->exec->nodes, i);
      g_variant_builder_add (&builder, "{s@a{st}}", node->step->full_id,
                             flow_node_dup_counters (node));
    }
  return g_variant_ref_sink (g_variant_builder_end (&builder));
}

/* The items read from (written to) each of the worker's partitions:
 * a(ubsst), in step order (flow_workers_foreach_part()). */
static GVariant *
worker_dup_parts (FlowWorker *w)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ubsst)"));
  for (guint i = 0; i < w->exec->nodes->len; i++)
    {
      FlowNode *node = g_ptr_array_index (w->exec->nodes, i);

      for (guint j = 0; node->inputs != NULL && j < node->inputs->len; j++)
        {
          FlowInputPart *ip = g_ptr_array_index (node->inputs, j);
          g_variant_builder_add (&builder, "(ubsst)", i, TRUE, node->step->full_id, ip->key,
                                 ip->items_read);
        }
      for (guint j = 0; node->outputs != NULL && j < node->outputs->len; j++)
        {
          FlowOutputPart *op = g_ptr_array_index (node->outputs, j);
          g_variant_builder_add (&builder, "(ubsst)", i, FALSE, node->step->full_id, op->key,
                                 op->items_written);
        }
    }
  return g_variant_ref_sink (g_variant_builder_end (&builder));
}

static void
worker_take_batch (FlowWorker *w,
                   Msg        *m)
{
  FlowExec *exec = w->exec;
  FlowNode *node = g_ptr_array_index (exec->nodes, m->node);
  GError *error = NULL;

  w->received[m->from]++;
  w->reported = FALSE;
  if (m->packed != NULL)
    {
      /* Copied: the items are made, and released, here. */
      worker_unpack (w, &w->unpacked, m->packed, m->packed_len);
      if (!flow_node_push_here (node, m->port, &w->unpacked, &error))
        flow_exec_fail (exec, node->step->full_id, error);
      flow_batch_clear (&w->unpacked);
      return;
    }
  /* Even after a failure (of this worker or another), what was sent goes
   * on to the sinks until the run stops (flow_workers_finish()). */
  if (!flow_node_push_here (node, m->port, &m->batch, &error))
    flow_exec_fail (exec, node->step->full_id, error);

  /* The array goes back to its sender, for its next batch
   * (exchange_reserve()). (Its items are released here: handing them back
   * to their maker for release was measured, but a value shared with a
   * snapshot row — a state a step also emits — then often has its last
   * reference dropped by the maker after the store's writer read it, an
   * order ThreadSanitizer cannot see through GLib's reference counts.
   * Batches of basic values do not come here: they are copied.) */
  flow_batch_clear (&m->batch);
  if (m->batch.items != NULL)
    {
      FlowBatch *spare = g_new (FlowBatch, 1);

      *spare = m->batch;
      flow_batch_init (&m->batch);
      flow_tsan_release (spare);
      g_async_queue_push (w->coord->workers[m->from]->spare, spare);
    }
}

static void
spare_free (FlowBatch *spare)
{
  flow_batch_destroy (spare);
  g_free (spare);
}

static void
worker_handle (FlowWorker *w,
               Msg        *m)
{
  FlowExec *exec = w->exec;
  GError *error = NULL;

  switch (m->kind)
    {
    case MSG_BATCH:
      if (m->epoch > exec->epoch)
        {
          g_queue_push_tail (&w->held, m);
          return;
        }
      worker_take_batch (w, m);
      break;

    case MSG_PAUSE:
      flow_exec_worker_pause (exec, m->final);
      w->round = m->round;
      w->in_round = TRUE;
      w->reported = FALSE;
      break;

    case MSG_EOF_STEP:
      w->round = m->round;
      w->in_round = TRUE;
      w->reported = FALSE;
      if (exec->error == NULL &&
          !flow_node_eof (g_ptr_array_index (exec->nodes, m->node), &error))
        flow_exec_fail (exec, ((FlowNode *) g_ptr_array_index (exec->nodes, m->node))->step->full_id,
                        error);
      break;

    case MSG_SNAPSHOT:
      {
        Msg *reply;
        GArray *rows = NULL;
        GPtrArray *syncs = NULL;

        w->in_round = FALSE;
        if (exec->error != NULL)
          break;
        if (exec->track_changes)
          {
            rows = g_array_new (FALSE, TRUE, sizeof (FlowSnapRow));
            g_array_set_clear_func (rows, (GDestroyNotify) flow_snap_row_clear);
            syncs = g_ptr_array_new_with_free_func (g_object_unref);
          }
        if (!flow_exec_snapshot_rows (exec, rows, syncs, &error))
          {
            g_clear_pointer (&rows, g_array_unref);
            g_clear_pointer (&syncs, g_ptr_array_unref);
            flow_exec_fail (exec, NULL, error);
            break;
          }
        reply = msg_new (MSG_ROWS, w->index);
        reply->epoch = m->epoch;
        reply->rows = rows;
        reply->syncs = syncs;
        reply->counters = worker_dup_counters (w);
        reply->parts = worker_dup_parts (w);
        send_to_coordinator (w, reply);

        w->batch_told = FALSE;
        flow_exec_worker_resume (exec);
        /* Batches of the new epoch that came early */
        while (!g_queue_is_empty (&w->held))
          {
            Msg *h = g_queue_pop_head (&w->held);
            worker_take_batch (w, h);
            msg_free (h);
          }
      }
      break;

    case MSG_COMMIT_SINKS:
      if (exec->error == NULL && !flow_exec_commit_sinks (exec, m->epoch, &error))
        flow_exec_fail (exec, NULL, error);
      break;

    case MSG_FINISH:
      flow_exec_worker_finish (exec);
      break;

    case MSG_TICK:
    default:
      break;
    }
  msg_free (m);
}

static gboolean
worker_inbox_cb (gpointer data)
{
  FlowWorker *w = data;
  FlowWorkers *ws = w->coord;
  Msg *m;

  /* Busy before the messages count as handled (test clocks). */
  g_atomic_int_set (&w->idle_gen, 0);
  flow_exec_ref (w->exec);
  flow_clock_push_thread_default (w->exec->clock);
  while ((m = g_async_queue_try_pop (w->inbox)) != NULL)
    {
      gboolean finish;

      flow_tsan_acquire (m);
      finish = m->kind == MSG_FINISH;

      worker_handle (w, m);
      g_atomic_int_dec_and_test (&ws->in_flight);
      if (finish)
        break;
    }
  flow_clock_pop_thread_default (w->exec->clock);
  if (!g_atomic_int_get (&w->quit))
    {
      flow_worker_flush (w);
      flow_worker_maybe_idle (w);
    }
  flow_exec_unref (w->exec);
  return G_SOURCE_CONTINUE;
}

static gpointer
worker_thread (gpointer data)
{
  FlowWorker *w = data;
  FlowWorkers *ws = w->coord;

  g_main_context_push_thread_default (w->context);
  flow_exec_worker_start (w->exec);
  flow_worker_flush (w);
  while (!g_atomic_int_get (&w->quit))
    {
      if (!ws->track_idle)
        g_main_context_iteration (w->context, TRUE);
      else if (!g_main_context_iteration (w->context, FALSE))
        {
          /* Nothing to do: idle in this clock generation (test clocks
           * move only when every worker is). */
          g_atomic_int_set (&w->idle_gen, g_atomic_int_get (&ws->gen));
          g_main_context_wakeup (ws->context);
          if (!g_atomic_int_get (&w->quit))
            g_main_context_iteration (w->context, TRUE);
        }
    }
  g_main_context_pop_thread_default (w->context);
  return NULL;
}

static void
worker_free (FlowWorker *w)
{
  Msg *m;

  if (w->inbox_source != NULL)
    {
      g_source_destroy (w->inbox_source);
      g_source_unref (w->inbox_source);
    }
  while ((m = g_async_queue_try_pop (w->inbox)) != NULL)
    {
      flow_tsan_acquire (m);
      msg_free (m);
    }
  g_async_queue_unref (w->inbox);
  g_async_queue_unref (w->spare);
  g_queue_clear_full (&w->held, (GDestroyNotify) msg_free);
  flow_batch_destroy (&w->unpacked);
  g_clear_pointer (&w->keys, g_hash_table_unref);
  if (w->exec != NULL)
    {
      for (guint i = 0; i < w->exec->nodes->len; i++)
        ((FlowNode *) g_ptr_array_index (w->exec->nodes, i))->exchange = NULL;
      flow_exec_unref (w->exec);
    }
  g_ptr_array_unref (w->exchanges);
  g_main_context_unref (w->context);
  g_free (w->sent);
  g_free (w->received);
  g_free (w);
}

/* ------------------------------------------------------------------------
 * The coordinator
 * ------------------------------------------------------------------------ */

static void
coord_send_all (FlowWorkers *ws,
                MsgKind      kind,
                guint        node,
                guint64      epoch)
{
  for (guint i = 0; i < ws->n; i++)
    {
      Msg *m = msg_new (kind, G_MAXUINT);

      m->round = ws->round;
      m->node = node;
      m->epoch = epoch;
      m->final = ws->final;
      send_to_worker (ws, i, m);
    }
}

static void
coord_start_round (FlowWorkers *ws,
                   MsgKind      kind,
                   guint        node)
{
  ws->round++;
  ws->phase = PHASE_QUIET;
  for (guint i = 0; i < ws->n; i++)
    g_clear_pointer (&ws->counts[i], g_free);
  coord_send_all (ws, kind, node, ws->epoch);
}

/* The next step (from ws->eof_next) with an end-of-input function, or
 * G_MAXUINT. */
static guint
coord_next_eof_step (FlowWorkers *ws)
{
  FlowExec *w0 = ws->workers[0]->exec;

  for (guint i = ws->eof_next; i < w0->nodes->len; i++)
    if (((FlowNode *) g_ptr_array_index (w0->nodes, i))->step->op->eof != NULL)
      return i;
  return G_MAXUINT;
}

static void coord_snapshot (FlowWorkers *ws);
static void coord_send_finish (FlowWorkers *ws);

static void
coord_quiet (FlowWorkers *ws)
{
  if (ws->draining)
    {
      coord_send_finish (ws);
      return;
    }
  if (ws->final)
    {
      guint step = coord_next_eof_step (ws);

      if (step != G_MAXUINT)
        {
          ws->eof_next = step + 1;
          coord_start_round (ws, MSG_EOF_STEP, step);
          return;
        }
    }
  ws->phase = PHASE_ROWS;
  ws->n_rows = 0;
  if (ws->exec->commit_in_flight)
    {
      /* The previous epoch's commit lands first (flow_workers_commit_landed()). */
      ws->snapshot_waiting = TRUE;
      return;
    }
  coord_snapshot (ws);
}

static void
coord_snapshot (FlowWorkers *ws)
{
  if (ws->exec->track_changes)
    {
      ws->rows = g_array_new (FALSE, TRUE, sizeof (FlowSnapRow));
      g_array_set_clear_func (ws->rows, (GDestroyNotify) flow_snap_row_clear);
      ws->syncs = g_ptr_array_new_with_free_func (g_object_unref);
    }
  coord_send_all (ws, MSG_SNAPSHOT, 0, ws->epoch);
}

static void
coord_check_quiet (FlowWorkers *ws)
{
  guint n = ws->n;

  for (guint i = 0; i < n; i++)
    if (ws->counts[i] == NULL)
      return;
  for (guint a = 0; a < n; a++)
    for (guint b = 0; b < n; b++)
      if (ws->counts[a][b] != ws->counts[b][n + a])
        return;
  coord_quiet (ws);
}

static void
coord_handle (FlowWorkers *ws,
              Msg         *m)
{
  FlowExec *exec = ws->exec;

  switch (m->kind)
    {
    case MSG_IDLE:
      if (ws->phase == PHASE_QUIET && m->round == ws->round)
        {
          g_free (ws->counts[m->from]);
          ws->counts[m->from] = g_steal_pointer (&m->counts);
          coord_check_quiet (ws);
        }
      break;

    case MSG_ROWS:
      if (ws->counters[m->from] != NULL)
        g_variant_unref (ws->counters[m->from]);
      ws->counters[m->from] = g_steal_pointer (&m->counters);
      if (m->parts != NULL)
        {
          g_clear_pointer (&ws->parts[m->from], g_variant_unref);
          ws->parts[m->from] = g_steal_pointer (&m->parts);
        }
      if (ws->phase != PHASE_ROWS || m->epoch != ws->epoch)
        break;
      if (m->rows != NULL && ws->rows != NULL)
        {
          /* The rows move: their clear function must not run here. */
          g_array_append_vals (ws->rows, m->rows->data, m->rows->len);
          g_array_set_clear_func (m->rows, NULL);
        }
      if (m->syncs != NULL && ws->syncs != NULL)
        g_ptr_array_extend_and_steal (ws->syncs, g_steal_pointer (&m->syncs));
      if (++ws->n_rows == ws->n)
        {
          ws->phase = PHASE_NONE;
          flow_exec_epoch_gathered (exec, ws->epoch, g_steal_pointer (&ws->rows),
                                    g_steal_pointer (&ws->syncs));
        }
      break;

    case MSG_BATCH_DONE:
      flow_exec_batch_done (exec);
      break;

    case MSG_INPUTS_DONE:
      if (++ws->n_inputs_done == ws->n)
        flow_exec_all_inputs_done (exec);
      break;

    case MSG_FAILED:
      {
        GError *error = g_steal_pointer (&m->error);

        if (ws->n > 1 && error != NULL)
          {
            /* A prefix: bindings find their exception by the message's
             * end (the user's own text). */
            char *message = g_strdup_printf ("worker %u of %u: %s", m->from, ws->n,
                                             error->message);
            g_free (error->message);
            error->message = message;
          }
        flow_exec_fail (exec, NULL, error);
      }
      break;

    case MSG_CLOSED:
      if (m->error != NULL && ws->close_error == NULL)
        ws->close_error = g_steal_pointer (&m->error);
      if (++ws->n_closed == ws->n)
        {
          /* Every worker said it is done: the joins do not wait. */
          for (guint i = 0; i < ws->n; i++)
            g_clear_pointer (&ws->workers[i]->thread, g_thread_join);
          flow_exec_workers_closed (exec, g_steal_pointer (&ws->close_error));
        }
      break;

    default:
      break;
    }
}

static gboolean
coord_inbox_cb (gpointer data)
{
  FlowWorkers *ws = data;
  FlowExec *exec = ws->exec;
  Msg *m;

  flow_exec_ref (exec);
  while (exec->workers == ws && (m = g_async_queue_try_pop (ws->inbox)) != NULL)
    {
      flow_tsan_acquire (m);
      coord_handle (ws, m);
      msg_free (m);
    }
  flow_exec_unref (exec);
  return G_SOURCE_CONTINUE;
}

FlowWorkers *
flow_workers_new (FlowExec  *exec,
                  guint      n,
                  GError   **error)
{
  FlowWorkers *ws = g_new0 (FlowWorkers, 1);

  ws->exec = exec;
  ws->n = n;
  ws->context = g_main_context_ref (exec->context);
  /* GJS has one JS context, which must be entered from its thread only:
   * with GJS loaded, the workers share the caller's context and thread
   * (their work interleaves; docs/workers.md). */
  ws->threaded = !flow_binding_needs_caller_thread () &&
                 g_strcmp0 (g_getenv ("FLOW_WORKERS_SHARE_THREAD"), "1") != 0;
  ws->workers = g_new0 (FlowWorker *, n);
  ws->counts = g_new0 (guint64 *, n);
  ws->counters = g_new0 (GVariant *, n);
  ws->parts = g_new0 (GVariant *, n);
  ws->inbox = g_async_queue_new ();
  ws->gen = 1;
  ws->track_idle = ws->threaded && flow_clock_get_auto_advance (exec->clock);

  for (guint i = 0; i < n; i++)
    {
      FlowWorker *w = g_new0 (FlowWorker, 1);

      w->coord = ws;
      w->index = i;
      w->context = ws->threaded ? g_main_context_new () : g_main_context_ref (exec->context);
      w->inbox = g_async_queue_new ();
      w->spare = g_async_queue_new_full ((GDestroyNotify) spare_free);
      w->exchanges = g_ptr_array_new_with_free_func ((GDestroyNotify) exchange_free);
      w->sent = g_new0 (guint64, n);
      w->received = g_new0 (guint64, n);
      g_queue_init (&w->held);
      flow_batch_init (&w->unpacked);
      w->keys = g_hash_table_new_full (g_str_hash, g_str_equal,
                                       (GDestroyNotify) g_ref_string_release, NULL);
      ws->workers[i] = w;
      w->exec = flow_exec_new_worker (exec, i, w->context, w);
      if (!flow_exec_build_graph (w->exec, error))
        {
          flow_workers_free (ws);
          return NULL;
        }
    }
  return ws;
}

FlowExec *
flow_workers_get_exec (FlowWorkers *ws,
                       guint        index)
{
  return ws->workers[index]->exec;
}

/* Starts the workers, from the coordinator's context once the caller got
 * the run going (what the functions of the steps see of the runner is
 * then what they see with one worker). */
static gboolean
coord_start_cb (gpointer data)
{
  FlowWorkers *ws = data;
  FlowExec *exec = ws->exec;

  g_clear_pointer (&ws->start_source, g_source_unref);
  flow_exec_ref (exec);
  for (guint i = 0; i < ws->n; i++)
    {
      FlowWorker *w = ws->workers[i];

      if (ws->threaded)
        {
          g_autofree char *name = g_strdup_printf ("flow-worker-%u", i);
          GError *error = NULL;

          w->thread = g_thread_try_new (name, worker_thread, w, &error);
          if (w->thread == NULL)
            {
              g_prefix_error (&error, "dataflow '%s': starting worker %u failed: ",
                              flow_dataflow_get_id (exec->flow), i);
              /* Workers without a thread close here. */
              for (guint j = i; j < ws->n; j++)
                {
                  ws->workers[j]->thread_less = TRUE;
                  flow_exec_worker_finish (ws->workers[j]->exec);
                }
              flow_exec_fail (exec, NULL, error);
              break;
            }
        }
      else
        {
          flow_exec_worker_start (w->exec);
          flow_worker_flush (w);
        }
    }
  flow_exec_unref (exec);
  return G_SOURCE_REMOVE;
}

/* Every worker's partitions are built: sets up the exchanges, and starts
 * the workers when the caller's context runs. */
gboolean
flow_workers_start (FlowWorkers           *ws,
                    const FlowExecConfig  *config,
                    GError               **error)
{
  ws->inbox_source = inbox_source_new (ws->inbox, ws->context, "[libflow] coordinator",
                                       coord_inbox_cb, ws);
  for (guint i = 0; i < ws->n; i++)
    {
      FlowWorker *w = ws->workers[i];

      /* A snapshot interval of 0 (an epoch per batch): each worker yields
       * after every batch and asks for the close (batch_done()). */
      w->exec->epoch_usec = ws->exec->epoch_usec == 0 ? 0 : -1;
      worker_add_exchanges (w);
      w->inbox_source = inbox_source_new (w->inbox, w->context, "[libflow] worker",
                                          worker_inbox_cb, w);
    }
  ws->start_source = g_idle_source_new ();
  g_source_set_priority (ws->start_source, G_PRIORITY_HIGH);
  g_source_set_static_name (ws->start_source, "[libflow] start workers");
  g_source_set_callback (ws->start_source, coord_start_cb, ws, NULL);
  g_source_attach (ws->start_source, ws->context);
  return TRUE;
}

void
flow_workers_free (FlowWorkers *ws)
{
  Msg *m;

  for (guint i = 0; i < ws->n; i++)
    {
      FlowWorker *w = ws->workers[i];

      if (w == NULL)
        continue;
      if (w->thread != NULL)
        {
          /* Only at a failed start: the thread quits at once. */
          g_atomic_int_set (&w->quit, TRUE);
          g_main_context_wakeup (w->context);
          g_thread_join (w->thread);
        }
      worker_free (w);
    }
  if (ws->inbox_source != NULL)
    {
      g_source_destroy (ws->inbox_source);
      g_source_unref (ws->inbox_source);
    }
  if (ws->start_source != NULL)
    {
      g_source_destroy (ws->start_source);
      g_source_unref (ws->start_source);
    }
  while ((m = g_async_queue_try_pop (ws->inbox)) != NULL)
    {
      flow_tsan_acquire (m);
      msg_free (m);
    }
  g_async_queue_unref (ws->inbox);
  for (guint i = 0; i < ws->n; i++)
    {
      g_free (ws->counts[i]);
      g_clear_pointer (&ws->counters[i], g_variant_unref);
      g_clear_pointer (&ws->parts[i], g_variant_unref);
    }
  g_free (ws->counts);
  g_free (ws->counters);
  g_free (ws->parts);
  g_free (ws->workers);
  g_clear_pointer (&ws->rows, g_array_unref);
  g_clear_pointer (&ws->syncs, g_ptr_array_unref);
  g_clear_error (&ws->close_error);
  g_main_context_unref (ws->context);
  g_free (ws);
}

void
flow_workers_close_epoch (FlowWorkers *ws,
                          guint64      epoch,
                          gboolean     final)
{
  g_assert (ws->phase == PHASE_NONE);
  ws->epoch = epoch;
  ws->final = final;
  ws->eof_next = 0;
  coord_start_round (ws, MSG_PAUSE, 0);
}

void
flow_workers_commit_sinks (FlowWorkers *ws,
                           guint64      epoch)
{
  if (!ws->finishing)
    coord_send_all (ws, MSG_COMMIT_SINKS, 0, epoch);
}

void
flow_workers_commit_landed (FlowWorkers *ws)
{
  if (ws->snapshot_waiting && ws->phase == PHASE_ROWS)
    {
      ws->snapshot_waiting = FALSE;
      coord_snapshot (ws);
    }
}

gboolean
flow_workers_abort_close (FlowWorkers *ws)
{
  gboolean closing = ws->exec->workers_closing;

  ws->phase = PHASE_NONE;
  ws->snapshot_waiting = FALSE;
  g_clear_pointer (&ws->rows, g_array_unref);
  g_clear_pointer (&ws->syncs, g_ptr_array_unref);
  ws->exec->workers_closing = FALSE;
  return closing;
}

void
flow_workers_finish (FlowWorkers *ws)
{
  if (ws->finishing)
    return;
  ws->finishing = TRUE;
  ws->phase = PHASE_NONE;
  if (ws->start_source != NULL)
    {
      /* Stopped before the workers started: they close here. */
      g_source_destroy (ws->start_source);
      g_clear_pointer (&ws->start_source, g_source_unref);
      for (guint i = 0; i < ws->n; i++)
        {
          ws->workers[i]->thread_less = TRUE;
          flow_exec_worker_finish (ws->workers[i]->exec);
        }
      return;
    }
  for (guint i = 0; i < ws->n; i++)
    if (ws->workers[i]->thread_less)
      {
        coord_send_finish (ws);
        return;
      }
  /* First, what is in flight between the workers reaches the sinks (as
   * with one worker, the items a failure did not stop are written): a
   * final pause, until quiet; then FINISH (coord_quiet()). */
  ws->draining = TRUE;
  ws->final = TRUE;
  coord_start_round (ws, MSG_PAUSE, 0);
}

static void
coord_send_finish (FlowWorkers *ws)
{
  ws->phase = PHASE_NONE;
  for (guint i = 0; i < ws->n; i++)
    {
      Msg *m;

      if (ws->workers[i]->thread_less)
        continue;  /* closed already */
      m = msg_new (MSG_FINISH, G_MAXUINT);
      send_to_worker (ws, i, m);
    }
}

gboolean
flow_workers_all_idle (FlowWorkers *ws)
{
  gint gen = g_atomic_int_get (&ws->gen);

  if (!ws->threaded)
    return TRUE;   /* the shared context is idle: this is asked then */
  if (g_atomic_int_get (&ws->in_flight) != 0)
    return FALSE;
  for (guint i = 0; i < ws->n; i++)
    if (g_atomic_int_get (&ws->workers[i]->idle_gen) != gen)
      return FALSE;
  return TRUE;
}

void
flow_workers_clock_advanced (FlowWorkers *ws)
{
  if (!ws->threaded)
    return;
  g_atomic_int_inc (&ws->gen);
  coord_send_all (ws, MSG_TICK, 0, 0);
}

/* The workers' step counters (as of their last epoch close), summed. */
GVariant *
flow_workers_dup_step_counters (FlowWorkers *ws)
{
  g_autoptr(GHashTable) steps = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                       (GDestroyNotify) g_hash_table_unref);
  g_autoptr(GPtrArray) order = g_ptr_array_new ();
  GVariantBuilder builder;

  for (guint i = 0; i < ws->n; i++)
    {
      GVariantIter iter;
      const char *step;
      GVariant *counters;

      if (ws->counters[i] == NULL)
        continue;
      g_variant_iter_init (&iter, ws->counters[i]);
      while (g_variant_iter_loop (&iter, "{&s@a{st}}", &step, &counters))
        {
          GHashTable *sums = g_hash_table_lookup (steps, step);
          GVariantIter citer;
          const char *name;
          guint64 value;

          if (sums == NULL)
            {
              sums = g_hash_table_new (g_str_hash, g_str_equal);
              g_hash_table_insert (steps, (gpointer) step, sums);
              g_ptr_array_add (order, (gpointer) step);
            }
          g_variant_iter_init (&citer, counters);
          while (g_variant_iter_next (&citer, "{&st}", &name, &value))
            {
              guint64 *sum = g_hash_table_lookup (sums, name);
              if (sum == NULL)
                g_hash_table_insert (sums, (gpointer) name, sum = g_new0 (guint64, 1));
              *sum += value;
            }
        }
    }

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{sa{st}}"));
  for (guint i = 0; i < order->len; i++)
    {
      GHashTable *sums = g_hash_table_lookup (steps, order->pdata[i]);
      GVariantBuilder inner;
      GHashTableIter iter;
      gpointer name, sum;

      g_variant_builder_init (&inner, G_VARIANT_TYPE ("a{st}"));
      g_hash_table_iter_init (&iter, sums);
      while (g_hash_table_iter_next (&iter, &name, &sum))
        {
          g_variant_builder_add (&inner, "{st}", name, *(guint64 *) sum);
          g_free (sum);
        }
      g_variant_builder_add (&builder, "{sa{st}}", order->pdata[i], &inner);
    }
  return g_variant_builder_end (&builder);
}

void
flow_workers_foreach_part (FlowWorkers         *ws,
                           gboolean             input,
                           FlowWorkersPartFunc  func,
                           gpointer             user_data)
{
  guint n_nodes = ws->workers[0]->exec->nodes->len;

  for (guint node = 0; node < n_nodes; node++)
    for (guint i = 0; i < ws->n; i++)
      {
        GVariantIter iter;
        const char *step, *key;
        guint64 count;
        gboolean is_input;
        guint index;

        if (ws->parts[i] == NULL)
          continue;
        g_variant_iter_init (&iter, ws->parts[i]);
        while (g_variant_iter_next (&iter, "(ub&s&st)", &index, &is_input, &step, &key, &count))
          if (index == node && is_input == input)
            func (step, key, count, user_data);
      }
}
