/* cleanup.h - scope-bound cleanup (the systemd idiom), used outside the pure
 * layers. Destructors accept NULL. */
#pragma once
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p) { free(*(void **)p); }
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd)
{
        if (*fd >= 0)
                close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f)
{
        if (*f)
                fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Hands ownership out of a _cleanup_ variable. */
#define steal_ptr(p) ({ __typeof__(p) _tmp = (p); (p) = NULL; _tmp; })
#define steal_fd(fd) ({ int _tmp = (fd); (fd) = -1; _tmp; })

/* Defines `static inline void NAMEp(T **p)` calling NAME(*p) when non-NULL. */
#define DEFINE_FREEP(T, fn)                           \
        static inline void fn##p(T **p)               \
        {                                             \
                if (*p)                               \
                        fn(*p);                       \
        }

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
