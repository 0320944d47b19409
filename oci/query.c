/* query.c: the read-only commands: state, ps and features. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "internal.h"

/* The state of one container, or 1 with runc's message. */
static int query_load(const struct oci_globals *g, const char *id, char *dir, size_t dirlen,
		      struct oci_state *st)
{
	char err[OCI_ERR_MAX];
	int r;

	if (oci_check_id(id, err, sizeof(err)) < 0) {
		oci_error("%s", err);
		return 1;
	}
	if (oci_state_dir(g, id, dir, dirlen) < 0) {
		oci_error("container id too long");
		return 1;
	}
	r = oci_state_read(dir, st);
	if (r == -ENOENT)
		oci_error("container %s does not exist", id);
	else if (r)
		oci_error("cannot read the state of %s: %s", id, strerror(-r));
	return r ? 1 : 0;
}

int oci_cmd_state(const struct oci_globals *g, const char *id)
{
	char dir[PATH_MAX];
	struct oci_state st;

	if (query_load(g, id, dir, sizeof(dir), &st))
		return 1;
	oci_state_print(stdout, &st, oci_state_status(dir, &st));
	oci_state_free(&st);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* Index of the PID column in ps's header line, or -1. */
static int ps_pid_column(const char *header)
{
	char copy[1024], *save = NULL, *word;
	int i = 0;

	snprintf(copy, sizeof(copy), "%s", header);
	for (word = strtok_r(copy, " \t\n", &save); word; word = strtok_r(NULL, " \t\n", &save), i++)
		if (strcmp(word, "PID") == 0)
			return i;
	return -1;
}

static long ps_field(const char *line, int column)
{
	char copy[4096], *save = NULL, *word;
	int i;

	snprintf(copy, sizeof(copy), "%s", line);
	word = strtok_r(copy, " \t\n", &save);
	for (i = 0; word && i < column; i++)
		word = strtok_r(NULL, " \t\n", &save);
	return word ? strtol(word, NULL, 10) : -1;
}

/* Start ps with runc's arguments (default -ef); its output on *out. The child's pid. */
static pid_t ps_spawn(char **args, int nargs, FILE **out)
{
	char *argv[64] = { "ps", "-ef" };
	int i, fds[2];
	pid_t child;

	for (i = 0; i < nargs && i < (int)ARRAY_SIZE(argv) - 2; i++)
		argv[i + 1] = args[i];
	if (nargs > 0)
		argv[i + 1] = NULL;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	child = fork();
	if (child == 0) {
		dup2(fds[1], STDOUT_FILENO);
		execvp("ps", argv);
		_exit(127);
	}
	close(fds[1]);
	*out = child > 0 ? fdopen(fds[0], "r") : NULL;
	if (!*out)
		close(fds[0]);
	return child;
}

/* runc keeps ps's header and the lines whose PID column is the container's. */
static int ps_table(pid_t pid, char **args, int nargs)
{
	char *line = NULL;
	size_t cap = 0;
	int column = -1, status = 1;
	FILE *f = NULL;
	pid_t child = ps_spawn(args, nargs, &f);

	while (f && getline(&line, &cap, f) > 0) {
		if (column < 0) {
			column = ps_pid_column(line);
			fputs(line, stdout);
		} else if (ps_field(line, column) == (long)pid) {
			fputs(line, stdout);
		}
	}
	free(line);
	if (f)
		fclose(f);
	if (child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status))
		status = WEXITSTATUS(status);
	if (column < 0)
		oci_error("couldn't find PID field in ps output");
	return status || column < 0 ? 1 : 0;
}

int oci_cmd_ps(const struct oci_globals *g, const char *id, bool json, char **ps_args,
	       int nargs)
{
	char dir[PATH_MAX];
	struct oci_state st;
	bool stopped;
	int r = 0;

	if (query_load(g, id, dir, sizeof(dir), &st))
		return 1;
	/* The container's processes live in the guest: the host sees the one VMM process. */
	stopped = oci_state_status(dir, &st) == OCI_STOPPED;
	if (json) {
		if (stopped)
			puts("[]");
		else
			printf("[%d]\n", (int)st.pid);
	} else if (!stopped) {
		fflush(stdout);
		r = ps_table(st.pid, ps_args, nargs);
	}
	oci_state_free(&st);
	return r;
}

int oci_cmd_features(void)
{
	fputs("{\n"
	      "  \"ociVersionMin\": \"1.0.0\",\n"
	      "  \"ociVersionMax\": \"" OCI_SPEC_VERSION "\",\n"
	      "  \"hooks\": [],\n"
	      "  \"mountOptions\": [\"bind\", \"rbind\", \"ro\", \"rw\"],\n"
	      "  \"annotations\": {\n"
	      "    \"io.microvm.version\": \"" PACKAGE_VERSION "\"\n"
	      "  }\n"
	      "}\n",
	      stdout);
	return fflush(stdout) == 0 ? 0 : 1;
}
