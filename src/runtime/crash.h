/* crash.h - crash capture by the runtime: the supervisor traces the app it
 * started, and when the app dies of a signal the backtrace has already been
 * taken from outside, before the process was gone. The app needs no signal
 * handler, library or cooperation of any kind, and cannot forge the result.
 *
 * How: the app is PTRACE_SEIZEd (with PTRACE_O_TRACECLONE so every thread is
 * traced, PTRACE_O_TRACEEXIT so the exit is seen while the address space is
 * still mapped). At the signal-delivery stop of a signal whose default action
 * dumps core (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS,
 * SIGQUIT, SIGXCPU, SIGXFSZ) the stopped thread's registers are read
 * (PTRACE_GETREGSET NT_PRSTATUS) and it is unwound with elfutils libdwfl
 * (CFI from .eh_frame/.debug_frame), every pc symbolized to module, build-id
 * and function. The signal is then delivered unchanged: if the app handles it
 * and lives on, the capture is discarded; if the process dies of it, the
 * capture becomes the outcome. A death by another signal (SIGTERM, ...) is
 * unwound at the PTRACE_EVENT_EXIT stop instead, without siginfo.
 *
 * Trust: the app is untrusted. Everything read from it (memory, symbol names)
 * is bounded and copied into fixed-size fields; names containing control
 * characters are replaced, so the event always passes fail_event_validate.
 *
 * The monitor waits with waitpid(-1, __WALL): call it from a process (or the
 * one thread) whose only children are the monitored app, as
 * rampart-crashwatch does. Supported: x86_64 and aarch64. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "failure/report.h"
#include "lib/err.h"

#define RTD_CRASH_DUMP_DEFAULT  (16 * 1024)     /* default crash dump cap */
#define RTD_CRASH_DUMP_MIN      1024            /* a dump below this is refused */

struct rtd_crash_opts {
        unsigned max_frames;    /* 1..FAIL_MAX_FRAMES; 0 = FAIL_MAX_FRAMES */
        bool dump;              /* also build a crash dump (see below) */
        size_t dump_max;        /* cap in bytes, RTD_CRASH_DUMP_MIN..FAIL_MAX_DUMP; 0 = default */
};

enum rtd_outcome_kind {
        RTD_EXITED,             /* exit(code), code may be 0 */
        RTD_KILLED,             /* terminated by a signal */
};

struct rtd_outcome {
        enum rtd_outcome_kind kind;
        int exit_code;          /* RTD_EXITED */
        int signal;             /* RTD_KILLED */
        bool core;              /* the kernel reported a core dump attempt */
        /* Filled when a backtrace was taken (captured == true). */
        bool captured;
        bool has_siginfo;       /* captured at the signal-delivery stop */
        pid_t tid;              /* the crashing thread */
        int si_code;
        uint64_t fault_addr;
        uint64_t pc, sp;
        uint32_t nframes;
        struct fail_frame frames[FAIL_MAX_FRAMES];
        uint8_t *dump;          /* owned; NULL unless opts.dump */
        size_t dump_len;
};

void rtd_outcome_clear(struct rtd_outcome *o);  /* frees the dump; accepts NULL */

/* Forks, PTRACE_SEIZEs the child before it runs a single instruction of the
 * program, then has it execvp(argv[0], argv). An exec failure is reported
 * here (the child is reaped). On success the caller must rtd_crash_monitor()
 * the returned pid. */
int rtd_crash_spawn(char *const argv[], pid_t *ret_pid, struct rp_err *err) RP_WUR;

/* Follows the traced process until it is gone (reaped) and describes how it
 * ended. Signals other than the fatal one are passed through unchanged. */
int rtd_crash_monitor(pid_t pid, const struct rtd_crash_opts *opts, struct rtd_outcome *ret,
                      struct rp_err *err) RP_WUR;

/* Turns an outcome into a failure event: app_crash for a signal, app_exit
 * for a non-zero exit code. -ENOENT (no event) for exit code 0. `now` is
 * used for time_first and time_last. The dump moves into the event. */
int rtd_crash_to_event(struct rtd_outcome *o, const char *component_id,
                       const char *component_version, int64_t now, struct fail_event *ret,
                       struct rp_err *err) RP_WUR;

/* For an app the supervisor stopped because it missed its liveness check:
 * the supervisor sends SIGABRT (the capture then records where the app hung)
 * and, if that does not end it, SIGKILL. This makes a `watchdog` event with
 * `reason` and, when a backtrace was taken, its frames. The dump is freed:
 * watchdog events carry none. */
int rtd_crash_to_watchdog_event(struct rtd_outcome *o, const char *component_id,
                                const char *component_version, int64_t now, const char *reason,
                                struct fail_event *ret, struct rp_err *err) RP_WUR;

/* Crash dump format (host byte order, arch given in the header):
 *   "RPDUMP01" | u32 elf_machine (62 x86_64, 183 aarch64) | u32 record count
 *   then records: u32 type | u32 payload length | payload
 *     RTD_DUMP_THREAD  u32 tid, i32 signal, i32 si_code, u64 fault_addr
 *     RTD_DUMP_REGS    the raw NT_PRSTATUS register set (struct user_regs_struct)
 *     RTD_DUMP_MODULE  u64 start, u64 end, u8 build-id length, build-id,
 *                      u16 name length, name (file name only)
 *     RTD_DUMP_STACK   u64 address, then the bytes read upwards from there
 * The whole dump is at most opts.dump_max bytes: modules beyond the cap are
 * left out, and the stack gets what remains. */
#define RTD_DUMP_MAGIC "RPDUMP01"
enum rtd_dump_record { RTD_DUMP_THREAD = 1, RTD_DUMP_REGS = 2, RTD_DUMP_MODULE = 3,
                       RTD_DUMP_STACK = 4 };
