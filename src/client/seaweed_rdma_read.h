/* seaweed_rdma_read.h: read files of a seaweed-rdma mount straight from the RDMA agents (or the
 * volume servers), without going through FUSE for the bytes.
 *
 * A file is opened on the mount as usual; the library asks the mount daemon, through an ioctl on
 * that fd, for the file's layout snapshot (the same version the FUSE open sees, for the life of
 * the handle) and then reads chunks itself over UCX (or HTTP where no agent serves a volume
 * server). Whatever it cannot serve it reads through the fd (FUSE), so every call returns what
 * the kernel path would. See docs/PRELOAD.md.
 *
 * C only, no exceptions cross it. Functions return >= 0 on success and -1 with errno set on
 * failure (or NULL with errno set). Thread-safe: one handle may be used by several threads. */
#ifndef SEAWEED_RDMA_READ_H
#define SEAWEED_RDMA_READ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SWR_API_VERSION 1

/* The API version this library implements (SWR_API_VERSION of the header it was built with). */
int swr_api_version(void);

typedef struct swr_file swr_file;

/* Opens a regular file on a seaweed-rdma mount read-only. ENOTSUP: not on a seaweed-rdma mount
 * (or the mount cannot hand out snapshots for it: inline content; or a read-token cluster's file in a
 * process whose first file needed no tokens); other errno as
 * open(2) gives them. */
swr_file* swr_open(const char* path);

/* Opens filer_path (absolute, as the filer names it) of the filer at "host:port" through a live
 * mount of that filer whose root covers the path (found in /proc/self/mountinfo). ENOENT when no
 * mount covers it. filer may be NULL: any seaweed-rdma mount. */
swr_file* swr_open_filer_path(const char* filer, const char* filer_path);

/* Adopts an fd the caller opened on the mount (read-only). With SWR_ADOPT_BORROW the fd stays
 * the caller's (swr_close does not close it; it must stay open while the handle is used). */
#define SWR_ADOPT_BORROW 1
swr_file* swr_open_fd(int fd, int flags);

/* Reads up to len bytes at offset into buf. Short only at end of file; 0 at or past it. */
ssize_t swr_pread(swr_file* file, void* buf, size_t len, uint64_t offset);

/* Several reads of one file at once (they run in parallel). Each request gets its own result
 * (bytes, or -errno); the call returns the number of requests that succeeded. */
typedef struct swr_read_request {
  void* buf;
  size_t len;
  uint64_t offset;
  ssize_t result; /* out */
} swr_read_request;
int swr_pread_batch(swr_file* file, swr_read_request* requests, size_t count);

/* The snapshot's file size and id (same for every handle of one FUSE open). */
uint64_t swr_size(const swr_file* file);
uint64_t swr_snapshot_id(const swr_file* file);
int swr_fd(const swr_file* file);

/* Closes the handle (and its fd unless borrowed). */
int swr_close(swr_file* file);

/* Registers a buffer the caller will read into many times (for RDMA NICs: memory registration
 * once instead of per read). Over the transports that need no registration (tcp, shared memory)
 * it only records the range. */
int swr_register_buffer(void* buf, size_t len);
int swr_unregister_buffer(void* buf);

/* Counters of this process. */
typedef struct swr_stats {
  uint64_t opens_served;    /* handles reading through the library */
  uint64_t opens_declined;  /* mount files it could not serve (read through FUSE) */
  uint64_t reads_served;    /* read calls answered by the library */
  uint64_t reads_fallback;  /* read calls that went to FUSE after a library failure */
  uint64_t bytes_served;    /* bytes handed to callers by the library */
  uint64_t bytes_fallback;  /* bytes handed to callers through FUSE after a failure */
  uint64_t bytes_rdma;      /* bytes fetched from agents over UCX (incl. readahead) */
  uint64_t bytes_http;      /* bytes fetched from volume servers over HTTP */
  uint64_t declined_inline; /* declines and fallbacks by reason */
  uint64_t declined_tokens;
  uint64_t declined_snapshot; /* the ioctl or the blob failed */
  uint64_t declined_other;
  uint64_t fallback_read_error;
} swr_stats;
/* Fills up to size bytes of *out (pass sizeof(swr_stats)); returns the bytes filled. */
int swr_get_stats(swr_stats* out, size_t size);
/* The counters as one line ("seaweed-rdma: opens_served=3 ... bytes_http=0", one key=value per
 * field above), NUL-terminated; returns its
 * length (as snprintf). */
int swr_format_stats(char* buf, size_t size);

/* Internal, for libseaweed-rdma-preload: fork handling (the child drops the parent's state
 * without touching it and starts afresh on first use). */
void swr_atfork_child(void);

#ifdef __cplusplus
}
#endif

#endif
