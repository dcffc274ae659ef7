"""Disruption and maintenance notices: the rules, templates, the email of each version, sending, the feed.

No Textual here; the Notices screen calls these from thread workers.
"""
