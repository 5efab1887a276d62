#ifndef CARCHIVE_SHIM_H
#define CARCHIVE_SHIM_H
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

/* AE_IFREG / AE_IFDIR are cast expressions Swift does not import. */
static inline unsigned int shim_AE_IFREG(void) { return AE_IFREG; }
static inline unsigned int shim_AE_IFDIR(void) { return AE_IFDIR; }
#endif
