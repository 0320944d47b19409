/* vc_creds.c: vfs_check's credential checks: what a non-root guest user makes and may do. */
/*
 * Every FUSE request carries the caller's uid and gid. A server that creates files as
 * itself (root) leaves a non-root guest user unable to chmod, truncate, link or rename
 * what it just made; one that ignores the caller lets it write where it may not. Here a
 * child drops to VC_USER_ID:VC_USER_ID (no supplementary groups) and works in a sticky
 * world-writable directory, a root-owned 0755 one and a setgid one made by the root parent.
 */
#include "vfs_check.h"
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define SGID_GROUP 2000

static int expect_owner(struct vc *v, const char *path, uid_t uid, gid_t gid)
{
	struct stat st;

	VC_SYS(v, lstat(path, &st));
	VC_REQUIRE(v, st.st_uid == uid && st.st_gid == gid, "%s is owned by %u:%u, expected %u:%u",
		   path, st.st_uid, st.st_gid, uid, gid);
	return 0;
}

/* The directories the children work in, made by root. */
static int make_dirs(struct vc *v)
{
	VC_SYS(v, mkdir("pub", 0755));
	VC_SYS(v, chmod("pub", 01777));
	VC_SYS(v, mkdir("priv", 0755));
	VC_SYS(v, mkdir("sgid", 0755));
	VC_SYS(v, chown("sgid", 0, SGID_GROUP));
	VC_SYS(v, chmod("sgid", 02777));
	if (vc_make_file(v, "priv/rootfile", "root's\n", 7) ||
	    vc_make_file(v, "pub/rootfile", "root's\n", 7))
		return -1;
	return 0;
}

