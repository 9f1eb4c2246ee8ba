"""What opening a conversation costs, by the conversation's length (`python -m
bench.conversation_open`)."""
