/* fuzz-replay-bitbrains: the trace reader on bitbrains traces (tests/fuzz/fuzz-replay.h). */
#define FZ_TRACE FZ_BITBRAINS
#include "fuzz-replay.h"
