/* diff.c - placeholder, being written. */
typedef int fp_placeholder_diff;
