/* mg_regs.c: the hostile driver's register access: exact widths, any alignment, status stages. */
#include "mmio_garbage.h"

void mg_msleep(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- register access: exact widths, any alignment ---- */

static volatile uint8_t *reg_ptr(struct mg *m, unsigned w, unsigned off)
{
	return m->win + (size_t)w * MG_WIN + off;
}

uint64_t mg_read(struct mg *m, unsigned w, unsigned off, unsigned width)
{
	volatile uint8_t *p = reg_ptr(m, w, off);

	m->accesses++;
	switch (width) {
	case 1:
		return *p;
	case 2:
		return *(volatile u16u *)p;
	case 8:
		return *(volatile u64u *)p;
	default:
		return *(volatile u32u *)p;
	}
}

void mg_write(struct mg *m, unsigned w, unsigned off, unsigned width, uint64_t v)
{
	volatile uint8_t *p = reg_ptr(m, w, off);

	m->accesses++;
	switch (width) {
	case 1:
		*p = (uint8_t)v;
		break;
	case 2:
		*(volatile u16u *)p = (uint16_t)v;
		break;
	case 8:
		*(volatile u64u *)p = v;
		break;
	default:
		*(volatile u32u *)p = (uint32_t)v;
		break;
	}
}

uint32_t mg_rd32(struct mg *m, unsigned w, unsigned off)
{
	return (uint32_t)mg_read(m, w, off, 4);
}

void mg_wr32(struct mg *m, unsigned w, unsigned off, uint32_t v)
{
	mg_write(m, w, off, 4, v);
}

void mg_wr64(struct mg *m, unsigned w, unsigned lo, uint64_t v)
{
	if (mg_chance(50)) {
		mg_wr32(m, w, lo, (uint32_t)v);
		mg_wr32(m, w, lo + 4, (uint32_t)(v >> 32));
	} else {
		mg_wr32(m, w, lo + 4, (uint32_t)(v >> 32));
		mg_wr32(m, w, lo, (uint32_t)v);
	}
}

void mg_reset_all(struct mg *m)
{
	unsigned w;

	for (w = 0; w < MG_NWIN; w++)
		mg_wr32(m, w, VIRTIO_MMIO_STATUS, 0);
}

uint64_t mg_device_features(struct mg *m, unsigned w)
{
	uint64_t f;

	mg_wr32(m, w, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	f = mg_rd32(m, w, VIRTIO_MMIO_DEVICE_FEATURES);
	mg_wr32(m, w, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	return f | (uint64_t)mg_rd32(m, w, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
}

void mg_driver_features(struct mg *m, unsigned w, uint64_t f)
{
	mg_wr32(m, w, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	mg_wr32(m, w, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	mg_wr32(m, w, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	mg_wr32(m, w, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
}

/* Status 0 (reset), ACKNOWLEDGE|DRIVER, or FEATURES_OK: queue set-up is taken only there. */
void mg_drive_to(struct mg *m, unsigned w, unsigned stage)
{
	mg_wr32(m, w, VIRTIO_MMIO_STATUS, 0);
	if (stage == 0)
		return;
	mg_wr32(m, w, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	mg_wr32(m, w, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	if (stage == 1)
		return;
	mg_driver_features(m, w, mg_device_features(m, w));
	mg_wr32(m, w, VIRTIO_MMIO_STATUS,
		VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
}
