/* crash.c - see crash.h. */
#include "runtime/crash.h"

#include <elf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/encode.h"

#if defined(__x86_64__)
#define RTD_ELF_MACHINE EM_X86_64
#define REG_PC(r) ((uint64_t)(r).rip)
#define REG_SP(r) ((uint64_t)(r).rsp)
#define STACK_RED_ZONE 128
#elif defined(__aarch64__)
#define RTD_ELF_MACHINE EM_AARCH64
#define REG_PC(r) ((uint64_t)(r).pc)
#define REG_SP(r) ((uint64_t)(r).sp)
#define STACK_RED_ZONE 0
#else
#error "crash capture supports x86_64 and aarch64"
#endif

#define DUMP_MAX_MODULES 64

void rtd_outcome_clear(struct rtd_outcome *o)
{
        if (!o)
                return;
        free(o->dump);
        memset(o, 0, sizeof(*o));
}

/* Signals whose default action dumps core: these are unwound at the
 * signal-delivery stop, where the faulting state is exact. */
static bool core_signal(int sig)
{
        switch (sig) {
        case SIGSEGV: case SIGBUS: case SIGFPE: case SIGILL: case SIGABRT:
        case SIGTRAP: case SIGSYS: case SIGQUIT: case SIGXCPU: case SIGXFSZ:
                return true;
        default:
                return false;
        }
}

/* si_addr is meaningful for the fault signals only. */
static bool fault_signal(int sig)
{
        return sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL ||
               sig == SIGTRAP;
}

/* Copies an untrusted name into a fixed field: truncated at the cap, control
 * characters (C0, DEL and the C1 range U+0080..U+009F, which is 0xc2
 * 0x80..0x9f in UTF-8) replaced by '?', so the result always validates. */
