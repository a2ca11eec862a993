/* flow-recovery: create and inspect recovery partitions
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "flow-store-private.h"

static const char usage[] =
  "Usage:\n"
  "  flow-recovery init DIR N    Create N recovery partitions in the directory DIR\n"
  "  flow-recovery show DIR      Show what a run resuming from DIR would resume\n"
  "  flow-recovery --version     Show the libflow version\n"
  "\n"
  "Recovery partitions are the files part-0.sqlite3 ... part-{N-1}.sqlite3 in which a\n"
  "dataflow run with -r DIR snapshots its state, so that the next run resumes\n"
  "where it left off.\n";

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

  if (argc != 2)
    {
      g_printerr ("flow-recovery init: expected DIR N\n\n%s", usage);
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

  if (argc != 1)
    {
      g_printerr ("flow-recovery show: expected DIR\n\n%s", usage);
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

  g_printerr ("flow-recovery: unknown command '%s'\n\n%s", argv[1], usage);
  return 2;
}
