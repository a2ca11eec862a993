/* test-store.c: the recovery store from the inside
 *
 * Tests that need libflow's internals (linked statically): a race made
 * deterministic through a test hook, partition file modes, and a fuzz test
 * of stored states.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "flow-private.h"
#include "flow-store-private.h"
#include "recovery-common.h"

#ifdef HAVE_VALGRIND_H
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

/* ------------------------------------------------------------------------
 * A small keyed flow: (key, int) items, a running sum per key
 * ------------------------------------------------------------------------ */

static GVariant *
zero (gpointer   user_data,
      GError   **error)
{
  return g_variant_new_int64 (0);
}

static GVariant *
add (GVariant  *sum,
     GVariant  *value,
     GVariant **emit,
     gpointer   user_data,
     GError   **error)
{
  gint64 updated = g_variant_get_int64 (sum) + g_variant_get_int64 (value);

  *emit = g_variant_new_int64 (updated);
  return g_variant_new_int64 (updated);
}

/* Items i in [0, n): key "k{i % 4}", value i + 1. */
static GVariant *
keyed_items (guint n)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(sv)"));
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *key = g_strdup_printf ("k%u", i % 4);
      g_variant_builder_add (&builder, "(sv)", key, g_variant_new_int64 (i + 1));
    }
  return g_variant_builder_end (&builder);
}

/* What the flow emits for items [from, to): ('k', running sum). */
static GStrv
expected_output (guint from,
                 guint to)
{
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  gint64 sums[4] = { 0 };

  for (guint i = 0; i < to; i++)
    {
      sums[i % 4] += i + 1;
      if (i >= from)
        rec_add (lines, "('k%u', %" G_GINT64_FORMAT ")", i % 4, sums[i % 4]);
    }
  return rec_strv (lines);
}

static GStrv
run_keyed (const char  *dir,
           guint        n,
           GError     **error)
{
  g_autoptr(FlowTestingSource) source = flow_testing_source_new (keyed_items (n));
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("store");
  FlowStream *s;

  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  s = flow_stream_stateful_map (s, "sum", zero, NULL, NULL, add, NULL, NULL);
  flow_stream_output (s, "out", FLOW_SINK (sink));
  if (!rec_run (flow, dir, 0, 0, NULL, error))
    return NULL;
  return rec_sink_reprs (sink);
}

/* ------------------------------------------------------------------------
 * The directory lock is taken before anything is read
 * ------------------------------------------------------------------------ */

typedef struct
{
  char    *dir;
  guint    n;
  GStrv    output;
  GError  *error;
} OtherRun;

static OtherRun other;

static gpointer
other_run_thread (gpointer data)
{
  OtherRun *run = data;

  run->output = run_keyed (run->dir, run->n, &run->error);
  return NULL;
}

/* Another run of the same flow over the same (grown) input, started and
 * finished while this run is between reading the directory and starting
 * its execution: the window the issue forced with gdb. */
static void
run_other_while_opening (const char *directory)
{
  flow_store_test_opened_hook = NULL;  /* once */
  g_thread_join (g_thread_new ("other-run", other_run_thread, &other));
}

static void
test_lock_race (void)
{
  g_autofree char *dir = rec_init_dir (2);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) first = NULL;
  g_auto(GStrv) second = NULL;
  g_auto(GStrv) expected_first = expected_output (0, 8);
  g_auto(GStrv) expected_second = expected_output (8, 16);
  g_auto(GStrv) expected_none = expected_output (16, 16);
  g_autofree char *states = NULL;

  first = run_keyed (dir, 8, &error);
  g_assert_no_error (error);
  rec_assert_strv (first, expected_first);

  /* The input grew to 16 items. Two runs start at once. */
  other.dir = dir;
  other.n = 16;
  flow_store_test_opened_hook = run_other_while_opening;
  second = run_keyed (dir, 16, &error);
  flow_store_test_opened_hook = NULL;

  /* The run that opened the directory first holds it from then on: the
   * other is refused, and this one resumes exactly where the first left
   * off. */
  g_assert_no_error (error);
  g_assert_error (other.error, FLOW_ERROR, FLOW_ERROR_PARTITIONS_IN_USE);
  g_assert_nonnull (strstr (other.error->message, dir));
  g_assert_null (other.output);
  rec_assert_strv (second, expected_second);

  /* Its epochs are all there: a third run has nothing left to do. */
  g_clear_pointer (&second, g_strfreev);
  second = run_keyed (dir, 16, &error);
  g_assert_no_error (error);
  rec_assert_strv (second, expected_none);
  states = rec_show_states (dir);
  g_assert_nonnull (strstr (states, "    'k0': 28\n"));   /* 1 + 5 + 9 + 13 */
  g_assert_nonnull (strstr (states, "    'k3': 40\n"));   /* 4 + 8 + 12 + 16 */

  g_clear_error (&other.error);
  g_clear_pointer (&other.output, g_strfreev);
  rec_rm_rf (dir);
}

