/* STUB (being written): server-status and portico-metrics handlers. */
#include "status.h"

#include "respond.h"

static const struct slotmem *scoreboard;

void status_set_scoreboard(const struct slotmem *sb)
{
    scoreboard = sb;
}

int status_handle_server_status(struct request *r, int64_t deadline)
{
    (void)scoreboard;
    return respond_error(r, 404, NULL, deadline);
}

int status_handle_metrics(struct request *r, int64_t deadline)
{
    return respond_error(r, 404, NULL, deadline);
}
