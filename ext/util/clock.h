/*
 * The engine's one clock: monotonic milliseconds, the same in every process of the machine (since
 * boot), so the rate limiter's shared state, waits and token lifetimes agree across processes.
 */
#ifndef IX_CLOCK_H
#define IX_CLOCK_H

long long clock_ms(void);

#endif
