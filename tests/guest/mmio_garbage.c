/*
 * mmio_garbage.c: a hostile virtio-mmio driver for tests/e2e/cases_hostile.sh. Static, no
 * libmicrovm. Runs as root in a test guest without the virtio_mmio driver, so the windows
 * are unclaimed and /dev/mem may map them (IO_STRICT_DEVMEM refuses claimed ones).
 *
 *   mmio_garbage [--seed N] [--sweeps N] [--iters N] [--exit-timing N]
 *
 * Phases: every 32-bit register of every window gets pseudo-random values in three orders
 * (sweep); plausible set-ups with rings and descriptor chains that loop, overlap, nest
 * indirect tables, point outside RAM, into the MMIO hole or the DAX window, and FUSE
 * requests whose lengths lie (plausible); 1-, 2- and 8-byte and unaligned accesses,
 * also across window ends (widths). Then every device must still identify itself and
 * answer a correct FUSE_INIT and GETATTR. Lines start "MMIOGARBAGE"; exit 0 when all
 * devices are sane and alive, 1 otherwise, 2 when the set-up failed.
 *
 * The device may rightly write wherever a used ring or a writable descriptor points, so
 * nothing here ever points it at guest RAM this program does not own: rings and buffers
 * live in one physically contiguous 2 MiB region (a huge page) with separate areas, and
 * everything else is placed so that no length makes it fit in RAM. Descriptor memory is
 * only rewritten while every device is reset. A device that wrote anywhere else would
 * corrupt this guest, and the test would see a crash instead of "done".
 */
#include "mmio_garbage.h"

/* ---- set-up: RAM top, windows, the region ---- */

static int read_ram_top(struct mg *m)
{
	unsigned long long a, b;
	char line[256];
	FILE *f = fopen("/proc/iomem", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (line[0] != ' ' && strstr(line, "System RAM") &&
		    sscanf(line, "%llx-%llx", &a, &b) == 2 && b + 1 > m->ram_top)
			m->ram_top = b + 1;
	fclose(f);
	return m->ram_top ? 0 : -1;
}

static void probe_window(struct mg *m, unsigned w)
{
	struct mg_dev *d = &m->dev[w];
	unsigned q, i;

	d->present = mg_rd32(m, w, VIRTIO_MMIO_MAGIC_VALUE) == MG_MAGIC;
	if (!d->present)
		return;
	mg_wr32(m, w, VIRTIO_MMIO_STATUS, 0);
	d->device_id = mg_rd32(m, w, VIRTIO_MMIO_DEVICE_ID);
	d->vendor = mg_rd32(m, w, VIRTIO_MMIO_VENDOR_ID);
	for (q = 0; q < MG_MAXQ; q++) {
		mg_wr32(m, w, VIRTIO_MMIO_QUEUE_SEL, q);
		if (mg_rd32(m, w, VIRTIO_MMIO_QUEUE_NUM_MAX) == 0)
			break;
		if (q == 0)
			d->qmax = mg_rd32(m, w, VIRTIO_MMIO_QUEUE_NUM_MAX);
	}
	d->nqueues = q;
	mg_wr32(m, w, VIRTIO_MMIO_SHM_SEL, 0);
	d->shm_len = mg_rd32(m, w, VIRTIO_MMIO_SHM_LEN_LOW) |
		     (uint64_t)mg_rd32(m, w, VIRTIO_MMIO_SHM_LEN_HIGH) << 32;
	d->shm_base = mg_rd32(m, w, VIRTIO_MMIO_SHM_BASE_LOW) |
		      (uint64_t)mg_rd32(m, w, VIRTIO_MMIO_SHM_BASE_HIGH) << 32;
	if (d->shm_len == ~0ULL || d->shm_len < 2 * MG_BUF_MAX)
		d->shm_len = d->shm_base = 0;
	for (i = 0; i < sizeof(d->config); i++)
		d->config[i] = (uint8_t)mg_read(m, w, VIRTIO_MMIO_CONFIG + i, 1);
	printf("MMIOGARBAGE window %u device=%u vendor=0x%x queues=%u qmax=%u shm=0x%llx+0x%llx "
	       "tag=%.36s\n", w, d->device_id, d->vendor, d->nqueues, d->qmax,
	       (unsigned long long)d->shm_base, (unsigned long long)d->shm_len, (char *)d->config);
}

static int virt_to_phys(const void *p, uint64_t *phys)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread(fd, &e, sizeof(e), (off_t)((uintptr_t)p / 4096 * sizeof(e)));
	close(fd);
	/* Bit 63: present; bits 0-54: the frame, which only CAP_SYS_ADMIN gets to see. */
	if (n != sizeof(e) || !(e >> 63) || !(e & ((1ULL << 55) - 1)))
		return -1;
	*phys = (e & ((1ULL << 55) - 1)) * 4096 + ((uintptr_t)p & 4095);
	return 0;
}

