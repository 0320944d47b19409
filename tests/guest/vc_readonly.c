/* vc_readonly.c: vfs_check --readonly: a read-only share reads normally and refuses changes. */
/*
 * The guest mounts the share read-write (no -o ro), so every change reaches the server,
 * which must answer EROFS. The host prepares the checked directory beforehand:
 *   hello.txt   "read-only share\n", with the extended attribute user.ro = "yes"
 *   sub/        holding inner.txt ("inner\n")
 *   empty/      an empty directory
 *   link        a symlink to hello.txt
 */
#include "vfs_check.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static const char hello[] = "read-only share\n";

static int expect_listing(struct vc *v)
{
	static const char *const names[] = { ".", "..", "hello.txt", "sub", "empty", "link" };
	struct dirent *e;
	int found = 0, others = 0;
	size_t i;
	DIR *d = opendir(".");

	VC_REQUIRE(v, d, "opendir: %s", vc_errname(errno));
	while ((e = readdir(d)) != NULL) {
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strcmp(e->d_name, names[i]) == 0)
				break;
		if (i < sizeof(names) / sizeof(names[0]))
			found++;
		else
			others++;
	}
	closedir(d);
	/* vfs_check itself may sit here too; nothing else is expected. */
	VC_REQUIRE(v, found == 6 && others <= 1, "listing: %d of 6 names, %d others", found, others);
	return 0;
}

/* Reading works: data, a mapping, attributes, listing, link, extended attribute. */
static int check_ro_read(struct vc *v)
{
	char buf[64];
	struct stat st;
	ssize_t n;
	char *p;
	int fd;

	if (vc_expect_file(v, "hello.txt", hello, strlen(hello)) ||
	    vc_expect_file(v, "sub/inner.txt", "inner\n", 6) || expect_listing(v))
		return -1;
	VC_SYS(v, fd = open("hello.txt", O_RDONLY));
	p = mmap(NULL, strlen(hello), PROT_READ, MAP_SHARED, fd, 0);
	VC_REQUIRE(v, p != MAP_FAILED, "mmap: %s", vc_errname(errno));
	VC_REQUIRE(v, memcmp(p, hello, strlen(hello)) == 0, "the mapping differs from the file");
	munmap(p, strlen(hello));
	VC_SYS(v, close(fd));
	VC_SYS(v, n = readlink("link", buf, sizeof(buf)));
	VC_REQUIRE(v, n == 9 && memcmp(buf, "hello.txt", 9) == 0, "readlink gave %zd bytes", n);
	VC_SYS(v, n = getxattr("hello.txt", "user.ro", buf, sizeof(buf)));
	VC_REQUIRE(v, n == 3 && memcmp(buf, "yes", 3) == 0, "user.ro is %zd bytes", n);
	VC_SYS(v, stat("sub", &st));
	VC_REQUIRE(v, S_ISDIR(st.st_mode), "sub is not a directory");
	return 0;
}

static int check_ro_create(struct vc *v)
{
	VC_ERRNO(v, open("new.txt", O_CREAT | O_WRONLY, 0644), EROFS);
	VC_ERRNO(v, open("sub/new.txt", O_CREAT | O_EXCL | O_RDWR, 0644), EROFS);
	VC_ERRNO(v, mknod("fifo", S_IFIFO | 0644, 0), EROFS);
	VC_ERRNO(v, access("new.txt", F_OK), ENOENT);
	return 0;
}

static int check_ro_write(struct vc *v)
{
	VC_ERRNO(v, open("hello.txt", O_WRONLY), EROFS);
	VC_ERRNO(v, open("hello.txt", O_RDWR), EROFS);
	VC_ERRNO(v, open("hello.txt", O_WRONLY | O_APPEND), EROFS);
	VC_ERRNO(v, truncate("hello.txt", 0), EROFS);
	return 0;
}

static int check_ro_mkdir(struct vc *v)
{
	VC_ERRNO(v, mkdir("newdir", 0755), EROFS);
	VC_ERRNO(v, symlink("hello.txt", "newlink"), EROFS);
	VC_ERRNO(v, link("hello.txt", "newhard"), EROFS);
	return 0;
}

static int check_ro_unlink(struct vc *v)
{
	VC_ERRNO(v, unlink("hello.txt"), EROFS);
	VC_ERRNO(v, unlink("link"), EROFS);
	VC_ERRNO(v, rmdir("empty"), EROFS);
	return 0;
}

static int check_ro_rename(struct vc *v)
{
	VC_ERRNO(v, rename("hello.txt", "renamed.txt"), EROFS);
	VC_ERRNO(v, rename("hello.txt", "sub/inner.txt"), EROFS);
	VC_ERRNO(v, renameat2(AT_FDCWD, "sub", AT_FDCWD, "empty", RENAME_EXCHANGE), EROFS);
	return 0;
}

static int check_ro_setxattr(struct vc *v)
{
	VC_ERRNO(v, setxattr("hello.txt", "user.new", "1", 1, 0), EROFS);
	VC_ERRNO(v, setxattr("hello.txt", "user.ro", "no", 2, XATTR_REPLACE), EROFS);
	VC_ERRNO(v, removexattr("hello.txt", "user.ro"), EROFS);
	return 0;
}

static int check_ro_chmod(struct vc *v)
{
	const struct timespec ts[2] = { { 1000000000, 0 }, { 1000000000, 0 } };

	VC_ERRNO(v, chmod("hello.txt", 0600), EROFS);
	VC_ERRNO(v, chown("hello.txt", 1234, 1234), EROFS);
	VC_ERRNO(v, utimensat(AT_FDCWD, "hello.txt", ts, 0), EROFS);
	VC_ERRNO(v, chmod("sub", 0700), EROFS);
	return 0;
}

/* After all the refusals nothing changed, as far as the guest can tell. */
static int check_ro_unchanged(struct vc *v)
{
	struct stat st;
	char buf[8];

	vc_drop_caches();
	VC_SYS(v, stat("hello.txt", &st));
	VC_REQUIRE(v, st.st_mtim.tv_sec != 1000000000, "hello.txt got the refused mtime");
	VC_REQUIRE(v, getxattr("hello.txt", "user.ro", buf, sizeof(buf)) == 3, "user.ro changed");
	VC_ERRNO(v, getxattr("hello.txt", "user.new", buf, sizeof(buf)), ENODATA);
	return vc_expect_file(v, "hello.txt", hello, strlen(hello));
}

const struct vc_check vc_readonly_checks[] = {
	{ "ro_read", check_ro_read },
	{ "ro_create", check_ro_create },
	{ "ro_write", check_ro_write },
	{ "ro_mkdir_link", check_ro_mkdir },
	{ "ro_unlink_rmdir", check_ro_unlink },
	{ "ro_rename", check_ro_rename },
	{ "ro_xattr", check_ro_setxattr },
	{ "ro_chmod_chown_utimens", check_ro_chmod },
	{ "ro_unchanged", check_ro_unchanged },
	{ NULL, NULL },
};
