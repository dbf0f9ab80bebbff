/* Being written. */
#ifndef PORTICO_PROXY_REVERSE_H
#define PORTICO_PROXY_REVERSE_H
#endif
