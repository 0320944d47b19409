/* vfs_check.h: shared declarations of vfs_check, the file system checker run inside the guest. */
#ifndef VFS_CHECK_H
#define VFS_CHECK_H

/* Every file includes this header first: glibc reads _GNU_SOURCE at its first header. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#define VC_WHY_MAX 768
#define VC_PATH_MAX 4096

/* The unprivileged identity of the credential checks (see vc_meta.c). */
#define VC_USER_ID 1000
/* Text that the host's own files hold and the guest must never read through the share. */
#define VC_HOST_SECRET "MICROVM-HOST-SECRET"

/* What one check sees: where it runs and, when it fails, why. */
struct vc {
	char root[VC_PATH_MAX];	/* the mount point the checked directory lies under */
	char why[VC_WHY_MAX];	/* the failure detail of the running check */
};

typedef int (*vc_check_fn)(struct vc *v);

/* A named check; tables end with { NULL, NULL }. */
struct vc_check {
	const char *name;
	vc_check_fn fn;
};

/* The check tables, one per family (each check runs in the checked directory). */
extern const struct vc_check vc_data_checks[];
extern const struct vc_check vc_names_checks[];
extern const struct vc_check vc_meta_checks[];
extern const struct vc_check vc_lock_checks[];
extern const struct vc_check vc_escape_checks[];
extern const struct vc_check vc_creds_checks[];
extern const struct vc_check vc_readonly_checks[];

/* Record why the running check fails; always returns -1. */
int vc_fail(struct vc *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The errno name ("ENOENT"), or its number when glibc has no name for it. */
const char *vc_errname(int err);
/* Record that CALL gave RET/ERR where it should have failed with WANT; returns -1. */
int vc_fail_errno(struct vc *v, const char *call, long ret, int err, int want);
/* Print an informational line (not a check result): "VFSINFO ...". */
void vc_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Fail the running check unless COND holds. */
#define VC_REQUIRE(v, cond, ...)                              \
	do {                                                  \
		if (!(cond))                                  \
			return vc_fail((v), __VA_ARGS__);     \
	} while (0)

/* A system call that must succeed (it returns -1 and sets errno when it fails). */
#define VC_SYS(v, call)                                                                  \
	do {                                                                             \
		if ((call) == -1)                                                        \
			return vc_fail((v), "%s: %s", #call, vc_errname(errno));         \
	} while (0)

/* A system call that must fail with errno WANT. */
#define VC_ERRNO(v, call, want)                                                          \
	do {                                                                             \
		errno = 0;                                                               \
		long vc_ret_ = (long)(call);                                             \
		if (vc_ret_ != -1 || errno != (want))                                    \
			return vc_fail_errno((v), #call, vc_ret_, errno, (want));        \
	} while (0)

/* File helpers (vc_util.c); each records why it failed and returns -1, else 0. */
int vc_write_all(struct vc *v, int fd, const void *buf, size_t len);
int vc_pwrite_all(struct vc *v, int fd, const void *buf, size_t len, off_t off);
int vc_make_file(struct vc *v, const char *path, const void *buf, size_t len);
int vc_expect_fd(struct vc *v, int fd, off_t off, const void *want, size_t len);
int vc_expect_file(struct vc *v, const char *path, const void *want, size_t len);
int vc_expect_size(struct vc *v, const char *path, off_t size);
int vc_expect_zeros(struct vc *v, int fd, off_t off, size_t len);
/* Drop the guest's clean page, dentry and inode caches so the next access asks the host. */
void vc_drop_caches(void);
/* Milliseconds on the monotonic clock. */
long vc_now_ms(void);

/* The deterministic byte pattern of a file, derived from its base name (vc_pattern.c). */
uint32_t vc_seed(const char *path);
void vc_pattern(void *buf, size_t len, uint64_t off, uint32_t seed);
/* Offset of the first byte of BUF (file offset OFF) that breaks the pattern, or -1. */
long vc_pattern_mismatch(const void *buf, size_t len, uint64_t off, uint32_t seed);
uint64_t vc_fnv1a(uint64_t h, const void *buf, size_t len);
#define VC_FNV_INIT 0xcbf29ce484222325ULL
int vc_write_pattern_file(struct vc *v, const char *path, size_t size, size_t chunk);
int vc_verify_pattern_file(struct vc *v, const char *path, size_t size, size_t chunk);

/* A check's helper process: FN runs in a child; its failure detail comes back by pipe. */
struct vc_child {
	pid_t pid;
	int why_fd;	/* read end: the child's failure detail */
	int to_child;	/* write end: the parent's "go on" byte (vc_child_go) */
	int from_child; /* read end: the child's "ready" byte (vc_child_ready) */
	int go_fd, ready_fd; /* the child's ends */
};
int vc_child_start(struct vc *v, struct vc_child *c, int (*fn)(struct vc *, struct vc_child *, void *),
		   void *arg);
/* Parent: wait until the child reached its next step; -1 (the child reaped, v->why set)
 * when it ended instead. */
int vc_child_wait_ready(struct vc *v, struct vc_child *c);
/* Parent: let the child go on. */
void vc_child_go(struct vc_child *c);
/* Child: tell the parent the first step is done, then wait for its go. */
void vc_child_step(struct vc_child *c);
/* Parent: reap the child; -1 with its failure detail in v->why when it failed. */
int vc_child_finish(struct vc *v, struct vc_child *c);
/* Parent: the check failed already (v->why says why): stop the child and reap it; the
 * reason keeps what the child said, if anything; returns -1. */
int vc_child_abandon(struct vc *v, struct vc_child *c);
/* Run FN in a child and wait for it. */
int vc_in_child(struct vc *v, int (*fn)(struct vc *, struct vc_child *, void *), void *arg);
/* Child: become VC_USER_ID:VC_USER_ID with no supplementary groups. */
int vc_become_user(struct vc *v);

#endif
