"""Look-alike domain detection (impersonation guard): pure, no I/O.

``find_lookalike(domain, protected)`` says whether ``domain`` imitates ``protected`` without
being it (or one of its subdomains), and how:

- homoglyphs: characters from other scripts or digits that read the same (a Cyrillic ``u``,
  U+0443, in ``byd.com``, ``0`` for ``o``, ``rn`` for ``m``), punycode (``xn--``) decoded first;
- the brand embedded in another name: ``sh-byd.com``, ``byd-service.com`` (hyphen or digit
  separated tokens; plain substrings only for brands of 4+ characters, so ``bydgoszcz.pl``
  is not taken for ``byd.com``);
- the brand as a subdomain of someone else's domain: ``byd.com.evil.cn``;
- typing slips: swapped adjacent letters, a doubled letter, a missing letter (4+ characters),
  a replaced letter (5+ characters; shorter names are too close to ordinary words);
- the same name under another top-level domain: ``byd.cn``, ``byd.com.cn``.

What it does not do: judge whether an unrelated domain is legitimate (that is the reviewer's
call), nor look beyond one edit.
"""

from __future__ import annotations

import contextlib
import unicodedata
from dataclasses import dataclass

from contracts.events.verification_organizations import LookalikeTechnique as Technique

# second-level registries under a country code: the registrable name is one label further left
MULTI_LABEL_SUFFIXES = frozenset(
    {
        "com.cn",
        "net.cn",
        "org.cn",
        "gov.cn",
        "edu.cn",
        "ac.cn",
        "com.hk",
        "com.tw",
        "com.sg",
        "com.au",
        "co.uk",
        "org.uk",
        "co.jp",
        "co.kr",
    }
)

# characters that read like a Latin letter (Unicode TR39 confusables, the common ones),
# written as escapes so that the source itself is unambiguous
CONFUSABLES: dict[str, str] = {
    # Cyrillic
    "\u0430": "a",
    "\u0432": "b",
    "\u0435": "e",
    "\u0451": "e",
    "\u04bb": "h",
    "\u0456": "i",
    "\u0457": "i",
    "\u0458": "j",
    "\u043a": "k",
    "\u04cf": "l",
    "\u043c": "m",
    "\u043d": "h",
    "\u043e": "o",
    "\u0440": "p",
    "\u0441": "c",
    "\u0442": "t",
    "\u0443": "y",
    "\u04af": "y",
    "\u0445": "x",
    "\u0455": "s",
    "\u0501": "d",
    "\u051b": "q",
    "\u051d": "w",
    "\u043f": "n",
    "\u044c": "b",
    # Greek
    "\u03b1": "a",
    "\u03b2": "b",
    "\u03b5": "e",
    "\u03b7": "n",
    "\u03b9": "i",
    "\u03ba": "k",
    "\u03bd": "v",
    "\u03bf": "o",
    "\u03c1": "p",
    "\u03c4": "t",
    "\u03c5": "u",
    "\u03c7": "x",
    "\u03c9": "w",
    # Latin look-alikes and digits
    "\u0261": "g",
    "\u0131": "i",
    "\u0269": "i",
    "\u0142": "l",
    "\u0251": "a",
    "0": "o",
    "1": "l",
    "|": "l",
}
MULTI_CHAR_CONFUSABLES = (("rn", "m"), ("vv", "w"), ("cl", "d"))


@dataclass(frozen=True)
class Lookalike:
    domain: str
    resembles: str
    techniques: tuple[Technique, ...]


def normalize(domain: str) -> str:
    """Lower-case, no trailing dot, punycode labels decoded to Unicode."""
    labels = domain.strip().rstrip(".").lower().split(".")
    decoded = []
    for label in labels:
        if label.startswith("xn--"):
            with contextlib.suppress(UnicodeError):
                label = label.encode("ascii").decode("idna")
        decoded.append(label)
    return ".".join(decoded)