/* ------------------------------------------------------------------------
 * A killed init
 * ------------------------------------------------------------------------ */

static guint kill_step;

static void
die_at_step (guint step)
{
  if (step == kill_step)
    _exit (3);   /* as if killed: no cleanup of any kind */
}

static void
test_init_killed_child (void)
{
  const char *dir = g_getenv ("STORE_TEST_INIT_DIR");
  g_autoptr(GError) error = NULL;

  if (!g_test_subprocess ())
    {
      g_test_skip ("run by /store/init/killed");
      return;
    }
  kill_step = (guint) g_ascii_strtoull (g_getenv ("STORE_TEST_KILL_STEP"), NULL, 10);
  flow_store_test_init_hook = die_at_step;
  g_assert_true (flow_recovery_init_dir (dir, 3, &error));
  g_assert_no_error (error);
}

/* `flow-recovery init` killed at every step of its work: a run against
 * what it left refuses to run (never half-made partitions taken for good
 * ones) or runs from a complete directory, and init again always
 * succeeds and gives a directory a run resumes from. */
static void
test_init_killed (void)
{
  g_auto(GStrv) expected = expected_output (0, 8);
  gboolean completed = FALSE;

  for (guint step = 0; !completed; step++)
    {
      g_autofree char *dir = rec_tmpdir ();
      g_autofree char *step_s = g_strdup_printf ("%u", step);
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;
      g_autoptr(GError) error = NULL;
      g_auto(GStrv) got = NULL;
      int status;

      g_assert_cmpuint (step, <, 100);
      g_setenv ("STORE_TEST_INIT_DIR", dir, TRUE);
      g_setenv ("STORE_TEST_KILL_STEP", step_s, TRUE);
      g_test_trap_subprocess ("/store/init/killed/child", 0, G_TEST_SUBPROCESS_DEFAULT);
      completed = g_test_trap_has_passed ();
      g_test_message ("killed at step %u: %s", step, completed ? "completed" : "killed");

      /* A run either refuses with a message that says to run init, or
       * (init completed) runs. */
      got = run_keyed (dir, 8, &error);
      if (completed)
        {
          g_assert_no_error (error);
          rec_assert_strv (got, expected);
          rec_rm_rf (dir);
          break;
        }
      g_assert_nonnull (error);
      g_assert_true (error->domain == FLOW_ERROR);
      g_assert_nonnull (strstr (error->message, "flow-recovery init"));
      g_clear_error (&error);

      /* init again cleans up and succeeds; then a run works. */
      status = rec_tool (&out, &err, "init", dir, "3", NULL);
      if (status != 0)
        g_error ("init after a kill at step %u failed: %s", step, err);
      got = run_keyed (dir, 8, &error);
      g_assert_no_error (error);
      rec_assert_strv (got, expected);

      rec_rm_rf (dir);
    }
}

/* ------------------------------------------------------------------------
 * File modes
 * ------------------------------------------------------------------------ */

static guint n_checked;

/* Every file of @directory is readable and writable by its owner only. */
static void
assert_owner_only (const char *directory)
{
  g_autoptr(GDir) dir = g_dir_open (directory, 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (directory, name, NULL);
      GStatBuf st;

      g_assert_cmpint (g_stat (path, &st), ==, 0);
      if ((st.st_mode & 0777) != 0600)
        g_error ("%s has mode %o, not 600", path, st.st_mode & 0777);
      n_checked++;
    }
}

static void
test_modes (void)
{
  g_autofree char *dir = rec_tmpdir ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got = NULL;
  mode_t old_mask = umask (0);

  /* Even with a umask of 0: states may be pickles a run unpickles. */
  g_assert_true (flow_recovery_init_dir (dir, 3, &error));
  g_assert_no_error (error);
  umask (old_mask);
  n_checked = 0;
  assert_owner_only (dir);
  g_assert_cmpuint (n_checked, ==, 3);

  /* While a run has them open, their -wal and -shm files too. */
  n_checked = 0;
  flow_store_test_opened_hook = assert_owner_only;
  got = run_keyed (dir, 8, &error);
  flow_store_test_opened_hook = NULL;
  g_assert_no_error (error);
  g_assert_cmpuint (n_checked, >, 3);

  rec_rm_rf (dir);
}

/* ------------------------------------------------------------------------
 * Fuzzing stored states
 * ------------------------------------------------------------------------ */

