"""What a message shows for a code of the contracts' vocabulary: a label in each of the five
template languages. A message carries the code (``restored``, ``wallet_payments``); the
template shows its label in the recipient's language, never the code. Pure data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from contracts.events.cases import DecisionOutcome
from contracts.vocabulary import ServiceQueue


@dataclass(frozen=True)
class Labels:
    """The labels of one vocabulary (a contract's enum), per code and language."""

    vocabulary: type[StrEnum]
    by_code: Mapping[str, Mapping[str, str]]

    def label(self, code: str, language: str) -> str | None:
        """The code's label in ``language`` (a template language); None when it has none.
        A code written with spaces for underscores (as messages requested before the labels
        were) is the same code."""
        return self.by_code.get(code.replace(" ", "_"), {}).get(language)


def _labels(vocabulary: type[StrEnum], **by_code: Mapping[str, str]) -> Labels:
    return Labels(
        vocabulary,
        {
            code: {language.replace("_", "-"): text for language, text in texts.items()}
            for code, texts in by_code.items()
        },
    )


OUTCOMES = _labels(
    DecisionOutcome,
    restored={
        "zh_CN": "已恢复",
        "en": "restored",
        "fr": "rétabli",
        "de": "wiederhergestellt",
        "ja": "復旧しました",
    },
    denied={
        "zh_CN": "申请未获批准",
        "en": "request not granted",
        "fr": "demande refusée",
        "de": "Antrag abgelehnt",
        "ja": "ご要望は承認されませんでした",
    },
    refunded={
        "zh_CN": "已退款",
        "en": "refunded",
        "fr": "remboursé",
        "de": "erstattet",
        "ja": "返金しました",
    },
    partially_refunded={
        "zh_CN": "已部分退款",
        "en": "partly refunded",
        "fr": "remboursé en partie",
        "de": "teilweise erstattet",
        "ja": "一部を返金しました",
    },
    referred_elsewhere={
        "zh_CN": "已转交其他部门处理",
        "en": "passed on to another team",
        "fr": "transmis à un autre service",
        "de": "an eine andere Stelle weitergegeben",
        "ja": "別の担当部署へ引き継ぎました",
    },
)

QUEUES = _labels(
    ServiceQueue,
    account_security={
        "zh_CN": "账号安全",
        "en": "account security",
        "fr": "sécurité du compte",
        "de": "Kontosicherheit",
        "ja": "アカウントの安全",
    },
    wallet_payments={
        "zh_CN": "钱包与支付",
        "en": "wallet and payments",
        "fr": "portefeuille et paiements",
        "de": "Wallet und Zahlungen",
        "ja": "ウォレットとお支払い",
    },
    minors_family={
        "zh_CN": "未成年人与家庭",
        "en": "minors and family",
        "fr": "mineurs et famille",
        "de": "Minderjährige und Familie",
        "ja": "未成年者とご家族",
    },
    commerce_disputes={
        "zh_CN": "交易与投诉",
        "en": "commerce disputes",
        "fr": "litiges commerciaux",
        "de": "Handelsstreitigkeiten",
        "ja": "取引に関するお問い合わせ",
    },
    general={
        "zh_CN": "综合服务",
        "en": "general enquiries",
        "fr": "accueil général",
        "de": "allgemeine Anliegen",
        "ja": "総合窓口",
    },
)
