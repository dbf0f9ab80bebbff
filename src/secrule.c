/* STUB (being written): running the SecRule subset. */
#include "secrule.h"

int secrule_run(struct request *r, int phase)
{
    (void)r, (void)phase;
    return 0;
}
