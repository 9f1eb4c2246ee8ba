"""Every route of the app, and the URL builders."""

LOGIN = "/login"
SIGNUP = "/signup"
HOME = "/"
CONVERSATION = "/c/[cid]"


def conversation(cid: int) -> str:
    """The URL of a conversation."""
    return f"/c/{cid}"
