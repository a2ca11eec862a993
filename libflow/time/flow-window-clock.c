/* flow-window-clock.c: FlowWindowClock, FlowSystemClock and FlowEventClock
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Bytewax's _SystemClockLogic and _EventClockLogic. System time is the
 * real time of the thread's default FlowClock (flow-clock-private.h): the
 * run's clock while a run processes items, which tests replace by a test
 * clock they advance by hand.
 */

#include "config.h"

#include "flow-clock-private.h"
#include "flow-error.h"
#include "flow-time-private.h"

/* A window operator reads the system time once per batch for all its
 * keys (flow_window_clock_set_batch_time()); 0: read it each time. */
static __thread gint64 batch_time;

void
flow_window_clock_set_batch_time (gint64 now)
{
  batch_time = now;
}

gint64
flow_window_clock_system_now (void)
{
  if (batch_time != 0)
    return batch_time;
  return flow_clock_get_real (flow_clock_get_thread_default ());
}

static gint64
clamp_timestamp (gint64 t)
{
  return CLAMP (t, FLOW_TIMESTAMP_MIN, FLOW_TIMESTAMP_MAX);
}

static gint64
clock_timestamp_now (void)
{
  return clamp_timestamp (flow_window_clock_system_now ());
}

/* FlowWindowClock ------------------------------------------------------- */

/**
 * FlowWindowClock:
 *
 * A sense of time for window operators (Bytewax's `Clock`): it gives each
 * item a timestamp and tells how far time has advanced (the watermark).
 * Items whose timestamp is before the watermark are late; windows close
 * once the watermark passes them.
 *
 * A clock is configuration; the time of each key is in a
 * [struct@Flow.WindowClockState] made by
 * [method@Flow.WindowClock.new_state].
 */
G_DEFINE_ABSTRACT_TYPE (FlowWindowClock, flow_window_clock, G_TYPE_OBJECT)

static const FlowWindowClockOps custom_ops;

/* The vfuncs took padding: the class keeps its size (ABI). */
G_STATIC_ASSERT (sizeof (FlowWindowClockClass) == sizeof (GObjectClass) + 12 * sizeof (gpointer));

static void
flow_window_clock_class_init (FlowWindowClockClass *klass)
{
  /* Subclasses written outside libflow use the vfuncs; libflow's own set
   * their table in their class_init. */
  klass->ops = &custom_ops;
}

static void
flow_window_clock_init (FlowWindowClock *self)
{
}

void
flow_window_clock_class_set_ops (FlowWindowClockClass     *klass,
                                 const FlowWindowClockOps *ops)
{
  klass->ops = ops;
}

/* FlowWindowClockState -------------------------------------------------- */

struct _FlowWindowClockState
{
  gatomicrefcount           ref_count;
  FlowWindowClock          *clock;
  const FlowWindowClockOps *ops;
  gpointer                  data;
};

G_DEFINE_BOXED_TYPE (FlowWindowClockState, flow_window_clock_state,
                     flow_window_clock_state_ref, flow_window_clock_state_unref)

static const FlowWindowClockOps *
get_ops (FlowWindowClock *self)
{
  return FLOW_WINDOW_CLOCK_GET_CLASS (self)->ops;
}

static FlowWindowClockState *
state_new (FlowWindowClock *clock,
           gpointer         data)
{
  FlowWindowClockState *self = g_new0 (FlowWindowClockState, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->clock = g_object_ref (clock);
  self->ops = get_ops (clock);
  self->data = data;
  return self;
}

/**
 * flow_window_clock_new_state:
 * @self: a window clock
 *
 * Creates the time of a new key. System time is read from the run's clock
 * (the real time of the system outside of runs).
 *
 * Returns: (transfer full): the new state
 */
FlowWindowClockState *
flow_window_clock_new_state (FlowWindowClock *self)
{
  const FlowWindowClockOps *ops;

  g_return_val_if_fail (FLOW_IS_WINDOW_CLOCK (self), NULL);
  ops = get_ops (self);
  g_return_val_if_fail (ops != NULL, NULL);

  return state_new (self, ops->state_new (self));
}

/**
 * flow_window_clock_restore_state:
 * @self: a window clock
 * @snapshot: a snapshot from [method@Flow.WindowClockState.snapshot] of a
 *   clock of the same kind
 * @error: return location for a #GError
 *
 * Restores the time of a key from a snapshot, for a resume. For an
 * [class@Flow.EventClock] the watermark goes on from where it was, plus
 * the system time that passed since the snapshot's last new maximum (as
 * Bytewax's). A clock written outside libflow gets @snapshot in its
 * [vfunc@Flow.WindowClock.build].
 *
 * Returns: (transfer full): the restored state, or %NULL with @error set
 *   (%FLOW_ERROR_CORRUPT_PARTITION) when @snapshot is not a state of this
 *   kind of clock
 */
FlowWindowClockState *
flow_window_clock_restore_state (FlowWindowClock *self,
                                 GVariant        *snapshot,
                                 GError         **error)
{
  const FlowWindowClockOps *ops;
  gpointer data;

  g_return_val_if_fail (FLOW_IS_WINDOW_CLOCK (self), NULL);
  g_return_val_if_fail (snapshot != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  ops = get_ops (self);
  g_return_val_if_fail (ops != NULL, NULL);

  if (ops->snapshot_type != NULL &&
      !g_variant_is_of_type (snapshot, G_VARIANT_TYPE (ops->snapshot_type)))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
                   "the snapshot of a %s state has type %s, not %s",
                   G_OBJECT_TYPE_NAME (self),
                   g_variant_get_type_string (snapshot), ops->snapshot_type);
      return NULL;
    }
  data = ops->restore (self, snapshot, error);
  if (data == NULL)
    return NULL;
  return state_new (self, data);
}

