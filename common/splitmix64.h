/* splitmix64.h - a small, fast, seedable generator (Steele, Lea, Flood 2014;
 * the seeding step of xoshiro): the fixtures' bytes and the verdicts'
 * bootstrap resamples both need the same sequence from the same seed on
 * every platform, which rand() does not promise. */
#ifndef SPLITMIX64_H
#define SPLITMIX64_H

#include <stdint.h>

static inline uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

#endif
