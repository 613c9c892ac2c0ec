#include "CShims.h"

#if defined(__linux__)
#include <sys/prctl.h>

int batch_tokenize_disable_dumping(void) {
    return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}
#else
int batch_tokenize_disable_dumping(void) {
    return -1;
}
#endif
