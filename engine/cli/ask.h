/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the parts of instructblip-ask share: exit codes, JSON output, the answering modes. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* exit statuses */
#define ASK_EXIT_OK 0
#define ASK_EXIT_RUNTIME 1 /* a file, the model or the device failed */
#define ASK_EXIT_USAGE 2 /* bad arguments */

/* Prints @root on one line of stdout, every control byte escaped (json-glib
 * 1.6 leaves U+001F as it is). */
void ask_print_json (JsonNode *root);

/* The answering options (--prompt, generation settings, ...) as GOption
 * entries, NULL-terminated; they write into a static AskOptions. */
const GOptionEntry *ask_answer_entries (void);

/* The answering modes: answers @prompt about @files (or --pixel-values),
 * or ranks --candidates. @model_dir NULL: ib_get_default_model_dir (). Returns an
 * exit status. */
int ask_answer_main (const char *model_dir, char **files, int n_files);

/* Frees what the option parser stored in the AskOptions. */
void ask_answer_options_clear (void);

G_END_DECLS
