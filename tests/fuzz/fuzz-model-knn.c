/* fuzz-model-knn: the model loader for kind "knn" (tests/fuzz/fuzz-model.h). */
#define FZ_KIND "knn"
#include "fuzz-model.h"
