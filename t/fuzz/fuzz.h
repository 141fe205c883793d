/*
 * fuzz.h: what the libFuzzer targets under t/fuzz/ share: the entry point
 * and a way to stop on a disagreement that shows the input.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "sluice.h"
#include "config.h"
#include "job.h"
#include "stratum.h"

extern "C" int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

void		 fuzz_input(const uint8_t *, size_t);
NORETURN void	 fuzz_fail(const char *, ...) PRINTFLIKE(1, 2);

#endif /* FUZZ_H */
