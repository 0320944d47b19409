/* uart8250.c: 16550A register model with an edge-signalled interrupt and a receive FIFO. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "uart8250.h"

/* Register offsets and bits, as in Linux's include/uapi/linux/serial_reg.h. */
enum { REG_RBR_THR = 0, REG_IER = 1, REG_IIR_FCR = 2, REG_LCR = 3,
       REG_MCR = 4, REG_LSR = 5, REG_MSR = 6, REG_SCR = 7 };
#define IER_RDI 0x01
#define IER_THRI 0x02
#define IER_MASK 0x0f
#define IIR_NO_INT 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_FIFO_ENABLED 0xc0
#define FCR_ENABLE_FIFO 0x01
#define FCR_CLEAR_RCVR 0x02
#define LCR_DLAB 0x80
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

int uart_init(struct uart8250 *uart, int out_fd, void (*raise_irq)(void *), void *irq_ctx)
{
	memset(uart, 0, sizeof(*uart));
	uart->out_fd = out_fd;
	uart->raise_irq = raise_irq;
	uart->irq_ctx = irq_ctx;
	uart->mcr = MCR_OUT2;
	uart->dll = 12; /* 9600 baud, what a BIOS leaves */
	return -pthread_mutex_init(&uart->lock, NULL);
}

void uart_destroy(struct uart8250 *uart)
{
	pthread_mutex_destroy(&uart->lock);
}

static bool uart_irq_pending(const struct uart8250 *uart)
{
	return ((uart->ier & IER_RDI) && uart->rx_count) ||
	       ((uart->ier & IER_THRI) && uart->thr_irq_pending);
}

/* The line is edge-triggered: signal only when a condition appears. */
static void uart_update_irq(struct uart8250 *uart, bool was_pending)
{
	if (!was_pending && uart_irq_pending(uart) && uart->raise_irq)
		uart->raise_irq(uart->irq_ctx);
}

static void uart_rx_push(struct uart8250 *uart, uint8_t byte)
{
	if (uart->rx_count == UART_RX_FIFO_SIZE)
		return; /* overrun: the byte is lost, as on hardware */
	uart->rx[(uart->rx_head + uart->rx_count) % UART_RX_FIFO_SIZE] = byte;
	uart->rx_count++;
}

static uint8_t uart_rx_pop(struct uart8250 *uart)
{
	uint8_t byte;

	if (!uart->rx_count)
		return 0;
	byte = uart->rx[uart->rx_head];
	uart->rx_head = (uart->rx_head + 1) % UART_RX_FIFO_SIZE;
	uart->rx_count--;
	return byte;
}

static void uart_transmit(struct uart8250 *uart, uint8_t byte)
{
	if (uart->mcr & MCR_LOOP) {
		uart_rx_push(uart, byte);
		return;
	}
	if (uart->tail)
		console_tail_put(uart->tail, (char)byte);
	if (uart->out_fd >= 0) {
		/* A full or closed console must not stop the guest: output is best effort. */
		while (write(uart->out_fd, &byte, 1) < 0 && errno == EINTR)
			;
	}
}

static uint8_t uart_read_iir(struct uart8250 *uart)
{
	uint8_t fifo = (uart->fcr & FCR_ENABLE_FIFO) ? IIR_FIFO_ENABLED : 0;

	if ((uart->ier & IER_RDI) && uart->rx_count)
		return fifo | IIR_RDI;
	if ((uart->ier & IER_THRI) && uart->thr_irq_pending) {
		uart->thr_irq_pending = false; /* reading IIR acknowledges THRE */
		return fifo | IIR_THRI;
	}
	return fifo | IIR_NO_INT;
}

