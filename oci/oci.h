/* oci.h: runtime mode: microvm as an OCI runtime (runc's command line) for containerd and Docker. */
#ifndef MICROVM_OCI_H
#define MICROVM_OCI_H

#include <stdbool.h>
#include <stdio.h>

/*
 * True when argv (after runc's global options) names a runtime command (create, start,
 * state, kill, delete, ps, exec, features...), or is a bare -v/--version after runc's
 * global options: then oci_main handles it. `microvm run` stays the VMM's own command
 * (containerd and Docker never call `runc run`).
 */
bool oci_wants(int argc, char **argv);
/* Parse runc's global options and run the command; returns the process exit status. */
int oci_main(int argc, char **argv);
/* "microvm version X" and the runtime spec version, in runc's --version layout. */
void oci_print_version(FILE *out);

#endif
