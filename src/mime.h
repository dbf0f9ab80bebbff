/* Content types by file extension: TypesConfig (mime.types format) or a built-in table,
 * then AddType. Loaded once in the master, shared by workers through fork. */
#ifndef PORTICO_MIME_H
#define PORTICO_MIME_H

#include "conf_types.h"

/* Loads conf->types_config (or the built-in table when NULL). Returns 0 or -1 with a
 * message in err. */
int mime_load(const struct conf *conf, char *err, size_t errlen);

/* Type for a file name; AddType entries of the server win. NULL when unknown. */
const char *mime_type_for(const struct conf_server *srv, const char *filename);

/* Drops the loaded table (before loading another generation's). */
void mime_free(void);

#endif
