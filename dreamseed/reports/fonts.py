"""A compact Korean font for PDFs, cut once per machine from Debian's fonts-noto-cjk.

Why: WeasyPrint subsets every embedded font for every document, keeping each glyph's original
id. Noto Sans CJK KR holds 65,535 glyphs with Hangul at high ids, so each Korean report paid
~90 ms and ~250 KB for the font alone. Cut down to Latin, punctuation and the 2,350 Hangul
syllables of KS X 1001 (which cover everyday Korean and nearly every name), the same text
costs a fraction of that. A syllable outside the set falls back to the full system font, as
`font-family` lists it next, so nothing is ever missing: that one report is just slower.

The cut fonts are written to a cache folder on first use (about a second per weight, fontTools
is a WeasyPrint dependency) and reused by every worker process afterwards. Nothing here is
required: if the system font or fontTools is missing, reports use the system fonts directly.
"""

import hashlib
import logging
import os
import tempfile
from functools import cache
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

FAMILY = "DreamSeed Korean"
SOURCE_FAMILY = "Noto Sans CJK KR"
SOURCE_FILES = {
    "normal": "NotoSansCJK-Regular.ttc",
    "bold": "NotoSansCJK-Bold.ttc",
}
SEARCH_DIRS = [Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts")]
VERSION = "1"  # bump to regenerate cached cuts when the character set changes

# Letters, digits and the symbols the reports print (✓ ✗ ± θ – · … ≤ ≥ − ×), CJK punctuation,
# Hangul compatibility jamo and the KS X 1001 Hangul syllables.
_RANGES = [
    (0x0020, 0x007E),
    (0x00A0, 0x017F),
    (0x0391, 0x03C9),
    (0x2010, 0x2044),
    (0x2190, 0x2193),
    (0x2212, 0x2212),
    (0x2264, 0x2265),
    (0x2713, 0x2717),
    (0x3000, 0x3011),
    (0x3131, 0x318E),
    (0xFF01, 0xFF5E),
]


def _characters() -> list[int]:
    codes = {code for low, high in _RANGES for code in range(low, high + 1)}
    codes |= {
        code
        for code in range(0xAC00, 0xD7A4)
        if len(chr(code).encode("euc_kr", errors="ignore")) == 2
    }
    return sorted(codes)


def _find(filename: str) -> Path | None:
    for folder in SEARCH_DIRS:
        direct = folder / filename
        if direct.exists():
            return direct
        for found in folder.rglob(filename) if folder.exists() else ():
            return found
    return None


def _cache_dir() -> Path:
    folder = getattr(settings, "REPORTS_FONT_CACHE", None)
    return Path(folder) if folder else Path(tempfile.gettempdir()) / "dreamseed-fonts"


def _cut(source: Path, target: Path) -> None:
    from fontTools import subset
    from fontTools.ttLib import TTCollection

    collection = TTCollection(str(source), lazy=True)
    index = next(
        number
        for number, font in enumerate(collection.fonts)
        if font["name"].getDebugName(1) == SOURCE_FAMILY
    )
    options = subset.Options()
    options.font_number = index
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    font = subset.load_font(str(source), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=_characters())
    subsetter.subset(font)
    # A name of its own: it is not the upstream font any more (and must not be taken for it).
    names = font["name"]
    for record in list(names.names):
        if record.nameID in (1, 4, 6, 16):
            names.removeNames(nameID=record.nameID)
    style = "Bold" if "Bold" in source.name else "Regular"
    names.setName(FAMILY, 1, 3, 1, 0x409)
    names.setName(f"{FAMILY} {style}", 4, 3, 1, 0x409)
    names.setName(f"DreamSeedKorean-{style}", 6, 3, 1, 0x409)
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    subset.save_font(font, str(partial), options)
    os.replace(partial, target)  # atomic: parallel workers never read half a font


@cache
def korean_font_faces() -> str:
    """@font-face rules for the compact Korean font (file: URLs), or "" to use system fonts."""
    rules = []
    try:
        folder = _cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        for weight, filename in SOURCE_FILES.items():
            source = _find(filename)
            if source is None:
                return ""
            stat = source.stat()
            key = hashlib.sha1(
                f"{VERSION}:{source}:{stat.st_size}:{stat.st_mtime_ns}".encode()
            ).hexdigest()[:12]
            target = folder / f"dreamseed-korean-{weight}-{key}.otf"
            if not target.exists():
                _cut(source, target)
            rules.append(
                f'@font-face {{ font-family: "{FAMILY}"; font-weight: {weight}; '
                f'src: url("{target.as_uri()}"); }}'
            )
    except Exception:
        # Reports stay correct with the system fonts; they are only slower and larger.
        logger.exception("could not prepare the compact Korean font; using system fonts")
        return ""
    return "\n".join(rules)
