"""The policy catalogue: every rule a decision or a suspension can name, versioned, with its
threshold and a plain-language explanation in each supported language. Pure, no I/O.

A rule is identified by (code, version). A new wording or a new threshold is a new version;
old versions stay in the catalogue, so an old decision still renders exactly as it was made.
Templates are ``str.format`` strings over ``{threshold}``, ``{window_hours}`` and the facts
the rule names in ``facts``; a decision that leaves out a fact its rule needs is refused.
"""

# Chinese text uses Chinese (full-width) punctuation on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import string
from dataclasses import dataclass
from enum import StrEnum

from contracts.events.cases import CaseType, DecisionOutcome, SuspensionRule
from runtime.errors import NotFound, RuleViolation
from services.cases.domain.customer_texts import LANGUAGES, customer_language, introduce_suspension

SUPPORTED_LANGUAGES = LANGUAGES


class PolicyKind(StrEnum):
    PLATFORM_RULE = "platform_rule"  # why the platform acted (suspensions)
    DECISION_REASON = "decision_reason"  # why a case was decided the way it was


@dataclass(frozen=True)
class Policy:
    code: str
    version: int
    kind: PolicyKind
    title: dict[str, str]
    explanation: dict[str, str]
    threshold: int | None = None
    threshold_unit: str | None = None
    window_hours: int | None = None
    outcomes: frozenset[DecisionOutcome] = frozenset()
    case_types: frozenset[CaseType] = frozenset()  # empty: any type

    def required_facts(self) -> list[str]:
        names: set[str] = set()
        for template in self.explanation.values():
            names |= {f for _, f, _, _ in string.Formatter().parse(template) if f}
        return sorted(names - {"threshold", "window_hours"})

    def render(self, language: str, facts: dict[str, str]) -> str:
        missing = [name for name in self.required_facts() if name not in facts]
        if missing:
            raise RuleViolation(
                f"{self.code} v{self.version} needs the facts {', '.join(missing)} to explain "
                "the decision"
            )
        values = {**facts, "threshold": self.threshold, "window_hours": self.window_hours}
        return self.explanation[explanation_language(language)].format_map(values)


def explanation_language(tag: str) -> str:
    """The catalogue language for a customer's BCP 47 tag (``customer_texts.customer_language``:
    the same language among the five, any Chinese → zh-CN, else English)."""
    return customer_language(tag)


_ANY_APPEAL = frozenset({CaseType.ACCOUNT_SUSPENSION_APPEAL, CaseType.THIRD_PARTY_REPORT_DISPUTE})