static const char * const corpus_texts[] = {
    "int64 42", "'a string'", "''", "(int64 1, @av [<'x'>, <2.5>, <true>])",
    "{'a': <1>, 'b': <[byte 1, 2]>}", "@ay []", "b'bytes'", "[(1, 'one'), (2, 'two')]",
    "@mv nothing", "just <@ms just 'deep'>", "<<<int64 3>>>", "()", "((), [()])",
    "@a{sx} {'k1': 1, 'k2': 2}", "[[1, 2], [], [3]]", "(true, byte 255, int16 -2, uint16 3,"
    " int32 -4, uint32 5, int64 -6, uint64 7, 8.5, handle 9, objectpath '/o', signature 'a{sv}')",
    "@aav [[<'n'>], []]", "[@ms nothing, just 'x']", "{int64 1: [true, false]}",
};

/* Valid states of many types, serialised as a run stores them. */
static GPtrArray *
state_corpus (void)
{
  const char * const *texts = corpus_texts;
  GPtrArray *corpus = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

  for (guint i = 0; i < G_N_ELEMENTS (corpus_texts); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) value = g_variant_parse (NULL, texts[i], NULL, NULL, &error);

      g_assert_no_error (error);
      g_ptr_array_add (corpus, flow_variant_serialize (value));
    }
  return corpus;
}

/* The stored form of a state, as GVariant itself writes it: the state
 * boxed in a `v`, in normal form. */
static GBytes *
reference_serialize (GVariant *value)
{
  g_autoptr(GVariant) boxed = g_variant_ref_sink (g_variant_new_variant (value));
  g_autoptr(GVariant) normal = g_variant_get_normal_form (boxed);

  return g_variant_get_data_as_bytes (normal);
}

static void
assert_serializes_as_reference (GVariant *value)
{
  g_autoptr(GBytes) got = flow_variant_serialize (value);
  g_autoptr(GBytes) want = reference_serialize (value);
  g_autofree char *printed = g_variant_print (value, TRUE);

  if (!g_bytes_equal (got, want))
    g_error ("%s serialises differently from GVariant's `v` (%" G_GSIZE_FORMAT " and %"
             G_GSIZE_FORMAT " bytes)",
             printed, g_bytes_get_size (got), g_bytes_get_size (want));
}

/* issue 12: flow_variant_serialize() writes a value in normal form
 * directly; the bytes stay those of GVariant's `v` (what every recovery
 * directory holds), for values built in memory, values read back from
 * data (trusted or not) and values not in normal form. */
static void
test_serialize_reference (void)
{
  /* Not in normal form: an int32 of 3 bytes and a bool of 2 (read as
   * 0 / false by GVariant; normalised before storing). */
  static const guchar short_int[] = { 1, 2, 3 };
  static const guchar bad_bool[] = { 2 };

  for (guint i = 0; i < G_N_ELEMENTS (corpus_texts); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) value = g_variant_parse (NULL, corpus_texts[i], NULL, NULL, &error);
      g_autoptr(GBytes) data = NULL;
      g_autoptr(GVariant) untrusted = NULL;
      g_autoptr(GVariant) trusted = NULL;

      g_assert_no_error (error);
      assert_serializes_as_reference (value);
      data = g_variant_get_data_as_bytes (value);
      untrusted = g_variant_ref_sink (g_variant_new_from_bytes (g_variant_get_type (value), data, FALSE));
      trusted = g_variant_ref_sink (g_variant_new_from_bytes (g_variant_get_type (value), data, TRUE));
      assert_serializes_as_reference (untrusted);
      assert_serializes_as_reference (trusted);
    }

  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(GVariant) odd = g_variant_ref_sink (
        i == 0 ? g_variant_new_from_data (G_VARIANT_TYPE_INT32, short_int, sizeof short_int, FALSE, NULL, NULL)
               : g_variant_new_from_data (G_VARIANT_TYPE_BOOLEAN, bad_bool, sizeof bad_bool, FALSE, NULL, NULL));
      g_autoptr(GBytes) got = flow_variant_serialize (odd);
      g_autoptr(GVariant) back = NULL;
      g_autoptr(GError) error = NULL;

      g_assert_false (g_variant_is_normal_form (odd));
      assert_serializes_as_reference (odd);
      back = flow_variant_deserialize (g_bytes_get_data (got, NULL), g_bytes_get_size (got), &error);
      g_assert_no_error (error);
      g_assert_true (g_variant_is_normal_form (back));
    }
}

static const char type_chars[] = "bynqiuxthdsogvam()a{}*?r";

/* A random change of @data: flipped, set, inserted or removed bytes, a
 * cut, type characters put in. */
