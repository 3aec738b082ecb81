/* The ioctls through which a process asks seaweed-rdma-mount for the layout snapshot of one of
 * its open files (see docs/PRELOAD.md, "How a process learns the layout"). C, shared by the mount
 * daemon (src/fuse/snapshot_ioctl.cc) and the client library (src/client/). Restricted FUSE ioctls
 * carry _IOC_SIZE(cmd) bytes in and out, which must stay below 16 KiB: the snapshot travels in
 * pages, the caller asking for an offset and getting the page there plus the total size. */
#ifndef SEAWEED_RDMA_SNAPSHOT_IOCTL_ABI_H
#define SEAWEED_RDMA_SNAPSHOT_IOCTL_ABI_H

#include <linux/ioctl.h>
#include <stdint.h>

#define SWR_IOCTL_ABI 1u
#define SWR_FUSE_SUPER_MAGIC 0x65735546L /* fstatfs f_type of every FUSE mount */

/* One page of the serialised snapshot (src/client/layout_blob.h). The caller fills abi and
 * offset; the daemon fills the rest. Every page carries the snapshot id and the CRC-32C of the
 * whole blob, so a caller that assembled pages of two different serialisations notices. */
struct swr_snapshot_page {
  uint32_t abi;         /* in/out: SWR_IOCTL_ABI */
  uint32_t page_bytes;  /* out: bytes of data[] used */
  uint64_t offset;      /* in: offset into the blob */
  uint64_t total_bytes; /* out: size of the whole blob */
  uint64_t snapshot_id; /* out: identifies the FUSE open (same for every dup of the fd) */
  uint32_t blob_crc32c; /* out: CRC-32C of the whole blob */
  uint32_t reserved;    /* 0 */
  uint8_t data[16336];  /* sizeof(struct) = 16376 < 16 KiB */
};

/* A read token (JWT) for one fid of the handle's layout, for clusters that require them. */
struct swr_token_request {
  uint32_t abi;           /* in/out: SWR_IOCTL_ABI */
  uint32_t fid_bytes;     /* in: length of fid */
  char fid[64];           /* in: canonical fid, one of the snapshot's chunks */
  uint32_t token_bytes;   /* out */
  int32_t expires_in_sec; /* out: the token's remaining lifetime */
  char token[2048];       /* out: not NUL-terminated */
};

#define SWR_IOC_SNAPSHOT _IOWR('W', 0x51, struct swr_snapshot_page)
#define SWR_IOC_TOKEN _IOWR('W', 0x52, struct swr_token_request)

#endif