static void copy_name(char *dst, size_t cap, const char *src)
{
        size_t i = 0;

        for (size_t s = 0; src && src[s] && i < cap - 1; s++) {
                unsigned char c = (unsigned char)src[s];
                if (c == 0xc2 && (unsigned char)src[s + 1] >= 0x80 &&
                    (unsigned char)src[s + 1] <= 0x9f) {
                        dst[i++] = '?';
                        s++;
                        continue;
                }
                dst[i++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
        }
        dst[i] = '\0';
        /* never end inside a UTF-8 sequence cut by the cap */
        while (i > 0 && ((unsigned char)dst[i - 1] & 0x80)) {
                size_t start = i - 1;
                while (start > 0 && ((unsigned char)dst[start] & 0xc0) == 0x80)
                        start--;
                unsigned char lead = (unsigned char)dst[start];
                size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
                if (i - start == need && lead >= 0xc0)
                        break;
                dst[start] = '\0';
                i = start;
        }
}

/* "/usr/lib/x86_64-linux-gnu/libc.so.6" -> "libc.so.6"; "[vdso: 1234]" ->
 * "[vdso]" (the pid would split one bug into one bucket per process). */
static void module_file_name(char *dst, size_t cap, const char *name)
{
        const char *slash;

        if (!name || !*name) {
                copy_name(dst, cap, "??");
                return;
        }
        if (name[0] == '[') {
                const char *colon = strchr(name, ':');
                if (colon) {
                        char tmp[64];
                        size_t n = (size_t)(colon - name);
                        if (n > sizeof(tmp) - 2)
                                n = sizeof(tmp) - 2;
                        memcpy(tmp, name, n);
                        tmp[n] = ']';
                        tmp[n + 1] = '\0';
                        copy_name(dst, cap, tmp);
                        return;
                }
        }
        slash = strrchr(name, '/');
        copy_name(dst, cap, slash ? slash + 1 : name);
}

static int read_regs(pid_t tid, struct user_regs_struct *regs)
{
        struct iovec iov = {.iov_base = regs, .iov_len = sizeof(*regs)};

        if (ptrace(PTRACE_GETREGSET, tid, (void *)(uintptr_t)NT_PRSTATUS, &iov) < 0)
                return -errno;
        return 0;
}

/* Separate debug info is looked up by build-id on the local disk only
 * (/usr/lib/debug/.build-id): dwfl_standard_find_debuginfo would also ask a
 * debuginfod server when DEBUGINFOD_URLS is set, and the supervisor must not
 * make network requests on an app's behalf while it holds the app stopped. */
static const Dwfl_Callbacks proc_callbacks = {
        .find_elf = dwfl_linux_proc_find_elf,
        .find_debuginfo = dwfl_build_id_find_debuginfo,
};

static void freedwflp(Dwfl **d)
{
        if (*d)
                dwfl_end(*d);
}

struct unwind_ctx {
        Dwfl *dwfl;
        struct rtd_outcome *out;
        unsigned max_frames;
};

static void symbolize(Dwfl *dwfl, Dwarf_Addr pc, struct fail_frame *f)
{
        Dwfl_Module *mod = dwfl_addrmodule(dwfl, pc);
        const char *modname = NULL, *fn = NULL;
        Dwarf_Addr start = 0;
        GElf_Off off = 0;
        GElf_Sym sym;
        const unsigned char *bits = NULL;
        GElf_Addr bid_vaddr;
        Dwarf_Addr bias;
        int bid_len;

        memset(f, 0, sizeof(*f));
        if (!mod) {
                copy_name(f->module, sizeof(f->module), "??");
                f->module_offset = pc;
                return;
        }
        modname = dwfl_module_info(mod, NULL, &start, NULL, NULL, NULL, NULL, NULL);
        module_file_name(f->module, sizeof(f->module), modname);
        f->module_offset = pc - start;
        /* The build-id is known only once the module's ELF has been found. */
        (void)dwfl_module_getelf(mod, &bias);
        bid_len = dwfl_module_build_id(mod, &bits, &bid_vaddr);
        if (bid_len > 0 && (size_t)bid_len * 2 <= FAIL_MAX_BUILD_ID)
                rp_hex_encode(bits, (size_t)bid_len, f->build_id);
        fn = dwfl_module_addrinfo(mod, pc, &off, &sym, NULL, NULL, NULL);
        if (fn && *fn) {
                /* "__libc_start_main@@GLIBC_2.34": the symbol version is not
                 * part of the function's name */
                char *at;
                copy_name(f->function, sizeof(f->function), fn);
                at = strchr(f->function, '@');
                if (at && at != f->function)
                        *at = '\0';
                f->offset = off;
        }
}

static int frame_cb(Dwfl_Frame *state, void *arg)
{
        struct unwind_ctx *u = arg;
        Dwarf_Addr pc;
        bool activation;

        if (u->out->nframes >= u->max_frames)
                return DWARF_CB_ABORT;
        if (!dwfl_frame_pc(state, &pc, &activation))
                return DWARF_CB_ABORT;
        /* A return address points after the call: look up the call itself. */
        if (!activation && pc > 0)
                pc--;
        symbolize(u->dwfl, pc, &u->out->frames[u->out->nframes++]);
        return DWARF_CB_OK;
}

/* ---- crash dump ---- */

static int dump_record(struct rp_buf *b, uint32_t type, const void *p, size_t len)
{
        uint32_t hdr[2] = {type, (uint32_t)len};
        int r = rp_buf_append(b, hdr, sizeof(hdr));
        return r < 0 ? r : rp_buf_append(b, p, len);
}

struct dump_mod_ctx {
        struct rp_buf *b;
        unsigned n;
        int r;
};

static int dump_module_cb(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
                          void *arg)
{
        struct dump_mod_ctx *c = arg;
        uint8_t rec[8 + 8 + 1 + 255 + 2 + FAIL_MAX_MODULE];
        char fname[FAIL_MAX_MODULE + 1];
        const unsigned char *bits = NULL;
        GElf_Addr vaddr;
        Dwarf_Addr end = 0;
        int blen;
        size_t p = 0, nlen;
        uint64_t s = start, e;
        uint16_t nl;

        if (c->n >= DUMP_MAX_MODULES)
                return DWARF_CB_ABORT;
        dwfl_module_info(mod, NULL, NULL, &end, NULL, NULL, NULL, NULL);
        e = end;
        module_file_name(fname, sizeof(fname), name);
        nlen = strlen(fname);
        blen = dwfl_module_build_id(mod, &bits, &vaddr);
        if (blen < 0 || blen > 255)
                blen = 0;
        memcpy(rec + p, &s, 8), p += 8;
        memcpy(rec + p, &e, 8), p += 8;
        rec[p++] = (uint8_t)blen;
        if (blen > 0)
                memcpy(rec + p, bits, (size_t)blen), p += (size_t)blen;
        nl = (uint16_t)nlen;
        memcpy(rec + p, &nl, 2), p += 2;
        memcpy(rec + p, fname, nlen), p += nlen;
        c->r = dump_record(c->b, RTD_DUMP_MODULE, rec, p);
        if (c->r < 0)
                return DWARF_CB_ABORT;  /* over the cap: stop listing */
        c->n++;
        return DWARF_CB_OK;
}

/* Reads the stack page by page so an unmapped page ends the read instead of
 * failing it. */
static size_t read_stack(pid_t pid, uint64_t from, uint8_t *out, size_t max)
{
        size_t got = 0;

        while (got < max) {
                uint64_t addr = from + got;
                size_t chunk = 4096 - (addr & 4095);
                if (chunk > max - got)
                        chunk = max - got;
                struct iovec local = {.iov_base = out + got, .iov_len = chunk};
                struct iovec remote = {.iov_base = (void *)(uintptr_t)addr, .iov_len = chunk};
                ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
                if (n <= 0)
                        break;
                got += (size_t)n;
                if ((size_t)n < chunk)
                        break;
        }
        return got;
}

static int build_dump(Dwfl *dwfl, pid_t tid, int sig, const struct user_regs_struct *regs,
                      const struct rtd_outcome *o, size_t cap, uint8_t **ret, size_t *ret_len)
{
        struct rp_buf b = {.max = cap};
        uint32_t head[2] = {RTD_ELF_MACHINE, 0};
        uint8_t thr[4 + 4 + 4 + 8];
        uint32_t t = (uint32_t)tid;
        int32_t s = sig, sc = o->si_code;
        uint64_t fa = o->fault_addr, sp_from;
        struct dump_mod_ctx mc = {.b = &b};
        size_t head_at, room, want;
        _cleanup_free_ uint8_t *stack = NULL;
        int r;

        r = rp_buf_append(&b, RTD_DUMP_MAGIC, 8);
        head_at = b.len;
        if (r >= 0)
                r = rp_buf_append(&b, head, sizeof(head));
        memcpy(thr, &t, 4);
        memcpy(thr + 4, &s, 4);
        memcpy(thr + 8, &sc, 4);
        memcpy(thr + 12, &fa, 8);
        if (r >= 0)
                r = dump_record(&b, RTD_DUMP_THREAD, thr, sizeof(thr));
        if (r >= 0)
                r = dump_record(&b, RTD_DUMP_REGS, regs, sizeof(*regs));
        if (r < 0)
                goto fail;
        head[1] = 2;
        /* Keep room for the stack: modules take at most half of what is left. */
        {
                size_t saved_max = b.max;
                b.max = b.len + (cap - b.len) / 2;
                dwfl_getmodules(dwfl, dump_module_cb, &mc, 0);
                b.max = saved_max;
                head[1] += mc.n;
        }
        room = cap - b.len;
        if (room > 8 + 8 + 64) {
                want = room - 8 - 8;
                stack = malloc(8 + want);
                if (!stack) {
                        r = -ENOMEM;
                        goto fail;
                }
                sp_from = REG_SP(*regs) >= STACK_RED_ZONE ? REG_SP(*regs) - STACK_RED_ZONE : 0;
                memcpy(stack, &sp_from, 8);
                size_t got = read_stack(tid, sp_from, stack + 8, want);
                r = dump_record(&b, RTD_DUMP_STACK, stack, 8 + got);
                if (r < 0)
                        goto fail;
                head[1]++;
        }
        memcpy(b.data + head_at, head, sizeof(head));
        *ret = rp_buf_steal(&b, ret_len);
        return 0;
fail:
        rp_buf_free(&b);
        return r;
}

/* Unwinds stopped thread `tid` of `pid` into *o. */
static int capture(pid_t pid, pid_t tid, int sig, const siginfo_t *si,
                   const struct rtd_crash_opts *opts, struct rtd_outcome *o, struct rp_err *err)
{
        _cleanup_(freedwflp) Dwfl *dwfl = NULL;
        struct user_regs_struct regs;
        struct unwind_ctx u;
        unsigned max_frames = opts->max_frames ? opts->max_frames : FAIL_MAX_FRAMES;
        int r;

        free(o->dump);
        memset(o, 0, sizeof(*o));
        r = read_regs(tid, &regs);
        if (r < 0)
                return rp_err_set(err, r, "reading registers of thread %d: %s", (int)tid,
                                  strerror(-r));
        o->tid = tid;
        o->signal = sig;
        o->pc = REG_PC(regs);
        o->sp = REG_SP(regs);
        if (si) {
                o->has_siginfo = true;
                o->si_code = si->si_code;
                if (fault_signal(sig))
                        o->fault_addr = (uint64_t)(uintptr_t)si->si_addr;
        }
        o->captured = true;

        dwfl = dwfl_begin(&proc_callbacks);
        if (!dwfl)
                return rp_err_set(err, -ENOMEM, "libdwfl: %s", dwfl_errmsg(-1));
        dwfl_report_begin(dwfl);
        r = dwfl_linux_proc_report(dwfl, pid);
        if (dwfl_report_end(dwfl, NULL, NULL) != 0 || r != 0) {
                /* No module list: keep the registers, the pc stays unsymbolized. */
                return 0;
        }
        if (dwfl_linux_proc_attach(dwfl, pid, true) != 0)
                return 0;
        u = (struct unwind_ctx){.dwfl = dwfl, .out = o, .max_frames = max_frames};
        /* A partial unwind (no CFI past some frame) still gives the frames so far. */
        (void)dwfl_getthread_frames(dwfl, tid, frame_cb, &u);
        if (o->nframes == 0) {
                /* Not even the first frame: symbolize the pc alone. */
                symbolize(dwfl, o->pc, &o->frames[0]);
                o->nframes = 1;
        }
        if (opts->dump) {
                size_t cap = opts->dump_max ? opts->dump_max : RTD_CRASH_DUMP_DEFAULT;
                r = build_dump(dwfl, tid, sig, &regs, o, cap, &o->dump, &o->dump_len);
                if (r < 0)
                        return rp_err_set(err, r, "building the crash dump: %s", strerror(-r));
        }
        return 0;
}

int rtd_crash_spawn(char *const argv[], pid_t *ret_pid, struct rp_err *err)
{
        int go[2], ex[2];
        pid_t pid;
        int child_errno = 0, st;
        ssize_t n;

        if (!argv || !argv[0])
                return rp_err_set(err, -EINVAL, "no program to run");
        if (pipe2(go, O_CLOEXEC) < 0)
                return rp_err_set(err, -errno, "pipe: %s", strerror(errno));
        if (pipe2(ex, O_CLOEXEC) < 0) {
                int e = errno;
                close(go[0]), close(go[1]);
                return rp_err_set(err, -e, "pipe: %s", strerror(e));
        }
        pid = fork();
        if (pid < 0) {
                int e = errno;
                close(go[0]), close(go[1]), close(ex[0]), close(ex[1]);
                return rp_err_set(err, -e, "fork: %s", strerror(e));
        }
        if (pid == 0) {
                char c;
                close(go[1]);
                close(ex[0]);
                /* Wait until the parent has seized us: nothing of the program
                 * runs untraced. */
                if (read(go[0], &c, 1) != 1)
                        _exit(127);
                execvp(argv[0], argv);
                child_errno = errno;
                if (write(ex[1], &child_errno, sizeof(child_errno)) < 0)
                        _exit(127);
                _exit(127);
        }
        close(go[0]);
        close(ex[1]);
        if (ptrace(PTRACE_SEIZE, pid, NULL,
                   (void *)(uintptr_t)(PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXIT |
                                       PTRACE_O_TRACEEXEC)) < 0) {
                int e = errno;
                close(go[1]);
                close(ex[0]);
                kill(pid, SIGKILL);
                while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                        ;
                return rp_err_set(err, -e, "ptrace(PTRACE_SEIZE) of pid %d: %s", (int)pid,
                                  strerror(e));
        }
        if (write(go[1], "g", 1) != 1) {
                int e = errno;
                close(go[1]);
                close(ex[0]);
                kill(pid, SIGKILL);
                return rp_err_set(err, -e, "starting the child: %s", strerror(e));
        }
        close(go[1]);
        do
                n = read(ex[0], &child_errno, sizeof(child_errno));
        while (n < 0 && errno == EINTR);
        close(ex[0]);
        if (n == (ssize_t)sizeof(child_errno)) {
                /* exec failed: the child is exiting; follow it through its exit stop */
                kill(pid, SIGKILL);
                for (;;) {
                        pid_t w = waitpid(pid, &st, __WALL);
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w < 0 || WIFEXITED(st) || WIFSIGNALED(st))
                                break;
                        ptrace(PTRACE_CONT, pid, NULL, NULL);
                }
                return rp_err_set(err, -child_errno, "cannot run '%s': %s", argv[0],
                                  strerror(child_errno));
        }
        *ret_pid = pid;
        return 0;
}

