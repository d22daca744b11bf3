/* The runtime's own executable, as processes inside a container can reach it through
 * /proc/<pid>/exe: before kshim enters a container (create, run, exec) it re-executes itself from a
 * sealed in-memory copy, so that what a container process can open is that copy, which nobody can
 * write, and never the host's file (CVE-2019-5736; runc's "cloned binary" does the same). */
#pragma once

#include "err.h"

/* Returns 0 when the calling process already runs from the sealed copy. Otherwise makes the copy
 * and execs it with the same argv and environment: it returns only on failure (-1). */
int self_exe_ensure_sealed(char **argv, struct kerr *err);
