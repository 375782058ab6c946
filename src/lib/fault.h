/* fault.h - crash-injection points for the crash-safety tests.
 *
 * In builds with RP_FAULT_INJECTION, RP_FAULT_POINT("name") kills the process
 * with SIGKILL when the environment variable RP_FAULT equals "name" (or
 * "name@N": on the N-th time the point is reached). The tests use this to cut
 * the power at every state-changing step. Without the build option the
 * points compile to nothing. */
#pragma once

#ifdef RP_FAULT_INJECTION
void rp_fault_point(const char *name);
#define RP_FAULT_POINT(name) rp_fault_point(name)
#else
#define RP_FAULT_POINT(name) do { } while (0)
#endif
