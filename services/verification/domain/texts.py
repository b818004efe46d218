# ruff: noqa: RUF001  (full-width punctuation is correct in Chinese and Japanese text)
"""Verification's customer-facing texts in the project's five languages (zh-CN, en, fr, de,
ja, as ``services/notifications/domain/templates.py``), chosen by the session's language with
the same fallback (exact tag → same language → English): the knowledge challenge's questions,
and why a session ended (its reason codes, with the checks' names and times filled in).
"""

from __future__ import annotations

from datetime import datetime

from contracts.events.verification import OutcomeReason, ReasonCode

LANGUAGES = ("zh-CN", "en", "fr", "de", "ja")
FALLBACK = "en"

# the knowledge challenge's questions, by question kind
QUESTIONS: dict[str, dict[str, str]] = {
    "phone_last4": {
        "zh-CN": "账号绑定的手机号码最后四位是哪几位？",
        "en": "Which are the last four digits of the phone number registered on the account?",
        "fr": "Quels sont les quatre derniers chiffres du numéro de téléphone enregistré sur "
        "le compte ?",
        "de": "Wie lauten die letzten vier Ziffern der Telefonnummer, die für das Konto "
        "hinterlegt ist?",
        "ja": "アカウントに登録されている電話番号の下4桁はどれですか？",
    },
    "friend": {
        "zh-CN": "以下哪一位在该账号的好友列表中？",
        "en": "Which of these people is in the account's friend list?",
        "fr": "Laquelle de ces personnes figure dans la liste d'amis du compte ?",
        "de": "Welche dieser Personen steht in der Freundesliste des Kontos?",
        "ja": "次のうち、アカウントの友だちリストにいるのは誰ですか？",
    },
    "login_city": {
        "zh-CN": "该账号最近在以下哪个城市登录过？",
        "en": "From which of these cities was the account used recently?",
        "fr": "Depuis laquelle de ces villes le compte a-t-il été utilisé récemment ?",
        "de": "Aus welcher dieser Städte wurde das Konto kürzlich genutzt?",
        "ja": "最近アカウントが使われたのは次のどの都市からですか？",
    },
    "past_password": {
        "zh-CN": "请输入该账号以前使用过的一个密码（不是当前密码）。",
        "en": "Type a password this account used before (not the current one).",
        "fr": "Saisissez un mot de passe que ce compte a utilisé auparavant (pas l'actuel).",
        "de": "Geben Sie ein früheres Passwort dieses Kontos ein (nicht das aktuelle).",
        "ja": "このアカウントで以前使っていたパスワードを入力してください（現在のものではなく）。",
    },
}


# the checks' names, by check code
CHECKS: dict[str, dict[str, str]] = {
    "knowledge_challenge": {
        "zh-CN": "知识问答", "en": "knowledge challenge", "fr": "questionnaire de connaissances",
        "de": "Wissensabfrage", "ja": "本人確認の質問",
    },
    "possession_code": {
        "zh-CN": "一次性验证码", "en": "one-time code", "fr": "code à usage unique",
        "de": "Einmalcode", "ja": "ワンタイムコード",
    },
    "ownership_evidence": {
        "zh-CN": "账号归属证明", "en": "ownership evidence", "fr": "preuves de propriété",
        "de": "Eigentumsnachweis", "ja": "所有の証明",
    },
    "document_and_liveness": {
        "zh-CN": "证件与人脸活体检测", "en": "document and face liveness",
        "fr": "pièce d'identité et vérification du visage",
        "de": "Ausweis- und Gesichtsprüfung", "ja": "本人確認書類と顔認証",
    },
    "guardian_relationship": {
        "zh-CN": "监护关系", "en": "guardian relationship", "fr": "lien de tutelle",
        "de": "Vormundschaft", "ja": "後見関係",
    },
    "proxy_relationship": {
        "zh-CN": "代理关系", "en": "proxy relationship", "fr": "lien de procuration",
        "de": "Vollmachtsverhältnis", "ja": "代理関係",
    },
    "third_party_evidence_review": {
        "zh-CN": "第三方材料审核", "en": "third-party evidence review",
        "fr": "examen des pièces d'un tiers", "de": "Prüfung von Nachweisen Dritter",
        "ja": "第三者資料の審査",
    },
}  # fmt: skip