/**
 * flow_window_clock_state_ref:
 * @self: a window clock state
 *
 * Takes a reference.
 *
 * Returns: (transfer full): @self
 */
FlowWindowClockState *
flow_window_clock_state_ref (FlowWindowClockState *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

/**
 * flow_window_clock_state_unref:
 * @self: (transfer full): a window clock state
 *
 * Drops a reference; frees the state when it was the last.
 */
void
flow_window_clock_state_unref (FlowWindowClockState *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  self->ops->state_free (self->data);
  g_object_unref (self->clock);
  g_free (self);
}

/**
 * flow_window_clock_state_get_clock:
 * @self: a window clock state
 *
 * Gets the clock this state belongs to.
 *
 * Returns: (transfer none): the clock
 */
FlowWindowClock *
flow_window_clock_state_get_clock (FlowWindowClockState *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->clock;
}

/**
 * flow_window_clock_state_before_batch:
 * @self: a window clock state
 *
 * Reads the system time once for the batch of items that follows: the
 * items of one batch get the same system time. System time never goes
 * back for a state (a system clock set back is seen as standing still).
 */
void
flow_window_clock_state_before_batch (FlowWindowClockState *self)
{
  g_return_if_fail (self != NULL);

  self->ops->before_batch (self->clock, self->data);
}

/**
 * flow_window_clock_state_on_item:
 * @self: a window clock state
 * @value: the value of a keyed item (the `v` of its `(k, v)`)
 * @timestamp: (out): return location for the item's timestamp
 * @watermark: (out): return location for the watermark after the item
 * @error: return location for a #GError
 *
 * Gives an item its timestamp, and the watermark after it (Bytewax's
 * `ClockLogic.on_item`). The item is late when its timestamp is before
 * the watermark. The watermark never goes back.
 *
 * Returns: %FALSE with @error set when the item's timestamp could not be
 *   had (the timestamp getter of an [class@Flow.EventClock] failed or gave
 *   a time out of range: %FLOW_ERROR_USER_FUNCTION)
 */
gboolean
flow_window_clock_state_on_item (FlowWindowClockState *self,
                                 GVariant             *value,
                                 gint64               *timestamp,
                                 gint64               *watermark,
                                 GError              **error)
{
  gint64 ts = 0, wm = 0;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!self->ops->on_item (self->clock, self->data, value, &ts, &wm, error))
    return FALSE;
  if (timestamp != NULL)
    *timestamp = ts;
  if (watermark != NULL)
    *watermark = wm;
  return TRUE;
}

/**
 * flow_window_clock_state_on_notify:
 * @self: a window clock state
 *
 * Reads the system time and gives the watermark when there is no item
 * (Bytewax's `ClockLogic.on_notify`): what a window operator asks when it
 * is woken to close windows.
 *
 * Returns: the watermark, µs since the Unix epoch (UTC)
 */
gint64
flow_window_clock_state_on_notify (FlowWindowClockState *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->ops->on_notify (self->clock, self->data);
}

/**
 * flow_window_clock_state_on_eof:
 * @self: a window clock state
 *
 * Gives the watermark at the end of input (Bytewax's `ClockLogic.on_eof`):
 * %FLOW_TIMESTAMP_MAX for libflow's clocks, which closes every window
 * (a clock written outside libflow gives what its
 * [vfunc@Flow.WindowClock.on_eof] gives). For libflow's clocks it
 * does not change the state, so a run that continues after a resume goes
 * on from the snapshot as if the end had not been.
 *
 * Returns: the watermark
 */
gint64
flow_window_clock_state_on_eof (FlowWindowClockState *self)
{
  g_return_val_if_fail (self != NULL, 0);

  if (self->ops->on_eof == NULL)
    return FLOW_TIMESTAMP_MAX;
  return self->ops->on_eof (self->clock, self->data);
}

/**
 * flow_window_clock_state_to_system_utc:
 * @self: a window clock state
 * @timestamp: a time on this clock (a window's close time)
 * @system_time: (out) (optional): return location for the system time
 *
 * Converts a time on this clock to the system time at which the watermark
 * will reach it if no new item pushes it further, so that a window
 * operator can be woken then (Bytewax's `ClockLogic.to_system_utc`). For
 * a [class@Flow.SystemClock] it is @timestamp itself. For an
 * [class@Flow.EventClock] it is the system time of the latest maximum
 * plus the distance from the watermark then to @timestamp (Bytewax's
 * default converter gives @timestamp itself, which is right only when
 * event time follows system time); a result in the past means "now".
 *
 * Returns: %FALSE when there is no system time to wake at
 */
