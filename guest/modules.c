/* modules.c: load the kernel modules the initramfs lists, in its (dependency) order. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "init.h"

static int module_load(struct init *in, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int err = 0;

	if (fd < 0) {
		err = -errno;
		init_error(in, "cannot open module %s: %s", path, strerror(-err));
		return err;
	}
	/* glibc has no finit_module() wrapper; the file is uncompressed (the script sees to it). */
	if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST) {
		err = -errno;
		init_error(in, "cannot load module %s: %s", path, strerror(-err));
	} else {
		init_say(in, "module %s loaded", path);
	}
	close(fd);
	return err;
}

/* A line of the list: a path; blank lines and "#" comments are skipped. */
static int module_line(struct init *in, char *line)
{
	size_t len = strlen(line);

	while (len && (line[len - 1] == '\n' || line[len - 1] == ' ' || line[len - 1] == '\t'))
		line[--len] = '\0';
	if (!len || line[0] == '#')
		return 0;
	return module_load(in, line);
}

int modules_load(struct init *in, const char *list)
{
	FILE *f = fopen(list, "re");
	char *line = NULL;
	size_t cap = 0;
	int err = 0;

	if (!f && errno == ENOENT) {
		init_say(in, "no %s: no modules to load", list);
		return 0;
	}
	if (!f) {
		err = -errno;
		init_error(in, "cannot read %s: %s", list, strerror(-err));
		return err;
	}
	while (!err && getline(&line, &cap, f) >= 0)
		err = module_line(in, line);
	if (!err && ferror(f)) {
		err = -EIO;
		init_error(in, "cannot read %s", list);
	}
	free(line);
	fclose(f);
	return err;
}
