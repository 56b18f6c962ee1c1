"""The app's screens, one module each, with their styles beside them in `.tcss` files."""
