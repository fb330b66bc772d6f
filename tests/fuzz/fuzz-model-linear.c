/* fuzz-model-linear: the model loader for kind "linear" (tests/fuzz/fuzz-model.h). */
#define FZ_KIND "linear"
#include "fuzz-model.h"