gboolean
flow_window_clock_state_to_system_utc (FlowWindowClockState *self,
                                       gint64                timestamp,
                                       gint64               *system_time)
{
  gint64 at = 0;
  gboolean ret;

  g_return_val_if_fail (self != NULL, FALSE);

  timestamp = CLAMP (timestamp, FLOW_TIMESTAMP_MIN, FLOW_TIMESTAMP_MAX);
  ret = self->ops->to_system_utc (self->clock, self->data, timestamp, &at);
  if (system_time != NULL)
    *system_time = ret ? at : 0;
  return ret;
}

/**
 * flow_window_clock_state_snapshot:
 * @self: a window clock state
 *
 * Takes a snapshot of the state, for
 * [method@Flow.WindowClock.restore_state]: `()` for a
 * [class@Flow.SystemClock] (it has no state), `(xx)` for an
 * [class@Flow.EventClock] (the system time of the latest maximum and the
 * watermark then, µs since the Unix epoch); for a clock written outside
 * libflow, what its [vfunc@Flow.WindowClock.snapshot] returns (on
 * failure, `()`, the failure being kept for the window operator).
 *
 * Returns: (transfer full): the snapshot
 */
GVariant *
flow_window_clock_state_snapshot (FlowWindowClockState *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return g_variant_take_ref (self->ops->snapshot (self->clock, self->data));
}

/* FlowSystemClock ------------------------------------------------------- */

/**
 * FlowSystemClock:
 *
 * Uses the system time as the timestamp of each item (Bytewax's
 * `SystemClock`); the watermark is the system time, so no item is ever
 * late. At the end of input every window closes.
 *
 * During a run the system time is the run's clock.
 */
struct _FlowSystemClock
{
  FlowWindowClock parent_instance;
};

G_DEFINE_FINAL_TYPE (FlowSystemClock, flow_system_clock, FLOW_TYPE_WINDOW_CLOCK)

typedef struct
{
  gint64 now;
} SystemState;

static gpointer
system_state_new (FlowWindowClock *clock)
{
  SystemState *st = g_new0 (SystemState, 1);

  st->now = clock_timestamp_now ();
  return st;
}

static void
system_state_free (gpointer data)
{
  g_free (data);
}

static void
system_before_batch (FlowWindowClock *clock,
                     gpointer         data)
{
  SystemState *st = data;

  st->now = MAX (st->now, clock_timestamp_now ());
}

static gboolean
system_on_item (FlowWindowClock *clock,
                gpointer         data,
                GVariant        *value,
                gint64          *timestamp,
                gint64          *watermark,
                GError         **error)
{
  SystemState *st = data;

  *timestamp = *watermark = st->now;
  return TRUE;
}

static gint64
system_on_notify (FlowWindowClock *clock,
                  gpointer         data)
{
  SystemState *st = data;

  system_before_batch (clock, data);
  return st->now;
}

static gboolean
system_to_system_utc (FlowWindowClock *clock,
                      gpointer         data,
                      gint64           timestamp,
                      gint64          *system_time)
{
  *system_time = timestamp;
  return TRUE;
}

static GVariant *
system_snapshot (FlowWindowClock *clock,
                 gpointer         data)
{
  return g_variant_new_tuple (NULL, 0);
}

static gpointer
system_restore (FlowWindowClock *clock,
                GVariant        *snapshot,
                GError         **error)
{
  return system_state_new (clock);
}

static void
system_encode (FlowWindowClock *clock,
               gpointer         data,
               GByteArray      *out)
{
  guint8 tag = FLOW_TIME_CODE_SYSTEM_CLOCK;

  g_byte_array_append (out, &tag, 1);
}

static const FlowWindowClockOps system_ops = {
  .snapshot_type = "()",
  .state_new = system_state_new,
  .state_free = system_state_free,
  .before_batch = system_before_batch,
  .on_item = system_on_item,
  .on_notify = system_on_notify,
  .to_system_utc = system_to_system_utc,
  .snapshot = system_snapshot,
  .restore = system_restore,
  .encode = system_encode,
};

static void
flow_system_clock_class_init (FlowSystemClockClass *klass)
{
  flow_window_clock_class_set_ops (FLOW_WINDOW_CLOCK_CLASS (klass), &system_ops);
}

static void
flow_system_clock_init (FlowSystemClock *self)
{
}

/**
 * flow_system_clock_new:
 *
 * Creates a system clock.
 *
 * Returns: (transfer full): the new clock
 */
FlowSystemClock *
flow_system_clock_new (void)
{
  return g_object_new (FLOW_TYPE_SYSTEM_CLOCK, NULL);
}

/* FlowEventClock -------------------------------------------------------- */

/**
 * FlowEventClock:
 *
 * Uses a timestamp in each item (Bytewax's `EventClock`), got by a
 * [callback@Flow.TimestampFunc].
 *
 * The watermark is the latest timestamp seen so far, minus
 * `wait_for_system_duration`, plus the system time that passed since
 * that item was seen: items are on time as long as they come in order or
 * no later than the wait after the latest one. At the end of input every
 * window closes.
 *
 * During a run the system time is the run's clock.
 */
struct _FlowEventClock
{
  FlowWindowClock    parent_instance;

  FlowTimestampFunc  ts_getter;
  gpointer           user_data;
  GDestroyNotify     destroy;
  GTimeSpan          wait_for_system_duration;

  FlowNowFunc        now_func;    /* NULL: the run's clock */
  gpointer           now_data;
  GDestroyNotify     now_destroy;
};

G_DEFINE_FINAL_TYPE (FlowEventClock, flow_event_clock, FLOW_TYPE_WINDOW_CLOCK)

