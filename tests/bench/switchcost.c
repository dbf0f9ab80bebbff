/* Context-switch cost probe for the benchmark report (tests/bench/README.md): N processes
 * (or N threads of one process) pinned to one CPU pass a byte around a ring of pipes, and the
 * time per hop (one switch plus a read and a write) is printed. A prefork server pays two
 * switches per proxied keep-alive request among as many processes as there are busy
 * connections, an event loop nearly none: where the per-hop cost grows with N for processes
 * but not for threads, the machine penalises exactly what prefork does.
 * Usage: switchcost N procs|threads; prints "N MODE US_PER_HOP". */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int n_members, rounds;
static int (*ring)[2];

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void pass_on(long i)
{
    char c;
    for (int r = 0; r < rounds; r++) {
        if (read(ring[i][0], &c, 1) != 1 || write(ring[(i + 1) % n_members][1], &c, 1) != 1)
            _exit(1);
    }
}

static void *member_thread(void *arg)
{
    pass_on((long)arg);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (n_members = (int)strtol(argv[1], NULL, 10)) < 2) {
        fprintf(stderr, "usage: switchcost N procs|threads\n");
        return 2;
    }
    int threads = strcmp(argv[2], "threads") == 0;
    rounds = 100000 / n_members < 200 ? 200 : 100000 / n_members;
    ring = calloc((size_t)n_members, sizeof(*ring));
    pthread_t *tid = calloc((size_t)n_members, sizeof(*tid));
    if (ring == NULL || tid == NULL)
        return 1;
    for (int i = 0; i < n_members; i++)
        if (pipe(ring[i]) < 0)
            return 1;
    /* One CPU: every hop is a switch, never a hand-off to an idle core. */
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    sched_setaffinity(0, sizeof(one), &one);
    for (long i = 1; i < n_members; i++) {
        if (threads) {
            pthread_create(&tid[i], NULL, member_thread, (void *)i);
        } else if (fork() == 0) {
            pass_on(i);
            _exit(0);
        }
    }
    char c = 'x';
    double t0 = now_s();
    for (int r = 0; r < rounds; r++) {
        if (write(ring[1][1], &c, 1) != 1 || read(ring[0][0], &c, 1) != 1)
            return 1;
    }
    double dt = now_s() - t0;
    if (threads)
        for (int i = 1; i < n_members; i++)
            pthread_join(tid[i], NULL);
    else
        while (wait(NULL) > 0)
            ;
    printf("%d %s %.2f\n", n_members, threads ? "threads" : "procs",
           dt * 1e6 / ((double)rounds * n_members));
    return 0;
}
