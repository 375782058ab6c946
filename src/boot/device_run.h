/* device_run.h - the commands of rampart-device that run an emulated
 * device's normal world (device_run.c): configure, make-os, run, os-start
 * and status. Each takes argc/argv starting at its own name and returns the
 * process exit code. */
#pragma once
#include <stdio.h>

int boot_cmd_configure(int argc, char **argv);
int boot_cmd_make_os(int argc, char **argv);
int boot_cmd_run(int argc, char **argv);
int boot_cmd_os_start(int argc, char **argv);
int boot_cmd_status(int argc, char **argv);
void boot_run_usage(FILE *f);
