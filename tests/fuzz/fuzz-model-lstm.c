/* fuzz-model-lstm: the model loader for kind "lstm" (tests/fuzz/fuzz-model.h). */
#define FZ_KIND "lstm"
#include "fuzz-model.h"
