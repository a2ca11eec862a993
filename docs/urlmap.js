// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Where gi-docgen finds the documentation of the namespaces libflow's
// reference links to ([type@GLib.Variant], [class@Gio.Cancellable], ...).
baseURLs = [
  [ 'GLib', 'https://docs.gtk.org/glib/' ],
  [ 'GObject', 'https://docs.gtk.org/gobject/' ],
  [ 'Gio', 'https://docs.gtk.org/gio/' ],
]
