"""The click-calibration self-test (calibrate) and its surfaces: a browser page (browser, page.html)
and the Tk probe window on the desktop (desktop)."""
