# ruff: noqa: RUF001  (full-width punctuation is correct in Chinese and Japanese text)
"""What a person taking the checks is refused, in their language (issue 16 item 4): each
refusal has a stable ``rule`` (problem+json ``rule``), an English ``detail`` (staff, logs) and
a ``message`` in the session's language (zh-CN, en, fr, de, ja; ``texts.language_of``), with
its parameters as data beside them (check codes, ISO 8601 UTC times, counts)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum

from runtime.errors import RuleViolation, Unavailable
from services.verification.domain.texts import CHECKS, language_of


class Refusal(StrEnum):
    """The rules a customer can run into while taking the checks (problem+json ``rule``)."""

    CHECK_NOT_REQUIRED = "check_not_required"  # {check}
    PROXY_CANNOT_VERIFY_FOR_HOLDER = "proxy_cannot_verify_for_holder"  # {check}
    CHECK_ALREADY_PASSED = "check_already_passed"  # {check}
    CHECKS_IN_ORDER = "checks_in_order"  # {current_check, check}
    CHECK_NOT_STARTED = "check_not_started"  # {check}
    CHECK_DECIDED_BY_REVIEWER = "check_decided_by_reviewer"  # {check}
    CHECK_WITH_REVIEWER = "check_with_reviewer"  # {check}
    CHECK_ALREADY_WITH_REVIEWER = "check_already_with_reviewer"  # {check}
    SESSION_ENDED = "session_ended"  # {outcome}
    SESSION_EXPIRED = "session_expired"  # {expired_at}
    CODE_REQUESTED_NOT_BEGUN = "code_requested_not_begun"
    CODES_UNDELIVERED_LIMIT = "codes_undelivered_limit"  # {count}
    CODES_SENT_LIMIT = "codes_sent_limit"  # {limit}
    CODE_NOT_DELIVERED = "code_not_delivered"
    NO_CODE_SENT = "no_code_sent"
    CODE_NOT_LATEST = "code_not_latest"
    CODE_EXPIRED = "code_expired"  # {code_expires_at}
    PROVIDER_SESSION_NOT_CURRENT = "provider_session_not_current"
    ANSWER_ASKED_QUESTIONS_FIRST = "answer_asked_questions_first"
    TOO_FEW_ACCOUNT_FACTS = "too_few_account_facts"
    QUESTION_ALREADY_ANSWERED = "question_already_answered"
    QUESTION_FROM_EARLIER_CHALLENGE = "question_from_earlier_challenge"
    EVIDENCE_NOT_HELD_MEDIA = "evidence_not_held_media"


# how an ended session ended, as a word in each language (``outcome``)
OUTCOMES: dict[str, dict[str, str]] = {
    "verified": {"zh-CN": "已通过验证", "en": "verified", "fr": "vérifiée", "de": "bestätigt",
                 "ja": "確認済み"},
    "failed": {"zh-CN": "未通过", "en": "failed", "fr": "échouée", "de": "fehlgeschlagen",
               "ja": "不成立"},
    "expired": {"zh-CN": "已过期", "en": "expired", "fr": "expirée", "de": "abgelaufen",
                "ja": "期限切れ"},
    "locked": {"zh-CN": "已锁定", "en": "locked", "fr": "verrouillée", "de": "gesperrt",
               "ja": "ロック中"},
}  # fmt: skip

# the English text is also the refusal's ``detail``
TEXTS: dict[Refusal, dict[str, str]] = {
    Refusal.CHECK_NOT_REQUIRED: {
        "zh-CN": "本次验证不需要{check}。",
        "en": "this session does not require a {check}",
        "fr": "Cette session ne demande pas : {check}.",
        "de": "Diese Sitzung verlangt Folgendes nicht: {check}.",
        "ja": "この確認では{check}は必要ありません。",
    },
    Refusal.PROXY_CANNOT_VERIFY_FOR_HOLDER: {
        "zh-CN": "代理人不能代替账号持有人完成{check}：本次验证只证明代理人本人的身份及其与持有人的"
        "关系；账号持有人须本人验证（无法到场时可用自己的手机远程验证）。",
        "en": "a proxy cannot pass the {check} for the account holder: this session proves "
        "only the proxy's own identity and relationship to the holder; the holder verifies "
        "themself (remotely, on their own phone, if they cannot come)",
        "fr": "Un mandataire ne peut pas passer l'étape « {check} » à la place du titulaire : "
        "cette session prouve uniquement l'identité du mandataire et son lien avec le "
        "titulaire ; le titulaire se vérifie lui-même (à distance, sur son propre téléphone, "
        "s'il ne peut pas venir).",
        "de": "Ein Bevollmächtigter kann den Schritt „{check}“ nicht für den Kontoinhaber "
        "ablegen: Diese Sitzung belegt nur seine eigene Identität und seine Beziehung zum "
        "Inhaber; der Inhaber verifiziert sich selbst (aus der Ferne mit dem eigenen Telefon, "
        "wenn er nicht kommen kann).",
        "ja": "代理人は名義人に代わって{check}を行うことはできません。"
        "この確認で証明できるのは代理人本人の身元と名義人との関係のみです。名義人ご本人が確認してください（来店できない場合は"
        "ご自身のスマートフォンからリモートで）。",
    },
    Refusal.CHECK_ALREADY_PASSED: {
        "zh-CN": "{check}已经通过。",
        "en": "the {check} is already passed",
        "fr": "L'étape « {check} » est déjà réussie.",
        "de": "Der Schritt „{check}“ ist bereits bestanden.",
        "ja": "{check}はすでに完了しています。",
    },
    Refusal.CHECKS_IN_ORDER: {
        "zh-CN": "请先完成{current_check}，再进行{check}。",
        "en": "complete the {current_check} before the {check}",
        "fr": "Terminez d'abord l'étape « {current_check} » avant « {check} ».",
        "de": "Schließen Sie zuerst „{current_check}“ ab, dann „{check}“.",
        "ja": "{check}の前に{current_check}を完了してください。",
    },
    Refusal.CHECK_NOT_STARTED: {
        "zh-CN": "{check}尚未开始。",
        "en": "the {check} has not been started",
        "fr": "L'étape « {check} » n'a pas encore commencé.",
        "de": "Der Schritt „{check}“ wurde noch nicht begonnen.",
        "ja": "{check}はまだ開始されていません。",
    },
    Refusal.CHECK_DECIDED_BY_REVIEWER: {
        "zh-CN": "{check}由审核人员判定：请提交材料。",
        "en": "the {check} is decided by a reviewer: submit evidence",
        "fr": "L'étape « {check} » est décidée par un examinateur : envoyez vos justificatifs.",
        "de": "Über „{check}“ entscheidet ein Prüfer: Reichen Sie Nachweise ein.",
        "ja": "{check}は審査担当者が判断します。資料を提出してください。",
    },
    Refusal.CHECK_WITH_REVIEWER: {
        "zh-CN": "{check}正在由审核人员审核。",
        "en": "the {check} is with a reviewer",
        "fr": "L'étape « {check} » est en cours d'examen.",
        "de": "„{check}“ liegt einem Prüfer vor.",
        "ja": "{check}は審査担当者が確認中です。",
    },
    Refusal.CHECK_ALREADY_WITH_REVIEWER: {
        "zh-CN": "{check}已提交审核人员审核。",
        "en": "the {check} is already with a reviewer",
        "fr": "L'étape « {check} » est déjà en cours d'examen.",
        "de": "„{check}“ liegt bereits einem Prüfer vor.",
        "ja": "{check}はすでに審査担当者に送られています。",
    },
    Refusal.SESSION_ENDED: {
        "zh-CN": "本次验证已结束（{outcome}）。",
        "en": "the verification session is {outcome}",
        "fr": "La session de vérification est terminée ({outcome}).",
        "de": "Die Verifizierungssitzung ist beendet ({outcome}).",
        "ja": "この確認は終了しています（{outcome}）。",
    },
    Refusal.SESSION_EXPIRED: {
        "zh-CN": "本次验证已于 {expired_at} 过期。",
        "en": "the verification session expired at {expired_at}",
        "fr": "La session de vérification a expiré le {expired_at}.",
        "de": "Die Verifizierungssitzung ist am {expired_at} abgelaufen.",
        "ja": "この確認は {expired_at} に有効期限が切れました。",
    },
    Refusal.CODE_REQUESTED_NOT_BEGUN: {
        "zh-CN": "一次性验证码需要申请发送，而不是直接开始。",
        "en": "a one-time code is requested, not begun",
        "fr": "Un code à usage unique se demande ; il ne se commence pas.",
        "de": "Ein Einmalcode wird angefordert, nicht begonnen.",
        "ja": "ワンタイムコードは送信を依頼するもので、開始するものではありません。",
    },
    Refusal.CODES_UNDELIVERED_LIMIT: {
        "zh-CN": "本次验证已有 {count} 个验证码无法送达，不能再发送：工作人员可以在不使用验证码的"
        "情况下验证账号（登记的手机无法使用）。",
        "en": "{count} codes could not be delivered for this session; no more: an agent can "
        "verify the account without a code (registered phone unavailable)",
        "fr": "{count} codes n'ont pas pu être remis pour cette session ; plus aucun : un "
        "conseiller peut vérifier le compte sans code (téléphone enregistré indisponible).",
        "de": "{count} Codes konnten für diese Sitzung nicht zugestellt werden; keine weiteren: "
        "Ein Mitarbeiter kann das Konto ohne Code verifizieren (registriertes Telefon nicht "
        "verfügbar).",
        "ja": "この確認では {count} 件のコードを届けられなかったため、これ以上送信できません。"
        "担当者がコードなしでアカウントを確認できます（登録電話が使えない場合）。",
    },
    Refusal.CODES_SENT_LIMIT: {
        "zh-CN": "本次验证已发送 {limit} 个验证码，不能再发送。",
        "en": "{limit} codes were already sent for this session; no more",
        "fr": "{limit} codes ont déjà été envoyés pour cette session ; plus aucun.",
        "de": "Für diese Sitzung wurden bereits {limit} Codes gesendet; keine weiteren.",
        "ja": "この確認ではすでに {limit} 件のコードを送信したため、これ以上送信できません。",
    },
    Refusal.CODE_NOT_DELIVERED: {
        "zh-CN": "上一个验证码未能送达，请重新获取验证码。",
        "en": "the last code could not be delivered; request a new code",
        "fr": "Le dernier code n'a pas pu être remis ; demandez-en un nouveau.",
        "de": "Der letzte Code konnte nicht zugestellt werden; fordern Sie einen neuen an.",
        "ja": "前回のコードは届けられませんでした。新しいコードを依頼してください。",
    },
    Refusal.NO_CODE_SENT: {
        "zh-CN": "尚未发送验证码。",
        "en": "no code has been sent yet",
        "fr": "Aucun code n'a encore été envoyé.",
        "de": "Es wurde noch kein Code gesendet.",
        "ja": "コードはまだ送信されていません。",
    },
    Refusal.CODE_NOT_LATEST: {
        "zh-CN": "这不是最新的验证码，请输入最近收到的验证码。",
        "en": "this is not the latest code; enter the last code sent",
        "fr": "Ce n'est pas le dernier code ; saisissez le dernier code reçu.",
        "de": "Das ist nicht der neueste Code; geben Sie den zuletzt gesendeten Code ein.",
        "ja": "最新のコードではありません。最後に送られたコードを入力してください。",
    },
    Refusal.CODE_EXPIRED: {
        "zh-CN": "验证码已于 {code_expires_at} 过期，请重新获取。",
        "en": "the code expired at {code_expires_at}; request a new one",
        "fr": "Le code a expiré à {code_expires_at} ; demandez-en un nouveau.",
        "de": "Der Code ist um {code_expires_at} abgelaufen; fordern Sie einen neuen an.",
        "ja": "コードは {code_expires_at} に期限切れになりました。新しいコードを依頼してください。",
    },
    Refusal.PROVIDER_SESSION_NOT_CURRENT: {
        "zh-CN": "这不是当前的身份核验会话，请使用最新的核验链接。",
        "en": "this identity-provider session is not the current one",
        "fr": "Cette vérification d'identité n'est pas la plus récente ; utilisez le dernier "
        "lien reçu.",
        "de": "Diese Identitätsprüfung ist nicht die aktuelle; verwenden Sie den neuesten Link.",
        "ja": "この本人確認は最新のものではありません。最新のリンクを使ってください。",
    },
    Refusal.ANSWER_ASKED_QUESTIONS_FIRST: {
        "zh-CN": "请先回答已经提出的问题。",
        "en": "answer the questions already asked first",
        "fr": "Répondez d'abord aux questions déjà posées.",
        "de": "Beantworten Sie zuerst die bereits gestellten Fragen.",
        "ja": "まず、すでに出された質問に答えてください。",
    },
    Refusal.TOO_FEW_ACCOUNT_FACTS: {
        "zh-CN": "平台掌握的该账号信息太少，无法进行知识问答；请由审核人员判定。",
        "en": "the platform holds too few facts about this account for a knowledge challenge; "
        "ask a reviewer to decide",
        "fr": "La plateforme dispose de trop peu d'informations sur ce compte pour un "
        "questionnaire ; demandez à un examinateur de décider.",
        "de": "Die Plattform kennt zu wenige Angaben zu diesem Konto für eine Wissensabfrage; "
        "lassen Sie einen Prüfer entscheiden.",
        "ja": "このアカウントについての情報が少なすぎるため、質問による確認はできません。"
        "審査担当者に判断を依頼してください。",
    },
    Refusal.QUESTION_ALREADY_ANSWERED: {
        "zh-CN": "这个问题已经回答过了。",
        "en": "this question was already answered",
        "fr": "Vous avez déjà répondu à cette question.",
        "de": "Diese Frage wurde bereits beantwortet.",
        "ja": "この質問にはすでに回答済みです。",
    },
    Refusal.QUESTION_FROM_EARLIER_CHALLENGE: {
        "zh-CN": "这个问题属于之前的一组问题，请回答最新的问题。",
        "en": "this question belongs to an earlier challenge",
        "fr": "Cette question appartient à un questionnaire précédent ; répondez aux dernières "
        "questions.",
        "de": "Diese Frage gehört zu einer früheren Abfrage; beantworten Sie die neuesten Fragen.",
        "ja": "この質問は以前の質問セットのものです。最新の質問に答えてください。",
    },
    Refusal.EVIDENCE_NOT_HELD_MEDIA: {
        "zh-CN": "作为证明引用的每个文件都必须是为本次申请上传且仍在保存期内的文件。",
        "en": "every evidence reference must be media uploaded for this case",
        "fr": "Chaque justificatif cité doit être un fichier envoyé pour ce dossier et encore "
        "conservé.",
        "de": "Jeder genannte Nachweis muss eine für diesen Vorgang hochgeladene, noch "
        "gespeicherte Datei sein.",
        "ja": "証拠として指定するファイルは、この手続きのためにアップロードされ、まだ保管されている"
        "ものでなければなりません。",
    },
}


def refusal_message(rule: Refusal, tag: str | None, parameters: Mapping[str, str]) -> str:
    """The refusal in the language of ``tag``: check codes named, times as UTC."""
    language = language_of(tag)
    values: dict[str, str] = {}
    for name, value in parameters.items():
        if name in ("check", "current_check"):
            values[name] = CHECKS[value][language]
        elif name == "outcome":
            values[name] = OUTCOMES[value][language]
        elif name == "expired_at":
            values[name] = f"{datetime.fromisoformat(value):%Y-%m-%d %H:%M} UTC"
        elif name == "code_expires_at":
            values[name] = f"{datetime.fromisoformat(value):%H:%M:%S} UTC"
        else:
            values[name] = value
    return TEXTS[rule][language].format(**values)


def parameters_of(**parameters: object) -> dict[str, str]:
    """Parameters as data: enums by value, times ISO 8601, counts as text."""
    return {
        name: value.isoformat() if isinstance(value, datetime) else str(value)
        for name, value in parameters.items()
    }


def refused(rule: Refusal, tag: str | None, **parameters: object) -> RuleViolation:
    """The 409 for ``rule``: English ``detail``, ``rule``, the ``message`` in the person's
    language and the parameters as fields."""
    values = parameters_of(**parameters)
    return RuleViolation(
        refusal_message(rule, "en", values),
        fields={"message": refusal_message(rule, tag, values), **values},
        rule=rule.value,
    )


class Party(StrEnum):
    """An outside party a check or a step needs (problem+json ``party`` of a 503)."""

    IDENTITY_PROVIDER = "identity_provider"
    ACCOUNT_PLATFORM = "account_platform"
    BANK = "bank"


UNAVAILABLE: dict[Party, dict[str, str]] = {
    Party.IDENTITY_PROVIDER: {
        "zh-CN": "身份核验服务暂时无法使用，您的进度已保存，请稍后再试。",
        "en": "The identity check service is unavailable right now. Nothing was lost; please "
        "try again in a moment.",
        "fr": "Le service de vérification d'identité est momentanément indisponible. Rien "
        "n'est perdu ; réessayez dans un instant.",
        "de": "Der Dienst zur Identitätsprüfung ist gerade nicht erreichbar. Es ging nichts "
        "verloren; bitte versuchen Sie es gleich noch einmal.",
        "ja": "本人確認サービスが一時的に利用できません。進捗は保存されています。"
        "しばらくしてからもう一度お試しください。",
    },
    Party.ACCOUNT_PLATFORM: {
        "zh-CN": "暂时无法查询您的账号信息，您的进度已保存，请稍后再试。",
        "en": "Your account's details cannot be looked up right now. Nothing was lost; please "
        "try again in a moment.",
        "fr": "Les informations de votre compte ne peuvent pas être consultées pour le "
        "moment. Rien n'est perdu ; réessayez dans un instant.",
        "de": "Die Angaben zu Ihrem Konto können gerade nicht abgerufen werden. Es ging nichts "
        "verloren; bitte versuchen Sie es gleich noch einmal.",
        "ja": "現在、アカウント情報を照会できません。進捗は保存されています。"
        "しばらくしてからもう一度お試しください。",
    },
    Party.BANK: {
        "zh-CN": "银行暂时无法受理，尚未转出任何款项，请稍后再试。",
        "en": "The bank cannot be reached right now. No money was sent; please try again in a "
        "moment.",
        "fr": "La banque est momentanément injoignable. Aucun virement n'a été fait ; "
        "réessayez dans un instant.",
        "de": "Die Bank ist gerade nicht erreichbar. Es wurde kein Geld überwiesen; bitte "
        "versuchen Sie es gleich noch einmal.",
        "ja": "現在、銀行に接続できません。送金は行われていません。"
        "しばらくしてからもう一度お試しください。",
    },
}


def party_unavailable(party: Party, tag: str | None, reason: str) -> Unavailable:
    """The 503 when an outside party does not answer: nothing was changed, try again
    (``Retry-After``); English ``detail`` with the technical reason (staff, logs), the
    ``message`` in the person's language without it."""
    return Unavailable(
        f"the {party.value.replace('_', ' ')} is unavailable ({reason}); nothing was changed, "
        "try again",
        fields={"party": party.value, "message": UNAVAILABLE[party][language_of(tag)]},
    )
