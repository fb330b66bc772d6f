/* fuzz-model-transformer: the model loader for kind "transformer" (tests/fuzz/fuzz-model.h). */
#define FZ_KIND "transformer"
#include "fuzz-model.h"
