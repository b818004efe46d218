# ruff: noqa: RUF001  (full-width punctuation is correct in Chinese and Japanese text)
"""What a customer reads of a case, in their language (zh-CN, en, fr, de, ja): the next step,
the labels of outcomes, verification purposes and suspension scopes, and how a platform
suspension is introduced. A customer never reads an internal code; the explanations of the
catalogue's rules are in ``policies.py``, in the same five languages. Pure, no I/O."""

from __future__ import annotations

from datetime import datetime

from contracts.events.cases import CaseStatus, DecisionOutcome, WaitingOn
from contracts.events.platform import SuspensionScope
from contracts.vocabulary import VerificationPurpose

LANGUAGES = ("zh-CN", "en", "fr", "de", "ja")
FALLBACK = "en"


def customer_language(tag: str) -> str:
    """The language a customer reads for their BCP 47 tag: the same language (any Chinese →
    zh-CN, fr-CA → fr), else English."""
    base = tag.lower().split("-")[0]
    if base == "zh":
        return "zh-CN"
    return base if base in LANGUAGES else FALLBACK


def _in(language: str, texts: dict[str, str]) -> str:
    return texts[customer_language(language)]


OUTCOME_LABELS: dict[DecisionOutcome, dict[str, str]] = {
    DecisionOutcome.RESTORED: {
        "zh-CN": "已恢复",
        "en": "restored",
        "fr": "rétabli",
        "de": "wiederhergestellt",
        "ja": "復旧済み",
    },
    DecisionOutcome.DENIED: {
        "zh-CN": "未获批准",
        "en": "not approved",
        "fr": "non accordé",
        "de": "abgelehnt",
        "ja": "承認されませんでした",
    },
    DecisionOutcome.REFUNDED: {
        "zh-CN": "已退款",
        "en": "refunded",
        "fr": "remboursé",
        "de": "erstattet",
        "ja": "返金済み",
    },
    DecisionOutcome.PARTIALLY_REFUNDED: {
        "zh-CN": "已部分退款",
        "en": "partly refunded",
        "fr": "remboursé en partie",
        "de": "teilweise erstattet",
        "ja": "一部返金済み",
    },
    DecisionOutcome.REFERRED_ELSEWHERE: {
        "zh-CN": "已转交其他部门",
        "en": "passed to another service",
        "fr": "transmis à un autre service",
        "de": "an eine andere Stelle weitergegeben",
        "ja": "他の窓口に引き継ぎ済み",
    },
}

PURPOSE_LABELS: dict[VerificationPurpose, dict[str, str]] = {
    VerificationPurpose.ACCOUNT_RECOVERY: {
        "zh-CN": "找回账号",
        "en": "account recovery",
        "fr": "récupération du compte",
        "de": "Wiederherstellung des Kontos",
        "ja": "アカウントの回復",
    },
    VerificationPurpose.SUSPENSION_APPEAL: {
        "zh-CN": "封禁申诉",
        "en": "appeal against the suspension",
        "fr": "contestation de la suspension",
        "de": "Einspruch gegen die Sperre",
        "ja": "停止への異議申し立て",
    },
    VerificationPurpose.WALLET_REACTIVATION: {
        "zh-CN": "重新启用钱包",
        "en": "wallet reactivation",
        "fr": "réactivation du portefeuille",
        "de": "Reaktivierung der Wallet",
        "ja": "ウォレットの再開",
    },
    VerificationPurpose.GUARDIAN_OF_MINOR: {
        "zh-CN": "未成年人的监护关系",
        "en": "guardianship of the minor",
        "fr": "tutelle du mineur",
        "de": "Sorgerecht für das minderjährige Kind",
        "ja": "未成年者の保護者であることの確認",
    },
    VerificationPurpose.PROXY_FOR_ABSENT_HOLDER: {
        "zh-CN": "代不在场的账号持有人办理",
        "en": "acting for the absent account holder",
        "fr": "représentation du titulaire absent",
        "de": "Vertretung des abwesenden Kontoinhabers",
        "ja": "不在の名義人の代理",
    },
    VerificationPurpose.THIRD_PARTY_REPORT_DISPUTE: {
        "zh-CN": "对第三方投诉的异议",
        "en": "dispute of a third-party report",
        "fr": "contestation d'un signalement",
        "de": "Widerspruch gegen eine Meldung",
        "ja": "第三者からの申告への異議",
    },
}

_IDENTITY = {
    "zh-CN": "身份",
    "en": "identity",
    "fr": "identité",
    "de": "Identität",
    "ja": "本人確認",
}


def outcome_label(outcome: DecisionOutcome, language: str) -> str:
    return _in(language, OUTCOME_LABELS[outcome])


def purposes_text(purposes: list[str], language: str) -> str:
    """The verifications a case waits on, as the customer reads them (codes never shown)."""
    labels = [_in(language, PURPOSE_LABELS[VerificationPurpose(p)]) for p in purposes]
    separator = "、" if customer_language(language) in ("zh-CN", "ja") else ", "
    return separator.join(labels) or _in(language, _IDENTITY)


