/* fuzz-model-gru: the model loader for kind "gru" (tests/fuzz/fuzz-model.h). */
#define FZ_KIND "gru"
#include "fuzz-model.h"
