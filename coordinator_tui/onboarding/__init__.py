"""Onboarding checklists' rules: the default templates, due dates in working days, runs and completion."""
