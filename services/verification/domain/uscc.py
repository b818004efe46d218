"""The unified social credit code (统一社会信用代码) of GB 32100-2015.

18 characters from a 31-character alphabet (digits and capitals without I, O, Z, S, V):

    position 1      registration authority (1 机构编制, 5 民政, 9 市场监管/工商, Y 其他, ...)
    position 2      organization category within that authority
    positions 3-8   administrative division code (digits)
    positions 9-17  organization code (GB 11714, its own check character at position 17)
    position 18     check character over positions 1-17

Check character: sum of value(c_i) * w_i with w_i = 3^(i-1) mod 31; C18 = 31 - sum mod 31
(31 maps to 0). The organization code's check: weights 3 7 9 10 5 8 4 2, C9 = 11 - sum mod 11
(10 -> X, 11 -> 0).
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUES = {char: value for value, char in enumerate(ALPHABET)}
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28
AUTHORITIES = set("123456789ANY")
ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def check_character(first17: str) -> str:
    total = sum(VALUES[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def organization_code_check(first8: str) -> str:
    total = sum(_org_value(c) * w for c, w in zip(first8, ORG_CODE_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def _org_value(char: str) -> int:
    return int(char) if char.isdigit() else ord(char) - ord("A") + 10


def uscc_problem(code: str) -> str | None:
    """Why ``code`` is not a valid unified social credit code, or None when it is."""
    if len(code) != 18:
        return "a unified social credit code has 18 characters"
    if any(c not in VALUES for c in code):
        return "a unified social credit code uses digits and capitals other than I, O, Z, S, V"
    if code[0] not in AUTHORITIES:
        return "the first character is not a registration authority code"
    if not code[2:8].isdigit():
        return "characters 3-8 must be an administrative division code (digits)"
    if organization_code_check(code[8:16]) != code[16]:
        return "the organization code (characters 9-17) has a wrong check character"
    if check_character(code[:17]) != code[17]:
        return "the check character (the 18th) does not match"
    return None


def is_valid_uscc(code: str) -> bool:
    return uscc_problem(code) is None