static GByteArray *
mutate (GRand  *rand,
        GBytes *blob)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (blob, &size);
  GByteArray *out = g_byte_array_sized_new (size + 8);
  guint n_changes = g_rand_int_range (rand, 1, 5);

  g_byte_array_append (out, data, size);
  for (guint c = 0; c < n_changes; c++)
    {
      guint pos = out->len > 0 ? g_rand_int_range (rand, 0, out->len) : 0;
      guint8 byte = (guint8) g_rand_int_range (rand, 0, 256);

      switch (g_rand_int_range (rand, 0, 7))
        {
        case 0:
          if (out->len > 0)
            out->data[pos] ^= 1u << g_rand_int_range (rand, 0, 8);
          break;
        case 1:
          if (out->len > 0)
            out->data[pos] = byte;
          break;
        case 2:
          g_byte_array_append (out, &byte, 1);   /* then moved to pos */
          memmove (out->data + pos + 1, out->data + pos, out->len - 1 - pos);
          out->data[pos] = byte;
          break;
        case 3:
          if (out->len > 0)
            g_byte_array_remove_index (out, pos);
          break;
        case 4:
          g_byte_array_set_size (out, pos);
          break;
        case 5:
          {
            guint8 t = (guint8) type_chars[g_rand_int_range (rand, 0, sizeof type_chars - 1)];
            if (out->len > 0 && g_rand_boolean (rand))
              out->data[out->len - 1 - MIN (pos % 4, out->len - 1)] = t;
            else
              g_byte_array_append (out, &t, 1);
          }
          break;
        default:
          {
            /* A whole new type string after a NUL. */
            guint8 nul = 0;
            guint len = g_rand_int_range (rand, 1, 6);
            g_byte_array_append (out, &nul, 1);
            for (guint j = 0; j < len; j++)
              {
                guint8 t = (guint8) type_chars[g_rand_int_range (rand, 0, sizeof type_chars - 1)];
                g_byte_array_append (out, &t, 1);
              }
          }
          break;
        }
    }
  return out;
}

/* Decodes @data: either a value, usable as any value (printed, compared,
 * stored again and read back the same), or CORRUPT_PARTITION. */
static gboolean
decode_checked (const guint8 *data,
                gsize         size,
                char        **last_type)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = flow_variant_deserialize_cached (data, size, last_type, &error);
  g_autoptr(GBytes) again = NULL;
  g_autoptr(GVariant) back = NULL;
  g_autofree char *printed = NULL;
  g_autofree char *repr = NULL;

  if (value == NULL)
    {
      g_assert_error (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION);
      return FALSE;
    }
  g_assert_no_error (error);
  g_assert_true (g_variant_is_normal_form (value));
  printed = g_variant_print (value, TRUE);
  repr = flow_item_repr (value);
  again = flow_variant_serialize (value);
  back = flow_variant_deserialize (g_bytes_get_data (again, NULL), g_bytes_get_size (again), &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_equal (value, back));
  return TRUE;
}

static void
test_fuzz_deserialize (void)
{
  g_autoptr(GPtrArray) corpus = state_corpus ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (g_test_rand_int ());
  g_autofree char *last_type = NULL;
  guint n = g_test_slow () ? 1000000 : RUNNING_ON_VALGRIND ? 5000 : 50000;
  guint n_valid = 0;

  for (guint i = 0; i < corpus->len; i++)
    {
      GBytes *blob = g_ptr_array_index (corpus, i);
      gsize size;
      const guint8 *data = g_bytes_get_data (blob, &size);

      g_assert_true (decode_checked (data, size, NULL));
    }

  for (guint i = 0; i < n; i++)
    {
      GBytes *blob = g_ptr_array_index (corpus, g_rand_int_range (rand, 0, corpus->len));
      g_autoptr(GByteArray) mutant = mutate (rand, blob);

      /* With and without the type cache a run uses. */
      n_valid += decode_checked (mutant->data, mutant->len, (i & 1) ? &last_type : NULL);
    }
  g_test_message ("%u of %u mutants decoded as valid states", n_valid, n);
  g_assert_cmpuint (n_valid, <, n);
}

/* The same mutants as stored states, through a run's restore path and
 * `flow-recovery show`: a run resumes or stops with CORRUPT_PARTITION (or
 * with the flow's own error about a state of the wrong type), never
 * aborts. */
static GVariant *
checked_add (GVariant  *sum,
             GVariant  *value,
             GVariant **emit,
             gpointer   user_data,
             GError   **error)
{
  gint64 updated;

  if (!g_variant_is_of_type (sum, G_VARIANT_TYPE_INT64))
    {
      g_set_error (error, FLOW_ERROR, FLOW_ERROR_WRONG_TYPE, "a sum of type %s",
                   g_variant_get_type_string (sum));
      return NULL;
    }
  updated = g_variant_get_int64 (sum) + g_variant_get_int64 (value);
  *emit = g_variant_new_int64 (updated);
  return g_variant_new_int64 (updated);
}

