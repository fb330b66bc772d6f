/* fuzz-replay-fp: the trace reader on fp traces (tests/fuzz/fuzz-replay.h). */
#define FZ_TRACE FZ_FP
#include "fuzz-replay.h"
