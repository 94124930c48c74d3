/* smp.S - run by two vCPUs at once (tests/cpu/test_iface.c): each adds 1 to the word at
 * 0x80100000 20000 times with LR/SC and to the dword at 0x80100040 with amoadd, then both exit. The sums must
 * be exact if LR/SC and AMOs are atomic between host threads. */
#include "test.h"
TEST_BEGIN
	li s0, 0x80100000 /* counter */
	li s2, 0x80100040 /* counter2 */
	li s1, 20000
1:	lr.w t0, (s0)
	addi t0, t0, 1
	sc.w t1, t0, (s0)
	bnez t1, 1b
	li t2, 1
	amoadd.d zero, t2, (s2)
	addi s1, s1, -1
	bnez s1, 1b
TEST_END