static gboolean
run_checked (const char  *dir,
             guint        n,
             GError     **error)
{
  g_autoptr(FlowTestingSource) source = flow_testing_source_new (keyed_items (n));
  g_autoptr(FlowTestingSink) sink = flow_testing_sink_new ();
  g_autoptr(FlowDataflow) flow = flow_dataflow_new ("store");
  FlowStream *s;

  s = flow_dataflow_input (flow, "inp", FLOW_SOURCE (source));
  s = flow_stream_stateful_map (s, "sum", zero, NULL, NULL, checked_add, NULL, NULL);
  flow_stream_output (s, "out", FLOW_SINK (sink));
  return rec_run (flow, dir, 0, 0, NULL, error);
}

static void
test_fuzz_restore (void)
{
  g_autofree char *dir = rec_init_dir (1);
  g_autofree char *part0 = rec_part_path (dir, 0);
  g_autofree char *copy = g_strconcat (part0, ".copy", NULL);
  g_autoptr(GPtrArray) corpus = state_corpus ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (g_test_rand_int ());
  g_autoptr(GError) error = NULL;
  guint n = g_test_slow () ? 2000 : RUNNING_ON_VALGRIND ? 20 : 60;
  guint n_resumed = 0, n_corrupt = 0;

  g_assert_true (run_checked (dir, 8, &error));
  g_assert_no_error (error);
  rec_copy_file (part0, copy);
  /* The stored states themselves join the corpus. */
  {
    g_auto(GStrv) rows = rec_sql_rows (part0, "SELECT hex(ser) FROM snaps WHERE ser IS NOT NULL");
    for (guint i = 0; rows[i] != NULL; i++)
      {
        gsize len = strlen (rows[i]) / 2;
        guint8 *bytes = g_malloc (len);
        for (gsize j = 0; j < len; j++)
          bytes[j] = (guint8) (g_ascii_xdigit_value (rows[i][2 * j]) * 16 +
                               g_ascii_xdigit_value (rows[i][2 * j + 1]));
        g_ptr_array_add (corpus, g_bytes_new_take (bytes, len));
      }
  }

  for (guint i = 0; i < n; i++)
    {
      GBytes *blob = g_ptr_array_index (corpus, g_rand_int_range (rand, 0, corpus->len));
      g_autoptr(GByteArray) mutant = mutate (rand, blob);
      g_autoptr(GString) hex = g_string_new (NULL);
      g_autofree char *sql = NULL;
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;
      int status;

      for (guint j = 0; j < mutant->len; j++)
        g_string_append_printf (hex, "%02x", mutant->data[j]);
      rec_copy_file (copy, part0);
      sql = g_strdup_printf ("UPDATE snaps SET ser = x'%s' WHERE state_key = 'k%u'",
                             hex->str, g_rand_int_range (rand, 0, 4));
      rec_sql_exec (part0, sql);

      if (run_checked (dir, 12, &error))
        n_resumed++;
      else
        {
          if (!g_error_matches (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION) &&
              !g_error_matches (error, FLOW_ERROR, FLOW_ERROR_USER_FUNCTION) &&
              !g_error_matches (error, FLOW_ERROR, FLOW_ERROR_WRONG_TYPE))
            g_error ("state %s: %s", hex->str, error->message);
          if (g_error_matches (error, FLOW_ERROR, FLOW_ERROR_CORRUPT_PARTITION))
            {
              g_assert_nonnull (strstr (error->message, part0));
              n_corrupt++;
            }
          g_clear_error (&error);
        }

      if (i % 10 == 0)
        {
          rec_copy_file (copy, part0);
          rec_sql_exec (part0, sql);
          status = rec_tool (&out, &err, "show", dir, NULL);
          /* Exit 0 or 1, never a signal. */
          if (status != 0 && status != 1)
            g_error ("flow-recovery show on state %s: status %d\n%s", hex->str, status, err);
        }
    }
  g_test_message ("%u runs resumed, %u stopped at a corrupt state", n_resumed, n_corrupt);
  g_assert_cmpuint (n_corrupt, >, 0);

  rec_rm_rf (dir);
}

/* ------------------------------------------------------------------------
 * Garbage collection keeps exactly what the format says
 * ------------------------------------------------------------------------ */

/* issue 12: format 2 collects garbage from the keys the writer remembers
 * writing (or, for rows of earlier executions and past the record limit,
 * by a scan). Whichever way, after every commit each partition holds, for
 * every key, its rows after its GC epoch and its newest row at or before
 * it unless that is a tombstone: nothing more, nothing less. */

typedef struct
{
  const char *step_id;
  char       *key;
  guint64     epoch;
  gint64      value;   /* -1: tombstone */
} GcRow;

typedef struct
{
  gsize    record_limit;
  double   backup_epochs;   /* backup interval, in epochs */
  guint    n_partitions;
  gboolean format1;         /* the directory is made format 1 first */
  guint    n_keys;          /* keys per step (0: 12) */
} GcCase;

