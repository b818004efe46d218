"""The unified social credit code's check digits and the look-alike domain detector."""

from __future__ import annotations

import pytest

from contracts.events.verification_organizations import LookalikeTechnique as T
from services.verification.domain.lookalike import check_domains, find_lookalike, normalize
from services.verification.domain.uscc import (
    WEIGHTS,
    check_character,
    is_valid_uscc,
    organization_code_check,
    uscc_problem,
)

pytestmark = pytest.mark.unit

# Published codes (the GB 32100-2015 worked example and well-known companies) and codes
# built here with both check characters right.
VALID = [
    "91350100M000100Y43",  # the standard's example
    "9144030071526726XG",  # Tencent Technology (Shenzhen) Co., Ltd.
    "91110000802100433B",  # China Petroleum & Chemical Corporation
]


def test_weights_are_powers_of_three_mod_31() -> None:
    assert WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


@pytest.mark.parametrize("code", VALID)
def test_valid_codes(code: str) -> None:
    assert uscc_problem(code) is None
    assert is_valid_uscc(code)


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("91350100M000100Y4", "18 characters"),
        ("91350100M000100Y44", "check character (the 18th)"),
        ("91350100M000100Y53", "organization code"),
        ("91350100M00O100Y43", "other than I, O, Z, S, V"),  # letter O
        ("91350100m000100Y43", "other than I, O, Z, S, V"),  # lower case
        ("B1350100M000100Y43", "registration authority"),
        ("913501A0M000100Y43", "administrative division"),
        ("9144030071526726XH", "check character (the 18th)"),
    ],
)
def test_invalid_codes_say_why(code: str, problem: str) -> None:
    found = uscc_problem(code)
    assert found is not None
    assert problem in found


def test_every_single_character_change_of_the_check_is_caught() -> None:
    code = VALID[0]
    for replacement in "0123456789ABCDEFGHJKLMNPQRTUWXY":
        if replacement != code[17]:
            assert not is_valid_uscc(code[:17] + replacement)


def test_check_characters() -> None:
    assert check_character("91350100M000100Y4") == "3"
    assert organization_code_check("M000100Y") == "4"
    assert organization_code_check("71526726") == "X"  # 10 -> X


# -- look-alike domains -------------------------------------------------------------------

TRUE_POSITIVES = [
    ("sh-byd.com", "byd.com", T.BRAND_EMBEDDED),
    ("byd-service.com", "byd.com", T.BRAND_EMBEDDED),
    ("byd2024.com", "byd.com", T.BRAND_EMBEDDED),
    ("b\u0443d.com", "byd.com", T.HOMOGLYPH),  # Cyrillic u (U+0443)
    ("xn--bd-umc.com", "byd.com", T.HOMOGLYPH),  # the same, as punycode
    ("bdy.com", "byd.com", T.SWAPPED_LETTERS),
    ("byyd.com", "byd.com", T.DOUBLED_LETTER),
    ("byd.cn", "byd.com", T.OTHER_TOP_LEVEL_DOMAIN),
    ("byd.com.cn", "byd.com", T.OTHER_TOP_LEVEL_DOMAIN),
    ("byd.com.evil.cn", "byd.com", T.BRAND_IN_SUBDOMAIN),
    ("tencent-support.com", "tencent.com", T.BRAND_EMBEDDED),
    ("tencentservice.com", "tencent.com", T.BRAND_EMBEDDED),
    ("tencnet.com", "tencent.com", T.SWAPPED_LETTERS),
    ("tencemt.com", "tencent.com", T.REPLACED_LETTER),
    ("tecent.com", "tencent.com", T.MISSING_LETTER),
    ("tenccent.com", "tencent.com", T.DOUBLED_LETTER),
    ("t\u0435ncent.com", "tencent.com", T.HOMOGLYPH),  # Cyrillic e (U+0435)
    ("rnicrosoft.com", "microsoft.com", T.HOMOGLYPH),  # rn reads as m
    ("micros0ft.com", "microsoft.com", T.HOMOGLYPH),  # zero for o
    ("t\u00e9ncent.com", "tencent.com", T.HOMOGLYPH),  # accent
]

FALSE_POSITIVES = [
    ("byd.com", "byd.com"),  # the official domain
    ("BYD.com.", "byd.com"),  # the same, spelled differently
    ("mail.byd.com", "byd.com"),  # a subdomain of it
    ("bydgoszcz.pl", "byd.com"),  # a city: short brands are not matched inside words
    ("bad.com", "byd.com"),  # one letter off, but 3-letter names are ordinary words
    ("bd.com", "byd.com"),  # missing letters only count for 4+ letter names
    ("gmail.com", "byd.com"),
    ("qq.com", "tencent.com"),
    ("tencent.com", "tencent.com"),
    ("cloud.tencent.com", "tencent.com"),
    ("intent.com", "tencent.com"),
    ("microsoft.com", "microsoft.com"),
    ("example.org", "microsoft.com"),
]


@pytest.mark.parametrize(("domain", "official", "technique"), TRUE_POSITIVES)
def test_lookalikes_are_flagged(domain: str, official: str, technique: T) -> None:
    found = find_lookalike(domain, official)
    assert found is not None, domain
    assert technique in found.techniques
    assert found.resembles == official


@pytest.mark.parametrize(("domain", "official"), FALSE_POSITIVES)
def test_legitimate_or_unrelated_domains_are_not(domain: str, official: str) -> None:
    assert find_lookalike(domain, official) is None


def test_punycode_is_decoded() -> None:
    assert normalize("xn--bd-umc.com") == "b\u0443d.com"
    assert "b\u0443d.com".encode("idna") == b"xn--bd-umc.com"


def test_check_domains_skips_any_domain_that_is_official() -> None:
    found = check_domains(["byd.com", "sh-byd.com", "gmail.com"], ["byd.com", "tencent.com"])
    assert [(f.domain, f.resembles) for f in found] == [("sh-byd.com", "byd.com")]
