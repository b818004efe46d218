# ruff: noqa: RUF001  (full-width punctuation is correct in Chinese and Japanese text)
"""What check-in tells a person, in zh-CN, en, fr, de and ja. Pure.

The names of the queues, the ways forward a refusal offers, a refusal's sentence and a
ticket's place. A person never sees an internal code: a frontend gets the codes as data and
these texts to show. A language is chosen as the notifications service does: exact tag →
same language → English. Times are the site's local time (the caller formats them in the
site's zone)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from contracts.vocabulary import ServiceQueue

LANGUAGES = ("zh-CN", "en", "fr", "de", "ja")
FALLBACK = "en"


class Alternative(StrEnum):
    """A way forward offered when no ticket can be issued now."""

    APPOINTMENT = "appointment"
    CALLBACK = "callback"


QUEUE_LABELS: dict[ServiceQueue, dict[str, str]] = {
    ServiceQueue.ACCOUNT_SECURITY: {
        "zh-CN": "账号安全",
        "en": "Account security",
        "fr": "Sécurité du compte",
        "de": "Kontosicherheit",
        "ja": "アカウントのセキュリティ",
    },
    ServiceQueue.WALLET_PAYMENTS: {
        "zh-CN": "钱包与支付",
        "en": "Wallet and payments",
        "fr": "Portefeuille et paiements",
        "de": "Wallet und Zahlungen",
        "ja": "ウォレット・お支払い",
    },
    ServiceQueue.MINORS_FAMILY: {
        "zh-CN": "未成年人与家庭",
        "en": "Minors and family",
        "fr": "Mineurs et famille",
        "de": "Minderjährige und Familie",
        "ja": "未成年者・ご家族",
    },
    ServiceQueue.COMMERCE_DISPUTES: {
        "zh-CN": "交易纠纷",
        "en": "Commerce disputes",
        "fr": "Litiges commerciaux",
        "de": "Handelsstreitigkeiten",
        "ja": "取引トラブル",
    },
    ServiceQueue.GENERAL: {
        "zh-CN": "综合服务",
        "en": "General enquiries",
        "fr": "Demandes générales",
        "de": "Allgemeine Anliegen",
        "ja": "総合窓口",
    },
}

ALTERNATIVE_LABELS: dict[Alternative, dict[str, str]] = {
    Alternative.APPOINTMENT: {
        "zh-CN": "预约到店",
        "en": "Book an appointment",
        "fr": "Prendre rendez-vous",
        "de": "Einen Termin buchen",
        "ja": "来店を予約する",
    },
    Alternative.CALLBACK: {
        "zh-CN": "申请回电",
        "en": "Ask for a callback",
        "fr": "Demander à être rappelé",
        "de": "Um einen Rückruf bitten",
        "ja": "折り返しの電話を依頼する",
    },
}

_SENTENCES: dict[str, dict[str, str]] = {
    "served_before_closing": {
        "zh-CN": "{queue}今天在 {closes} 下班前无法为您办理。",
        "en": "{queue} cannot serve you before closing at {closes}.",
        "fr": "{queue} ne pourra pas vous recevoir avant la fermeture à {closes}.",
        "de": "{queue} kann Sie vor Schließung um {closes} nicht mehr bedienen.",
        "ja": "{queue}は本日 {closes} の終了までにご案内できません。",
    },
    "queue_closed_today": {
        "zh-CN": "{queue}今天暂停服务。",
        "en": "{queue} is closed for today.",
        "fr": "{queue} est fermé pour aujourd'hui.",
        "de": "{queue} ist heute geschlossen.",
        "ja": "{queue}は本日受付を終了しました。",
    },
    "site_closed_now": {
        "zh-CN": "本服务中心现在不营业。",
        "en": "This service center is closed now.",
        "fr": "Ce centre de service est fermé pour le moment.",
        "de": "Dieses Servicecenter ist gerade geschlossen.",
        "ja": "このサービスセンターは現在営業時間外です。",
    },
    "opens": {
        "zh-CN": "下次开放时间：{when}。",
        "en": " It opens again at {when}.",
        "fr": " Réouverture le {when}.",
        "de": " Wieder geöffnet ab {when}.",
        "ja": "次の受付開始は {when} です。",
    },
    "alternatives": {
        "zh-CN": "您也可以：{choices}。",
        "en": " You can also {choices}.",
        "fr": " Vous pouvez aussi {choices}.",
        "de": " Sie können auch {choices}.",
        "ja": "ほかに、{choices}こともできます。",
    },
    "or": {"zh-CN": "或", "en": " or ", "fr": " ou ", "de": " oder ", "ja": "か、"},
    "ahead": {
        "zh-CN": "您前面还有 {ahead} 位。",
        "en": "{ahead} ahead of you.",
        "fr": "{ahead} personne(s) avant vous.",
        "de": "Noch {ahead} vor Ihnen.",
        "ja": "あと {ahead} 人です。",
    },
    "next": {
        "zh-CN": "下一位就是您。",
        "en": "You are next.",
        "fr": "Vous êtes le prochain.",
        "de": "Sie sind als Nächstes dran.",
        "ja": "次はお客様の番です。",
    },
    "wait": {
        "zh-CN": "预计等待 {low}–{high} 分钟。",
        "en": " Estimated wait: {low}–{high} min.",
        "fr": " Attente estimée : {low} à {high} min.",
        "de": " Geschätzte Wartezeit: {low}–{high} Min.",
        "ja": "待ち時間の目安は {low}～{high} 分です。",
    },
    "come_to_desk": {
        "zh-CN": "轮到您了，请到 {desk} 号窗口。",
        "en": "It is your turn: please come to desk {desk}.",
        "fr": "C'est à vous : présentez-vous au guichet {desk}.",
        "de": "Sie sind dran: bitte kommen Sie zu Schalter {desk}.",
        "ja": "お客様の番です。{desk} 番窓口へお越しください。",
    },
    "about_to_be_contacted": {
        "zh-CN": "轮到您了，客服马上会与您联系，请保持电话或对话畅通。",
        "en": "It is your turn: an agent is about to contact you; please stay reachable.",
        "fr": "C'est à vous : un conseiller va vous contacter ; restez joignable.",
        "de": "Sie sind dran: gleich meldet sich ein Mitarbeiter bei Ihnen; bleiben Sie "
        "erreichbar.",
        "ja": "お客様の番です。まもなく担当者からご連絡しますので、そのままお待ちください。",
    },
}


def language_of(tag: str | None) -> str:
    """The language texts are given in: the exact tag, else the same language, else English."""
    if tag in LANGUAGES:
        return tag
    primary = (tag or "").split("-")[0].lower()
    return next((known for known in LANGUAGES if known.split("-")[0] == primary), FALLBACK)


def _say(key: str, language: str, **values: object) -> str:
    return _SENTENCES[key][language].format(**values)


def queue_label(queue: ServiceQueue, language: str) -> str:
    return QUEUE_LABELS[queue][language]


def local_time(at: datetime) -> str:
    """A local time as people read it ("2025-06-02 09:00"): ``at`` is already in the site's
    zone."""
    return at.strftime("%Y-%m-%d %H:%M")


def refusal_message(
    rule: str,
    language: str,
    queue: ServiceQueue,
    *,
    closes: datetime | None = None,
    next_opening: datetime | None = None,
    alternatives: tuple[Alternative, ...] = (),
) -> str:
    """A refusal's sentence in ``language``: what is refused, when it opens again, what else
    the person can do."""
    closes_text = closes.strftime("%H:%M") if closes else ""
    text = _say(rule, language, queue=queue_label(queue, language), closes=closes_text)
    if next_opening is not None:
        text += _say("opens", language, when=local_time(next_opening))
    if alternatives:
        labels = [ALTERNATIVE_LABELS[choice][language] for choice in alternatives]
        if language in ("en", "fr", "de"):
            labels = [label[0].lower() + label[1:] for label in labels]
        text += _say("alternatives", language, choices=_say("or", language).join(labels))
    return text


def refusal_fields(
    rule: str,
    tag: str | None,
    zone: ZoneInfo,
    queue: ServiceQueue,
    *,
    closes: datetime | None = None,
    next_opening: datetime | None = None,
    alternatives: tuple[Alternative, ...] = (),
) -> dict[str, Any]:
    """What a refusal that offers a way forward answers beside its ``detail``: the rule's code,
    the queue as code and label, every time in the site's zone (``time_zone``), the next
    opening, the alternatives as codes with labels, and the sentence to show, in the person's
    language."""
    language = language_of(tag)
    closes_local = closes.astimezone(zone) if closes else None
    opening_local = next_opening.astimezone(zone) if next_opening else None
    fields: dict[str, Any] = {
        "rule": rule,
        "queue": {"code": queue.value, "label": queue_label(queue, language)},
        "time_zone": zone.key,
        "next_opening": opening_local.isoformat() if opening_local else None,
        "alternatives": alternatives_offered(alternatives, language),
        "language": language,
        "message": refusal_message(
            rule,
            language,
            queue,
            closes=closes_local,
            next_opening=opening_local,
            alternatives=alternatives,
        ),
    }
    if closes_local is not None:
        fields["closes_at"] = closes_local.isoformat()
    return fields


def alternatives_offered(
    alternatives: tuple[Alternative, ...], language: str
) -> list[dict[str, str]]:
    """The ways forward as a frontend shows them: a code to act on, a label to show."""
    return [
        {"code": choice.value, "label": ALTERNATIVE_LABELS[choice][language]}
        for choice in alternatives
    ]


def place_message(
    language: str, ahead: int, low_minutes: int | None = None, high_minutes: int | None = None
) -> str:
    """A waiting ticket's place: "N ahead of you." or "You are next.", with the wait's range."""
    text = _say("next", language) if ahead == 0 else _say("ahead", language, ahead=ahead)
    if low_minutes is not None and high_minutes is not None and high_minutes > 0:
        text += _say("wait", language, low=low_minutes, high=high_minutes)
    return text


def called_message(language: str, desk_id: str | None, remote_contact: bool) -> str:
    """A called ticket: a visitor comes to the desk; a phone, chat or email contact is told
    that an agent is about to contact them (they go nowhere)."""
    if remote_contact or desk_id is None:
        return _say("about_to_be_contacted", language)
    return _say("come_to_desk", language, desk=desk_id)
