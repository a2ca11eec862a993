/* flow-recovery: create and inspect recovery partitions
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "flow-store-private.h"
#include "flow-time-private.h"

static const char usage[] =
  "Usage:\n"
  "  flow-recovery init DIR N    Create N recovery partitions in the directory DIR\n"
  "  flow-recovery show DIR      Show what a run resuming from DIR would resume\n"
  "  flow-recovery check DIR     Check the integrity of every partition in DIR\n"
  "  flow-recovery upgrade DIR   Convert the partitions in DIR to the newest format\n"
  "  flow-recovery --version     Show the libflow version\n"
  "\n"
  "Recovery partitions are the files part-0.sqlite3 ... part-{N-1}.sqlite3 in which a\n"
  "dataflow run with -r DIR snapshots its state, so that the next run resumes\n"
  "where it left off. 'flow-recovery COMMAND --help' describes a command.\n";

static const char usage_init[] =
  "Usage:\n"
  "  flow-recovery init DIR N\n"
  "\n"
  "Creates the N recovery partitions part-0.sqlite3 ... part-{N-1}.sqlite3 in the\n"
  "existing directory DIR (N from 1 to 65535; state keys are spread over them).\n"
  "The files are readable by their owner only. Nothing is overwritten: DIR must\n"
  "not hold partitions yet. An init that was interrupted leaves nothing a run\n"
  "takes for partitions; running init again cleans it up.\n";

static const char usage_show[] =
  "Usage:\n"
  "  flow-recovery show DIR\n"
  "\n"
  "Shows the partitions of the recovery directory DIR, its executions, the\n"
  "epoch the next run resumes from and the state of every key as of that epoch.\n"
  "Reads only (also on a read-only file system). Exits non-zero, saying why, if a\n"
  "run could not resume from DIR.\n";

static const char usage_check[] =
  "Usage:\n"
  "  flow-recovery check DIR\n"
  "\n"
  "Checks the recovery directory DIR: SQLite's integrity check of every\n"
  "partition (pages and indexes), the checks a run makes when it opens them,\n"
  "and that every stored state decodes. Says what is wrong and what to do.\n"
  "Reads only (also on a read-only file system). Exits 0 if DIR is fine,\n"
  "1 if not.\n";

static const char usage_upgrade[] =
  "Usage:\n"
  "  flow-recovery upgrade DIR\n"
  "\n"
  "Converts the partitions of the recovery directory DIR that are in an older\n"
  "format (format 1) to the format this libflow makes (format 2), whose snapshot\n"
  "commits cost less: the state they hold does not change. Libflow reads and\n"
  "writes format 1 too; a libflow older than format 2 does not read the result.\n"
  "No run may use DIR meanwhile.\n";

static gboolean
wants_help (int          argc,
            char       **argv,
            const char  *text)
{
  for (int i = 0; i < argc; i++)
    if (g_str_equal (argv[i], "--help") || g_str_equal (argv[i], "-h"))
      {
        g_print ("%s", text);
        return TRUE;
      }
  return FALSE;
}

static int
fail (const char   *what,
      const GError *error)
{
  g_printerr ("flow-recovery %s: %s\n", what, error->message);
  return 1;
}

static int
cmd_init (int    argc,
          char **argv)
{
  g_autoptr(GError) error = NULL;
  guint64 n;

  if (wants_help (argc, argv, usage_init))
    return 0;
  if (argc != 2)
    {
      g_printerr ("flow-recovery init: expected DIR N\n\n%s", usage_init);
      return 2;
    }
  if (!g_ascii_string_to_unsigned (argv[1], 10, 1, G_MAXUINT16, &n, &error))
    {
      g_printerr ("flow-recovery init: the number of partitions must be a positive integer "
                  "(at most %u), not '%s'\n", G_MAXUINT16, argv[1]);
      return 2;
    }
  if (!flow_recovery_init_dir (argv[0], (guint) n, &error))
    return fail ("init", error);

  g_print ("Created %u recovery partition%s in %s\n", (guint) n, n == 1 ? "" : "s", argv[0]);
  return 0;
}

typedef struct
{
  GTree *steps;  /* step id -> GTree (key -> repr) */
  guint  n_tombstones;
} ShowData;

/* Window operators: a key's state is a flat `ay` (flow-op-window.c),
 * decoded to `(vvxa{xv}a(vxu))` and shown as its open windows, its
 * watermark and its queued values. */