static int owner_child(struct vc *v, struct vc_child *c, void *arg)
{
	const struct timespec ts[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	int fd;

	if (vc_become_user(v))
		return -1;
	VC_SYS(v, fd = open("pub/mine", O_CREAT | O_EXCL | O_WRONLY, 0644));
	if (vc_write_all(v, fd, "mine\n", 5))
		return -1;
	VC_SYS(v, close(fd));
	VC_SYS(v, mkdir("pub/mydir", 0755));
	VC_SYS(v, symlink("mine", "pub/mylink"));
	VC_SYS(v, mknod("pub/myfifo", S_IFIFO | 0644, 0));
	if (expect_owner(v, "pub/mine", VC_USER_ID, VC_USER_ID) ||
	    expect_owner(v, "pub/mydir", VC_USER_ID, VC_USER_ID) ||
	    expect_owner(v, "pub/mylink", VC_USER_ID, VC_USER_ID) ||
	    expect_owner(v, "pub/myfifo", VC_USER_ID, VC_USER_ID))
		return -1;
	/* What an owner may do to its own file. */
	VC_SYS(v, chmod("pub/mine", 0600));
	VC_SYS(v, truncate("pub/mine", 2));
	VC_SYS(v, link("pub/mine", "pub/mine2"));
	VC_SYS(v, rename("pub/mine2", "pub/mydir/moved"));
	VC_SYS(v, utimensat(AT_FDCWD, "pub/mine", ts, 0));
	VC_SYS(v, setxattr("pub/mine", "user.mine", "1", 1, 0));
	return vc_expect_size(v, "pub/mydir/moved", 2);
}

/* A non-root user creates files, directories, links and FIFOs owned by itself, and may
 * chmod, truncate, link, rename, touch and tag them. */
static int check_creds_owner(struct vc *v)
{
	if (make_dirs(v) || vc_in_child(v, owner_child, NULL))
		return -1;
	vc_drop_caches();
	if (expect_owner(v, "pub/mine", VC_USER_ID, VC_USER_ID) ||
	    expect_owner(v, "pub/mydir/moved", VC_USER_ID, VC_USER_ID))
		return -1;
	return vc_expect_file(v, "pub/mine", "mi", 2);
}

static int denied_child(struct vc *v, struct vc_child *c, void *arg)
{
	const struct timespec ts[2] = { { 1000000000, 0 }, { 1000000000, 0 } };

	if (vc_become_user(v))
		return -1;
	VC_ERRNO(v, open("priv/new", O_CREAT | O_WRONLY, 0644), EACCES);
	VC_ERRNO(v, mkdir("priv/d", 0755), EACCES);
	VC_ERRNO(v, unlink("priv/rootfile"), EACCES);
	VC_ERRNO(v, open("priv/rootfile", O_WRONLY), EACCES);
	VC_ERRNO(v, truncate("priv/rootfile", 0), EACCES);
	VC_ERRNO(v, chmod("priv/rootfile", 0666), EPERM);
	VC_ERRNO(v, chown("priv/rootfile", VC_USER_ID, VC_USER_ID), EPERM);
	VC_ERRNO(v, utimensat(AT_FDCWD, "priv/rootfile", ts, 0), EPERM);
	VC_ERRNO(v, setxattr("priv/rootfile", "user.x", "1", 1, 0), EACCES);
	/* The sticky bit: another user's file in /tmp-like pub cannot be removed or moved. */
	VC_ERRNO(v, unlink("pub/rootfile"), EPERM);
	VC_ERRNO(v, rename("pub/rootfile", "pub/stolen"), EPERM);
	return 0;
}

/* The same user is refused in a root-owned 0755 directory and on root's files. */
static int check_creds_denied(struct vc *v)
{
	struct stat st;

	if (make_dirs(v) || vc_in_child(v, denied_child, NULL))
		return -1;
	VC_SYS(v, stat("priv/rootfile", &st));
	VC_REQUIRE(v, st.st_mode == (S_IFREG | 0644) && st.st_uid == 0,
		   "root's file changed to 0%o %u:%u", st.st_mode, st.st_uid, st.st_gid);
	VC_ERRNO(v, access("priv/new", F_OK), ENOENT);
	return vc_expect_file(v, "pub/rootfile", "root's\n", 7);
}

static int sgid_child(struct vc *v, struct vc_child *c, void *arg)
{
	struct stat st;

	if (vc_become_user(v))
		return -1;
	if (vc_make_file(v, "sgid/file", "x", 1))
		return -1;
	VC_SYS(v, mkdir("sgid/dir", 0755));
	if (expect_owner(v, "sgid/file", VC_USER_ID, SGID_GROUP) ||
	    expect_owner(v, "sgid/dir", VC_USER_ID, SGID_GROUP))
		return -1;
	VC_SYS(v, stat("sgid/dir", &st));
	VC_REQUIRE(v, st.st_mode & S_ISGID, "sgid/dir did not inherit S_ISGID (mode 0%o)",
		   st.st_mode);
	return 0;
}

/* In a setgid directory new entries take the directory's group, directories the bit too. */
static int check_creds_setgid_dir(struct vc *v)
{
	if (make_dirs(v) || vc_in_child(v, sgid_child, NULL))
		return -1;
	vc_drop_caches();
	return expect_owner(v, "sgid/file", VC_USER_ID, SGID_GROUP);
}

static int suid_child(struct vc *v, struct vc_child *c, void *arg)
{
	int fd;

	if (vc_become_user(v))
		return -1;
	VC_SYS(v, fd = open("pub/suid", O_WRONLY));
	if (vc_write_all(v, fd, "changed\n", 8))
		return -1;
	VC_SYS(v, close(fd));
	return 0;
}

/* A write by a user without CAP_FSETID clears setuid and setgid (group-executable). */
static int check_creds_suid_clear(struct vc *v)
{
	struct stat st;

	if (make_dirs(v) || vc_make_file(v, "pub/suid", "before!\n", 8))
		return -1;
	VC_SYS(v, chmod("pub/suid", 06777));
	if (vc_in_child(v, suid_child, NULL))
		return -1;
	vc_drop_caches();
	VC_SYS(v, stat("pub/suid", &st));
	VC_REQUIRE(v, (st.st_mode & (S_ISUID | S_ISGID)) == 0,
		   "mode 0%o after another user's write still has setuid/setgid", st.st_mode);
	return vc_expect_file(v, "pub/suid", "changed\n", 8);
}

const struct vc_check vc_creds_checks[] = {
	{ "creds_owner", check_creds_owner },
	{ "creds_denied", check_creds_denied },
	{ "creds_setgid_dir", check_creds_setgid_dir },
	{ "creds_suid_clear", check_creds_suid_clear },
	{ NULL, NULL },
};
