"""Shrink the ICU data library of a Linux bundle to what Raison Garder's Qt needs.

    python installers/linux/icu_data.py <bundle folder> [--languages en,fr]

PySide6's Linux wheels ship ICU 73 with all of its data: `libicudata.so.73` is 32 MB, a third
of the bundle, for some 800 locales, Chinese/Japanese/Thai word-break dictionaries and every
legacy code page. Qt Core uses ICU for collation (QCollator, localeAwareCompare), case mapping,
normalisation, IDNA and text boundaries; dates and numbers come from Qt's own CLDR tables.

This script keeps, with ICU's own tools (`icupkg` from Debian's icu-devtools to list and remove
items, `genccode` to turn the package back into an object, `ld` to link it):
  - every non-locale item: Unicode properties, normalisation, the collation root (ucadata),
    break rules, time zones, likely subtags, plural rules, converter aliases...;
  - locale resources of the root and of the app's languages (English, French), in every tree
    (collation, break iteration, currencies, languages, regions, units, zones, number spelling);
  - single-byte code pages (a few KB each); multi-byte CJK code page tables go;
and leaves out the transliterators, which Qt never opens. The word dictionaries of scripts written
without spaces (CJK, Thai, Lao, Khmer, Burmese: 3 MB) stay: the break rules of the root depend
on them, and icupkg refuses a package with a dangling dependency. A converter whose delta table
builds on a dropped one goes with it. A locale ICU no longer has falls back to the root, as ICU
does for any locale it does not know: sorting stays Unicode's default order.

The library keeps its soname and its one exported symbol (`icudtNN_dat`), so `libicuuc` loads it
unchanged. Run by scripts/package.sh after PyInstaller; exits non-zero (and leaves the bundle
untouched) when a tool is missing, naming the Debian package.
"""

from __future__ import annotations

import argparse
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

DEFAULT_LANGUAGES = ("en", "fr")
# Trees whose locale files are kept for the chosen languages only (the top level is "").
LOCALE_TREES = ("", "brkitr", "coll", "curr", "lang", "rbnf", "region", "unit", "zone")
DROPPED_TREES = ("translit",)  # transliterators: Qt never calls utrans
# A resource bundle named like a locale: root, en, fr_CA, sr_Latn_BA, yue_Hant...
_LOCALE = re.compile(r"^(root|[a-z]{2,3}(_[A-Za-z0-9]*)*)\.res$")  # "de_": de's keyword variants
SINGLE_BYTE_MAX = 24 * 1024  # single-byte code page tables are 2-20 KB; CJK ones 50-550 KB
TOOLS = {"icupkg": "icu-devtools", "genccode": "icu-devtools", "ld": "binutils"}


def kept(item: str, languages: tuple[str, ...], size: int) -> bool:
    """Whether the package item `item` ("coll/fr.res", "ibm-5348_P110-1997.cnv"...) stays."""
    tree, _, name = item.rpartition("/")
    if tree in DROPPED_TREES:
        return False
    if name.endswith(".cnv"):
        return size <= SINGLE_BYTE_MAX
    match = _LOCALE.match(name)
    if tree in LOCALE_TREES and match:
        language = match.group(1).split("_", 1)[0]
        return language == "root" or language in languages
    return True


def data_symbol(library: Path) -> tuple[str, int, int]:
    """(name, file offset, size) of the `icudtNN_dat` symbol of an ELF64 little-endian library."""
    blob = library.read_bytes()
    if blob[:6] != b"\x7fELF\x02\x01":
        raise ValueError(f"{library} is not a 64-bit little-endian ELF library")
    shoff, = struct.unpack_from("<Q", blob, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", blob, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", blob, shoff + i * shentsize) for i in range(shnum)]
    for _name, kind, _flags, _addr, offset, size, link, _info, _align, entsize in sections:
        if kind != 11:  # SHT_DYNSYM
            continue
        strtab = sections[link][4]
        for pos in range(offset, offset + size, entsize):
            st_name, _st_info, _other, shndx, value, st_size = struct.unpack_from("<IBBHQQ", blob, pos)
            end = blob.index(b"\0", strtab + st_name)
            name = blob[strtab + st_name:end].decode()
            if re.fullmatch(r"icudt\d+_dat", name) and 0 < shndx < len(sections):
                sec = sections[shndx]
                return name, value - sec[3] + sec[4], st_size
    raise ValueError(f"no icudtNN_dat symbol in {library}")