CATALOGUE: tuple[Policy, ...] = (
    # -- platform rules (carried by platform.account_suspended) ------------------------------
    Policy(
        code="SPAM-GROUP-CONTACT",
        version=2,
        kind=PolicyKind.PLATFORM_RULE,
        threshold=20,
        threshold_unit="group_chats",
        window_hours=24,
        title={
            "zh-CN": "群聊散布联系方式",
            "en": "Contact details spread in group chats",
            "fr": "Coordonnées diffusées dans des discussions de groupe",
            "de": "Kontaktdaten in Gruppenchats verbreitet",
            "ja": "グループチャットでの連絡先の拡散",
        },
        explanation={
            "zh-CN": "在 {window_hours} 小时内在超过 {threshold} 个群聊中发布联系方式"
            "（记录到 {group_chats} 个）。",
            "en": "Contact details were posted in more than {threshold} group chats within "
            "{window_hours} hours ({group_chats} were recorded).",
            "fr": "Des coordonnées ont été publiées dans plus de {threshold} discussions de "
            "groupe en {window_hours} heures ({group_chats} relevées).",
            "de": "Kontaktdaten wurden innerhalb von {window_hours} Stunden in mehr als "
            "{threshold} Gruppenchats gepostet ({group_chats} festgestellt).",
            "ja": "{window_hours} 時間以内に {threshold} を超えるグループチャットに"
            "連絡先が投稿されました（記録：{group_chats} 件）。",
        },
    ),
    Policy(
        code="SPAM-GROUP-CONTACT",
        version=3,
        kind=PolicyKind.PLATFORM_RULE,
        threshold=10,
        threshold_unit="group_chats",
        window_hours=24,
        title={
            "zh-CN": "群聊散布联系方式",
            "en": "Contact details spread in group chats",
            "fr": "Coordonnées diffusées dans des discussions de groupe",
            "de": "Kontaktdaten in Gruppenchats verbreitet",
            "ja": "グループチャットでの連絡先の拡散",
        },
        explanation={
            "zh-CN": "在 {window_hours} 小时内在超过 {threshold} 个群聊中发布联系方式"
            "（记录到 {group_chats} 个）。",
            "en": "Contact details were posted in more than {threshold} group chats within "
            "{window_hours} hours ({group_chats} were recorded).",
            "fr": "Des coordonnées ont été publiées dans plus de {threshold} discussions de "
            "groupe en {window_hours} heures ({group_chats} relevées).",
            "de": "Kontaktdaten wurden innerhalb von {window_hours} Stunden in mehr als "
            "{threshold} Gruppenchats gepostet ({group_chats} festgestellt).",
            "ja": "{window_hours} 時間以内に {threshold} を超えるグループチャットに"
            "連絡先が投稿されました（記録：{group_chats} 件）。",
        },
    ),
    Policy(
        code="IP-COUNTERFEIT-REPORT",
        version=1,
        kind=PolicyKind.PLATFORM_RULE,
        threshold=1,
        threshold_unit="substantiated_reports",
        title={
            "zh-CN": "假冒商品投诉",
            "en": "Counterfeit goods report",
            "fr": "Signalement de contrefaçon",
            "de": "Meldung gefälschter Ware",
            "ja": "偽造品の申告",
        },
        explanation={
            "zh-CN": "权利人提交了至少 {threshold} 件附有证据的假冒商品投诉"
            "（本次涉及 {reports} 件）。",
            "en": "A rights holder filed at least {threshold} counterfeit report with evidence "
            "({reports} in this case).",
            "fr": "Un titulaire de droits a déposé au moins {threshold} signalement de "
            "contrefaçon avec preuves ({reports} ici).",
            "de": "Ein Rechteinhaber hat mindestens {threshold} Meldung über Fälschungen mit "
            "Belegen eingereicht ({reports} in diesem Fall).",
            "ja": "権利者から証拠付きの偽造品の申告が {threshold} 件以上ありました（今回："
            "{reports} 件）。",
        },
    ),
    Policy(
        code="WALLET-DORMANT",
        version=1,
        kind=PolicyKind.PLATFORM_RULE,
        threshold=365,
        threshold_unit="days_without_activity",
        title={
            "zh-CN": "钱包长期未使用",
            "en": "Wallet dormant",
            "fr": "Portefeuille inactif",
            "de": "Wallet ungenutzt",
            "ja": "ウォレットの長期未使用",
        },
        explanation={
            "zh-CN": "钱包超过 {threshold} 天没有任何交易（已 {days_inactive} 天）。",
            "en": "The wallet had no activity for more than {threshold} days "
            "({days_inactive} days).",
            "fr": "Le portefeuille n'a eu aucune activité pendant plus de {threshold} jours "
            "({days_inactive} jours).",
            "de": "Die Wallet war mehr als {threshold} Tage ohne Aktivität ({days_inactive} Tage).",
            "ja": "ウォレットで {threshold} 日を超えて取引がありませんでした（{days_inactive} 日）"
            "。",
        },
    ),
    # -- decision reasons ---------------------------------------------------------------------
    Policy(
        code="OWNERSHIP-PROVEN",
        version=1,
        kind=PolicyKind.DECISION_REASON,
        outcomes=frozenset({DecisionOutcome.RESTORED}),
        title={
            "zh-CN": "已证明账号归属",
            "en": "Ownership proven",
            "fr": "Propriété du compte prouvée",
            "de": "Eigentum am Konto nachgewiesen",
            "ja": "アカウントの所有を確認",
        },
        explanation={
            "zh-CN": "您已通过 {checks} 证明本账号归您所有，我们已恢复账号。",
            "en": "You proved that the account is yours ({checks}), so we restored it.",
            "fr": "Vous avez prouvé que le compte est le vôtre ({checks}) : nous l'avons rétabli.",
            "de": "Sie haben nachgewiesen, dass das Konto Ihnen gehört ({checks}); wir haben "
            "es wiederhergestellt.",
            "ja": "{checks} により、アカウントがお客様のものであることが確認できたため、"
            "アカウントを復旧しました。",
        },
    ),
    Policy(
        code="SUSPENSION-UPHELD",
        version=1,
        kind=PolicyKind.DECISION_REASON,
        outcomes=frozenset({DecisionOutcome.DENIED}),
        case_types=_ANY_APPEAL,
        title={
            "zh-CN": "维持封禁",
            "en": "Suspension upheld",
            "fr": "Suspension maintenue",
            "de": "Sperre bleibt bestehen",
            "ja": "停止を維持",
        },
        explanation={
            "zh-CN": "复核确认账号违反了所述规则，封禁维持不变。复核发现：{finding}。",
            "en": "The review confirmed the rule was broken, so the suspension stays. "
            "What the review found: {finding}.",
            "fr": "L'examen a confirmé que la règle a été enfreinte : la suspension est "
            "maintenue. Constat de l'examen : {finding}.",
            "de": "Die Prüfung hat den Regelverstoß bestätigt; die Sperre bleibt bestehen. "
            "Ergebnis der Prüfung: {finding}.",
            "ja": "審査の結果、ルール違反が確認されたため、停止は維持されます。"
            "審査で確認された内容：{finding}。",
        },
    ),
    Policy(
        code="VERIFICATION-NOT-PASSED",
        version=1,
        kind=PolicyKind.DECISION_REASON,
        outcomes=frozenset({DecisionOutcome.DENIED}),
        title={
            "zh-CN": "未通过身份核验",
            "en": "Verification not passed",
            "fr": "Vérification non réussie",
            "de": "Prüfung nicht bestanden",
            "ja": "本人確認が完了しませんでした",
        },
        explanation={
            "zh-CN": "我们无法确认您的身份（{verification_result}），因此不能办理。"
            "您可以在 {appeal_days} 天内重新申请。",
            "en": "We could not confirm your identity ({verification_result}), so we cannot "
            "proceed. You may apply again within {appeal_days} days.",
            "fr": "Nous n'avons pas pu confirmer votre identité ({verification_result}) : nous "
            "ne pouvons pas donner suite. Vous pouvez refaire une demande dans les "
            "{appeal_days} jours.",
            "de": "Wir konnten Ihre Identität nicht bestätigen ({verification_result}) und "
            "können daher nicht fortfahren. Sie können innerhalb von {appeal_days} Tagen "
            "erneut einen Antrag stellen.",
            "ja": "本人であることを確認できなかったため（{verification_result}）"
            "、お手続きを進められません。{appeal_days} 日以内であれば再度お申し込みいただけます。",
        },
    ),
    Policy(
        code="REPORT-NOT-SUBSTANTIATED",
        version=1,
        kind=PolicyKind.DECISION_REASON,
        outcomes=frozenset({DecisionOutcome.RESTORED}),
        case_types=frozenset({CaseType.THIRD_PARTY_REPORT_DISPUTE}),
        title={
            "zh-CN": "投诉不成立",
            "en": "Report not substantiated",
            "fr": "Signalement non fondé",
            "de": "Meldung nicht begründet",
            "ja": "申告は認められませんでした",
        },
        explanation={
            "zh-CN": "您提交的证据（{evidence}）表明商品为正品，投诉不成立，店铺已恢复。",
            "en": "Your evidence ({evidence}) shows the goods are genuine: the report does not "
            "stand and your store is restored.",
            "fr": "Vos preuves ({evidence}) montrent que les produits sont authentiques : le "
            "signalement n'est pas retenu et votre boutique est rétablie.",
            "de": "Ihre Belege ({evidence}) zeigen, dass die Ware echt ist: Die Meldung ist "
            "nicht begründet, Ihr Shop ist wiederhergestellt.",
            "ja": "ご提出の証拠（{evidence}）により商品が正規品であることが確認されたため、"
            "申告は認められず、ストアを復旧しました。",
        },
    ),
    Policy(
        code="REPORT-SUBSTANTIATED",
        version=1,
        kind=PolicyKind.DECISION_REASON,
        outcomes=frozenset({DecisionOutcome.DENIED}),
        case_types=frozenset({CaseType.THIRD_PARTY_REPORT_DISPUTE}),
        title={
            "zh-CN": "投诉成立",
            "en": "Report substantiated",
            "fr": "Signalement fondé",
            "de": "Meldung begründet",
            "ja": "申告が認められました",
        },
        explanation={
            "zh-CN": "权利人的证据成立，您的证据（{evidence}）不足以证明商品为正品。",
            "en": "The rights holder's evidence stands; yours ({evidence}) does not show the "
            "goods are genuine.",
            "fr": "Les preuves du titulaire de droits sont retenues ; les vôtres ({evidence}) "
            "ne montrent pas que les produits sont authentiques.",
            "de": "Die Belege des Rechteinhabers sind stichhaltig; Ihre ({evidence}) zeigen "
            "nicht, dass die Ware echt ist.",
            "ja": "権利者の証拠が認められました。ご提出の証拠（{evidence}）では商品が正規"
            "品であることを確認できませんでした。",
        },
    ),
    Policy(
        code="MINOR-SPENDING-REFUND",
        version=1,
        kind=PolicyKind.DECISION_REASON,
        threshold=90,
        threshold_unit="days",
        outcomes=frozenset({DecisionOutcome.REFUNDED, DecisionOutcome.PARTIALLY_REFUNDED}),
        case_types=frozenset({CaseType.MINOR_SPENDING_REFUND}),
        title={
            "zh-CN": "未成年人消费退款",
            "en": "Refund of a minor's spending",
            "fr": "Remboursement des dépenses d'un mineur",
            "de": "Erstattung der Ausgaben eines Minderjährigen",
            "ja": "未成年者の利用分の返金",
        },
        explanation={
            "zh-CN": "监护关系已核实。最近 {threshold} 天内由未成年人产生的消费可以退款："
            "共消费 {amount_spent} {currency}，退款 {amount_refunded} {currency}。",
            "en": "The guardian relationship is verified. Spending by a minor within the last "
            "{threshold} days is refunded: {amount_spent} {currency} spent, "
            "{amount_refunded} {currency} refunded.",
            "fr": "Le lien de tutelle est vérifié. Les dépenses d'un mineur des {threshold} "
            "derniers jours sont remboursées : {amount_spent} {currency} dépensés, "
            "{amount_refunded} {currency} remboursés.",
            "de": "Das Sorgerecht ist bestätigt. Ausgaben eines Minderjährigen in den letzten "
            "{threshold} Tagen werden erstattet: {amount_spent} {currency} ausgegeben, "
            "{amount_refunded} {currency} erstattet.",
            "ja": "保護者であることが確認されました。"
            "過去 {threshold} 日以内の未成年者による利用分を返金します："
            "利用額 {amount_spent} {currency}、返金額 {amount_refunded} {currency}。",
        },
    ),
    Policy(
        code="HOLDER-VERIFIED-WALLET",
        version=1,
        kind=PolicyKind.DECISION_REASON,
        outcomes=frozenset({DecisionOutcome.RESTORED}),
        case_types=frozenset({CaseType.WALLET_REACTIVATION}),
        title={
            "zh-CN": "持有人已核验",
            "en": "Holder verified",
            "fr": "Titulaire vérifié",
            "de": "Inhaber bestätigt",
            "ja": "名義人の確認済み",
        },
        explanation={
            "zh-CN": "账号持有人本人已远程完成核验（{checks}），钱包已重新启用。",
            "en": "The account holder verified remotely ({checks}); the wallet is active again.",
            "fr": "Le titulaire du compte s'est vérifié à distance ({checks}) ; le "
            "portefeuille est de nouveau actif.",
            "de": "Der Kontoinhaber hat sich aus der Ferne bestätigt ({checks}); die Wallet "
            "ist wieder aktiv.",
            "ja": "アカウントの名義人ご本人がリモートで確認を完了しました（{checks}）"
            "。ウォレットは再び利用できます。",
        },
    ),
    Policy(
        code="OUT-OF-SCOPE",
        version=1,
        kind=PolicyKind.DECISION_REASON,
        outcomes=frozenset({DecisionOutcome.REFERRED_ELSEWHERE}),
        title={
            "zh-CN": "转交其他渠道",
            "en": "Referred elsewhere",
            "fr": "Transmis à un autre service",
            "de": "An eine andere Stelle weitergegeben",
            "ja": "他の窓口へ引き継ぎ",
        },
        explanation={
            "zh-CN": "此问题不由客服中心处理，已转交 {referred_to}。",
            "en": "This is not handled by the service centre; it was referred to {referred_to}.",
            "fr": "Ce sujet n'est pas traité par le centre de service ; il a été transmis à "
            "{referred_to}.",
            "de": "Dies wird nicht vom Servicecenter bearbeitet; es wurde an {referred_to} "
            "weitergegeben.",
            "ja": "この件はサービスセンターでは扱っていないため、{referred_to} に引き継ぎました。",
        },
    ),
)

