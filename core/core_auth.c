/* core_auth.c — login decisions (see core_auth.h). Must not: log or keep passwords. */
#include "core_auth.h"

#include <strings.h>

#include "ftp_types.h"

static bool is_anonymous_name(const char *user)
{
    return strcasecmp(user, "anonymous") == 0 || strcasecmp(user, "ftp") == 0;
}

int core_auth_check(const core_config *cfg, const char *user, const char *pass, core_auth_result *r)
{
    (void)pass; /* anonymous logins take any password (by convention an e-mail address) */
    r->perms = 0;
    r->anonymous = false;
    if (cfg->anonymous && is_anonymous_name(user)) {
        r->perms = FTP_PERM_READ;
        r->anonymous = true;
        return 0;
    }
    return -1;
}
