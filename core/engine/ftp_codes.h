/* ftp_codes.h — named FTP reply codes (RFC 959, 2228, 2428, 3659, 4217). Handlers use these names,
 * never bare numbers. Must not: hold reply texts (those live beside the handlers). */
#ifndef RINGFTPD_FTP_CODES_H
#define RINGFTPD_FTP_CODES_H

enum ftp_reply_code {
    FTP_R_DATA_ALREADY_OPEN = 125,
    FTP_R_FILE_STATUS_OK = 150, /* about to open data connection */
    FTP_R_CMD_OK = 200,
    FTP_R_CMD_SUPERFLUOUS = 202,
    FTP_R_SYSTEM_STATUS = 211,
    FTP_R_DIR_STATUS = 212,
    FTP_R_FILE_STATUS = 213,
    FTP_R_HELP = 214,
    FTP_R_SYSTEM_TYPE = 215,
    FTP_R_SERVICE_READY = 220,
    FTP_R_GOODBYE = 221,
    FTP_R_TRANSFER_COMPLETE = 226,
    FTP_R_PASV = 227,
    FTP_R_EPSV = 229,
    FTP_R_LOGGED_IN = 230,
    FTP_R_AUTH_OK = 234,
    FTP_R_FILE_ACTION_OK = 250,
    FTP_R_PATH_CREATED = 257,
    FTP_R_NEED_PASSWORD = 331,
    FTP_R_NEED_ACCOUNT = 332,
    FTP_R_PENDING_MORE_INFO = 350,
    FTP_R_SERVICE_CLOSING = 421,
    FTP_R_CANT_OPEN_DATA = 425,
    FTP_R_TRANSFER_ABORTED = 426,
    FTP_R_FILE_UNAVAILABLE = 450,
    FTP_R_LOCAL_ERROR = 451,
    FTP_R_INSUFFICIENT_SPACE = 452,
    FTP_R_SYNTAX_ERROR = 500,
    FTP_R_SYNTAX_ERROR_ARGS = 501,
    FTP_R_NOT_IMPLEMENTED = 502,
    FTP_R_BAD_SEQUENCE = 503,
    FTP_R_PARAM_NOT_IMPL = 504,
    FTP_R_PROT_REFUSED_POLICY = 521, /* RFC 4217: data protection level required */
    FTP_R_NET_PROTO_UNSUPP = 522,    /* RFC 2428 */
    FTP_R_NOT_LOGGED_IN = 530,
    FTP_R_CCC_NOT_PROTECTED = 533, /* RFC 4217: CCC on a clear control channel */
    FTP_R_POLICY_REFUSED = 534,    /* RFC 2228/4217: refused for policy reasons */
    FTP_R_PROT_UNSUPPORTED = 536,  /* RFC 2228: protection level not supported */
    FTP_R_FILE_ERROR = 550,
    FTP_R_PAGE_TYPE_UNKNOWN = 551,
    FTP_R_EXCEEDED_STORAGE = 552,
    FTP_R_BAD_FILENAME = 553,
    FTP_R_INVALID_REST = 554, /* RFC 3659 §5.3: REST marker beyond the end of the file */
};

#endif
