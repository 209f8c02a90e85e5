"""The world: action types, key names, environments (desktop, browser), safety and the kill switch."""