#define WINDOW_STATE_TYPE "(vvxa{xv}a(vxu))"

static void
append_time (GString *s,
             gint64   usec)
{
  g_autoptr(GDateTime) dt = NULL;

  if (usec <= G_GINT64_CONSTANT (-62135596800000000))
    {
      g_string_append (s, "UTC_MIN");
      return;
    }
  dt = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);
  if (dt != NULL)
    dt = g_date_time_add (g_steal_pointer (&dt), usec % G_USEC_PER_SEC);
  if (dt == NULL)
    {
      g_string_append_printf (s, "%" G_GINT64_FORMAT " µs", usec);
      return;
    }
  {
    g_autofree char *text = g_date_time_format_iso8601 (dt);
    g_string_append (s, text);
  }
}

/* Whether @state (an encoded window state) has version 1's "FW" header. */
static gboolean
window_state_is_v1 (GVariant *state)
{
  gsize n;
  const guint8 *data = g_variant_get_fixed_array (state, &n, 1);

  return n >= 2 && data[0] == FLOW_WINDOW_STATE_MAGIC[0] && data[1] == FLOW_WINDOW_STATE_MAGIC[1];
}

static char *
window_state_repr (GVariant *state)
{
  g_autoptr(GVariant) clock = NULL;
  g_autoptr(GVariant) windower = NULL;
  g_autoptr(GVariant) windows = NULL;
  g_autoptr(GVariant) queue = NULL;
  GString *s = g_string_new ("windows {");
  gint64 watermark;
  gsize n;

  g_variant_get (state, "(vvx@a{xv}@a(vxu))", &clock, &windower, &watermark, &windows, &queue);
  n = g_variant_n_children (windows);
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) contents = NULL;
      gint64 id;

      g_variant_get_child (windows, i, "{xv}", &id, &contents);
      g_string_append_printf (s, "%s%" G_GINT64_FORMAT ": ", i ? ", " : "", id);
      flow_repr_append (s, contents);
    }
  g_string_append (s, "}, watermark ");
  append_time (s, watermark);
  n = g_variant_n_children (queue);
  if (n > 0)
    {
      g_string_append_printf (s, ", %" G_GSIZE_FORMAT " queued [", n);
      for (gsize i = 0; i < n; i++)
        {
          g_autoptr(GVariant) value = NULL;
          gint64 ts;
          guint side;

          g_variant_get_child (queue, i, "(vxu)", &value, &ts, &side);
          if (i > 0)
            g_string_append (s, ", ");
          flow_repr_append (s, value);
          g_string_append (s, " at ");
          append_time (s, ts);
        }
      g_string_append (s, "]");
    }
  /* A tumbling or sliding windower's open windows: with their times
   * (version 1 rows), or their ids (version 2 rows keep only those: the
   * times follow from the step's windower). */
  g_string_append (s, ", windower ");
  if (g_variant_is_of_type (windower, G_VARIANT_TYPE ("a(xxx)")))
    {
      n = g_variant_n_children (windower);
      g_string_append (s, "[");
      for (gsize i = 0; i < n; i++)
        {
          gint64 id, open_time, close_time;

          g_variant_get_child (windower, i, "(xxx)", &id, &open_time, &close_time);
          g_string_append_printf (s, "%s%" G_GINT64_FORMAT " (", i ? ", " : "", id);
          append_time (s, open_time);
          g_string_append (s, " to ");
          append_time (s, close_time);
          g_string_append (s, ")");
        }
      g_string_append (s, "]");
    }
  else
    flow_repr_append (s, windower);

  g_string_append (s, ", clock ");
  if (g_variant_is_of_type (clock, G_VARIANT_TYPE ("(xx)")))
    {
      gint64 t0, base;

      /* An event clock's: its watermark is base + (now - t0). */
      g_variant_get (clock, "(xx)", &t0, &base);
      g_string_append (s, "(watermark base ");
      append_time (s, base);
      g_string_append (s, " at system time ");
      append_time (s, t0);
      g_string_append (s, ")");
    }
  else if (g_variant_is_of_type (clock, G_VARIANT_TYPE_UNIT))
    g_string_append (s, "(system time)");
  else
    flow_repr_append (s, clock);
  return g_string_free (s, FALSE);
}

