/* Being written. */
#ifndef PORTICO_HTTP_RESPONSE_H
#define PORTICO_HTTP_RESPONSE_H
#endif
