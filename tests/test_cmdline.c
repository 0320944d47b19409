/* test_cmdline.c: virtio_mmio.device= entries go among the kernel's parameters, never to init. */
#include <check.h>
#include "check_run.h"
#include <stdlib.h>
#include <string.h>
#include "../vmm/shares.h"

static void two_devices(struct shares *s)
{
	memset(s, 0, sizeof(*s));
	s->n = 2;
	s->acpi[0] = (struct acpi_mmio_device){ .base = 0xd0000000, .size = 0x1000, .gsi = 16 };
	s->acpi[1] = (struct acpi_mmio_device){ .base = 0xd0001000, .size = 0x1000, .gsi = 17 };
}

static void expect_cmdline(const char *in, const char *want)
{
	struct shares s;
	char *out;

	two_devices(&s);
	out = shares_kernel_cmdline(s.acpi, s.n, in);
	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(out, want);
	free(out);
}

#define DEVS "virtio_mmio.device=4K@0xd0000000:16 virtio_mmio.device=4K@0xd0001000:17"

START_TEST(entries_are_appended_without_init_arguments)
{
	expect_cmdline("console=ttyS0 quiet", "console=ttyS0 quiet " DEVS);
	expect_cmdline("", DEVS);
}
END_TEST

START_TEST(entries_go_before_the_init_separator)
{
	expect_cmdline("console=ttyS0 -- ls -la", "console=ttyS0 " DEVS " -- ls -la");
	expect_cmdline("-- sh", DEVS " -- sh");
	expect_cmdline("quiet --", "quiet " DEVS " --");
	/* Only a whole "--" word separates. */
	expect_cmdline("a--b x=--", "a--b x=-- " DEVS);
	expect_cmdline("q -- a -- b", "q " DEVS " -- a -- b");
}
END_TEST

START_TEST(no_shares_leave_the_command_line_alone)
{
	struct shares s;
	char *out;

	memset(&s, 0, sizeof(s));
	out = shares_kernel_cmdline(s.acpi, s.n, "console=ttyS0 -- ls");
	ck_assert_str_eq(out, "console=ttyS0 -- ls");
	free(out);
}
END_TEST

int main(void)
{
	Suite *suite = suite_create("cmdline");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, entries_are_appended_without_init_arguments);
	tcase_add_test(tc, entries_go_before_the_init_separator);
	tcase_add_test(tc, no_shares_leave_the_command_line_alone);
	suite_add_tcase(suite, tc);
	return check_run(suite);
}
