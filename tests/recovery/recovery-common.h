/* recovery-common.h: helpers shared by the recovery tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <flow.h>

G_BEGIN_DECLS

/* A new empty directory under the temporary directory. */
char      *rec_tmpdir              (void);
/* A new directory holding @n_partitions recovery partitions. */
char      *rec_init_dir            (guint                n_partitions);
void       rec_rm_rf               (const char          *path);
char      *rec_part_path           (const char          *dir,
                                    guint                index);
void       rec_copy_file           (const char          *from,
                                    const char          *to);

/* Runs @flow once. */
gboolean   rec_run                 (FlowDataflow        *flow,
                                    const char          *dir,
                                    double               snapshot_interval,
                                    double               backup_interval,
                                    guint64             *resume_epoch,
                                    GError             **error);

/* The items of @sink as Python reprs, a NULL-terminated array. */
GStrv      rec_sink_reprs          (FlowTestingSink     *sink);
/* A NULL-terminated array of printf-formatted lines, from a GPtrArray. */
void       rec_add                 (GPtrArray           *lines,
                                    const char          *format,
                                    ...) G_GNUC_PRINTF (2, 3);
GStrv      rec_strv                (GPtrArray           *lines);
/* Asserts that two string arrays are equal, showing both when not. */
#define rec_assert_strv(got, expected) \
  rec_assert_strv_impl (__FILE__, __LINE__, #got, (const char * const *) (got), \
                        (const char * const *) (expected))
void       rec_assert_strv_impl    (const char          *file,
                                    int                  line,
                                    const char          *what,
                                    const char * const  *got,
                                    const char * const  *expected);
/* Items [from, to) of @strv, as a new array. */
GStrv      rec_strv_slice          (const char * const  *strv,
                                    guint                from,
                                    guint                to);
GStrv      rec_strv_concat         (const char * const  *a,
                                    const char * const  *b);

/* Runs `flow-recovery ARGS…` (NULL-terminated); returns its exit status
 * (-1 if it did not exit normally). */
int        rec_tool                (char               **out,
                                    char               **err,
                                    ...) G_GNUC_NULL_TERMINATED;
/* The "State as of epoch" section of `flow-recovery show DIR`, without
 * the epoch each state was written in. */
char      *rec_show_states         (const char          *dir);

/* A description of every file in @dir: name, size, mtime and content
 * checksum, one line each, sorted by name. */
char      *rec_dir_state           (const char          *dir);
char      *rec_file_state          (const char          *path);

/* SQLite access to partition files. */
void       rec_sql_exec            (const char          *path,
                                    const char          *sql);
/* Every row of a query, columns joined with '|', NULL as "NULL". */
GStrv      rec_sql_rows            (const char          *path,
                                    const char          *sql);
gint64     rec_sql_int             (const char          *path,
                                    const char          *sql);

/* Writes @contents to @path (replacing it). */
void       rec_write_file          (const char          *path,
                                    const char          *contents);
char      *rec_read_file           (const char          *path);

G_END_DECLS
