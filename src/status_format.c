/* STUB (being written): formatting the scoreboard and balancer table. */
#include "status.h"

int status_format(const struct status_source *src, enum status_format fmt, struct status_buf *out)
{
    (void)src, (void)fmt, (void)out;
    return -1;
}