static gboolean
collect_row (const char  *step_id,
             const char  *key,
             guint64      epoch,
             GVariant    *state,
             gpointer     user_data,
             GError     **error)
{
  ShowData *data = user_data;
  GTree *keys = g_tree_lookup (data->steps, step_id);
  char *line;

  if (state == NULL)
    {
      data->n_tombstones++;
      return TRUE;
    }
  if (keys == NULL)
    {
      keys = g_tree_new_full ((GCompareDataFunc) strcmp, NULL, g_free, g_free);
      g_tree_insert (data->steps, g_strdup (step_id), keys);
    }
  if (flow_window_state_is_encoded (state))
    {
      g_autoptr(GError) local = NULL;
      g_autoptr(GVariant) decoded = flow_window_state_decode (state, NULL, &local);

      /* A version 2 window state has a one-byte header: bytes of another
       * operator can look like one, and are shown as they are. */
      if (decoded == NULL && !window_state_is_v1 (state))
        {
          g_autofree char *repr = flow_item_repr (state);

          line = g_strdup_printf ("%s  (epoch %" G_GUINT64_FORMAT ", %s)", repr, epoch,
                                  g_variant_get_type_string (state));
          g_tree_insert (keys, g_strdup (key), line);
          return TRUE;
        }
      if (decoded == NULL)
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local),
                                      "step '%s', key '%s' (epoch %" G_GUINT64_FORMAT "): ",
                                      step_id, key, epoch);
          return FALSE;
        }
      {
        g_autofree char *repr = window_state_repr (decoded);
        line = g_strdup_printf ("%s  (epoch %" G_GUINT64_FORMAT ", window state)", repr, epoch);
      }
    }
  else
  {
    g_autofree char *repr = flow_item_repr (state);
    line = g_strdup_printf ("%s  (epoch %" G_GUINT64_FORMAT ", %s)", repr, epoch,
                            g_variant_get_type_string (state));
  }
  g_tree_insert (keys, g_strdup (key), line);
  return TRUE;
}

static gboolean
print_key (gpointer key,
           gpointer value,
           gpointer data)
{
  GString *k = g_string_new (NULL);
  g_autoptr(GVariant) kv = g_variant_ref_sink (g_variant_new_string (key));

  flow_repr_append (k, kv);
  g_print ("    %s: %s\n", k->str, (const char *) value);
  g_string_free (k, TRUE);
  return FALSE;
}

static gboolean
print_step (gpointer key,
            gpointer value,
            gpointer data)
{
  guint n = g_tree_nnodes (value);

  g_print ("  %s (%u key%s)\n", (const char *) key, n, n == 1 ? "" : "s");
  g_tree_foreach (value, print_key, NULL);
  return FALSE;
}

static char *
format_time (gint64 usec)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local (usec / G_USEC_PER_SEC);

  return dt ? g_date_time_format (dt, "%Y-%m-%d %H:%M:%S") : g_strdup ("?");
}