static const GcCase gc_cases[] = {
  { 1 << 20, 0, 1, FALSE, 0 },   /* records only (and a scan after the restart) */
  { 1 << 20, 0, 3, FALSE, 0 },
  { 3, 0, 2, FALSE, 0 },         /* too many to remember: scans, rate-limited */
  { 25, 0, 2, FALSE, 0 },        /* both, switching */
  { 1 << 20, 4.5, 2, FALSE, 0 }, /* a backup interval keeps older epochs */
  { 25, 4.5, 1, FALSE, 0 },
  { 1 << 20, 0, 2, TRUE, 0 },    /* format 1 (with its index) stays format 1 */
  { 1 << 20, 0, 1, FALSE, 300 }, /* keys deleted by batches of a statement */
};

typedef struct
{
  gboolean  done;
  GError   *error;
} GcWait;

static void
gc_committed (guint64       epoch,
              const GError *error,
              gpointer      user_data)
{
  GcWait *w = user_data;

  w->done = TRUE;
  if (error != NULL)
    w->error = g_error_copy (error);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

/* A value as stored: its 8 digits (the start of the serialised string),
 * or -1 for a tombstone. */
static const char *
gc_value_text (gint64 value)
{
  static char text[32];

  if (value < 0)
    return "-1";
  g_snprintf (text, sizeof text, "%08" G_GINT64_FORMAT, value);
  return text;
}

/* What partition @part should hold with GC epoch @gc, from every row ever
 * written (@history, in epoch order), as sorted "step|key|epoch|value". */
static GPtrArray *
gc_expected (GArray  *history,
             guint    n_partitions,
             guint    part,
             guint64  gc)
{
  g_autoptr(GHashTable) newest = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GPtrArray *rows = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < history->len; i++)
    {
      GcRow *r = &g_array_index (history, GcRow, i);

      if (flow_store_partition_for (n_partitions, r->step_id, r->key) == part && r->epoch <= gc)
        g_hash_table_insert (newest, g_strdup_printf ("%s|%s", r->step_id, r->key), r);
    }
  for (guint i = 0; i < history->len; i++)
    {
      GcRow *r = &g_array_index (history, GcRow, i);
      g_autofree char *id = g_strdup_printf ("%s|%s", r->step_id, r->key);

      if (flow_store_partition_for (n_partitions, r->step_id, r->key) != part)
        continue;
      if (r->epoch > gc || (g_hash_table_lookup (newest, id) == r && r->value >= 0))
        g_ptr_array_add (rows, g_strdup_printf ("%s|%" G_GUINT64_FORMAT "|%s",
                                                id, r->epoch, gc_value_text (r->value)));
    }
  g_ptr_array_sort (rows, compare_strings);
  return rows;
}

static GPtrArray *
gc_stored (const char *path)
{
  g_auto(GStrv) got = rec_sql_rows (path, "SELECT step_id, state_key, epoch,"
                                          " IFNULL(CAST(substr(ser, 1, 8) AS TEXT), -1)"
                                          " FROM snaps");
  GPtrArray *rows = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; got[i] != NULL; i++)
    g_ptr_array_add (rows, g_strdup (got[i]));
  g_ptr_array_sort (rows, compare_strings);
  return rows;
}

static gboolean
gc_collect_state (const char  *step_id,
                  const char  *key,
                  guint64      epoch,
                  GVariant    *state,
                  gpointer     user_data,
                  GError     **error)
{
  g_ptr_array_add (user_data, g_strdup_printf ("%s|%s|%" G_GUINT64_FORMAT "|%s", step_id, key, epoch,
                                               state ? g_variant_get_string (state, NULL) : "-1"));
  return TRUE;
}

