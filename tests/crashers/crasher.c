/* crasher.c - an app that fails in a known way, for the crash-capture tests.
 *
 *   crasher segv       null-pointer write in crash_here(), called from
 *                      call_crash() (two frames below main)
 *   crasher abort      abort() from abort_here()
 *   crasher fpe        integer division by zero in divide_here()
 *   crasher exit N     exit(N)
 *   crasher thread     SIGSEGV in crash_here() on a second thread
 *   crasher handled    a SIGSEGV the app handles itself, then exit(0)
 *   crasher term       waits to be killed by SIGTERM
 *
 * Built with -O0 -g and a build-id. Compiling with -DPADDING adds code in
 * front of the crashing functions, so every address and offset moves while
 * the functions stay the same (a "rebuild" for the bucketing test). */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

#ifdef PADDING
/* Dead weight placed before the crash functions in .text. */
NOINLINE int padding_fn(int x);
NOINLINE int padding_fn(int x)
{
        volatile int acc = x;
        for (int i = 0; i < 100; i++)
                acc = acc * 31 + i * (acc ^ 0x5a5a) - (acc >> 3) + (i % 7) * (acc | 17);
        return acc;
}
static volatile int padding_sink;
#endif

volatile int zero;
static volatile int *volatile null_ptr;

NOINLINE void crash_here(void);
NOINLINE void call_crash(void);
NOINLINE void abort_here(void);
NOINLINE int divide_here(int a);

NOINLINE void crash_here(void)
{
#ifdef PADDING
        padding_sink = padding_fn(3);
        if (padding_sink == 12345)
                printf("padding %d\n", padding_sink);
#endif
        *null_ptr = 42;
}

NOINLINE void call_crash(void)
{
        crash_here();
        printf("unreachable\n");
}

NOINLINE void abort_here(void)
{
        abort();
}

NOINLINE int divide_here(int a)
{
        return a / zero;
}

static void *thread_main(void *arg)
{
        call_crash();
        return arg;
}

static sigjmp_buf recover;

static void on_segv(int sig)
{
        siglongjmp(recover, 1);
}

int main(int argc, char **argv)
{
        const char *mode = argc > 1 ? argv[1] : "segv";

        if (strcmp(mode, "segv") == 0) {
                call_crash();
        } else if (strcmp(mode, "abort") == 0) {
                abort_here();
        } else if (strcmp(mode, "fpe") == 0) {
                printf("%d\n", divide_here(7));
        } else if (strcmp(mode, "exit") == 0) {
                exit(argc > 2 ? atoi(argv[2]) : 3);
        } else if (strcmp(mode, "thread") == 0) {
                pthread_t t;
                pthread_create(&t, NULL, thread_main, NULL);
                pthread_join(t, NULL);
        } else if (strcmp(mode, "handled") == 0) {
                signal(SIGSEGV, on_segv);
                if (sigsetjmp(recover, 1) == 0)
                        call_crash();
                printf("recovered\n");
                return 0;
        } else if (strcmp(mode, "term") == 0) {
                printf("ready\n");
                fflush(stdout);
                for (;;)
                        pause();
        } else {
                fprintf(stderr, "unknown mode %s\n", mode);
                return 2;
        }
        return 0;
}