static int
cmd_show (int    argc,
          char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) executions = NULL;
  FlowStore *store;
  ShowData data = { NULL, 0 };
  guint64 resume;

  if (wants_help (argc, argv, usage_show))
    return 0;
  if (argc != 1)
    {
      g_printerr ("flow-recovery show: expected DIR\n\n%s", usage_show);
      return 2;
    }

  store = flow_store_open (argv[0], FLOW_STORE_OPEN_READ_ONLY, &error);
  if (store == NULL)
    return fail ("show", error);

  resume = flow_store_get_resume_epoch (store);
  g_print ("Recovery directory %s\n", argv[0]);
  g_print ("Dataflow: %s\n", flow_store_get_flow_id (store) ? flow_store_get_flow_id (store)
                                                            : "(none has run yet)");
  g_print ("\nPartitions: %u\n", flow_store_get_n_partitions (store));
  for (guint i = 0; i < flow_store_get_n_partitions (store); i++)
    {
      const FlowStorePartitionInfo *p = flow_store_get_partition (store, i);
      g_autofree char *base = g_path_get_basename (p->path);
      gint64 n_rows = flow_store_count_rows (store, i, &error);

      if (n_rows < 0)
        {
          flow_store_free (store);
          return fail ("show", error);
        }
      g_print ("  %s: partition %u of %u, format %u, committed up to epoch %" G_GUINT64_FORMAT
               ", garbage collected before epoch %" G_GUINT64_FORMAT ", %" G_GINT64_FORMAT " rows\n",
               base, p->index, p->count, p->format_version, p->frontier, p->gc_epoch, n_rows);
    }

  executions = flow_store_list_executions (store, &error);
  if (executions == NULL)
    {
      flow_store_free (store);
      return fail ("show", error);
    }
  g_print ("\nExecutions: %u\n", executions->len);
  for (guint i = 0; i < executions->len; i++)
    {
      FlowStoreExecution *ex = &g_array_index (executions, FlowStoreExecution, i);
      g_autofree char *started = format_time (ex->started_at);

      g_print ("  #%" G_GUINT64_FORMAT ": started %s, %u worker%s, resumed from epoch %"
               G_GUINT64_FORMAT ", committed up to epoch %" G_GUINT64_FORMAT "\n",
               ex->ex_num, started, ex->worker_count, ex->worker_count == 1 ? "" : "s",
               ex->resume_epoch, ex->frontier);
    }

  if (!flow_store_check_resumable (store, flow_store_get_flow_id (store) ? flow_store_get_flow_id (store) : "", &error))
    {
      g_print ("\nThe next run cannot resume: %s\n", error->message);
      flow_store_free (store);
      return 1;
    }

  if (resume == 0)
    g_print ("\nThe next run starts from the beginning (no epoch was committed).\n");
  else
    g_print ("\nThe next run resumes from epoch %" G_GUINT64_FORMAT " and starts epoch %"
             G_GUINT64_FORMAT ".\n", resume, resume + 1);

  data.steps = g_tree_new_full ((GCompareDataFunc) strcmp, NULL, g_free, (GDestroyNotify) g_tree_unref);
  /* Even at epoch 0 there may be rows: the initial state of the sinks of
   * an execution that crashed before its first commit. */
  if (!flow_store_load (store, resume, TRUE, collect_row, &data, &error))
    {
      g_tree_unref (data.steps);
      flow_store_free (store);
      return fail ("show", error);
    }

  g_print ("\nState as of epoch %" G_GUINT64_FORMAT " (per step: key: state):\n", resume);
  if (g_tree_nnodes (data.steps) == 0)
    g_print ("  (none)\n");
  g_tree_foreach (data.steps, print_step, NULL);
  if (data.n_tombstones > 0)
    g_print ("  (%u discarded key%s not shown)\n", data.n_tombstones, data.n_tombstones == 1 ? "" : "s");

  g_tree_unref (data.steps);
  flow_store_free (store);
  return 0;
}

static gboolean
no_row (const char  *step_id,
        const char  *key,
        guint64      epoch,
        GVariant    *state,
        gpointer     user_data,
        GError     **error)
{
  return TRUE;
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  const char *na = *(const char * const *) a;
  const char *nb = *(const char * const *) b;
  guint64 ia = g_ascii_strtoull (na + strlen ("part-"), NULL, 10);
  guint64 ib = g_ascii_strtoull (nb + strlen ("part-"), NULL, 10);

  return ia < ib ? -1 : ia > ib;
}