# -- how a platform suspension is introduced, by what it suspended ----------------------------
# {rule}: "SPAM-GROUP-CONTACT v3 (title N=10)" as the language writes it; {body}: the rule's
# explanation with the facts.

SUSPENSION_INTRO: dict[SuspensionScope | None, dict[str, str]] = {
    SuspensionScope.ACCOUNT: {
        "zh-CN": "账号因规则 {rule} 被封禁：{body}",
        "en": "The account was suspended under rule {rule}: {body}",
        "fr": "Le compte a été suspendu en vertu de la règle {rule} : {body}",
        "de": "Das Konto wurde nach Regel {rule} gesperrt: {body}",
        "ja": "アカウントはルール {rule} により停止されました：{body}",
    },
    SuspensionScope.WALLET: {
        "zh-CN": "账号的钱包因规则 {rule} 被停用（账号本身仍可使用）：{body}",
        "en": "The account's wallet was suspended under rule {rule} (the account itself "
        "still works): {body}",
        "fr": "Le portefeuille du compte a été suspendu en vertu de la règle {rule} (le compte "
        "lui-même reste utilisable) : {body}",
        "de": "Die Wallet des Kontos wurde nach Regel {rule} gesperrt (das Konto selbst "
        "bleibt nutzbar): {body}",
        "ja": "アカウントのウォレットはルール {rule} により停止されました"
        "（アカウント自体は引き続きご利用いただけます）：{body}",
    },
    SuspensionScope.STOREFRONT: {
        "zh-CN": "账号的店铺因规则 {rule} 被封禁（账号本身仍可使用）：{body}",
        "en": "The account's storefront was suspended under rule {rule} (the account itself "
        "still works): {body}",
        "fr": "La boutique du compte a été suspendue en vertu de la règle {rule} (le compte "
        "lui-même reste utilisable) : {body}",
        "de": "Der Shop des Kontos wurde nach Regel {rule} gesperrt (das Konto selbst bleibt "
        "nutzbar): {body}",
        "ja": "アカウントのストアはルール {rule} により停止されました"
        "（アカウント自体は引き続きご利用いただけます）：{body}",
    },
    # a suspension recorded before cases kept its scope: what the rule says, nothing more
    None: {
        "zh-CN": "平台依据规则 {rule} 实施了封禁：{body}",
        "en": "The platform applied a suspension under rule {rule}: {body}",
        "fr": "La plateforme a appliqué une suspension en vertu de la règle {rule} : {body}",
        "de": "Die Plattform hat nach Regel {rule} eine Sperre verhängt: {body}",
        "ja": "プラットフォームはルール {rule} に基づき停止措置を取りました：{body}",
    },
}

RULE_NAME = {
    "zh-CN": "{code} v{version}（{title}{threshold}）",
    "en": "{code} v{version} ({title}{threshold})",
    "fr": "{code} v{version} ({title}{threshold})",
    "de": "{code} v{version} ({title}{threshold})",
    "ja": "{code} v{version}（{title}{threshold}）",
}


def introduce_suspension(
    scope: SuspensionScope | None,
    code: str,
    version: int,
    title: str,
    threshold: int | None,
    body: str,
    language: str,
) -> str:
    rule = _in(language, RULE_NAME).format(
        code=code,
        version=version,
        title=title,
        threshold="" if threshold is None else f" N={threshold}",
    )
    return _in(language, SUSPENSION_INTRO[scope]).format(rule=rule, body=body)


# -- the next step ----------------------------------------------------------------------------

