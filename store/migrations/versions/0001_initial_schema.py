"""The initial schema: every table the product needs (directory, mail, feeds, requests, notices,
outbox, onboarding, meetings).

Revision ID: 0001
Revises:
Create Date: 2026-11-26 12:48:22.862889
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "checklist_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("family", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("family", "version"),
    )
    op.create_table(
        "feed",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("etag", sa.String(), nullable=False),
        sa.Column("last_modified", sa.String(), nullable=False),
        sa.Column("last_fetch_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(), nullable=False),
        sa.Column("warning", sa.String(), nullable=False),
        sa.Column("from_config", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("url"),
    )
    op.create_table(
        "mail_folder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("uidvalidity", sa.Integer(), nullable=True),
        sa.Column("uidnext", sa.Integer(), nullable=True),
        sa.Column("highest_uid", sa.Integer(), nullable=False),
        sa.Column("highest_modseq", sa.Integer(), nullable=True),
        sa.Column("last_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "mailing_list",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("bilingual", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("mailing_list", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mailing_list_name"), ["name"], unique=True)

    op.create_table(
        "notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("services", sa.String(), nullable=False),
        sa.Column("units", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expected_end_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actual_end_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("impact", sa.String(), nullable=False),
        sa.Column("instructions", sa.String(), nullable=False),
        sa.Column("contact", sa.String(), nullable=False),
        sa.Column("text_fi", sa.String(), nullable=False),
        sa.Column("text_sv", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("thread_message_id", sa.String(), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_is_open"), ["is_open"], unique=False)
        batch_op.create_index(batch_op.f("ix_notice_status"), ["status"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("message_id", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("recipients", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("error", sa.String(), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_state"), ["state"], unique=False)

    op.create_table(
        "unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("area", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unit_name"), ["name"], unique=True)

    op.create_table(
        "checklist_template_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("who", sa.String(), nullable=False),
        sa.Column("due_offset_days", sa.Integer(), nullable=False),
        sa.Column("link", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["template_id"], ["checklist_template.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("checklist_template_item", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_checklist_template_item_template_id"), ["template_id"], unique=False
        )

    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("smtp_reply", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_outbox_id"), ["outbox_id"], unique=False)

    op.create_table(
        "mail_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("folder_id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(), nullable=False),
        sa.Column("in_reply_to", sa.String(), nullable=False),
        sa.Column("references", sa.String(), nullable=False),
        sa.Column("thread_key", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("from_name", sa.String(), nullable=False),
        sa.Column("from_addr", sa.String(), nullable=False),
        sa.Column("to_addrs", sa.String(), nullable=False),
        sa.Column("cc_addrs", sa.String(), nullable=False),
        sa.Column("date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen", sa.Boolean(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("has_attachments", sa.Boolean(), nullable=False),
        sa.Column("snippet", sa.String(), nullable=False),
        sa.Column("body_text", sa.String(), nullable=False),
        sa.Column("parse_note", sa.String(), nullable=False),
        sa.Column("modseq", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["folder_id"], ["mail_folder.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("folder_id", "uid"),
    )
    with op.batch_alter_table("mail_message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mail_message_date"), ["date"], unique=False)
        batch_op.create_index(batch_op.f("ix_mail_message_folder_id"), ["folder_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_mail_message_from_addr"), ["from_addr"], unique=False)
        batch_op.create_index(batch_op.f("ix_mail_message_message_id"), ["message_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_mail_message_thread_key"), ["thread_key"], unique=False)

    op.create_table(
        "meeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("participants", sa.String(), nullable=False),
        sa.Column("notes", sa.String(), nullable=False),
        sa.Column("actions", sa.String(), nullable=False),
        sa.Column("haipro_count", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "notice_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("body_fi", sa.String(), nullable=False),
        sa.Column("body_sv", sa.String(), nullable=False),
        sa.Column("changes", sa.String(), nullable=False),
        sa.Column("message_id", sa.String(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["notice_id"], ["notice.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("notice_id", "number"),
    )
    with op.batch_alter_table("notice_version", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_version_notice_id"), ["notice_id"], unique=False)

    op.create_table(
        "person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("phone", sa.String(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("roles", sa.String(), nullable=False),
        sa.Column("language", sa.String(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_email"), ["email"], unique=False)
        batch_op.create_index(batch_op.f("ix_person_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_person_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "unit_service",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(), nullable=False),
        sa.Column("deployed_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("unit_id", "service"),
    )
    with op.batch_alter_table("unit_service", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unit_service_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "checklist_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["checklist_template.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("checklist_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checklist_run_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_checklist_run_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_checklist_run_template_id"), ["template_id"], unique=False)

    op.create_table(
        "feed_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("dedup_key", sa.String(), nullable=False),
        sa.Column("guid", sa.String(), nullable=False),
        sa.Column("link", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("summary", sa.String(), nullable=False),
        sa.Column("content_text", sa.String(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read", sa.Boolean(), nullable=False),
        sa.Column("starred", sa.Boolean(), nullable=False),
        sa.Column("mail_message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["feed_id"], ["feed.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["mail_message_id"], ["mail_message.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("feed_id", "dedup_key"),
    )
    with op.batch_alter_table("feed_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feed_item_feed_id"), ["feed_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_feed_item_published_at"), ["published_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_feed_item_read"), ["read"], unique=False)

    op.create_table(
        "list_member",
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["list_id"], ["mailing_list.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("list_id", "person_id"),
    )
    op.create_table(
        "mail_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mail_message_id", sa.Integer(), nullable=False),
        sa.Column("part", sa.String(), nullable=False),
        sa.Column("filename", sa.String(), nullable=False),
        sa.Column("content_type", sa.String(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["mail_message_id"], ["mail_message.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("mail_attachment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mail_attachment_mail_message_id"), ["mail_message_id"], unique=False
        )

    op.create_table(
        "service_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("requester_person_id", sa.Integer(), nullable=True),
        sa.Column("requester_email", sa.String(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("assignee", sa.String(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("digifinland_ticket", sa.String(), nullable=False),
        sa.Column("tags", sa.String(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["merged_into_id"], ["service_request.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["notice_id"], ["notice.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["requester_person_id"], ["person.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference"),
        sa.UniqueConstraint("year", "seq"),
    )
    with op.batch_alter_table("service_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_request_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_service_request_due_at"), ["due_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_service_request_requester_person_id"), ["requester_person_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_service_request_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_service_request_unit_id"), ["unit_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_service_request_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "checklist_run_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("who", sa.String(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("link", sa.String(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.String(), nullable=False),
        sa.Column("note", sa.String(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["service_request.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["run_id"], ["checklist_run.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("checklist_run_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checklist_run_item_due_on"), ["due_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_checklist_run_item_run_id"), ["run_id"], unique=False)

    op.create_table(
        "feed_forward",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feed_item_id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=True),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["feed_item_id"], ["feed_item.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["list_id"], ["mailing_list.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("feed_forward", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feed_forward_feed_item_id"), ["feed_item_id"], unique=False)

    op.create_table(
        "request_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("field", sa.String(), nullable=False),
        sa.Column("old", sa.String(), nullable=False),
        sa.Column("new", sa.String(), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["service_request.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("request_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_request_event_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_request_event_request_id"), ["request_id"], unique=False)

    op.create_table(
        "request_mail",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("mail_message_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["mail_message_id"], ["mail_message.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["request_id"], ["service_request.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("request_id", "mail_message_id"),
    )


def downgrade() -> None:
    op.drop_table("request_mail")
    with op.batch_alter_table("request_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_event_request_id"))
        batch_op.drop_index(batch_op.f("ix_request_event_at"))

    op.drop_table("request_event")
    with op.batch_alter_table("feed_forward", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feed_forward_feed_item_id"))

    op.drop_table("feed_forward")
    with op.batch_alter_table("checklist_run_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checklist_run_item_run_id"))
        batch_op.drop_index(batch_op.f("ix_checklist_run_item_due_on"))

    op.drop_table("checklist_run_item")
    with op.batch_alter_table("service_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_request_updated_at"))
        batch_op.drop_index(batch_op.f("ix_service_request_unit_id"))
        batch_op.drop_index(batch_op.f("ix_service_request_status"))
        batch_op.drop_index(batch_op.f("ix_service_request_requester_person_id"))
        batch_op.drop_index(batch_op.f("ix_service_request_due_at"))
        batch_op.drop_index(batch_op.f("ix_service_request_created_at"))

    op.drop_table("service_request")
    with op.batch_alter_table("mail_attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mail_attachment_mail_message_id"))

    op.drop_table("mail_attachment")
    op.drop_table("list_member")
    with op.batch_alter_table("feed_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feed_item_read"))
        batch_op.drop_index(batch_op.f("ix_feed_item_published_at"))
        batch_op.drop_index(batch_op.f("ix_feed_item_feed_id"))

    op.drop_table("feed_item")
    with op.batch_alter_table("checklist_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checklist_run_template_id"))
        batch_op.drop_index(batch_op.f("ix_checklist_run_status"))
        batch_op.drop_index(batch_op.f("ix_checklist_run_person_id"))

    op.drop_table("checklist_run")
    with op.batch_alter_table("unit_service", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unit_service_unit_id"))

    op.drop_table("unit_service")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_unit_id"))
        batch_op.drop_index(batch_op.f("ix_person_name"))
        batch_op.drop_index(batch_op.f("ix_person_email"))

    op.drop_table("person")
    with op.batch_alter_table("notice_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_version_notice_id"))

    op.drop_table("notice_version")
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_unit_id"))

    op.drop_table("meeting")
    with op.batch_alter_table("mail_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mail_message_thread_key"))
        batch_op.drop_index(batch_op.f("ix_mail_message_message_id"))
        batch_op.drop_index(batch_op.f("ix_mail_message_from_addr"))
        batch_op.drop_index(batch_op.f("ix_mail_message_folder_id"))
        batch_op.drop_index(batch_op.f("ix_mail_message_date"))

    op.drop_table("mail_message")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_outbox_id"))

    op.drop_table("delivery")
    with op.batch_alter_table("checklist_template_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checklist_template_item_template_id"))

    op.drop_table("checklist_template_item")
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unit_name"))

    op.drop_table("unit")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_state"))

    op.drop_table("outbox")
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_status"))
        batch_op.drop_index(batch_op.f("ix_notice_is_open"))

    op.drop_table("notice")
    with op.batch_alter_table("mailing_list", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mailing_list_name"))

    op.drop_table("mailing_list")
    op.drop_table("mail_folder")
    op.drop_table("feed")
    op.drop_table("checklist_template")
