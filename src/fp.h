/* fp.h - libfp, the library behind the fp tools.
 *
 * Modules, in the order data flows through them:
 *   foundation  fp/error.h (errors and the tools' exit codes), fp/roots.h
 *               (file system roots), fp/metric.h (metrics and samples),
 *               fp/record.h (JSON lines, the read-dispatch loop),
 *               fp/idtable.h (records kept by workload id),
 *               fp/quantity.h (512Mi, 500m), fp/atomic.h (replacing a
 *               file atomically)
 *   samplers    fp/proc.h, fp/cgroup.h, fp/net.h, fp/perf.h, fp/docker.h,
 *               combined by fp/sampler.h; fp/replay.h reads recorded
 *               traces, fp/tasktrace.h task-summary traces (Nextflow,
 *               Slurm sacct); fp/launch.h starts a command as a measured
 *               workload
 *   features    fp/series.h (streaming statistics), fp/features.h
 *               (fingerprints, embeddings, actuals)
 *   prediction  fp/prediction.h (prediction records, quantiles, pinball
 *               loss), fp/dataset.h (records to model rows), fp/model.h
 *               (models, training, calibration), fp/nfconfig.h (a sized
 *               Nextflow configuration)
 *   decision    fp/policy.h (from a prediction to limits), fp/actuator.h
 *               (putting them in place: cgroup, Docker, Kubernetes;
 *               allocation records), fp/systemd.h (units), fp/netlimit.h
 *               (egress rate), fp/memguard.h (memory pressure events)
 *   scoring     fp/diff.h (predictions and allocations against actuals,
 *               fingerprints compared, the validation cost of a model),
 *               fp/history.h (the store of past runs)
 *   for people  fp/summary.h (quantities in MiB, cores, min; the summary
 *               of a run from its records), fp/chart.h (SVG charts),
 *               fp/promfile.h (Prometheus text files)
 * libfp never prints and never exits; each header states who owns what.
 */
#ifndef FP_H
#define FP_H
#include "fp/error.h"
#include "fp/roots.h"
#include "fp/metric.h"
#include "fp/record.h"
#include "fp/idtable.h"
#include "fp/proc.h"
#include "fp/cgroup.h"
#include "fp/net.h"
#include "fp/perf.h"
#include "fp/docker.h"
#include "fp/sampler.h"
#include "fp/launch.h"
#include "fp/replay.h"
#include "fp/tasktrace.h"
#include "fp/nfconfig.h"
#include "fp/series.h"
#include "fp/features.h"
#include "fp/prediction.h"
#include "fp/model.h"
#include "fp/policy.h"
#include "fp/actuator.h"
#include "fp/netlimit.h"
#include "fp/memguard.h"
#include "fp/diff.h"
#include "fp/dataset.h"
#include "fp/history.h"
#include "fp/chart.h"
#include "fp/promfile.h"
#include "fp/systemd.h"
#include "fp/atomic.h"
#include "fp/summary.h"
#include "fp/quantity.h"

#ifdef __cplusplus
extern "C" {
#endif
#ifdef __cplusplus
}
#endif

#endif
