/* vipd_version.h: what --version prints, for vipd and vipctl alike. */
#ifndef VIPD_VIPD_VERSION_H
#define VIPD_VIPD_VERSION_H

extern const char vipd_version[];

#endif
