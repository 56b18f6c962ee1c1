"""Widgets of the app: the transcript's line renderer and window, the gauge, the banner."""