static bool region_contiguous(struct mg *m)
{
	uint64_t ph;
	unsigned off;

	if (virt_to_phys(m->reg, &m->phys))
		return false;
	for (off = 4096; off < MG_REGION; off += 4096)
		if (virt_to_phys(m->reg + off, &ph) || ph != m->phys + off)
			return false;
	return m->phys + MG_REGION <= m->ram_top;
}

/* A huge page from the pool, else a transparent one; either is physically contiguous. */
static int region_alloc(struct mg *m)
{
	int fd = open("/proc/sys/vm/nr_hugepages", O_WRONLY);
	uint8_t *p;

	if (fd >= 0) {
		if (write(fd, "4", 1) != 1)
			perror("MMIOGARBAGE nr_hugepages");
		close(fd);
	}
	p = mmap(NULL, MG_REGION, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED) {
		p = mmap(NULL, 2 * MG_REGION, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -1;
		p = (uint8_t *)(((uintptr_t)p + MG_REGION - 1) & ~(uintptr_t)(MG_REGION - 1));
		madvise(p, MG_REGION, MADV_HUGEPAGE);
	}
	m->reg = p;
	memset(p, 0, MG_REGION);
	if (mlock(p, MG_REGION))
		perror("MMIOGARBAGE mlock");
	return region_contiguous(m) ? 0 : -1;
}

/* ---- phase 1: every register, random values, three orders ---- */

/* A register value that keeps every ring out of RAM we do not own. */
static uint32_t sanitize(struct mg *m, unsigned off, uint32_t v)
{
	switch (off) {
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		return (uint32_t)mg_ring_addr(m, R_DESC, false);
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
		return (uint32_t)mg_ring_addr(m, R_AVAIL, false);
	case VIRTIO_MMIO_QUEUE_USED_LOW:
		return (uint32_t)mg_ring_addr(m, R_USED, false);
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		return mg_chance(75) ? 0 : v; /* not 0: above 4 GiB, where this guest has no RAM */
	case VIRTIO_MMIO_QUEUE_NUM: /* the areas hold rings of up to MG_QMAX entries */
		return v > MG_QMAX && !(v & (v - 1)) ? MG_QMAX + 1 : v;
	default:
		return v;
	}
}

static void sweep_window(struct mg *m, unsigned w, unsigned order)
{
	uint16_t offs[MG_WIN / 4];
	unsigned i, j, n = MG_WIN / 4;

	for (i = 0; i < n; i++)
		offs[i] = (uint16_t)(4 * (order == 1 ? n - 1 - i : i));
	for (i = n - 1; order == 2 && i > 0; i--) {
		uint16_t t = offs[i];

		j = mg_below(i + 1);
		offs[i] = offs[j];
		offs[j] = t;
	}
	for (i = 0; i < n; i++) {
		mg_wr32(m, w, offs[i], sanitize(m, offs[i], mg_value()));
		if (mg_chance(25))
			(void)mg_rd32(m, w, offs[mg_below(n)]);
	}
}

static void phase_sweep(struct mg *m, unsigned sweeps)
{
	unsigned s, w;

	for (s = 0; s < sweeps; s++) {
		for (w = 0; w < MG_NWIN; w++) {
			if (!m->dev[w].present && s > 0)
				continue; /* empty windows: one sweep is enough */
			if (m->dev[w].present)
				mg_drive_to(m, w, mg_below(3));
			sweep_window(m, w, s % 3);
		}
		mg_msleep(20); /* a device the garbage activated looks at its rings meanwhile */
	}
	mg_reset_all(m);
	printf("MMIOGARBAGE phase sweep done accesses=%lu\n", m->accesses);
}

/* ---- phase 2: plausible set-ups, garbage rings and chains ---- */

/* valid: features the device accepts; else also none, VERSION_1 missing, or random. */
static void negotiate(struct mg *m, unsigned w, bool valid)
{
	const uint32_t s3 = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			    VIRTIO_CONFIG_S_FEATURES_OK;
	uint64_t f = mg_device_features(m, w);

	mg_wr32(m, w, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	mg_wr32(m, w, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	switch (valid ? 2 : mg_below(6)) {
	case 0:
		f = mg_rnd(); /* mostly bits never offered */
		break;
	case 1:
		f &= ~(1ULL << VIRTIO_F_VERSION_1);
		break;
	default:
		f = (f & mg_rnd()) | 1ULL << VIRTIO_F_VERSION_1;
		break;
	}
	mg_driver_features(m, w, f);
	if (!valid && mg_chance(20)) {
		mg_wr32(m, w, VIRTIO_MMIO_DRIVER_FEATURES_SEL, mg_value());
		mg_wr32(m, w, VIRTIO_MMIO_DRIVER_FEATURES, mg_value());
	}
	mg_wr32(m, w, VIRTIO_MMIO_STATUS, valid || mg_chance(80) ? s3 : mg_value() & 0xff);
	if (!(mg_rd32(m, w, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK))
		m->refused_features++;
}

static volatile uint16_t *avail_ptr(struct mg *m, const struct mg_queue *q)
{
	return (volatile uint16_t *)mg_host(m, q->ring[R_AVAIL]);
}

static uint16_t used_idx(struct mg *m, const struct mg_queue *q)
{
	return *(volatile u16u *)((uint8_t *)mg_host(m, q->ring[R_USED]) + 2);
}

static void setup_rings(struct mg *m, struct mg_queue *q, bool valid)
{
	unsigned r;

	for (r = 0; r < 3; r++)
		q->ring[r] = mg_ring_addr(m, r, valid);
	if (!valid && mg_chance(10)) /* avail over the descriptors */
		q->ring[R_AVAIL] = q->ring[R_DESC];
	if (mg_chance(10) && mg_in_area(m, q->ring[R_AVAIL], A_AVAIL, A_USED)) /* used over avail */
		q->ring[R_USED] = q->ring[R_AVAIL] & ~3ULL;
}

/*
 * valid: an existing queue, a size the device takes, rings inside the region and
 * aligned (what they hold is garbage all the same); else anything goes.
 */
static void setup_queue(struct mg *m, unsigned w, struct mg_queue *q, bool valid)
{
	static const unsigned lo[] = { VIRTIO_MMIO_QUEUE_DESC_LOW, VIRTIO_MMIO_QUEUE_AVAIL_LOW,
				       VIRTIO_MMIO_QUEUE_USED_LOW };
	unsigned r, first = mg_below(3);

	q->valid = valid;
	q->sel = valid || mg_chance(85) ? mg_below(m->dev[w].nqueues) : mg_value();
	mg_wr32(m, w, VIRTIO_MMIO_QUEUE_SEL, q->sel);
	(void)mg_rd32(m, w, VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (valid) /* room for the 8 heads publish() makes available at most */
		q->size = 8U << mg_below(8);
	else
		q->size = mg_chance(80) ? 1U << mg_below(11)
					: sanitize(m, VIRTIO_MMIO_QUEUE_NUM, mg_value());
	mg_wr32(m, w, VIRTIO_MMIO_QUEUE_NUM, q->size);
	setup_rings(m, q, valid);
	for (r = 0; r < 3; r++)
		mg_wr64(m, w, lo[(first + r) % 3], q->ring[(first + r) % 3]);
	mg_plant_chains(m, q);
	q->publish = mg_in_area(m, q->ring[R_AVAIL], A_AVAIL, A_USED - MG_AVAIL_MAX) &&
		     mg_in_area(m, q->ring[R_USED], A_AVAIL, A_DATA - MG_USED_MAX) &&
		     q->size && q->size <= MG_QMAX && !(q->size & (q->size - 1));
	if (q->publish && (valid || mg_chance(85))) /* else idx starts wherever it is */
		avail_ptr(m, q)[1] = 0;
	mg_wr32(m, w, VIRTIO_MMIO_QUEUE_READY, valid || mg_chance(90) ? 1 : mg_value());
	q->ready = mg_rd32(m, w, VIRTIO_MMIO_QUEUE_READY) == 1;
	q->publish &= q->ready;
	if (q->publish)
		q->used_seen = used_idx(m, q);
}

/* Make 1-8 heads available (now and then an index jump or a step back), and notify. */
static void publish(struct mg *m, unsigned w, struct mg_queue *q)
{
	volatile uint16_t *av = avail_ptr(m, q);
	uint16_t idx = av[1];
	unsigned i, n = 1 + mg_below(8), room = q->size - (uint16_t)(idx - used_idx(m, q));

	/* A valid queue never has more than its size outstanding, nor a head beyond it. */
	if (q->valid && n > room)
		n = room;
	for (i = 0; i < n; i++)
		av[2 + ((idx + i) & (q->size - 1))] =
			(uint16_t)(q->valid || mg_chance(90) ? mg_below(q->size) : mg_rnd());
	av[2 + q->size] = (uint16_t)mg_rnd(); /* used_event */
	av[0] = mg_chance(80) ? 0 : (uint16_t)mg_rnd();
	__sync_synchronize();
	if (!q->valid && mg_chance(10))
		av[1] = (uint16_t)(idx + q->size + 1 + mg_below(64));
	else if (!q->valid && mg_chance(10))
		av[1] = (uint16_t)(idx - 1 - mg_below(4));
	else
		av[1] = (uint16_t)(idx + n);
	__sync_synchronize();
	if (mg_chance(15)) /* an index that is no queue, or another queue */
		mg_wr32(m, w, VIRTIO_MMIO_QUEUE_NOTIFY, mg_value());
	mg_wr32(m, w, VIRTIO_MMIO_QUEUE_NOTIFY, q->sel);
}

/* Used entries not yet counted on published queues; 0 when each has caught up. */
static unsigned count_used(struct mg *m, struct mg_queue (*qs)[MG_MAXQ], const unsigned *nq,
			   unsigned *behind)
{
	unsigned w, i, moved = 0;

	*behind = 0;
	for (w = 0; w < MG_NWIN; w++)
		for (i = 0; i < nq[w]; i++) {
			struct mg_queue *q = &qs[w][i];
			uint16_t now, delta;

			if (!q->publish)
				continue;
			now = used_idx(m, q);
			delta = (uint16_t)(now - q->used_seen);
			if (delta <= q->size)
				m->completions += delta;
			moved += delta != 0;
			q->used_seen = now;
			*behind += now != avail_ptr(m, q)[1];
		}
	return moved;
}

/*
 * Let the device work through what was published: until every queue has caught up, or
 * nothing moved for 200 ms (a broken or unnotified queue), or 2 s. A nested guest's
 * device thread may need tens of milliseconds to get scheduled.
 */
static void collect(struct mg *m, struct mg_queue (*qs)[MG_MAXQ], const unsigned *nq)
{
	unsigned t, quiet = 0, behind = 1;

	for (t = 0; t < 2000 && behind && quiet < 200; t += 5) {
		mg_msleep(5);
		quiet = count_used(m, qs, nq, &behind) ? 0 : quiet + 5;
	}
}

/* While the device runs: registers that must be ignored now, interrupt acks, status. */
static void chaos(struct mg *m, unsigned w)
{
	unsigned i, off;

	for (i = 0; i < 8; i++) {
		off = 4 * mg_below(0x100 / 4);
		if (off != VIRTIO_MMIO_STATUS || mg_chance(20))
			mg_wr32(m, w, off, sanitize(m, off, mg_value()));
		(void)mg_rd32(m, w, VIRTIO_MMIO_INTERRUPT_STATUS);
	}
}

/* An avail index more than the queue size ahead: the device must say NEEDS_RESET. */
static void break_queue(struct mg *m, unsigned w, struct mg_queue *q)
{
	volatile uint16_t *av = avail_ptr(m, q);
	uint32_t st = mg_rd32(m, w, VIRTIO_MMIO_STATUS);
	unsigned t;

	if (!(st & VIRTIO_CONFIG_S_DRIVER_OK) || (st & VIRTIO_CONFIG_S_NEEDS_RESET))
		return;
	av[1] = (uint16_t)(av[1] + q->size + 1 + mg_below(64));
	__sync_synchronize();
	mg_wr32(m, w, VIRTIO_MMIO_QUEUE_NOTIFY, q->sel);
	for (t = 0; t < 500; t += 2) {
		if (mg_rd32(m, w, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET) {
			m->needs_reset++;
			return;
		}
		mg_msleep(2);
	}
}

static void report_iteration(struct mg *m, struct mg_queue (*qs)[MG_MAXQ], const unsigned *nq,
			     bool valid)
{
	unsigned w, i;

	for (w = 0; w < MG_NWIN; w++)
		for (i = 0; i < nq[w]; i++) {
			const struct mg_queue *q = &qs[w][i];

			printf("MMIOGARBAGE debug valid=%d w=%u status=0x%x q=%u size=%u ready=%d "
			       "publish=%d desc=0x%llx avail=0x%llx used=0x%llx avail_idx=%u "
			       "used_idx=%u\n", valid, w, mg_rd32(m, w, VIRTIO_MMIO_STATUS), q->sel,
			       q->size, q->ready, q->publish, (unsigned long long)q->ring[R_DESC],
			       (unsigned long long)q->ring[R_AVAIL],
			       (unsigned long long)q->ring[R_USED],
			       q->publish ? avail_ptr(m, q)[1] : 0,
			       q->publish ? used_idx(m, q) : 0);
		}
}

static void plausible_iteration(struct mg *m)
{
	static struct mg_queue qs[MG_NWIN][MG_MAXQ];
	unsigned nq[MG_NWIN] = { 0 }, w, i, r, rounds = 1 + mg_below(4);
	/* Mostly a set-up the device takes, so that the garbage in the rings is served. */
	bool valid = mg_chance(70);

	/* Descriptors change only here, with every device reset (see the top). */
	mg_reset_all(m);
	mg_region_fill(m);
	memset(qs, 0, sizeof(qs));
	for (w = 0; w < MG_NWIN; w++) {
		if (!m->dev[w].present)
			continue;
		negotiate(m, w, valid);
		nq[w] = 1 + mg_below(m->dev[w].nqueues < MG_MAXQ ? m->dev[w].nqueues : MG_MAXQ);
		for (i = 0; i < nq[w]; i++)
			setup_queue(m, w, &qs[w][i], valid && mg_chance(97));
	}
	for (w = 0; w < MG_NWIN; w++)
		if (m->dev[w].present && mg_chance(92))
			mg_wr32(m, w, VIRTIO_MMIO_STATUS,
				mg_rd32(m, w, VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_DRIVER_OK);
	for (r = 0; r < rounds; r++) {
		for (w = 0; w < MG_NWIN; w++)
			for (i = 0; i < nq[w]; i++)
				if (qs[w][i].publish)
					publish(m, w, &qs[w][i]);
		collect(m, qs, nq);
	}
	if (m->verbose)
		report_iteration(m, qs, nq, valid);
	for (w = 0; w < MG_NWIN; w++)
		if (m->dev[w].present && mg_chance(30))
			chaos(m, w);
	for (w = 0; w < MG_NWIN; w++)
		for (i = 0; i < nq[w]; i++)
			if (qs[w][i].publish && mg_chance(50)) {
				break_queue(m, w, &qs[w][i]);
				break;
			}
}

static void phase_plausible(struct mg *m, unsigned iters)
{
	unsigned i;

	for (i = 0; i < iters; i++)
		plausible_iteration(m);
	mg_reset_all(m);
	printf("MMIOGARBAGE phase plausible done iterations=%u completions=%lu needs_reset=%lu "
	       "refused_features=%lu\n", iters, m->completions, m->needs_reset,
	       m->refused_features);
}

/* ---- phase 3: 1-, 2-, 8-byte and unaligned accesses, also across window ends ---- */

/* Sub-word and 8-byte writes never touch the ring address registers (see sanitize). */
static bool hits_ring_regs(unsigned off, unsigned width)
{
	return off < VIRTIO_MMIO_QUEUE_USED_HIGH + 4 && off + width > VIRTIO_MMIO_QUEUE_DESC_LOW;
}

static void odd_access(struct mg *m, unsigned w, unsigned off, unsigned width)
{
	(void)mg_read(m, w, off, width);
	if (!hits_ring_regs(off, width))
		mg_write(m, w, off, width, mg_rnd());
}

static void phase_widths(struct mg *m)
{
	static const unsigned widths[] = { 1, 2, 8, 4 };
	unsigned w, off, i, width, n = 0;

	for (w = 0; w < MG_NWIN; w++) {
		if (!m->dev[w].present && w != MG_NWIN - 1)
			continue;
		for (off = 0; off < 0x200; off++) {
			width = widths[mg_below(4)];
			if (width == 4 && !(off & 3))
				continue; /* aligned 32-bit: phase 1 */
			odd_access(m, w, off, width);
			n++;
		}
		for (i = 0; i < 64; i++, n++)
			odd_access(m, w,
				   VIRTIO_MMIO_CONFIG + mg_below(MG_WIN - VIRTIO_MMIO_CONFIG - 8),
				   widths[mg_below(4)]);
	}
	/* Across the end of each window into the next (the last one into nothing). */
	for (w = 0; w < MG_NWIN; w++)
		for (width = 2; width <= 8; width *= 2)
			for (off = MG_WIN - width + 1; off < MG_WIN; off++, n++)
				odd_access(m, w, off, width);
	mg_reset_all(m);
	printf("MMIOGARBAGE phase widths done accesses=%u\n", n);
}

/* ---- main ---- */

static int setup(struct mg *m)
{
	int fd;
	unsigned w;

	if (read_ram_top(m) || m->ram_top > MG_HOLE) {
		printf("MMIOGARBAGE error: need System RAM below 3 GiB in /proc/iomem\n");
		return -1;
	}
	fd = open("/dev/mem", O_RDWR | O_SYNC | O_CLOEXEC);
	m->win = fd < 0 ? MAP_FAILED : mmap(NULL, MG_MAP_LEN, PROT_READ | PROT_WRITE, MAP_SHARED,
					    fd, (off_t)MG_MMIO_BASE);
	if (m->win == MAP_FAILED) {
		printf("MMIOGARBAGE error: cannot map /dev/mem at 0x%llx: %s (a driver owns it?)\n",
		       MG_MMIO_BASE, strerror(errno));
		return -1;
	}
	for (w = 0; w < MG_NWIN; w++)
		probe_window(m, w);
	if (region_alloc(m)) {
		printf("MMIOGARBAGE error: no physically contiguous 2 MiB region\n");
		return -1;
	}
	printf("MMIOGARBAGE ram_top=0x%llx region=0x%llx\n", (unsigned long long)m->ram_top,
	       (unsigned long long)m->phys);
	return 0;
}

int main(int argc, char **argv)
{
	static struct mg m;
	unsigned long long seed = 1;
	unsigned sweeps = 3, iters = 20, timing = 0, w, n = 0, bad = 0;
	int i;

	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--seed") == 0)
			seed = strtoull(argv[i + 1], NULL, 0);
		else if (strcmp(argv[i], "--sweeps") == 0)
			sweeps = (unsigned)strtoul(argv[i + 1], NULL, 0);
		else if (strcmp(argv[i], "--iters") == 0)
			iters = (unsigned)strtoul(argv[i + 1], NULL, 0);
		else if (strcmp(argv[i], "--exit-timing") == 0)
			timing = (unsigned)strtoul(argv[i + 1], NULL, 0);
		else if (strcmp(argv[i], "--verbose") == 0)
			m.verbose = strtoul(argv[i + 1], NULL, 0) != 0;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	mg_seed(seed);
	printf("MMIOGARBAGE seed=%llu sweeps=%u iters=%u\n", seed, sweeps, iters);
	if (setup(&m))
		return 2;
	mg_time_exits(&m, timing); /* before the garbage: the devices are still untouched */
	mg_region_fill(&m);
	phase_sweep(&m, sweeps);
	phase_plausible(&m, iters);
	phase_widths(&m);
	for (w = 0; w < MG_NWIN; w++)
		if (m.dev[w].present) {
			n++;
			bad += mg_check_sane(&m, w);
			if (m.dev[w].device_id == MG_FS_ID)
				bad += mg_check_alive(&m, w);
		}
	mg_reset_all(&m);
	printf("MMIOGARBAGE summary devices=%u accesses=%lu completions=%lu needs_reset=%lu\n", n,
	       m.accesses, m.completions, m.needs_reset);
	if (n == 0 || bad) {
		printf("MMIOGARBAGE not ok: %u devices, %u failed checks\n", n, bad);
		return 1;
	}
	printf("MMIOGARBAGE done\n");
	return 0;
}