static void
test_gc_exact (gconstpointer data)
{
  const GcCase *c = data;
  g_autofree char *dir = rec_init_dir (c->n_partitions);
  g_autoptr(GArray) history = g_array_new (FALSE, FALSE, sizeof (GcRow));
  g_autoptr(GRand) rand = g_rand_new_with_seed (12);
  static const char * const steps[] = { "gc.sum", "gc.inp" };
  gsize old_limit = flow_store_gc_record_limit;
  const gint64 t0 = 1000000000000, epoch_us = 1000;
  guint64 epoch = 0;
  guint scans_seen = 0;

  if (c->format1)
    for (guint i = 0; i < c->n_partitions; i++)
      {
        g_autofree char *path = rec_part_path (dir, i);
        rec_sql_exec (path, "CREATE INDEX snaps_epoch ON snaps (epoch);"
                            "UPDATE meta SET value = 1 WHERE name = 'format'");
      }

  flow_store_gc_record_limit = c->record_limit;
  /* Three executions of 15 epochs: the later ones start with rows of
   * earlier ones to collect. */
  for (guint ex = 0; ex < 3; ex++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GMainContext) context = g_main_context_new ();
      g_autoptr(GPtrArray) loaded = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(GPtrArray) want = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(GHashTable) latest = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      FlowStore *store = flow_store_open (dir, FLOW_STORE_OPEN_RUN, &error);
      GcWait w = { FALSE, NULL };

      g_assert_no_error (error);
      g_assert_cmpuint (flow_store_get_resume_epoch (store), ==, epoch);

      /* The states as of the resume epoch load as the model says. */
      g_assert_true (flow_store_load (store, epoch, TRUE, gc_collect_state, loaded, &error));
      g_assert_no_error (error);
      for (guint i = 0; i < history->len; i++)
        {
          GcRow *r = &g_array_index (history, GcRow, i);
          g_hash_table_insert (latest, g_strdup_printf ("%s|%s", r->step_id, r->key), r);
        }
      {
        GHashTableIter iter;
        gpointer key, value;

        g_hash_table_iter_init (&iter, latest);
        while (g_hash_table_iter_next (&iter, &key, &value))
          {
            GcRow *r = value;
            g_ptr_array_add (want, g_strdup_printf ("%s|%" G_GUINT64_FORMAT "|%s",
                                                    (char *) key, r->epoch, gc_value_text (r->value)));
          }
      }
      /* (a tombstone whose older rows were collected is gone: the same
       * as no row) */
      for (guint i = want->len; i > 0; i--)
        if (g_str_has_suffix (g_ptr_array_index (want, i - 1), "|-1") &&
            !g_ptr_array_find_with_equal_func (loaded, g_ptr_array_index (want, i - 1), g_str_equal, NULL))
          g_ptr_array_remove_index (want, i - 1);
      g_ptr_array_sort (want, compare_strings);
      g_ptr_array_sort (loaded, compare_strings);
      g_assert_cmpuint (loaded->len, ==, want->len);
      for (guint i = 0; i < want->len; i++)
        g_assert_cmpstr (g_ptr_array_index (loaded, i), ==, g_ptr_array_index (want, i));

      flow_store_begin_execution (store, "gc", 1, (gint64) (c->backup_epochs * epoch_us),
                                  t0 + (gint64) epoch * epoch_us, NULL, context,
                                  gc_committed, &w, &error);
      g_assert_no_error (error);
      for (guint e = 0; e < 15; e++)
        {
          GArray *rows = g_array_new (FALSE, TRUE, sizeof (FlowSnapRow));
          guint n_keys = c->n_keys ? c->n_keys : 12;
          guint n_rows = g_rand_int_range (rand, 0, n_keys + n_keys / 4);

          epoch++;
          g_array_set_clear_func (rows, (GDestroyNotify) flow_snap_row_clear);
          for (guint i = 0; i < n_rows; i++)
            {
              GcRow r = { steps[g_rand_int_range (rand, 0, 2)], NULL, epoch, 0 };
              g_autofree char *key = g_strdup_printf ("k%d", g_rand_int_range (rand, 0, n_keys));
              FlowSnapRow row = { r.step_id, g_ref_string_new (key), NULL };
              gboolean seen = FALSE;

              for (guint j = 0; j < rows->len; j++)
                {
                  FlowSnapRow *o = &g_array_index (rows, FlowSnapRow, j);
                  seen |= o->step_id == row.step_id && g_str_equal (o->key, row.key);
                }
              if (seen)
                {
                  flow_snap_row_clear (&row);
                  continue;
                }
              r.key = g_strdup (key);
              r.value = g_rand_int_range (rand, 0, 5) == 0 ? -1 : (gint64) epoch * 100 + i;
              if (r.value >= 0)
                {
                  g_autofree char *text = g_strdup_printf ("%08" G_GINT64_FORMAT, r.value);
                  row.state = g_variant_ref_sink (g_variant_new_string (text));
                }
              g_array_append_val (rows, row);
              g_array_append_val (history, r);
            }

          /* (rows in the flow's order, not the table's) */
          w.done = FALSE;
          flow_store_commit_async (store, epoch, t0 + (gint64) epoch * epoch_us, rows);
          while (!w.done)
            g_main_context_iteration (context, TRUE);
          g_assert_no_error (w.error);

          for (guint part = 0; part < c->n_partitions; part++)
            {
              g_autofree char *path = rec_part_path (dir, part);
              const FlowStorePartitionInfo *info = flow_store_get_partition (store, part);
              g_autoptr(GPtrArray) got = gc_stored (path);
              g_autoptr(GPtrArray) expected = gc_expected (history, c->n_partitions, part, info->gc_epoch);

              if (got->len != expected->len)
                {
                  for (guint i = 0; i < got->len; i++)
                    g_test_message ("stored   %s", (char *) g_ptr_array_index (got, i));
                  for (guint i = 0; i < expected->len; i++)
                    g_test_message ("expected %s", (char *) g_ptr_array_index (expected, i));
                  g_error ("epoch %" G_GUINT64_FORMAT ", partition %u (GC epoch %" G_GUINT64_FORMAT
                           "): %u rows stored, %u expected", epoch, part, info->gc_epoch,
                           got->len, expected->len);
                }
              for (guint i = 0; i < got->len; i++)
                g_assert_cmpstr (g_ptr_array_index (got, i), ==, g_ptr_array_index (expected, i));
              /* Garbage is collected, not only kept exactly. */
              if (c->backup_epochs == 0 && c->record_limit > 100)
                g_assert_cmpuint (info->gc_epoch, ==, epoch - 1);
              else if (info->gc_epoch + 12 >= epoch)
                scans_seen++;
            }
        }
      flow_store_free (store);
    }
  if (c->record_limit < 100 || c->backup_epochs > 0)
    g_assert_cmpuint (scans_seen, >, 0);
  flow_store_gc_record_limit = old_limit;

  for (guint i = 0; i < c->n_partitions; i++)
    {
      g_autofree char *path = rec_part_path (dir, i);
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);

      g_assert_cmpint (rec_sql_int (path, "SELECT value FROM meta WHERE name = 'format'"), ==,
                       c->format1 ? 1 : 2);
      g_assert_cmpint (rec_sql_int (path, "SELECT COUNT(*) FROM sqlite_schema WHERE name = 'snaps_epoch'"),
                       ==, c->format1 ? 1 : 0);
      g_assert_cmpuint (flow_store_check_file (path, 10, problems), ==, 0);
    }
  for (guint i = 0; i < history->len; i++)
    g_free (g_array_index (history, GcRow, i).key);
  rec_rm_rf (dir);
}

