/* fuzz-model-vpa: the model loader for kind "vpa" (tests/fuzz/fuzz-model.h). */
#define FZ_KIND "vpa"
#include "fuzz-model.h"
