"""The errors services raise; their message is safe to show to the user as it is."""


class ChatError(Exception):
    """A request the app refuses; nothing was changed."""


class InvalidInput(ChatError):
    """The request is malformed: empty, too long, or of the wrong form."""


class WrongCredentials(InvalidInput):
    """The username is unknown or the password wrong (one error for both, on purpose)."""


class NotFound(ChatError):
    """The user or conversation named does not exist."""


class Forbidden(ChatError):
    """The caller may not do this (for instance: not a member of the conversation)."""