enum {
  PROP_0,
  PROP_WAIT_FOR_SYSTEM_DURATION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

typedef struct
{
  gint64 system_time_of_max_event;
  gint64 watermark_base;
  gint64 system_now;       /* not in snapshots */
} EventState;

/* The system time of an event clock: its now function's, or the run's. */
static gint64
event_now (FlowWindowClock *clock)
{
  FlowEventClock *self = (FlowEventClock *) clock;

  if (G_LIKELY (self->now_func == NULL))
    return clock_timestamp_now ();
  return clamp_timestamp (self->now_func (self->now_data));
}

static gpointer
event_state_new (FlowWindowClock *clock)
{
  EventState *st = g_new0 (EventState, 1);

  st->system_now = event_now (clock);
  st->system_time_of_max_event = st->system_now;
  st->watermark_base = FLOW_TIMESTAMP_MIN;
  return st;
}

static void
event_state_free (gpointer data)
{
  g_free (data);
}

static void
event_before_batch (FlowWindowClock *clock,
                    gpointer         data)
{
  EventState *st = data;

  st->system_now = MAX (st->system_now, event_now (clock));
}

static gint64
event_watermark (EventState *st)
{
  return clamp_timestamp (st->watermark_base + (st->system_now - st->system_time_of_max_event));
}

static gboolean
event_on_item (FlowWindowClock *clock,
               gpointer         data,
               GVariant        *value,
               gint64          *timestamp,
               gint64          *watermark,
               GError         **error)
{
  FlowEventClock *self = FLOW_EVENT_CLOCK (clock);
  EventState *st = data;
  gint64 ts, wm, base;
  g_autoptr(GError) local_error = NULL;

  ts = flow_event_clock_get_timestamp (self, value, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  wm = event_watermark (st);
  base = ts - self->wait_for_system_duration;
  /* Bytewax: a base that is not representable leaves the watermark
   * advancing with system time. */
  if (base >= FLOW_TIMESTAMP_MIN && base > wm)
    {
      st->watermark_base = base;
      st->system_time_of_max_event = st->system_now;
      wm = base;
    }
  *timestamp = ts;
  *watermark = wm;
  return TRUE;
}

static gint64
event_on_notify (FlowWindowClock *clock,
                 gpointer         data)
{
  event_before_batch (clock, data);
  return event_watermark (data);
}

static gboolean
event_to_system_utc (FlowWindowClock *clock,
                     gpointer         data,
                     gint64           timestamp,
                     gint64          *system_time)
{
  EventState *st = data;

  /* The watermark is base + (now - t0): it reaches @timestamp at
   * t0 + (timestamp - base). */
  *system_time = clamp_timestamp (st->system_time_of_max_event +
                                  (timestamp - st->watermark_base));
  return TRUE;
}

static GVariant *
event_snapshot (FlowWindowClock *clock,
                gpointer         data)
{
  EventState *st = data;

  return g_variant_new ("(xx)", st->system_time_of_max_event, st->watermark_base);
}

static gpointer
event_restore (FlowWindowClock *clock,
               GVariant        *snapshot,
               GError         **error)
{
  EventState *st = g_new0 (EventState, 1);

  g_variant_get (snapshot, "(xx)", &st->system_time_of_max_event, &st->watermark_base);
  if (st->system_time_of_max_event < FLOW_TIMESTAMP_MIN ||
      st->system_time_of_max_event > FLOW_TIMESTAMP_MAX ||
      st->watermark_base < FLOW_TIMESTAMP_MIN ||
      st->watermark_base > FLOW_TIMESTAMP_MAX)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION,
                   "the event clock snapshot (%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                   ") holds times out of range",
                   st->system_time_of_max_event, st->watermark_base);
      g_free (st);
      return NULL;
    }
  st->system_now = MAX (event_now (clock), st->system_time_of_max_event);
  return st;
}

static void
event_encode (FlowWindowClock *clock,
              gpointer         data,
              GByteArray      *out)
{
  EventState *st = data;
  guint8 tag = FLOW_TIME_CODE_EVENT_CLOCK;

  g_byte_array_append (out, &tag, 1);
  flow_time_put_varint (out, st->system_time_of_max_event);
  flow_time_put_varint (out, st->watermark_base);
}

static const FlowWindowClockOps event_ops = {
  .snapshot_type = "(xx)",
  .state_new = event_state_new,
  .state_free = event_state_free,
  .before_batch = event_before_batch,
  .on_item = event_on_item,
  .on_notify = event_on_notify,
  .to_system_utc = event_to_system_utc,
  .snapshot = event_snapshot,
  .restore = event_restore,
  .encode = event_encode,
};

static void
flow_event_clock_finalize (GObject *object)
{
  FlowEventClock *self = FLOW_EVENT_CLOCK (object);

  if (self->destroy != NULL)
    self->destroy (self->user_data);
  if (self->now_destroy != NULL)
    self->now_destroy (self->now_data);

  G_OBJECT_CLASS (flow_event_clock_parent_class)->finalize (object);
}

