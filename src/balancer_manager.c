/* STUB (being written): the balancer-manager handler. */
#include "balancer_manager.h"

#include "respond.h"

int balancer_manager_handle(struct request *r, int64_t deadline)
{
    return respond_error(r, 501, NULL, deadline);
}