def skeleton(text: str) -> str:
    """What a reader sees: accents dropped, confusable characters mapped to Latin."""
    stripped = "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    )
    mapped = "".join(CONFUSABLES.get(c, c) for c in stripped)
    for many, one in MULTI_CHAR_CONFUSABLES:
        mapped = mapped.replace(many, one)
    return mapped


def split_domain(domain: str) -> tuple[list[str], str, str]:
    """(subdomain labels, registrable label, public suffix) of a normalized domain."""
    labels = domain.split(".")
    if len(labels) >= 3 and ".".join(labels[-2:]) in MULTI_LABEL_SUFFIXES:
        return labels[:-3], labels[-3], ".".join(labels[-2:])
    if len(labels) >= 2:
        return labels[:-2], labels[-2], labels[-1]
    return [], labels[0], ""


def is_same_or_subdomain(domain: str, official: str) -> bool:
    return domain == official or domain.endswith("." + official)


def find_lookalike(domain: str, protected: str) -> Lookalike | None:
    candidate, original = normalize(domain), normalize(protected)
    if is_same_or_subdomain(candidate, original):
        return None
    subdomains, label, suffix = split_domain(candidate)
    _, brand, brand_suffix = split_domain(original)
    techniques: list[Technique] = []
    seen_label, seen_brand = skeleton(label), skeleton(brand)
    if (label != seen_label and seen_label == seen_brand) or (
        skeleton(candidate) == skeleton(original) and candidate != original
    ):
        techniques.append(Technique.HOMOGLYPH)
    if seen_label == seen_brand and suffix != brand_suffix:
        techniques.append(Technique.OTHER_TOP_LEVEL_DOMAIN)
    if seen_label != seen_brand and _embeds(seen_label, seen_brand):
        techniques.append(Technique.BRAND_EMBEDDED)
    if any(skeleton(sub) == seen_brand for sub in subdomains):
        techniques.append(Technique.BRAND_IN_SUBDOMAIN)
    slip = _typing_slip(seen_label, seen_brand)
    if slip is not None:
        techniques.append(slip)
    if not techniques:
        return None
    return Lookalike(domain=candidate, resembles=original, techniques=tuple(techniques))


def _embeds(label: str, brand: str) -> bool:
    tokens = [t for t in "".join(c if c.isalpha() else " " for c in label).split() if t]
    if brand in tokens:
        return True
    return len(brand) >= 4 and brand in label


def _typing_slip(label: str, brand: str) -> Technique | None:
    if label == brand or len(brand) < 3:
        return None
    if len(label) == len(brand):
        diffs = [i for i, (a, b) in enumerate(zip(label, brand, strict=True)) if a != b]
        if (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and label[diffs[0]] == brand[diffs[1]]
            and label[diffs[1]] == brand[diffs[0]]
        ):
            return Technique.SWAPPED_LETTERS
        if len(diffs) == 1 and len(brand) >= 5:
            return Technique.REPLACED_LETTER
        return None
    if len(label) == len(brand) + 1:
        for i in range(len(label)):
            if label[:i] + label[i + 1 :] == brand:
                doubled = (i > 0 and label[i] == label[i - 1]) or (
                    i + 1 < len(label) and label[i] == label[i + 1]
                )
                return Technique.DOUBLED_LETTER if doubled else None
        return None
    if len(label) + 1 == len(brand) and len(brand) >= 4:
        for i in range(len(brand)):
            if brand[:i] + brand[i + 1 :] == label:
                return Technique.MISSING_LETTER
    return None


def check_domains(domains: list[str], protected: list[str]) -> list[Lookalike]:
    """Every look-alike among ``domains`` of any of the ``protected`` domains (one per domain)."""
    found = []
    for domain in domains:
        for official in protected:
            if is_same_or_subdomain(normalize(domain), normalize(official)):
                break
        else:
            for official in protected:
                match = find_lookalike(domain, official)
                if match is not None:
                    found.append(match)
                    break
    return found
