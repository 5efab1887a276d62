// glibc's allocator tuning (mallopt), for the long-running server's transfer buffers.
#include <malloc.h>

static inline int cg_mallopt_mmap_threshold(int bytes) { return mallopt(M_MMAP_THRESHOLD, bytes); }
static inline int cg_mallopt_trim_threshold(int bytes) { return mallopt(M_TRIM_THRESHOLD, bytes); }
