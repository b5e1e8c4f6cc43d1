/* core_auth.c — login decisions (see core_auth.h). Which names are anonymous is the engine's one
 * rule, ftp_user_is_anonymous(). Must not: log or keep passwords. */
#include "core_auth.h"

#include "ftp_engine.h"

int core_auth_check(const core_config *cfg, const char *user, const char *pass, core_auth_result *r)
{
    (void)pass; /* anonymous logins take any password (by convention an e-mail address) */
    r->perms = 0;
    r->anonymous = false;
    if (cfg->anonymous && ftp_user_is_anonymous(user)) {
        r->perms = FTP_PERM_READ;
        r->anonymous = true;
        return 0;
    }
    return -1;
}
