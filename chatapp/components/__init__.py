"""UI components: small functions returning `rx.Component`."""