static int
cmd_check (int    argc,
           char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *directory;
  const char *name;
  gboolean bad_files = FALSE, interrupted = FALSE;
  guint n_problems = 0;
  FlowStore *store;

  if (wants_help (argc, argv, usage_check))
    return 0;
  if (argc != 1)
    {
      g_printerr ("flow-recovery check: expected DIR\n\n%s", usage_check);
      return 2;
    }
  directory = argv[0];

  dir = g_dir_open (directory, 0, &error);
  if (dir == NULL)
    {
      g_printerr ("flow-recovery check: recovery directory %s cannot be read: %s\n",
                  directory, error->message);
      return 1;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, "part-") && g_str_has_suffix (name, ".sqlite3") &&
        g_ascii_isdigit (name[strlen ("part-")]))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);

  g_print ("Checking recovery directory %s\n", directory);
  if (flow_store_has_interrupted_init (directory))
    {
      g_print ("  PROBLEM: an interrupted 'flow-recovery init' left its files here\n");
      interrupted = TRUE;
      n_problems++;
    }

  /* Every file on its own. */
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (directory, g_ptr_array_index (names, i), NULL);
      g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
      guint n = flow_store_check_file (path, 5, problems);

      if (n == 0)
        g_print ("  %s: ok\n", (const char *) g_ptr_array_index (names, i));
      else
        {
          g_print ("  %s: %u problem%s\n", (const char *) g_ptr_array_index (names, i),
                   n, n == 1 ? "" : "s");
          for (guint j = 0; j < problems->len; j++)
            g_print ("    PROBLEM: %s\n", (const char *) g_ptr_array_index (problems, j));
          bad_files = TRUE;
          n_problems += n;
        }
    }

  /* Then the directory as a run opens it. */
  if (!interrupted)
    {
      store = flow_store_open (directory, FLOW_STORE_OPEN_READ_ONLY, &error);
      if (store != NULL)
        {
          const char *flow_id = flow_store_get_flow_id (store);

          if (flow_store_check_resumable (store, flow_id ? flow_id : "", &error))
            flow_store_load (store, flow_store_get_resume_epoch (store), TRUE, no_row, NULL, &error);
          if (error == NULL)
            g_print ("  the partitions together: ok; the next run %s\n",
                     flow_store_get_resume_epoch (store) == 0
                       ? "starts from the beginning" : "resumes where the last one committed");
          flow_store_free (store);
        }
      if (error != NULL)
        {
          /* Problems of one file were reported with it. */
          if (!bad_files || !g_error_matches (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION))
            {
              g_print ("  PROBLEM: %s\n", error->message);
              n_problems++;
            }
        }
    }

  if (n_problems == 0)
    {
      g_print ("Recovery directory %s is fine: %u partition%s.\n", directory, names->len,
               names->len == 1 ? "" : "s");
      return 0;
    }

  g_print ("\n%u problem%s found. What to do:\n", n_problems, n_problems == 1 ? "" : "s");
  if (interrupted)
    g_print ("  - 'flow-recovery init' was interrupted before it finished; no run used what it\n"
             "    left. Run 'flow-recovery init %s N' again: it cleans up and starts over.\n",
             directory);
  if (bad_files || error != NULL)
    g_print ("  - Do not run from this directory as it is (a run stops at most such problems,\n"
             "    but not at all of them). Restore the partition files named above from a backup (a copy of the\n"
             "    whole directory taken while no run was using it), or start over: move the\n"
             "    directory away and create a new one with 'flow-recovery init' (the next run\n"
             "    then starts from the beginning of its input).\n");
  return 1;
}

static int
cmd_upgrade (int    argc,
             char **argv)
{
  g_autoptr(GError) error = NULL;
  FlowStore *store;
  gint n;

  if (wants_help (argc, argv, usage_upgrade))
    return 0;
  if (argc != 1)
    {
      g_printerr ("flow-recovery upgrade: expected DIR\n\n%s", usage_upgrade);
      return 2;
    }
  store = flow_store_open (argv[0], FLOW_STORE_OPEN_RUN, &error);
  if (store == NULL)
    return fail ("upgrade", error);
  n = flow_store_upgrade (store, &error);
  if (n < 0)
    {
      flow_store_free (store);
      return fail ("upgrade", error);
    }
  if (n == 0)
    g_print ("The %u partition%s in %s %s already in format %d\n",
             flow_store_get_n_partitions (store), flow_store_get_n_partitions (store) == 1 ? "" : "s",
             argv[0], flow_store_get_n_partitions (store) == 1 ? "is" : "are", FLOW_STORE_FORMAT_VERSION);
  else
    g_print ("Converted %d partition%s in %s to format %d\n", n, n == 1 ? "" : "s", argv[0],
             FLOW_STORE_FORMAT_VERSION);
  flow_store_free (store);
  return 0;
}

int
main (int    argc,
      char **argv)
{
  setlocale (LC_ALL, "");

  if (argc < 2 || g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h") ||
      g_str_equal (argv[1], "help"))
    {
      if (argc < 2)
        {
          g_printerr ("%s", usage);
          return 2;
        }
      g_print ("%s", usage);
      return 0;
    }
  if (g_str_equal (argv[1], "--version"))
    {
      g_print ("flow-recovery (libflow) %s\n", FLOW_VERSION_S);
      return 0;
    }
  if (g_str_equal (argv[1], "init"))
    return cmd_init (argc - 2, argv + 2);
  if (g_str_equal (argv[1], "show"))
    return cmd_show (argc - 2, argv + 2);
  if (g_str_equal (argv[1], "check"))
    return cmd_check (argc - 2, argv + 2);
  if (g_str_equal (argv[1], "upgrade"))
    return cmd_upgrade (argc - 2, argv + 2);

  g_printerr ("flow-recovery: unknown command '%s'\n\n%s", argv[1], usage);
  return 2;
}
