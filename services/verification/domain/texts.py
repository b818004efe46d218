# ruff: noqa: RUF001  (full-width punctuation is correct in Chinese and Japanese text)
"""Verification's customer-facing texts in the project's five languages (zh-CN, en, fr, de,
ja, as ``services/notifications/domain/templates.py``), chosen by the session's language with
the same fallback (exact tag → same language → English): the knowledge challenge's questions.
"""

from __future__ import annotations

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
