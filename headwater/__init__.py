"""headwater."""