static void
flow_event_clock_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  FlowEventClock *self = FLOW_EVENT_CLOCK (object);

  switch (prop_id)
    {
    case PROP_WAIT_FOR_SYSTEM_DURATION:
      g_value_set_int64 (value, self->wait_for_system_duration);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
flow_event_clock_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  FlowEventClock *self = FLOW_EVENT_CLOCK (object);

  switch (prop_id)
    {
    case PROP_WAIT_FOR_SYSTEM_DURATION:
      self->wait_for_system_duration = g_value_get_int64 (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
flow_event_clock_class_init (FlowEventClockClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = flow_event_clock_finalize;
  object_class->get_property = flow_event_clock_get_property;
  object_class->set_property = flow_event_clock_set_property;

  /**
   * FlowEventClock:wait-for-system-duration:
   *
   * How much system time, in microseconds, the watermark waits after an
   * item's timestamp before it reaches that timestamp.
   */
  properties[PROP_WAIT_FOR_SYSTEM_DURATION] =
    g_param_spec_int64 ("wait-for-system-duration", NULL, NULL,
                        0, FLOW_TIME_SPAN_MAX, 0,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  flow_window_clock_class_set_ops (FLOW_WINDOW_CLOCK_CLASS (klass), &event_ops);
}

static void
flow_event_clock_init (FlowEventClock *self)
{
}

/**
 * flow_event_clock_new:
 * @wait_for_system_duration: how much system time the watermark waits
 *   after a timestamp before it reaches it, in microseconds (zero or
 *   positive; %G_MAXINT64, or anything longer than the range of
 *   representable times, waits for the end of input)
 * @ts_getter: (scope notified) (closure user_data) (destroy destroy): gets
 *   the timestamp of an item
 * @user_data: data for @ts_getter
 * @destroy: (nullable): frees @user_data when the clock is finalized
 * @error: return location for a #GError
 *
 * Creates an event clock. (Bytewax's `EventClock(ts_getter,
 * wait_for_system_duration)`; the callback comes last here, as GLib's
 * callbacks do.)
 *
 * Returns: (transfer full): the new clock, or %NULL with @error set
 *   (%FLOW_ERROR_INVALID_ARGUMENT) when @wait_for_system_duration is
 *   negative
 */
FlowEventClock *
flow_event_clock_new (GTimeSpan          wait_for_system_duration,
                      FlowTimestampFunc  ts_getter,
                      gpointer           user_data,
                      GDestroyNotify     destroy,
                      GError           **error)
{
  FlowEventClock *self;

  g_return_val_if_fail (ts_getter != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (wait_for_system_duration < 0)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "wait_for_system_duration must be zero or positive, not %"
                   G_GINT64_FORMAT " µs", wait_for_system_duration);
      if (destroy != NULL)
        destroy (user_data);
      return NULL;
    }

  /* Bytewax suggests timedelta.max to wait for the end of input: any
   * wait past the representable range is the same. */
  self = g_object_new (FLOW_TYPE_EVENT_CLOCK,
                       "wait-for-system-duration",
                       MIN (wait_for_system_duration, FLOW_TIME_SPAN_MAX),
                       NULL);
  self->ts_getter = ts_getter;
  self->user_data = user_data;
  self->destroy = destroy;
  return self;
}

/**
 * flow_event_clock_get_wait_for_system_duration:
 * @self: an event clock
 *
 * Gets how much system time the watermark waits after a timestamp.
 *
 * Returns: the wait, in microseconds
 */
GTimeSpan
flow_event_clock_get_wait_for_system_duration (FlowEventClock *self)
{
  g_return_val_if_fail (FLOW_IS_EVENT_CLOCK (self), 0);

  return self->wait_for_system_duration;
}

/**
 * flow_event_clock_set_now_func:
 * @self: an event clock
 * @now_func: (nullable) (scope notified) (closure user_data) (destroy destroy):
 *   gives the system time, or %NULL for the run's clock
 * @user_data: data for @now_func
 * @destroy: (nullable): frees @user_data when the clock is finalized or
 *   the function replaced
 *
 * Sets where the clock reads the system time (Bytewax's `now_getter`):
 * by default the run's clock (the real time of the system outside of
 * runs, a test clock in tests). Set it before the clock is used; the
 * states made before keep the times they read.
 */
void
flow_event_clock_set_now_func (FlowEventClock *self,
                               FlowNowFunc     now_func,
                               gpointer        user_data,
                               GDestroyNotify  destroy)
{
  g_return_if_fail (FLOW_IS_EVENT_CLOCK (self));

  if (self->now_destroy != NULL)
    self->now_destroy (self->now_data);
  self->now_func = now_func;
  self->now_data = user_data;
  self->now_destroy = destroy;
}

/**
 * flow_event_clock_get_timestamp:
 * @self: an event clock
 * @value: the value of a keyed item
 * @error: return location for a #GError
 *
 * Gets the timestamp of an item with the clock's timestamp getter, and
 * checks it.
 *
 * Returns: the timestamp, µs since the Unix epoch (UTC); on failure, 0
 *   with @error set (%FLOW_ERROR_USER_FUNCTION): the getter failed (its
 *   error is kept, prefixed), or gave a time before %FLOW_TIMESTAMP_MIN
 *   or after %FLOW_TIMESTAMP_MAX
 */
gint64
flow_event_clock_get_timestamp (FlowEventClock  *self,
                                GVariant        *value,
                                GError         **error)
{
  g_autoptr(GError) local_error = NULL;
  gint64 ts;

  g_return_val_if_fail (FLOW_IS_EVENT_CLOCK (self), 0);
  g_return_val_if_fail (value != NULL, 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  if (self->ts_getter == NULL)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_USER_FUNCTION,
                   "the event clock has no timestamp getter (create it with "
                   "flow_event_clock_new())");
      return 0;
    }
  ts = self->ts_getter (value, self->user_data, &local_error);
  if (local_error != NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  "the event clock's timestamp getter failed: ");
      return 0;
    }
  if (ts < FLOW_TIMESTAMP_MIN || ts > FLOW_TIMESTAMP_MAX)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_USER_FUNCTION,
                   "the event clock's timestamp getter returned %" G_GINT64_FORMAT
                   " µs since the epoch, which is not a time between the years 1 "
                   "and 9999", ts);
      return 0;
    }
  return ts;
}

