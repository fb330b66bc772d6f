/* fp/metric.h - the metrics of a sample and the sample itself.
 *
 * Every metric has a stable name that carries its unit (`mem_bytes`,
 * `io_read_Bps`, `cpu_cores`, `*_ps` for events per second, `*_pct` for a
 * percentage of wall time). The table order is part of no format: records
 * use the names. A metric that could not be read has no value but a reason
 * (a static string), which records write as `null` plus an entry in
 * `missing`.
 *
 * Ownership: fp_sample is a plain value (no heap pointers, reasons point to
 * static strings); copy it freely.
 */
#ifndef FP_METRIC_H
#define FP_METRIC_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* X(enum, name, description) */
#define FP_METRICS(X) \
    X(CPU_CORES,        "cpu_cores",        "CPU time used per second of wall time (user+system)") \
    X(CPU_USER_CORES,   "cpu_user_cores",   "user CPU time per second") \
    X(CPU_SYS_CORES,    "cpu_sys_cores",    "system CPU time per second") \
    X(CPU_THROTTLED_PCT,"cpu_throttled_pct","share of wall time the cgroup was throttled by its CPU quota") \
    X(MEM_BYTES,        "mem_bytes",        "memory charged to the cgroup (else the process tree's RSS)") \
    X(MEM_RSS_BYTES,    "mem_rss_bytes",    "resident set size summed over the process tree") \
    X(MEM_ANON_BYTES,   "mem_anon_bytes",   "anonymous memory of the cgroup") \
    X(MEM_FILE_BYTES,   "mem_file_bytes",   "page cache charged to the cgroup") \
    X(MEM_PEAK_BYTES,   "mem_peak_bytes",   "the cgroup's memory high-water mark so far") \
    X(OOM_KILLS,        "oom_kills",        "OOM kills in the cgroup so far") \
    X(IO_READ_BPS,      "io_read_Bps",      "block-device bytes read per second") \
    X(IO_WRITE_BPS,     "io_write_Bps",     "block-device bytes written per second") \
    X(IO_READ_IOPS,     "io_read_iops",     "block-device read operations per second") \
    X(IO_WRITE_IOPS,    "io_write_iops",    "block-device write operations per second") \
    X(RCHAR_BPS,        "rchar_Bps",        "bytes passed to read-like syscalls per second (process tree)") \
    X(WCHAR_BPS,        "wchar_Bps",        "bytes passed to write-like syscalls per second (process tree)") \
    X(SYSCR_PS,         "syscr_ps",         "read-like syscalls per second (process tree)") \
    X(SYSCW_PS,         "syscw_ps",         "write-like syscalls per second (process tree)") \
    X(MINFLT_PS,        "minflt_ps",        "minor page faults per second (process tree)") \
    X(MAJFLT_PS,        "majflt_ps",        "major page faults per second (process tree)") \
    X(CTXSW_PS,         "ctxsw_ps",         "voluntary+involuntary context switches per second (process tree)") \
    X(THREADS,          "threads",          "threads in the process tree") \
    X(PROCS,            "procs",            "processes in the process tree") \
    X(PIDS,             "pids",             "tasks counted by the cgroup's pids controller") \
    X(NET_RX_BPS,       "net_rx_Bps",       "bytes received per second, all interfaces of the workload's network namespace") \
    X(NET_TX_BPS,       "net_tx_Bps",       "bytes sent per second, all interfaces of the workload's network namespace") \
    X(NET_RX_PPS,       "net_rx_pps",       "packets received per second") \
    X(NET_TX_PPS,       "net_tx_pps",       "packets sent per second") \
    X(PSI_CPU_SOME_PCT, "psi_cpu_some_pct", "share of wall time some task of the cgroup waited for a CPU") \
    X(PSI_MEM_SOME_PCT, "psi_mem_some_pct", "share of wall time some task stalled on memory") \
    X(PSI_MEM_FULL_PCT, "psi_mem_full_pct", "share of wall time all tasks stalled on memory") \
    X(PSI_IO_SOME_PCT,  "psi_io_some_pct",  "share of wall time some task stalled on I/O") \
    X(PSI_IO_FULL_PCT,  "psi_io_full_pct",  "share of wall time all tasks stalled on I/O") \
    X(INSTRUCTIONS_PS,  "instructions_ps",  "retired instructions per second (hardware counter)") \
    X(CYCLES_PS,        "cycles_ps",        "CPU cycles per second (hardware counter)") \
    X(CACHE_REFS_PS,    "cache_refs_ps",    "cache references per second (hardware counter)") \
    X(CACHE_MISSES_PS,  "cache_misses_ps",  "cache misses per second (hardware counter)") \
    X(BRANCH_MISSES_PS, "branch_misses_ps", "branch mispredictions per second (hardware counter)") \
    X(LLC_LOADS_PS,     "llc_loads_ps",     "last-level cache loads per second (hardware counter)") \
    X(LLC_MISSES_PS,    "llc_misses_ps",    "last-level cache load misses per second (hardware counter)") \
    X(IPC,              "ipc",              "instructions per cycle over the interval") \
    X(CACHE_MISS_RATE,  "cache_miss_rate",  "cache misses per cache reference over the interval") \
    X(TASK_CLOCK_CORES, "task_clock_cores", "task clock per second of wall time (software counter)") \
    X(SW_CTXSW_PS,      "sw_ctxsw_ps",      "context switches per second (software counter)") \
    X(SW_FAULTS_PS,     "sw_faults_ps",     "page faults per second (software counter)") \
    X(SW_MIGRATIONS_PS, "sw_migrations_ps", "CPU migrations per second (software counter)")

typedef enum {
#define FP_X_ENUM(e, n, d) FP_M_##e,
    FP_METRICS(FP_X_ENUM)
#undef FP_X_ENUM
    FP_M_COUNT
} fp_metric;

#define FP_NET_IF_MAX 16

typedef struct fp_net_if {
    char name[32];
    unsigned long long rx_bytes, tx_bytes, rx_packets, tx_packets; /* cumulative */
} fp_net_if;

typedef struct fp_sample {
    double t;                      /* seconds since the workload started */
    double ts;                     /* Unix time of the reading, or 0 when unknown */
    double grid_s;                 /* > 0: a sparse sample (sampling backed off) that
                                      stands for the points of this grid since the
                                      previous sample (fp_window_add resamples it);
                                      0: a sample on the grid of its capture */
    double v[FP_M_COUNT];          /* valid where why[i] == NULL */
    const char *why[FP_M_COUNT];   /* reason a metric is missing, or NULL */
    int n_if;                      /* interfaces in the workload's netns */
    fp_net_if ifs[FP_NET_IF_MAX];
} fp_sample;

const char *fp_metric_name(fp_metric m);
const char *fp_metric_desc(fp_metric m);
/* Index of the metric called name, or -1. */
int fp_metric_lookup(const char *name);

/* Mark every metric missing with reason why (a static string). */
void fp_sample_init(fp_sample *s, double t, const char *why);
static inline bool fp_sample_has(const fp_sample *s, fp_metric m) { return s->why[m] == 0; }
static inline void fp_sample_set(fp_sample *s, fp_metric m, double v) { s->v[m] = v; s->why[m] = 0; }
static inline void fp_sample_miss(fp_sample *s, fp_metric m, const char *why) { s->why[m] = why; }

#ifdef __cplusplus
}
#endif

#endif
