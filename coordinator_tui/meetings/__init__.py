"""Cooperation meetings (yhteistyöpalaverit): when each unit's next one is due, and recording one held."""