/* ------------------------------------------------------------------------
 * Format 1 directories run as they are, and `flow-recovery upgrade`
 * ------------------------------------------------------------------------ */

static void
make_format1 (const char *dir,
              guint       n)
{
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *path = rec_part_path (dir, i);
      rec_sql_exec (path, "CREATE INDEX snaps_epoch ON snaps (epoch);"
                          "UPDATE meta SET value = 1 WHERE name = 'format'");
    }
}

static void
assert_format (const char *dir,
               guint       n,
               gint64      format)
{
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *path = rec_part_path (dir, i);

      g_assert_cmpint (rec_sql_int (path, "SELECT value FROM meta WHERE name = 'format'"), ==, format);
      g_assert_cmpint (rec_sql_int (path, "SELECT COUNT(*) FROM sqlite_schema WHERE name = 'snaps_epoch'"),
                       ==, format == 1 ? 1 : 0);
    }
}

static void
test_upgrade (void)
{
  g_autofree char *dir = rec_init_dir (2);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) first = NULL;
  g_auto(GStrv) second = NULL;
  g_auto(GStrv) want_first = expected_output (0, 8);
  g_auto(GStrv) want_second = expected_output (8, 16);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  FlowStore *store;

  assert_format (dir, 2, 2);
  make_format1 (dir, 2);

  /* A format-1 directory runs, resumes and stays format 1. */
  first = run_keyed (dir, 8, &error);
  g_assert_no_error (error);
  rec_assert_strv (first, want_first);
  assert_format (dir, 2, 1);

  /* Not while a run uses it. */
  store = flow_store_open (dir, FLOW_STORE_OPEN_RUN, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rec_tool (&out, &err, "upgrade", dir, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "in use"));
  g_assert_nonnull (strstr (err, dir));
  flow_store_free (store);
  assert_format (dir, 2, 1);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (rec_tool (&out, &err, "upgrade", dir, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "Converted 2 partitions"));
  assert_format (dir, 2, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (rec_tool (&out, &err, "check", dir, NULL), ==, 0);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* The state is the same: the next run resumes exactly. */
  second = run_keyed (dir, 16, &error);
  g_assert_no_error (error);
  rec_assert_strv (second, want_second);

  g_assert_cmpint (rec_tool (&out, &err, "upgrade", dir, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "already in format 2"));
  rec_rm_rf (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/store/lock/race", test_lock_race);
  g_test_add_func ("/store/init/killed", test_init_killed);
  g_test_add_func ("/store/init/modes", test_modes);
  g_test_add_func ("/store/fuzz/deserialize", test_fuzz_deserialize);
  g_test_add_func ("/store/serialize/reference", test_serialize_reference);
  g_test_add_func ("/store/fuzz/restore", test_fuzz_restore);
  g_test_add_func ("/store/init/killed/child", test_init_killed_child);
  g_test_add_func ("/store/upgrade", test_upgrade);
  for (guint i = 0; i < G_N_ELEMENTS (gc_cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("/store/gc/exact/%u", i);
      g_test_add_data_func (name, &gc_cases[i], test_gc_exact);
    }

  return g_test_run ();
}
