/* STUB (being written): portico-txt2dbm, httxt2dbm's equivalent for GDBM. */
#include <stdio.h>

int main(void)
{
    fputs("portico-txt2dbm: not implemented\n", stderr);
    return 1;
}