# why a session ended, by reason code; {check}, {checks}, {until}, {expired_at}, {failures}
REASONS: dict[ReasonCode, dict[str, str]] = {
    ReasonCode.CHECK_PASSED: {
        "zh-CN": "已通过：{check}。",
        "en": "Passed: {check}.",
        "fr": "Réussi : {check}.",
        "de": "Bestanden: {check}.",
        "ja": "完了：{check}。",
    },
    ReasonCode.PROXY_ONLY: {
        "zh-CN": "这只证明了代理人本人的身份及其与账号持有人的关系，并未验证账号持有人本人。",
        "en": "This proves the proxy's own identity and relationship to the holder only; it "
        "does not verify the account holder.",
        "fr": "Cela prouve uniquement l'identité du mandataire et son lien avec le titulaire ; "
        "le titulaire du compte n'est pas vérifié.",
        "de": "Dies belegt nur die Identität des Bevollmächtigten und seine Beziehung zum "
        "Inhaber; der Kontoinhaber ist damit nicht verifiziert.",
        "ja": "これは代理人本人の身元と名義人との関係のみを証明するもので、"
        "名義人本人の確認ではありません。",
    },
    ReasonCode.REJECTED_BY_REVIEWER: {
        "zh-CN": "审核人员未通过{check}。",
        "en": "A reviewer rejected the {check}.",
        "fr": "Un examinateur a refusé : {check}.",
        "de": "Ein Prüfer hat Folgendes abgelehnt: {check}.",
        "ja": "審査担当者が{check}を承認しませんでした。",
    },
    ReasonCode.GUARDIAN_FOR_HOLDER: {
        "zh-CN": "未成年人监护验证证明的是监护人本人的身份及监护关系，须以代理人身份申请，"
        "而不是以账号持有人身份申请。",
        "en": "A guardian-of-minor verification proves the guardian's own identity and "
        "relationship: it must be requested for the proxy, not the holder.",
        "fr": "La vérification d'un tuteur de mineur prouve l'identité du tuteur et son lien : "
        "elle doit être demandée pour le mandataire, pas pour le titulaire.",
        "de": "Eine Vormund-Verifizierung belegt die Identität des Vormunds und seine "
        "Beziehung: Sie muss für den Bevollmächtigten beantragt werden, nicht für den Inhaber.",
        "ja": "未成年者の後見人の確認は後見人本人の身元と関係を証明するものです。"
        "名義人ではなく代理人として申請してください。",
    },
    ReasonCode.COOLING_DOWN: {
        "zh-CN": "由于失败次数过多，该账号的验证已暂停，可于 {until} 之后再试。",
        "en": "Verification of this account is paused after too many failed attempts; it "
        "can be tried again after {until}.",
        "fr": "La vérification de ce compte est suspendue après trop d'échecs ; elle pourra "
        "être réessayée après le {until}.",
        "de": "Die Verifizierung dieses Kontos ist nach zu vielen Fehlversuchen pausiert; "
        "sie kann nach {until} erneut versucht werden.",
        "ja": "失敗が多すぎるため、このアカウントの確認は一時停止中です。"
        "{until} 以降に再度お試しください。",
    },
    ReasonCode.LOCKED_OUT: {
        "zh-CN": "{check}失败 {failures} 次：本次验证已锁定，{until} 之前无法再次验证该账号。",
        "en": "{failures} failed attempts at the {check}: the session is locked and this "
        "account cannot be verified again before {until}.",
        "fr": "{failures} échecs ({check}) : la session est verrouillée et ce compte ne "
        "pourra pas être vérifié à nouveau avant le {until}.",
        "de": "{failures} Fehlversuche ({check}): Die Sitzung ist gesperrt, und dieses "
        "Konto kann vor {until} nicht erneut verifiziert werden.",
        "ja": "{check}に{failures}回失敗したため、この確認はロックされました。"
        "{until} まではこのアカウントを再度確認できません。",
    },
    ReasonCode.EXPIRED: {
        "zh-CN": "本次验证已于 {expired_at} 过期，以下步骤尚未完成：{checks}。",
        "en": "The session expired at {expired_at} before these were completed: {checks}.",
        "fr": "La session a expiré le {expired_at} avant la fin de : {checks}.",
        "de": "Die Sitzung ist am {expired_at} abgelaufen, bevor Folgendes abgeschlossen "
        "war: {checks}.",
        "ja": "{expired_at} に有効期限が切れました。未完了の手順：{checks}。",
    },
}
LIST_SEPARATORS = {"zh-CN": "、", "ja": "、"}


def language_of(tag: str | None) -> str:
    """The supported language for a BCP 47 tag: exact, else the same language, else English."""
    if tag is None:
        return FALLBACK
    if tag in LANGUAGES:
        return tag
    primary = tag.split("-")[0].lower()
    return next((known for known in LANGUAGES if known.split("-")[0] == primary), FALLBACK)


def question_prompt(kind: str, tag: str | None) -> str:
    return QUESTIONS[kind][language_of(tag)]


def explain(reason: OutcomeReason, tag: str | None) -> str:
    """One reason in the customer's language: check codes named, times as UTC."""
    language = language_of(tag)
    separator = LIST_SEPARATORS.get(language, ", ")
    values: dict[str, str] = {}
    for name, value in reason.parameters.items():
        if name == "check":
            values[name] = CHECKS[value][language]
        elif name == "checks":
            values[name] = separator.join(CHECKS[c][language] for c in value.split(","))
        elif name in ("until", "expired_at"):
            values[name] = f"{datetime.fromisoformat(value):%Y-%m-%d %H:%M} UTC"
        else:
            values[name] = value
    return REASONS[reason.code][language].format(**values)