int rtd_crash_monitor(pid_t pid, const struct rtd_crash_opts *opts, struct rtd_outcome *ret,
                      struct rp_err *err)
{
        static const struct rtd_crash_opts defaults = {0};
        struct rtd_outcome cap = {0};   /* the latest capture */
        struct rtd_outcome o = {0};
        int st, r;

        if (!opts)
                opts = &defaults;
        if (opts->max_frames > FAIL_MAX_FRAMES)
                return rp_err_set(err, -EINVAL, "max_frames %u is over the limit %d",
                                  opts->max_frames, FAIL_MAX_FRAMES);
        if (opts->dump && opts->dump_max &&
            (opts->dump_max < RTD_CRASH_DUMP_MIN || opts->dump_max > FAIL_MAX_DUMP))
                return rp_err_set(err, -EINVAL, "crash dump cap %zu is outside %d..%d",
                                  opts->dump_max, RTD_CRASH_DUMP_MIN, FAIL_MAX_DUMP);

        for (;;) {
                pid_t tid = waitpid(-1, &st, __WALL);
                if (tid < 0) {
                        if (errno == EINTR)
                                continue;
                        r = rp_err_set(err, -errno, "waiting for pid %d: %s", (int)pid,
                                       strerror(errno));
                        free(cap.dump);
                        return r;
                }
                if (WIFEXITED(st) || WIFSIGNALED(st)) {
                        if (tid != pid)
                                continue;       /* another thread, or not ours */
                        break;
                }
                if (!WIFSTOPPED(st))
                        continue;
                int sig = WSTOPSIG(st);
                int event = (st >> 16) & 0xff;
                if (event == PTRACE_EVENT_EXIT) {
                        unsigned long msg = 0;
                        int how;
                        ptrace(PTRACE_GETEVENTMSG, tid, NULL, &msg);
                        how = (int)msg;
                        /* Death by a signal without a delivery stop (SIGTERM and
                         * friends): unwind here, while the memory is still mapped. */
                        if (WIFSIGNALED(how) && WTERMSIG(how) != SIGKILL &&
                            !(cap.captured && cap.signal == WTERMSIG(how))) {
                                struct rp_err e2;
                                (void)capture(pid, tid, WTERMSIG(how), NULL, opts, &cap, &e2);
                        }
                        ptrace(PTRACE_CONT, tid, NULL, NULL);
                        continue;
                }
                if (event == PTRACE_EVENT_STOP) {
                        /* group-stop: stay stopped until SIGCONT, without
                         * holding the thread in a trace stop */
                        if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
                                ptrace(PTRACE_LISTEN, tid, NULL, NULL);
                        else
                                ptrace(PTRACE_CONT, tid, NULL, NULL);
                        continue;
                }
                if (event != 0) {
                        /* clone / exec events */
                        ptrace(PTRACE_CONT, tid, NULL, NULL);
                        continue;
                }
                /* signal-delivery stop */
                if (core_signal(sig)) {
                        siginfo_t si;
                        struct rp_err e2;
                        bool have_si = ptrace(PTRACE_GETSIGINFO, tid, NULL, &si) == 0;
                        (void)capture(pid, tid, sig, have_si ? &si : NULL, opts, &cap, &e2);
                }
                ptrace(PTRACE_CONT, tid, NULL, (void *)(uintptr_t)sig);
        }

