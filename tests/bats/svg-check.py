#!/usr/bin/env python3
"""tests/bats/svg-check.py - checks on fp's SVG charts and their PNG renderings.

  svg-check.py boxes FILE.svg   no two texts overlap: each text's box is
                                estimated from its font size x its length
                                (0.6 em per character, the font size high,
                                0.2 of it below the baseline), after the
                                translate()s of its groups; rotated texts
                                (the y axis title, in the left margin) are
                                left out. Point labels also stay inside the
                                plot frame.
  svg-check.py colors FILE.svg  each series of a trade-off chart has a colour
                                of its own.
  svg-check.py png FILE.png     a PNG that decodes, is not empty and is not
                                blank: more than one colour of pixel, and
                                more than 1 % of the pixels not background.
Exit 0 when the check holds; 1 with the reasons on stderr.
"""
import re
import struct
import sys
import xml.etree.ElementTree as ET
import zlib

NS = "{http://www.w3.org/2000/svg}"


def fail(msg):
    sys.stderr.write("svg-check: " + msg + "\n")
    sys.exit(1)


def texts(root):
    """(text, x0, y0, x1, y1, class) of every text not under a rotation."""
    out = []

    def walk(el, dx, dy, fs, rotated):
        tr = el.get("transform", "")
        if "rotate" in tr:
            rotated = True
        m = re.search(r"translate\(\s*([-\d.]+)[ ,]+([-\d.]+)\s*\)", tr)
        if m:
            dx += float(m.group(1))
            dy += float(m.group(2))
        if el.get("font-size"):
            fs = float(el.get("font-size"))
        if el.tag == NS + "text" and not rotated:
            s = "".join(el.itertext())
            x = float(el.get("x", 0)) + dx
            y = float(el.get("y", 0)) + dy
            w = 0.6 * fs * len(s)
            anchor = el.get("text-anchor", "start")
            x0 = x - w / 2 if anchor == "middle" else x - w if anchor == "end" else x
            out.append((s, x0, y - 0.8 * fs, x0 + w, y + 0.2 * fs, el.get("class", "")))
        for c in el:
            if c.tag != NS + "title":
                walk(c, dx, dy, fs, rotated)

    walk(root, 0.0, 0.0, 16.0, False)
    return out


def boxes(path):
    root = ET.parse(path).getroot()
    t = texts(root)
    bad = []
    for i in range(len(t)):
        for j in range(i + 1, len(t)):
            a, b = t[i], t[j]
            if not (a[0].strip() and b[0].strip()):
                continue
            if a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]:
                bad.append("%r at (%.0f, %.0f) overlaps %r at (%.0f, %.0f)" % (a[0], a[1], a[4], b[0], b[1], b[4]))
    frame = None
    for r in root.iter(NS + "rect"):
        if r.get("fill") == "none" and r.get("stroke"):
            frame = [float(r.get(k)) for k in ("x", "y", "width", "height")]
    if frame:
        fx0, fy0, fx1, fy1 = frame[0], frame[1], frame[0] + frame[2], frame[1] + frame[3]
        for s, x0, y0, x1, y1, cls in t:
            if cls == "label" and (x0 < fx0 or x1 > fx1 or y0 < fy0 or y1 > fy1):
                bad.append("label %r at (%.0f, %.0f) is outside the plot" % (s, x0, y1))
    if bad:
        fail("%s: %d overlap(s):\n  %s" % (path, len(bad), "\n  ".join(bad)))
    print("%s: %d texts, no overlap" % (path, len(t)))


def colors(path):
    root = ET.parse(path).getroot()
    seen = {}
    for g in root.iter(NS + "g"):
        if g.get("class") != "series":
            continue
        fills = {c.get("fill") for c in g.iter(NS + "circle")}
        if len(fills) != 1:
            fail("%s: series %r has colours %s" % (path, g.get("data-series"), sorted(fills)))
        col = fills.pop().lower()
        if col in seen:
            fail("%s: series %r and %r share the colour %s" % (path, seen[col], g.get("data-series"), col))
        seen[col] = g.get("data-series")
    if not seen:
        fail("%s: no series" % path)
    print("%s: %d series, %d colours" % (path, len(seen), len(seen)))


def png(path):
    data = open(path, "rb").read()
    if len(data) < 100 or data[:8] != b"\x89PNG\r\n\x1a\n":
        fail("%s: not a PNG (%d bytes)" % (path, len(data)))
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype = ihdr[0], ihdr[1], ihdr[2], ihdr[3]
    if depth != 8 or ctype not in (2, 6):
        fail("%s: unexpected PNG format (depth %d, colour type %d)" % (path, depth, ctype))
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    counts = {}
    p = 0
    for _ in range(h):
        ft = raw[p]
        line = bytearray(raw[p + 1:p + 1 + stride])
        p += 1 + stride
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ft == 1:
                line[i] = (line[i] + a) & 255
            elif ft == 2:
                line[i] = (line[i] + b) & 255
            elif ft == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ft == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pr) & 255
        for i in range(0, stride, bpp):
            k = bytes(line[i:i + bpp])
            counts[k] = counts.get(k, 0) + 1
        prev = line
    total = w * h
    bg = max(counts.values())
    if len(counts) < 2 or total - bg < total // 100:
        fail("%s: blank: %d colour(s), %d of %d pixels not background" % (path, len(counts), total - bg, total))
    print("%s: %dx%d, %d colours, %d pixels not background" % (path, w, h, len(counts), total - bg))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("boxes", "colors", "png"):
        sys.stderr.write("usage: svg-check.py boxes|colors|png FILE\n")
        sys.exit(2)
    {"boxes": boxes, "colors": colors, "png": png}[sys.argv[1]](sys.argv[2])
