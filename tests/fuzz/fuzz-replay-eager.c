/* fuzz-replay-eager: the trace reader on eager traces (tests/fuzz/fuzz-replay.h). */
#define FZ_TRACE FZ_EAGER
#include "fuzz-replay.h"
