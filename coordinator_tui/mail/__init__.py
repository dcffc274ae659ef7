"""The shared mailbox without Textual: parsing raw mail into plain records (IMAP and SMTP beside it)."""
