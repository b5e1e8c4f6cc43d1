/* core_auth.h — who may log in and with which permissions.
 *
 * Owns: the login decision for a user name and password (this release: anonymous read-only
 * logins when --anonymous is set, users "anonymous" and "ftp", any password). Virtual users with
 * crypt(3) hashes arrive with the users-file issue and will run on the blocking pool.
 * Must not: log passwords, or reveal whether a user name exists. */
#ifndef RINGFTPD_CORE_AUTH_H
#define RINGFTPD_CORE_AUTH_H

#include <stdbool.h>
#include "core_config.h"

typedef struct core_auth_result {
    unsigned perms; /* FTP_PERM_* */
    bool anonymous;
} core_auth_result;

/* Returns 0 when the login is accepted (r filled), -1 otherwise. */
int core_auth_check(const core_config *cfg, const char *user, const char *pass, core_auth_result *r);

#endif
