/* fuzz-model-autopilot: the model loader for kind "autopilot" (tests/fuzz/fuzz-model.h). */
#define FZ_KIND "autopilot"
#include "fuzz-model.h"
