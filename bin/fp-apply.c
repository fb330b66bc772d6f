#include <stdio.h>
int main(void) { fputs("fp-apply: not written yet\n", stderr); return 2; }
