/* vcpu_serve.h: quick virtio-fs requests served on the vCPU thread that sent them. */
#ifndef MICROVM_VIRTIO_FS_VCPU_SERVE_H
#define MICROVM_VIRTIO_FS_VCPU_SERVE_H

struct vfs_device;

/* The transport's notify callback for the request queues (ops.vcpu_queues). */
void vfs_vcpu_notify(void *dev, unsigned queue);
/* After dev->stopping was set: return once no vCPU is serving a request of dev. */
void vfs_vcpu_quiesce(struct vfs_device *dev);

#endif
