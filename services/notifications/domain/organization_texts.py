# ruff: noqa: RUF001  (full-width punctuation is correct in Chinese and Japanese text)
"""What an organization's contact person reads at each step of its verification, in the five
template languages: the texts of the organization kinds (their variables are declared with
the other kinds in ``templates.py``), and the labels of the reasons an organization is
rejected for. Pure data."""

from __future__ import annotations

from contracts.events.notifications import NotificationKind
from contracts.events.verification_organizations import RejectionCode
from services.notifications.domain.labels import Labels


def _texts(**by_language: tuple[str, str]) -> dict[str, tuple[str, str]]:
    return {language.replace("_", "-"): text for language, text in by_language.items()}


ORGANIZATION_TEXTS: dict[NotificationKind, dict[str, tuple[str, str]]] = {
    NotificationKind.ORGANIZATION_SUBMITTED: _texts(
        zh_CN=(
            "机构认证申请已收到",
            "{organization} 的认证申请已收到。下一步：我们将向贵机构登记的对公账户"
            "打入两笔小额款项，请核对金额后确认。{link_line}",
        ),
        en=(
            "Verification request received",
            "We received the verification request of {organization}. Next: we send two "
            "small deposits to its registered bank account; confirm the amounts.{link_line}",
        ),
        fr=(
            "Demande de vérification reçue",
            "Nous avons reçu la demande de vérification de {organization}. Prochaine étape : "
            "deux petits virements sur son compte bancaire enregistré, dont vous confirmerez "
            "les montants.{link_line}",
        ),
        de=(
            "Verifizierungsantrag eingegangen",
            "Der Verifizierungsantrag von {organization} ist eingegangen. Nächster Schritt: "
            "zwei kleine Überweisungen auf das hinterlegte Geschäftskonto, deren Beträge Sie "
            "bestätigen.{link_line}",
        ),
        ja=(
            "認証申請を受け付けました",
            "{organization} の認証申請を受け付けました。次に、登録された法人口座へ少額を"
            "2回お振り込みしますので、金額をご確認のうえ入力してください。{link_line}",
        ),
    ),
    NotificationKind.ORGANIZATION_DEPOSITS_SENT: _texts(
        zh_CN=(
            "小额打款已发出",
            "我们已向 {organization} 尾号 {account_last4} 的账户打入两笔小额款项。"
            "请在 {expires_at} 前确认这两笔金额。",
        ),
        en=(
            "Two small deposits sent",
            "We sent two small deposits to the account of {organization} ending in "
            "{account_last4}. Confirm both amounts before {expires_at}.",
        ),
        fr=(
            "Deux petits virements envoyés",
            "Nous avons envoyé deux petits virements sur le compte de {organization} se "
            "terminant par {account_last4}. Confirmez les deux montants avant le "
            "{expires_at}.",
        ),
        de=(
            "Zwei kleine Überweisungen gesendet",
            "Wir haben zwei kleine Beträge auf das Konto von {organization} mit der Endung "
            "{account_last4} überwiesen. Bestätigen Sie beide Beträge bis {expires_at}.",
        ),
        ja=(
            "少額振込のお知らせ",
            "{organization} の末尾 {account_last4} の口座へ少額を2回お振り込みしました。"
            "{expires_at} までに両方の金額をご確認ください。",
        ),
    ),
    NotificationKind.ORGANIZATION_DEPOSIT_CONFIRMATION_FAILED: _texts(
        zh_CN=(
            "金额不符",
            "{organization}：确认的金额与打款不符。还可尝试 {attempts_left} 次。",
        ),
        en=(
            "The amounts did not match",
            "{organization}: the amounts entered do not match the deposits. "
            "Attempts left: {attempts_left}.",
        ),
        fr=(
            "Les montants ne correspondent pas",
            "{organization} : les montants saisis ne correspondent pas aux virements. "
            "Essais restants : {attempts_left}.",
        ),
        de=(
            "Die Beträge stimmen nicht",
            "{organization}: Die eingegebenen Beträge stimmen nicht mit den Überweisungen "
            "überein. Verbleibende Versuche: {attempts_left}.",
        ),
        ja=(
            "金額が一致しません",
            "{organization}：入力された金額が振込額と一致しません。残り {attempts_left} 回です。",
        ),
    ),
    NotificationKind.ORGANIZATION_DEPOSITS_CONFIRMED: _texts(
        zh_CN=(
            "打款金额已确认",
            "{organization} 的打款金额已确认。下一步：审核员审核营业执照和加盖公章的授权书。",
        ),
        en=(
            "Deposits confirmed",
            "The deposits of {organization} are confirmed. Next: a reviewer checks the "
            "business licence and the sealed authorization letter.",
        ),
        fr=(
            "Virements confirmés",
            "Les virements de {organization} sont confirmés. Prochaine étape : un "
            "vérificateur examine l'extrait d'immatriculation et la lettre d'autorisation "
            "cachetée.",
        ),
        de=(
            "Überweisungen bestätigt",
            "Die Überweisungen von {organization} sind bestätigt. Nächster Schritt: Eine "
            "Prüferin oder ein Prüfer sieht Gewerbeschein und gesiegelte Vollmacht durch.",
        ),
        ja=(
            "振込金額を確認しました",
            "{organization} の振込金額を確認しました。次に、審査担当者が営業許可証と"
            "押印済みの委任状を確認します。",
        ),
    ),
    NotificationKind.ORGANIZATION_DEPOSITS_EXPIRED: _texts(
        zh_CN=(
            "打款确认已过期",
            "{organization} 未在期限内确认打款金额。您可以申请重新打款。",
        ),
        en=(
            "The deposits expired",
            "The deposit amounts of {organization} were not confirmed in time. You may ask "
            "for new deposits.",
        ),
        fr=(
            "Les virements ont expiré",
            "Les montants des virements de {organization} n'ont pas été confirmés à temps. "
            "Vous pouvez demander de nouveaux virements.",
        ),
        de=(
            "Die Überweisungen sind abgelaufen",
            "Die Beträge für {organization} wurden nicht rechtzeitig bestätigt. Sie können "
            "neue Überweisungen anfordern.",
        ),
        ja=(
            "振込確認の期限切れ",
            "{organization} の振込金額が期限内に確認されませんでした。再度の振込をお申し込み"
            "いただけます。",
        ),
    ),
    NotificationKind.ORGANIZATION_DOCUMENTS_APPROVED: _texts(
        zh_CN=(
            "资料审核通过",
            "{organization} 的营业执照和授权书已审核通过。下一步：审核员将致电贵机构确认。",
        ),
        en=(
            "Documents approved",
            "The documents of {organization} are approved. Next: a reviewer calls you to confirm.",
        ),
        fr=(
            "Documents approuvés",
            "Les documents de {organization} sont approuvés. Prochaine étape : un "
            "vérificateur vous appelle pour confirmer.",
        ),
        de=(
            "Unterlagen genehmigt",
            "Die Unterlagen von {organization} sind genehmigt. Nächster Schritt: Wir rufen "
            "Sie zur Bestätigung an.",
        ),
        ja=(
            "書類審査を通過しました",
            "{organization} の書類審査が完了しました。次に、審査担当者から確認のお電話を"
            "差し上げます。",
        ),
    ),
    NotificationKind.ORGANIZATION_VERIFIED: _texts(
        zh_CN=("机构认证成功", "{organization} 已通过认证。{domains_line}"),
        en=("Organization verified", "{organization} is verified.{domains_line}"),
        fr=("Organisation vérifiée", "{organization} est vérifiée.{domains_line}"),
        de=("Organisation verifiziert", "{organization} ist verifiziert.{domains_line}"),
        ja=("組織認証が完了しました", "{organization} の認証が完了しました。{domains_line}"),
    ),
    # {reason}: the rejection's code as its label; {reasons}: the English reasons of a
    # rejection written before the codes existed (one of the two is given)
    NotificationKind.ORGANIZATION_REJECTED: _texts(
        zh_CN=("机构认证未通过", "{organization} 的认证未通过。原因：{reason}{reasons}"),
        en=(
            "Organization not verified",
            "The verification of {organization} was rejected. Reasons: {reason}{reasons}",
        ),
        fr=(
            "Organisation non vérifiée",
            "La vérification de {organization} a été refusée. Motifs : {reason}{reasons}",
        ),
        de=(
            "Organisation nicht verifiziert",
            "Die Verifizierung von {organization} wurde abgelehnt. Gründe: {reason}{reasons}",
        ),
        ja=("組織認証不可", "{organization} の認証は承認されませんでした。理由：{reason}{reasons}"),
    ),
}

