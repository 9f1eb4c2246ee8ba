"""Every route of the app, and the URL builders."""

LOGIN = "/login"
SIGNUP = "/signup"
HOME = "/"
CONVERSATION = "/c/[cid]"


def conversation(cid: int) -> str:
    """The URL of a conversation."""
    return f"/c/{cid}"


def conversation_id_of(path: str) -> int:
    """The conversation id in a path built by `conversation` (0 when there is none)."""
    prefix, _, tail = path.rstrip("/").rpartition("/")
    if prefix != CONVERSATION.rpartition("/")[0] or not tail.isascii() or not tail.isdigit():
        return 0
    return int(tail)
