/* test_devices.c: the 8250 UART register model, the i8042 reset and the ACPI power registers. */
#include <check.h>
#include "check_run.h"
#include <stdlib.h>
#include <unistd.h>
#include "../devices/acpi_pm/acpi_pm.h"
#include "../devices/i8042/i8042.h"
#include "../devices/serial/uart8250.h"
#include "../vmm/layout.h"

static unsigned irq_count;
static unsigned poweroffs, resets;

static void count_irq(void *ctx)
{
	(void)ctx;
	irq_count++;
}

static void count_poweroff(void *ctx)
{
	(void)ctx;
	poweroffs++;
}

static void count_reset(void *ctx)
{
	(void)ctx;
	resets++;
}

static uint8_t rd(struct uart8250 *u, unsigned reg)
{
	uint8_t v = 0xff;

	uart_bus_read(u, reg, &v, 1);
	return v;
}

static void wr(struct uart8250 *u, unsigned reg, uint8_t v)
{
	uart_bus_write(u, reg, &v, 1);
}

START_TEST(transmitted_bytes_reach_the_output)
{
	struct uart8250 u;
	int p[2];
	char buf[8] = { 0 };

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(uart_init(&u, p[1], count_irq, NULL), 0);
	wr(&u, 0, 'h');
	wr(&u, 0, 'i');
	ck_assert_int_eq(read(p[0], buf, sizeof(buf)), 2);
	ck_assert_str_eq(buf, "hi");
	ck_assert_uint_eq(rd(&u, 5) & 0x60, 0x60); /* THRE | TEMT */
	uart_destroy(&u);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(loopback_passes_the_linux_probe)
{
	struct uart8250 u;

	ck_assert_int_eq(uart_init(&u, -1, count_irq, NULL), 0);
	/* serial8250 autoconfig: MCR = LOOP | RTS | OUT2 must read MSR & 0xf0 == 0x90. */
	wr(&u, 4, 0x10 | 0x0a);
	ck_assert_uint_eq(rd(&u, 6) & 0xf0, 0x90);
	wr(&u, 0, 'x');
	ck_assert_uint_eq(rd(&u, 5) & 1, 1);
	ck_assert_uint_eq(rd(&u, 0), 'x');
	ck_assert_uint_eq(rd(&u, 5) & 1, 0);
	wr(&u, 4, 0x0b);
	ck_assert_uint_eq(rd(&u, 6), 0xb0);
	/* Scratch register and divisor latch hold their values. */
	wr(&u, 7, 0xa5);
	ck_assert_uint_eq(rd(&u, 7), 0xa5);
	wr(&u, 3, 0x80);
	wr(&u, 0, 0x01);
	wr(&u, 1, 0x02);
	ck_assert_uint_eq(rd(&u, 0), 0x01);
	ck_assert_uint_eq(rd(&u, 1), 0x02);
	wr(&u, 3, 0x03);
	ck_assert_uint_eq(rd(&u, 3), 0x03);
	/* A 16550A reports its FIFO in IIR bits 6-7 once enabled. */
	wr(&u, 2, 0x07);
	ck_assert_uint_eq(rd(&u, 2) & 0xc0, 0xc0);
	uart_destroy(&u);
}
END_TEST

START_TEST(thre_interrupt_is_one_edge_per_burst)
{
	struct uart8250 u;

	irq_count = 0;
	ck_assert_int_eq(uart_init(&u, -1, count_irq, NULL), 0);
	wr(&u, 1, 0x02); /* enable THRI: the empty transmitter interrupts at once */
	ck_assert_uint_eq(irq_count, 1);
	ck_assert_uint_eq(rd(&u, 2) & 0x0f, 0x02);
	ck_assert_uint_eq(rd(&u, 2) & 0x0f, 0x01); /* acknowledged by the read */
	wr(&u, 0, 'a');
	wr(&u, 0, 'b');
	wr(&u, 0, 'c');
	ck_assert_uint_eq(irq_count, 2);
	ck_assert_uint_eq(rd(&u, 2) & 0x0f, 0x02);
	uart_destroy(&u);
}
END_TEST

START_TEST(received_bytes_interrupt_and_fill_the_fifo)
{
	struct uart8250 u;
	uint8_t big[UART_RX_FIFO_SIZE + 10];
	unsigned i;

	irq_count = 0;
	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)i;
	ck_assert_int_eq(uart_init(&u, -1, count_irq, NULL), 0);
	ck_assert_uint_eq(uart_receive(&u, big, 3), 3);
	ck_assert_uint_eq(irq_count, 0); /* RDI not enabled yet */
	wr(&u, 1, 0x01);
	ck_assert_uint_eq(irq_count, 1);
	ck_assert_uint_eq(rd(&u, 2) & 0x0f, 0x04);
	ck_assert_uint_eq(rd(&u, 0), 0);
	ck_assert_uint_eq(rd(&u, 0), 1);
	ck_assert_uint_eq(rd(&u, 0), 2);
	ck_assert_uint_eq(rd(&u, 2) & 0x0f, 0x01);
	ck_assert_uint_eq(uart_receive(&u, big, sizeof(big)), UART_RX_FIFO_SIZE);
	ck_assert_uint_eq(irq_count, 2);
	ck_assert_uint_eq(uart_rx_space(&u), 0);
	wr(&u, 2, 0x03); /* FCR: clear the receiver */
	ck_assert_uint_eq(uart_rx_space(&u), UART_RX_FIFO_SIZE);
	uart_destroy(&u);
}
END_TEST