void
flow_window_clock_state_encode (FlowWindowClockState *self,
                                GByteArray           *out)
{
  if (self->ops->encode != NULL)
    self->ops->encode (self->clock, self->data, out);
  else
    {
      g_autoptr(GVariant) snap = flow_window_clock_state_snapshot (self);
      guint8 tag = FLOW_TIME_CODE_VARIANT;

      g_byte_array_append (out, &tag, 1);
      flow_time_put_variant (out, snap);
    }
}

FlowTimeCode
flow_window_clock_state_peek (FlowWindowClockState *self,
                              gint64               *t0,
                              gint64               *base)
{
  if (self->ops == &event_ops)
    {
      EventState *st = self->data;

      *t0 = st->system_time_of_max_event;
      *base = st->watermark_base;
      return FLOW_TIME_CODE_EVENT_CLOCK;
    }
  if (self->ops == &system_ops)
    return FLOW_TIME_CODE_SYSTEM_CLOCK;
  return FLOW_TIME_CODE_VARIANT;
}

/* Clocks written outside libflow ------------------------------------------ */

/**
 * FlowWindowClockClass::build:
 * @self: the clock
 * @resume_state: (nullable): %NULL for a new key, or what
 *   [vfunc@Flow.WindowClock.snapshot] returned, on resume
 * @error: return location for a #GError
 *
 * Makes the time of one key (Bytewax's `Clock.build`).
 *
 * Returns: (transfer full): an object holding the key's time, given back
 *   to the other virtual methods, or %NULL with @error set
 */

/**
 * FlowWindowClockClass::before_batch:
 * @self: the clock
 * @logic: what [vfunc@Flow.WindowClock.build] returned for the key
 * @error: return location for a #GError
 *
 * Prepares for the items of the key in a batch (Bytewax's
 * `ClockLogic.before_batch`), e.g. reads the system time. Optional.
 */

/**
 * FlowWindowClockClass::on_item:
 * @self: the clock
 * @logic: what [vfunc@Flow.WindowClock.build] returned for the key
 * @value: the value of the item (the `v` of its `(k, v)`)
 * @timestamp: (out): return location for the item's timestamp
 * @watermark: (out): return location for the watermark after the item
 * @error: return location for a #GError
 *
 * Gives an item its timestamp and the watermark after it (Bytewax's
 * `ClockLogic.on_item`): the item is late when its timestamp is before
 * the watermark.
 *
 * Returns: %TRUE, or %FALSE with @error set
 */

/**
 * FlowWindowClockClass::on_notify:
 * @self: the clock
 * @logic: what [vfunc@Flow.WindowClock.build] returned for the key
 * @error: return location for a #GError
 *
 * Gives the watermark when there is no item (Bytewax's
 * `ClockLogic.on_notify`): the operator was woken at a system time
 * [vfunc@Flow.WindowClock.to_system_utc] gave.
 *
 * Returns: the watermark (on failure, anything, with @error set)
 */

/**
 * FlowWindowClockClass::on_eof:
 * @self: the clock
 * @logic: what [vfunc@Flow.WindowClock.build] returned for the key
 * @error: return location for a #GError
 *
 * Gives the watermark at the end of input (Bytewax's
 * `ClockLogic.on_eof`). Optional: without it, %FLOW_TIMESTAMP_MAX, which
 * closes every window.
 *
 * Returns: the watermark (on failure, anything, with @error set)
 */

/**
 * FlowWindowClockClass::to_system_utc:
 * @self: the clock
 * @logic: what [vfunc@Flow.WindowClock.build] returned for the key
 * @timestamp: a time on the clock (when a window closes)
 * @system_time: (out): return location for the system time at which the
 *   watermark reaches @timestamp
 * @error: return location for a #GError
 *
 * Converts a time on the clock to system time, so that the operator is
 * woken then (Bytewax's `ClockLogic.to_system_utc`). Optional: without
 * it the operator is not woken for the key (its windows close with later
 * items or at the end of input).
 *
 * Returns: %FALSE when the watermark will never reach @timestamp by
 *   itself (or with @error set)
 */

/**
 * FlowWindowClockClass::snapshot:
 * @self: the clock
 * @logic: what [vfunc@Flow.WindowClock.build] returned for the key
 * @error: return location for a #GError
 *
 * Returns the state of the key's time, given to
 * [vfunc@Flow.WindowClock.build] on resume (Bytewax's
 * `ClockLogic.snapshot`): any #GVariant.
 *
 * Returns: (transfer full): the snapshot, or %NULL with @error set
 */

