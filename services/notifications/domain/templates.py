# ruff: noqa: RUF001  (full-width punctuation is correct in Chinese and Japanese text)
"""Message templates per kind, localized in zh-CN, en, fr, de and ja, rendered in the
recipient's language with a fallback (exact tag → same language → English). Variables are
declared per kind and validated when the message is rendered: a missing, unknown or malformed
variable is refused rather than sent as a broken message. Times are shown in the recipient's
own timezone, in their language's format; a code of the contracts' vocabulary (an outcome, a
queue) is shown as its label in the recipient's language (``labels.py``), never as the code."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from contracts.events.notifications import NotificationKind
from services.notifications.domain.hours import zone
from services.notifications.domain.labels import OUTCOMES, QUEUES, Labels
from services.notifications.domain.organization_texts import ORGANIZATION_TEXTS, REJECTION_REASONS


class TemplateError(ValueError):
    """The variables do not fit the template: nothing is sent."""


class Var(StrEnum):
    TEXT = "text"
    INT = "int"
    TIME = "time"  # ISO 8601 with offset; shown in the recipient's timezone
    URL = "url"


@dataclass(frozen=True)
class Template:
    variables: dict[str, Var | Labels]  # Labels: a code, shown as its label
    optional: frozenset[str]
    texts: dict[str, tuple[str, str]]  # language → (subject, body)


LANGUAGES = ("zh-CN", "en", "fr", "de", "ja")
FALLBACK = "en"

_T = Template


def _texts(**by_language: tuple[str, str]) -> dict[str, tuple[str, str]]:
    return {language.replace("_", "-"): text for language, text in by_language.items()}


TEMPLATES: dict[NotificationKind, Template] = {
    NotificationKind.TICKET_ISSUED: _T(
        {
            "number": Var.TEXT,
            "queue": QUEUES,
            "ahead": Var.INT,
            "wait_minutes": Var.INT,
            "link": Var.URL,
        },
        frozenset({"ahead", "wait_minutes", "link", "queue"}),
        _texts(
            zh_CN=(
                "取号成功",
                "您的号码是 {number}。{queue_line}{ahead_line}{wait_line}{link_line}",
            ),
            en=(
                "Your number",
                "Your number is {number}.{queue_line}{ahead_line}{wait_line}{link_line}",
            ),
            fr=(
                "Votre numéro",
                "Votre numéro est {number}.{queue_line}{ahead_line}{wait_line}{link_line}",
            ),
            de=(
                "Ihre Nummer",
                "Ihre Nummer ist {number}.{queue_line}{ahead_line}{wait_line}{link_line}",
            ),
            ja=(
                "受付番号",
                "受付番号は {number} です。{queue_line}{ahead_line}{wait_line}{link_line}",
            ),
        ),
    ),
    NotificationKind.QUEUE_POSITION: _T(
        {"number": Var.TEXT, "ahead": Var.INT, "link": Var.URL},
        frozenset({"link"}),
        _texts(
            zh_CN=("排队进度", "{number}：您前面还有 {ahead} 位。{link_line}"),
            en=("Queue update", "{number}: {ahead} ahead of you.{link_line}"),
            fr=("File d'attente", "{number} : {ahead} personne(s) avant vous.{link_line}"),
            de=("Warteschlange", "{number}: noch {ahead} vor Ihnen.{link_line}"),
            ja=("順番のお知らせ", "{number}：あと {ahead} 人です。{link_line}"),
        ),
    ),
    # desk: a visitor is called to a desk; contact (the channel, never shown): a phone, chat or
    # email contact, who goes nowhere, is told an agent is about to contact them
    NotificationKind.QUEUE_NEXT: _T(
        {"number": Var.TEXT, "desk": Var.TEXT, "contact": Var.TEXT},
        frozenset({"desk", "contact"}),
        _texts(
            zh_CN=("轮到您了", "{number}：轮到您了，{desk_line}{contact_line}"),
            en=("You are next", "{number}: you are next, {desk_line}{contact_line}"),
            fr=("C'est à vous", "{number} : c'est à vous, {desk_line}{contact_line}"),
            de=("Sie sind dran", "{number}: Sie sind dran, {desk_line}{contact_line}"),
            ja=("まもなくです", "{number}：次の番です。{desk_line}{contact_line}"),
        ),
    ),
    NotificationKind.ONE_TIME_CODE: _T(
        {"code": Var.TEXT, "minutes": Var.INT},
        frozenset(),
        _texts(
            zh_CN=("验证码", "您的验证码是 {code}，{minutes} 分钟内有效。请勿告诉任何人。"),
            en=(
                "Your code",
                "Your code is {code}. It expires in {minutes} minutes. Never share it.",
            ),
            fr=(
                "Votre code",
                "Votre code est {code}. Il expire dans {minutes} minutes. Ne le partagez jamais.",
            ),
            de=(
                "Ihr Code",
                "Ihr Code lautet {code}. Er läuft in {minutes} Minuten ab. "
                "Geben Sie ihn niemals weiter.",
            ),
            ja=(
                "確認コード",
                "確認コードは {code} です。有効期限は {minutes} 分です。誰にも教えないでください。",
            ),
        ),
    ),
    NotificationKind.CASE_DECISION: _T(
        {"case_ref": Var.TEXT, "decision": OUTCOMES, "explanation": Var.TEXT, "link": Var.URL},
        frozenset({"link"}),
        _texts(
            zh_CN=(
                "处理结果",
                "您的案件 {case_ref} 已有结果：{decision}。{explanation}{link_line}",
            ),
            en=("A decision on your case", "Case {case_ref}: {decision}. {explanation}{link_line}"),
            fr=(
                "Décision sur votre dossier",
                "Dossier {case_ref} : {decision}. {explanation}{link_line}",
            ),
            de=(
                "Entscheidung zu Ihrem Fall",
                "Fall {case_ref}: {decision}. {explanation}{link_line}",
            ),
            ja=("審査結果", "案件 {case_ref} の結果：{decision}。{explanation}{link_line}"),
        ),
    ),
    NotificationKind.CALLBACK_SCHEDULED: _T(
        {"window_start": Var.TIME, "window_end": Var.TIME},
        frozenset(),
        _texts(
            zh_CN=(
                "回电预约",
                "我们的专员将在 {window_start} 至 {window_end}（您当地时间）给您回电。",
            ),
            en=(
                "We will call you",
                "A specialist will call you between {window_start} and "
                "{window_end} (your local time).",
            ),
            fr=(
                "Nous vous rappellerons",
                "Un spécialiste vous appellera entre {window_start} et "
                "{window_end} (heure locale).",
            ),
            de=(
                "Wir rufen Sie an",
                "Ein Spezialist ruft Sie zwischen {window_start} und "
                "{window_end} (Ihre Ortszeit) an.",
            ),
            ja=(
                "折り返しのお電話",
                "担当者が {window_start} から {window_end}（現地時間）の間にお電話します。",
            ),
        ),
    ),
    NotificationKind.CALLBACK_RESCHEDULED: _T(
        {"window_start": Var.TIME, "window_end": Var.TIME},
        frozenset(),
        _texts(
            zh_CN=(
                "回电时间已更改",
                "回电时间已改为 {window_start} 至 {window_end}（您当地时间）。",
            ),
            en=(
                "New callback time",
                "Your callback is now between {window_start} and {window_end} (your local time).",
            ),
            fr=(
                "Nouvel horaire de rappel",
                "Votre rappel aura lieu entre {window_start} et {window_end} (heure locale).",
            ),
            de=(
                "Neuer Rückrufzeitpunkt",
                "Ihr Rückruf erfolgt nun zwischen {window_start} und {window_end} (Ihre Ortszeit).",
            ),
            ja=(
                "折り返し時間の変更",
                "折り返しのお電話は {window_start} から {window_end}（現地時間）に変更されました。",
            ),
        ),
    ),
    NotificationKind.CALLBACK_REMINDER: _T(
        {"due_at": Var.TIME},
        frozenset(),
        _texts(
            zh_CN=("回电提醒", "我们将在 {due_at}（您当地时间）左右给您回电，请留意来电。"),
            en=("Callback reminder", "We will call you around {due_at} (your local time)."),
            fr=("Rappel", "Nous vous appellerons vers {due_at} (heure locale)."),
            de=("Erinnerung", "Wir rufen Sie gegen {due_at} (Ihre Ortszeit) an."),
            ja=("お電話のお知らせ", "{due_at}（現地時間）ごろにお電話します。"),
        ),
    ),
    NotificationKind.CALLBACK_UNREACHABLE: _T(
        {"hotline": Var.TEXT, "link": Var.URL},
        frozenset({"link"}),
        _texts(
            zh_CN=(
                "未能联系到您",
                "我们多次致电未能联系到您。请拨打 {hotline} 联系我们，"
                "或在线重新预约回电。{link_line}",
            ),
            en=(
                "We tried to call you",
                "We tried to call you but could not reach you. Call us "
                "on {hotline} or choose another time online.{link_line}",
            ),
            fr=(
                "Nous avons essayé de vous appeler",
                "Nous n'avons pas pu vous joindre. "
                "Appelez-nous au {hotline} ou choisissez un autre horaire en ligne.{link_line}",
            ),
            de=(
                "Wir haben versucht, Sie anzurufen",
                "Wir konnten Sie nicht erreichen. Rufen "
                "Sie uns unter {hotline} an oder wählen Sie online eine neue Zeit.{link_line}",
            ),
            ja=(
                "お電話がつながりませんでした",
                "お電話がつながりませんでした。{hotline} まで"
                "ご連絡いただくか、オンラインで別の時間をお選びください。{link_line}",
            ),
        ),
    ),
    NotificationKind.CALLBACK_CANCELLED: _T(
        {},
        frozenset(),
        _texts(
            zh_CN=("回电已取消", "您的回电预约已取消。"),
            en=("Callback cancelled", "Your callback has been cancelled."),
            fr=("Rappel annulé", "Votre rappel a été annulé."),
            de=("Rückruf storniert", "Ihr Rückruf wurde storniert."),
            ja=("折り返しのキャンセル", "折り返しのお電話はキャンセルされました。"),
        ),
    ),
    NotificationKind.ORGANIZATION_VERIFICATION_STEP: _T(
        {"organization": Var.TEXT, "step": Var.TEXT, "link": Var.URL},
        frozenset({"link"}),
        _texts(
            zh_CN=("机构认证进度", "{organization} 的认证进度：{step}。{link_line}"),
            en=("Organization verification", "{organization} verification: {step}.{link_line}"),
            fr=(
                "Vérification de l'organisation",
                "Vérification de {organization} : {step}.{link_line}",
            ),
            de=("Organisationsprüfung", "Prüfung von {organization}: {step}.{link_line}"),
            ja=("組織認証", "{organization} の認証：{step}。{link_line}"),
        ),
    ),
    NotificationKind.QUEUE_CALLBACK_REQUESTED: _T(
        {"number": Var.TEXT, "wait_minutes": Var.INT},
        frozenset({"wait_minutes"}),
        _texts(
            zh_CN=(
                "我们会给您回电",
                "{number}：您的排队位置已保留，轮到您时我们会给您回电，请保持电话畅通。{wait_line}",
            ),
            en=(
                "We will call you back",
                "{number}: your place in the queue is kept. We will call you back when your "
                "turn comes; please keep your phone at hand.{wait_line}",
            ),
            fr=(
                "Nous vous rappellerons",
                "{number} : votre place dans la file est gardée. Nous vous rappellerons "
                "quand ce sera votre tour ; gardez votre téléphone à portée de main.{wait_line}",
            ),
            de=(
                "Wir rufen Sie zurück",
                "{number}: Ihr Platz in der Warteschlange bleibt erhalten. Wir rufen Sie "
                "zurück, sobald Sie an der Reihe sind; halten Sie Ihr Telefon bereit.{wait_line}",
            ),
            ja=(
                "折り返しお電話します",
                "{number}：順番はそのまま確保されています。順番が来ましたらこちらから"
                "お電話しますので、電話に出られるようにしてください。{wait_line}",
            ),
        ),
    ),
    NotificationKind.APPOINTMENT_REMINDER: _T(
        {"start": Var.TIME, "queue": QUEUES, "site": Var.TEXT},
        frozenset(),
        _texts(
            zh_CN=(
                "预约提醒",
                "提醒：您已预约 {start}（当地时间）在{site}办理「{queue}」业务，"
                "请准时到达并在前台签到。如需改期或取消，请在线操作。",
            ),
            en=(
                "Appointment reminder",
                "Reminder: your appointment for {queue} at {site} is on {start} (local time). "
                "Please arrive on time and check in at the reception. To move or cancel it, "
                "go online.",
            ),
            fr=(
                "Rappel de rendez-vous",
                "Rappel : votre rendez-vous pour « {queue} » à {site} est le {start} (heure "
                "locale). Merci d'arriver à l'heure et de vous présenter à l'accueil. Pour le "
                "déplacer ou l'annuler, rendez-vous en ligne.",
            ),
            de=(
                "Terminerinnerung",
                "Erinnerung: Ihr Termin für „{queue}“ in {site} ist am {start} (Ortszeit). "
                "Bitte kommen Sie pünktlich und melden Sie sich am Empfang an. Verschieben "
                "oder absagen können Sie ihn online.",
            ),
            ja=(
                "ご予約のお知らせ",
                "{start}（現地時間）に{site}で「{queue}」のご予約があります。"
                "時間どおりにお越しいただき、受付でチェックインしてください。"
                "変更・キャンセルはオンラインで行えます。",
            ),
        ),
    ),
    # -- an organization's verification, told to its contact person (texts: organization_texts.py)
    NotificationKind.ORGANIZATION_SUBMITTED: _T(
        {"organization": Var.TEXT, "link": Var.URL},
        frozenset({"link"}),
        ORGANIZATION_TEXTS[NotificationKind.ORGANIZATION_SUBMITTED],
    ),
    NotificationKind.ORGANIZATION_DEPOSITS_SENT: _T(
        {"organization": Var.TEXT, "account_last4": Var.TEXT, "expires_at": Var.TIME},
        frozenset(),
        ORGANIZATION_TEXTS[NotificationKind.ORGANIZATION_DEPOSITS_SENT],
    ),
    NotificationKind.ORGANIZATION_DEPOSIT_CONFIRMATION_FAILED: _T(
        {"organization": Var.TEXT, "attempts_left": Var.INT},
        frozenset(),
        ORGANIZATION_TEXTS[NotificationKind.ORGANIZATION_DEPOSIT_CONFIRMATION_FAILED],
    ),
    NotificationKind.ORGANIZATION_DEPOSITS_CONFIRMED: _T(
        {"organization": Var.TEXT},
        frozenset(),
        ORGANIZATION_TEXTS[NotificationKind.ORGANIZATION_DEPOSITS_CONFIRMED],
    ),
    NotificationKind.ORGANIZATION_DEPOSITS_EXPIRED: _T(
        {"organization": Var.TEXT},
        frozenset(),
        ORGANIZATION_TEXTS[NotificationKind.ORGANIZATION_DEPOSITS_EXPIRED],
    ),
    NotificationKind.ORGANIZATION_DOCUMENTS_APPROVED: _T(
        {"organization": Var.TEXT},
        frozenset(),
        ORGANIZATION_TEXTS[NotificationKind.ORGANIZATION_DOCUMENTS_APPROVED],
    ),
    NotificationKind.ORGANIZATION_VERIFIED: _T(
        {"organization": Var.TEXT, "domains": Var.TEXT},
        frozenset({"domains"}),
        ORGANIZATION_TEXTS[NotificationKind.ORGANIZATION_VERIFIED],
    ),
    NotificationKind.ORGANIZATION_REJECTED: _T(
        {"organization": Var.TEXT, "reason": REJECTION_REASONS, "reasons": Var.TEXT},
        frozenset({"reason", "reasons"}),  # one of them: the code, or old events' English
        ORGANIZATION_TEXTS[NotificationKind.ORGANIZATION_REJECTED],
    ),
    NotificationKind.CAMPAIGN: _T(
        # unsubscribe: the one-click link (email), given at send time; without it the footer
        # offers the opt-out reply (sms, wechat, qq: see inbound.py). sender: the verified
        # organization whose campaign it is (its legal name); none for the platform's own
        {"title": Var.TEXT, "body": Var.TEXT, "unsubscribe": Var.URL, "sender": Var.TEXT},
        frozenset({"unsubscribe", "sender"}),
        _texts(
            zh_CN=("{title}", "{sender_line}{body}\n{opt_out_line}"),
            en=("{title}", "{sender_line}{body}\n{opt_out_line}"),
            fr=("{title}", "{sender_line}{body}\n{opt_out_line}"),
            de=("{title}", "{sender_line}{body}\n{opt_out_line}"),
            ja=("{title}", "{sender_line}{body}\n{opt_out_line}"),
        ),
    ),
}

# optional pieces, per language: rendered only when their variable is given
_LINES = {
    "queue_line": {
        "zh-CN": "服务类别：{queue}。",
        "en": " Queue: {queue}.",
        "fr": " File : {queue}.",
        "de": " Warteschlange: {queue}.",
        "ja": "窓口：{queue}。",
    },
    "ahead_line": {
        "zh-CN": "前面还有 {ahead} 位。",
        "en": " {ahead} ahead of you.",
        "fr": " {ahead} personne(s) avant vous.",
        "de": " Noch {ahead} vor Ihnen.",
        "ja": "あと {ahead} 人です。",
    },
    "wait_line": {
        "zh-CN": "预计等待 {wait_minutes} 分钟。",
        "en": " Estimated wait: {wait_minutes} min.",
        "fr": " Attente estimée : {wait_minutes} min.",
        "de": " Geschätzte Wartezeit: {wait_minutes} Min.",
        "ja": "待ち時間の目安は {wait_minutes} 分です。",
    },
    "desk_line": {
        "zh-CN": "请到 {desk} 号窗口。",
        "en": "please come to desk {desk}.",
        "fr": "présentez-vous au guichet {desk}.",
        "de": "bitte kommen Sie zu Schalter {desk}.",
        "ja": "{desk} 番窓口へお越しください。",
    },
    "contact_line": {
        "zh-CN": "客服马上会与您联系，请保持电话或对话畅通。",
        "en": " An agent is about to contact you; please stay reachable.",
        "fr": " Un conseiller va vous contacter ; restez joignable.",
        "de": " Gleich meldet sich ein Mitarbeiter bei Ihnen; bleiben Sie erreichbar.",
        "ja": "まもなく担当者からご連絡しますので、そのままお待ちください。",
    },
    "domains_line": {
        "zh-CN": "认证域名：{domains}",
        "en": " Verified domains: {domains}",
        "fr": " Domaines vérifiés : {domains}",
        "de": " Verifizierte Domains: {domains}",
        "ja": "認証済みドメイン：{domains}",
    },
    "opt_out_line": {
        "zh-CN": "退订请点击：{unsubscribe}",
        "en": "To unsubscribe, open: {unsubscribe}",
        "fr": "Pour vous désabonner, ouvrez : {unsubscribe}",
        "de": "Zum Abbestellen öffnen Sie: {unsubscribe}",
        "ja": "配信停止はこちら：{unsubscribe}",
    },
    "sender_line": {
        "zh-CN": "【{sender}】",
        "en": "From {sender}:\n",
        "fr": "De la part de {sender} :\n",
        "de": "Von {sender}:\n",
        "ja": "{sender}からのお知らせ：\n",
    },
    "link_line": {
        "zh-CN": " {link}",
        "en": " {link}",
        "fr": " {link}",
        "de": " {link}",
        "ja": " {link}",
    },
}
_LINE_NEEDS = {
    "queue_line": "queue",
    "ahead_line": "ahead",
    "wait_line": "wait_minutes",
    "link_line": "link",
    "desk_line": "desk",
    "contact_line": "contact",
    "domains_line": "domains",
    "opt_out_line": "unsubscribe",
    "sender_line": "sender",
}
# what a line says when its variable is absent (else nothing)
_LINES_WITHOUT = {
    "desk_line": {
        "zh-CN": "请准备好。",
        "en": "please get ready.",
        "fr": "préparez-vous.",
        "de": "bitte halten Sie sich bereit.",
        "ja": "ご準備ください。",
    },
    "opt_out_line": {
        "zh-CN": "回复 TD 退订。",
        "en": "Reply STOP to opt out.",
        "fr": "Répondez STOP pour vous désabonner.",
        "de": "Antworten Sie STOP zum Abbestellen.",
        "ja": "配信停止は STOP と返信してください。",
    },
}

_MONTHS = {
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    "fr": [
        "janv.",
        "févr.",
        "mars",
        "avr.",
        "mai",
        "juin",
        "juil.",
        "août",
        "sept.",
        "oct.",
        "nov.",
        "déc.",
    ],
    "de": [
        "Jan.",
        "Feb.",
        "März",
        "Apr.",
        "Mai",
        "Juni",
        "Juli",
        "Aug.",
        "Sept.",
        "Okt.",
        "Nov.",
        "Dez.",
    ],
}


def format_time(moment: datetime, language: str) -> str:
    month = moment.month
    match language:
        case "zh-CN" | "ja":
            return f"{month}月{moment.day}日 {moment:%H:%M}"
        case "fr":
            return f"{moment.day} {_MONTHS['fr'][month - 1]} {moment:%H:%M}"
        case "de":
            return f"{moment.day}. {_MONTHS['de'][month - 1]} {moment:%H:%M}"
        case _:
            return f"{moment.day} {_MONTHS['en'][month - 1]} {moment:%H:%M}"


def resolve_language(tag: str) -> str:
    """The template language for a BCP 47 tag: exact, then the same language, then English."""
    lowered = tag.lower()
    for language in LANGUAGES:
        if language.lower() == lowered:
            return language
    primary = lowered.split("-")[0]
    for language in LANGUAGES:
        if language.lower().split("-")[0] == primary:
            return language
    return FALLBACK


@dataclass(frozen=True)
class Rendered:
    language: str
    subject: str
    body: str


_URL = re.compile(r"^https://[^\s]{1,300}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _check(name: str, kind: Var | Labels, value: str, timezone: str | None, language: str) -> str:
    if _CONTROL.search(value) or len(value) > 2000:
        raise TemplateError(f"variable {name} holds control characters or is too long")
    if isinstance(kind, Labels):
        label = kind.label(value, language)
        if label is None:
            raise TemplateError(f"variable {name}: {value!r} has no {language} label")
        return label
    match kind:
        case Var.INT:
            if not value.isdigit():
                raise TemplateError(f"variable {name} must be a whole number")
            return value
        case Var.URL:
            if not _URL.match(value):
                raise TemplateError(f"variable {name} must be an https link")
            return value
        case Var.TIME:
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                raise TemplateError(f"variable {name} must be an ISO 8601 time") from None
            if moment.tzinfo is None:
                raise TemplateError(f"variable {name} must carry its UTC offset")
            if timezone is None:
                raise TemplateError(f"variable {name} needs the recipient's timezone")
            return format_time(moment.astimezone(zone(timezone)), language)
        case _:
            if not value.strip():
                raise TemplateError(f"variable {name} is empty")
            return value


def render(
    kind: NotificationKind,
    language_tag: str,
    variables: dict[str, str],
    timezone: str | None = None,
) -> Rendered:
    template = TEMPLATES[kind]
    unknown = sorted(set(variables) - set(template.variables))
    if unknown:
        raise TemplateError(f"unknown variables for {kind.value}: {', '.join(unknown)}")
    missing = sorted(set(template.variables) - template.optional - set(variables))
    if missing:
        raise TemplateError(f"missing variables for {kind.value}: {', '.join(missing)}")
    language = resolve_language(language_tag)
    values = {
        name: _check(name, template.variables[name], value, timezone, language)
        for name, value in variables.items()
    }
    for line, needs in _LINE_NEEDS.items():
        if needs in values:
            values[line] = _fill(_LINES[line][language], values)
        else:
            values[line] = _LINES_WITHOUT.get(line, {}).get(language, "")
    subject, body = template.texts[language]
    return Rendered(language, _fill(subject, values), _fill(body, values))


def _fill(text: str, values: dict[str, str]) -> str:
    # format_map, not format: a value can never name another field or an attribute
    names = {name for _, name, _, _ in string.Formatter().parse(text) if name}
    return text.format_map({name: values.get(name, "") for name in names})
