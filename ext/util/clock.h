/*
 * Monotonic milliseconds, the clock every process of the machine shares (since boot): the rate
 * limiter's windows and the progress line's times are read from it, so one can be compared with
 * the other.
 */
#ifndef IX_CLOCK_H
#define IX_CLOCK_H

#include <time.h>

static inline long long ix_clock_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

#endif
