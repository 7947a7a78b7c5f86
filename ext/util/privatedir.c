/*
 * Paths that hold only this user's files. See privatedir.h.
 */
#include "util/privatedir.h"

#include <errno.h>
#include <unistd.h>

privatedir_problem privatedir_check(const struct stat *info, int want_directory) {
  if (want_directory ? !S_ISDIR(info->st_mode) : !S_ISREG(info->st_mode)) {
    return IX_PRIVATE_WRONG_TYPE;
  }
  if (info->st_uid != geteuid()) return IX_PRIVATE_OTHER_OWNER;
  if (info->st_mode & 077) return IX_PRIVATE_OPEN;
  return IX_PRIVATE_OK;
}

privatedir_problem privatedir_ensure(const char *dir, int follow_symlinks) {
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) return IX_PRIVATE_NOT_CREATED;
  struct stat info;
  if ((follow_symlinks ? stat(dir, &info) : lstat(dir, &info)) != 0) return IX_PRIVATE_UNREADABLE;
  return privatedir_check(&info, 1);
}
