/* flow-connector-private.h: fast paths of the built-in connectors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "flow.h"
#include "flow-batch-private.h"

G_BEGIN_DECLS

/* -------------------------------------------------------------------------
 * Fast paths of the built-in connectors: they move split items directly,
 * without building the GVariant arrays of the public virtual methods.
 * ------------------------------------------------------------------------- */

typedef gboolean (*FlowSourceFastFunc) (FlowSourcePartition  *self,
                                        FlowBatch            *out,
                                        gboolean             *eof,
                                        GError              **error);
typedef gboolean (*FlowSinkFastFunc)   (FlowSinkPartition    *self,
                                        const FlowBatch      *batch,
                                        GError              **error);

void               flow_source_partition_set_fast_path (FlowSourcePartition *self,
                                                        FlowSourceFastFunc   func);
FlowSourceFastFunc flow_source_partition_get_fast_path (FlowSourcePartition *self);
void               flow_sink_partition_set_fast_path   (FlowSinkPartition   *self,
                                                        FlowSinkFastFunc     func);
FlowSinkFastFunc   flow_sink_partition_get_fast_path   (FlowSinkPartition   *self);
/* issue 12: whether the partition's class implements sync() */
gboolean           flow_sink_partition_has_sync        (FlowSinkPartition   *self);

/* flow-dir-source.c: whether @path is relative and stays inside its
 * directory (no "..", no empty component); DirSink uses it too. */
gboolean           flow_dir_relative_path_ok           (const char          *path);

G_END_DECLS
