#ifndef CLIBSSH_SHIM_H
#define CLIBSSH_SHIM_H
/* sftp_server_new/_init/_free are behind #ifdef WITH_SERVER in sftp.h (0.10.x). */
#ifndef WITH_SERVER
#define WITH_SERVER 1
#endif
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <libssh/callbacks.h>
#include <libssh/sftp.h>
#endif
