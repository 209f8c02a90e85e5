"""Small third-party-toolkit programs the desktop tests type into (Tk, GTK through Debian's python3-gi)."""