        if (WIFEXITED(st)) {
                free(cap.dump);
                o.kind = RTD_EXITED;
                o.exit_code = WEXITSTATUS(st);
        } else {
                int sig = WTERMSIG(st);
                if (cap.captured && cap.signal == sig) {
                        o = cap;
                } else {
                        free(cap.dump);
                }
                o.kind = RTD_KILLED;
                o.signal = sig;
                o.core = WCOREDUMP(st);
        }
        *ret = o;
        return 0;
}

int rtd_crash_to_event(struct rtd_outcome *o, const char *component_id,
                       const char *component_version, int64_t now, struct fail_event *ret,
                       struct rp_err *err)
{
        struct fail_event ev;
        int r;

        if (o->kind == RTD_EXITED && o->exit_code == 0)
                return rp_err_set(err, -ENOENT, "the app exited with code 0: no failure");
        memset(&ev, 0, sizeof(ev));
        if (strlen(component_id) > FAIL_MAX_ID || strlen(component_version) > FAIL_MAX_VERSION)
                return rp_err_set(err, -EINVAL, "component id or version too long");
        strcpy(ev.component_id, component_id);
        strcpy(ev.component_version, component_version);
        ev.time_first = ev.time_last = now;
        ev.count = 1;
        if (o->kind == RTD_EXITED) {
                ev.cls = FAIL_APP_EXIT;
                ev.exit_code = o->exit_code;
        } else {
                ev.cls = FAIL_APP_CRASH;
                ev.signal = o->signal;
                if (o->captured) {
                        ev.si_code = o->si_code;
                        ev.fault_addr = o->fault_addr;
                        ev.pc = o->pc;
                        ev.nframes = o->nframes;
                        memcpy(ev.frames, o->frames, sizeof(ev.frames));
                }
        }
        r = fail_event_validate(&ev, err);
        if (r < 0)
                return r;
        if (o->dump) {
                ev.dump = steal_ptr(o->dump);
                ev.dump_len = o->dump_len;
                o->dump_len = 0;
        }
        *ret = ev;
        return 0;
}

int rtd_crash_to_watchdog_event(struct rtd_outcome *o, const char *component_id,
                                const char *component_version, int64_t now, const char *reason,
                                struct fail_event *ret, struct rp_err *err)
{
        struct fail_event ev;
        int r;

        memset(&ev, 0, sizeof(ev));
        if (strlen(component_id) > FAIL_MAX_ID || strlen(component_version) > FAIL_MAX_VERSION ||
            strlen(reason) > FAIL_MAX_REASON)
                return rp_err_set(err, -EINVAL, "component id, version or reason too long");
        ev.cls = FAIL_WATCHDOG;
        strcpy(ev.component_id, component_id);
        strcpy(ev.component_version, component_version);
        strcpy(ev.reason, reason);
        ev.time_first = ev.time_last = now;
        ev.count = 1;
        if (o->kind == RTD_KILLED && o->captured) {
                ev.nframes = o->nframes;
                memcpy(ev.frames, o->frames, sizeof(ev.frames));
        }
        r = fail_event_validate(&ev, err);
        if (r < 0)
                return r;
        free(o->dump);
        o->dump = NULL;
        o->dump_len = 0;
        *ret = ev;
        return 0;
}
