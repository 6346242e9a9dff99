/* The version both programs print: `git describe` of the tree they were
 * built from (build/version.h, rewritten only when it changes), or the
 * release number when there is no git. */
#include "version.h"
#include "vipd_version.h"

const char vipd_version[] = VIPD_VERSION;