typedef struct
{
  GObject  *logic;   /* NULL when build failed */
  GError   *error;   /* the first failure, not given yet */
  GVariant *snap;    /* the last snapshot taken (or resumed from) */
} CustomClock;

#define CUSTOM_CLASS(clock) FLOW_WINDOW_CLOCK_GET_CLASS (clock)

static void
custom_fail (CustomClock *cc,
             GError      *local,
             const char  *method)
{
  if (local == NULL)
    return;
  g_prefix_error (&local, "%s(): ", method);
  if (cc->error == NULL)
    cc->error = local;
  else
    g_error_free (local);
}

/* Whether @cc can be called: built, and no failure kept. */
static gboolean
custom_ok (CustomClock *cc)
{
  return cc->logic != NULL && cc->error == NULL;
}

static gboolean
custom_check_time (FlowWindowClock *clock,
                   gint64           t,
                   const char      *what,
                   const char      *method,
                   GError         **error)
{
  if (t >= FLOW_TIMESTAMP_MIN && t <= FLOW_TIMESTAMP_MAX)
    return TRUE;
  g_set_error (error, FLOW_ERROR, FLOW_ERROR_WRONG_TYPE,
               "%s(): the %s %s gave, %" G_GINT64_FORMAT " µs since the epoch, "
               "is not a time between the years 1 and 9999",
               method, what, G_OBJECT_TYPE_NAME (clock), t);
  return FALSE;
}

static GObject *
custom_build (FlowWindowClock *clock,
              GVariant        *resume_state,
              GError         **error)
{
  FlowWindowClockClass *klass = CUSTOM_CLASS (clock);
  g_autoptr(GError) local = NULL;
  GObject *logic;

  if (klass->build == NULL)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "the clock %s does not implement build()", G_OBJECT_TYPE_NAME (clock));
      return NULL;
    }
  logic = klass->build (clock, resume_state, &local);
  if (local != NULL || logic == NULL)
    {
      g_clear_object (&logic);
      if (local == NULL)
        local = g_error_new (FLOW_ERROR, FLOW_ERROR_WRONG_TYPE,
                             "%s returned no logic", G_OBJECT_TYPE_NAME (clock));
      g_prefix_error (&local, "build(): ");
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  return logic;
}

static gpointer
custom_state_new (FlowWindowClock *clock)
{
  CustomClock *cc = g_new0 (CustomClock, 1);

  /* (A failure is given by the first on_item.) */
  cc->logic = custom_build (clock, NULL, &cc->error);
  return cc;
}

static void
custom_state_free (gpointer data)
{
  CustomClock *cc = data;

  g_clear_object (&cc->logic);
  g_clear_error (&cc->error);
  g_clear_pointer (&cc->snap, g_variant_unref);
  g_free (cc);
}

static void
custom_before_batch (FlowWindowClock *clock,
                     gpointer         data)
{
  CustomClock *cc = data;
  GError *local = NULL;

  if (!custom_ok (cc) || CUSTOM_CLASS (clock)->before_batch == NULL)
    return;
  CUSTOM_CLASS (clock)->before_batch (clock, cc->logic, &local);
  custom_fail (cc, local, "before_batch");
}

static gboolean
custom_on_item (FlowWindowClock *clock,
                gpointer         data,
                GVariant        *value,
                gint64          *timestamp,
                gint64          *watermark,
                GError         **error)
{
  CustomClock *cc = data;
  FlowWindowClockClass *klass = CUSTOM_CLASS (clock);
  GError *local = NULL;
  gint64 ts = 0, wm = 0;
  gboolean ok;

  if (cc->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&cc->error));
      return FALSE;
    }
  if (klass->on_item == NULL)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "the clock %s does not implement on_item()", G_OBJECT_TYPE_NAME (clock));
      return FALSE;
    }
  ok = klass->on_item (clock, cc->logic, value, &ts, &wm, &local);
  if (!ok || local != NULL)
    {
      if (local == NULL)
        local = g_error_new (FLOW_ERROR, FLOW_ERROR_USER_FUNCTION,
                             "%s failed without saying why", G_OBJECT_TYPE_NAME (clock));
      g_prefix_error (&local, "on_item(): ");
      g_propagate_error (error, local);
      return FALSE;
    }
  if (!custom_check_time (clock, ts, "timestamp", "on_item", error) ||
      !custom_check_time (clock, wm, "watermark", "on_item", error))
    return FALSE;
  *timestamp = ts;
  *watermark = wm;
  return TRUE;
}

/* on_notify and on_eof: a watermark, or MIN (standing still) on failure. */
static gint64
custom_watermark (FlowWindowClock *clock,
                  CustomClock     *cc,
                  gboolean         eof)
{
  FlowWindowClockClass *klass = CUSTOM_CLASS (clock);
  const char *method = eof ? "on_eof" : "on_notify";
  GError *local = NULL;
  gint64 wm;

  if (!custom_ok (cc))
    return FLOW_TIMESTAMP_MIN;
  if (eof && klass->on_eof == NULL)
    return FLOW_TIMESTAMP_MAX;
  if (!eof && klass->on_notify == NULL)
    {
      custom_fail (cc, g_error_new (FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                                    "the clock %s does not implement it",
                                    G_OBJECT_TYPE_NAME (clock)), method);
      return FLOW_TIMESTAMP_MIN;
    }
  wm = eof ? klass->on_eof (clock, cc->logic, &local)
           : klass->on_notify (clock, cc->logic, &local);
  if (local != NULL)
    {
      custom_fail (cc, local, method);
      return FLOW_TIMESTAMP_MIN;
    }
  if (!custom_check_time (clock, wm, "watermark", method, &local))
    {
      if (cc->error == NULL)
        cc->error = local;
      else
        g_error_free (local);
      return FLOW_TIMESTAMP_MIN;
    }
  return wm;
}