_BY_KEY = {(policy.code, policy.version): policy for policy in CATALOGUE}


def latest(code: str) -> Policy:
    versions = [p for p in CATALOGUE if p.code == code]
    if not versions:
        raise NotFound(f"no rule {code} in the policy catalogue")
    return max(versions, key=lambda p: p.version)


def policy(code: str, version: int | None = None) -> Policy:
    if version is None:
        return latest(code)
    found = _BY_KEY.get((code, version))
    if found is None:
        raise NotFound(f"no rule {code} v{version} in the policy catalogue")
    return found


def decision_policy(
    code: str, version: int | None, outcome: DecisionOutcome, case_type: CaseType
) -> Policy:
    """The rule a decision names; refused when it cannot justify this outcome for this type."""
    try:
        found = policy(code, version)
    except NotFound as missing:
        raise RuleViolation(missing.detail) from None
    if found.kind is not PolicyKind.DECISION_REASON:
        raise RuleViolation(f"{code} is a platform rule, not a reason for a decision")
    if outcome not in found.outcomes:
        allowed = ", ".join(sorted(o.value for o in found.outcomes))
        raise RuleViolation(f"{code} v{found.version} justifies {allowed}, not {outcome.value}")
    if found.case_types and case_type not in found.case_types:
        raise RuleViolation(f"{code} v{found.version} does not apply to {case_type.value} cases")
    return found


def explain_suspension(rule: SuspensionRule, language: str) -> str:
    """Which platform rule suspended what (the account, only its wallet, only its storefront),
    with its threshold, in plain language.

    Uses the catalogue's wording when it knows the rule's version; otherwise states the code,
    version, threshold and facts as the platform sent them (never silently nothing)."""
    known = _BY_KEY.get((rule.rule_code, rule.rule_version))
    lang = explanation_language(language)
    if known is not None and all(f in rule.facts for f in known.required_facts()):
        values = {
            **rule.facts,
            "threshold": rule.threshold if rule.threshold is not None else known.threshold,
            "window_hours": rule.window_hours or known.window_hours,
        }
        body = known.explanation[lang].format_map(values)
        title = known.title[lang]
    else:
        body = ", ".join(f"{k}={v}" for k, v in sorted(rule.facts.items()))
        title = rule.rule_code
    return introduce_suspension(
        rule.scope, rule.rule_code, rule.rule_version, title, rule.threshold, body, lang
    )