NEXT_STEP: dict[CaseStatus, dict[str, str]] = {
    CaseStatus.OPEN: {
        "zh-CN": "我们已收到您的问题，客服人员会尽快处理。",
        "en": "We have your request; an agent will pick it up shortly.",
        "fr": "Nous avons bien reçu votre demande ; un conseiller va s'en occuper rapidement.",
        "de": "Wir haben Ihr Anliegen erhalten; ein Mitarbeiter kümmert sich in Kürze darum.",
        "ja": "お問い合わせを受け付けました。担当者がまもなく対応します。",
    },
    CaseStatus.TRIAGE: {
        "zh-CN": "客服人员正在了解您的问题。",
        "en": "An agent is looking into your request.",
        "fr": "Un conseiller examine votre demande.",
        "de": "Ein Mitarbeiter prüft Ihr Anliegen.",
        "ja": "担当者がお問い合わせ内容を確認しています。",
    },
    CaseStatus.IN_REVIEW: {
        "zh-CN": "您的案件正在审核中。",
        "en": "Your case is being reviewed.",
        "fr": "Votre dossier est en cours d'examen.",
        "de": "Ihr Fall wird geprüft.",
        "ja": "お客様の案件を審査しています。",
    },
    CaseStatus.AWAITING_SPECIALIST: {
        "zh-CN": "您的案件已交给专家处理。",
        "en": "A specialist is handling your case.",
        "fr": "Un spécialiste traite votre dossier.",
        "de": "Ein Spezialist bearbeitet Ihren Fall.",
        "ja": "専門の担当者がお客様の案件を担当しています。",
    },
    CaseStatus.AWAITING_CUSTOMER: {
        "zh-CN": "我们需要您的回复，请查看消息并回复。",
        "en": "We need your answer: please read our message and reply.",
        "fr": "Nous avons besoin de votre réponse : lisez notre message et répondez-y.",
        "de": "Wir brauchen Ihre Antwort: Bitte lesen Sie unsere Nachricht und antworten Sie.",
        "ja": "ご返信が必要です。メッセージをご確認のうえ、ご返信ください。",
    },
    CaseStatus.ESCALATED: {
        "zh-CN": "您的案件已交由主管处理。",
        "en": "A supervisor is handling your case.",
        "fr": "Un responsable traite votre dossier.",
        "de": "Eine Teamleitung bearbeitet Ihren Fall.",
        "ja": "責任者がお客様の案件を担当しています。",
    },
    CaseStatus.CLOSED: {
        "zh-CN": "案件已结束。",
        "en": "The case is closed.",
        "fr": "Le dossier est clos.",
        "de": "Der Fall ist abgeschlossen.",
        "ja": "この案件は終了しました。",
    },
    CaseStatus.MERGED: {
        "zh-CN": "此案件已并入您的另一个案件，请查看该案件。",
        "en": "This case was merged into another of your cases; follow that one.",
        "fr": "Ce dossier a été regroupé avec un autre de vos dossiers ; suivez celui-ci.",
        "de": "Dieser Fall wurde mit einem anderen Ihrer Fälle zusammengeführt; "
        "verfolgen Sie bitte diesen.",
        "ja": "この案件はお客様の別の案件に統合されました。そちらをご確認ください。",
    },
}

_HOLDER_MUST_VERIFY = {
    "zh-CN": "需要账号持有人本人完成身份核验（{purposes}），可远程完成，无需到场。",
    "en": "The account holder must verify their own identity ({purposes}); it can be done "
    "remotely, no visit needed.",
    "fr": "Le titulaire du compte doit confirmer lui-même son identité ({purposes}) ; "
    "cela se fait à distance, sans déplacement.",
    "de": "Der Kontoinhaber muss seine Identität selbst bestätigen ({purposes}); das geht "
    "aus der Ferne, ohne Besuch vor Ort.",
    "ja": "アカウントの名義人ご本人による本人確認（{purposes}）が必要です。"
    "来店不要で、リモートで行えます。",
}
_PLEASE_VERIFY = {
    "zh-CN": "请完成身份核验（{purposes}），可远程完成。",
    "en": "Please complete the verification ({purposes}); it can be done remotely.",
    "fr": "Veuillez effectuer la vérification ({purposes}) ; elle peut se faire à distance.",
    "de": "Bitte schließen Sie die Prüfung ab ({purposes}); das geht auch aus der Ferne.",
    "ja": "本人確認（{purposes}）を完了してください。リモートで行えます。",
}
_DECIDED_APPEAL_UNTIL = {
    "zh-CN": "已作出决定（见说明）。如不同意，可在 {until} 前申诉。",
    "en": "A decision was made (see the explanation). You may appeal until {until}.",
    "fr": "Une décision a été prise (voir l'explication). Vous pouvez la contester "
    "jusqu'au {until}.",
    "de": "Es wurde entschieden (siehe Erklärung). Sie können bis zum {until} Einspruch einlegen.",
    "ja": "決定が出ました（説明をご覧ください）。"
    "ご不満の場合は {until} まで異議を申し立てられます。",
}
_DECIDED = {
    "zh-CN": "已作出决定（见说明）。",
    "en": "A decision was made (see the explanation).",
    "fr": "Une décision a été prise (voir l'explication).",
    "de": "Es wurde entschieden (siehe Erklärung).",
    "ja": "決定が出ました（説明をご覧ください）。",
}


def next_step(
    status: CaseStatus,
    waiting: WaitingOn,
    pending_purposes: list[str],
    appeal_until: datetime | None,
    language: str,
) -> str:
    """What happens next, as the customer reads it."""
    if status is CaseStatus.AWAITING_VERIFICATION:
        template = _HOLDER_MUST_VERIFY if waiting is WaitingOn.ACCOUNT_HOLDER else _PLEASE_VERIFY
        return _in(language, template).format(purposes=purposes_text(pending_purposes, language))
    if status is CaseStatus.RESOLVED:
        if appeal_until is None:
            return _in(language, _DECIDED)
        return _in(language, _DECIDED_APPEAL_UNTIL).format(until=appeal_until.date().isoformat())
    return _in(language, NEXT_STEP[status])
