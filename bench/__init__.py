"""Read benchmark of seaweed-rdma-mount against weed mount, plain HTTP and the FUSE ceiling.

One command starts a throw-away SeaweedFS cluster (integration/harness), the RDMA agents the
selected targets need, uploads the data sets the selected workloads need, and runs every
workload on every target:

  targets   ours_rdma      seaweed-rdma-mount -rdma.agents=VOLSERVER=AGENT (reads over UCX)
            ours_rdma_cma  as ours_rdma through a second agent, both with UCX peer error handling
                           off (-rdma.peerErrorHandling=false): UCX uses cma on one host
            ours_preload   as ours_rdma, with libseaweed-rdma-preload.so in the client programs
                           (LD_PRELOAD): they read from the agent themselves, not through FUSE
            ours_preload_cma  as ours_preload through the cma agent (compare with ours_rdma_cma)
            ours_before    as ours_http with an earlier build (BENCH_BEFORE_MOUNT_BIN=PATH; skipped
                           without it): the before column of a change, in the same run
            ours_http      seaweed-rdma-mount -rdma.enabled=false
            ours_http_noverify  as ours_http with -verifyReads=false (the cost of verified bytes)
            weed_default   weed mount (same weed binary as the cluster), defaults
            weed_tuned     weed mount with read-side tuning (see WEED_TUNED_ARGS in targets.py)
            curl           direct HTTP GETs of the chunks from the volume server (filer for listings)
            nullfs         bench/nullfs: READ replies from a preallocated buffer (the FUSE ceiling)
            agent          seaweed-rdma-agent read, one process per chunk
  workloads seq1           1 reader, sequential, whole file (1 GiB), cold (drop_caches)
            seq4           4 readers, 4 files of 1/4 the size each, in parallel, cold
            seq1_warm      as seq1 with the volume files in the server's page cache
            seq4_warm      as seq4 with the volume files in the server's page cache
            rand4k         4 KiB random preads with O_DIRECT, QD1 (p50/p99/p99.9, IOPS)
            small          read 5,000 files of 16 KiB (files/s)
            ls             ls -lR of a 20,000-entry directory (seconds)
            stream10g      the 1 GiB file 10 times with O_DIRECT in one mount: the daemon's peak RSS
            metawalk       stat + open + read 1 byte of 300,000 distinct files in 300 directories,
                           drop_caches=2 between batches: the daemon's RSS curve and peak RSS

Every run of a mount target uses a fresh mount. Before each cold run the page cache is dropped
(echo 3 > /proc/sys/vm/drop_caches), so the volume server reads its .dat files from disk too.
Each measurement is repeated --repeat times (default 3, tiny 1); the JSON keeps the raw samples
and the medians, ratios between targets, machine info and versions; a PNG plots the medians.

  scripts/bench.sh                                # full size, < ~20 min
  scripts/bench.sh --size tiny                    # < ~2 min
  scripts/bench.sh --targets ours_http,nullfs --workloads seq1 --repeat 1
  PYTHONPATH=integration .venv/bin/python -m bench --help      # the same, without the build step

Modules: config (sizes), system (/proc, machine), clients (client programs and their output),
datasets, workloads, targets, runner (the session and the loop), report (medians, ratios, JSON,
table), plot, cli. bench/README.md says how to add a target or a workload.
"""
