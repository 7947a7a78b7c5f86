/*
 * Paths that hold only this user's files: the rate limiter's state (ratelimit.c) and the disk
 * cache (diskcache.c) keep what another user must neither read nor plant. One rule for both: the
 * owner is us and neither the group nor others can open it. Each caller words the problem its own
 * way. Pure C (no SQLite), for the unit tests.
 */
#ifndef IX_PRIVATEDIR_H
#define IX_PRIVATEDIR_H

#include <sys/stat.h>

typedef enum privatedir_problem {
  IX_PRIVATE_OK,
  IX_PRIVATE_NOT_CREATED, /* mkdir failed (errno says why) */
  IX_PRIVATE_UNREADABLE,  /* it could not be stat'ed */
  IX_PRIVATE_WRONG_TYPE,  /* not a directory, or not a regular file */
  IX_PRIVATE_OTHER_OWNER,
  IX_PRIVATE_OPEN, /* the group or others have some permission */
} privatedir_problem;

/* What is wrong with the stat of a directory (want_directory) or a file meant to be private. */
privatedir_problem privatedir_check(const struct stat *info, int want_directory);

/* Creates dir 0700 when it is missing, then checks it. follow_symlinks: stat (a link to a private
 * directory is that directory), else lstat (a link is not a directory). */
privatedir_problem privatedir_ensure(const char *dir, int follow_symlinks);

#endif
