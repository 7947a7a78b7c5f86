/*
 * The extension's version: what interactions_version() answers and what every request's
 * User-Agent carries (sqlite-interactions/<version>), so a vendor's support team can tell which
 * release sent a request. A build may override it with -DINTERACTIONS_VERSION='"..."'.
 */
#ifndef IX_VERSION_H
#define IX_VERSION_H

#ifndef INTERACTIONS_VERSION
#define INTERACTIONS_VERSION "0.1.0"
#endif

#define INTERACTIONS_USER_AGENT "sqlite-interactions/" INTERACTIONS_VERSION

#endif