START_TEST(bad_access_sizes_are_ignored)
{
	struct uart8250 u;
	uint8_t data[4] = { 0xff, 0xff, 0xff, 0xff };

	ck_assert_int_eq(uart_init(&u, -1, count_irq, NULL), 0);
	uart_bus_write(&u, 7, data, 4);
	uart_bus_read(&u, 7, data, 4);
	ck_assert_uint_eq(data[0], 0xff);
	ck_assert_uint_eq(rd(&u, 7), 0);
	uart_destroy(&u);
}
END_TEST

START_TEST(i8042_resets_only_on_command_fe)
{
	struct i8042 kbc;
	uint8_t v;

	resets = 0;
	i8042_init(&kbc, count_reset, NULL);
	v = 0xff;
	i8042_bus_read(&kbc, 4, &v, 1);
	ck_assert_uint_eq(v & 0x02, 0); /* input buffer empty: the guest may write */
	v = 0xfe;
	i8042_bus_write(&kbc, 0, &v, 1); /* data port: not a command */
	ck_assert_uint_eq(resets, 0);
	v = 0xad;
	i8042_bus_write(&kbc, 4, &v, 1);
	ck_assert_uint_eq(resets, 0);
	v = 0xfe;
	i8042_bus_write(&kbc, 4, &v, 1);
	ck_assert_uint_eq(resets, 1);
}
END_TEST

START_TEST(acpi_sleep_and_reset_registers)
{
	struct acpi_pm pm;
	uint8_t v;
	unsigned reset_off = LAYOUT_ACPI_RESET_PORT - LAYOUT_ACPI_SLEEP_CTL_PORT;

	poweroffs = resets = 0;
	acpi_pm_init(&pm, count_poweroff, count_reset, NULL);
	v = (uint8_t)(LAYOUT_ACPI_SLP_TYP_S5 << 2); /* SLP_EN missing */
	acpi_pm_bus_write(&pm, 0, &v, 1);
	v = (uint8_t)((3 << 2) | 0x20); /* S3 is not power-off */
	acpi_pm_bus_write(&pm, 0, &v, 1);
	ck_assert_uint_eq(poweroffs, 0);
	v = (uint8_t)((LAYOUT_ACPI_SLP_TYP_S5 << 2) | 0x20);
	acpi_pm_bus_write(&pm, 0, &v, 1);
	ck_assert_uint_eq(poweroffs, 1);
	v = 0;
	acpi_pm_bus_write(&pm, reset_off, &v, 1);
	ck_assert_uint_eq(resets, 0);
	v = LAYOUT_ACPI_RESET_VALUE;
	acpi_pm_bus_write(&pm, reset_off, &v, 1);
	ck_assert_uint_eq(resets, 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("devices");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, transmitted_bytes_reach_the_output);
	tcase_add_test(tc, loopback_passes_the_linux_probe);
	tcase_add_test(tc, thre_interrupt_is_one_edge_per_burst);
	tcase_add_test(tc, received_bytes_interrupt_and_fill_the_fifo);
	tcase_add_test(tc, bad_access_sizes_are_ignored);
	tcase_add_test(tc, i8042_resets_only_on_command_fe);
	tcase_add_test(tc, acpi_sleep_and_reset_registers);
	suite_add_tcase(s, tc);
	return check_run(s);
}
