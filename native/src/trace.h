/* Phase timestamps for finding where create/start/delete spend their time: with KSHIM_TRACE=FILE
 * every process of the shim (CLI, monitor, init) appends "<pid> <monotonic µs> <phase>" lines to
 * FILE. Off (one getenv per process) when unset. */
#pragma once

void trace_point(const char *phase);