/* In loopback mode the modem inputs mirror the modem control outputs. */
static uint8_t uart_read_msr(const struct uart8250 *uart)
{
	uint8_t msr = 0;

	if (!(uart->mcr & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	if (uart->mcr & MCR_RTS)
		msr |= MSR_CTS;
	if (uart->mcr & MCR_DTR)
		msr |= MSR_DSR;
	if (uart->mcr & MCR_OUT1)
		msr |= MSR_RI;
	if (uart->mcr & MCR_OUT2)
		msr |= MSR_DCD;
	return msr;
}

static uint8_t uart_read_reg(struct uart8250 *uart, uint64_t reg)
{
	bool dlab = uart->lcr & LCR_DLAB;

	switch (reg) {
	case REG_RBR_THR:
		return dlab ? uart->dll : uart_rx_pop(uart);
	case REG_IER:
		return dlab ? uart->dlm : uart->ier;
	case REG_IIR_FCR:
		return uart_read_iir(uart);
	case REG_LCR:
		return uart->lcr;
	case REG_MCR:
		return uart->mcr;
	case REG_LSR:
		return LSR_THRE | LSR_TEMT | (uart->rx_count ? LSR_DR : 0);
	case REG_MSR:
		return uart_read_msr(uart);
	default:
		return uart->scr;
	}
}

static void uart_write_ier(struct uart8250 *uart, uint8_t value)
{
	/* Enabling THRI with an empty transmitter raises the interrupt at once. */
	if (!(uart->ier & IER_THRI) && (value & IER_THRI))
		uart->thr_irq_pending = true;
	uart->ier = value & IER_MASK;
}

static void uart_write_reg(struct uart8250 *uart, uint64_t reg, uint8_t value)
{
	bool dlab = uart->lcr & LCR_DLAB;

	switch (reg) {
	case REG_RBR_THR:
		if (dlab) {
			uart->dll = value;
			return;
		}
		uart_transmit(uart, value);
		uart->thr_irq_pending = true; /* sent at once: empty again */
		return;
	case REG_IER:
		if (dlab)
			uart->dlm = value;
		else
			uart_write_ier(uart, value);
		return;
	case REG_IIR_FCR:
		if (value & FCR_CLEAR_RCVR)
			uart->rx_count = 0;
		uart->fcr = value;
		return;
	case REG_LCR:
		uart->lcr = value;
		return;
	case REG_MCR:
		uart->mcr = value & 0x1f;
		return;
	case REG_SCR:
		uart->scr = value;
		return;
	default:
		return; /* LSR and MSR are read-only */
	}
}

void uart_bus_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct uart8250 *uart = opaque;
	bool was;

	if (len != 1 || offset >= UART_REGISTER_SPAN)
		return; /* the bus already filled all ones */
	pthread_mutex_lock(&uart->lock);
	was = uart_irq_pending(uart);
	data[0] = uart_read_reg(uart, offset);
	uart_update_irq(uart, was);
	pthread_mutex_unlock(&uart->lock);
}

void uart_bus_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct uart8250 *uart = opaque;
	bool was;

	if (len != 1 || offset >= UART_REGISTER_SPAN)
		return;
	pthread_mutex_lock(&uart->lock);
	/*
	 * Bytes leave at once, so after a THR write the transmitter is empty again. An
	 * unacknowledged THRE stays one interrupt: a burst of writes in the guest's
	 * handler makes one edge, like a 16550A's FIFO, not one per byte.
	 */
	was = uart_irq_pending(uart);
	uart_write_reg(uart, offset, data[0]);
	uart_update_irq(uart, was);
	pthread_mutex_unlock(&uart->lock);
}

unsigned uart_receive(struct uart8250 *uart, const uint8_t *buf, unsigned len)
{
	unsigned n = 0;
	bool was;

	pthread_mutex_lock(&uart->lock);
	was = uart_irq_pending(uart);
	while (n < len && uart->rx_count < UART_RX_FIFO_SIZE)
		uart_rx_push(uart, buf[n++]);
	uart_update_irq(uart, was);
	pthread_mutex_unlock(&uart->lock);
	return n;
}

unsigned uart_rx_space(struct uart8250 *uart)
{
	unsigned space;

	pthread_mutex_lock(&uart->lock);
	space = UART_RX_FIFO_SIZE - uart->rx_count;
	pthread_mutex_unlock(&uart->lock);
	return space;
}
