/* uart8250.h: a 16550A-compatible UART: enough for Linux's 8250 driver and its console. */
#ifndef MICROVM_UART8250_H
#define MICROVM_UART8250_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "console_tail.h"

#define UART_RX_FIFO_SIZE 64U
#define UART_REGISTER_SPAN 8U

struct uart8250 {
	pthread_mutex_t lock; /* vCPU threads (registers) and the console input (uart_receive) */
	int out_fd;           /* transmitted bytes go here; -1 discards them */
	struct console_tail *tail; /* NULL, or also keeps the last bytes (set before vCPUs run) */
	void (*raise_irq)(void *ctx); /* one edge on the interrupt line */
	void *irq_ctx;
	/* protected by lock: */
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thr_irq_pending; /* "transmitter empty" interrupt not yet acknowledged */
	uint8_t rx[UART_RX_FIFO_SIZE];
	unsigned rx_head, rx_count;
};

int uart_init(struct uart8250 *uart, int out_fd, void (*raise_irq)(void *), void *irq_ctx);
void uart_destroy(struct uart8250 *uart);
/* Bus callbacks; offset 0..7. */
void uart_bus_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len);
void uart_bus_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len);
/* Queue host input for the guest; returns how many bytes fit in the receive FIFO. */
unsigned uart_receive(struct uart8250 *uart, const uint8_t *buf, unsigned len);
unsigned uart_rx_space(struct uart8250 *uart);

#endif