def shrink(library: Path, languages: tuple[str, ...], work: Path) -> tuple[int, int]:
    """Replace `library` by its reduced version. Returns (bytes before, bytes after)."""
    symbol, offset, size = data_symbol(library)
    blob = library.read_bytes()
    package = work / f"{symbol[:-4]}l.dat"  # icudt73l.dat: the name icupkg expects for x86
    package.write_bytes(blob[offset:offset + size])
    items = work / "items"
    items.mkdir()
    subprocess.run(["icupkg", "-x", "*", "-d", str(items), str(package)], check=True,
                   capture_output=True)
    listed = subprocess.run(["icupkg", "-l", str(package)], check=True, capture_output=True,
                            text=True).stdout.split()
    removed = [i for i in listed if not kept(i, languages, (items / i).stat().st_size)]
    small = work / "small" / package.name
    small.parent.mkdir()
    remove_list = work / "remove.txt"
    for _attempt in range(5):
        remove_list.write_text("\n".join(removed) + "\n", encoding="utf-8")
        done = subprocess.run(["icupkg", "-r", str(remove_list), str(package), str(small)],
                              capture_output=True, text=True, check=False)
        if done.returncode == 0:
            break
        # "Item X depends on missing item Y": delta converters go with their base table.
        dangling = set(re.findall(r"Item (\S+) depends on missing item", done.stderr + done.stdout))
        if not dangling or any(not d.endswith(".cnv") for d in dangling):
            raise RuntimeError(f"icupkg -r failed: {done.stderr.strip() or done.stdout.strip()}")
        removed += sorted(dangling - set(removed))
    else:
        raise RuntimeError("icupkg -r: dependencies still dangling after 5 rounds")
    subprocess.run(["genccode", "-q", "-o", "-m", str(library), "-e", symbol[:-4], "-d", str(work),
                    str(small)],
                   check=True, capture_output=True)
    objects = [p for p in work.glob("*.o")]
    if len(objects) != 1:
        raise RuntimeError(f"genccode made {len(objects)} objects, expected one")
    soname = library.name
    out = work / soname
    subprocess.run(["ld", "-shared", "-soname", soname, "-z", "noexecstack", "--hash-style=gnu",
                    "-o", str(out), str(objects[0])], check=True, capture_output=True)
    if data_symbol(out)[0] != symbol:
        raise RuntimeError(f"the rebuilt {soname} lacks {symbol}")
    before = library.stat().st_size
    shutil.copyfile(out, library)
    print(f"{soname}: {before / 1e6:.1f} MB -> {library.stat().st_size / 1e6:.1f} MB "
          f"({len(listed) - len(removed)} of {len(listed)} items kept, languages "
          f"{', '.join(languages)})")
    return before, library.stat().st_size


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("bundle", type=Path)
    p.add_argument("--languages", default=",".join(DEFAULT_LANGUAGES))
    args = p.parse_args(argv)
    missing = [f"{tool} (Debian package {pkg})" for tool, pkg in TOOLS.items() if not shutil.which(tool)]
    if missing:
        print("icu_data.py: missing " + ", ".join(missing) + "; run `sudo bash scripts/system-deps.sh "
              "package`", file=sys.stderr)
        return 3
    libraries = sorted(args.bundle.rglob("libicudata.so.*"))
    if not libraries:
        print(f"icu_data.py: no libicudata.so.* under {args.bundle}: nothing to shrink")
        return 0
    languages = tuple(x.strip() for x in args.languages.split(",") if x.strip())
    for library in libraries:
        if library.is_symlink():
            continue
        with tempfile.TemporaryDirectory(prefix="icu-data-") as tmp:
            shrink(library, languages, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
