"""Which text encoding a CSV/JSONL export uses.

Chinese core-banking systems export GBK/GB18030 by default, Excel's "CSV UTF-8"
writes a byte-order mark, everything else writes UTF-8. The first bytes decide:
a BOM names its encoding; text that decodes as UTF-8 is UTF-8 (a GBK file with
Chinese in it practically never does); anything else is GB18030, the superset
of GBK and GB2312 that decodes every GBK file. A sample with a corrupt byte is in
whichever of the two leaves fewer bytes undecoded.
"""

from __future__ import annotations

import codecs

__all__ = ["SAMPLE_BYTES", "detect_encoding", "normal_encoding"]

SAMPLE_BYTES = 1 << 20

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def detect_encoding(sample: bytes) -> str:
    """The encoding of a file that starts with ``sample``.

    >>> detect_encoding("贷款编号".encode("gbk"))
    'gb18030'
    >>> detect_encoding(codecs.BOM_UTF8 + b"loan_id")
    'utf-8-sig'
    >>> detect_encoding("贷款编号".encode("utf-8"))
    'utf-8'
    """
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    if _decodes(sample, "utf-8"):
        return "utf-8"
    if _decodes(sample, "gb18030"):
        return "gb18030"
    # neither: a file with a stray bad byte (a corrupt line), read with
    # errors="surrogateescape" so that only the records holding it are rejected; it is
    # in the encoding that leaves fewer bytes undecoded (a GBK file read as UTF-8 would
    # lose every line with Chinese in it)
    if _undecoded(sample, "gb18030") < _undecoded(sample, "utf-8"):
        return "gb18030"
    return "utf-8"


def _undecoded(sample: bytes, encoding: str) -> int:
    text = sample.decode(encoding, errors="surrogateescape")
    return sum(1 for char in text if "\udc80" <= char <= "\udcff")


def _decodes(sample: bytes, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        decoder.decode(sample, final=False)  # a character cut at the end of the sample is fine
    except UnicodeDecodeError:
        return False
    return True


def normal_encoding(name: str) -> str:
    """The codec for a user-given encoding name; GBK and GB2312 read as GB18030.

    GB18030 decodes every GBK file the same way and also the characters GBK
    lacks, which some exports contain anyway. UTF-8 skips a leading BOM.

    Raises:
        LookupError: not an encoding Python knows.
    """
    codec = codecs.lookup(name).name
    if codec in ("gbk", "gb2312", "gb18030"):
        return "gb18030"
    if codec == "utf-8":
        return "utf-8-sig"
    return codec
