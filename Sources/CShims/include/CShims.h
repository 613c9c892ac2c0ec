#ifndef BATCH_TOKENIZE_CSHIMS_H
#define BATCH_TOKENIZE_CSHIMS_H

/// Makes the process non-dumpable (prctl(PR_SET_DUMPABLE, 0), which Swift cannot call: prctl is
/// variadic). Returns 0 on success, -1 where it is not available or failed.
int batch_tokenize_disable_dumping(void);

#endif
