-- Campaign follow-ups: messages withdrawn before they were sent, skips for a lost tag or no
-- allowed hour, inbound opt-out replies, and what retention needs to time organization contacts.

-- Read model notification_log: a queued marketing message withdrawn (never sent).
ALTER TABLE notification_log
    ADD COLUMN withdrawn_at     timestamptz,
    ADD COLUMN withdrawn_reason text;

-- Read model campaigns: targets skipped because they lost the tag before their batch, or
-- because no hour in the coming week lets marketing reach them.
ALTER TABLE campaigns
    ADD COLUMN skipped_untagged integer NOT NULL DEFAULT 0,
    ADD COLUMN skipped_hours    integer NOT NULL DEFAULT 0;

-- Write side of the inbound webhook (not a read model): the provider's id of each inbound
-- reply taken, so that a webhook delivered twice changes nothing. No address and no text:
-- only the channel, whether it was an opt-out, and how many accounts it withdrew consent for.
CREATE TABLE inbound_replies (
    channel     text        NOT NULL,
    message_id  text        NOT NULL,
    opt_out     boolean     NOT NULL,
    accounts    integer     NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (channel, message_id)
);
CREATE INDEX inbound_replies_received ON inbound_replies (received_at);

-- Finding who sent a reply: the addresses of the preferences read model (as stored, E.164
-- phones and open ids), looked up by equality only.
CREATE INDEX recipient_preferences_phone ON recipient_preferences (phone) WHERE phone IS NOT NULL;
CREATE INDEX recipient_preferences_wechat ON recipient_preferences (wechat)
    WHERE wechat IS NOT NULL;
CREATE INDEX recipient_preferences_qq ON recipient_preferences (qq) WHERE qq IS NOT NULL;

-- organization_contacts (reaction state): when the organization's verification ended
-- (verified or rejected; cleared by a new submission), from which retention times the contact.
ALTER TABLE organization_contacts ADD COLUMN ended_at timestamptz;

-- campaign_targets (write side) are purged some time after their campaign ended (campaigns
-- read model finished_at).
CREATE INDEX campaigns_finished ON campaigns (finished_at) WHERE finished_at IS NOT NULL;
