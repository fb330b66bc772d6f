/* fp/quantity.h - quantities as people write them for Kubernetes and
 * Docker: "512Mi", "2G", "1.5Gi", "500m" (cores), "100M" (bytes/s).
 *
 * The syntax is Kubernetes' resource.Quantity, case-sensitive:
 *     quantity ::= digits [ "." digits ] [ exponent | suffix ]
 *                | "." digits [ exponent | suffix ]
 *     exponent ::= ( "e" | "E" ) [ "+" | "-" ] digits
 *     suffix   ::= binary | decimal
 *     binary   ::= "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei"    (x 1024^n)
 *     decimal  ::= "n" | "u" | "m" | "k" | "M" | "G" | "T" | "P" | "E"
 *                                              (x 10^-9 ... 10^18)
 * with no sign (every quantity fp takes is >= 0), no spaces, no hex, no
 * "inf" or "nan". ("1E" is 10^18; "1E3" is 1000.) What each kind accepts:
 *   FP_QTY_BYTES, FP_QTY_BYTES_PER_S  a plain number, a binary suffix, or
 *       k M G T P E. Not n, u, m: a fraction of a byte is never meant, and
 *       "512m" means 0.512 bytes to Kubernetes but 512 MiB to Docker, so
 *       it is refused with both readings named. Docker's own units
 *       ("2g", "512mb", "1GB", "1KiB") are refused with the spelling to
 *       use instead (2Gi, 512Mi, ...): Docker reads them as powers of
 *       1024, Kubernetes' G, M and k as powers of 1000.
 *   FP_QTY_CORES  a plain number or n, u, m (milli-cores: "500m" is 0.5);
 *       no byte suffix.
 * Values are doubles: exact for whole numbers below 2^53 and for the
 * suffixes' products with them ("1.5Gi" is 1610612736 exactly); the
 * digits of a mantissa past its 19th significant one are dropped.
 *
 * Errors are FP_EINPUT with a message that quotes the text and says what
 * would be accepted ("\"12Q\" is not a quantity: unknown unit \"Q\" ...");
 * the caller adds the file and the field. Out of range (overflow to
 * infinity, or a non-zero value that underflows to 0: "1e400",
 * "1e-400") is FP_EINPUT too. Nothing here allocates, prints or exits.
 */
#ifndef FP_QUANTITY_H
#define FP_QUANTITY_H

#include "fp/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    FP_QTY_BYTES,          /* memory: "512Mi", "2G", 1073741824 */
    FP_QTY_BYTES_PER_S,    /* I/O and network rates: "100M", "10Mi" */
    FP_QTY_CORES           /* CPU: "500m", "1.5", "2" */
} fp_qty_kind;

/* The quantity s (a NUL-terminated string) of kind into *out. 0, or -1
 * with FP_EINPUT (*out untouched). */
int fp_quantity_parse(const char *s, fp_qty_kind kind, double *out, fp_err *err);

/* The kind's name in messages: "bytes", "bytes/s", "cores". */
const char *fp_qty_kind_name(fp_qty_kind kind);

#ifdef __cplusplus
}
#endif

#endif
