/* join.c: joins two streams by key.
 *
 *   join [-r DIR -s SECONDS -b SECONDS]
 *
 * Users' names and users' e-mail addresses come from two inputs, keyed by
 * user id; the join emits ('id', (name, email)) for each user once both
 * are known (Bytewax's "complete" emit mode, keeping the "last" value of
 * each side). A user with no address is never emitted. The Python
 * version is examples/python/join_users.py; both print the same lines.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <flow.h>

/* Items are a{sv} dictionaries: {'user_id': <'123'>, 'name': <'Bee'>}. */
static char *
user_id (GVariant  *item,
         gpointer   user_data,
         GError   **error)
{
  g_autofree char *id = NULL;

  if (!g_variant_lookup (item, "user_id", "s", &id))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_USER_FUNCTION, "an item without a user_id");
      return NULL;
    }
  return g_steal_pointer (&id);
}

/* The value of the field named by @user_data. */
static GVariant *
field (GVariant  *item,
       gpointer   user_data,
       GError   **error)
{
  GVariant *value = g_variant_lookup_value (item, user_data, NULL);

  if (value == NULL)
    g_set_error (error, FLOW_ERROR, FLOW_ERROR_USER_FUNCTION, "no field '%s'",
                 (const char *) user_data);
  return value;
}

static FlowStream *
keyed_field (FlowDataflow *flow,
             const char   *name,
             const char   *items,
             const char   *field_name)
{
  g_autoptr(GVariant) array = g_variant_parse (G_VARIANT_TYPE ("aa{sv}"), items, NULL, NULL, NULL);
  g_autoptr(FlowTestingSource) source = flow_testing_source_new (array);
  g_autofree char *key_id = g_strconcat ("key_", name, NULL);
  g_autofree char *value_id = g_strconcat ("only_", field_name, NULL);
  FlowStream *s;

  s = flow_dataflow_input (flow, name, FLOW_SOURCE (source));
  s = flow_stream_key_on (s, key_id, user_id, NULL, NULL);
  return flow_stream_map_value (s, value_id, field, (gpointer) field_name, NULL);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("join_users");
  g_autoptr(FlowRunner) runner = flow_runner_new (flow);
  g_autoptr(FlowStdOutSink) sink = flow_std_out_sink_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) args = g_strdupv (argv);
  FlowStream *names, *emails, *joined;

  if (!flow_runner_parse_args (runner, &args, &error) || g_strv_length (args) != 1)
    {
      g_printerr ("Usage: %s [-r DIR -s SECONDS -b SECONDS]\n%s%s",
                  argv[0], error ? error->message : "", error ? "\n" : "");
      return 2;
    }

  names = keyed_field (flow, "names",
                       "[{'user_id': <'123'>, 'name': <'Bee'>},"
                       " {'user_id': <'456'>, 'name': <'Hive'>},"
                       " {'user_id': <'789'>, 'name': <'Wasp'>}]",
                       "name");
  emails = keyed_field (flow, "emails",
                        "[{'user_id': <'456'>, 'email': <'hive@example.org'>},"
                        " {'user_id': <'123'>, 'email': <'bee@example.org'>}]",
                        "email");
  joined = flow_stream_join (names, "join", &emails, 1,
                             FLOW_JOIN_INSERT_MODE_LAST, FLOW_JOIN_EMIT_MODE_COMPLETE);
  flow_stream_output (joined, "out", FLOW_SINK (sink));

  if (!flow_runner_run (runner, NULL, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  return 0;
}