static gint64
custom_on_notify (FlowWindowClock *clock,
                  gpointer         data)
{
  return custom_watermark (clock, data, FALSE);
}

static gint64
custom_on_eof (FlowWindowClock *clock,
               gpointer         data)
{
  return custom_watermark (clock, data, TRUE);
}

static gboolean
custom_to_system_utc (FlowWindowClock *clock,
                      gpointer         data,
                      gint64           timestamp,
                      gint64          *system_time)
{
  CustomClock *cc = data;
  FlowWindowClockClass *klass = CUSTOM_CLASS (clock);
  GError *local = NULL;
  gint64 at = 0;
  gboolean found;

  if (!custom_ok (cc) || klass->to_system_utc == NULL)
    return FALSE;
  found = klass->to_system_utc (clock, cc->logic, timestamp, &at, &local);
  if (local != NULL)
    {
      custom_fail (cc, local, "to_system_utc");
      return FALSE;
    }
  if (!found)
    return FALSE;
  /* A wake-up beyond the representable range is at its end. */
  *system_time = clamp_timestamp (at);
  return TRUE;
}

/* A full reference to a new snapshot of @cc, or NULL with @error. */
static GVariant *
custom_take_snapshot (FlowWindowClock *clock,
                      CustomClock     *cc,
                      GError         **error)
{
  FlowWindowClockClass *klass = CUSTOM_CLASS (clock);
  g_autoptr(GError) local = NULL;
  GVariant *snap;

  if (cc->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&cc->error));
      return NULL;
    }
  if (klass->snapshot == NULL)
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_INVALID_ARGUMENT,
                   "snapshot(): the clock %s does not implement it",
                   G_OBJECT_TYPE_NAME (clock));
      return NULL;
    }
  snap = klass->snapshot (clock, cc->logic, &local);
  if (snap == NULL || local != NULL)
    {
      g_clear_pointer (&snap, g_variant_unref);
      if (local == NULL)
        local = g_error_new (FLOW_ERROR, FLOW_ERROR_WRONG_TYPE,
                             "%s returned no state to snapshot", G_OBJECT_TYPE_NAME (clock));
      g_prefix_error (&local, "snapshot(): ");
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  return g_variant_take_ref (snap);
}

static GVariant *
custom_snapshot (FlowWindowClock *clock,
                 gpointer         data)
{
  CustomClock *cc = data;
  GError *local = NULL;
  GVariant *snap = custom_take_snapshot (clock, cc, &local);

  if (snap == NULL)
    {
      /* Kept for the operator (flow_window_clock_state_settle()). */
      if (cc->error == NULL)
        cc->error = local;
      else
        g_error_free (local);
      return g_variant_new_tuple (NULL, 0);
    }
  return snap;
}

static gpointer
custom_restore (FlowWindowClock *clock,
                GVariant        *snapshot,
                GError         **error)
{
  GObject *logic = custom_build (clock, snapshot, error);
  CustomClock *cc;

  if (logic == NULL)
    return NULL;
  cc = g_new0 (CustomClock, 1);
  cc->logic = logic;
  cc->snap = g_variant_ref (snapshot);
  return cc;
}

static void
custom_encode (FlowWindowClock *clock,
               gpointer         data,
               GByteArray      *out)
{
  CustomClock *cc = data;
  g_autoptr(GVariant) snap = cc->snap ? g_variant_ref (cc->snap) : custom_snapshot (clock, cc);
  guint8 tag = FLOW_TIME_CODE_VARIANT;

  g_variant_take_ref (snap);
  g_byte_array_append (out, &tag, 1);
  flow_time_put_variant (out, snap);
}

static const FlowWindowClockOps custom_ops = {
  .snapshot_type = NULL,
  .state_new = custom_state_new,
  .state_free = custom_state_free,
  .before_batch = custom_before_batch,
  .on_item = custom_on_item,
  .on_notify = custom_on_notify,
  .on_eof = custom_on_eof,
  .to_system_utc = custom_to_system_utc,
  .snapshot = custom_snapshot,
  .restore = custom_restore,
  .encode = custom_encode,
};

gboolean
flow_window_clock_state_is_custom (FlowWindowClockState *self)
{
  return self->ops == &custom_ops;
}

gboolean
flow_window_clock_state_settle (FlowWindowClockState *self,
                                gboolean              snapshot,
                                GError              **error)
{
  CustomClock *cc;

  if (self->ops != &custom_ops)
    return TRUE;
  cc = self->data;
  if (cc->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&cc->error));
      return FALSE;
    }
  if (snapshot)
    {
      GVariant *snap = custom_take_snapshot (self->clock, cc, error);

      if (snap == NULL)
        return FALSE;
      g_clear_pointer (&cc->snap, g_variant_unref);
      cc->snap = snap;
    }
  return TRUE;
}
