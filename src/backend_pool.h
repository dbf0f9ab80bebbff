/* Being written. */
#ifndef PORTICO_BACKEND_POOL_H
#define PORTICO_BACKEND_POOL_H
#endif