# why an organization was rejected (verification.organization_rejected.reason_codes)
REJECTION_REASONS = Labels(
    RejectionCode,
    {
        RejectionCode.DOCUMENTS_REJECTED: {
            "zh-CN": "营业执照或授权书未通过审核。",
            "en": "the business licence or the authorization letter was not accepted.",
            "fr": "l'extrait d'immatriculation ou la lettre d'autorisation n'a pas été accepté.",
            "de": "Gewerbeschein oder Vollmacht wurden nicht anerkannt.",
            "ja": "営業許可証または委任状が承認されませんでした。",
        },
        RejectionCode.PHONE_CONFIRMATION_FAILED: {
            "zh-CN": "电话确认未能证实贵机构的申请。",
            "en": "the confirmation call did not confirm the request.",
            "fr": "l'appel de confirmation n'a pas confirmé la demande.",
            "de": "der Bestätigungsanruf hat den Antrag nicht bestätigt.",
            "ja": "確認のお電話で申請内容を確認できませんでした。",
        },
        RejectionCode.DEPOSITS_NOT_CONFIRMED: {
            "zh-CN": "在允许的次数内未能确认两笔打款金额。",
            "en": "the two deposit amounts were not confirmed within the attempts allowed.",
            "fr": "les montants des deux virements n'ont pas été confirmés dans le nombre "
            "d'essais permis.",
            "de": "die beiden Beträge wurden nicht innerhalb der erlaubten Versuche bestätigt.",
            "ja": "許可された回数内に2回の振込金額を確認できませんでした。",
        },
        RejectionCode.REJECTED_BY_REVIEWER: {
            "zh-CN": "审核人员未批准该申请。",
            "en": "a reviewer did not approve the request.",
            "fr": "un vérificateur n'a pas approuvé la demande.",
            "de": "eine Prüferin oder ein Prüfer hat den Antrag nicht genehmigt.",
            "ja": "審査担当者が申請を承認しませんでした。",
        },
    },
)
