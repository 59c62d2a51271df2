"""Draws `tmux capture-pane -e -p` captures (text with SGR colour sequences) as PNG pictures.

Usage: ansi_to_png.py --out DIR CAPTURE.ans [...]   (DIR/NAME.png for each CAPTURE)

Understands what tmux emits: SGR 0/1/2/3/4/7/22/23/24/27, 30-37/90-97, 40-47/100-107, 38;5;N / 48;5;N,
38;2;R;G;B / 48;2;R;G;B and 39/49. Wide characters (East Asian W/F) take two cells, as in the terminal.
"""
import argparse
import os
import re
import unicodedata

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = "/usr/share/fonts/truetype/dejavu"
SIZE = 15
DEFAULT_FG = (0xd4, 0xd4, 0xd4)
DEFAULT_BG = (0x1e, 0x1e, 0x1e)
BASIC = [
    (0x00, 0x00, 0x00), (0xcd, 0x31, 0x31), (0x0d, 0xbc, 0x79), (0xe5, 0xe5, 0x10),
    (0x24, 0x72, 0xc8), (0xbc, 0x3f, 0xbc), (0x11, 0xa8, 0xcd), (0xe5, 0xe5, 0xe5),
    (0x66, 0x66, 0x66), (0xf1, 0x4c, 0x4c), (0x23, 0xd1, 0x8b), (0xf5, 0xf5, 0x43),
    (0x3b, 0x8e, 0xea), (0xd6, 0x70, 0xd6), (0x29, 0xb8, 0xdb), (0xff, 0xff, 0xff),
]


def xterm(n):
    """The xterm 256-colour palette."""
    if n < 16:
        return BASIC[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    v = 8 + (n - 232) * 10
    return (v, v, v)


class Style:
    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = None
        self.bg = None
        self.bold = self.dim = self.italic = self.underline = self.reverse = False

    def copy(self):
        s = Style()
        s.__dict__.update(self.__dict__)
        return s

    def apply(self, params):
        codes = [int(p) if p else 0 for p in params.split(";")] if params else [0]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == 0:
                self.reset()
            elif c == 1:
                self.bold = True
            elif c == 2:
                self.dim = True
            elif c == 3:
                self.italic = True
            elif c == 4:
                self.underline = True
            elif c == 7:
                self.reverse = True
            elif c == 22:
                self.bold = self.dim = False
            elif c == 23:
                self.italic = False
            elif c == 24:
                self.underline = False
            elif c == 27:
                self.reverse = False
            elif 30 <= c <= 37:
                self.fg = BASIC[c - 30]
            elif 90 <= c <= 97:
                self.fg = BASIC[c - 90 + 8]
            elif 40 <= c <= 47:
                self.bg = BASIC[c - 40]
            elif 100 <= c <= 107:
                self.bg = BASIC[c - 100 + 8]
            elif c == 39:
                self.fg = None
            elif c == 49:
                self.bg = None
            elif c in (38, 48) and i + 1 < len(codes):
                if codes[i + 1] == 5 and i + 2 < len(codes):
                    colour = xterm(codes[i + 2])
                    i += 2
                elif codes[i + 1] == 2 and i + 4 < len(codes):
                    colour = tuple(codes[i + 2:i + 5])
                    i += 4
                else:
                    colour = None
                if c == 38:
                    self.fg = colour
                else:
                    self.bg = colour
            i += 1

    def colours(self):
        fg = self.fg or DEFAULT_FG
        bg = self.bg or DEFAULT_BG
        if self.reverse:
            fg, bg = bg, fg
        if self.dim:
            fg = tuple((a + b) // 2 for a, b in zip(fg, bg))
        return fg, bg


SGR = re.compile(r"\x1b\[([0-9;]*)m")
OTHER_ESCAPE = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|\][^\x07]*\x07|[()][0-9A-Za-z])")


def cells(line, style):
    """Splits one captured line into (character, style, width) cells; the style carries over to the next line."""
    out = []
    pos = 0
    while pos < len(line):
        m = SGR.match(line, pos)
        if m:
            style.apply(m.group(1))
            pos = m.end()
            continue
        m = OTHER_ESCAPE.match(line, pos)
        if m:
            pos = m.end()
            continue
        ch = line[pos]
        pos += 1
        if unicodedata.combining(ch) and out:
            c, s, w = out[-1]
            out[-1] = (c + ch, s, w)
            continue
        width = 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
        out.append((ch, style.copy(), width))
    return out


def render(path, out_dir, columns, rows):
    regular = ImageFont.truetype(os.path.join(FONT_DIR, "DejaVuSansMono.ttf"), SIZE)
    bold = ImageFont.truetype(os.path.join(FONT_DIR, "DejaVuSansMono-Bold.ttf"), SIZE)
    ascent, descent = regular.getmetrics()
    cw = round(regular.getlength("M"))
    ch = ascent + descent + 2
    pad = 12
    image = Image.new("RGB", (columns * cw + 2 * pad, rows * ch + 2 * pad), DEFAULT_BG)
    draw = ImageDraw.Draw(image)
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    style = Style()
    for y, line in enumerate(lines[:rows]):
        x = 0
        top = pad + y * ch
        row = cells(line, style)
        for char, s, width in row:
            fg, bg = s.colours()
            left = pad + x * cw
            draw.rectangle([left, top, left + width * cw - 1, top + ch - 1], fill=bg)
            if char != " ":
                draw.text((left, top + 1), char, font=bold if s.bold else regular, fill=fg)
            if s.underline:
                draw.line([left, top + ch - 2, left + width * cw - 1, top + ch - 2], fill=fg)
            x += width
        # The rest of the line keeps the last background (tmux trims trailing blanks).
        if row and x < columns:
            _, bg = row[-1][1].colours() if row[-1][1].bg or row[-1][1].reverse else (None, DEFAULT_BG)
            if bg != DEFAULT_BG:
                draw.rectangle([pad + x * cw, top, pad + columns * cw - 1, top + ch - 1], fill=bg)
    name = os.path.splitext(os.path.basename(path))[0] + ".png"
    image.save(os.path.join(out_dir, name), optimize=True)
    return name


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="directory for the pictures")
    parser.add_argument("--columns", type=int, default=120)
    parser.add_argument("--rows", type=int, default=34)
    parser.add_argument("captures", nargs="+")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for capture in args.captures:
        print(render(capture, args.out, args.columns, args.rows))


if __name__ == "__main__":
    main()
